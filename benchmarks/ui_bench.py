"""UI hot paths against a baseline; the last line is JSON.

1. Start to demo visible: a fresh process opens the demo workspace (already on disk, as on every start but the first)
   and shows the window with the CompStat grid filled. Baseline: a fresh process with the same imports that shows a
   bare QMainWindow. Both are timed from the parent, spawn to "visible", median of --runs.
2. A visible page of the 1M-row records table: every cell of a 1366x768 page (rows x columns) read through
   DataFrameModel.data() (display text and alignment) at random scroll positions, cold (nothing cached); the indexes
   are made before the clock starts, as a view holds them in C++. Baseline: the naive model, str(df.iat[r, c]).

Targets (issue 4): start <= 3 s; a page of cells <= 5 ms.
Usage: .venv/bin/python benchmarks/ui_bench.py [--runs 3] [--pages 40]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)

SAME_IMPORTS = """
import numpy, pandas, pyarrow, shapely, pyproj, pyqtgraph
from PySide6 import QtCore, QtGui, QtWidgets
import ui.app, ui.main_window, ui.panels.compstat, ui.panels.data, ui.panels.trends, ui.widgets.area_bar
import workstation.core.workspace, workstation.engine.analysis, workstation.reports.compstat, workstation.reports.trends
"""

OURS = """
import sys, time
sys.path.insert(0, {root!r})
from ui.app import make_application
app = make_application([])
from ui.main_window import MainWindow
w = MainWindow()
w.show()
w.start()
while not (w.windowHandle() is not None and w.windowHandle().isExposed() and w.compstat.model.rowCount() > 0):
    app.processEvents()
app.processEvents()
print("VISIBLE", len(w.state.workspace.frames["offenses"]), flush=True)
w.shutdown()
"""

BASELINE = """
import sys
sys.path.insert(0, {root!r})
""" + SAME_IMPORTS + """
from ui.app import make_application
app = make_application([])
from PySide6.QtWidgets import QMainWindow
w = QMainWindow()
w.resize(1366, 740)
w.show()
while not (w.windowHandle() is not None and w.windowHandle().isExposed()):
    app.processEvents()
app.processEvents()
print("VISIBLE", 0, flush=True)
"""


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PSP_WORKSTATION_DATA_DIR"] = str(tmp / "data")
    env["XDG_CONFIG_HOME"] = str(tmp / "config")       # QSettings of the run, not the user's
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    return env


def time_to_visible(code: str, env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, env=env, cwd=str(ROOT))
    line = p.stdout.readline()
    t = time.perf_counter() - t0
    p.wait(timeout=120)
    if not line.startswith("VISIBLE"):
        raise RuntimeError(f"the window did not come up: {line!r}")
    return t, line.strip()


def bench_start(runs: int) -> dict:
    from workstation.demo.records import write_demo

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "data").mkdir()
        t = time.perf_counter()
        write_demo(tmp / "data" / "demo.psw")
        built = time.perf_counter() - t
        env = _env(tmp)
        ours, base = [], []
        for _ in range(runs):
            ours.append(time_to_visible(OURS.format(root=str(ROOT)), env)[0])
            base.append(time_to_visible(BASELINE.format(root=str(ROOT)), env)[0])
        return {"demo_build_s": built, "start_runs_s": ours, "bare_runs_s": base,
                "start_s": statistics.median(ours), "bare_s": statistics.median(base)}


def bench_page(pages: int) -> dict:
    import numpy as np
    import pandas as pd
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from ui.models.dataframe_model import DataFrameModel
    from ui.panels.data import headers_for, value_labels_for
    from ui.widgets.records_view import RecordsTable
    from workstation.core import schema

    app = QApplication.instance() or QApplication([])
    n = 1_000_000
    rng = np.random.default_rng(4)
    occurred = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365 * 86400, n), unit="s")
    df = schema.conform(pd.DataFrame({
        "record_id": [f"R{i:07d}" for i in range(n)], "incident_id": [f"I{i // 2:07d}" for i in range(n)],
        "occurred": occurred, "reported": occurred + pd.to_timedelta(rng.integers(0, 86400, n), unit="s"),
        "category": rng.choice(list(schema.PART1), n), "offense_code": rng.choice(["13A", "120", "23F", "240"], n),
        "firearm": rng.random(n) < 0.2, "lat": 43 + rng.random(n) * 0.2, "lon": -88 + rng.random(n) * 0.2,
        "district": rng.integers(1, 8, n).astype(str), "address": rng.choice(["100 N MAIN ST", "2846 N 1ST ST"], n),
        "load_id": 1}), "offenses")
    model = DataFrameModel()
    model.set_frame(df, schema.columns("offenses"), value_labels_for("offenses"))
    model._headers = headers_for("offenses")
    view = RecordsTable()
    view.setModel(model)
    view.resize(1000, 560)          # the records table's share of a 1366x768 window
    view.show()
    app.processEvents()
    rows = max(1, view.viewport().height() // view.verticalHeader().defaultSectionSize() + 1)
    cols = model.columnCount()
    display = int(Qt.ItemDataRole.DisplayRole)
    align = int(Qt.ItemDataRole.TextAlignmentRole)
    starts = rng.integers(0, n - rows, pages)

    def ours_page(r0: int) -> float:
        # the view holds its indexes in C++; only the data() calls (and the formatting they trigger) are timed
        indexes = [model.index(r, c) for r in range(r0, r0 + rows) for c in range(cols)]
        model._cache.clear()  # cold: a page never seen before
        t = time.perf_counter()
        for ix in indexes:
            model.data(ix, display)
            model.data(ix, align)
        return time.perf_counter() - t

    def naive_page(r0: int) -> float:
        t = time.perf_counter()
        for r in range(r0, r0 + rows):
            for c in range(cols):
                v = df.iat[r, c]
                "" if pd.isna(v) else str(v)
        return time.perf_counter() - t

    ours = [ours_page(int(s)) for s in starts]
    naive = [naive_page(int(s)) for s in starts]
    t = time.perf_counter()
    model.sort(model.columns().index("occurred"))
    sort_s = time.perf_counter() - t
    after_sort = [ours_page(int(s)) for s in starts[:10]]
    view.close()
    return {"page_rows": rows, "page_cols": cols, "page_s": statistics.median(ours),
            "page_p95_s": float(np.percentile(ours, 95)), "page_naive_s": statistics.median(naive),
            "sort_1m_s": sort_s, "page_after_sort_s": statistics.median(after_sort)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", type=int, default=40)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = bench_start(args.runs)
    print(f"start to demo visible: {start['start_s']:.2f} s (runs {', '.join(f'{x:.2f}' for x in start['start_runs_s'])})"
          f"; bare QMainWindow with the same imports: {start['bare_s']:.2f} s; demo build (first start only): "
          f"{start['demo_build_s']:.2f} s")
    page = bench_page(args.pages)
    print(f"1M-row records table, visible page of {page['page_rows']} x {page['page_cols']} cells: "
          f"{page['page_s'] * 1000:.2f} ms median (p95 {page['page_p95_s'] * 1000:.2f} ms), naive iat model "
          f"{page['page_naive_s'] * 1000:.2f} ms; sort 1M by date {page['sort_1m_s']:.2f} s, page after sort "
          f"{page['page_after_sort_s'] * 1000:.2f} ms")
    out = {
        "ours_s": round(start["start_s"], 4), "baseline_s": round(start["bare_s"], 4),
        "ratio": round(start["start_s"] / start["bare_s"], 3),
        "start_target_met": start["start_s"] <= 3.0,
        "page_ours_s": round(page["page_s"], 6), "page_baseline_s": round(page["page_naive_s"], 6),
        "page_ratio": round(page["page_s"] / page["page_naive_s"], 3),
        "page_target_met": page["page_s"] <= 0.005,
        "page_cells": page["page_rows"] * page["page_cols"],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long the UI thread stalls while a 1M-row import runs, through the real path: the main window on the demo
workspace, the import wizard, its worker, and the panels taking the result.

A heartbeat QTimer (every 5 ms, precise) stamps the UI thread; a stall is the gap between two beats beyond 5 ms.
Reported per phase:
- wizard: reading the header and the sample, the column and category pages (before the import starts);
- import: the worker reads, maps and merges 1M rows on a detached copy (the UI thread only repaints progress);
- adopt: the UI thread takes the result; the engine's indexes are rebuilt and the visible panels (CompStat grid)
  recompute, in workers on a big workspace, and swap their models in on the UI thread (adopt_s: until the grid
  shows the new figures), then 3 s of settling.

Target (issues 13 and 14): no stall over 100 ms during the import or the adopt phase.
Usage: .venv/bin/python benchmarks/stall_bench.py [--rows 1000000]
Last line: JSON {"rows", "import_s", "worst_import_ms", "p99_import_ms", "stalls_over_100ms_import", "worst_wizard_ms",
"worst_adopt_ms", "adopt_s", "load_avg"}.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import bench_env  # noqa: E402 - this checkout on sys.path, Qt offscreen (see bench_env.py)

BEAT_MS = 5


def offense_csv(rows: int) -> Path:
    """The import benchmark's 1M-row NIBRS-style export (made once, kept in the temp folder)."""
    spec = importlib.util.spec_from_file_location("import_bench", ROOT / "benchmarks" / "import_bench.py")
    ib = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ib)
    d = Path(tempfile.gettempdir()) / "psp_import_bench"
    d.mkdir(exist_ok=True)
    p = d / f"offenses_{rows}.csv"
    if not p.exists():
        ib.make_frame(rows).to_csv(p, index=False)
    return p


class Heartbeat:
    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.stamps: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(BEAT_MS)
        self.timer.timeout.connect(lambda: self.stamps.append(time.perf_counter()))
        self.marks: dict[str, float] = {}

    def start(self) -> None:
        self.timer.start()

    def mark(self, name: str) -> None:
        self.marks[name] = time.perf_counter()

    def stalls_ms(self, t0: float, t1: float) -> list[float]:
        """The stalls ending in [t0, t1]: a gap that straddles t0 (the import's result taken in just before the mark
        is set) belongs to the phase it ends in, never to none."""
        before = [t for t in self.stamps if t < t0][-1:]
        s = before + [t for t in self.stamps if t0 <= t <= t1]
        return [1000 * (b - a) - BEAT_MS for a, b in zip(s, s[1:])] or [0.0]


def run(rows: int) -> dict:
    from PySide6.QtCore import QSettings

    from ui.app import make_application
    from ui.main_window import MainWindow
    from ui.settings import Settings
    from workstation.demo.records import build_demo

    tmp = Path(tempfile.mkdtemp(prefix="psp-stall-"))
    os.environ["PSP_WORKSTATION_DATA_DIR"] = str(tmp / "appdata")
    csv_path = offense_csv(rows)
    app = make_application([])

    spin = bench_env.spinner(app)

    win = MainWindow(settings=Settings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)))
    win.resize(1366, 768)
    win.show()
    ws = build_demo()
    ws.save(tmp / "demo.psw")
    win.open_path(tmp / "demo.psw")
    spin(lambda: not win.tasks.is_running(), 60, "opening the demo")

    from ui.dialogs.import_wizard import ImportWizard

    hb = Heartbeat()
    hb.start()
    spin(lambda: len(hb.stamps) > 20, 5, "heartbeat")
    hb.mark("wizard")
    wiz = ImportWizard(win.state, win.settings, [str(csv_path)], win)
    wiz.show()
    wiz.next()                                       # the columns page reads the whole file once, in a worker
    spin(lambda: wiz.sample is not None or wiz.sample_error is not None, 300, "the sample")
    for _ in range(10):                              # categories, location ... until the import runs
        if wiz.currentId() == wiz.RUN:
            break
        if wiz.currentId() == wiz.LOCATION:
            wiz.location_page.save_box.setChecked(False)
        wiz.next()
        app.processEvents()
    if wiz.currentId() != wiz.RUN:
        raise SystemExit(f"the wizard did not reach the import page (page {wiz.currentId()})")
    hb.mark("import")
    spin(lambda: wiz.run_page.state != "running", 900, "the import")
    hb.mark("adopt")
    if wiz.run_page.state != "done":
        raise SystemExit(f"the import ended as {wiz.run_page.state}: {wiz.run_page.status.text()}")
    # the engine is warmed and the visible panels recompute (in workers on a big workspace), then swap their models
    # in on the UI thread: wait until the grid shows the new figures, and a further 3 s of settling
    spin(lambda: win.state.ready and not win.compstat.computing, 900, "the new figures")
    hb.mark("figures")
    end = time.perf_counter() + 3.0
    spin(lambda: time.perf_counter() > end and not win.tasks.is_running(), 120, "the panels")
    hb.mark("end")
    hb.timer.stop()

    m = hb.marks
    wiz_st, imp, adopt = (hb.stalls_ms(m["wizard"], m["import"]), hb.stalls_ms(m["import"], m["adopt"]),
                          hb.stalls_ms(m["adopt"], m["end"]))
    imp_sorted = sorted(imp)
    result = {
        "rows": rows, "accepted": wiz.result.accepted if wiz.result else None,
        "import_s": round(m["adopt"] - m["import"], 2),
        "worst_import_ms": round(max(imp), 1),
        "p99_import_ms": round(imp_sorted[int(0.99 * (len(imp_sorted) - 1))], 1),
        "stalls_over_100ms_import": sum(x > 100 for x in imp),
        "worst_wizard_ms": round(max(wiz_st), 1),
        "worst_adopt_ms": round(max(adopt), 1),
        "adopt_s": round(m["figures"] - m["adopt"], 2),
        "load_avg": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    print(f"import of {rows:,} rows: {result['import_s']} s; UI stalls during the import: worst "
          f"{result['worst_import_ms']} ms, p99 {result['p99_import_ms']} ms, "
          f"{result['stalls_over_100ms_import']} over 100 ms")
    print(f"wizard pages (sample read): worst {result['worst_wizard_ms']} ms; adopting the result and recomputing "
          f"the panels: worst {result['worst_adopt_ms']} ms, new figures shown after {result['adopt_s']} s")
    wiz.shutdown()
    win.shutdown()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    print(json.dumps(run(args.rows)))
    sys.stdout.flush()  # os._exit skips it: piped to a file, the figures would be lost
    os._exit(0)  # skip Qt's teardown of windows and pools: the figures are printed


if __name__ == "__main__":
    sys.exit(main())

"""The full CompStat workbook export on a 1M-offense workspace, against openpyxl writing the same cells bare.

The workspace is the calibrated demo (its shootings, calls, activity, districts and target areas) with its offenses
resampled up to ``--rows`` (new ids, dates moved by up to a week, locations by up to ~50 m), so every sheet has real
content. Each run starts from a cold engine (its indexes and area memberships forgotten), as the command line does.

- ours_s: the whole export (``export_context`` + ``plan_workbook`` + ``write_workbook`` + ``save_atomic``, exactly what
  ``export_workbook`` runs), median over runs;
- analysis_s: of which the engine's reports (context and plan: every ReportTable of every sheet);
- write_s: of which formatting and saving (ours_s - analysis_s);
- baseline_s: openpyxl writing the same cells (every table's title, header, rows and notes, sheet by sheet) with
  ``ws.append`` and no styling, no conditional formats, no charts, then saving;
- ratio: write_s / baseline_s, what our formatting, colours, charts and print setup cost over a bare write of the
  same cells;
- warm_s: the export again with the engine warm (the app's case: the workspace is already open and counted);
- cpu_s: the CPU time of the cold export (wall times inflate when other work shares the cores; load_avg says how
  busy the machine was).

Last line: JSON {"ours_s", "analysis_s", "write_s", "baseline_s", "ratio", "warm_s", "cpu_s", "load_avg", "rows",
"cells", "sheets"}.
"""
import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)
from openpyxl import Workbook  # noqa: E402

from workstation.engine.analysis import analysis_for  # noqa: E402
from workstation.demo.records import build_demo  # noqa: E402
from workstation.exports.workbook import (export_context, export_workbook, plan_workbook,  # noqa: E402
                                          save_atomic, write_workbook)

AS_OF = "2019-09-29"


def big_workspace(rows: int, seed: int = 7):
    ws = build_demo()
    off = ws.frames["offenses"]
    extra = rows - len(off)
    if extra > 0:
        rng = np.random.default_rng(seed)
        pick = rng.integers(0, len(off), extra)
        add = off.iloc[pick].reset_index(drop=True).copy()
        ids = pd.Series(np.char.add("X", np.arange(extra).astype(str)))
        add["record_id"] = ids.to_numpy()
        add["incident_id"] = ids.to_numpy()
        add["occurred"] = add["occurred"] + pd.to_timedelta(rng.integers(-3 * 86400, 4 * 86400, extra), unit="s")
        add["lat"] = add["lat"] + rng.normal(0, 0.0004, extra)
        add["lon"] = add["lon"] + rng.normal(0, 0.0005, extra)
        ws.set_frame("offenses", pd.concat([off, add], ignore_index=True))
    return ws


def ours(ws, out: Path) -> tuple[float, float, float, list]:
    analysis_for(ws).invalidate(None)  # cold: the CLI opens the workspace and counts from scratch
    c0 = time.process_time()
    t0 = time.perf_counter()
    ctx = export_context(ws, AS_OF)
    plans = plan_workbook(ctx)
    t1 = time.perf_counter()
    wb = write_workbook(ctx, plans)
    save_atomic(wb, out)
    t2 = time.perf_counter()
    return t2 - t0, t1 - t0, time.process_time() - c0, plans


def _plain(v):
    if v is None:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def baseline(plans, out: Path) -> tuple[float, int]:
    """openpyxl writing the same cells, bare: title, header, rows and notes of every table."""
    t0 = time.perf_counter()
    wb = Workbook()
    wb.remove(wb.active)
    cells = 0
    for plan in plans:
        ws = wb.create_sheet(plan.name)
        ws.append([plan.title])
        for t in plan.all_tables():
            ws.append([t.title])
            ws.append(list(t.columns))
            for r in t.rows:
                ws.append([_plain(v) for v in r])
            for n in t.notes:
                ws.append([n])
            ws.append([])
            cells += 2 + len(t.columns) * (1 + len(t.rows)) + len(t.notes)
    wb.save(out)
    return time.perf_counter() - t0, cells


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000, help="offenses in the workspace")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    ws = big_workspace(args.rows)
    print(f"workspace: {len(ws.frames['offenses']):,} offenses, {len(ws.frames['shootings']):,} shooting victims, "
          f"{len(ws.frames['calls']):,} calls, {len(ws.frames['activity']):,} activity records "
          f"(built in {time.perf_counter() - t:.1f} s)")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        totals, analyses, bases, cpus = [], [], [], []
        cells = 0
        plans = None
        for i in range(args.runs):
            total, analysis, cpu, plans = ours(ws, d / "ours.xlsx")
            base, cells = baseline(plans, d / "bare.xlsx")
            cpus.append(cpu)
            totals.append(total)
            analyses.append(analysis)
            bases.append(base)
            print(f"run {i + 1}: export {total:.2f} s (analysis {analysis:.2f} s, writing {total - analysis:.2f} s; "
                  f"CPU {cpu:.2f} s); bare openpyxl write {base:.2f} s")
        warm = []
        for _ in range(args.runs):
            t = time.perf_counter()
            export_workbook(ws, d / "warm.xlsx", as_of=AS_OF)
            warm.append(time.perf_counter() - t)
        size = (d / "ours.xlsx").stat().st_size
    ours_s, analysis_s, baseline_s = (statistics.median(x) for x in (totals, analyses, bases))
    write_s = statistics.median(a - b for a, b in zip(totals, analyses))
    print(f"workbook: {len(plans)} sheets, {cells:,} cells, {size / 1024:.0f} KiB")
    print(json.dumps({
        "ours_s": round(ours_s, 3), "analysis_s": round(analysis_s, 3), "write_s": round(write_s, 3),
        "baseline_s": round(baseline_s, 3), "ratio": round(write_s / baseline_s, 2),
        "warm_s": round(statistics.median(warm), 3), "cpu_s": round(statistics.median(cpus), 3),
        "load_avg": round(os.getloadavg()[0], 2), "rows": len(ws.frames["offenses"]), "cells": cells,
        "sheets": len(plans),
    }))


if __name__ == "__main__":
    main()

"""Import speed against bare readers.

    .venv/bin/python benchmarks/import_bench.py [--rows 1000000] [--xlsx-rows 200000] [--repeat 5]

Generates (once, cached in the temp folder) a 1M-row RMS-style CSV with NIBRS codes and a 200k-row XLSX of the same
layout, then times our whole import (read, detect the profile, map, check, build the records, merge into an empty
workspace) against a bare read: ``pandas.read_csv(engine="pyarrow")`` for the CSV and a calamine read for the XLSX.
Prints medians; the last line is JSON with ours_s, baseline_s and ratio for each.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)

CODES = np.array(["09A", "11A", "120", "13A", "13B", "220", "23F", "23H", "240", "200", "290", "35A", "520", "90Z"])
WEAPONS = np.array(["", "", "", "HANDGUN", "PERSONAL WEAPON", "KNIFE/CUTTING INSTRUMENT", "NONE"])


def make_frame(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2015-01-01T00:00:00")
    occurred = start + rng.integers(0, 9 * 365 * 86400, n).astype("timedelta64[s]")
    occ = pd.Series(occurred).dt.strftime("%Y-%m-%d %H:%M:%S")
    bad = rng.random(n) < 0.001  # a realistic sprinkle of rows the importer must reject
    occ[bad] = "unknown"
    lat = np.round(43.04 + rng.normal(0, 0.05, n), 6)
    lon = np.round(-87.95 + rng.normal(0, 0.05, n), 6)
    nocoord = rng.random(n) < 0.01
    return pd.DataFrame({
        "incident_number": [f"I{i:08d}" for i in range(n)],
        "occurred": occ,
        "nibrs_code": CODES[rng.integers(0, len(CODES), n)],
        "district": np.char.zfill(rng.integers(1, 8, n).astype(str), 2),
        "address": np.char.add(rng.integers(1, 99, n).astype(str), "00 BLOCK N MAIN ST"),
        "weapon": WEAPONS[rng.integers(0, len(WEAPONS), n)],
        "latitude": np.where(nocoord, np.nan, lat),
        "longitude": np.where(nocoord, np.nan, lon),
    })


def ensure_files(rows: int, xrows: int) -> tuple[Path, Path]:
    d = Path(tempfile.gettempdir()) / "psp_import_bench"
    d.mkdir(exist_ok=True)
    csv_path = d / f"offenses_{rows}.csv"
    xlsx_path = d / f"offenses_{xrows}.xlsx"
    if not csv_path.exists():
        make_frame(rows).to_csv(csv_path, index=False)
    if not xlsx_path.exists():
        df = make_frame(xrows, seed=11)
        tmp = xlsx_path.with_suffix(".tmp.xlsx")
        try:
            import xlsxwriter  # noqa: F401
            with pd.ExcelWriter(tmp, engine="xlsxwriter", engine_kwargs={"options": {"constant_memory": True}}) as w:
                df.to_excel(w, index=False)
        except ImportError:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Offenses")
            ws.append(list(df.columns))
            for row in df.itertuples(index=False):
                ws.append([None if (isinstance(v, float) and v != v) else v for v in row])
            wb.save(tmp)
        tmp.rename(xlsx_path)
    return csv_path, xlsx_path


def time_pair(ours, base, repeat: int) -> tuple[float, float]:
    """Medians of ``repeat`` alternating runs (on a shared machine both sides then see the same load). Each
    function returns its own elapsed seconds, so setup (an empty workspace) stays outside the timing."""
    a, b = [], []
    for _ in range(repeat):
        a.append(ours())
        b.append(base())
    return statistics.median(a), statistics.median(b)


def timed(fn):
    def run():
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    return run


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    from python_calamine import CalamineWorkbook

    from workstation.ingest import import_files
    from workstation.core.workspace import Workspace

    csv_path, xlsx_path = ensure_files(a.rows, a.xlsx_rows)
    checks = {}

    def ours(path):
        def run():
            ws = Workspace()  # an open, empty workspace: its creation is not part of the import
            t = time.perf_counter()
            r = import_files(ws, "offenses", [path])
            elapsed = time.perf_counter() - t
            checks[path.name] = (r.rows_read, r.accepted, r.rejected, r.profile)
            return elapsed
        return run

    def bare_csv():
        pd.read_csv(csv_path, engine="pyarrow")

    def bare_xlsx():
        CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_index(0).to_python()

    out = {}
    for label, path, base in (("csv", csv_path, bare_csv), ("xlsx", xlsx_path, bare_xlsx)):
        ours(path)()  # warm caches (profiles, pyproj) once
        o, b = time_pair(ours(path), timed(base), a.repeat)
        out[label] = {"rows": a.rows if label == "csv" else a.xlsx_rows, "ours_s": round(o, 3),
                      "baseline_s": round(b, 3), "ratio": round(o / b, 2)}
        rows_read, acc, rej, prof = checks[path.name]
        print(f"{label}: {path.name}: ours {o:.3f} s, baseline {b:.3f} s, ratio {o / b:.2f} "
              f"(rows {rows_read:,}: {acc:,} accepted, {rej:,} rejected; profile {prof})")
    out["targets"] = {"csv_ratio_max": 5.0, "xlsx_ratio_max": 1.3}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Big-city scale (issue 14): import, placement, open, grid and export at N records, with time and memory.

The records are a large department's: 30% offenses (NIBRS-coded CSV, five and three-quarter years so the 5-year
average column has data) and 70% calls for service (generic CAD CSV), placed on the demo city's seven districts and
two target areas (points drawn around the demo's own offense locations). Each step runs in a fresh process, as an
analyst's session would, so its peak resident memory is its own:

- import_s: both CSVs through the importer (profile detection, mapping, validation, merge), in one process;
  baseline_s: a bare ``pandas.read_csv(engine="pyarrow")`` of the same two files (the floor for reading them);
- place_s: placing every record into the districts and target areas (the engine's membership masks, cold);
- open_s: ``Workspace.open`` of the saved workspace;
- index_s: the counting engine's indexes of offenses and calls (sorted days and atoms), taken from the file when
  the save stored them for exactly these records (``index_from_file``), else built once after an open before the
  first count;
- first_grid_s: what an analyst waits for after choosing the file: open, the indexes and the first citywide
  CompStat grid (every grid measure, the as-of date of the records), in a fresh process;
- grid_s: a CompStat grid recompute for a new area and as-of date with the engine warm (median of 5);
- export_s: the full CompStat workbook from a cold engine (what ``main.py export`` does after opening);
- cpu_s: the CPU seconds of import, open, index, first grid, place and export (wall times stretch when other work
  shares the cores; the load average is printed too);
- peak_rss_mb: the largest peak resident set (VmHWM) of any step; rss_per_million_mb: what the open workspace
  with its engine indexes adds to the process's resident set (VmRSS after open, placement and a grid, minus VmRSS
  before the workspace was opened), per million records.

Usage: .venv/bin/python benchmarks/scale_bench.py [N] [--keep DIR]   (N default 3,000,000)
Last line: JSON {"records", "import_s", "baseline_s", "place_s", "open_s", "grid_s", "export_s", "peak_rss_mb",
"rss_per_million_mb", "index_s", "first_grid_s", ...}.
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
sys.path.insert(0, str(ROOT))

OFFENSE_SHARE = 0.3
AS_OF = "2019-09-29"
NIBRS = (["13B"] * 18 + ["23F"] * 12 + ["23H"] * 14 + ["290"] * 10 + ["220"] * 7 + ["240"] * 6 + ["13A"] * 6 +
         ["120"] * 4 + ["35A"] * 6 + ["23C"] * 5 + ["26A"] * 3 + ["09A"] * 1 + ["11A"] * 1 + ["520"] * 2 + ["90C"] * 5)
CALL_TYPES = (["TRAFFIC STOP"] * 20 + ["DISTURBANCE"] * 12 + ["ALARM"] * 10 + ["SUSPICIOUS PERSON"] * 8 +
              ["WELFARE CHECK"] * 8 + ["SHOTSPOTTER"] * 2 + ["THEFT REPORT"] * 8 + ["NOISE COMPLAINT"] * 6 +
              ["ACCIDENT"] * 8 + ["BUSINESS CHECK"] * 6 + ["FIGHT"] * 3 + ["MISC"] * 9)
STREETS = ["N 27TH ST", "W CENTER ST", "W CAPITOL DR", "N TEUTONIA AVE", "W FOND DU LAC AVE", "N 35TH ST",
           "W NORTH AVE", "N SHERMAN BLVD", "W BURLEIGH ST", "N HOLTON ST", "W LOCUST ST", "N 76TH ST"]


def _rss_kb(key: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def make_files(n: int, folder: Path, seed: int = 14) -> tuple[Path, Path, Path]:
    """Two CSVs (offenses, calls) and a workspace holding only the demo city's geography."""
    import numpy as np
    import pandas as pd

    from workstation.core.workspace import Workspace
    from workstation.demo.records import build_demo

    demo = build_demo()
    geo_ws = Workspace()
    geo_ws.meta = dict(demo.meta)
    geo_ws.areas = list(demo.areas)
    geo_path = folder / "geography.psw"
    geo_ws.save(geo_path)
    pts = demo.frames["offenses"][["lat", "lon"]].dropna().to_numpy()
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2014-01-01").value // 10**9
    end = pd.Timestamp(AS_OF + " 23:59:59").value // 10**9
    n_off = int(round(n * OFFENSE_SHARE))
    paths = []
    for kind, rows in (("offenses", n_off), ("calls", n - n_off)):
        out = folder / f"{kind}.csv"
        first = True
        for lo in range(0, rows, 500_000):
            m = min(500_000, rows - lo)
            pick = pts[rng.integers(0, len(pts), m)]
            lat = np.round(pick[:, 0] + rng.normal(0, 0.0008, m), 6)
            lon = np.round(pick[:, 1] + rng.normal(0, 0.0010, m), 6)
            when = pd.to_datetime(rng.integers(start, end, m), unit="s").strftime("%Y-%m-%d %H:%M:%S")
            addr = (rng.integers(1, 99, m) * 100).astype(str).astype(object) + " " + \
                np.asarray(STREETS, dtype=object)[rng.integers(0, len(STREETS), m)]
            ids = np.char.add("C" if kind == "calls" else "I", (np.arange(lo, lo + m) + 10_000_000).astype(str))
            if kind == "offenses":
                df = pd.DataFrame({"incident_number": ids, "offense_date": when,
                                   "nibrs_code": np.asarray(NIBRS)[rng.integers(0, len(NIBRS), m)],
                                   "address": addr, "latitude": lat, "longitude": lon})
            else:
                df = pd.DataFrame({"call_number": ids, "call_datetime": when,
                                   "call_type": np.asarray(CALL_TYPES)[rng.integers(0, len(CALL_TYPES), m)],
                                   "priority": rng.integers(1, 6, m), "address": addr, "latitude": lat,
                                   "longitude": lon})
            df.to_csv(out, mode="w" if first else "a", header=first, index=False)
            first = False
        paths.append(out)
    return geo_path, paths[0], paths[1]


# ---- steps: each runs in its own process (python scale_bench.py --step NAME ...) and prints one JSON line ----
def step_baseline(args) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    n = sum(len(pd.read_csv(p, engine="pyarrow")) for p in (args.offenses, args.calls))
    return {"baseline_s": time.perf_counter() - t0, "rows": n}


def step_import(args) -> dict:
    from workstation.core.workspace import Workspace
    from workstation.ingest.importer import import_files

    ws = Workspace.open(args.geo)
    t0, c0 = time.perf_counter(), time.process_time()
    import_files(ws, "offenses", [Path(args.offenses)])
    import_files(ws, "calls", [Path(args.calls)])
    import_s, import_cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    ws.save(args.workspace)
    return {"import_s": import_s, "import_cpu_s": import_cpu, "save_s": time.perf_counter() - t1,
            "peak_kb": _rss_kb("VmHWM")}


def _keys(ws):
    from workstation.engine import areas as area_mod

    return [area_mod.area_key(a) for a in ws.districts + ws.target_areas]


def step_open(args) -> dict:
    import gc

    import pandas as pd  # noqa: F401 - the libraries' own memory is not the workspace's
    import pyarrow  # noqa: F401
    import shapely  # noqa: F401

    from workstation.core.workspace import Workspace
    from workstation.engine.analysis import analysis_for

    gc.collect()
    before = _rss_kb()
    t0, c0 = time.perf_counter(), time.process_time()
    ws = Workspace.open(args.workspace)
    open_s, open_cpu = time.perf_counter() - t0, time.process_time() - c0
    n = sum(len(df) for df in ws.frames.values())
    an = analysis_for(ws)
    t1, c1 = time.perf_counter(), time.process_time()
    for kind in ("offenses", "calls"):
        an.index(kind)
    index_s, index_cpu = time.perf_counter() - t1, time.process_time() - c1
    t1, c1 = time.perf_counter(), time.process_time()
    an.grid("citywide")
    citywide_s, citywide_cpu = time.perf_counter() - t1, time.process_time() - c1
    t1, c1 = time.perf_counter(), time.process_time()
    for kind in ("offenses", "calls"):
        for key in _keys(ws):
            an.member(kind, key)
    place_s, place_cpu = time.perf_counter() - t1, time.process_time() - c1
    keys = _keys(ws)
    times = []
    for i in range(5):
        t = time.perf_counter()
        an.grid(keys[i % len(keys)], as_of=pd.Timestamp(AS_OF) - pd.Timedelta(days=7 * i))
        times.append(time.perf_counter() - t)
    gc.collect()
    after = _rss_kb()
    return {"open_s": open_s, "open_cpu_s": open_cpu, "index_s": index_s, "index_cpu_s": index_cpu,
            "first_grid_s": open_s + index_s + citywide_s, "first_grid_cpu_s": open_cpu + index_cpu + citywide_cpu,
            "index_from_file": all(an.index(k).from_saved for k in ("offenses", "calls")),
            "place_s": place_s, "place_cpu_s": place_cpu,
            "grid_s": statistics.median(times), "records": n,
            "workspace_rss_mb": (after - before) / 1024, "peak_kb": _rss_kb("VmHWM")}


def step_export(args) -> dict:
    from workstation.core.workspace import Workspace
    from workstation.exports.workbook import export_workbook

    ws = Workspace.open(args.workspace)
    t0, c0 = time.perf_counter(), time.process_time()
    export_workbook(ws, Path(args.workspace).with_suffix(".xlsx"), as_of=__import__("datetime").date(2019, 9, 29))
    return {"export_s": time.perf_counter() - t0, "export_cpu_s": time.process_time() - c0,
            "peak_kb": _rss_kb("VmHWM")}


STEPS = {"baseline": step_baseline, "import": step_import, "open": step_open, "export": step_export}


def run_step(name: str, **paths) -> dict:
    cmd = [sys.executable, __file__, "--step", name] + [f"--{k}={v}" for k, v in paths.items()]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("records", nargs="?", type=int, default=3_000_000)
    ap.add_argument("--keep", help="folder to keep the files in (default: a temporary folder)")
    ap.add_argument("--step")
    for k in ("geo", "offenses", "calls", "workspace"):
        ap.add_argument(f"--{k}")
    args = ap.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args)))
        return 0
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="psp-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "records.txt"
    geo, off, calls = folder / "geography.psw", folder / "offenses.csv", folder / "calls.csv"
    if args.keep and stamp.exists() and stamp.read_text() == str(args.records) and off.exists() and calls.exists():
        print(f"[scale] reusing the {args.records:,} records in {folder}", file=sys.stderr)
    else:
        t = time.perf_counter()
        geo, off, calls = make_files(args.records, folder)
        stamp.write_text(str(args.records))
        print(f"[scale] wrote {args.records:,} records in {time.perf_counter() - t:.1f} s to {folder}",
              file=sys.stderr)
    wsp = folder / "scale.psw"
    paths = dict(geo=geo, offenses=off, calls=calls, workspace=wsp)
    res = {"records": args.records}
    for name in ("baseline", "import", "open", "export"):
        got = run_step(name, **paths)
        print(f"[scale] {name}: {got}", file=sys.stderr)
        res.setdefault("peak_kb", 0)
        res["peak_kb"] = max(res["peak_kb"], got.pop("peak_kb", 0))
        res.update(got)
    millions = res["records"] / 1e6
    out = {"records": res["records"], "import_s": round(res["import_s"], 2), "baseline_s": round(res["baseline_s"], 2),
           "import_ratio": round(res["import_s"] / res["baseline_s"], 1), "place_s": round(res["place_s"], 3),
           "place_s_per_million": round(res["place_s"] / millions, 3), "open_s": round(res["open_s"], 2),
           "index_s": round(res["index_s"], 2), "first_grid_s": round(res["first_grid_s"], 2),
           "index_from_file": res["index_from_file"],
           "grid_s": round(res["grid_s"], 4), "export_s": round(res["export_s"], 2),
           "save_s": round(res["save_s"], 2), "peak_rss_mb": round(res["peak_kb"] / 1024),
           "cpu_s": {k: round(res[f"{k}_cpu_s"], 2) for k in ("import", "open", "index", "first_grid", "place",
                                                               "export")},
           "rss_per_million_mb": round(res["workspace_rss_mb"] / millions), "load_avg": os.getloadavg()[0]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

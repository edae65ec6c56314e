"""CompStat grid recompute on 1M offenses: the engine (sorted day numbers + searchsorted + atom bincount) against
boolean masks.

Each run asks for every offense measure of the default catalog over the grid's 18 windows (WTD, 28 days, YTD; this
year and the five before) for a *new* area membership and a *new* as-of date, so nothing is served from a cache:
- ours: ``Analysis.grid_for_mask`` (the what-if entry point; the membership mask is given, as the live editor has it);
- baseline: per window, area & day-range boolean mask, then per measure ``count_nonzero(window_mask & measure_mask)``
  (measure masks and int64 day numbers precomputed, so only the per-window work is timed).
Both answers are checked equal. Also printed: a new as-of date for a cached area (``Analysis.grid``), building the
index once, and point-in-polygon membership for one area.

Last line: JSON {"ours_s", "baseline_s", "ratio", ...} (medians).
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)
from workstation.core import schema  # noqa: E402
from workstation.engine.analysis import Analysis  # noqa: E402
from workstation.engine.measures import default_catalog  # noqa: E402
from workstation.engine.periods import compstat_windows, day_numbers  # noqa: E402
from workstation.core.workspace import Area, Workspace  # noqa: E402

LON0, LAT0, W, H = -88.05, 42.95, 0.25, 0.25


def synthetic_workspace(n: int, seed: int = 0) -> Workspace:
    rng = np.random.default_rng(seed)
    ids = np.char.add("I", np.arange(n).astype(str))
    cats = np.array(schema.PART1 + ("simple_assault", "criminal_damage", "other"))
    p = np.array([1, 4, 30, 60, 60, 200, 50, 3, 80, 60, 40], dtype=float)
    df = pd.DataFrame({
        "record_id": ids, "incident_id": ids,
        "occurred": pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 7 * 365 * 86400, n), unit="s"),
        "category": cats[rng.choice(len(cats), n, p=p / p.sum())],
        "firearm": rng.random(n) < 0.2, "carjacking": rng.random(n) < 0.02,
        "lon": LON0 + W * rng.beta(2, 2, n), "lat": LAT0 + H * rng.beta(2, 2, n),
        "district": rng.choice(list("1234567"), n), "load_id": 1,
    })
    ws = Workspace()
    ws.set_frame("offenses", df)
    for i in range(7):
        ws.areas.append(Area(str(i + 1), "district", shapely.box(LON0 + i * W / 7, LAT0, LON0 + (i + 1) * W / 7,
                                                                  LAT0 + H)))
    return ws


def corridor(i: int, vertices: int = 50):
    """A 50-vertex wobbly band across the city, a different one for each i."""
    rng = np.random.default_rng(100 + i)
    xs = np.linspace(LON0 + 0.02, LON0 + W - 0.02, vertices // 2)
    y = LAT0 + 0.05 + 0.15 * (i % 7) / 7
    top = np.column_stack([xs, y + 0.008 + 0.003 * rng.random(xs.size)])
    bottom = np.column_stack([xs[::-1], y - 0.008 - 0.003 * rng.random(xs.size)])
    return shapely.Polygon(np.vstack([top, bottom]))


def baseline_grid(days, area_mask, measure_masks, windows):
    out = np.zeros((len(measure_masks), len(windows)))
    for j, w in enumerate(windows):
        wm = area_mask & (days >= w.start_day) & (days <= w.end_day)
        for i, mm in enumerate(measure_masks):
            out[i, j] = np.count_nonzero(wm & mm)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()

    t = time.perf_counter()
    ws = synthetic_workspace(args.rows)
    print(f"synthetic workspace: {args.rows:,} offenses in {time.perf_counter() - t:.2f} s")
    measures = [m for m in default_catalog().counts() if m.dataset == "offenses"]
    eng = Analysis(ws)
    t = time.perf_counter()
    ix = eng.index("offenses")
    print(f"index build (sort, atoms, hierarchy): {time.perf_counter() - t:.3f} s")
    lon, lat = eng.coords("offenses")
    shapes = [corridor(i) for i in range(args.runs)]
    t = time.perf_counter()
    masks = [shapely.contains_xy(g, lon, lat) for g in shapes]  # sorted order, as the what-if editor keeps them
    print(f"membership (shapely.contains_xy, 50 vertices): {(time.perf_counter() - t) / len(shapes) * 1000:.1f} ms "
          "per area")
    rng = np.random.default_rng(1)
    as_ofs = [pd.Timestamp("2019-01-01") + pd.Timedelta(days=int(d)) for d in rng.integers(0, 364, args.runs)]

    # baseline inputs, in the frame's own order, built once (not timed)
    df = ws.frames["offenses"]
    frame_days = day_numbers(df["occurred"].to_numpy())
    measure_masks = [m.select(df) for m in measures]
    frame_masks = []
    for mk in masks:
        fm = np.zeros(mk.size, dtype=bool)
        fm[ix.order] = mk
        frame_masks.append(fm)

    ours, base, cached = [], [], []
    eng.grid_for_mask({"offenses": masks[0]}, as_ofs[0], measures=measures)  # warm up
    for i in range(args.runs):
        t = time.perf_counter()
        g = eng.grid_for_mask({"offenses": masks[i]}, as_ofs[i], measures=measures)
        ours.append(time.perf_counter() - t)
        windows = list(compstat_windows(as_ofs[i]).values())
        t = time.perf_counter()
        b = baseline_grid(frame_days, frame_masks[i], measure_masks, windows)
        base.append(time.perf_counter() - t)
        if not np.array_equal(g.values, b):
            raise SystemExit(f"run {i}: engine and boolean masks disagree")
        t = time.perf_counter()
        eng.grid("district:3", as_ofs[i], measures=measures)
        cached.append(time.perf_counter() - t)
        print(f"run {i:2d}: as of {as_ofs[i]:%Y-%m-%d}, {int(masks[i].sum()):7,d} rows inside: ours "
              f"{ours[-1] * 1000:6.2f} ms, boolean masks {base[-1] * 1000:7.1f} ms, "
              f"cached area {cached[-1] * 1000:5.2f} ms")
    med = statistics.median
    out = {"ours_s": round(med(ours), 6), "baseline_s": round(med(base), 6), "ratio": round(med(base) / med(ours), 1),
           "cached_area_new_as_of_s": round(med(cached), 6), "rows": args.rows, "measures": len(measures),
           "windows": 18}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

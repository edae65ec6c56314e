"""Spatial analysis on the 1M-offense benchmark workspace (the demo grown to 1M offenses, as export_bench.py builds it):

- knox: the Knox near-repeat test on 20,000 offenses (400 ft x 5 bands, 7 days x 4 bands, 999 permutations) against
  the brute-force baseline (every pair's distance and day difference, for the observed dates and each permutation, as
  the Near Repeat Calculator does), timed on a subsample and scaled by n²; the two observed tables are checked equal
  on the subsample.
- gi: Getis-Ord Gi* on a grid of about 100,000 study cells against PySAL's esda.G_Local(star=True) with libpysal's
  binary DistanceBand weights (z-scores checked equal to 1e-9);
- kde: quartic kernel density of the 1M offenses on a 500 x 500 grid against a per-point loop (each point adds the
  kernel to the cells around it), timed on a subsample and scaled.

The machine is shared: wall times are medians; CPU times (process_time, all threads) are printed beside them.
Last line: JSON {"knox": {...}, "gi": {...}, "kde": {...}, "load": [...]}.
"""
import argparse
import json
import math
import os
import statistics
import time

import numpy as np

import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)
from export_bench import big_workspace  # noqa: E402
from workstation.engine.areas import city_geometry  # noqa: E402
from workstation.reports.spatial import events as ev_mod  # noqa: E402
from workstation.reports.spatial import near_repeat as nr  # noqa: E402
from workstation.reports.spatial.grid import Grid  # noqa: E402
from workstation.reports.spatial.hotspots import gi_star  # noqa: E402
from workstation.reports.spatial.kde import default_bandwidth_ft, kernel_density, kernel_stencil  # noqa: E402


def timed(fn, runs: int):
    wall, cpu, out = [], [], None
    for _ in range(runs):
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), out


def brute_knox_table(x, y, days, s, k, t, kt):
    """The NRC's way: every pair, its distance and day difference, banded (one table)."""
    iu = np.triu_indices(x.size, 1)
    d = np.hypot(x[iu[0]] - x[iu[1]], y[iu[0]] - y[iu[1]])
    dd = np.abs(days[iu[0]] - days[iu[1]])
    row = np.where(d == 0, 0, np.minimum(np.ceil(d / s).astype(np.int64), k + 1))
    col = np.minimum(np.maximum(np.ceil(dd / t).astype(np.int64) - 1, 0), kt)
    return np.bincount(row * (kt + 1) + col, minlength=(k + 2) * (kt + 1)).reshape(k + 2, kt + 1)


def bench_knox(ws, n: int, perms: int, runs: int, sub: int) -> dict:
    ev = ev_mod.select_events(ws, "part1_total", "2012-01-01", "2019-12-31")
    rng = np.random.default_rng(20)
    pick = np.sort(rng.choice(len(ev), n, replace=False))
    x, y, days = ev.x_ft[pick], ev.y_ft[pick], ev.days[pick]
    wall, cpu, res = timed(lambda: nr.knox_test(x, y, days, 400, 5, 7, 4, permutations=perms, seed=1), runs)
    print(f"knox: {n:,} events, {res.pairs_within:,} pairs within 2,000 ft, {perms} permutations: "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU")
    # baseline: brute force on a subsample, scaled by n² and by the number of tables (observed + permutations)
    s_pick = np.sort(rng.choice(n, sub, replace=False))
    sx, sy, sd = x[s_pick], y[s_pick], days[s_pick]
    bwall, bcpu, btab = timed(lambda: brute_knox_table(sx, sy, sd, 400, 5, 7, 4), 3)
    ours_sub = nr.knox_test(sx, sy, sd, 400, 5, 7, 4, permutations=1, seed=1)
    if not np.array_equal(ours_sub.observed, btab):
        raise SystemExit("knox: the observed table differs from the brute-force count on the subsample")
    scale = (n / sub) ** 2 * (perms + 1)
    base = bwall * scale
    print(f"knox baseline: brute force on {sub:,} events {bwall * 1000:.0f} ms per table -> x{scale:,.0f} = "
          f"{base:,.0f} s; ratio {base / wall:,.0f}")
    out = {"events": n, "permutations": perms, "pairs_within": res.pairs_within, "ours_s": round(wall, 3),
           "ours_cpu_s": round(cpu, 3), "baseline_s": round(base, 1), "baseline_cpu_s": round(bcpu * scale, 1),
           "baseline_subsample": sub, "ratio": round(base / wall, 1), "target_s": 3.0}
    return out


def bench_gi(ws, cells: int, runs: int, esda_runs: int) -> dict:
    crs = ev_mod.local_crs(ws)
    city = city_geometry(ws)
    area_ft = ev_mod.geometry_to_feet(city, crs).area
    cell = round(math.sqrt(area_ft / cells))
    grid = Grid.covering(city, cell, crs)
    mask = grid.study_mask(city)
    ev = ev_mod.select_events(ws, "part1_total", "2012-01-01", "2019-12-31")
    counts = grid.counts(ev.x_ft, ev.y_ft)
    dist = 3 * cell
    wall, cpu, (z, _) = timed(lambda: gi_star(counts, mask, dist, cell), runs)
    n = int(mask.sum())
    print(f"gi: {n:,} study cells of {cell} ft ({grid.nrows} x {grid.ncols}), band {dist} ft: {wall * 1000:.1f} ms "
          f"wall, {cpu * 1000:.1f} ms CPU")
    out = {"cells": n, "cell_ft": cell, "distance_ft": dist, "ours_s": round(wall, 4), "ours_cpu_s": round(cpu, 4),
           "target_s": 0.020}
    try:
        import warnings

        import esda
        import libpysal
    except ImportError:
        print("gi: esda/libpysal not installed (pip install -e .[dev]); no baseline")
        return out
    rr, cc = np.nonzero(mask)
    xs, ys = grid.centres()
    coords = np.column_stack([xs[rr, cc], ys[rr, cc]])
    times_w, times_g = [], []
    for _ in range(esda_runs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            w = libpysal.weights.DistanceBand(coords, threshold=dist * (1 + 1e-9), binary=True,
                                              silence_warnings=True)
            t1 = time.perf_counter()
            g = esda.G_Local(counts[rr, cc], w, transform="B", star=True, permutations=0)
            t2 = time.perf_counter()
        times_w.append(t1 - t)
        times_g.append(t2 - t1)
    diff = float(np.nanmax(np.abs(g.Zs - z[rr, cc])))
    if not diff <= 1e-9:
        raise SystemExit(f"gi: z-scores differ from esda by {diff}")
    esda_s = statistics.median(times_w) + statistics.median(times_g)
    print(f"gi esda: weights {statistics.median(times_w):.2f} s + G_Local {statistics.median(times_g):.2f} s = "
          f"{esda_s:.2f} s; max |z - esda| = {diff:.1e}; ratio {esda_s / wall:,.0f}")
    out.update({"esda_s": round(esda_s, 3), "esda_weights_s": round(statistics.median(times_w), 3),
                "ratio": round(esda_s / wall, 1), "max_abs_z_diff": diff})
    return out


def per_point_kde(x, y, grid: Grid, h: float) -> np.ndarray:
    """Baseline: each point adds the quartic kernel to the cells within the bandwidth (a loop over points)."""
    out = np.zeros(grid.shape)
    r = int(math.ceil(h / grid.cell_ft))
    cx = grid.x0 + (np.arange(grid.ncols) + 0.5) * grid.cell_ft
    cy = grid.y0 + (np.arange(grid.nrows) + 0.5) * grid.cell_ft
    rows, cols = grid.cell_of(x, y)
    for px, py, pr, pc in zip(x, y, rows, cols):
        r0, r1 = max(pr - r, 0), min(pr + r + 1, grid.nrows)
        c0, c1 = max(pc - r, 0), min(pc + r + 1, grid.ncols)
        if r0 >= r1 or c0 >= c1:
            continue
        d2 = ((cx[None, c0:c1] - px) ** 2 + (cy[r0:r1, None] - py) ** 2) / (h * h)
        out[r0:r1, c0:c1] += np.where(d2 < 1, (1 - d2) ** 2, 0.0)
    return out * 3 / (math.pi * h * h) * 5280.0 ** 2


def bench_kde(ws, size: int, runs: int, sub: int) -> dict:
    crs = ev_mod.local_crs(ws)
    city = city_geometry(ws)
    df = ws.frames["offenses"]
    ok = df["lon"].notna().to_numpy()
    x, y = ev_mod.to_feet(crs, df["lon"].to_numpy()[ok], df["lat"].to_numpy()[ok])
    xmin, ymin, xmax, ymax = ev_mod.geometry_to_feet(city, crs).bounds
    cell = max(xmax - xmin, ymax - ymin) / size
    grid = Grid((xmin + xmax) / 2 - size * cell / 2, (ymin + ymax) / 2 - size * cell / 2, cell, size, size, crs)
    t = time.perf_counter()
    h = default_bandwidth_ft(x, y)
    t_bw = time.perf_counter() - t
    wall, cpu, dens = timed(lambda: kernel_density(x, y, grid, h), runs)
    print(f"kde: {x.size:,} points on {size} x {size} cells of {cell:,.0f} ft, bandwidth {h:,.0f} ft "
          f"({kernel_stencil(h, cell).shape[0]}² stencil): {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU "
          f"(default bandwidth {t_bw * 1000:.0f} ms)")
    rng = np.random.default_rng(3)
    pick = rng.choice(x.size, sub, replace=False)
    bwall, _, bd = timed(lambda: per_point_kde(x[pick], y[pick], grid, h), 1)
    check = kernel_density(x[pick], y[pick], grid, h)
    rel = float(np.abs(check - bd).max() / bd.max())
    base = bwall * x.size / sub
    print(f"kde baseline: per-point loop on {sub:,} points {bwall:.2f} s -> x{x.size / sub:,.0f} = {base:,.0f} s; "
          f"ratio {base / wall:,.0f}; binned vs exact on the subsample: max difference {rel:.1%} of the peak")
    return {"points": int(x.size), "grid": [size, size], "cell_ft": round(cell, 1), "bandwidth_ft": round(h, 1),
            "ours_s": round(wall, 4), "ours_cpu_s": round(cpu, 4), "bandwidth_s": round(t_bw, 4),
            "baseline_s": round(base, 1), "ratio": round(base / wall, 1), "binning_max_rel_diff": round(rel, 4),
            "target_s": 0.15}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--knox-events", type=int, default=20_000)
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    ws = big_workspace(args.rows)
    print(f"workspace: {len(ws.frames['offenses']):,} offenses ({time.perf_counter() - t:.1f} s)")
    out = {"rows": len(ws.frames["offenses"])}
    out["kde"] = bench_kde(ws, 500, max(args.runs, 5), 2_000)
    out["gi"] = bench_gi(ws, 100_000, max(args.runs, 7), 1)
    out["knox"] = bench_knox(ws, args.knox_events, args.permutations, args.runs, 3_000)
    out["load"] = [round(v, 2) for v in os.getloadavg()]
    out["cpus"] = os.cpu_count()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""What-if engine and map benchmark.

1. A city of 1,000,000 located incidents (every one inside a CompStat window, so every one is indexed), a
   50-vertex corridor, and 1,000 random vertex moves of 20-300 m. Each move is timed through the whole engine path
   (validity check, incremental counts, area, every figure); then the same shape is recounted by a full
   ``shapely.contains_xy`` scan + histogram (the baseline) and the counts are compared.
2. The first render of a 200,000-point map in the application's MapView (offscreen): page build, load, first draw;
   and the size of its HTML.

    python benchmarks/whatif_bench.py [--moves 1000] [--points 1000000] [--map-points 200000] [--no-map]

The last line printed is JSON: ours_s (median per move), p95_s, baseline_s (median full scan per move), ratio,
and the map's first render time (map_render_s) and HTML size (map_html_bytes).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)

from workstation.engine import geometry as geo  # noqa: E402
from workstation.whatif.engine import InvalidShape, build_whatif  # noqa: E402
from workstation.core.workspace import Area, Workspace  # noqa: E402

LON0, LAT0 = -87.95, 43.05
M_LON = 111_320.0 * math.cos(math.radians(LAT0))
M_LAT = 110_574.0
AS_OF = pd.Timestamp("2019-09-29")
CATEGORIES = np.array(["homicide", "rape", "robbery", "aggravated_assault", "burglary", "larceny_theft",
                       "motor_vehicle_theft", "arson"])
CATEGORY_SHARE = np.array([0.002, 0.01, 0.06, 0.12, 0.14, 0.52, 0.14, 0.008])


def xy(dx_m, dy_m):
    return LON0 + np.asarray(dx_m) / M_LON, LAT0 + np.asarray(dy_m) / M_LAT


def synthetic_city(n: int, seed: int = 42) -> Workspace:
    """A 16 km x 16 km city (~99 sq mi), seven districts, a 50-vertex corridor; incidents clustered round hot spots,
    dated within this year's and last year's year-to-date windows."""
    rng = np.random.default_rng(seed)
    import shapely

    half = 8000.0
    city = shapely.Polygon(np.column_stack(xy([-half, half, half, -half], [-half, -half, half, half])))
    ws = Workspace()
    ws.areas.append(Area("City", "city", city))
    cuts = np.linspace(-half, half, 8)
    for i in range(7):
        d = shapely.Polygon(np.column_stack(xy([cuts[i], cuts[i + 1], cuts[i + 1], cuts[i]],
                                                [-half, -half, half, half])))
        ws.areas.append(Area(str(i + 1), "district", d, population=85_000))
    # the corridor: a band 3.3 km long and 0.9 km wide along a gentle curve, 25 vertices on each side
    t = np.linspace(-1650, 1650, 25)
    mid = 400 * np.sin(t / 1650 * math.pi / 2)
    north = np.column_stack(xy(t, mid + 450))
    south = np.column_stack(xy(t[::-1], mid[::-1] - 450))
    ws.areas.append(Area("Corridor", "target_area", shapely.Polygon(np.vstack([north, south]))))
    # incidents: 60% round 12 hot spots (some in the corridor), 40% spread over the city
    n_hot = int(0.6 * n)
    hot = rng.uniform(-6000, 6000, (12, 2))
    hot[:3] = [[-1200, 300], [0, 0], [1300, 350]]
    which = rng.integers(0, 12, n_hot)
    pts = np.vstack([hot[which] + rng.normal(0, 600, (n_hot, 2)), rng.uniform(-half, half, (n - n_hot, 2))])
    lon, lat = xy(pts[:, 0], pts[:, 1])
    this_year = rng.random(n) < 0.5
    day = rng.integers(0, 272, n)                                   # Jan 1 .. Sep 29
    start = np.where(this_year, pd.Timestamp("2019-01-01").value, pd.Timestamp("2018-01-01").value)
    occurred = pd.to_datetime(start + day * 86_400_000_000_000 + rng.integers(0, 86_400, n) * 1_000_000_000)
    cat = CATEGORIES[rng.choice(len(CATEGORIES), n, p=CATEGORY_SHARE / CATEGORY_SHARE.sum())]
    ws.set_frame("offenses", pd.DataFrame({
        "record_id": np.char.add("R", np.arange(n).astype(str)),
        "incident_id": np.char.add("I", np.arange(n).astype(str)),
        "occurred": occurred, "category": cat, "firearm": rng.random(n) < 0.2, "lon": lon, "lat": lat,
        "load_id": 1}))
    return ws


def bench_moves(ws: Workspace, moves: int, seed: int = 7) -> dict:
    import shapely

    t0 = time.perf_counter()
    eng = build_whatif(ws, AS_OF, ["part1_violent", "firearm_violent_crime", "part1_property", "part1_total",
                                   "robbery", "aggravated_assault", "burglary"])
    build_s = time.perf_counter() - t0
    eng.set_shape(ws.area("Corridor").geometry)
    layer = eng.layer
    rng = np.random.default_rng(seed)
    ours, base, refused, mismatches = [], [], 0, 0
    shapes = []
    # pass 1: the moves, timed back to back as a drag makes them
    for _ in range(moves):
        ring = eng.shape[0][0]
        i = int(rng.integers(0, len(ring)))
        d, ang = rng.uniform(20, 300), rng.uniform(0, 2 * math.pi)
        lon = ring[i][0] + d * math.cos(ang) / M_LON
        lat = ring[i][1] + d * math.sin(ang) / M_LAT
        t = time.perf_counter()
        try:
            eng.move_vertex(0, 0, i, lon, lat)
        except InvalidShape:
            refused += 1
        ours.append(time.perf_counter() - t)
        shapes.append((eng.geometry, layer.hist.copy()))
    # pass 2: the baseline, a full point-in-polygon scan of every point and the same histogram, for every shape;
    # and the check that the incremental counts equal it
    for geom, hist_ours in shapes:
        t = time.perf_counter()
        inside = shapely.contains_xy(geom, layer.lon, layer.lat)
        hist = np.bincount(layer.code[inside], minlength=layer.n_codes)
        base.append(time.perf_counter() - t)
        if not np.array_equal(hist.astype(float), hist_ours):
            mismatches += 1
    ours_a, base_a = np.array(ours), np.array(base)
    return {"points": int(layer.index.n), "moves": moves, "refused": refused, "mismatches": mismatches,
            "build_s": round(build_s, 3), "ours_s": float(np.median(ours_a)), "p95_s": float(np.percentile(ours_a, 95)),
            "baseline_s": float(np.median(base_a)), "ratio": float(np.median(base_a) / np.median(ours_a)),
            "area_sq_mi": round(eng.figures().area_sq_mi, 3)}


def bench_map(n_points: int) -> dict:
    from ui.map.scheme import register_scheme

    register_scheme()
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ui.map.view import MapView, delete_now
    from workstation.maps import page as maps

    app = QApplication.instance() or QApplication([])
    ws = synthetic_city(n_points, seed=3)
    view = MapView()
    view.resize(1200, 800)
    view.show()
    t0 = time.perf_counter()
    page = maps.build_map(ws, maps.MapOptions(as_of=AS_OF, measure="part1_total", window="all", bridge=True,
                                              editor=True))
    build_s = time.perf_counter() - t0
    view.show_html(page.html)
    drawn = None
    while time.perf_counter() - t0 < 60:
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
        if not view.loading and view.eval_js("typeof PSP !== 'undefined' && typeof PSP.lastDrawMs === 'number'"):
            drawn = time.perf_counter() - t0
            break
    draw_ms = view.eval_js("PSP.lastDrawMs")
    out = {"map_points": page.n_points, "map_html_bytes": page.size_bytes, "map_build_s": round(build_s, 3),
           "map_render_s": None if drawn is None else round(drawn, 3),
           "map_redraw_ms": None if draw_ms is None else round(float(draw_ms), 1),
           "map_blocked_requests": len(view.interceptor.blocked)}
    delete_now(view)
    del app
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moves", type=int, default=1000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--map-points", type=int, default=200_000)
    ap.add_argument("--no-map", action="store_true")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    ws = synthetic_city(args.points)
    print(f"city: {args.points:,} incidents, {geo.area_sq_miles(ws.city.geometry):.1f} sq mi, built in "
          f"{time.perf_counter() - t:.1f} s", flush=True)
    res = bench_moves(ws, args.moves)
    print(f"engine: {res['points']:,} points indexed in {res['build_s']} s; {res['moves']} moves "
          f"({res['refused']} refused as self-crossing), {res['mismatches']} count mismatches against a full "
          f"recount", flush=True)
    print(f"per move: median {1000 * res['ours_s']:.3f} ms, p95 {1000 * res['p95_s']:.3f} ms; full contains_xy "
          f"{1000 * res['baseline_s']:.1f} ms; {res['ratio']:.0f}x", flush=True)
    if not args.no_map:
        res.update(bench_map(args.map_points))
        print(f"map: {res['map_points']:,} points, {res['map_html_bytes'] / 1e6:.2f} MB of HTML, built in "
              f"{res['map_build_s']} s, first drawn after {res['map_render_s']} s (redraw {res['map_redraw_ms']} ms);"
              f" {res['map_blocked_requests']} blocked requests", flush=True)
    print(json.dumps(res))
    return 0 if res["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

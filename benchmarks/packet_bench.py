"""Printed maps and the meeting packet on the demo workspace, each against a baseline in the same run.

- map_s: one map (citywide; then each target area), median over runs: matplotlib Agg with the district basemap,
  streets, records, legend, scale bar and north arrow, PNG at 200 dpi;
  map_baseline_s: a bare matplotlib scatter of the same located records saved as a PNG of the same size and dpi;
- packet_s: the meeting packet from a computed plan (reportlab layout, trend charts, maps embedded), median;
  packet_baseline_s: the workbook (xlsx) written from the same plan (write_workbook + save), the other consumer of
  the plan; ratio: packet_s / packet_baseline_s;
- plan_s: the analysis both share (export_context + plan_workbook, which draws the workbook's maps), once.

Last line: JSON {"map_s", "map_baseline_s", "map_ratio", "area_map_s", "packet_s", "packet_baseline_s", "ratio",
"plan_s", "pages", "load_avg"}.
"""
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import bench_env  # noqa: F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)

from workstation.demo.records import build_demo  # noqa: E402
from workstation.exports.packet import build_packet  # noqa: E402
from workstation.exports.workbook import export_context, plan_workbook, save_atomic, write_workbook  # noqa: E402
from workstation.maps import static  # noqa: E402
from workstation.maps.page import select_records  # noqa: E402

AS_OF = "2019-09-29"
RUNS = 3


def timed(fn, runs=RUNS):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def bare_scatter(ws, as_of):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xs, ys = [], []
    for m in static.MAP_MEASURES:
        df, _m, _l = select_records(ws, m, "ytd", as_of)
        xs.append(df["lon"].to_numpy(dtype=float))
        ys.append(df["lat"].to_numpy(dtype=float))
    fig = Figure(figsize=(6.75, 6.0), dpi=static.PRINT_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(np.concatenate(xs), np.concatenate(ys), s=10)
    fig.savefig(io.BytesIO(), format="png", dpi=static.PRINT_DPI)


def main():
    import datetime as dt

    ws = build_demo()
    as_of = dt.date.fromisoformat(AS_OF)
    static.citywide_map(ws, as_of)  # warm: the engine's indexes, matplotlib's font cache
    map_s = timed(lambda: static.citywide_map(ws, as_of))
    base_s = timed(lambda: bare_scatter(ws, as_of))
    area_s = timed(lambda: static.target_areas_map(ws, as_of, ["target_area:Center Street Corridor"]))
    t = time.perf_counter()
    ctx = export_context(ws, AS_OF)
    plans = plan_workbook(ctx)
    plan_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        pages = []
        packet_s = timed(lambda: pages.append(build_packet(ctx, plans, Path(tmp) / "p.pdf").pages))
        book_s = timed(lambda: save_atomic(write_workbook(ctx, plans), Path(tmp) / "b.xlsx"))
    res = {"map_s": round(map_s, 3), "map_baseline_s": round(base_s, 3), "map_ratio": round(map_s / base_s, 2),
           "area_map_s": round(area_s, 3), "packet_s": round(packet_s, 3), "packet_baseline_s": round(book_s, 3),
           "ratio": round(packet_s / book_s, 2), "plan_s": round(plan_s, 2), "pages": pages[-1],
           "load_avg": round(os.getloadavg()[0], 2)}
    print(f"citywide map {map_s:.2f} s (bare scatter {base_s:.2f} s, x{res['map_ratio']}); target-area map "
          f"{area_s:.2f} s; packet {packet_s:.2f} s, {pages[-1]} pages (workbook from the same plan {book_s:.2f} s, "
          f"x{res['ratio']}); plan {plan_s:.1f} s; load {res['load_avg']}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()

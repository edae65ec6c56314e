"""Reference layers benchmark: a city's street network on the map, and population while a boundary is dragged.

1. A street grid of 30,000 block segments (named streets, ~170 x 90 blocks of 100 m x 200 m) as a layer of a
   workspace, drawn by the application's MapView (offscreen): the page build, the first draw (page load to painted)
   and the redraw after each of 40 pans (the canvas layer's own time, PSP.layerDrawMs), at a low zoom (whole city:
   merged, simplified streets) and at street level (only the segments on screen). Baseline: the same 30,000 segments
   as one folium GeoJSON layer (Leaflet's own SVG renderer), first draw and redraw after the same pans.
2. Population per vertex move: 10,000 census blocks with populations, a 40-vertex target area, 500 vertex moves of
   20-300 m through the live engine's incremental areal weighting (``PopulationPolygons.loop``), against the full
   recomputation (``within``: clip every block the shape touches) of the same shape as the baseline; the two must
   agree.

    python benchmarks/layers_bench.py [--segments 30000] [--pans 40] [--moves 500] [--no-map]

The last line printed is JSON: first_draw_s, pan_redraw_ms (the layer's redraw, median, low zoom and street level),
pan_frame_ms (pan to the next painted frame, two animation frames later), the SVG baseline's, population move_ms
(median), full_ms (median) and their ratio.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LON0, LAT0 = -87.95, 43.05
M_LON = 111_320.0 * math.cos(math.radians(LAT0))
M_LAT = 110_574.0


def ll(dx, dy):
    return LON0 + np.asarray(dx) / M_LON, LAT0 + np.asarray(dy) / M_LAT


def street_workspace(n_segments: int):
    """A workspace with a city outline and a street layer of about ``n_segments`` segments."""
    import shapely

    from workstation.core.workspace import Area, Layer, Workspace, layer_frame

    # blocks of 100 m (east-west streets) x 200 m (north-south streets): nx * (ny + 1) + ny * (nx + 1) segments
    nx = int(math.sqrt(n_segments / 4))
    ny = int(n_segments / (2 * nx)) - 1
    segs, names = [], []
    for j in range(ny + 1):                       # east-west streets, every 100 m
        for i in range(nx):
            x0, y0 = ll(200 * i, 100 * j)
            x1, y1 = ll(200 * (i + 1), 100 * j)
            segs.append(shapely.LineString([(x0, y0), (x1, y1)]))
            names.append(f"W STREET {j}")
    for i in range(nx + 1):                       # north-south streets, every 200 m
        for j in range(ny):
            x0, y0 = ll(200 * i, 100 * j)
            x1, y1 = ll(200 * i, 100 * (j + 1))
            segs.append(shapely.LineString([(x0, y0), (x1, y1)]))
            names.append(f"N {i}TH ST")
    segs, names = segs[:n_segments], names[:n_segments]
    ws = Workspace()
    cx, cy = ll([0, 200 * nx, 200 * nx, 0], [0, 0, 100 * ny, 100 * ny])
    ws.areas.append(Area("City", "city", shapely.Polygon(np.column_stack([cx, cy]))))
    ws.layers.append(Layer("Streets", "line", layer_frame(segs, names), source="bench",
                           style={"visible": True, "colour": "#8c8c8c", "width": 1.0, "labels": True,
                                  "basemap": True}))
    return ws, segs


def map_bench(n_segments: int, pans: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    from PySide6.QtWidgets import QApplication

    from ui.map.view import MapView, delete_now
    from workstation.maps import page as maps

    app = QApplication.instance() or QApplication(sys.argv)  # noqa: F841
    ws, segs = street_workspace(n_segments)
    opts = maps.MapOptions(points=False, choropleth=None)

    from PySide6.QtCore import QEventLoop, QTimer

    def pump(ms: int) -> None:
        pause = QEventLoop()
        QTimer.singleShot(ms, pause.quit)
        pause.exec()

    def pan_times(view, key: str, zoom: float) -> tuple[list[float], list[float]]:
        """(the layer's redraw time per pan, pan to the next painted frame) in ms."""
        view.eval_js(f"PSP.map.setZoom({zoom}); true")
        pump(500)
        draw, frame = [], []
        for k in range(pans):
            dx, dy = (120, 0) if k % 4 == 0 else (0, 90) if k % 4 == 1 else (-120, 0) if k % 4 == 2 else (0, -90)
            ms = view.eval_js(
                f"(function(){{PSP.panFrameMs = null; var t=performance.now();"
                f" PSP.map.panBy([{dx},{dy}], {{animate:false}}); var d = performance.now() - t;"
                f" requestAnimationFrame(function(){{ requestAnimationFrame(function(){{"
                f" PSP.panFrameMs = performance.now() - t; }}); }});"
                f" return {key} === null ? d : {key};}})()")
            draw.append(float(ms))
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                f = view.eval_js("PSP.panFrameMs === null ? -1 : PSP.panFrameMs")
                if isinstance(f, (int, float)) and f >= 0:
                    frame.append(float(f))
                    break
                pump(5)
        return draw, frame

    def first_draw(html: str) -> tuple[MapView, float]:
        view = MapView()
        view.resize(1280, 800)
        view.show()
        t0 = time.perf_counter()
        view.show_html(html)
        ok = view.wait_loaded(60000)
        if not ok:
            raise SystemExit("the map page did not load")
        return view, time.perf_counter() - t0

    t0 = time.perf_counter()
    page = maps.build_map(ws, opts)
    build_s = time.perf_counter() - t0
    view, load_s = first_draw(page.html)
    drawn = view.eval_js("PSP.vectorLayers.Streets._drawnParts")
    low, low_frame = pan_times(view, "PSP.layerDrawMs.Streets", 12)
    street, street_frame = pan_times(view, "PSP.layerDrawMs.Streets", 16)
    delete_now(view)

    # baseline: the same segments as one folium GeoJSON layer (SVG paths), timed by the browser around the pan
    import shapely

    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(g))} for g in segs]}
    t0 = time.perf_counter()
    ws_plain = type(ws)()
    ws_plain.areas = ws.areas
    base_page = maps.build_map(ws_plain, opts)
    m_html = base_page.html
    # the GeoJSON layer's script, added after the map is made (the page's map variable is PSP.map)
    gj_js = f"<script>window.addEventListener('load', function(){{ L.geoJSON({json.dumps(fc)}, " \
            f"{{style: {{color: '#8c8c8c', weight: 1}}}}).addTo(PSP.map); PSP.svgReady = true; }});</script>"
    base_html = m_html.replace("</body>", gj_js + "</body>")
    base_build_s = time.perf_counter() - t0
    view, base_load_s = first_draw(base_html)
    deadline = time.perf_counter() + 60
    while view.eval_js("!!PSP.svgReady") is not True and time.perf_counter() < deadline:
        pump(50)
    base_load_s = time.perf_counter() - t0 - base_build_s
    base_low, base_frame = pan_times(view, "null", 12)
    delete_now(view)
    return {
        "segments": len(segs), "page_build_s": build_s, "first_draw_s": build_s + load_s, "page_load_s": load_s,
        "parts_drawn_first": drawn, "html_bytes": len(page.html),
        "pan_redraw_ms_low_zoom": float(np.median(low)), "pan_redraw_ms_low_zoom_p95": float(np.percentile(low, 95)),
        "pan_redraw_ms_street_level": float(np.median(street)),
        "pan_redraw_ms_street_level_p95": float(np.percentile(street, 95)),
        "pan_frame_ms_low_zoom": float(np.median(low_frame)), "pan_frame_ms_street_level": float(np.median(street_frame)),
        "svg_baseline_first_draw_s": base_build_s + base_load_s, "svg_baseline_pan_ms": float(np.median(base_low)),
        "svg_baseline_pan_frame_ms": float(np.median(base_frame)),
    }


def population_bench(moves: int, seed: int = 7) -> dict:
    import shapely

    from workstation.engine.population import PopulationPolygons

    rng = np.random.default_rng(seed)
    # 100 x 100 blocks of 120 m, populations 0-400
    xs = np.arange(100) * 120.0
    bx, by = np.meshgrid(xs, xs)
    bx, by = bx.ravel(), by.ravel()
    x0, y0 = ll(bx, by)
    x1, y1 = ll(bx + 120, by + 120)
    blocks = shapely.box(x0, y0, x1, y1)
    pops = rng.integers(0, 400, blocks.size).astype(float)
    model = PopulationPolygons(blocks, pops)
    # a 40-vertex ellipse of 3 km x 1.2 km in the middle
    t = np.linspace(0, 2 * np.pi, 41)[:-1]
    ring = np.column_stack(ll(6000 + 1500 * np.cos(t), 6000 + 600 * np.sin(t)))
    total = model.within(shapely.Polygon(ring))
    inc, full = [], []
    for _ in range(moves):
        i = int(rng.integers(0, len(ring)))
        step = rng.uniform(20, 300)
        ang = rng.uniform(0, 2 * np.pi)
        new = ring.copy()
        new[i] = (ring[i, 0] + step * np.cos(ang) / M_LON, ring[i, 1] + step * np.sin(ang) / M_LAT)
        poly = shapely.Polygon(new)
        if not poly.is_valid:
            continue
        prev, old, nxt = ring[i - 1], ring[i], ring[(i + 1) % len(ring)]
        s = time.perf_counter()
        delta = model.loop([prev, new[i], nxt, old])
        inc.append(time.perf_counter() - s)
        sign = 1.0 if shapely.Polygon(ring).exterior.is_ccw else -1.0
        total += sign * delta
        s = time.perf_counter()
        ref = model.within(poly)
        full.append(time.perf_counter() - s)
        if abs(total - ref) > 1e-6 * max(1.0, ref):
            raise SystemExit(f"incremental population {total} != full {ref}")
        ring = new
    return {"blocks": int(blocks.size), "moves": len(inc), "move_ms": 1000 * float(np.median(inc)),
            "move_ms_p95": 1000 * float(np.percentile(inc, 95)), "full_ms": 1000 * float(np.median(full)),
            "ratio_full_over_move": float(np.median(full) / np.median(inc))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=30_000)
    ap.add_argument("--pans", type=int, default=40)
    ap.add_argument("--moves", type=int, default=500)
    ap.add_argument("--no-map", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    out = {"load_avg_1min": load}
    pop = population_bench(args.moves)
    print(f"population: {pop['blocks']:,} blocks, {pop['moves']} vertex moves: {pop['move_ms']:.2f} ms per move "
          f"(p95 {pop['move_ms_p95']:.2f}) against {pop['full_ms']:.2f} ms for a full recompute "
          f"({pop['ratio_full_over_move']:.1f}x)")
    out.update({f"population_{k}": v for k, v in pop.items()})
    if not args.no_map:
        mp = map_bench(args.segments, args.pans)
        print(f"map: {mp['segments']:,} street segments; page build {mp['page_build_s']:.2f} s, first draw "
              f"{mp['first_draw_s']:.2f} s; redraw after a pan {mp['pan_redraw_ms_low_zoom']:.1f} ms zoomed out "
              f"(p95 {mp['pan_redraw_ms_low_zoom_p95']:.1f}), {mp['pan_redraw_ms_street_level']:.1f} ms at street "
              f"level (p95 {mp['pan_redraw_ms_street_level_p95']:.1f}); pan to painted frame "
              f"{mp['pan_frame_ms_low_zoom']:.1f} / {mp['pan_frame_ms_street_level']:.1f} ms; SVG baseline: first "
              f"draw {mp['svg_baseline_first_draw_s']:.2f} s, pan {mp['svg_baseline_pan_ms']:.1f} ms, to painted "
              f"frame {mp['svg_baseline_pan_frame_ms']:.1f} ms")
        out.update(mp)
        out["ratio_svg_pan_frame_over_ours"] = (mp["svg_baseline_pan_frame_ms"]
                                                / max(mp["pan_frame_ms_low_zoom"], 1e-9))
    print(json.dumps(out))


if __name__ == "__main__":
    main()

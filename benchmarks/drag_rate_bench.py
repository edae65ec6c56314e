"""Drag rate: does the map tab's live panel keep up while a vertex of a boundary is dragged with the mouse?

The application's own MapPanel (offscreen) on the demo workspace, editing the Center Street Corridor. One vertex is
pressed with the mouse and moved in a small circle by synthetic mouse events on the map view's focus proxy
(``QTest.mousePress/mouseMove/mouseRelease``, as tests/ui/test_map_panel.py does), at 60 moves a second for
``--seconds`` seconds, then released. Counted during the drag:

- moves_per_s: mouse moves delivered;
- messages_per_s: shapes the page sent and Python answered (one in flight; newer shapes replace unsent ones);
- updates_per_s: side-panel repaints (``MapPanel.figures_shown``: the figures painted; the panel repaints at most
  every PANEL_REFRESH_MS). The goal is at least 25 a second.

Per update, median_update_ms is the median time Python spends answering one message (JSON, engine update, every
figure) plus the median time to paint the side panel (median_engine_ms: the incremental engine's part of the
answer); ``baseline_s`` is one full recount of the same shape by ``shapely.contains_xy`` over every point (what the
engine's part would cost without the incremental update); ``ratio`` = baseline_s / ours_s. The baseline runs after
the drag on an idle machine, so ``engine_idle_s`` replays the drag's shapes through the engine the same way and
``engine_ratio`` compares like with like.

    python benchmarks/drag_rate_bench.py [--seconds 3] [--hz 60] [--radius 14]

The last line printed is JSON: updates_per_s, moves_per_s, median_update_ms, ours_s, baseline_s, ratio (and more).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)


def demo_version() -> str:
    import hashlib

    h = hashlib.sha1()
    for f in sorted((ROOT / "workstation" / "demo").glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:10]


def demo_workspace(cache: Path):
    from workstation.demo import records as demo
    from workstation.core.workspace import Workspace

    if cache.exists():
        return Workspace.open(cache)
    ws = demo.build_demo()
    ws.save(cache)
    return ws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--hz", type=float, default=60.0)
    ap.add_argument("--radius", type=float, default=14.0, help="radius of the circle the mouse draws, in pixels")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / f"psp_drag_bench_demo_{demo_version()}.psw"),
                    help="the demo workspace, built once (named by a hash of the demo's code, so a change rebuilds)")
    args = ap.parse_args()
    from ui.map.scheme import register_scheme

    register_scheme()
    from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from ui.map.panel import MapPanel
    from ui.map.view import delete_now
    from ui.state import AppState
    from workstation.demo.records import CORRIDOR

    t0 = time.perf_counter()
    ws = demo_workspace(Path(args.cache))
    print(f"demo workspace: {sum(len(df) for df in ws.frames.values()):,} records ({time.perf_counter() - t0:.1f} s)")

    def wait(cond, timeout_s=30.0, step_ms=20):
        end = time.perf_counter() + timeout_s
        while time.perf_counter() < end:
            if cond():
                return True
            loop = QEventLoop()
            QTimer.singleShot(step_ms, loop.quit)
            loop.exec()
        raise TimeoutError("the map did not get ready in time")

    state = AppState(ws)
    panel = MapPanel(state)
    panel.resize(1366, 700)
    panel.show()
    key = f"target_area:{CORRIDOR}"
    state.set_area(key)
    wait(lambda: panel.editing_key == key and panel.last_page is not None and not panel._rebuild_timer.isActive()
         and not panel.building
         and not panel.view.loading)
    view = panel.view
    wait(lambda: view.eval_js("!!(window.PSP && PSP.ready && PSP.bridge && PSP.editor.layer && "
                              "PSP.editor.layer.editing.enabled())") is True)
    wait(lambda: panel.figures_panel.figures is not None)
    engine = panel.editor.engine                 # the same object for the whole drag (the as-of date is fixed)
    print(f"engine: {engine.layer.index.n:,} located records in the CompStat windows; corridor of "
          f"{engine.vertex_count} corners")

    # the vertex farthest north-east on screen that is well inside the view
    ring = panel.editor.shape[0][0]
    pts = json.loads(view.eval_js("JSON.stringify(" + json.dumps([[lat, lon] for lon, lat in ring])
                                  + ".map(function (ll) { return PSP.map.latLngToContainerPoint(ll); }))"))
    w, h = view.width(), view.height()
    inside = [i for i, p in enumerate(pts) if 60 < p["x"] < w - 60 and 60 < p["y"] < h - 60]
    k = max(inside, key=lambda i: pts[i]["x"] - pts[i]["y"])
    cx, cy = round(pts[k]["x"]), round(pts[k]["y"])
    target = view.focusProxy()

    painted: list[float] = []
    paint_ms: list[float] = []
    answer_ms: list[float] = []
    answered: list[float] = []
    paint = panel.figures_panel.show_figures

    def timed_paint(fig, title=None):
        s = time.perf_counter()
        paint(fig, title)
        paint_ms.append(1000 * (time.perf_counter() - s))

    panel.figures_panel.show_figures = timed_paint
    panel.figures_shown.connect(lambda: painted.append(time.perf_counter()))
    on_shape = view.bridge.on_shape

    def timed_answer(msg):
        s = time.perf_counter()
        out = on_shape(msg)
        answer_ms.append(1000 * (time.perf_counter() - s))
        answered.append(time.perf_counter())
        return out

    view.bridge.on_shape = timed_answer
    engine_ms: list[float] = []
    update_shape = engine.update_shape

    seen_shapes: list = []

    def timed_engine(shape):
        seen_shapes.append(shape)
        s = time.perf_counter()
        out = update_shape(shape)
        engine_ms.append(1000 * (time.perf_counter() - s))
        return out

    engine.update_shape = timed_engine

    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(cx, cy))
    moves: list[float] = []
    period_ms = 1000.0 / args.hz
    start = time.perf_counter()

    def move():
        t = time.perf_counter() - start
        if t >= args.seconds:
            timer.stop()
            done.quit()
            return
        # a circle: every position is new, and the ring never folds over itself
        a = 2 * math.pi * t / 1.5
        QTest.mouseMove(target, QPoint(cx + round(args.radius * (math.cos(a) - 1)),
                                       cy + round(args.radius * math.sin(a))))
        moves.append(time.perf_counter())

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(int(round(period_ms)))
    timer.timeout.connect(move)
    done = QEventLoop()
    timer.start()
    done.exec()
    end = time.perf_counter()
    last = moves[-1] if moves else end
    QTest.mouseRelease(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(cx + round(args.radius * (math.cos(2 * math.pi * (last - start) / 1.5) - 1)),
                              cy + round(args.radius * math.sin(2 * math.pi * (last - start) / 1.5))))
    wait(lambda: len(panel.editor.stack) == 1, 15)
    wait(lambda: view.eval_js("!PSP.editor.inFlight && !PSP.editor.pending") is True, 15)
    import numpy as np

    exact = bool(np.array_equal(engine.counts(), engine.full_counts()))
    moved = panel.editor.shape[0][0][k] != ring[k]

    span = end - start
    in_drag = [t for t in painted if start <= t <= end]
    msgs = [t for t in answered if start <= t <= end]
    gaps = np.diff(in_drag) * 1000 if len(in_drag) > 1 else np.array([np.nan])

    geom = engine.geometry
    base = []
    for _ in range(5):
        s = time.perf_counter()
        engine.full_counts(geom)
        base.append(time.perf_counter() - s)
    baseline_s = statistics.median(base)
    # like for like: the shapes of the drag replayed through the engine now, with the machine as idle as for the
    # baseline (during the drag the page's renderer competes for the two cores)
    engine.update_shape = update_shape
    final = engine.shape
    replay = []
    if seen_shapes:
        engine.set_shape(seen_shapes[0])
        for shp in seen_shapes[1:]:
            s = time.perf_counter()
            try:
                engine.update_shape(shp)
            except Exception:  # noqa: BLE001 - a refused (self-crossing) position costs what it costs
                pass
            replay.append(time.perf_counter() - s)
        engine.set_shape(final)
    engine_idle_s = statistics.median(replay) if replay else float("nan")
    med_answer = statistics.median(answer_ms) if answer_ms else float("nan")
    med_paint = statistics.median(paint_ms) if paint_ms else float("nan")
    median_update_ms = med_answer + med_paint
    ours_s = median_update_ms / 1000
    out = {
        "updates_per_s": round(len(in_drag) / span, 2),
        "moves_per_s": round(len(moves) / span, 2),
        "messages_per_s": round(len(msgs) / span, 2),
        "median_update_ms": round(median_update_ms, 3),
        "median_answer_ms": round(med_answer, 3),
        "median_paint_ms": round(med_paint, 3),
        "median_engine_ms": round(statistics.median(engine_ms), 3) if engine_ms else None,
        "p95_gap_between_updates_ms": round(float(np.nanpercentile(gaps, 95)), 1),
        "ours_s": round(ours_s, 6),
        "baseline_s": round(baseline_s, 6),
        "ratio": round(baseline_s / ours_s, 1) if ours_s else None,
        "engine_idle_s": round(engine_idle_s, 6),
        "engine_ratio": round(baseline_s / engine_idle_s, 1) if replay else None,
        "drag_s": round(span, 2),
        "points": int(engine.layer.index.n),
        "vertex_moved": bool(moved),
        "final_counts_equal_full_recount": exact,
    }
    print(f"{len(moves)} mouse moves in {span:.2f} s; {len(msgs)} shapes answered; {len(in_drag)} panel updates; "
          f"update = answer {med_answer:.2f} ms + paint {med_paint:.2f} ms (medians); full recount "
          f"{1000 * baseline_s:.1f} ms")
    panel.shutdown()
    delete_now(panel)
    app.processEvents()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

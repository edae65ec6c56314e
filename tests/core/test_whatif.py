"""The what-if engine: incremental counts equal a full recompute; figures of a hand-built city are exact."""
import math

import numpy as np
import pandas as pd
import pytest
import shapely

from workstation.engine import geometry as geo
from workstation.whatif.engine import GridIndex, InvalidShape, MeasureSpec, WhatIf, build_whatif
from workstation.core.workspace import Area, Workspace

LAT0 = 43.05
M_LON = 111_320.0 * math.cos(math.radians(LAT0))
M_LAT = 110_574.0


def offset(lon, lat, dx_m, dy_m):
    return lon + dx_m / M_LON, lat + dy_m / M_LAT


def random_engine(rng, n=40_000, weights=False):
    lon = rng.uniform(-88.0, -87.9, n)
    lat = rng.uniform(43.0, 43.1, n)
    mb = rng.integers(1, 8, n).astype(np.uint64)          # three measures
    wb = rng.integers(1, 64, n).astype(np.uint64)         # six window slots
    w = rng.integers(1, 5, n).astype(float) if weights else None
    specs = [MeasureSpec("a", "A"), MeasureSpec("b", "B"), MeasureSpec("c", "C")]
    return WhatIf(lon, lat, mb, wb, specs, np.full((3, 6), 1000.0), weights=w, share_measure="a",
                  city_area_sq_mi=40.0, cell_m=150)


def ellipse(cx, cy, rx_m, ry_m, n):
    t = np.linspace(0, 2 * np.pi, n + 1)[:-1]
    return [offset(cx, cy, rx_m * math.cos(a), ry_m * math.sin(a)) for a in t]


@pytest.mark.parametrize("weights", [False, True])
def test_random_edits_match_full_recompute(weights):
    rng = np.random.default_rng(7)
    eng = random_engine(rng, weights=weights)
    outer = ellipse(-87.95, 43.05, 3000, 2000, 40)
    hole = ellipse(-87.95, 43.05, 600, 400, 8)
    eng.set_shape([[outer, hole]])
    assert np.array_equal(eng.counts(), eng.full_counts())
    kinds = {"move": 0, "insert": 0, "delete": 0, "refused": 0}
    for step in range(400):
        ring = int(rng.random() < 0.2)                      # sometimes edit the hole
        r = eng.shape[0][ring]
        i = int(rng.integers(0, len(r)))
        op = rng.choice(["move", "move", "move", "insert", "delete"])
        try:
            if op == "move":
                d, ang = rng.uniform(20, 300), rng.uniform(0, 2 * np.pi)
                eng.move_vertex(0, ring, i, *offset(*r[i], d * math.cos(ang), d * math.sin(ang)))
            elif op == "insert":
                a, b = r[i - 1], r[i]
                mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                eng.insert_vertex(0, ring, i, *offset(*mid, rng.uniform(-150, 150), rng.uniform(-150, 150)))
            else:
                eng.delete_vertex(0, ring, i)
            kinds[op] += 1
        except InvalidShape:
            kinds["refused"] += 1
        assert np.array_equal(eng.counts(), eng.full_counts()), f"step {step} ({op})"
    assert kinds["move"] > 150 and kinds["insert"] > 30 and kinds["delete"] > 30 and kinds["refused"] > 0
    # the area follows the shape exactly (geodesic)
    assert eng.figures().area_sq_mi == pytest.approx(geo.area_sq_miles(eng.geometry), rel=1e-9)


def test_self_crossing_move_is_refused_and_last_valid_shape_kept():
    rng = np.random.default_rng(3)
    eng = random_engine(rng, n=5000)
    sq = [(-87.98, 43.02), (-87.92, 43.02), (-87.92, 43.08), (-87.98, 43.08)]
    eng.set_shape([[sq]])
    before_counts = eng.counts().copy()
    before_shape = eng.shape
    with pytest.raises(InvalidShape, match="crosses itself"):
        eng.move_vertex(0, 0, 1, -88.00, 43.05)              # the SE corner dragged across the west edge
    assert eng.shape == before_shape and np.array_equal(eng.counts(), before_counts)
    with pytest.raises(InvalidShape, match="crosses itself"):
        eng.update_shape([[[sq[0], sq[2], sq[1], sq[3]]]])    # a bow tie handed in whole
    assert eng.shape == before_shape
    tri = [[sq[:3]]]
    eng.set_shape(tri)
    with pytest.raises(InvalidShape, match="three corners"):
        eng.delete_vertex(0, 0, 0)


def test_update_shape_recognises_the_edit():
    rng = np.random.default_rng(5)
    eng = random_engine(rng, n=5000)
    sq = [(-87.98, 43.02), (-87.92, 43.02), (-87.92, 43.08), (-87.98, 43.08)]
    eng.set_shape([[sq]])
    moved = [sq[0], (-87.915, 43.021), sq[2], sq[3]]
    assert eng.update_shape([[moved]])[0] == "move"
    inserted = moved[:2] + [(-87.91, 43.05)] + moved[2:]
    assert eng.update_shape([[inserted]])[0] == "insert"
    assert eng.update_shape([[inserted + [inserted[0]]]])[0] == "same"   # a closed ring is the same ring
    assert eng.update_shape([[moved]])[0] == "delete"
    shifted = [offset(x, y, 100, 50) for x, y in moved]
    kind, fig = eng.update_shape([[shifted]])
    assert kind == "full" and fig.vertices == 4
    assert np.array_equal(eng.counts(), eng.full_counts())


def test_grid_index_candidates_and_outliers():
    lon = np.array([-87.95, -87.95001, 10.0, -87.9])       # one wild outlier, clipped into a border cell
    lat = np.array([43.05, 43.05001, 0.0, 43.1])
    ix = GridIndex(lon, lat, 100.0, extent=(-88.0, 43.0, -87.9, 43.1))
    a = ix.to_uv(-87.951, 43.049)
    b = ix.to_uv(-87.949, 43.049)
    c = ix.to_uv(-87.95, 43.052)
    inside = sorted(ix.order[ix.in_triangle(a, b, c)].tolist())
    assert inside == [0, 1]
    # a triangle near the outlier's border cell finds it and tests it exactly (it is far outside: not found)
    assert ix.order[ix.rect(ix.ncols - 1, 0, ix.ncols - 1, 0)].tolist() == [2]


# ---------------------------------------------------------------------------------------------------------------------
def small_city() -> Workspace:
    """A 4 km x 4 km city of two districts, a target area of 1 km x 1 km, offenses and shootings at known places."""
    ws = Workspace()
    x0, y0 = -87.95, 43.03
    box = lambda dx0, dy0, dx1, dy1: shapely.Polygon(
        [offset(x0, y0, dx0, dy0), offset(x0, y0, dx1, dy0), offset(x0, y0, dx1, dy1), offset(x0, y0, dx0, dy1)])
    ws.areas = [
        Area("City", "city", box(0, 0, 4000, 4000)),
        Area("1", "district", box(0, 0, 2000, 4000), population=20_000),
        Area("2", "district", box(2000, 0, 4000, 4000), population=60_000),
        Area("Corridor", "target_area", box(1500, 1500, 2500, 2500)),
    ]
    as_of = pd.Timestamp("2019-09-29")
    rows = []

    def add(cat, dx, dy, when, firearm=False, n=1, located=True):
        for _ in range(n):
            lon, lat = offset(x0, y0, dx, dy) if located else (np.nan, np.nan)
            rows.append(dict(record_id=f"r{len(rows)}", incident_id=f"i{len(rows)}", occurred=pd.Timestamp(when),
                             category=cat, firearm=firearm, lon=lon, lat=lat, load_id=1))

    # inside the corridor: this year 6 robberies (2 in the last 28 days), 3 burglaries; last year 4 robberies
    add("robbery", 1800, 1900, "2019-03-10", n=4)
    add("robbery", 2200, 2100, "2019-09-24", firearm=True, n=2)
    add("burglary", 2400, 2400, "2019-05-01", n=3)
    add("robbery", 1600, 2300, "2018-04-01", n=4)
    # outside the corridor: 10 robberies this year, 5 aggravated assaults; one robbery with no location
    add("robbery", 500, 500, "2019-02-01", n=10)
    add("aggravated_assault", 3500, 3500, "2019-07-01", n=5)
    add("robbery", 0, 0, "2019-06-01", located=False)
    # too old for any window
    add("robbery", 2000, 2000, "2016-01-01", n=7)
    ws.set_frame("offenses", pd.DataFrame(rows))
    shootings = pd.DataFrame([
        dict(record_id="s1", incident_id="S1", occurred="2019-09-27", fatal=False, lon=offset(x0, y0, 2000, 2000)[0],
             lat=offset(x0, y0, 2000, 2000)[1], load_id=1),
        dict(record_id="s2", incident_id="S1", occurred="2019-09-27", fatal=False, lon=offset(x0, y0, 2000, 2000)[0],
             lat=offset(x0, y0, 2000, 2000)[1], load_id=1),   # a second victim of the same incident
    ])
    ws.set_frame("shootings", shootings)
    ws.meta["as_of_test"] = str(as_of.date())
    return ws


def test_figures_of_a_hand_built_city():
    ws = small_city()
    eng = build_whatif(ws, "2019-09-29", ["part1_violent", "robbery", "burglary", "firearm_violent_crime",
                                          "nonfatal_shooting_victims", "nonfatal_shooting_incidents"])
    fig = eng.set_shape(ws.area("Corridor").geometry)
    rob = fig.measure("robbery")
    assert (rob.window("ytd").current, rob.window("ytd").prior) == (6, 4)
    assert rob.window("ytd").change == pytest.approx(0.5)
    assert (rob.window("28d").current, rob.window("28d").prior) == (2, 0)
    assert rob.window("28d").change is None                   # zero base: undefined, never inf
    assert rob.window("wtd").current == 2                      # Sep 23-29 2019 is the as-of week (Mon-Sun)
    assert fig.measure("burglary").window("ytd").current == 3
    assert fig.measure("firearm_violent_crime").window("ytd").current == 2
    assert fig.measure("nonfatal_shooting_victims").window("ytd").current == 2
    assert fig.measure("nonfatal_shooting_incidents").window("ytd").current == 1
    # share of city violent crime: 6 of 6 + 10 + 5 + 1 (the unlocated robbery counts citywide) = 22
    assert (fig.n_area, fig.n_city) == (6, 22)
    assert fig.share_of_city_crime == pytest.approx(6 / 22)
    assert fig.area_sq_mi == pytest.approx(1e6 / geo.SQ_METRES_PER_SQ_MILE, rel=0.01)
    assert fig.share_of_city_area == pytest.approx(1 / 16, rel=0.01)
    assert fig.pai == pytest.approx((6 / 22) / fig.share_of_city_area)
    # population: the corridor is half in district 1 (20,000 over 8 km2) and half in district 2 (60,000 over 8 km2)
    # (areal weighting over the districts, exact but for the projection: 5,000 people)
    assert fig.population == pytest.approx(0.5 * 20_000 / 8 + 0.5 * 60_000 / 8, rel=1e-3)
    assert fig.population_source == "district density estimate"
    assert fig.population_note == "district density estimate: each district's population spread evenly over its area"

    # grow the corridor east by 1,600 m, one vertex at a time: the aggravated assaults at (3500, 3500) stay out
    # until the north-east corner passes them
    ring = list(eng.shape[0][0])
    ne = max(range(4), key=lambda k: ring[k][0] + ring[k][1])
    fig = eng.move_vertex(0, 0, ne, *offset(-87.95, 43.03, 3700, 3700))
    assert fig.measure("part1_violent").window("ytd").current == 6 + 5
    assert np.array_equal(eng.counts(), eng.full_counts())


def test_build_skips_empty_datasets_and_handles_no_data():
    ws = small_city()
    eng = build_whatif(ws, "2019-09-29")
    ids = [m.id for m in eng.measures]
    assert "shotspotter_activations" not in ids and "part1_violent" in ids and "nonfatal_shooting_victims" in ids
    empty = Workspace()
    eng = build_whatif(empty, None, ["part1_violent"])
    fig = eng.set_shape([[[(-87.9, 43.0), (-87.8, 43.0), (-87.8, 43.1)]]])
    assert fig.measure("part1_violent").window("ytd").current == 0 and fig.share_of_city_crime is None
    assert fig.population is None and fig.city_area_sq_mi is None


def test_boundary_editor_one_undo_step_per_drag_and_refusals():
    from workstation.core.commands import freeze_shape
    from workstation.whatif.engine import BoundaryEditor

    ws = small_city()
    eng = build_whatif(ws, "2019-09-29", ["robbery"])
    shown, panel = [], []
    ed = BoundaryEditor(eng, ws.area("Corridor").geometry, area_key="target_area:Corridor",
                        show_shape=shown.append, on_figures=lambda f, msg: panel.append((f, msg)))
    start = ed.shape
    ring = [list(p) for p in start[0][0]]
    ne = max(range(4), key=lambda k: ring[k][0] + ring[k][1])
    target = offset(-87.95, 43.03, 3700, 3700)

    def msg(kind, r, final=False):
        return {"kind": kind, "final": final, "shape": [[r]]}

    assert ed.handle(msg("start", ring))["kind"] == "same"
    for f in (0.25, 0.5, 1.0):                            # the drag, previewed step by step
        r = [list(p) for p in ring]
        r[ne] = [ring[ne][0] + f * (target[0] - ring[ne][0]), ring[ne][1] + f * (target[1] - ring[ne][1])]
        ans = ed.handle(msg("drag", r))
        assert ans["ok"] and ans["kind"] == "move"
    assert len(ed.stack) == 0                              # nothing recorded until the drag ends
    ans = ed.handle(msg("edit", r, final=True))
    assert len(ed.stack) == 1 and ed.stack.undo_label == "Undo move vertex"
    assert ans["figures"]["measures"]["robbery"]["ytd"] == [6, 4]
    moved = ed.shape

    # a self-crossing position during a drag is refused and the last valid shape stays; releasing there puts it back
    bow = [list(p) for p in moved[0][0]]
    bow[ne], bow[(ne + 1) % 4] = bow[(ne + 1) % 4], bow[ne]
    ans = ed.handle(msg("drag", bow))
    assert ans["refused"] and "crosses itself" in ans["message"] and "revert" not in ans
    assert panel[-1][1] and "crosses itself" in panel[-1][1]
    ans = ed.handle(msg("edit", bow, final=True))
    assert ans["revert"] and freeze_shape(ans["shape"]) == moved and ed.shape == moved
    assert len(ed.stack) == 1                              # nothing changed, nothing recorded

    # undo puts the official boundary back on the map and in the figures; redo brings the edit back
    ed.undo()
    assert ed.shape == start and shown[-1] == start
    assert ed.figures.measure("robbery").window("ytd").current == 6
    ed.redo()
    assert ed.shape == moved and shown[-1] == moved
    # while an undo is being applied, the view's echo is ignored
    ed.stack.applying = True
    assert ed.handle(msg("drag", ring))["ignored"]
    ed.stack.applying = False
    # a new shape drawn from scratch is one undoable step too
    ed.set_shape([[[offset(-87.95, 43.03, 100, 100), offset(-87.95, 43.03, 900, 100),
                    offset(-87.95, 43.03, 900, 900)]]], label="new shape")
    assert ed.stack.undo_label == "Undo new shape" and ed.figures.measure("robbery").window("ytd").current == 0
    ed.undo()
    assert ed.shape == moved


@pytest.mark.parametrize("rule", ["offense", "hierarchy"])
def test_live_figures_equal_the_compstat_engine(rule):
    from workstation.engine import periods
    from workstation.engine.analysis import Analysis

    ws = small_city()
    off = ws.frames["offenses"]
    # one incident in the corridor with a robbery and an aggravated assault: counted once under the hierarchy rule
    extra = off.iloc[[0, 0]].copy()
    extra["record_id"] = ["h1", "h2"]
    extra["incident_id"] = ["H", "H"]
    extra["category"] = ["aggravated_assault", "robbery"]
    ws.set_frame("offenses", pd.concat([off, extra], ignore_index=True))
    ws.meta["counting"] = rule
    ids = ["part1_violent", "robbery", "aggravated_assault", "nonfatal_shooting_incidents"]
    eng = build_whatif(ws, "2019-09-29", ids)
    fig = eng.set_shape(ws.area("Corridor").geometry)
    an = Analysis(ws)
    for mid in ids:
        for kind in ("wtd", "28d", "ytd"):
            w = periods.window(kind, "2019-09-29")
            live = fig.measure(mid).window(kind)
            assert live.current == an.count(mid, "target_area:Corridor", w), (mid, kind)
            # a year earlier is blank (None) when the records do not reach back to it, as on the CompStat grid
            known = an.covers(an.catalog.get(mid).dataset, w.shifted(1))
            prior = an.count(mid, "target_area:Corridor", w.shifted(1)) if known else None
            assert live.prior == prior, (mid, kind)
        assert fig.measure(mid).city[2] == an.count(mid, "citywide", periods.window("ytd", "2019-09-29"))
    assert fig.measure("part1_violent").window("ytd").current == (8 if rule == "offense" else 7)

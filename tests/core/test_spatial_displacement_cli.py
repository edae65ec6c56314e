"""Weighted displacement quotient (hand-computed examples, demo zones = independent point-in-polygon counts) and the
`main.py analyze ...` commands' exact output shapes."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from workstation.core.errors import UserError
from workstation.engine.analysis import analysis_for
from workstation.engine.areas import city_geometry
from workstation.engine.periods import custom
from workstation.reports.spatial import events as ev_mod
from workstation.reports.spatial.displacement import displacement, interpret, wdq_figures

ROOT = Path(__file__).resolve().parents[2]
CORRIDOR = "target_area:Center Street Corridor"


def test_wdq_hand_computed_examples():
    # A falls 100 -> 80, B rises 50 -> 60, C flat at 1000
    f = wdq_figures(100, 80, 50, 60, 1000, 1000)
    assert f["success_measure"] == pytest.approx(80 / 1000 - 100 / 1000)        # -0.02
    assert f["buffer_measure"] == pytest.approx(60 / 1000 - 50 / 1000)          # +0.01
    assert f["wdq"] == pytest.approx(-0.5)
    assert f["total_net_effect"] == pytest.approx((100 - 80) + (50 - 60))       # 10
    verdict, text = interpret(100, 80, 50, 60, 1000, 1000, f)
    assert verdict == "displacement" and "less than was prevented" in text
    # control falls 1000 -> 800: A and B fall with it
    f = wdq_figures(200, 100, 100, 50, 1000, 800)
    assert f["success_measure"] == pytest.approx(100 / 800 - 200 / 1000)        # -0.075
    assert f["buffer_measure"] == pytest.approx(50 / 800 - 100 / 1000)          # -0.0375
    assert f["wdq"] == pytest.approx(0.5)
    assert f["total_net_effect"] == pytest.approx((200 * 0.8 - 100) + (100 * 0.8 - 50))  # 60 + 30
    assert interpret(200, 100, 100, 50, 1000, 800, f)[0] == "diffusion"
    # displacement bigger than the gain
    f = wdq_figures(100, 90, 50, 80, 1000, 1000)
    assert f["wdq"] == pytest.approx(0.03 / -0.01)
    v, text = interpret(100, 90, 50, 80, 1000, 1000, f)
    assert v == "displacement" and "harmful" in text
    # A did not fall relative to C: the WDQ says nothing
    f = wdq_figures(100, 80, 50, 60, 1000, 800)
    assert f["success_measure"] == pytest.approx(0.0) and f["wdq"] is None
    v, text = interpret(100, 80, 50, 60, 1000, 800, f)
    assert v == "no success" and "says nothing" in text
    # an empty control period: undefined
    f = wdq_figures(10, 5, 4, 6, 0, 7)
    assert f["wdq"] is None and f["success_measure"] is None and f["total_net_effect"] is None
    v, text = interpret(10, 5, 4, 6, 0, 7, f)
    assert v == "undefined" and "no events in the before period" in text


def test_displacement_zones_on_the_demo(demo_ws):
    before, after = ("2014-01-01", "2015-12-31"), ("2016-01-01", "2017-12-31")
    res = displacement(demo_ws, CORRIDOR, "part1_violent", before, after)
    an = analysis_for(demo_ws)
    # the target's counts are the CompStat counts of the target area
    assert res.target["before"] == an.count("part1_violent", CORRIDOR, custom(*before))
    assert res.target["after"] == an.count("part1_violent", CORRIDOR, custom(*after))
    # independent zone counts: ring = buffer minus target (built here with shapely), control = city minus both
    crs = ev_mod.local_crs(demo_ws)
    a_ft = ev_mod.geometry_to_feet(demo_ws.area("Center Street Corridor", "target_area").geometry, crs)
    outer = a_ft.buffer(1320, quad_segs=16)
    city_ft = ev_mod.geometry_to_feet(city_geometry(demo_ws), crs)
    for label, (d0, d1) in (("before", before), ("after", after)):
        ev = ev_mod.select_events(demo_ws, "part1_violent", d0, d1)
        pts = shapely.points(ev.x_ft, ev.y_ft)
        a = shapely.contains(a_ft, pts)
        b = ~a & shapely.contains(outer, pts)
        c = ~a & ~b & shapely.contains(city_ft, pts)
        # projected-space membership can differ from lon/lat membership only for points within a hair of an edge
        assert abs(int(b.sum()) - res.buffer[label]) <= 2
        assert abs(int(c.sum()) - res.control[label]) <= 2
    f = wdq_figures(res.target["before"], res.target["after"], res.buffer["before"], res.buffer["after"],
                    res.control["before"], res.control["after"])
    assert res.wdq == pytest.approx(f["wdq"]) and res.total_net_effect == pytest.approx(f["total_net_effect"])
    # the demo's story: violence falls in the corridor after 2016 and some moves into the ring
    assert res.success_measure < 0 and res.verdict in ("displacement", "diffusion")
    # the ring is a ring: it touches the target but does not overlap it, and is about 1320 ft wide
    ring_ft = ev_mod.geometry_to_feet(res.buffer_geometry, crs)
    assert ring_ft.intersection(a_ft).area < 1e-3 * a_ft.area
    assert ring_ft.area == pytest.approx(outer.area - a_ft.area, rel=1e-3)
    json.dumps(res.to_json(), allow_nan=False)
    assert res.buffer_geojson()["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_displacement_for_a_drawn_boundary_and_a_control_district(demo_ws):
    before, after = ("2015-01-01", "2015-12-31"), ("2016-01-01", "2016-12-31")
    saved = displacement(demo_ws, CORRIDOR, "burglary", before, after)
    drawn = displacement(demo_ws, None, "burglary", before, after,
                         geometry=demo_ws.area("Center Street Corridor", "target_area").geometry)
    assert (drawn.target, drawn.buffer, drawn.control) == (saved.target, saved.buffer, saved.control)
    assert drawn.target_label == "Drawn boundary"
    ctrl = displacement(demo_ws, CORRIDOR, "burglary", before, after, control_key="district:3")
    assert ctrl.target == saved.target and ctrl.buffer == saved.buffer
    assert ctrl.control["before"] < saved.control["before"]
    assert "District 3" in ctrl.control_label


def test_displacement_bad_input(demo_ws):
    with pytest.raises(UserError, match="equal length"):
        displacement(demo_ws, CORRIDOR, "burglary", ("2015-01-01", "2015-06-30"), ("2016-01-01", "2016-12-31"))
    with pytest.raises(UserError, match="must end before"):
        displacement(demo_ws, CORRIDOR, "burglary", ("2016-01-01", "2016-12-31"), ("2015-01-01", "2015-12-31"))
    with pytest.raises(UserError, match="not the whole"):
        displacement(demo_ws, "citywide", "burglary", ("2015-01-01", "2015-12-31"), ("2016-01-01", "2016-12-31"))
    with pytest.raises(UserError, match="buffer width"):
        displacement(demo_ws, CORRIDOR, "burglary", ("2015-01-01", "2015-12-31"), ("2016-01-01", "2016-12-31"),
                     buffer_ft=0)
    with pytest.raises(ev_mod.AnalysisCancelled):
        displacement(demo_ws, CORRIDOR, "burglary", ("2015-01-01", "2015-12-31"), ("2016-01-01", "2016-12-31"),
                     cancelled=lambda: True)


# ---------------------------------------------------------------------------------------------------- the CLI
def run_cli(argv, capsys):
    from workstation.cli import main

    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_hotspots_geojson(demo_path, demo_ws, tmp_path, capsys):
    out = tmp_path / "cells.geojson"
    rc, stdout, err = run_cli(["analyze", "hotspots", "--workspace", str(demo_path), "--measure", "part1_violent",
                               "--from", "2016-01-01", "--to", "2016-12-31", "--area", "Center Street Corridor",
                               "--cell-ft", "300", "--distance-ft", "700", "--fdr", "--out", str(out)], capsys)
    assert rc == 0, err
    assert f"Wrote {out}" in stdout
    gj = json.loads(out.read_text(encoding="utf-8"))
    assert gj["type"] == "FeatureCollection" and gj["features"]
    for f in gj["features"]:
        assert set(f["properties"]) == {"row", "col", "count", "gi_z", "gi_p", "gi_bin", "density"}
        assert f["geometry"]["type"] == "Polygon"
        assert f["properties"]["gi_bin"] in range(-3, 4)
    # the cells' counts add up to the corridor's located events whose cell centre is inside the corridor
    ev = ev_mod.select_events(demo_ws, "part1_violent", "2016-01-01", "2016-12-31", CORRIDOR)
    total = sum(f["properties"]["count"] for f in gj["features"])
    assert 0.8 * len(ev) < total <= len(ev)


def test_cli_near_repeat_json_equals_brute_force(demo_path, demo_ws, tmp_path, capsys):
    out = tmp_path / "nr.json"
    rc, stdout, err = run_cli(["analyze", "near-repeat", "--workspace", str(demo_path), "--measure", "burglary",
                               "--from", "2018-01-01", "--to", "2018-06-30", "--area", "3", "--distance-ft", "300",
                               "--distance-bands", "3", "--time-days", "7", "--time-bands", "2",
                               "--permutations", "49", "--seed", "5", "--out", str(out)], capsys)
    assert rc == 0, err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert {"events", "permutations", "distance_bands", "time_bands", "observed", "expected", "knox_ratio",
            "p_value"} <= set(doc)
    assert doc["permutations"] == 49
    assert doc["distance_bands"] == ["Same location", "0 to 300 ft", "300 to 600 ft", "600 to 900 ft",
                                     "More than 900 ft"]
    assert doc["time_bands"] == ["0 to 7 days", "8 to 14 days", "More than 14 days"]
    for key in ("observed", "expected", "knox_ratio", "p_value"):
        assert len(doc[key]) == 5 and all(len(r) == 3 for r in doc[key])
    ev = ev_mod.select_events(demo_ws, "burglary", "2018-01-01", "2018-06-30", "district:3")
    assert doc["events"] == len(ev)
    iu = np.triu_indices(len(ev), 1)
    d = np.hypot(ev.x_ft[iu[0]] - ev.x_ft[iu[1]], ev.y_ft[iu[0]] - ev.y_ft[iu[1]])
    dd = np.abs(ev.days[iu[0]] - ev.days[iu[1]])
    rows = np.select([d == 0, d <= 300, d <= 600, d <= 900], [0, 1, 2, 3], 4)
    cols = np.select([dd <= 7, dd <= 14], [0, 1], 2)
    want = np.zeros((5, 3), dtype=int)
    np.add.at(want, (rows, cols), 1)
    assert doc["observed"] == want.tolist()
    assert all(0 < p <= 1 for r in doc["p_value"] for p in r)


def test_cli_displacement_json_last_line(demo_path):
    out = subprocess.run([sys.executable, "main.py", "analyze", "displacement", "--workspace", str(demo_path),
                          "--area", "Center Street Corridor", "--measure", "part1_violent",
                          "--before", "2014-01-01:2015-12-31", "--after", "2016-01-01:2017-12-31", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"target", "buffer", "control", "wdq", "success_measure", "buffer_measure", "total_net_effect",
            "interpretation"} <= set(doc)
    for zone in ("target", "buffer", "control"):
        assert set(doc[zone]) == {"before", "after"} and all(isinstance(v, int) for v in doc[zone].values())
    f = wdq_figures(doc["target"]["before"], doc["target"]["after"], doc["buffer"]["before"],
                    doc["buffer"]["after"], doc["control"]["before"], doc["control"]["after"])
    assert doc["wdq"] == pytest.approx(f["wdq"]) and doc["success_measure"] == pytest.approx(f["success_measure"])
    assert doc["interpretation"]


def test_cli_displacement_text_and_errors(demo_path, capsys):
    rc, stdout, err = run_cli(["analyze", "displacement", "--workspace", str(demo_path), "--area",
                               "Center Street Corridor", "--measure", "burglary", "--before", "2015-01-01:2015-12-31",
                               "--after", "2016-01-01:2016-12-31", "--control", "3", "--buffer-ft", "1000"], capsys)
    assert rc == 0, err
    assert "Buffer (1,000 ft)" in stdout and "WDQ" in stdout
    rc, stdout, err = run_cli(["analyze", "displacement", "--workspace", str(demo_path), "--area",
                               "Center Street Corridor", "--measure", "burglary", "--before", "2015-01-01",
                               "--after", "2016-01-01:2016-12-31"], capsys)
    assert rc == 2 and "--before" in err and "colon" in err
    rc, stdout, err = run_cli(["analyze", "hotspots", "--workspace", str(demo_path), "--measure", "burglary",
                               "--from", "2016-13-01", "--to", "2016-12-31", "--out", "x.geojson"], capsys)
    assert rc == 2 and "--from '2016-13-01' is not a date" in err
    rc, stdout, err = run_cli(["analyze", "near-repeat", "--workspace", str(demo_path), "--measure", "burglary",
                               "--from", "2016-01-01", "--to", "2016-12-31", "--distance-ft", "400",
                               "--distance-bands", "3", "--time-days", "7", "--time-bands", "2", "--area", "Nowhere",
                               "--out", "x.json"], capsys)
    assert rc == 2 and "no area named 'Nowhere'" in err


def test_main_lists_analyze():
    import main

    assert "analyze" in main.SUBCOMMANDS

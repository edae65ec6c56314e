"""Issue 9 item 8: `main.py info --workspace W --json` prints, as its last line, one JSON object:
{"datasets": {kind: {"records", "first", "as_of"}}, "areas": [{"name", "kind", "version", "sq_mi", "population",
"population_source"}]}. Expected values are computed here: dates from the frames, square miles on the WGS84
ellipsoid with pyproj's Geod, the density estimate by hand from the districts' figures."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from tests.conftest import ROOT
from workstation.core.workspace import Area, Workspace

SQ_M_PER_SQ_MI = 1609.344 ** 2
GEOD = Geod(ellps="WGS84")


def geodesic_sq_mi(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / SQ_M_PER_SQ_MI


D1 = shapely.box(-88.00, 43.00, -87.95, 43.10)
D2 = shapely.box(-87.95, 43.00, -87.90, 43.10)
EAST_STRIP = shapely.box(-87.96, 43.02, -87.92, 43.06)   # a fifth of it in district 1, the rest in district 2
CORRIDOR = shapely.box(-87.99, 43.07, -87.97, 43.09)


@pytest.fixture
def saved(tmp_path):
    ws = Workspace()
    ws.meta["city"] = "Gridton"
    n = 6
    ws.set_frame("offenses", pd.DataFrame({
        "record_id": [f"O{i}" for i in range(n)], "incident_id": [f"O{i}" for i in range(n)],
        "occurred": pd.to_datetime(["2018-03-04 10:00", "2019-01-01 00:05", "2017-11-30 23:59", "2019-06-02 12:00",
                                    "2018-08-08 08:08", "2019-06-01 09:00"]),
        "category": ["robbery"] * n, "lat": np.full(n, 43.05), "lon": np.full(n, -87.93), "load_id": 1}))
    ws.set_frame("shootings", pd.DataFrame({
        "record_id": ["S1", "S2"], "incident_id": ["S1", "S1"],
        "occurred": pd.to_datetime(["2019-02-02 02:02", "2019-02-02 02:02"]), "load_id": 1}))
    ws.put_area(Area("Gridton", "city", shapely.union_all([D1, D2])))
    ws.put_area(Area("1", "district", D1, population=10_000))
    d2 = Area("2", "district", D2, population=30_000)
    d2.version = 3
    ws.put_area(d2)
    ws.put_area(Area("East strip", "target_area", EAST_STRIP))
    ws.put_area(Area("Corridor", "target_area", CORRIDOR, population=5_000))
    ws.put_area(Area("Draft", "scenario", CORRIDOR.buffer(0.001), base="Corridor"))
    path = ws.save(tmp_path / "grid ton.psw")
    return ws, path


def run_info(path, *extra):
    out = subprocess.run([sys.executable, "main.py", "info", "--workspace", str(path), *extra], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_info_json_last_line(saved):
    ws, path = saved
    doc = json.loads(run_info(path, "--json").strip().splitlines()[-1])
    assert set(doc) >= {"datasets", "areas"}
    assert doc["datasets"]["offenses"] == {"records": 6, "first": "2017-11-30", "as_of": "2019-06-02"}
    assert doc["datasets"]["shootings"] == {"records": 2, "first": "2019-02-02", "as_of": "2019-02-02"}
    assert doc["datasets"]["calls"] == {"records": 0, "first": None, "as_of": None}
    by = {a["name"]: a for a in doc["areas"]}
    assert [a["kind"] for a in doc["areas"]] == ["city", "district", "district", "target_area", "target_area"]
    assert "Draft" not in by  # scenarios are drafts, not areas of the workspace
    assert set(by["1"]) == {"name", "kind", "version", "sq_mi", "population", "population_source"}
    for name, geom in (("Gridton", shapely.union_all([D1, D2])), ("1", D1), ("2", D2), ("East strip", EAST_STRIP),
                       ("Corridor", CORRIDOR)):
        assert by[name]["sq_mi"] == pytest.approx(geodesic_sq_mi(geom), rel=1e-3), name
    assert (by["2"]["version"], by["1"]["version"]) == (3, 1)
    # the city has no figure of its own: its districts' stated figures, summed, are still the boundary file's
    assert (by["Gridton"]["population"], by["Gridton"]["population_source"]) == (40_000, "boundary file")
    assert (by["1"]["population"], by["1"]["population_source"]) == (10_000, "boundary file")
    assert (by["Corridor"]["population"], by["Corridor"]["population_source"]) == (5_000, "boundary file")
    # no figure of its own: each district's population spread over its area, weighted by the share inside the strip
    share1 = geodesic_sq_mi(EAST_STRIP.intersection(D1)) / geodesic_sq_mi(D1)
    share2 = geodesic_sq_mi(EAST_STRIP.intersection(D2)) / geodesic_sq_mi(D2)
    assert by["East strip"]["population_source"] == "district density estimate"
    assert by["East strip"]["population"] == pytest.approx(10_000 * share1 + 30_000 * share2, abs=2)
    assert by["East strip"]["population"] == pytest.approx(8_000, rel=0.01)


def test_area_without_polygon_or_population(saved, tmp_path):
    ws, _ = saved
    ws.put_area(Area("7", "district", None, source="offenses.csv: district column"))
    path = ws.save(tmp_path / "with7.psw")
    doc = json.loads(run_info(path, "--json").strip().splitlines()[-1])
    d7 = next(a for a in doc["areas"] if a["name"] == "7")
    assert d7 == {"name": "7", "kind": "district", "version": 1, "sq_mi": None, "population": None,
                  "population_source": None}
    # one district without a figure: the city is estimated from the districts that have one
    city = next(a for a in doc["areas"] if a["kind"] == "city")
    assert (city["population"], city["population_source"]) == (40_000, "district density estimate")
    allowed = {None, "boundary file", "district density estimate"}
    assert {a["population_source"] for a in doc["areas"]} <= allowed


def test_human_output_stays(saved):
    _, path = saved
    out = run_info(path)
    assert "offenses" in out and "6 records, as of 2019-06-02" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out.strip().splitlines()[-1])


def test_demo_populations_come_from_its_census_layer(demo_ws, demo_path):
    doc = json.loads(run_info(demo_path, "--json").strip().splitlines()[-1])
    assert doc["datasets"]["offenses"] == {
        "records": len(demo_ws.frames["offenses"]), "first": f"{demo_ws.frames['offenses']['occurred'].min():%Y-%m-%d}",
        "as_of": f"{demo_ws.as_of('offenses'):%Y-%m-%d}"}
    kinds = [a["kind"] for a in doc["areas"]]
    assert kinds == [a.kind for a in demo_ws.areas if a.kind in ("city", "district", "target_area")]
    assert {a["population_source"] for a in doc["areas"]} == {"census layer Census blocks"}
    city = next(a for a in doc["areas"] if a["kind"] == "city")
    assert city["population"] == 594_833  # the blocks sum to the case study's city population
    districts = {a["name"]: a["population"] for a in doc["areas"] if a["kind"] == "district"}
    assert districts == {a.name: round(a.population) for a in demo_ws.districts}

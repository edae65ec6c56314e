"""Scenarios without Qt: rename and delete (the official boundary never changes), the side-by-side comparison against
the CompStat engine, GeoJSON out and back in (same polygon, same figures), refusals of bad files."""
import json

import pytest
import shapely

from tests.core.test_whatif import offset, small_city
from workstation.engine import geometry as geo
from workstation.engine import periods
from workstation.whatif import scenarios as sc
from workstation.engine.analysis import Analysis
from workstation.core.commands import freeze_shape
from workstation.core.errors import UserError

AS_OF = "2019-09-29"
X0, Y0 = -87.95, 43.03
CORRIDOR = "target_area:Corridor"


def east_shape():
    """The corridor stretched north-east past the five aggravated assaults at (3500, 3500)."""
    return shapely.Polygon([offset(X0, Y0, 1500, 1500), offset(X0, Y0, 3800, 1500), offset(X0, Y0, 3800, 3800),
                            offset(X0, Y0, 1500, 2500)])


@pytest.fixture
def ws():
    w = small_city()
    sc.add_scenario(w, "East", east_shape(), base="Corridor", source="test")
    return w


def official(ws):
    a = ws.area("Corridor", "target_area")
    return shapely.to_wkb(a.geometry), a.version, list(a.history)


def test_rename_keeps_the_boundary_and_what_refers_to_it(ws):
    before = official(ws)
    heard = []
    ws.subscribe(heard.append)
    ws.meta["goals"] = [{"name": "Fewer robberies", "measure": "robbery", "area_key": "scenario:East"}]
    ws.meta["map_boundary_draft"] = {"area_key": "scenario:East", "shape": []}
    shape = freeze_shape(ws.area("East", "scenario").geometry)
    position = ws.areas.index(ws.area("East", "scenario"))
    renamed = sc.rename_scenario(ws, "East", "  North   east ")
    assert renamed.name == "North east" and ws.area("East", "scenario") is None
    assert ws.areas[position] is renamed and freeze_shape(renamed.geometry) == shape and renamed.base == "Corridor"
    assert ws.meta["goals"][0]["area_key"] == "scenario:North east"
    assert ws.meta["map_boundary_draft"]["area_key"] == "scenario:North east"
    assert heard == ["areas"] and ws.dirty
    assert official(ws) == before
    # a change of case only is a rename of the same name
    assert sc.rename_scenario(ws, "North east", "North East").name == "North East"


@pytest.mark.parametrize("new, message", [
    ("", "needs a name"), ("   ", "needs a name"), ("x" * 81, "keep it to 80"), ("wider", "already exists"),
])
def test_rename_refuses_unusable_names(ws, new, message):
    sc.add_scenario(ws, "Wider", east_shape().buffer(0.001))
    with pytest.raises(UserError, match=message):
        sc.rename_scenario(ws, "East", new)
    assert ws.area("East", "scenario") is not None
    with pytest.raises(UserError, match="no scenario named 'Nope'.*East, Wider"):
        sc.rename_scenario(ws, "Nope", "Other")


def test_delete_removes_only_the_scenario_and_not_one_a_goal_uses(ws):
    before = official(ws)
    removed = sc.delete_scenario(ws, "East")
    assert removed.name == "East" and ws.scenarios == [] and official(ws) == before
    sc.add_scenario(ws, "Goal area", east_shape())
    ws.meta["goals"] = [{"name": "20% fewer", "measure": "robbery", "area_key": "scenario:Goal area"}]
    with pytest.raises(UserError, match="goal '20% fewer'.*was kept"):
        sc.delete_scenario(ws, "Goal area")
    assert ws.area("Goal area", "scenario") is not None


def test_unique_names_and_add_refuses_a_taken_name_or_a_bad_shape(ws):
    assert sc.unique_name(ws, "Corridor") == "Corridor"                # target areas have names of their own
    assert sc.unique_name(ws, "east") == "east (2)"
    sc.add_scenario(ws, "East (2)", east_shape())
    assert sc.unique_name(ws, "East") == "East (3)"
    with pytest.raises(UserError, match="already exists"):
        sc.add_scenario(ws, "EAST", east_shape())
    bow = shapely.Polygon([offset(X0, Y0, 0, 0), offset(X0, Y0, 1000, 1000), offset(X0, Y0, 1000, 0),
                           offset(X0, Y0, 0, 1000)])
    with pytest.raises(UserError, match="crosses itself"):
        sc.add_scenario(ws, "Bow", bow)
    assert ws.area("Bow", "scenario") is None


def test_compare_figures_of_the_hand_built_city(ws):
    t = sc.compare(ws, CORRIDOR, "scenario:East", AS_OF)
    assert t.columns[:5] == ["Measure", "YTD A", "YTD B", "YTD B − A", "YTD % diff"]
    assert [g[0].split(":")[0] for g in t.header_groups] == ["Year to date", "28 days", "Week to date"]
    sq_a = geo.area_sq_miles(ws.area("Corridor").geometry)
    sq_b = geo.area_sq_miles(east_shape())
    city = geo.area_sq_miles(ws.city.geometry)
    area = t.row("Area (square miles)")
    assert area[1:5] == pytest.approx([sq_a, sq_b, sq_b - sq_a, (sq_b - sq_a) / sq_a])
    assert t.kind_at(0, 1) == "rate" and t.kind_at(0, 4) == "pct_change"
    assert t.row("Share of city area")[1:3] == pytest.approx([sq_a / city, sq_b / city])
    # violent crime year to date: 6 robberies in the corridor; the east shape adds the 5 aggravated assaults;
    # the city has 22 (the unlocated robbery counts citywide)
    share = t.row("Share of city Part I violent crime")
    assert share[1:4] == pytest.approx([6 / 22, 11 / 22, 5 / 22]) and share[4] is None
    pai = t.row("PAI (Part I violent crime)")
    assert pai[1:3] == pytest.approx([(6 / 22) / (sq_a / city), (11 / 22) / (sq_b / city)])
    violent = t.row("Part I violent crime")
    assert violent[1:5] == [6, 11, 5, pytest.approx(5 / 6)]
    assert t.row("Aggravated assault")[1:5] == [0, 5, 5, None]        # % difference from zero: blank
    assert t.row("Robbery")[5:9] == [2, 2, 0, 0.0]                     # 28 days
    assert t.row_directions[:t.shape_rows] == [""] * 4 and t.row_directions[t.shape_rows] == "crime"
    assert any("ShotSpotter" in n for n in t.notes)                   # no calls loaded: said, not shown
    assert t.cell_keys[(t.rows.index(violent), 2)] == {"measure": "part1_violent", "area": "scenario:East",
                                                        "window": "ytd", "as_of": t.as_of}
    with pytest.raises(UserError, match="two different areas"):
        sc.compare(ws, CORRIDOR, CORRIDOR)


def test_every_count_equals_the_compstat_engine(ws):
    t = sc.compare(ws, CORRIDOR, "scenario:East", AS_OF)
    an = Analysis(ws)
    measures = [m for m in an.catalog.counts() if len(ws.frames[m.dataset])]
    assert [r[0] for r in t.rows[t.shape_rows:]] == [m.label for m in measures]
    for m, row in zip(measures, t.rows[t.shape_rows:]):
        for i, kind in enumerate(("ytd", "28d", "wtd")):
            w = periods.window(kind, AS_OF)
            a, b = an.count(m, CORRIDOR, w), an.count(m, "scenario:East", w)
            assert row[1 + 4 * i: 4 + 4 * i] == [a, b, b - a], (m.id, kind)


def test_difference_text():
    assert [sc.difference_text(v, "count") for v in (15, -3, 0, None)] == ["+15", "−3", "0", ""]
    assert sc.difference_text(2.404, "rate") == "+2.40" and sc.difference_text(-0.153, "rate") == "−0.15"
    assert sc.difference_text(0.0944, "pct") == "+9.4 pts" and sc.difference_text(0.0, "pct") == "0.0 pts"


def test_geojson_round_trip_gives_the_same_polygon_and_figures(ws, tmp_path):
    out = sc.export_boundary(ws, "scenario:East", tmp_path / "east.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "Feature" and doc["geometry"]["type"] == "Polygon"
    p = doc["properties"]
    assert (p["name"], p["kind"], p["version"], p["base"]) == ("East", "scenario", 1, "Corridor")
    assert p["sq_mi"] == pytest.approx(geo.area_sq_miles(east_shape()), abs=1e-4)
    assert [f.name for f in tmp_path.iterdir()] == ["east.geojson"]   # written whole, no temporary left
    back = sc.import_scenario(ws, out)
    assert back.name == "East (2)" and back.base == "Corridor" and back.source == "east.geojson"
    assert freeze_shape(back.geometry) == freeze_shape(ws.area("East", "scenario").geometry)
    t = sc.compare(ws, "scenario:East", "scenario:East (2)", AS_OF)
    for r, row in enumerate(t.rows):
        for c in range(1, len(row)):
            if t.role_of(c) == "diff" and row[c] is not None:
                assert row[c] == 0, (row[0], t.columns[c])
    # an exported target area comes back as a scenario drawn from it
    ta = sc.import_scenario(ws, sc.export_boundary(ws, CORRIDOR, tmp_path / "corridor.geojson"), "Same as official")
    assert ta.base == "Corridor" and freeze_shape(ta.geometry) == freeze_shape(ws.area("Corridor").geometry)


def _write(path, doc):
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_self_crossing_or_ambiguous_file_is_refused_and_nothing_added(ws, tmp_path):
    bow = [list(offset(X0, Y0, *d)) for d in ((0, 0), (1000, 1000), (1000, 0), (0, 1000), (0, 0))]
    f = _write(tmp_path / "bow.geojson", {"type": "Feature", "properties": {"name": "Bow"},
                                          "geometry": {"type": "Polygon", "coordinates": [bow]}})
    before = [a.name for a in ws.areas]
    with pytest.raises(UserError, match=r"bow.geojson: The boundary crosses itself near 43\.03\d+, -87\.94\d+ "
                                        r"\(lat, lon\).*no scenario was added"):
        sc.import_scenario(ws, f)
    two = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(east_shape()))},
        {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(east_shape().buffer(.01)))}]}
    with pytest.raises(UserError, match="holds 2 polygons; a scenario is one boundary"):
        sc.import_scenario(ws, _write(tmp_path / "two.geojson", two))
    point = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [X0, Y0]}}
    with pytest.raises(UserError, match="holds no polygon"):
        sc.import_scenario(ws, _write(tmp_path / "point.geojson", point))
    feet = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
        [[2.5e6, 3.9e5], [2.51e6, 3.9e5], [2.51e6, 4e5], [2.5e6, 3.9e5]]]}}
    with pytest.raises(UserError, match="not longitude/latitude"):
        sc.import_scenario(ws, _write(tmp_path / "feet.geojson", feet))
    assert [a.name for a in ws.areas] == before


def test_a_projected_geojson_is_converted_as_the_area_importer_does(ws, tmp_path):
    x, y = geo.from_wgs84([p[0] for p in east_shape().exterior.coords], [p[1] for p in east_shape().exterior.coords],
                          "EPSG:32616")
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32616"}},
           "features": [{"type": "Feature", "properties": {"NAME": "Projected"},
                         "geometry": {"type": "Polygon", "coordinates": [list(map(list, zip(x, y)))]}}]}
    a = sc.import_scenario(ws, _write(tmp_path / "utm.geojson", doc))
    assert a.name == "Projected" and a.base is None
    assert a.geometry.equals_exact(east_shape(), tolerance=1e-7)

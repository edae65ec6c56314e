"""Reference layers: every format imports, bad files are refused with a message, layers survive a save, and the one
population rule (census layer -> areal weighting; boundary file; district density) gives the figures an independent
shapely overlay gives."""
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import REAL_DATA, ROOT
from workstation.core.errors import UserError
from workstation.core.workspace import Area, Workspace, layer_frame, Layer
from workstation.engine.areas import resolve_area
from workstation.engine.population import area_population, geometry_population
from workstation.ingest.layers import import_layer, read_layer

X0, Y0 = -87.95, 43.03
M_PER_DEG_LAT = 111_000.0
M_PER_DEG_LON = 111_000.0 * np.cos(np.radians(X0 and Y0))


def ll(dx, dy):
    """lon/lat of a point dx, dy metres from the origin (a flat approximation is fine for building shapes)."""
    return X0 + dx / M_PER_DEG_LON, Y0 + dy / M_PER_DEG_LAT


def box(dx0, dy0, dx1, dy1):
    return shapely.Polygon([ll(dx0, dy0), ll(dx1, dy0), ll(dx1, dy1), ll(dx0, dy1)])


def census_city(with_layer=True) -> Workspace:
    """A 1.2 km square city of two districts; a census layer of 6 x 6 blocks of 200 m with known populations."""
    ws = Workspace()
    ws.areas = [Area("City", "city", box(0, 0, 1200, 1200)),
                Area("1", "district", box(0, 0, 600, 1200), population=3_000),
                Area("2", "district", box(600, 0, 1200, 1200), population=9_000),
                Area("Corridor", "target_area", box(100, 450, 1150, 730), population=5_000)]
    if with_layer:
        blocks, pops, homes = [], [], []
        for i in range(6):
            for j in range(6):
                blocks.append(box(200 * i, 200 * j, 200 * (i + 1), 200 * (j + 1)))
                pops.append(float(10 * (i + 1) + 100 * j))
                homes.append(float(4 * (i + 1) + 40 * j))
        ws.layers.append(Layer("Blocks 2020", "polygon", layer_frame(blocks, None, pops, homes),
                               population_field="POP20", housing_field="HOUSING20"))
    return ws


def overlay(blocks, pops, target, crs=None) -> float:
    """Areal interpolation by a plain shapely overlay: sum of population x (block & target).area / block.area. In
    lon/lat by default (as stored: edges are straight in lon/lat), or in ``crs``."""
    if crs is not None:
        t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        proj = lambda g: shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))  # noqa
        blocks, target = [proj(b) for b in blocks], proj(target)
    return sum(p * b.intersection(target).area / b.area for b, p in zip(blocks, pops))


def test_areal_interpolation_equals_a_shapely_overlay_for_an_area_that_cuts_blocks():
    ws = census_city()
    lay = ws.layers[0]
    blocks = list(lay.geometries())
    pops = lay.features["population"].tolist()
    corridor = ws.area("Corridor", "target_area")
    # the corridor cuts blocks: some are only partly inside
    shares = [b.intersection(corridor.geometry).area / b.area for b in blocks]
    assert any(0.05 < s < 0.95 for s in shares)
    want = overlay(blocks, pops, corridor.geometry)
    pop = area_population(ws, corridor)
    assert pop.value == pytest.approx(want, rel=1e-9)
    # and the shares on the ground (US Albers, equal-area) differ by a few parts in a hundred thousand at most
    assert pop.value == pytest.approx(overlay(blocks, pops, corridor.geometry, "EPSG:5070"), rel=5e-5)
    assert pop.source == "census layer Blocks 2020"          # the census layer wins over the boundary's 5,000
    assert pop.housing == pytest.approx(overlay(blocks, lay.features["housing"].tolist(), corridor.geometry),
                                        rel=1e-9)
    ref = resolve_area(ws, "target_area:Corridor")
    assert (ref.population, ref.population_source) == (pop.value, pop.source)
    # citywide: every block whole, the exact total
    assert resolve_area(ws, "citywide").population == sum(pops)


def test_without_a_census_layer_boundary_file_then_district_density():
    ws = census_city(with_layer=False)
    assert area_population(ws, ws.area("Corridor", "target_area")) .value == 5_000
    assert area_population(ws, ws.area("Corridor", "target_area")).source == "boundary file"
    # no stated figure: each district's population spread evenly over its area (computed here by hand)
    shape = box(300, 0, 900, 600)  # a quarter of each district
    p = geometry_population(ws, shape)
    assert p.source == "district density estimate"
    assert p.value == pytest.approx(3_000 / 4 + 9_000 / 4, rel=1e-4)
    # a scenario drawn from the corridor: the stated 5,000 adjusted by the estimate of the difference
    ws.areas.append(Area("Wider", "scenario", box(100, 450, 1150, 830), base="Corridor"))
    sc = area_population(ws, ws.area("Wider", "scenario"))
    extra = geometry_population(ws, box(100, 730, 1150, 830)).value
    assert sc.value == pytest.approx(5_000 + extra, rel=1e-9)
    assert sc.source.startswith("boundary file, adjusted")


def test_live_engine_population_follows_a_drag_and_equals_the_report_figure():
    from workstation.whatif.engine import build_whatif

    ws = census_city()
    eng = build_whatif(ws, "2019-09-29", [])
    corridor = ws.area("Corridor", "target_area").geometry
    fig = eng.set_shape(corridor)
    assert fig.population == area_population(ws, ws.area("Corridor", "target_area")).value
    assert fig.population_source == "census layer Blocks 2020"
    assert fig.population_note.startswith("census layer Blocks 2020, areal-weighted; ")  # and its housing units
    blocks = list(ws.layers[0].geometries())
    pops = ws.layers[0].features["population"].tolist()
    ring = list(eng.shape[0][0])
    k = max(range(len(ring)), key=lambda i: ring[i][0] + ring[i][1])  # the north-east corner
    for step in range(1, 6):   # drag it north-east in steps, across block edges
        fig = eng.move_vertex(0, 0, k, *ll(1150 + 10 * step, 730 + 60 * step))
        assert fig.population == pytest.approx(overlay(blocks, pops, eng.geometry), rel=1e-9)
    ring = list(eng.shape[0][0])
    mid = ((ring[k - 1][0] + ring[k][0]) / 2, (ring[k - 1][1] + ring[k][1]) / 2)
    fig = eng.insert_vertex(0, 0, k, *mid)   # on the edge: nothing changes
    assert fig.population == pytest.approx(overlay(blocks, pops, eng.geometry), rel=1e-9)
    fig = eng.move_vertex(0, 0, k, mid[0] + 0.0005, mid[1] + 0.0005)
    assert fig.population == pytest.approx(overlay(blocks, pops, eng.geometry), rel=1e-9)
    fig = eng.delete_vertex(0, 0, k)
    assert fig.population == pytest.approx(overlay(blocks, pops, eng.geometry), rel=1e-9)


def test_live_engine_anchors_a_stated_population_without_census():
    from workstation.whatif.engine import BoundaryEditor, build_whatif

    ws = census_city(with_layer=False)
    eng = build_whatif(ws, "2019-09-29", [])
    ed = BoundaryEditor(eng, ws.area("Corridor", "target_area").geometry, area_key="target_area:Corridor")
    assert (ed.figures.population, ed.figures.population_source) == (5_000, "boundary file")
    ring = list(eng.shape[0][0])
    k = max(range(len(ring)), key=lambda i: ring[i][1])
    fig = eng.move_vertex(0, 0, k, ring[k][0], ring[k][1] + 0.001)
    assert fig.population == pytest.approx(area_population(
        ws, Area("x", "scenario", eng.geometry, base="Corridor")).value, rel=1e-9)
    assert fig.population_source.startswith("boundary file, adjusted")


# ---- formats ---------------------------------------------------------------------------------------------------------
def test_real_geojson_and_shapefile_polygons():
    lay, rej, _, n = read_layer(REAL_DATA / "phl_police_districts.geojson", "PHL districts")
    assert (lay.geometry_type, lay.count, n, rej) == ("polygon", 22, 22, {})
    lay, rej, _, n = read_layer(REAL_DATA / "chi_police_beats.shp", "Beats", label_field="BEAT_NUM")
    assert (lay.geometry_type, lay.count) == ("polygon", 277)
    dbf_beats = sorted(json.loads(p)["BEAT_NUM"] for p in lay.features["properties"])
    assert sorted(lay.features["label"]) == dbf_beats
    x0, y0, x1, y1 = shapely.total_bounds(lay.geometries())
    assert -88.0 < x0 < x1 < -87.5 and 41.6 < y0 < y1 < 42.1   # Chicago, in lon/lat


def test_shapefile_without_prj_is_refused(tmp_path):
    for ext in ("shp", "shx", "dbf"):
        shutil.copy(REAL_DATA / f"chi_police_beats.{ext}", tmp_path / f"beats.{ext}")
    with pytest.raises(UserError, match=r"beats\.shp: the shapefile has no \.prj file"):
        read_layer(tmp_path / "beats.shp", "Beats")


def test_real_csv_points_with_coordinates():
    lay, rej, _, n = read_layer(REAL_DATA / "nyc_shootings_2006-2020.csv", "Shootings")
    raw = pd.read_csv(REAL_DATA / "nyc_shootings_2006-2020.csv", dtype=str, encoding="utf-8-sig")
    lat = pd.to_numeric(raw["Latitude"], errors="coerce")
    lon = pd.to_numeric(raw["Longitude"], errors="coerce")
    located = int((lat.notna() & lon.notna()).sum())
    assert (lay.geometry_type, n, lay.count) == ("point", len(raw), located)
    pts = lay.geometries()
    assert np.allclose(shapely.get_x(pts), lon.dropna().to_numpy()) or lay.count == located


def test_real_csv_with_a_wkb_geometry_column():
    lay, rej, _, n = read_layer(REAL_DATA / "phl_incidents_2024-12-31_2025-01-21.csv", "PHL incidents")
    raw = pd.read_csv(REAL_DATA / "phl_incidents_2024-12-31_2025-01-21.csv", dtype=str)
    assert n == len(raw) and lay.count == int(raw["the_geom"].notna().sum())
    assert rej == {"no geometry": int(raw["the_geom"].isna().sum())}


def test_csv_without_coordinates_is_refused():
    with pytest.raises(UserError, match="phl_arrests.*has no coordinate columns"):
        read_layer(REAL_DATA / "phl_arrests_daily_by_charge_2014-2021.csv", "Arrests")


def test_projected_csv_needs_an_epsg_and_converts_with_it(tmp_path):
    # 2846 N 1st St, Milwaukee, in NAD27 Wisconsin South ftUS (PROVENANCE: converts to 43.0704, -87.9110)
    t = Transformer.from_crs("EPSG:4326", "EPSG:32054", always_xy=True)
    x, y = t.transform(-87.9110, 43.0704)
    p = tmp_path / "premises.csv"
    p.write_text(f"NAME,RoughX,RoughY\nCorner Tap,{x:.1f},{y:.1f}\n")
    with pytest.raises(UserError, match="--epsg"):
        read_layer(p, "Premises")
    lay, *_ = read_layer(p, "Premises", epsg=32054)
    pt = lay.geometries()[0]
    assert (round(pt.x, 4), round(pt.y, 4)) == (-87.911, 43.0704)
    assert lay.features["label"].tolist() == ["Corner Tap"]


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder>
 <Placemark><name>Route 21</name><ExtendedData><Data name="ROUTE"><value>21</value></Data></ExtendedData>
  <LineString><coordinates>-87.99,43.07,0 -87.95,43.07,0 -87.91,43.07,0</coordinates></LineString></Placemark>
 <Placemark><name>Route 62</name><ExtendedData><SchemaData schemaUrl="#s"><SimpleData name="ROUTE">62</SimpleData>
  </SchemaData></ExtendedData><MultiGeometry>
  <LineString><coordinates>-87.99,43.10 -87.95,43.10</coordinates></LineString>
  <LineString><coordinates>-87.95,43.10 -87.93,43.11</coordinates></LineString></MultiGeometry></Placemark>
 <Placemark><name>A stray stop</name><Point><coordinates>-87.95,43.07</coordinates></Point></Placemark>
</Folder></Document></kml>"""


def test_kml_and_kmz(tmp_path):
    p = tmp_path / "routes.kml"
    p.write_text(KML, encoding="utf-8")
    lay, rej, _, n = read_layer(p, "Bus routes")
    assert (lay.geometry_type, lay.count, n) == ("line", 2, 3)
    assert rej == {"a point, not a line like the rest of the layer": 1}
    assert lay.features["label"].tolist() == ["Route 21", "Route 62"]
    assert [json.loads(x)["ROUTE"] for x in lay.features["properties"]] == ["21", "62"]
    g = lay.geometries()
    assert g[0].coords[:] == [(-87.99, 43.07), (-87.95, 43.07), (-87.91, 43.07)]
    assert g[1].geom_type == "MultiLineString" and len(g[1].geoms) == 2
    kmz = tmp_path / "routes.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.writestr("doc.kml", KML)
    lay2, *_ = read_layer(kmz, "Bus routes")
    assert lay2.features["label"].tolist() == ["Route 21", "Route 62"]
    (tmp_path / "bad.kml").write_text("<kml><Placemark>", encoding="utf-8")
    with pytest.raises(UserError, match="bad.kml: this is not valid KML"):
        read_layer(tmp_path / "bad.kml", "Bad")


def test_population_field_must_exist_and_be_numeric(tmp_path):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"GEOID": "1", "P1": "120"},
         "geometry": shapely.geometry.mapping(box(0, 0, 100, 100))}]}
    p = tmp_path / "blocks.geojson"
    p.write_text(json.dumps(fc))
    with pytest.raises(UserError, match="no field 'POP20'.*GEOID, P1"):
        read_layer(p, "Blocks", population_field="POP20")
    lay, *_ = read_layer(p, "Blocks", population_field="p1", label_field="geoid")
    assert lay.has_population and lay.features["population"].tolist() == [120.0]
    assert lay.features["label"].tolist() == ["1"] and lay.population_field == "P1"


# ---- storage and the command line ------------------------------------------------------------------------------------
def test_layers_survive_a_save_and_a_version_1_file_opens(tmp_path):
    ws = census_city()
    p = ws.save(tmp_path / "w.psw")
    back = Workspace.open(p)
    lay = back.layer("Blocks 2020")
    assert lay.count == 36 and lay.features["population"].sum() == ws.layers[0].features["population"].sum()
    assert all(a.equals(b) for a, b in zip(lay.geometries(), ws.layers[0].geometries()))
    # a file written before layers existed (format 1: no layers table) opens with none
    con = sqlite3.connect(p)
    con.execute("DROP TABLE layers")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    old = Workspace.open(p)
    assert old.layers == [] and len(old.areas) == 4


def test_cli_import_layer_and_info_json(tmp_path):
    w = tmp_path / "w.psw"
    run = lambda *a: subprocess.run([sys.executable, "main.py", *a], cwd=ROOT, capture_output=True, text=True)  # noqa
    r = run("import", "--workspace", str(w), "--kind", "layer", "--name", "Beats", "--label-field", "BEAT_NUM",
            "--json", str(REAL_DATA / "chi_police_beats.shp"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert (summary["layer"], summary["features"], summary["geometry_type"]) == ("Beats", 277, "polygon")
    r = run("import", "--workspace", str(w), "--kind", "layer", "--name", "Arrests",
            str(REAL_DATA / "phl_arrests_daily_by_charge_2014-2021.csv"))
    assert r.returncode == 2 and "no coordinate columns" in r.stderr
    r = run("info", "--workspace", str(w), "--json")
    info = json.loads(r.stdout.strip().splitlines()[-1])
    (beats,) = info["layers"]
    assert beats["name"] == "Beats" and beats["features"] == 277 and beats["source"] == "chi_police_beats.shp"
    assert beats["loaded"][:4].isdigit() and beats["geometry_type"] == "polygon"


def test_demo_census_blocks_sum_to_the_city_and_districts():
    from workstation.demo import city as demo_city
    from workstation.demo.context import demo_layers

    layers = {lay.name: lay for lay in demo_layers()}
    assert {"Streets", "Bus routes", "Bus stops", "Licensed premises", "Vacant properties",
            "Census blocks"} <= set(layers)
    blocks = layers["Census blocks"]
    pop = blocks.features["population"].to_numpy()
    assert pop.sum() == 594_833 and np.all(pop == np.round(pop))
    city = demo_city.build_city()
    # every block lies in one district; the district sums are the districts' populations
    geoms = blocks.geometries()
    reps = shapely.point_on_surface(geoms)
    for d, want in demo_city.DISTRICT_POPULATION.items():
        inside = shapely.contains(city.districts[d], reps)
        assert pop[inside].sum() == want
    streets = layers["Streets"]
    assert streets.count > 10_000 and streets.style["basemap"]
    assert "W CENTER ST" in set(streets.features["label"])


def test_map_page_draws_layers_with_a_simplified_low_zoom_level():
    from workstation.maps import layers as map_layers
    from workstation.maps import page as maps

    ws = census_city()
    segs, names = [], []
    for j in range(7):                          # 7 east-west streets of 6 block segments each
        for i in range(6):
            segs.append(shapely.LineString([ll(200 * i, 200 * j), ll(200 * (i + 1), 200 * j)]))
            names.append(f"W STREET {j}")
    ws.layers.append(Layer("Streets", "line", layer_frame(segs, names),
                           style={"visible": True, "colour": "#999999", "basemap": True}))
    p = map_layers.layer_payload(ws.layer("Streets"))
    assert p["detail"]["n"] == 42 and p["low"]["n"] == 7          # zoomed out: one line per street
    assert sorted({p["label"][f] for f in p["low"]["f"]}) == sorted(set(names))
    x, y = map_layers.mercator([-180.0, 180.0, 0.0], [0.0, 0.0, 0.0])
    assert x.tolist() == [0, 1 << 28, 1 << 27] and y.tolist() == [1 << 27] * 3
    # every part's box holds its coordinates
    d = p["detail"]
    for k in range(d["n"]):
        xs = d["x"][d["off"][k]:d["off"][k + 1]]
        assert d["bbox"][4 * k] == min(xs) and d["bbox"][4 * k + 2] == max(xs)
    page = maps.build_map(ws, maps.MapOptions(points=False))
    assert page.html.count("PSP.vectorLayer(") == 2               # the streets and the census blocks
    assert "psp://assets/local/psp_layers.js" in page.html
    assert any("Basemap" in part and "Streets" in part for part in page.legend)
    bare = maps.build_map(ws, maps.MapOptions(points=False, layers=False))
    assert "PSP.vectorLayer(" not in bare.html


# ---- places in the analysis ------------------------------------------------------------------------------------------
def places_city():
    """The census city with 300 premises at random; none within 15 ft of 250 or 500 ft from the corridor (where the
    test's flat metres and the product's projection could disagree about a point on the line)."""
    from workstation.reports.places import FT_PER_M

    ws = census_city(with_layer=False)
    rng = np.random.default_rng(5)
    dx, dy = rng.uniform(-200, 1400, 400), rng.uniform(-200, 1400, 400)
    d_ft = corridor_distance_ft(dx, dy, FT_PER_M)
    keep = (np.abs(d_ft - 250) > 15) & (np.abs(d_ft - 500) > 15)
    dx, dy = dx[keep][:300], dy[keep][:300]
    pts = [shapely.Point(ll(x, y)) for x, y in zip(dx, dy)]
    ws.layers.append(Layer("Premises", "point", layer_frame(pts, [f"P{i}" for i in range(len(pts))])))
    return ws, dx, dy


def corridor_distance_ft(dx, dy, ft_per_m):
    """Brute force in the test's flat frame: each point's distance to the corridor box (0 inside)."""
    ex = np.maximum(np.maximum(100 - dx, dx - 1150), 0)
    ey = np.maximum(np.maximum(450 - dy, dy - 730), 0)
    return np.hypot(ex, ey) * ft_per_m


def test_places_within_a_distance_of_an_area_by_brute_force():
    from workstation.reports.places import FT_PER_M, count_near, places_table

    ws, dx, dy = places_city()
    corridor = ws.area("Corridor", "target_area")     # box 100..1150 x 450..730 m in the test's flat frame
    d_ft = corridor_distance_ft(dx, dy, FT_PER_M)
    assert 0 < (d_ft <= 250).sum() < (d_ft <= 500).sum() < len(dx)
    for ft in (0.0, 250.0, 500.0):
        got = count_near(ws.layer("Premises"), [corridor.geometry], ft)[0]
        assert got == int((d_ft <= ft).sum()), ft
    t = places_table(ws, ["citywide", "target_area:Corridor"], 500)
    assert t.columns == ["Area", "Premises"]
    assert t.rows[1] == ["Corridor", int((d_ft <= 500).sum())]


def test_nearest_place_of_each_point_by_brute_force():
    from workstation.reports.places import FT_PER_M, nearest, nearest_places_text

    ws, dx, dy = places_city()
    qx, qy = np.array([0.0, 600.0, 1300.0]), np.array([0.0, 600.0, 50.0])
    lon, lat = ll(qx, qy)
    idx, dist = nearest(ws.layer("Premises"), np.append(lon, np.nan), np.append(lat, np.nan))
    d = np.hypot(dx[None, :] - qx[:, None], dy[None, :] - qy[:, None])
    assert idx[:3].tolist() == d.argmin(axis=1).tolist()
    # the distance on the ellipsoid (pyproj.Geod) to the nearest premises
    from pyproj import Geod

    plon, plat = ll(dx[d.argmin(axis=1)], dy[d.argmin(axis=1)])
    _, _, metres = Geod(ellps="WGS84").inv(lon, lat, plon, plat)
    assert dist[:3] == pytest.approx(metres * FT_PER_M, rel=1e-4)
    assert idx[3] == -1 and np.isnan(dist[3])
    text = nearest_places_text(ws, lon, lat)
    assert text[0] == f"Premises: P{d[0].argmin()} ({dist[0]:,.0f} ft)"


def test_shoot_review_lists_nearest_places():
    import pandas as pd

    from workstation.reports.shoot_review import shoot_review

    ws, dx, dy = places_city()
    lon, lat = ll(600, 600)
    ws.set_frame("shootings", pd.DataFrame([dict(record_id="s1", incident_id="S1", occurred="2019-09-27",
                                                 fatal=False, lon=lon, lat=lat, load_id=1)]))
    t = shoot_review(ws, "2019-09-29")
    assert t.columns[-1] == "Nearest places"
    d = np.hypot(dx - 600, dy - 600)
    assert t.rows[0][-1].startswith(f"Premises: P{d.argmin()} (")
    ws.layers = []
    assert "Nearest places" not in shoot_review(ws, "2019-09-29").columns

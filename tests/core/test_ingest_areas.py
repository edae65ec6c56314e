"""--kind areas: GeoJSON and shapefiles (CRS from .prj) to WGS84 districts / target areas."""
import json

import numpy as np
import pytest
import shapefile
import shapely
from pyproj import CRS

from workstation.core.errors import UserError
from workstation.engine.geometry import area_sq_miles, from_wgs84
from workstation.ingest import import_files
from workstation.core.workspace import Workspace

# two districts in Milwaukee, drawn in lon/lat and stored in NAD27 Wisconsin South feet like the City's files
WEST = [(-88.02, 43.02), (-87.95, 43.02), (-87.95, 43.10), (-88.02, 43.10)]
EAST = [(-87.95, 43.02), (-87.89, 43.02), (-87.89, 43.10), (-87.95, 43.10)]


def _projected_shapefile(base, records, epsg=32054):
    with shapefile.Writer(str(base), shapeType=shapefile.POLYGON) as w:
        w.field("DISTRICT", "C", size=4)
        w.field("POP", "N", size=10)
        for ring, dist, pop in records:
            x, y = from_wgs84([p[0] for p in ring], [p[1] for p in ring], epsg)
            pts = list(zip(x.tolist(), y.tolist()))
            pts = pts + pts[:1]
            if shapely.Polygon(pts).exterior.is_ccw:  # shapefile outer rings are clockwise
                pts = pts[::-1]
            w.poly([pts])
            w.record(dist, pop)
    (base.parent / (base.name + ".prj")).write_text(CRS.from_epsg(epsg).to_wkt("WKT1_ESRI"))
    return base.parent / (base.name + ".shp")


def test_projected_shapefile_with_prj_becomes_wgs84_districts(tmp_path):
    shp = _projected_shapefile(tmp_path / "districts", [(WEST, "01", 120000), (EAST, "2", 80000),
                                                        (EAST, "02", 1000)])
    ws = Workspace()
    heard = []
    ws.subscribe(heard.append)
    res = import_files(ws, "areas", [shp])
    assert res.by_category == {"district": 2} and res.rows_read == 3 and heard == ["areas"]
    d = {a.name: a for a in ws.districts}
    assert sorted(d) == ["1", "2"]
    assert d["1"].population == 120000 and d["2"].population == 81000  # "2" and "02" dissolved together
    minx, miny, maxx, maxy = d["1"].geometry.bounds
    assert np.allclose([minx, miny, maxx, maxy], [-88.02, 43.02, -87.95, 43.10], atol=1e-6)
    # the area is measured on the ellipsoid: 0.07 deg lon x 0.08 deg lat at 43 N is about 20.5 square miles
    assert 19.5 < area_sq_miles(d["1"].geometry) < 21.5
    assert ws.import_log[-1]["kind"] == "areas" and ws.import_log[-1]["file_name"] == "districts.shp"


def test_shapefile_without_prj_and_projected_is_refused(tmp_path):
    shp = _projected_shapefile(tmp_path / "noprj", [(WEST, "1", 1)])
    (tmp_path / "noprj.prj").unlink()
    ws = Workspace()
    with pytest.raises(UserError, match=r"^noprj\.shp: .*no \.prj"):
        import_files(ws, "areas", [shp])
    assert not ws.areas


def test_geojson_target_areas_replaced_with_a_new_version(tmp_path):
    def fc(ring):
        return {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"Name": "CSC"},
                                                           "geometry": {"type": "Polygon",
                                                                        "coordinates": [ring + ring[:1]]}}]}
    p = tmp_path / "csc.geojson"
    p.write_text(json.dumps(fc([list(v) for v in WEST])))
    ws = Workspace()
    import_files(ws, "areas", [p])
    a = ws.area("CSC", "target_area")
    assert a is not None and a.version == 1 and not ws.districts
    p.write_text(json.dumps(fc([list(v) for v in EAST])))
    res = import_files(ws, "areas", [p], area_kind="target_areas")
    a = ws.area("CSC", "target_area")
    assert (res.added, res.replaced) == (0, 1) and a.version == 2 and len(a.history) == 1
    assert shapely.from_geojson(a.history[0]["geojson"]).equals(shapely.Polygon(WEST))


def test_geojson_with_projected_crs_member(tmp_path):
    x, y = from_wgs84([p[0] for p in WEST], [p[1] for p in WEST], 2289)
    ring = [[a, b] for a, b in zip(x.tolist(), y.tolist())]
    p = tmp_path / "proj.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection",
                             "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2289"}},
                             "features": [{"type": "Feature", "properties": {"DIST_NUM": 7},
                                           "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]}}]}))
    ws = Workspace()
    import_files(ws, "areas", [p])
    assert [a.name for a in ws.districts] == ["7"]
    assert np.allclose(ws.districts[0].geometry.bounds, [-88.02, 43.02, -87.95, 43.10], atol=1e-6)


def test_bad_area_files(tmp_path):
    ws = Workspace()
    p = tmp_path / "points.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-87.9, 43.0]}}]}))
    with pytest.raises(UserError, match=r"^points\.geojson: no feature has a polygon"):
        import_files(ws, "areas", [p])
    q = tmp_path / "junk.geojson"
    q.write_text("{not json")
    with pytest.raises(UserError, match=r"^junk\.geojson: this is not valid GeoJSON"):
        import_files(ws, "areas", [q])
    assert not ws.areas and not ws.import_log

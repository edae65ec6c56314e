"""The grid-indexed point-in-polygon gives exactly shapely.contains_xy's answer (issue 14: district placement at
scale), on real district outlines, holes, multipolygons, overlaps and points on edges and vertices."""
import json

import numpy as np
import pytest
import shapely

from tests.conftest import REAL_DATA
from workstation.engine import geometry as geo


def _reference(polygons, lon, lat):
    out = np.full(lon.shape, -1, dtype=np.int32)
    ok = np.isfinite(lon) & np.isfinite(lat)
    for i, g in enumerate(polygons):
        hit = np.zeros(lon.shape, dtype=bool)
        hit[ok] = shapely.contains_xy(g, lon[ok], lat[ok])
        out[(out < 0) & hit] = i
    return out


def _points(bounds, n, seed, extra=()):
    x0, y0, x1, y1 = bounds
    rng = np.random.default_rng(seed)
    lon = rng.uniform(x0 - 0.01 * (x1 - x0), x1 + 0.01 * (x1 - x0), n)
    lat = rng.uniform(y0 - 0.01 * (y1 - y0), y1 + 0.01 * (y1 - y0), n)
    lon[:50] = np.nan
    lat[50:60] = np.nan
    if len(extra):
        e = np.asarray(extra, dtype="float64")
        lon = np.concatenate([lon, e[:, 0]])
        lat = np.concatenate([lat, e[:, 1]])
    return lon, lat


def test_real_district_layer_matches_contains_xy_point_for_point():
    path = REAL_DATA / "phl_police_districts.geojson"
    if not path.exists():
        pytest.skip("real data not present")
    polys = [shapely.geometry.shape(f["geometry"]) for f in json.loads(path.read_text())["features"]]
    # every vertex of every district is a point too: points on the boundary are outside for both
    vertices = np.concatenate([shapely.get_coordinates(p) for p in polys])
    lon, lat = _points(shapely.union_all(polys).bounds, 300_000, 1, vertices)
    got = geo.assign(polys, lon, lat)
    assert (got == _reference(polys, lon, lat)).all()
    assert (got >= 0).sum() > 100_000
    for k in (0, 5, 21):
        assert (geo.contains(polys[k], lon, lat) == (_reference([polys[k]], lon, lat) == 0)).all()


def test_holes_multipolygons_overlaps_and_edges():
    outer = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(3, 3), (7, 3), (7, 7), (3, 7)]])
    islands = shapely.MultiPolygon([shapely.box(12, 0, 14, 2), shapely.box(12, 5, 13, 9)])
    overlap = shapely.box(8, 8, 13, 13)          # overlaps both: the earlier polygon wins, as in assign
    inner = shapely.box(4, 4, 6, 6)              # inside the hole
    polys = [outer, islands, overlap, inner]
    edge_points = [(0, 5), (10, 5), (3, 5), (7, 5), (12, 1), (8, 9), (4, 4), (5, 5), (13, 13)]
    lon, lat = _points((0, 0, 14, 13), 200_000, 2, edge_points)
    got = geo.assign(polys, lon, lat)
    assert (got == _reference(polys, lon, lat)).all()
    assert set(np.unique(got)) == {-1, 0, 1, 2, 3}
    # small inputs take the direct path and agree too
    assert (geo.assign(polys, lon[:500], lat[:500]) == _reference(polys, lon[:500], lat[:500])).all()


def test_index_is_reused_for_the_same_shapes():
    polys = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    a = geo.polygon_index(polys)
    b = geo.polygon_index([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    assert a is b

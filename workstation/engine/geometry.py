"""Geometry helpers: projections, equal-area measurement and vectorised point-in-polygon.

All stored geometry is WGS84 lon/lat. Areas are measured on the ellipsoid (pyproj.Geod), which is exact and needs no
choice of projection; distances for grids and buffers use a local azimuthal equal-area projection centred on the data.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

SQ_METRES_PER_SQ_MILE = 2_589_988.110336


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str):
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def to_wgs84(x, y, crs) -> tuple[np.ndarray, np.ndarray]:
    """Convert projected coordinates (any CRS pyproj knows: 'EPSG:32054', a WKT string, ...) to lon, lat."""
    src = crs if isinstance(crs, str) else f"EPSG:{int(crs)}"
    t = _transformer(src, "EPSG:4326")
    lon, lat = t.transform(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
    return np.asarray(lon), np.asarray(lat)


def from_wgs84(lon, lat, crs) -> tuple[np.ndarray, np.ndarray]:
    dst = crs if isinstance(crs, str) else f"EPSG:{int(crs)}"
    t = _transformer("EPSG:4326", dst)
    x, y = t.transform(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"))
    return np.asarray(x), np.asarray(y)


def transform_geometry(geom, src_crs, dst_crs="EPSG:4326"):
    import shapely

    t = _transformer(str(src_crs), str(dst_crs))
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def area_sq_miles(geom) -> float:
    """Geodesic (equal-area on the WGS84 ellipsoid) area of a lon/lat polygon, in square miles."""
    import shapely
    from pyproj import Geod

    if geom is None or geom.is_empty:
        return 0.0
    # pyproj signs each ring's area by its orientation: a hole wound like its shell would be added, not subtracted
    a, _ = Geod(ellps="WGS84").geometry_area_perimeter(shapely.orient_polygons(geom))
    return abs(a) / SQ_METRES_PER_SQ_MILE


def local_equal_area_crs(lon0: float, lat0: float) -> str:
    """A Lambert azimuthal equal-area projection centred on (lon0, lat0), in metres."""
    return f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs"


def contains(geom, lon, lat) -> np.ndarray:
    """Vectorised point-in-polygon; NaN coordinates are never inside."""
    import shapely

    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if geom is None or geom.is_empty or lon.size == 0:
        return np.zeros(lon.shape, dtype=bool)
    shapely.prepare(geom)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(lon.shape, dtype=bool)
    if ok.all():
        return shapely.contains_xy(geom, lon, lat)
    out[ok] = shapely.contains_xy(geom, lon[ok], lat[ok])
    return out


def assign(polygons: list, lon, lat) -> np.ndarray:
    """Index of the first polygon containing each point, -1 where none does."""
    lon = np.asarray(lon, dtype="float64")
    out = np.full(lon.shape, -1, dtype=np.int32)
    for i, g in enumerate(polygons):
        hit = (out < 0) & contains(g, lon, lat)
        out[hit] = i
    return out


def validity_problem(geom) -> str | None:
    """None when the polygon is usable; otherwise a sentence saying what is wrong (e.g. it crosses itself)."""
    import shapely

    if geom is None or geom.is_empty:
        return "The shape is empty."
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return f"The shape is a {geom.geom_type}, not a polygon."
    if shapely.is_valid(geom):
        return None
    reason = shapely.is_valid_reason(geom)
    if "Self-intersection" in reason or "Ring Self-intersection" in reason:
        return "The boundary crosses itself; move the vertex back so that no two edges cross."
    if "Too few points" in reason:
        return "A polygon needs at least three distinct corners."
    return f"The shape is not a valid polygon ({reason})."


FEET_PER_MILE = 5280.0


def local_feet_crs(lon0: float, lat0: float) -> str:
    """A transverse Mercator projection centred on (lon0, lat0), in US survey feet: conformal, so distances in every
    direction are true to a few parts per million across a city (what distance bands, buffers and grids need)."""
    return (f"+proj=tmerc +lat_0={lat0:.6f} +lon_0={lon0:.6f} +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=us-ft "
            "+no_defs")

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


# Point-in-polygon at scale. shapely.contains_xy tests every point against every edge of a prepared polygon: about
# 1 s per million points for a real district layer, and a city's districts are tested one after the other. A grid
# over the polygon's bounding box sorts cells into "wholly inside", "wholly outside" and "on the boundary" once;
# only the points in boundary cells are then tested exactly, so the answer is the same as contains_xy's, point for
# point (a point exactly on an edge is outside in both).
GRID_INDEX_FROM = 20_000   # fewer points than this: contains_xy directly is as fast as building/looking up a grid


class PolygonIndex:
    """Which of several polygons (the first, where they overlap) contains each point, through a grid of cells.

    Each cell of a ``size``×``size`` grid over the polygons' bounds is labelled with the polygon that wholly contains
    it, -1 when it touches none, or "ambiguous" (-2) when a boundary crosses it. A point takes its cell's label; only
    points in ambiguous cells are tested exactly, against just the polygons that touch their cell.
    """

    AMBIGUOUS = -2

    def __init__(self, polygons: list, size: int | None = None):
        import shapely

        self.polygons = list(polygons)
        for g in self.polygons:
            shapely.prepare(g)
        bounds = np.array([g.bounds for g in self.polygons], dtype="float64")
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
        if size is None:
            n_vertices = int(sum(shapely.get_num_coordinates(g) for g in self.polygons))
            # finer grids for more detailed outlines: the exactly-tested share shrinks as cells shrink
            size = int(min(384, max(64, 3 * np.sqrt(n_vertices))))
        pad = max(x1 - x0, y1 - y0, 1e-9) * 1e-9   # points on the far edges of the bounds still fall in a cell
        self.x0, self.y0 = x0 - pad, y0 - pad
        self.dx = (x1 - x0 + 2 * pad) / size
        self.dy = (y1 - y0 + 2 * pad) / size
        self.size = size
        labels = np.full(size * size, -1, dtype=np.int32)
        # touch[k] marks the cells polygon k reaches into, for the exact tests
        self.touch: list[np.ndarray] = []
        for k, g in enumerate(self.polygons):
            gx0, gy0, gx1, gy1 = bounds[k]
            c0, c1 = self._cell_range(gx0, gx1, self.x0, self.dx)
            r0, r1 = self._cell_range(gy0, gy1, self.y0, self.dy)
            cx, cy = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1), indexing="xy")
            cells = (cy * size + cx).ravel()
            bx = self.x0 + cx.ravel() * self.dx
            by = self.y0 + cy.ravel() * self.dy
            boxes = shapely.box(bx, by, bx + self.dx, by + self.dy)
            hits = shapely.intersects(g, boxes)
            cells, boxes = cells[hits], boxes[hits]
            whole = shapely.contains_properly(g, boxes)
            free = labels[cells] == -1
            # wholly inside and not claimed by an earlier polygon: this polygon's cell (first one wins, as assign)
            labels[cells[whole & free]] = k
            # a crossing boundary, or a second polygon reaching into a claimed cell: test those points exactly
            labels[cells[~whole & (labels[cells] != k)]] = self.AMBIGUOUS
            reach = np.zeros(size * size, dtype=bool)
            reach[cells] = True
            self.touch.append(reach)
        self.labels = labels

    @staticmethod
    def _cell_range(lo: float, hi: float, origin: float, step: float) -> tuple[int, int]:
        return int(np.floor((lo - origin) / step)), int(np.floor((hi - origin) / step))

    def cells(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The cell of each point, -1 outside the grid or for NaN coordinates."""
        with np.errstate(invalid="ignore"):
            cx = np.floor((lon - self.x0) / self.dx)
            cy = np.floor((lat - self.y0) / self.dy)
            ok = (cx >= 0) & (cx < self.size) & (cy >= 0) & (cy < self.size)
        out = np.full(lon.shape, -1, dtype=np.int64)
        out[ok] = cy[ok].astype(np.int64) * self.size + cx[ok].astype(np.int64)
        return out

    def assign(self, lon, lat) -> np.ndarray:
        import shapely

        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        cell = self.cells(lon, lat)
        out = np.full(lon.shape, -1, dtype=np.int32)
        inside = cell >= 0
        out[inside] = self.labels[cell[inside]]
        todo = np.flatnonzero(out == self.AMBIGUOUS)
        out[todo] = -1
        if todo.size:
            todo_cell = cell[todo]
            for k, g in enumerate(self.polygons):
                near = self.touch[k][todo_cell] & (out[todo] < 0)
                pick = todo[near]
                if pick.size:
                    out[pick[shapely.contains_xy(g, lon[pick], lat[pick])]] = k
        return out


_INDEX_CACHE: dict[tuple, PolygonIndex] = {}


def polygon_index(polygons: list) -> PolygonIndex:
    """A PolygonIndex for these polygons, built once per distinct set of shapes (a what-if drag makes a new shape
    per move, so the cache is kept small)."""
    import shapely

    key = tuple(shapely.to_wkb(g) for g in polygons)
    got = _INDEX_CACHE.get(key)
    if got is None:
        got = PolygonIndex(polygons)
        if len(_INDEX_CACHE) >= 16:
            _INDEX_CACHE.pop(next(iter(_INDEX_CACHE)))
        _INDEX_CACHE[key] = got
    return got


def contains(geom, lon, lat) -> np.ndarray:
    """Vectorised point-in-polygon; NaN coordinates are never inside. Same answer as ``shapely.contains_xy``."""
    import shapely

    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if geom is None or geom.is_empty or lon.size == 0:
        return np.zeros(lon.shape, dtype=bool)
    if lon.size >= GRID_INDEX_FROM and lon.ndim == 1:
        return polygon_index([geom]).assign(lon, lat) == 0
    shapely.prepare(geom)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(lon.shape, dtype=bool)
    if ok.all():
        return shapely.contains_xy(geom, lon, lat)
    out[ok] = shapely.contains_xy(geom, lon[ok], lat[ok])
    return out


def assign(polygons: list, lon, lat) -> np.ndarray:
    """Index of the first polygon containing each point, -1 where none does."""
    import shapely

    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    polygons = list(polygons)
    if lon.size >= GRID_INDEX_FROM and lon.ndim == 1 and polygons and \
            not any(g is None or g.is_empty for g in polygons):
        return polygon_index(polygons).assign(lon, lat)
    out = np.full(lon.shape, -1, dtype=np.int32)
    ok = np.isfinite(lon) & np.isfinite(lat)
    for i, g in enumerate(polygons):
        if g is None or g.is_empty:
            continue
        shapely.prepare(g)
        hit = np.zeros(lon.shape, dtype=bool)
        hit[ok] = shapely.contains_xy(g, lon[ok], lat[ok])
        out[(out < 0) & hit] = i
    return out


def interiors_disjoint(polygons: list) -> bool:
    """Whether no two of the polygons share interior points (sharing edges or corners is fine): the DE-9IM test, on
    the pairs whose bounding boxes meet."""
    import shapely

    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    for i, j in zip(left, right):
        if i < j and shapely.relate_pattern(polygons[i], polygons[j], "T********"):
            return False
    return True


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

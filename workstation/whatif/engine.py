"""The what-if geometry engine: every figure of an area, kept up to date while a vertex of its boundary is dragged.

When one vertex moves from ``old`` to ``new``, the only points whose inside/outside state can change lie in the two
triangles (prev, old, new) and (old, new, next): a point flips exactly when it lies in one of them (the even-odd rule
applied to the two closed loops the move adds). Inserting a vertex ``q`` between ``a`` and ``b`` flips the triangle
(a, q, b); deleting vertex ``v`` flips (prev, v, next). A grid index (cells of ~100 m, CSR layout: the points sorted
by cell plus the offset of each cell) finds the few thousand candidates of a triangle among a million points; the
inside flags of those that lie in it are flipped and a histogram of inside points per (measure membership, date window)
code is adjusted. Counts per measure and window come from that histogram with one small matrix product. Any other
change (several vertices at once, the whole shape moved, a new shape) is a full resync; so is the release of a drag.

Coordinates are WGS84 lon/lat, treated as planar for membership exactly like ``geo.contains`` (shapely), so the live
figures equal those of the reports. Areas are geodesic (equal-area) square miles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from workstation.engine import geometry as geo
from workstation.engine import periods
from workstation.core.commands import Shape, freeze_shape
from workstation.core.errors import UserError
from workstation.reports.rules import pct_change

METRES_PER_DEG_LAT = 110_574.0
METRES_PER_DEG_LON_EQUATOR = 111_320.0
MAX_CELLS = 4_000_000

DEFAULT_KEY_MEASURES = ("part1_violent", "firearm_violent_crime", "homicides", "nonfatal_shooting_victims",
                        "shotspotter_activations", "part1_property", "part1_total")
SHARE_MEASURE = "part1_violent"
WINDOWS = ("wtd", "28d", "ytd")  # each with its twin a year earlier


class InvalidShape(UserError):
    """A boundary that cannot be used (it crosses itself, has too few corners, ...); the last valid one is kept."""


# ---------------------------------------------------------------------------------------------------------------------
class GridIndex:
    """Points bucketed in a regular grid over lon/lat, stored sorted by cell (CSR): ``starts[c]:starts[c+1]`` are the
    sorted positions of cell ``c``. Positions are in "cell units" (u, v) = ((lon - lon0)/dx, (lat - lat0)/dy), an
    affine map of lon/lat, so point-in-triangle answers are the same as in lon/lat."""

    def __init__(self, lon, lat, cell_m: float = 100.0, extent: tuple[float, float, float, float] | None = None):
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        if lon.shape != lat.shape or lon.ndim != 1:
            raise ValueError("lon and lat must be 1-D arrays of the same length")
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise ValueError("GridIndex takes located points only (drop NaN coordinates first)")
        self.n = lon.size
        if extent is None:
            if self.n:
                extent = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
            else:
                extent = (0.0, 0.0, 1e-3, 1e-3)
        x0, y0, x1, y1 = extent
        lat_mid = 0.5 * (y0 + y1)
        self.dx = cell_m / (METRES_PER_DEG_LON_EQUATOR * max(math.cos(math.radians(lat_mid)), 0.01))
        self.dy = cell_m / METRES_PER_DEG_LAT
        w, h = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
        while (w / self.dx + 1) * (h / self.dy + 1) > MAX_CELLS:
            self.dx *= 2.0
            self.dy *= 2.0
        self.x0, self.y0 = x0, y0
        self.ncols = int(w / self.dx) + 1
        self.nrows = int(h / self.dy) + 1
        u = (lon - x0) / self.dx
        v = (lat - y0) / self.dy
        # Points outside the extent go to the border cells: they are still found (and tested exactly) there.
        col = np.clip(np.floor(u), 0, self.ncols - 1).astype(np.int64)
        row = np.clip(np.floor(v), 0, self.nrows - 1).astype(np.int64)
        cell = row * self.ncols + col
        self.order = np.argsort(cell, kind="stable")        # sorted position -> input position
        self.u = u[self.order]
        self.v = v[self.order]
        self.starts = np.zeros(self.ncols * self.nrows + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell, minlength=self.ncols * self.nrows), out=self.starts[1:])

    def to_uv(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.x0) / self.dx, (lat - self.y0) / self.dy

    def rect(self, umin: float, vmin: float, umax: float, vmax: float) -> np.ndarray:
        """Sorted positions of the points in every cell that meets the rectangle (a superset of those inside it)."""
        c0 = min(max(int(math.floor(umin)), 0), self.ncols - 1)
        c1 = min(max(int(math.floor(umax)), 0), self.ncols - 1)
        r0 = min(max(int(math.floor(vmin)), 0), self.nrows - 1)
        r1 = min(max(int(math.floor(vmax)), 0), self.nrows - 1)
        base = np.arange(r0, r1 + 1, dtype=np.int64) * self.ncols
        s = self.starts[base + c0]
        e = self.starts[base + c1 + 1]
        lens = e - s
        total = int(lens.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        if lens.size == 1:
            return np.arange(s[0], e[0], dtype=np.int64)
        # concatenated ranges s[i]:e[i] without a Python loop
        return np.arange(total, dtype=np.int64) + np.repeat(s - (np.cumsum(lens) - lens), lens)

    def in_triangle(self, a, b, c) -> np.ndarray:
        """Sorted positions of the points strictly inside triangle abc (vertices in cell units)."""
        (ax, ay), (bx, by), (cx, cy) = a, b, c
        orient = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if orient == 0.0:
            return np.empty(0, dtype=np.int64)            # a degenerate triangle holds no point
        if orient < 0:
            bx, by, cx, cy = cx, cy, bx, by               # make it counter-clockwise
        cand = self.rect(min(ax, bx, cx), min(ay, by, cy), max(ax, bx, cx), max(ay, by, cy))
        if cand.size == 0:
            return cand
        pu = self.u[cand]
        pv = self.v[cand]
        ok = (bx - ax) * (pv - ay) - (by - ay) * (pu - ax) > 0
        ok &= (cx - bx) * (pv - by) - (cy - by) * (pu - bx) > 0
        ok &= (ax - cx) * (pv - cy) - (ay - cy) * (pu - cx) > 0
        return cand[ok]

    def in_rect_lonlat(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        a = self.to_uv(x0, y0)
        b = self.to_uv(x1, y1)
        return self.rect(a[0], a[1], b[0], b[1])


class FlipLayer:
    """Points with a histogram code and a weight, and which of them are inside the current shape.

    ``hist[k]`` is the summed weight of the inside points with code ``k``; it is adjusted point by point as triangles
    flip, and rebuilt by ``reset``.
    """

    def __init__(self, lon, lat, codes, n_codes: int, weights=None, cell_m: float = 100.0, extent=None):
        self.index = GridIndex(lon, lat, cell_m, extent)
        order = self.index.order
        self.code = np.asarray(codes, dtype=np.int32)[order]     # int32: half the memory traffic of a gather
        self.weight = None if weights is None else np.asarray(weights, dtype="float64")[order]
        self.n_codes = int(n_codes)
        self.inside = np.zeros(self.index.n, dtype=bool)
        self.hist = np.zeros(self.n_codes, dtype="float64")
        self.lon = np.asarray(lon, dtype="float64")[order]
        self.lat = np.asarray(lat, dtype="float64")[order]

    def _bincount(self, pos: np.ndarray) -> np.ndarray:
        if self.weight is None:
            return np.bincount(self.code[pos], minlength=self.n_codes)
        return np.bincount(self.code[pos], weights=self.weight[pos], minlength=self.n_codes)

    def flip_triangle(self, a_ll, b_ll, c_ll) -> int:
        """Flip the points inside the triangle given in lon/lat; returns how many flipped."""
        ix = self.index
        pos = ix.in_triangle(ix.to_uv(*a_ll), ix.to_uv(*b_ll), ix.to_uv(*c_ll))
        if pos.size == 0:
            return 0
        now_in = ~self.inside[pos]
        self.inside[pos] = now_in
        entering = pos[now_in]
        leaving = pos[~now_in]
        if entering.size:
            self.hist += self._bincount(entering)
        if leaving.size:
            self.hist -= self._bincount(leaving)
        return int(pos.size)

    def reset(self, geom) -> None:
        """Inside flags and histogram from scratch: the grid narrows the candidates to the shape's bounding box."""
        self.inside[:] = False
        if geom is not None and self.index.n:
            import shapely

            x0, y0, x1, y1 = geom.bounds
            cand = self.index.in_rect_lonlat(x0, y0, x1, y1)
            if cand.size:
                shapely.prepare(geom)
                hit = shapely.contains_xy(geom, self.lon[cand], self.lat[cand])
                self.inside[cand[hit]] = True
        pos = np.flatnonzero(self.inside)
        self.hist = self._bincount(pos).astype("float64") if pos.size else np.zeros(self.n_codes)

    def full_hist(self, geom) -> np.ndarray:
        """The histogram by a plain full scan (``shapely.contains_xy`` over every point): the reference."""
        import shapely

        hit = shapely.contains_xy(geom, self.lon, self.lat)
        pos = np.flatnonzero(hit)
        return self._bincount(pos).astype("float64")


# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowFigure:
    kind: str          # "wtd" | "28d" | "ytd"
    current: float
    prior: float | None  # the same window a year earlier; None when the records do not reach back to it
    change: float | None  # fraction (-0.18 for -18%); None from a zero base


@dataclass(frozen=True)
class MeasureFigure:
    id: str
    label: str
    direction: str
    windows: tuple[WindowFigure, ...]
    city: tuple[float, ...] = ()  # citywide current count per window, same order

    def window(self, kind: str) -> WindowFigure:
        for w in self.windows:
            if w.kind == kind:
                return w
        raise KeyError(kind)


@dataclass(frozen=True)
class AreaFigures:
    """Every figure of the edited area at one moment."""

    area_sq_mi: float
    city_area_sq_mi: float | None
    share_of_city_area: float | None     # fraction
    measures: tuple[MeasureFigure, ...]
    share_measure: str | None             # the measure whose city share and PAI are reported
    share_label: str
    share_window: str
    n_area: float
    n_city: float
    share_of_city_crime: float | None     # fraction
    pai: float | None
    population: float | None
    population_note: str                  # the source and its method in words, for the panel
    as_of: str | None
    vertices: int
    population_source: str = ""           # "census layer NAME" | "boundary file" | "district density estimate" ...

    def measure(self, mid: str) -> MeasureFigure:
        for m in self.measures:
            if m.id == mid:
                return m
        raise KeyError(mid)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


@dataclass
class MeasureSpec:
    """A key measure as the engine needs it: which points count and with what weight."""

    id: str
    label: str
    direction: str = "crime"


class WhatIf:
    """The live model of one area being edited.

    Built from located points with, per point, a bitmask of the key measures it counts toward (``member_bits``),
    a bitmask of the date windows it falls in (``window_bits``; bit 2*i is window i, bit 2*i+1 its year-earlier twin)
    and optionally a weight (activity counts). ``city_counts[m, w]`` are the citywide totals (including records with
    no location). Use ``set_shape`` for a new shape, ``move_vertex``/``insert_vertex``/``delete_vertex`` (or
    ``update_shape``, which works out which one a new ring is) while dragging.
    """

    def __init__(self, lon, lat, member_bits, window_bits, measures: Sequence[MeasureSpec],
                 city_counts: np.ndarray, *, weights=None, windows: Sequence[str] = WINDOWS,
                 city_area_sq_mi: float | None = None, population_model=None, population_source: str = "",
                 share_measure: str | None = SHARE_MEASURE, share_window: str = "ytd", as_of=None,
                 cell_m: float = 100.0, extent=None, prior_known=None):
        self.measures = list(measures)
        self.windows = tuple(windows)
        # prior_known[m, w]: the measure's records reach back to window w's year-earlier twin (else it is unknown,
        # shown blank as on the CompStat grid, not as 0)
        self.prior_known = np.ones((len(self.measures), len(self.windows)), dtype=bool) if prior_known is None \
            else np.asarray(prior_known, dtype=bool).reshape(len(self.measures), len(self.windows))
        member_bits = np.asarray(member_bits, dtype=np.uint64)
        window_bits = np.asarray(window_bits, dtype=np.uint64)
        # One histogram code per distinct (measures, windows) combination: a few dozen codes for a million points.
        combo = (member_bits << np.uint64(16)) | window_bits
        uniq, codes = np.unique(combo, return_inverse=True)
        m_of = uniq >> np.uint64(16)
        w_of = uniq & np.uint64(0xFFFF)
        nm, nw = len(self.measures), 2 * len(self.windows)
        self._member = ((m_of[:, None] >> np.arange(nm, dtype=np.uint64)) & np.uint64(1)).astype("float64")
        self._inwin = ((w_of[:, None] >> np.arange(nw, dtype=np.uint64)) & np.uint64(1)).astype("float64")
        self.layer = FlipLayer(lon, lat, codes.reshape(-1), len(uniq), weights, cell_m, extent)
        self.city_counts = np.asarray(city_counts, dtype="float64").reshape(nm, nw)
        self.city_area = city_area_sq_mi
        # population: areal weighting over census blocks (or the districts) kept up to date like the area itself; an
        # area whose boundary file states its population is anchored to that figure (``anchor_population``)
        self.pop_model = population_model
        self.population_source = population_source
        self._pop = 0.0
        self._housing = None                    # housing units inside, when the census layer has them
        self._anchor: tuple | None = None       # (shape, offset) while editing an area with a stated population
        self.stated_populations: dict = {}      # area key -> (stated population, geometry), set by build_whatif
        ids = [m.id for m in self.measures]
        self.share_measure = share_measure if share_measure in ids else None
        self.share_window = share_window
        self.as_of = None if as_of is None else str(periods.to_date(as_of))
        self._parts: list[list[np.ndarray]] = []
        self._signed: list[list[float]] = []
        self._geom = None
        self._area = 0.0
        from pyproj import Geod

        self._geod = Geod(ellps="WGS84")

    # ---- the shape ----
    @property
    def shape(self) -> Shape:
        return tuple(tuple(tuple(map(tuple, r.tolist())) for r in part) for part in self._parts)

    @property
    def geometry(self):
        return self._geom

    @property
    def vertex_count(self) -> int:
        return sum(len(r) for part in self._parts for r in part)

    @staticmethod
    def _geometry_of(parts):
        import shapely

        polys = [shapely.Polygon(part[0], holes=[r for r in part[1:]] or None) for part in parts]
        return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)

    def _checked(self, parts):
        for part in parts:
            for r in part:
                if len(r) < 3:
                    raise InvalidShape("A boundary needs at least three corners; that vertex cannot be deleted.")
        geom = self._geometry_of(parts)
        problem = geo.validity_problem(geom)
        if problem:
            raise InvalidShape(problem)
        return geom

    def _ring_areas(self) -> list[list[float]]:
        """Signed geodesic area (m2) of every ring."""
        return [[float(self._geod.polygon_area_perimeter(r[:, 0], r[:, 1])[0]) for r in part]
                for part in self._parts]

    def _area_from_rings(self) -> float:
        a = sum(abs(part[0]) - sum(abs(h) for h in part[1:]) for part in self._signed)
        return a / geo.SQ_METRES_PER_SQ_MILE

    def _loop_area(self, pts) -> float:
        """Signed geodesic area of a small closed loop: the change a vertex edit makes to its ring's area (the area
        of a ring is a sum over its edges, so replacing edges adds the loop they form)."""
        return float(self._geod.polygon_area_perimeter([p[0] for p in pts], [p[1] for p in pts])[0])

    def set_shape(self, shape) -> AreaFigures:
        """Take a whole new shape (a shapely polygon or nested rings) and recompute everything: the full resync."""
        frozen = freeze_shape(shape)
        if not frozen:
            raise InvalidShape("The shape is empty.")
        parts = [[np.array(r, dtype="float64") for r in part] for part in frozen]
        geom = self._checked(parts)
        self._parts, self._geom = parts, geom
        self.layer.reset(geom)
        self._reset_population()
        self._signed = self._ring_areas()
        self._area = self._area_from_rings()
        return self.figures()

    def _reset_population(self) -> None:
        if self.pop_model is not None and self._geom is not None:
            self._pop = self.pop_model.within(self._geom)
            self._housing = self.pop_model.housing_within(self._geom)

    def anchor_population(self, area_key: str | None) -> None:
        """Editing an area whose boundary file states its population: show that figure for its own shape and, for an
        edited shape, that figure plus the estimate's change (``stated_populations`` comes from build_whatif)."""
        self._anchor = None
        found = self.stated_populations.get(area_key or "")
        if found and self.pop_model is not None:
            stated, geom = found
            from workstation.core.commands import freeze_shape

            self._anchor = (freeze_shape(geom), float(stated) - self.pop_model.within(geom))

    def population(self) -> tuple[float | None, str]:
        """(population inside the current shape, its source) by the rule of workstation.engine.population."""
        from workstation.engine.population import BOUNDARY_FILE, DENSITY, whole_people

        if self.pop_model is None or self._geom is None:
            return None, ""
        if self._anchor is not None:
            shape, offset = self._anchor
            if self.shape == shape:
                return whole_people(self._pop + offset), BOUNDARY_FILE
            return max(whole_people(self._pop + offset), 0.0), f"{BOUNDARY_FILE}, adjusted by {DENSITY} for the changed shape"
        return max(whole_people(self._pop), 0.0), self.population_source

    def resync(self) -> AreaFigures:
        """Recompute from the current shape (on mouse release: clears any rounding a long drag could gather)."""
        if self._geom is not None:
            self.layer.reset(self._geom)
            self._reset_population()
            self._signed = self._ring_areas()
            self._area = self._area_from_rings()
        return self.figures()

    def _ring(self, part: int, ring: int) -> np.ndarray:
        try:
            return self._parts[part][ring]
        except IndexError:
            raise IndexError(f"the shape has no ring {ring} in part {part}") from None

    def _replace(self, part: int, ring: int, new_ring: np.ndarray, triangles, loop) -> AreaFigures:
        parts = [list(p) for p in self._parts]
        parts[part][ring] = new_ring
        geom = self._checked(parts)                       # raises before anything changes
        self._parts, self._geom = parts, geom
        for tri in triangles:
            self.layer.flip_triangle(*tri)
        if self.pop_model is not None:
            # the loop adds to the ring's signed area; an outer ring's population grows with |area|, a hole's shrinks
            sign = (1.0 if ring == 0 else -1.0) * (1.0 if self._signed[part][ring] >= 0 else -1.0)
            if self._housing is not None:
                dp, dh = self.pop_model.loop(loop, housing=True)
                self._pop += sign * dp
                self._housing += sign * dh
            else:
                self._pop += sign * self.pop_model.loop(loop)
        self._signed[part][ring] += self._loop_area(loop)
        self._area = self._area_from_rings()
        return self.figures()

    def move_vertex(self, part: int, ring: int, index: int, lon: float, lat: float) -> AreaFigures:
        r = self._ring(part, ring)
        n = len(r)
        i = index % n
        old = (float(r[i, 0]), float(r[i, 1]))
        new = (float(lon), float(lat))
        if old == new:
            return self.figures()
        prev = (float(r[i - 1, 0]), float(r[i - 1, 1]))
        nxt = (float(r[(i + 1) % n, 0]), float(r[(i + 1) % n, 1]))
        nr = r.copy()
        nr[i] = new
        return self._replace(part, ring, nr, [(prev, old, new), (old, new, nxt)], (prev, new, nxt, old))

    def insert_vertex(self, part: int, ring: int, index: int, lon: float, lat: float) -> AreaFigures:
        """Insert a vertex before position ``index`` (between ``index - 1`` and ``index``)."""
        r = self._ring(part, ring)
        n = len(r)
        i = index if 0 <= index <= n else index % (n + 1)
        a = r[(i - 1) % n]
        b = r[i % n]
        q = (float(lon), float(lat))
        nr = np.insert(r, i, q, axis=0)
        a_, b_ = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
        return self._replace(part, ring, nr, [(a_, q, b_)], (a_, q, b_))

    def delete_vertex(self, part: int, ring: int, index: int) -> AreaFigures:
        r = self._ring(part, ring)
        n = len(r)
        if n <= 3:
            raise InvalidShape("A boundary needs at least three corners; that vertex cannot be deleted.")
        i = index % n
        a, v, b = r[i - 1], r[i], r[(i + 1) % n]
        nr = np.delete(r, i, axis=0)
        tri = ((float(a[0]), float(a[1])), (float(v[0]), float(v[1])), (float(b[0]), float(b[1])))
        return self._replace(part, ring, nr, [tri], (tri[0], tri[2], tri[1]))

    def update_shape(self, shape) -> tuple[str, AreaFigures]:
        """Take the shape a view reports during a drag. When it differs from the current one by one moved, inserted
        or deleted vertex, update incrementally; otherwise resync fully. Returns ("move" | "insert" | "delete" |
        "full" | "same", figures). Raises ``InvalidShape`` (keeping the last valid shape) when it is not usable."""
        new = freeze_shape(shape)
        old = self.shape
        if new == old:
            return "same", self.figures()
        if len(new) == len(old) and all(len(a) == len(b) for a, b in zip(new, old)):
            diffs = [(p, k) for p, (pa, pb) in enumerate(zip(new, old)) for k, (ra, rb) in enumerate(zip(pa, pb))
                     if ra != rb]
            if len(diffs) == 1:
                p, k = diffs[0]
                ra, rb = new[p][k], old[p][k]
                if len(ra) == len(rb):
                    changed = [i for i, (x, y) in enumerate(zip(ra, rb)) if x != y]
                    if len(changed) == 1:
                        i = changed[0]
                        return "move", self.move_vertex(p, k, i, *ra[i])
                elif len(ra) == len(rb) + 1:
                    i = _first_difference(ra, rb)
                    if ra[:i] + ra[i + 1:] == rb:
                        return "insert", self.insert_vertex(p, k, i, *ra[i])
                elif len(ra) == len(rb) - 1:
                    i = _first_difference(rb, ra)
                    if rb[:i] + rb[i + 1:] == ra:
                        return "delete", self.delete_vertex(p, k, i)
        return "full", self.set_shape(new)

    # ---- figures ----
    def counts(self) -> np.ndarray:
        """Inside counts per (measure, window slot): slots 2*i (window i) and 2*i+1 (a year earlier)."""
        return (self._member * self.layer.hist[:, None]).T @ self._inwin

    def full_counts(self, geom=None) -> np.ndarray:
        """The same counts by a full ``shapely.contains_xy`` scan of every point: the reference for checks."""
        hist = self.layer.full_hist(self._geom if geom is None else geom)
        return (self._member * hist[:, None]).T @ self._inwin

    def figures(self) -> AreaFigures:
        c = self.counts()
        # counts built by adding and subtracting weights: snap float noise back to the integer it stands for
        r = np.rint(c)
        c = np.where(np.abs(c - r) < 1e-6, r, c).tolist()
        city = self.city_counts[:, 0::2].tolist()
        measures = []
        for mi, m in enumerate(self.measures):
            row = c[mi]
            priors = [row[2 * wi + 1] if self.prior_known[mi, wi] else None for wi in range(len(self.windows))]
            wins = tuple(WindowFigure(kind, row[2 * wi], priors[wi], pct_change(row[2 * wi], priors[wi]))
                         for wi, kind in enumerate(self.windows))
            measures.append(MeasureFigure(m.id, m.label, m.direction, wins, tuple(city[mi])))
        area = self._area
        share_area = (area / self.city_area) if self.city_area else None
        n_area = n_city = 0.0
        share = pai = None
        label = ""
        if self.share_measure is not None and self.share_window in self.windows:
            mi = [m.id for m in self.measures].index(self.share_measure)
            wi = self.windows.index(self.share_window)
            label = self.measures[mi].label
            n_area = c[mi][2 * wi]
            n_city = float(self.city_counts[mi, 2 * wi])
            if n_city > 0:
                share = n_area / n_city
                if share_area:
                    pai = share / share_area
        from workstation.engine.population import Population, whole_people

        pop, source = self.population()
        return AreaFigures(
            area_sq_mi=area, city_area_sq_mi=self.city_area, share_of_city_area=share_area,
            measures=tuple(measures), share_measure=self.share_measure, share_label=label,
            share_window=self.share_window, n_area=n_area, n_city=n_city, share_of_city_crime=share, pai=pai,
            population=pop, population_note=Population(
                pop, source, None if self._housing is None or self._anchor is not None else
                max(whole_people(self._housing), 0.0)).note if pop is not None else "",
            population_source=source if pop is not None else "",
            as_of=self.as_of, vertices=self.vertex_count)


def _first_difference(longer: tuple, shorter: tuple) -> int:
    for i, (a, b) in enumerate(zip(longer, shorter)):
        if a != b:
            return i
    return len(shorter)


# ---------------------------------------------------------------------------------------------------------------------
# Building the engine from a workspace.
@dataclass
class _Units:
    lon: list = field(default_factory=list)
    lat: list = field(default_factory=list)
    mbits: list = field(default_factory=list)
    wbits: list = field(default_factory=list)
    weight: list = field(default_factory=list)


def window_bits(days: np.ndarray, as_of, windows: Sequence[str] = WINDOWS) -> np.ndarray:
    """Bit 2*i set where the day falls in window i as of ``as_of``; bit 2*i+1 where it falls in its twin a year
    earlier."""
    out = np.zeros(days.shape, dtype=np.uint64)
    for i, kind in enumerate(windows):
        w = periods.window(kind, as_of)
        for k, win in ((0, w), (1, w.shifted(1))):
            inside = (days >= win.start_day) & (days <= win.end_day)
            out[inside] |= np.uint64(1 << (2 * i + k))
    return out


def city_area_sq_miles(ws) -> float | None:
    from workstation.engine.areas import city_geometry

    city = city_geometry(ws)
    return None if city is None or city.is_empty else geo.area_sq_miles(city)


def stated_populations(ws) -> dict:
    """Area key -> (stated population, geometry) for the areas whose population comes from their boundary file (none
    when a census layer gives every area's population); a scenario answers with the area it was drawn from."""
    from workstation.engine.areas import area_key
    from workstation.engine.population import BOUNDARY_FILE, area_population

    out = {}
    for a in ws.areas:
        if a.kind == "city" or a.geometry is None:
            continue
        pop = area_population(ws, a)
        if not pop.source.startswith(BOUNDARY_FILE):
            continue
        if a.kind == "scenario":
            base = ws.area(a.base, "target_area") if a.base else None
            if base is not None and base.population:
                out[area_key(a)] = (base.population, base.geometry)
        elif a.population:
            out[area_key(a)] = (a.population, a.geometry)
    return out


def measure_selection(ws, measure, analysis=None) -> tuple[np.ndarray, np.ndarray | None]:
    """The records of the measure's dataset that it counts (mask over the frame's rows) and their weights (None:
    each counts 1), by the CompStat engine's own rules (its counting rule: offense or hierarchy).

    "incidents" counts keep the first record of each incident; "sum_count"/"sum_quantity" weigh each record.
    """
    from workstation.engine.analysis import analysis_for, counting_rule

    df = ws.frames[measure.dataset]
    if len(df):
        ix = (analysis or analysis_for(ws)).index(measure.dataset)
        mask = np.zeros(len(df), dtype=bool)
        mask[ix.order] = ix.selector(measure, counting_rule(ws))[ix.atoms] > 0
    else:
        mask = np.zeros(0, dtype=bool)
    if measure.count == "incidents" and mask.any():
        ids = df["incident_id"].astype("str").to_numpy()
        first = np.zeros(len(df), dtype=bool)
        sel = np.flatnonzero(mask)
        _, first_pos = np.unique(ids[sel], return_index=True)
        first[sel[first_pos]] = True
        mask = first
    weights = None
    if measure.count == "sum_count":
        weights = df["count"].to_numpy(dtype="float64")
    elif measure.count == "sum_quantity":
        weights = np.nan_to_num(df["quantity"].to_numpy(dtype="float64"))
    return mask, weights


def build_whatif(ws, as_of=None, key_measures: Iterable[str] | None = None, *, cell_m: float = 100.0,
                 share_measure: str = SHARE_MEASURE, share_window: str = "ytd", catalog=None) -> WhatIf:
    """The engine for a workspace: its key measures (default ``DEFAULT_KEY_MEASURES``, skipping those whose dataset
    is empty), the CompStat windows as of ``as_of`` (default: the newest record), city area and population."""
    from workstation.engine import measures as measures_mod

    cat = catalog or measures_mod.catalog_for(ws)
    as_of = ws.as_of() if as_of is None else as_of
    wanted = list(key_measures) if key_measures is not None else [
        m for m in DEFAULT_KEY_MEASURES if m in cat and len(ws.frames[cat.get(m).dataset])]
    specs = [cat.get(m) for m in wanted]
    specs = [m for m in specs if m.is_count]
    if len(specs) > 48:
        raise UserError("At most 48 key measures can be followed live while editing a boundary.")
    nm, nw = len(specs), 2 * len(WINDOWS)
    city_counts = np.zeros((nm, nw))
    # group the measures by (dataset, weighting) so that a record is one point per group, with a bit per measure
    groups: dict[tuple[str, str], list[int]] = {}
    for mi, m in enumerate(specs):
        kind = m.count if m.count in ("sum_count", "sum_quantity") else "records"
        groups.setdefault((m.dataset, kind), []).append(mi)
    units = _Units()
    for (dataset, kind), mis in groups.items():
        df = ws.frames[dataset]
        if not len(df) or as_of is None:
            continue
        days = periods.day_numbers(df["occurred"].to_numpy())
        wb = window_bits(days, as_of)
        mb = np.zeros(len(df), dtype=np.uint64)
        weight = None
        for mi in mis:
            mask, w = measure_selection(ws, specs[mi])
            mb[mask] |= np.uint64(1 << mi)
            weight = w if w is not None else weight
            ww = np.ones(len(df)) if w is None else w
            for slot in range(nw):
                city_counts[mi, slot] = float(ww[mask & ((wb >> np.uint64(slot)) & np.uint64(1)).astype(bool)].sum())
        lon = df["lon"].to_numpy(dtype="float64")
        lat = df["lat"].to_numpy(dtype="float64")
        keep = (mb != 0) & (wb != 0) & np.isfinite(lon) & np.isfinite(lat)
        units.lon.append(lon[keep])
        units.lat.append(lat[keep])
        units.mbits.append(mb[keep])
        units.wbits.append(wb[keep])
        units.weight.append(np.ones(int(keep.sum())) if weight is None else weight[keep])
    cat_ = (lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dtype=dt))
    lon, lat = cat_(units.lon, "float64"), cat_(units.lat, "float64")
    weights = cat_(units.weight, "float64")
    weighted = bool(weights.size) and not np.all(weights == 1.0)
    from workstation.engine.population import population_model

    pop = population_model(ws)
    city = ws.city.geometry if ws.city is not None else None
    extent = city.bounds if city is not None and not city.is_empty else None
    engine = WhatIf(lon, lat, cat_(units.mbits, "uint64"), cat_(units.wbits, "uint64"),
                    [MeasureSpec(m.id, m.label, m.direction) for m in specs], city_counts,
                    weights=weights if weighted else None, city_area_sq_mi=city_area_sq_miles(ws),
                    population_model=pop, population_source=pop.label if pop is not None else "",
                    share_measure=share_measure, share_window=share_window, as_of=as_of, cell_m=cell_m,
                    extent=extent, prior_known=_prior_known(ws, specs, as_of))
    engine.stated_populations = stated_populations(ws)
    return engine


def _prior_known(ws, specs, as_of) -> np.ndarray:
    """[measure, window]: whether the measure's records reach back to the window a year earlier (the CompStat
    grid's coverage rule, Analysis.covers)."""
    from workstation.engine.analysis import analysis_for

    out = np.ones((len(specs), len(WINDOWS)), dtype=bool)
    if as_of is None:
        return out
    eng = analysis_for(ws)
    for mi, m in enumerate(specs):
        for wi, kind in enumerate(WINDOWS):
            out[mi, wi] = eng.covers(m.dataset, periods.window(kind, as_of).shifted(1))
    return out


# ---------------------------------------------------------------------------------------------------------------------
class BoundaryEditor:
    """One boundary being edited: the engine, the undo stack and the protocol with the map view (Qt-free).

    The view reports shapes as messages ``{"kind": "start" | "drag" | "edit" | "created", "final": bool,
    "shape": [[ring, hole...], ...]}`` (rings of [lon, lat]); ``handle`` answers each with the figures, or with a
    refusal. A drag is previewed (incremental counts) and becomes one undo step when its final message arrives (then
    the engine resyncs fully). A self-crossing shape is refused: the engine keeps the last valid shape and, on the
    final message, the answer carries that shape for the view to put back. Undo/redo apply a shape to the engine and
    call ``show_shape`` so that the view displays it without echoing it back as an edit.
    """

    def __init__(self, engine: WhatIf, shape, *, area_key: str = "", stack=None,
                 show_shape=None, on_figures=None) -> None:
        from workstation.core.commands import CommandStack

        self.engine = engine
        self.area_key = area_key
        self.stack = stack if stack is not None else CommandStack()
        self.show_shape = show_shape          # callable(Shape): put this shape on the map (undo/redo, refusal)
        self.on_figures = on_figures          # callable(AreaFigures, message or None): the side panel
        engine.anchor_population(area_key)
        self.figures = engine.set_shape(shape)
        self.committed: Shape = engine.shape  # the shape as of the last finished edit/undo/redo
        self.message = ""
        self.updates = 0

    @property
    def shape(self) -> Shape:
        return self.engine.shape

    def _apply(self, shape) -> None:
        self.figures = self.engine.set_shape(shape)
        self.committed = self.engine.shape
        self.message = ""
        if self.show_shape is not None:
            self.show_shape(self.committed)
        if self.on_figures is not None:
            self.on_figures(self.figures, None)

    def handle(self, msg: dict) -> dict:
        from workstation.core.commands import BoundaryEdit, describe_edit, ring_list

        if self.stack.applying:
            return {"ok": True, "ignored": True}
        final = bool(msg.get("final"))
        shape = msg.get("shape")
        kind = "same"
        refused = None
        if shape:
            try:
                kind, self.figures = self.engine.update_shape(shape)
                self.message = ""
            except InvalidShape as exc:
                refused = str(exc)
                self.message = refused
        self.updates += 1
        if final:
            self.figures = self.engine.resync()
            before, after = self.committed, self.engine.shape
            if before != after:
                self.stack.record(BoundaryEdit(apply=self._apply, before=before, after=after,
                                               label=describe_edit(before, after), area_key=self.area_key))
            self.committed = after
        if self.on_figures is not None:
            self.on_figures(self.figures, refused)
        answer = {"ok": refused is None, "kind": kind, "figures": figures_summary(self.figures)}
        if refused is not None:
            answer.update(refused=True, message=refused)
            if final:
                answer.update(revert=True, shape=ring_list(self.engine.shape))
        return answer

    def set_shape(self, shape, label: str = "new shape") -> AreaFigures:
        """Replace the whole shape as one undoable step (a shape drawn anew, a scenario loaded)."""
        from workstation.core.commands import BoundaryEdit, freeze_shape

        before = self.committed
        after = freeze_shape(shape)
        self.engine.set_shape(after)              # raises InvalidShape before anything is recorded
        self.stack.push(BoundaryEdit(apply=self._apply, before=before, after=self.engine.shape, label=label,
                                     area_key=self.area_key))
        return self.figures

    def undo(self):
        return self.stack.undo()

    def redo(self):
        return self.stack.redo()


def figures_summary(fig: AreaFigures) -> dict:
    """The figures as plain JSON-ready values (for the page and for logs)."""
    return {
        "area_sq_mi": round(fig.area_sq_mi, 4),
        "share_of_city_area": fig.share_of_city_area,
        "share_of_city_crime": fig.share_of_city_crime,
        "pai": fig.pai,
        "population": fig.population,
        "measures": {m.id: {w.kind: [w.current, w.prior] for w in m.windows} for m in fig.measures},
    }

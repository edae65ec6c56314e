"""One population figure for any area, with the method that produced it.

The rule, in order (the same number on the map, in the live what-if panel, on the Summary sheet and in the rate
tables; ``population_source`` names the method):

1. A census layer (a polygon layer with a population field: blocks, block groups or tracts) → the areal-weighted sum:
   each polygon's population × the share of its area inside the area ("census layer NAME"). With housing units in the
   layer, their areal-weighted sum is given too.
2. Otherwise the area's own stated population, if its boundary file gave one ("boundary file"). A what-if scenario
   or a shape being edited has none of its own: it gets the stated population of the area it was drawn from, adjusted
   by the district-density estimate of the difference between the two shapes.
3. Otherwise the district-density estimate: each district's population spread evenly over its area, i.e. the same
   areal weighting over the district polygons ("district density estimate").

Shares of area are taken in lon/lat, where every boundary of the product is drawn and decided (edges are straight in
lon/lat: a projected block would bulge past the city edge it shares). Only shares matter, never areas, and a share of
a block is the same in an equal-area projection to a few parts in a million. ``PopulationPolygons`` also answers the signed population of a small
triangle, which is what the live what-if engine adds and subtracts while a vertex is dragged.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np


CENSUS = "census layer"
BOUNDARY_FILE = "boundary file"
DENSITY = "district density estimate"
POPULATION_LAYER_META = "population_layer"  # workspace meta: the census layer to use when there are several


@dataclass(frozen=True)
class Population:
    value: float | None
    source: str            # "census layer NAME" | "boundary file" | "district density estimate" | ""
    housing: float | None = None

    @property
    def note(self) -> str:
        """The source in a sentence fragment for panels: 'census layer Census blocks (areal-weighted)'."""
        if not self.source:
            return ""
        if self.source.startswith(CENSUS):
            extra = f"; {self.housing:,.0f} housing units" if self.housing is not None else ""
            return f"{self.source}, areal-weighted{extra}"
        if self.source == DENSITY:
            return "district density estimate: each district's population spread evenly over its area"
        return self.source


class PopulationPolygons:
    """Polygons that carry population (census blocks or districts), indexed once for areal weighting."""

    def __init__(self, geometries, population, housing=None, label: str = "") -> None:
        import shapely

        geoms = np.asarray(geometries, dtype=object)
        pop = np.asarray(population, dtype="float64")
        keep = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool) & np.isfinite(pop)
        geoms, pop = geoms[keep], pop[keep]
        hou = None if housing is None else np.nan_to_num(np.asarray(housing, dtype="float64")[keep])
        self.polys = geoms
        areas = shapely.area(self.polys) if len(self.polys) else np.zeros(0)
        ok = areas > 0
        self.polys, pop, areas = self.polys[ok], pop[ok], areas[ok]
        self.areas = areas
        self.density = pop / areas                  # people per unit of lon/lat area
        self.housing_density = None if hou is None else hou[ok] / areas
        self.total = float(pop.sum())
        self.label = label
        self.tree = shapely.STRtree(self.polys)
        shapely.prepare(self.polys)

    def _weighted(self, target, density) -> float:
        import shapely

        if target is None or target.is_empty or not len(self.polys):
            return 0.0
        idx = self.tree.query(target)
        if idx.size == 0:
            return 0.0
        shapely.prepare(target)
        whole = shapely.contains_properly(target, self.polys[idx])  # most blocks of a large area: no clipping
        inside = np.empty(idx.size)
        inside[whole] = self.areas[idx[whole]]
        cut = ~whole
        if cut.any():
            inside[cut] = shapely.area(shapely.intersection(self.polys[idx[cut]], target))
        return float(np.dot(density[idx], inside))

    def within(self, geom_lonlat) -> float:
        """Areal-weighted population inside a lon/lat (Multi)Polygon."""
        return self._weighted(geom_lonlat, self.density)

    def housing_within(self, geom_lonlat) -> float | None:
        if self.housing_density is None:
            return None
        return self._weighted(geom_lonlat, self.housing_density)

    def loop(self, points_lonlat, housing: bool = False):
        """Signed population of a small closed loop given in lon/lat (positive when counter-clockwise): the change a
        vertex edit makes to a ring's population, as ``WhatIf._loop_area`` is the change in its area. The loop is cut
        into triangles fanned from its last point; each adds its population with the sign of its orientation.
        With ``housing``: (population, housing units)."""
        import shapely

        pts = np.asarray(points_lonlat, dtype="float64")
        # fan from the last point: for a moved vertex's loop (prev, new, next, old) that is the old position, so the
        # two triangles hug the moved corner instead of spanning the whole of both edges and cancelling
        pts = np.roll(pts, 1, axis=0)
        zero = (0.0, 0.0) if housing else 0.0
        if len(pts) < 3 or not len(self.polys):
            return zero
        a, b, c = pts[0], pts[1:-1], pts[2:]
        orient = (b[:, 0] - a[0]) * (c[:, 1] - a[1]) - (b[:, 1] - a[1]) * (c[:, 0] - a[0])
        keep = orient != 0.0
        if not keep.any():
            return zero
        aa = np.broadcast_to(a, b.shape)
        tris = shapely.polygons(np.stack([aa, b, c, aa], axis=1)[keep])
        ti, bi = self.tree.query(tris, predicate="intersects")   # (triangle, block) pairs that meet
        if not ti.size:
            return zero
        inside = shapely.area(shapely.intersection(self.polys[bi], tris[ti]))
        signed = np.sign(orient[keep])[ti] * inside
        if housing:
            return float(np.dot(signed, self.density[bi])), float(np.dot(signed, self.housing_density[bi]))
        return float(np.dot(signed, self.density[bi]))


def population_layer(ws):
    """The census layer in use: the one named in the workspace's settings, else the first with a population."""
    want = ws.meta.get(POPULATION_LAYER_META) if isinstance(ws.meta, dict) else None
    layers = [lay for lay in getattr(ws, "layers", []) if lay.has_population]
    for lay in layers:
        if lay.name == want:
            return lay
    return layers[0] if layers else None


_MODELS: dict = {}


def _layer_model(layer) -> PopulationPolygons:
    key = ("layer", layer.name, id(layer.features), len(layer.features))
    m = _MODELS.get(key)
    if m is None:
        f = layer.features
        m = PopulationPolygons(layer.geometries(), f["population"].to_numpy(dtype="float64"),
                               f["housing"].to_numpy(dtype="float64") if layer.has_housing else None,
                               f"{CENSUS} {layer.name}")
        _MODELS.clear()  # one workspace at a time: keep only the newest models
        _MODELS[key] = m
    return m


def _district_model(ws) -> PopulationPolygons | None:
    import shapely

    ds = [d for d in ws.districts if d.population and d.geometry is not None and not d.geometry.is_empty]
    if not ds:
        return None
    key = ("districts", tuple((d.name, float(d.population), shapely.to_wkb(d.geometry)) for d in ds))
    m = _MODELS.get(key)
    if m is None:
        m = PopulationPolygons([d.geometry for d in ds], [d.population for d in ds], label=DENSITY)
        _MODELS[key] = m
    return m


def population_model(ws) -> PopulationPolygons | None:
    """The polygons population is weighted over: the census layer's, else the districts' (density estimate)."""
    layer = population_layer(ws)
    if layer is not None:
        return _layer_model(layer)
    return _district_model(ws)


def geometry_population(ws, geom, stated: float | None = None, stated_geometry=None) -> Population:
    """The population inside ``geom`` by the rule above. ``stated`` is the boundary file's figure for
    ``stated_geometry`` (default: ``geom`` itself)."""
    layer = population_layer(ws)
    if layer is not None and geom is not None:
        m = _layer_model(layer)
        housing = None if m.housing_density is None else whole_people(m.housing_within(geom))
        return Population(_cached(m, geom), m.label, housing)
    dm = _district_model(ws)
    if stated:
        if stated_geometry is None or geom is None or stated_geometry.equals(geom) or dm is None:
            return Population(float(stated), BOUNDARY_FILE)
        adjusted = float(stated) + _cached(dm, geom) - _cached(dm, stated_geometry)
        return Population(max(adjusted, 0.0), f"{BOUNDARY_FILE}, adjusted by {DENSITY} for the changed shape")
    if dm is None or geom is None:
        return Population(None, "")
    return Population(_cached(dm, geom), DENSITY)


def whole_people(x: float) -> float:
    """Snap float noise (a hundredth of a person or less, from projecting and clipping) to the whole number."""
    r = round(x)
    return float(r) if abs(x - r) <= 0.01 else x


def _cached(model: PopulationPolygons, geom) -> float:
    """``model.within(geom)``, remembered per shape: reports ask for the same areas many times."""
    import shapely

    key = shapely.to_wkb(geom)
    cache = model.__dict__.setdefault("_cache", {})
    if key not in cache:
        if len(cache) > 512:
            cache.clear()
        cache[key] = whole_people(model.within(geom))
    return cache[key]


def area_population(ws, area, city_geometry=None) -> Population:
    """The population of a workspace ``Area`` (None: the city, whose outline is then ``city_geometry``: the
    districts' union when the workspace has no outline) by the rule above."""
    if area is None or area.kind == "city":
        geom = city_geometry if city_geometry is not None else (area.geometry if area is not None else None)
        stated = ws.meta.get("population") if isinstance(ws.meta, dict) else None
        stated = stated or (area.population if area is not None else None)
        if population_layer(ws) is None and not stated:
            pops = [d.population for d in ws.districts]
            if pops and all(pops):
                # the districts' own stated figures, summed: still the boundary file's (info --json promises one
                # of the three sources, and the sum is no estimate)
                return Population(float(sum(pops)), BOUNDARY_FILE)
        return geometry_population(ws, geom, stated)
    if area.kind == "scenario":
        base = ws.area(area.base, "target_area") if area.base else None
        if base is not None and base.population:
            return geometry_population(ws, area.geometry, base.population, base.geometry)
        return geometry_population(ws, area.geometry)
    return geometry_population(ws, area.geometry, area.population)

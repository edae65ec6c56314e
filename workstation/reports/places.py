"""Places in the analysis: reference features near an area or a hot-spot cell, and the nearest ones to an incident.

- ``count_near(layer, geometries, distance_ft)``: for each polygon (an area, a Gi* cell), how many of the layer's
  features lie within the distance of it (inside counts as distance 0): "licensed premises within 500 ft".
- ``places_table(ws, area_keys, distance_ft)``: that count for each area and each place layer, as a report table.
- ``nearest(layer, lon, lat)``: each point's nearest feature of the layer and its distance (the shoot review's
  "nearest premises, nearest bus stop").

Distances are measured in a local Lambert azimuthal equal-area projection centred on the layer (metres; within a
city its distances are true to a few parts in ten thousand) and reported in feet, as analysts and the case study
give them.
"""
from __future__ import annotations

import numpy as np

from workstation.engine import geometry as geo
from workstation.reports.table import ReportTable

FT_PER_M = 3.280839895
DEFAULT_DISTANCE_FT = 500.0


class _Projected:
    """A layer's features in a local metre frame, with a spatial index (made once per loaded layer)."""

    def __init__(self, layer) -> None:
        import shapely

        geoms = np.asarray(layer.geometries(), dtype=object)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        self.crs = geo.local_equal_area_crs(0.5 * (x0 + x1), 0.5 * (y0 + y1))
        self.geoms = geo.transform_geometry(geoms, "EPSG:4326", self.crs)
        self.tree = shapely.STRtree(self.geoms)

    def project(self, geoms):
        return geo.transform_geometry(np.asarray(geoms, dtype=object), "EPSG:4326", self.crs)


_CACHE: dict = {}


def _projected(layer) -> _Projected:
    key = (layer.name, id(layer.features), layer.count)
    p = _CACHE.get(key)
    if p is None:
        if len(_CACHE) >= 16:
            _CACHE.clear()
        p = _CACHE[key] = _Projected(layer)
    return p


def place_layers(ws) -> list:
    """The layers that hold places: points (premises, stops, vacant properties) and lines that are not the basemap
    (bus routes); census polygons and the street basemap are context, not places."""
    return [lay for lay in ws.layers if lay.count and (lay.geometry_type == "point" or (
        lay.geometry_type == "line" and not (lay.style or {}).get("basemap")))]


def count_near(layer, geometries, distance_ft: float = DEFAULT_DISTANCE_FT) -> np.ndarray:
    """How many of ``layer``'s features lie within ``distance_ft`` feet of each lon/lat geometry (inside: 0 ft)."""
    if distance_ft < 0:
        raise ValueError("distance must be zero or more")
    geoms = np.asarray(list(geometries), dtype=object)
    out = np.zeros(len(geoms), dtype=np.int64)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not ok.any() or not layer.count:
        return out
    p = _projected(layer)
    targets = p.project(geoms[ok])
    ti, _fi = p.tree.query(targets, predicate="dwithin", distance=float(distance_ft) / FT_PER_M)
    out[np.flatnonzero(ok)] = np.bincount(ti, minlength=len(targets))
    return out


def nearest(layer, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest feature, distance in feet) for each point; -1 and NaN where the point has no
    coordinates or the layer is empty."""
    import shapely

    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    idx = np.full(lon.shape, -1, dtype=np.int64)
    dist = np.full(lon.shape, np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any() or not layer.count:
        return idx, dist
    p = _projected(layer)
    x, y = geo.from_wgs84(lon[ok], lat[ok], p.crs)
    (qi, fi), d = p.tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
    sel = np.flatnonzero(ok)[qi]
    idx[sel] = fi
    dist[sel] = d * FT_PER_M
    return idx, dist


def nearest_places_text(ws, lon, lat) -> list[str]:
    """For each point: "Licensed premises: <label> (120 ft); Bus stops: <label> (340 ft)" over the place layers."""
    lon = np.asarray(lon, dtype="float64")
    parts: list[list[str]] = [[] for _ in range(len(lon))]
    for lay in place_layers(ws):
        idx, dist = nearest(lay, lon, lat)
        labels = lay.features["label"].to_numpy(dtype=object)
        for i, (j, d) in enumerate(zip(idx.tolist(), dist.tolist())):
            if j < 0:
                continue
            lab = labels[j]
            name = f"{lab} " if isinstance(lab, str) and lab else ""
            parts[i].append(f"{lay.name}: {name}({_feet(d)})")
    return ["; ".join(p) for p in parts]


def _feet(d: float) -> str:
    return f"{d:,.0f} ft" if d < 5280 else f"{d / 5280:,.1f} mi"


def places_table(ws, area_keys=None, distance_ft: float = DEFAULT_DISTANCE_FT) -> ReportTable | None:
    """For each area (default: citywide, districts and target areas) the number of each place layer's features
    within ``distance_ft`` feet of it; None when the workspace has no place layers."""
    from workstation.engine.areas import area_choices, resolve_area

    layers = place_layers(ws)
    if not layers:
        return None
    keys = list(area_keys) if area_keys is not None else [k for k, _ in area_choices(ws)
                                                          if not k.startswith("scenario:")]
    refs = [resolve_area(ws, k) for k in keys]
    refs = [r for r in refs if r.geometry is not None]
    counts = {lay.name: count_near(lay, [r.geometry for r in refs], distance_ft) for lay in layers}
    rows = [[r.label] + [int(counts[lay.name][i]) for lay in layers] for i, r in enumerate(refs)]
    notes = [f"Features within {distance_ft:,.0f} ft of each area (inside it, or outside but no farther than that "
             "from its boundary), measured in a local equal-area projection.",
             "Layers: " + "; ".join(f"{lay.name} ({lay.count:,} features from {lay.source or 'unknown'}, loaded "
                                    f"{lay.loaded or 'unknown'})" for lay in layers) + "."]
    return ReportTable(f"Places within {distance_ft:,.0f} ft", ["Area"] + [lay.name for lay in layers],
                       ["label"] + ["count"] * len(layers), rows,
                       row_kinds=["total" if r.kind == "citywide" else "data" for r in refs], notes=notes)


def cell_place_counts(ws, grid, rows, cols, distance_ft: float = DEFAULT_DISTANCE_FT) -> dict[str, list[str]]:
    """For hot-spot cells (``grid`` as the spatial analyses make it: x0, y0, cell_ft and crs; the cells' rows and
    columns): "<layer> within <d> ft" -> the count per cell, as popup text, for every place layer."""
    import shapely

    layers = place_layers(ws)
    rows = np.asarray(rows, dtype="float64")
    cols = np.asarray(cols, dtype="float64")
    if not layers or not rows.size:
        return {}
    c = float(grid.cell_ft)
    boxes = shapely.box(grid.x0 + cols * c, grid.y0 + rows * c, grid.x0 + (cols + 1) * c, grid.y0 + (rows + 1) * c)
    cells = geo.transform_geometry(boxes, grid.crs, "EPSG:4326")
    return {f"{lay.name} within {distance_ft:,.0f} ft": [f"{n:,d}" for n in count_near(lay, cells, distance_ft)]
            for lay in layers}

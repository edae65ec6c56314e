"""Reference layers on the map: streets (the offline basemap), bus routes and stops, premises, census blocks ...

Each layer goes to the page as one compact payload drawn by ``resources/map_local/psp_layers.js`` on a canvas:
coordinates already in Web Mercator (integers in a 2^28 world, ~15 cm), parts with their bounding boxes (so a redraw
skips what is off screen with four comparisons), a feature index per part for labels and popups.

Lines come with two levels of detail. Zoomed out, a street network of ~30,000 block segments is drawn from its
streets merged by name and simplified to what a pixel can show (a few thousand vertices); from ``DETAIL_ZOOM`` on,
the segments themselves, only those on screen. That is what keeps a redraw after a pan well under 100 ms.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

WORLD = float(1 << 28)           # integer Web Mercator: 2^28 units round the world
DETAIL_ZOOM = 15                 # from this zoom on lines are drawn from every segment
LOW_TOLERANCE_DEG = 0.00025      # ~25 m: a pixel at zoom 12 is ~30 m
LAYERS_JS = "local/psp_layers.js"
BASEMAP_PANE_Z = 355             # over the city fill (pspBase 350), under cells (360), records (380), boundaries (400)
OVERLAY_PANE_Z = 385             # places over the records, under the boundaries


@dataclass(frozen=True)
class LayerStyle:
    visible: bool = True
    colour: str = "#5d6d7e"
    width: float = 1.5
    labels: bool = False
    basemap: bool = False

    @classmethod
    def of(cls, layer) -> "LayerStyle":
        s = layer.style or {}
        return cls(bool(s.get("visible", True)), str(s.get("colour") or "#5d6d7e"), float(s.get("width") or 1.5),
                   bool(s.get("labels", False)), bool(s.get("basemap", False)))


def mercator(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat to integer Web Mercator world units (x east, y south, 0..2^28)."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.clip(np.asarray(lat, dtype="float64"), -85.0511, 85.0511)
    s = np.sin(np.radians(lat))
    x = (lon + 180.0) / 360.0
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)
    return np.rint(x * WORLD).astype(np.int64), np.rint(y * WORLD).astype(np.int64)


def _parts(geoms) -> dict:
    """Flat arrays for line or polygon geometries: every line and every ring a part, with the feature it belongs to
    (vectorised: one pass of shapely over all of them)."""
    import shapely

    arr = np.asarray(list(geoms), dtype=object)
    ok = np.array([g is not None and not g.is_empty for g in arr], dtype=bool)
    idx = np.flatnonzero(ok)
    empty = {"n": 0, "off": [0], "x": [], "y": [], "bbox": [], "f": []}
    if not idx.size:
        return empty
    singles, owner = shapely.get_parts(arr[idx], return_index=True)
    owner = idx[owner]
    polys = shapely.get_type_id(singles) == 3
    if polys.any():
        rings, ring_owner = shapely.get_rings(singles[polys], return_index=True)
        lines = singles[~polys]
        line_owner = owner[~polys]
        singles = np.concatenate([lines, rings])
        owner = np.concatenate([line_owner, owner[polys][ring_owner]])
    coords, part = shapely.get_coordinates(singles, return_index=True)
    if not len(coords):
        return empty
    lens = np.bincount(part, minlength=len(singles))
    keep = lens > 0
    x, y = mercator(coords[:, 0], coords[:, 1])
    off = np.concatenate([[0], np.cumsum(lens[keep])])
    starts = off[:-1]
    bbox = np.column_stack([np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts),
                            np.maximum.reduceat(x, starts), np.maximum.reduceat(y, starts)]).ravel()
    return {"n": int(keep.sum()), "off": off.tolist(), "x": x.tolist(), "y": y.tolist(), "bbox": bbox.tolist(),
            "f": owner[keep].tolist()}


def _merged_simplified(geoms, labels) -> tuple[list, list]:
    """Lines merged by label (a street's segments into one line) and simplified for low zooms; (geoms, feature of
    each: the index of a representative original feature, for its label)."""
    import shapely

    groups: dict = {}
    for i, (g, lab) in enumerate(zip(geoms, labels)):
        if g is not None and not g.is_empty:
            groups.setdefault(lab if lab is not None else f"\0{i // 200}", []).append(i)
    out, rep = [], []
    for _, idx in groups.items():
        merged = shapely.line_merge(shapely.union_all(np.asarray(geoms, dtype=object)[idx]))
        out.append(shapely.simplify(merged, LOW_TOLERANCE_DEG, preserve_topology=False))
        rep.append(idx[0])
    return out, rep


_GEOMETRY_CACHE: dict = {}


def _geometry_payload(layer) -> dict:
    """The coordinates part of a payload, made once per loaded layer (merging and simplifying a city's streets takes
    a few tenths of a second; the map is rebuilt whenever an option changes)."""
    import shapely

    key = (layer.name, id(layer.features), layer.count)
    hit = _GEOMETRY_CACHE.get(key)
    if hit is not None:
        return hit
    geoms = layer.geometries()
    labels = layer.features["label"].tolist()
    d = {"kind": layer.geometry_type, "count": layer.count, "detailZoom": DETAIL_ZOOM,
         "label": [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in labels]}
    if layer.geometry_type == "point":
        pts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
        x, y = mercator(shapely.get_x(pts), shapely.get_y(pts))
        d.update(x=x.tolist(), y=y.tolist(), f=owner.tolist())
    else:
        d["detail"] = _parts(geoms)
        if layer.geometry_type == "line":
            low, rep = _merged_simplified(geoms, labels)
            lowp = _parts(low)
            lowp["f"] = [rep[i] for i in lowp["f"]]
            d["low"] = lowp
        else:
            d["low"] = _parts(shapely.simplify(np.asarray(geoms, dtype=object), LOW_TOLERANCE_DEG / 2,
                                               preserve_topology=True))
    if len(_GEOMETRY_CACHE) >= 16:
        _GEOMETRY_CACHE.clear()
    _GEOMETRY_CACHE[key] = d
    return d


def layer_payload(layer) -> dict:
    """The page payload of one layer (see the module docstring): its geometry and its style."""
    style = LayerStyle.of(layer)
    return {"name": layer.name, "colour": style.colour, "width": style.width, "labels": style.labels,
            "basemap": style.basemap, **_geometry_payload(layer)}


def add_layers(m, ws, legend: list, elements, names=None) -> list[str]:
    """Put the workspace's reference layers on the folium map ``m`` (visible ones shown, the rest in the layer
    control); returns the data tags to append to the page. ``elements``: the page's element classes
    (page._elements()); ``names``: only these layers (default: all)."""
    _Own, _PointData, _PointLayer, _Legend = elements
    tags = []
    basemap_rows, overlay_rows = [], []
    ordered = sorted(ws.layers, key=lambda lay: (not LayerStyle.of(lay).basemap,
                                                 {"polygon": 0, "line": 1, "point": 2}[lay.geometry_type]))
    for lay in ordered:
        if names is not None and lay.name not in names:
            continue
        style = LayerStyle.of(lay)
        data = _PointData(json.dumps(layer_payload(lay), separators=(",", ":")))
        tags.append(data.data_tag())
        data.add_to(m)
        pane_z = BASEMAP_PANE_Z if (style.basemap or lay.geometry_type == "polygon") else OVERLAY_PANE_Z
        _PointLayer("PSP.vectorLayer", data.get_name(), {"paneZ": pane_z}, f"{lay.name} ({lay.count:,})",
                    style.visible or style.basemap).add_to(m)
        if not (style.visible or style.basemap):
            continue
        swatch = {"point": f"<span class='dot' style='background:{style.colour}'></span>",
                  "line": f"<span class='line' style='border-color:{style.colour}'></span>",
                  "polygon": f"<span class='sw' style='background:none;border:1px solid {style.colour}'></span>"}
        row = f"<div class='psp-row'>{swatch[lay.geometry_type]}{_esc(lay.name)}</div>"
        (basemap_rows if style.basemap else overlay_rows).append(row)
    if overlay_rows:
        legend.append("<h4>Places</h4>" + "".join(overlay_rows))
    if basemap_rows:
        legend.append("<h4>Basemap</h4>" + "".join(basemap_rows))
    return tags


def _esc(s) -> str:
    from html import escape

    return escape(str(s))

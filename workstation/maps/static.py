"""Printed maps (PNG), drawn headless with matplotlib's Agg renderer: the workbook's and the meeting packet's maps.

They show what the map panel shows, from the same places: the records come from ``page.select_records`` (the CompStat
engine's window and area membership, so a map's counts equal the tables' counts) and the boundaries from the
workspace's areas. Everything is drawn in a local equal-area projection centred on the city (metres), so the scale
bar is true and north is up at the centre.

No pyplot: a ``Figure`` with its own Agg canvas holds no global state, so maps can be drawn in a worker thread while
the application runs, and no GUI toolkit is ever loaded.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field

import numpy as np

from workstation.engine import areas as area_mod
from workstation.engine import geometry as geo
from workstation.maps.page import SELECTED_COLOUR, TARGET_COLOUR, select_records

METRES_PER_MILE = 1609.344
PRINT_DPI = 200          # the workbook's and the packet's maps print at their size with 200 dots per inch or more
MAP_MEASURES = ("homicides", "nonfatal_shooting_victims")
# drawn in this order (the rarer, graver events on top); colours as the map panel's (homicide dark red, non-fatal
# shootings orange), shapes apart as well so a black-and-white printout still tells them apart
MARKERS = {"homicides": ("#7b0000", "o", 34, 0.95), "nonfatal_shooting_victims": ("#e67e22", "^", 16, 0.85)}
DISTRICT_EDGE = "#555555"
CITY_FILL = "#f4f4f2"


@dataclass
class MapImage:
    """A map as a PNG, with the size it is meant to print at (its pixels / inches >= ``dpi``)."""

    title: str
    png: bytes
    width_in: float
    height_in: float
    dpi: int
    counts: dict[str, int] = field(default_factory=dict)   # measure label -> records drawn (located)
    notes: list[str] = field(default_factory=list)

    @property
    def pixels(self) -> tuple[int, int]:
        return round(self.width_in * self.dpi), round(self.height_in * self.dpi)


# ---------------------------------------------------------------------------------------------------------------------
class _Projection:
    """WGS84 lon/lat <-> metres in a Lambert azimuthal equal-area projection centred on the city."""

    def __init__(self, ws) -> None:
        focus = area_mod.city_geometry(ws)
        if focus is None or focus.is_empty:
            raise ValueError("no city or district geometry")
        c = focus.centroid
        self.crs = geo.local_equal_area_crs(c.x, c.y)

    def geom(self, g):
        return geo.transform_geometry(g, "EPSG:4326", self.crs)

    def points(self, lon, lat):
        return geo.from_wgs84(lon, lat, self.crs)


def can_draw(ws) -> bool:
    """A map needs somewhere to draw: a city outline or districts."""
    g = area_mod.city_geometry(ws)
    return g is not None and not g.is_empty


def citywide_map(ws, as_of, *, width_in: float = 9.0, height_in: float = 6.0, dpi: int = PRINT_DPI,
                 catalog=None) -> MapImage:
    """The year-to-date homicides and non-fatal shootings over the districts, target areas outlined."""
    proj = _Projection(ws)
    city = area_mod.city_geometry(ws)
    view = _padded(proj.geom(city).bounds, 0.03)
    fig, ax, side = _figure(view, width_in, height_in, dpi)
    _basemap(ax, ws, proj, label_districts=True)
    streets = _streets(ax, ws, proj)
    layers = _records(ax, ws, proj, as_of, None, catalog)
    _fit(ax, view)
    title = f"Homicides and non-fatal shootings, {window_text(as_of)}, citywide"
    return _finish(fig, ax, side, title, layers, ws, dpi, width_in, height_in,
                   extra_handles=_outline_handles(ws, streets=streets))


def target_areas_map(ws, as_of, area_keys: list[str], *, width_in: float = 9.0, height_in: float = 6.0,
                     dpi: int = PRINT_DPI, catalog=None, title: str | None = None) -> MapImage:
    """One or several target areas (or scenarios) with the surrounding districts: the records inside them in colour,
    those around them in grey."""
    import shapely

    proj = _Projection(ws)
    refs = [area_mod.resolve_area(ws, k) for k in area_keys]
    refs = [r for r in refs if r.geometry is not None and not r.geometry.is_empty]
    if not refs:
        raise ValueError("no area with a boundary")
    focus = proj.geom(shapely.union_all([r.geometry for r in refs]))
    x0, y0, x1, y1 = focus.bounds
    margin = max(0.25 * max(x1 - x0, y1 - y0), 800.0)
    view = (x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    fig, ax, side = _figure(view, width_in, height_in, dpi)
    _basemap(ax, ws, proj, label_districts=True, highlight=[r.key for r in refs])
    streets = _streets(ax, ws, proj, view, labels=True)   # the surrounding streets, named
    # the context: every record of the period in view, grey; then each area's own records in colour on top
    layers = _records(ax, ws, proj, as_of, None, catalog, grey=True)
    inside: dict[str, list] = {}
    for r in refs:
        for lab, n, handle in _records(ax, ws, proj, as_of, r.key, catalog):
            inside.setdefault(lab, [0, handle])[0] += n
    import matplotlib.patheffects as pe

    for r in refs:
        g = proj.geom(r.geometry)
        colour = SELECTED_COLOUR if len(refs) == 1 else TARGET_COLOUR
        _outline(ax, g, colour, 3.0, r.label)
        gx0, _gy0, gx1, gy1 = g.bounds
        ax.annotate(r.label, ((gx0 + gx1) / 2, gy1), xytext=(0, 6), textcoords="offset points", fontsize=9,
                    color=colour, ha="center", va="bottom", zorder=8, clip_on=True, fontweight="bold",
                    path_effects=[pe.withStroke(linewidth=3, foreground="white")])
    _fit(ax, view)
    _label_streets(ax)
    names = ", ".join(r.label for r in refs)
    if title is None:
        title = f"{names}: homicides and non-fatal shootings, {window_text(as_of)}"
    in_layers = [(f"{lab} inside {'the area' if len(refs) == 1 else 'the areas'}", n, h)
                 for lab, (n, h) in inside.items()]
    elsewhere = sum(n for _l, n, _h in layers) - sum(n for n, _h in inside.values())
    grey = [("Elsewhere in the city, same period", elsewhere, _grey_handle())] if layers else []
    img = _finish(fig, ax, side, title, in_layers + grey, ws, dpi, width_in, height_in,
                  extra_handles=_outline_handles(ws, refs, streets=streets))
    img.counts = {lab: n for lab, (n, _h) in inside.items()}
    return img


def hotspot_map(ws, cells_lonlat, bins, *, colours: dict, labels: dict, title: str, counts_by_bin: dict | None = None,
                width_in: float = 9.0, height_in: float = 6.0, dpi: int = PRINT_DPI,
                notes: list[str] | None = None) -> MapImage:
    """Getis-Ord Gi* cells (lon/lat polygons with their confidence bin -3..3) painted in ``colours`` by bin over the
    districts and target areas; bin 0 (not significant) is left unpainted so the districts read through.
    ``counts_by_bin`` (default: the cells given) gives the legend's cell counts."""
    from matplotlib.patches import Patch

    proj = _Projection(ws)
    city = area_mod.city_geometry(ws)
    view = _padded(proj.geom(city).bounds, 0.03)
    fig, ax, side = _figure(view, width_in, height_in, dpi)
    _basemap(ax, ws, proj, label_districts=True)
    bins = np.asarray(bins, dtype="int64")
    for b in sorted(set(bins.tolist())):
        if b == 0:
            continue
        import shapely

        shape = proj.geom(shapely.union_all(list(np.asarray(cells_lonlat, dtype=object)[bins == b])))
        p = _patch(shape, facecolor=colours[b], edgecolor="none", alpha=0.85, zorder=3)
        if p is not None:
            ax.add_patch(p)
    _basemap(ax, ws, proj, label_districts=False, lines_only=True)
    _fit(ax, view)
    if counts_by_bin is None:
        counts_by_bin = {int(b): int((bins == b).sum()) for b in set(bins.tolist())}
    layers = [(labels[b], n, Patch(facecolor=colours[b] if b else "none", edgecolor="#999999", linewidth=0.4))
              for b, n in sorted(counts_by_bin.items(), reverse=True) if n]
    return _finish(fig, ax, side, title, layers, ws, dpi, width_in, height_in,
                   extra_handles=_outline_handles(ws), count_word="cells", notes=notes or [])


# ---------------------------------------------------------------------------------------------------------------------
SIDE_IN = 2.5      # the legend column's width (inches)


def _figure(view, width_in, height_in, dpi):
    """A figure ``height_in`` tall and at most ``width_in`` wide: the map on the left at the view's shape, the legend
    and notes in a column on the right (nothing covers a record). A tall city makes a narrower figure rather than a
    wide one with white space."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x0, y0, x1, y1 = view
    map_h = height_in * 0.84
    map_w = min(width_in - SIDE_IN - 0.25, map_h * (x1 - x0) / max(y1 - y0, 1.0))
    map_w = max(map_w, min(4.0, width_in - SIDE_IN - 0.25))
    width_in = map_w + SIDE_IN + 0.25
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1 / width_in, 0.02, map_w / width_in, map_h / height_in))
    ax.set_aspect("equal")
    ax.set_axis_off()
    side = fig.add_axes(((map_w + 0.2) / width_in, 0.02, SIDE_IN / width_in, map_h / height_in))
    side.set_axis_off()
    return fig, ax, side


def _patch(geom, **kw):
    """A shapely (Multi)Polygon as one matplotlib patch (holes cut out)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    verts, codes = [], []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.geom_type != "Polygon":
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            verts.append(xy)
            codes += [MPath.MOVETO] + [MPath.LINETO] * (len(xy) - 2) + [MPath.CLOSEPOLY]
    if not verts:
        return None
    return PathPatch(MPath(np.concatenate(verts), codes), **kw)


def _outline(ax, geom, colour, width, label=None, dashed=False, zorder=6):
    import matplotlib.patheffects as pe

    p = _patch(geom, facecolor="none", edgecolor=colour, linewidth=width, linestyle="--" if dashed else "-",
               zorder=zorder, label=label)
    if p is not None:
        # a white casing under the line, so it reads over dense points
        p.set_path_effects([pe.Stroke(linewidth=width + 2.2, foreground="white", alpha=0.9), pe.Normal()])
        ax.add_patch(p)


def _basemap(ax, ws, proj, *, label_districts: bool, highlight=(), lines_only: bool = False):
    import matplotlib.patheffects as pe

    city = area_mod.city_geometry(ws)
    if not lines_only:
        p = _patch(proj.geom(city), facecolor=CITY_FILL, edgecolor="#333333", linewidth=1.2, zorder=1)
        if p is not None:
            ax.add_patch(p)
    for d in ws.districts:
        g = proj.geom(d.geometry)
        p = _patch(g, facecolor="none", edgecolor=DISTRICT_EDGE, linewidth=0.9, zorder=5 if lines_only else 2)
        if p is not None:
            ax.add_patch(p)
        if label_districts and not lines_only:
            pt = g.representative_point()
            key = area_mod.district_key(d.name) or d.name
            ax.text(pt.x, pt.y, area_mod.district_label(key), fontsize=8.5, color="#333333", ha="center",
                    va="center", zorder=7, clip_on=True, fontweight="bold",
                    path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])
    for a in ws.target_areas:
        if area_mod.area_key(a) in highlight:
            continue
        _outline(ax, proj.geom(a.geometry), TARGET_COLOUR, 1.8, zorder=6)
        if not lines_only:
            c = proj.geom(a.geometry).representative_point()
            ax.annotate(a.name, (c.x, c.y), xytext=(0, 9), textcoords="offset points", fontsize=7.5,
                        color=TARGET_COLOUR, ha="center", va="bottom", zorder=8, clip_on=True, style="italic",
                        path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])


STREET_LABELS = 14   # street names on a target-area map: the longest in view, no more (they would crowd the points)


def street_layers(ws) -> list:
    """The workspace's basemap line layers (streets) that the map shows: as the map panel draws them."""
    out = []
    for lay in getattr(ws, "layers", None) or []:
        st = lay.style or {}
        if lay.geometry_type == "line" and st.get("basemap") and st.get("visible", True) and lay.count:
            out.append(lay)
    return out


def _streets(ax, ws, proj, view=None, labels: bool = False) -> list[str]:
    """Draw the basemap street layers under everything but the city's fill (thin grey, as on the map panel); with
    ``labels``, name the longest streets in ``view``. Returns the names of the layers drawn."""
    import matplotlib.patheffects as pe
    import shapely
    from matplotlib.collections import LineCollection

    drawn = []
    for lay in street_layers(ws):
        geoms = np.asarray(lay.geometries(), dtype=object)
        names = lay.features["label"].to_numpy(dtype=object) if "label" in lay.features else \
            np.full(len(geoms), None, dtype=object)
        if view is not None:
            lo = geo.to_wgs84(np.array([view[0], view[2], view[0], view[2]]),
                              np.array([view[1], view[1], view[3], view[3]]), proj.crs)
            box = shapely.box(lo[0].min(), lo[1].min(), lo[0].max(), lo[1].max())
            keep = shapely.intersects(geoms, box)
            geoms, names = geoms[keep], names[keep]
        if not len(geoms):
            continue
        parts, owner = shapely.get_parts(geoms, return_index=True)
        parts = np.asarray([proj.geom(g) for g in parts], dtype=object) if len(parts) < 2000 else \
            shapely.transform(parts, lambda xy: np.column_stack(proj.points(xy[:, 0], xy[:, 1])))
        coords, idx = shapely.get_coordinates(parts, return_index=True)
        cuts = np.flatnonzero(np.diff(idx)) + 1
        segs = [c for c in np.split(coords, cuts) if len(c) > 1]
        colour = (lay.style or {}).get("colour") or "#9a9a9a"
        ax.add_collection(LineCollection(segs, colors=colour, linewidths=0.5 if view is None else 0.8, alpha=0.7,
                                         zorder=1.5))
        drawn.append(lay.name)
        if not labels or view is None:
            continue
        vbox = shapely.box(*view)
        by_name: dict[str, list] = {}
        for g, k in zip(parts, owner):
            name = names[k]
            if name:
                by_name.setdefault(str(name), []).append(g)
        runs = []
        for name, gs in by_name.items():
            line = shapely.line_merge(shapely.union_all(gs).intersection(vbox))
            longest = max(shapely.get_parts(line), key=lambda g: g.length, default=None)
            if longest is not None and longest.geom_type == "LineString" and longest.length > 0:
                runs.append((longest.length, name, longest))
        ax._psp_street_runs = getattr(ax, "_psp_street_runs", []) + runs
    return drawn


def _label_streets(ax) -> int:
    """Name the longest streets in view (after the view is fitted: label sizes need the map's scale), each at the
    first of a few places along it where it overlaps no label already placed; returns how many were named."""
    import matplotlib.patheffects as pe

    runs = sorted(getattr(ax, "_psp_street_runs", []), key=lambda r: -r[0])
    if not runs:
        return 0

    def across(line) -> bool:
        (ax0, ay0), (ax1, ay1) = line.coords[0], line.coords[-1]
        return abs(ax1 - ax0) >= abs(ay1 - ay0)

    # the longest east-west and north-south streets in turn: a grid's long side would otherwise take every label
    ew = [r for r in runs if across(r[2])]
    ns = [r for r in runs if not across(r[2])]
    runs = [r for pair in zip(ew, ns) for r in pair] + ew[len(ns):] + ns[len(ew):]
    x0, x1 = ax.get_xlim()
    box = ax.get_position(original=True)
    m_per_pt = (x1 - x0) / (box.width * ax.figure.get_figwidth() * 72)
    size = 6.5
    placed: list = []
    import shapely

    for _length, name, line in runs:
        if len(placed) >= STREET_LABELS:
            break
        text = name if name != name.upper() else re.sub(r"(\d)(St|Nd|Rd|Th)\b", lambda m: m[1] + m[2].lower(),
                                                         name.title())   # "N 2ND ST" -> "N 2nd St"
        half_w = len(text) * size * 0.3 * m_per_pt + 2 * m_per_pt
        half_h = size * 0.7 * m_per_pt
        for frac in (0.5, 0.3, 0.7, 0.15, 0.85):
            a = line.interpolate(max(frac - 0.03, 0), normalized=True)
            b = line.interpolate(min(frac + 0.03, 1), normalized=True)
            mid = line.interpolate(frac, normalized=True)
            ang = math.atan2(b.y - a.y, b.x - a.x)
            dx, dy = math.cos(ang), math.sin(ang)
            corners = [(mid.x + sx * half_w * dx - sy * half_h * dy, mid.y + sx * half_w * dy + sy * half_h * dx)
                       for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            shape = shapely.Polygon(corners)
            if any(shape.intersects(p) for p in placed):
                continue
            placed.append(shape)
            deg = math.degrees(ang)
            deg = deg - 180 if deg > 90 else deg + 180 if deg < -90 else deg  # never upside down
            ax.text(mid.x, mid.y, text, fontsize=size, color="#4d4d4d", rotation=deg, ha="center", va="center",
                    rotation_mode="anchor", zorder=2.5, clip_on=True,
                    path_effects=[pe.withStroke(linewidth=2, foreground="white")])
            break
    return len(placed)


def _records(ax, ws, proj, as_of, area_key, catalog, grey: bool = False):
    """Draw each map measure's records of the year to date (in ``area_key`` by the engine's membership); returns
    [(label, located count, legend handle)] and the unlocated counts in ``ax._psp_unlocated``."""
    from matplotlib.lines import Line2D

    from workstation.engine.analysis import analysis_for

    cat = catalog or analysis_for(ws).catalog
    out = []
    for mid in MAP_MEASURES:
        if mid not in cat.measures:
            continue
        df, m, _label = select_records(ws, mid, "ytd", as_of, area_key, cat)
        if not len(df):
            continue
        lon = df["lon"].to_numpy(dtype="float64")
        lat = df["lat"].to_numpy(dtype="float64")
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not grey:
            miss = getattr(ax, "_psp_unlocated", {})
            miss[m.label] = miss.get(m.label, 0) + int((~ok).sum())
            ax._psp_unlocated = miss
        colour, marker, size, alpha = MARKERS[mid]
        if grey:
            colour, alpha, size = "#9a9a9a", 0.55, size * 0.7
        x, y = proj.points(lon[ok], lat[ok])
        ax.scatter(x, y, s=size, c=colour, marker=marker, alpha=alpha, linewidths=0.4,
                   edgecolors="white" if not grey else "none", zorder=4 if not grey else 3)
        handle = Line2D([], [], linestyle="none", marker=marker, markersize=math.sqrt(size) + 1.5,
                        markerfacecolor=colour, markeredgecolor="white", alpha=alpha)
        out.append((m.label, int(ok.sum()), handle))
    return out


def _grey_handle():
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none", marker="o", markersize=4.5, markerfacecolor="#9a9a9a",
                  markeredgecolor="none", alpha=0.55)


def _outline_handles(ws, selected=(), streets=()):
    from matplotlib.lines import Line2D

    out = [(name, Line2D([], [], color="#9a9a9a", linewidth=0.8)) for name in streets]
    if ws.districts:
        out.append(("District boundary", Line2D([], [], color=DISTRICT_EDGE, linewidth=1.0)))
    others = [a for a in ws.target_areas if area_mod.area_key(a) not in {r.key for r in selected}]
    if others:
        out.append(("Target area", Line2D([], [], color=TARGET_COLOUR, linewidth=2.0)))
    for r in selected:
        colour = SELECTED_COLOUR if len(selected) == 1 else TARGET_COLOUR
        out.append((r.label, Line2D([], [], color=colour, linewidth=3.0)))
    return out


def _padded(bounds, pad: float):
    x0, y0, x1, y1 = bounds
    dx, dy = (x1 - x0) * pad, (y1 - y0) * pad
    return x0 - dx, y0 - dy, x1 + dx, y1 + dy


def _fit(ax, bounds) -> None:
    """Show ``bounds`` (x0, y0, x1, y1 in metres) filling the axes at a true (equal) aspect."""
    x0, y0, x1, y1 = bounds
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    fig = ax.figure
    box = ax.get_position(original=True)     # the laid-out box, not one already shrunk to an earlier aspect
    bw, bh = box.width * fig.get_figwidth(), box.height * fig.get_figheight()
    if w / h < bw / bh:
        w = h * bw / bh
    else:
        h = w * bh / bw
    ax.set_xlim(cx - w / 2, cx + w / 2)
    ax.set_ylim(cy - h / 2, cy + h / 2)


def nice_scale_miles(width_m: float) -> float:
    """A round scale-bar length (miles) near a fifth of the map's width."""
    target = width_m / METRES_PER_MILE / 5
    steps = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100)   # halves that read easily
    return min(steps, key=lambda s: abs(math.log(s / target)))


def _scale_bar(ax) -> float:
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    miles = nice_scale_miles(x1 - x0)
    length = miles * METRES_PER_MILE
    left, base = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.012 * (y1 - y0)
    ax.add_patch(Rectangle((left - 0.01 * (x1 - x0), base - 0.025 * (y1 - y0)), length + 0.05 * (x1 - x0),
                           0.085 * (y1 - y0), facecolor="white", edgecolor="none", alpha=0.85, zorder=9))
    for i in range(2):
        ax.add_patch(Rectangle((left + i * length / 2, base), length / 2, height, zorder=10, linewidth=0.8,
                               facecolor="black" if i == 0 else "white", edgecolor="black"))
    for frac, text in ((0.0, "0"), (0.5, _miles(miles / 2)), (1.0, f"{_miles(miles)} mi")):
        ax.text(left + frac * length, base + height * 1.6, text, fontsize=8, ha="center", va="bottom", zorder=10)
    return miles


def _miles(x: float) -> str:
    return f"{x:g}"


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.955, 0.97), xytext=(0.955, 0.86), xycoords="axes fraction", textcoords="axes fraction",
                ha="center", va="top", fontsize=11, fontweight="bold", zorder=10,
                arrowprops={"arrowstyle": "-|>,head_width=0.45,head_length=0.9", "color": "black", "linewidth": 1.6},
                bbox={"boxstyle": "circle,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


def window_text(as_of) -> str:
    import datetime as dt

    d = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])
    return f"year to date (January 1 – {d:%B} {d.day}, {d.year})"


def _finish(fig, ax, side, title, layers, ws, dpi, width_in, height_in, extra_handles=(), count_word: str = "",
            notes: list[str] | None = None) -> MapImage:
    miles = _scale_bar(ax)
    _north_arrow(ax)
    import textwrap

    width_in = fig.get_figwidth()
    # 12-pt bold text runs about 9 characters to the inch
    fig.text(0.1 / width_in, 1 - 0.12 / fig.get_figheight(), textwrap.fill(title, int(width_in * 9)), fontsize=12,
             fontweight="bold", va="top", ha="left", linespacing=1.15)
    handles, labels = [], []
    for lab, n, h in layers:
        handles.append(h)
        labels.append(textwrap.fill(f"{lab} ({n:,}{' ' + count_word if count_word else ''})", 28))
    for lab, h in extra_handles:
        handles.append(h)
        labels.append(textwrap.fill(lab, 28))
    if handles:
        side.legend(handles, labels, loc="upper left", fontsize=8.5, frameon=False, borderaxespad=0.0,
                    handlelength=1.8, labelspacing=0.8)
    notes = list(notes or [])
    for lab, n in getattr(ax, "_psp_unlocated", {}).items():
        if n:
            notes.append(f"{n:,} {lab.lower()} without a location are counted in the tables but not drawn.")
    notes.append(f"Scale bar: {_miles(miles)} miles. Equal-area projection centred on the city; north is up.")
    width_chars = 40
    side.text(0.0, 0.0, "\n".join(textwrap.fill(n, width_chars) for n in notes), fontsize=8, va="bottom",
              ha="left", color="#333333", transform=side.transAxes)
    counts = {lab: n for lab, n, _h in layers}
    return MapImage(title, figure_png(fig, dpi), width_in, height_in, dpi, counts, notes)


def figure_png(fig, dpi: int) -> bytes:
    """A figure as an opaque RGB PNG: matplotlib writes RGBA, and an alpha channel only makes PDF writers add a
    soft mask per picture (and some viewers grey it).

    The figure is rendered once on its Agg canvas and its pixels encoded once, at zlib level 3: encoding was most of a
    workbook export's time (PIL's optimize=True tried every zlib strategy, about 4x the time of a plain save for a
    PNG 1.5% smaller, and savefig's RGBA PNG was then decoded and encoded a second time).
    """
    import numpy as np
    from PIL import Image

    if fig.dpi != dpi:
        fig.set_dpi(dpi)
    canvas = fig.canvas
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB").save(out, format="PNG", compress_level=3,
                                                                      dpi=(dpi, dpi))
    return out.getvalue()


__all__ = ["MapImage", "citywide_map", "target_areas_map", "hotspot_map", "can_draw", "nice_scale_miles",
           "PRINT_DPI", "window_text", "figure_png"]

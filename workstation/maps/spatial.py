"""Map overlays for the spatial analyses (issue 10): Gi* hot-spot cells, kernel density, emerging hot-spot
categories and the displacement buffer ring, drawn by ``build_map`` (``MapOptions.overlay``).

Qt-free, and free of ``workstation.reports`` (maps and reports are sibling layers): the overlays are built from the
analyses' results by duck typing (a result has a ``grid`` with x0, y0, cell_ft, nrows, ncols, crs and a ``cells``
table with row, col and the figures), so any object of that shape can be drawn.

Cells are sent to the page as one compact payload: the lattice corners of the grid projected once to lon/lat, the
(row, col) of each drawn cell, a class code per cell and the popup figures as columns. ``psp_spatial.js`` builds the
polygons on a canvas; a click on a cell shows its figures. Colours follow ArcGIS Pro's hot-spot renderer (hot spots
red, cold spots blue, three confidence levels each; cells that are not significant are left transparent but still
answer a click).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from workstation.engine import geometry as geo

SPATIAL_JS = "local/psp_spatial.js"

# ArcGIS Pro's "Hot Spot Analysis" renderer, from the 99% hot spot down to the 99% cold spot.
GI_BINS = (3, 2, 1, 0, -1, -2, -3)
GI_BIN_COLOURS = {3: "#d62f27", 2: "#ed7551", 1: "#fab984", 0: "#ffffff", -1: "#c0ccbe", -2: "#849eba",
                  -3: "#4575b5"}
GI_BIN_LABELS = {3: "Hot spot, 99% confidence", 2: "Hot spot, 95% confidence", 1: "Hot spot, 90% confidence",
                 0: "Not significant", -1: "Cold spot, 90% confidence", -2: "Cold spot, 95% confidence",
                 -3: "Cold spot, 99% confidence"}
# Density classes: light yellow to dark red (ColorBrewer YlOrRd), five equal-count classes of the non-zero cells.
DENSITY_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
# Emerging hot-spot categories (ArcGIS Pro's pattern names and colours).
EMERGING_COLOURS = {
    "New hot spot": "#8b0000", "Consecutive hot spot": "#c00000", "Intensifying hot spot": "#e0301e",
    "Persistent hot spot": "#ee6a50", "Diminishing hot spot": "#f4a582", "Sporadic hot spot": "#fbc8a8",
    "Oscillating hot spot": "#f7d3c0", "Historical hot spot": "#d9b3a6",
    "New cold spot": "#08306b", "Consecutive cold spot": "#08519c", "Intensifying cold spot": "#2171b5",
    "Persistent cold spot": "#4292c6", "Diminishing cold spot": "#6baed6", "Sporadic cold spot": "#9ecae1",
    "Oscillating cold spot": "#c6dbef", "Historical cold spot": "#bfc9d9",
}
BUFFER_COLOUR = "#b9770e"


@dataclass
class CellLayer:
    """Cells of one grid drawn in class colours; ``fields`` are shown in the popup of a clicked cell."""

    name: str
    lattice_lon: list          # (nrows + 1) x (ncols + 1) corner longitudes of the drawn window, row-major
    lattice_lat: list
    width: int                 # corners per lattice row (window columns + 1)
    rows: list                 # window-relative row of each cell
    cols: list
    cls: list                  # class code per cell (index into colours)
    colours: list              # fill per class; None: transparent (still clickable)
    fields: dict               # popup label -> list of display strings, one per cell
    title: str = ""
    opacity: float = 0.7
    show: bool = True

    def payload(self) -> dict:
        return {"name": self.name, "lon": self.lattice_lon, "lat": self.lattice_lat, "width": self.width,
                "rows": self.rows, "cols": self.cols, "cls": self.cls, "colours": self.colours,
                "fields": self.fields, "order": list(self.fields), "title": self.title, "opacity": self.opacity}


@dataclass
class Ring:
    """A polygon outline on the map (the target area, its buffer ring), lon/lat."""

    geometry: object
    label: str
    colour: str = BUFFER_COLOUR
    dash: str | None = None
    fill_opacity: float = 0.0


@dataclass
class SpatialOverlay:
    title: str
    cell_layers: list = field(default_factory=list)
    rings: list = field(default_factory=list)
    legend_html: str = ""
    bounds: tuple | None = None      # south, west, north, east of what the overlay covers

    def to_json(self) -> str:
        return json.dumps({"title": self.title, "layers": [c.payload() for c in self.cell_layers]},
                          separators=(",", ":"))


def _esc(s) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _lattice(grid, rows: np.ndarray, cols: np.ndarray):
    """Corner lon/lat of the grid window that holds the cells, and the cells' window-relative row/col."""
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    c0, c1 = int(cols.min()), int(cols.max()) + 1
    xs = grid.x0 + np.arange(c0, c1 + 1) * grid.cell_ft
    ys = grid.y0 + np.arange(r0, r1 + 1) * grid.cell_ft
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = geo.to_wgs84(gx.ravel(), gy.ravel(), grid.crs)
    return (np.round(lon, 6).tolist(), np.round(lat, 6).tolist(), int(c1 - c0 + 1),
            (rows - r0).astype(int).tolist(), (cols - c0).astype(int).tolist(),
            (float(np.min(lat)), float(np.min(lon)), float(np.max(lat)), float(np.max(lon))))


def _fmt_p(p) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def legend_rows(items) -> str:
    return "".join(f"<div class='psp-row'><span class='sw' style='background:{c}'></span>{_esc(t)}</div>"
                   for c, t in items)


def density_classes(values: np.ndarray, k: int = 5) -> np.ndarray:
    """Upper bounds of ``k`` equal-count classes of the positive values (fewer when they repeat)."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return np.zeros(0)
    return np.unique(np.quantile(v, np.arange(1, k + 1) / k))


def _density_spans(breaks) -> list[str]:
    lo, out = 0.0, []
    for b in breaks:
        out.append(f"{lo:,.0f} – {b:,.0f} per sq mi")
        lo = b
    return out


def hotspot_overlay(result, *, density: bool = True, title: str | None = None,
                    extra_fields: dict | None = None) -> SpatialOverlay:
    """Gi* bins (and, underneath and off by default, the kernel density) of a hot-spot result. ``extra_fields``:
    more popup figures per cell (name -> one text per cell), e.g. reference places within a distance."""
    cells = result.cells
    rows = cells["row"].to_numpy(dtype=np.int64)
    cols = cells["col"].to_numpy(dtype=np.int64)
    params = getattr(result, "params", {}) or {}
    label = title or "Gi* hot spots"
    ov = SpatialOverlay(label)
    if not len(cells):
        return ov
    lon, lat, width, rr, cc, bounds = _lattice(result.grid, rows, cols)
    ov.bounds = bounds
    bins = cells["gi_bin"].to_numpy(dtype=np.int64)
    z = cells["gi_z"].to_numpy(dtype="float64")
    p = cells["gi_p"].to_numpy(dtype="float64")
    count = cells["count"].to_numpy(dtype="float64")
    dens = cells["density"].to_numpy(dtype="float64") if "density" in cells else None
    fields = {"Events in cell": [f"{c:,.0f}" for c in count],
              "Gi* z-score": [f"{v:.2f}" if np.isfinite(v) else "n/a" for v in z],
              "p-value": [_fmt_p(v) for v in p],
              "Bin": [GI_BIN_LABELS.get(int(b), str(b)) for b in bins]}
    if dens is not None:
        fields["Density (per sq mi)"] = [f"{v:,.0f}" if np.isfinite(v) else "n/a" for v in dens]
    if "district" in cells:
        fields["District"] = [str(d) if d is not None and d == d else "" for d in cells["district"].tolist()]
    fields.update(extra_fields or {})
    colours = [GI_BIN_COLOURS[b] if b != 0 else None for b in GI_BINS]
    cls = [GI_BINS.index(int(b)) if int(b) in GI_BINS else GI_BINS.index(0) for b in bins]
    cell_ft = float(result.grid.cell_ft)
    if dens is not None and density:
        breaks = density_classes(dens)
        if breaks.size:
            dcls = np.where(dens > 0, np.minimum(np.searchsorted(breaks, dens, side="left"), breaks.size - 1), -1)
            keep = np.flatnonzero(dcls >= 0)
            dcol = [DENSITY_COLOURS[round(i * (len(DENSITY_COLOURS) - 1) / max(breaks.size - 1, 1))]
                    for i in range(breaks.size)]
            ov.cell_layers.append(CellLayer(
                f"Density: {params.get('measure_label', 'events')} per sq mi", lon, lat, width,
                [rr[i] for i in keep], [cc[i] for i in keep], dcls[keep].astype(int).tolist(), dcol,
                {k: [v[i] for i in keep] for k, v in fields.items()}, title="Kernel density", opacity=0.65,
                show=False))
            # one row of swatches, lowest to highest: the Gi* bins are the legend's main content
            swatches = "".join(f"<span class='sw' title='{_esc(t)}' style='background:{c}'></span>"
                               for c, t in zip(dcol, _density_spans(breaks)))
            bw = params.get("bandwidth_ft")
            ov.legend_html += (f"<div class='psp-row'>Density per sq mi: 0 {swatches} {breaks[-1]:,.0f}</div>"
                               + "<div class='note'>Density: turn it on in the layer list"
                               + (f"; kernel bandwidth {float(bw):,.0f} ft" if bw else "") + "</div>")
    ov.cell_layers.append(CellLayer(label, lon, lat, width, rr, cc, cls, colours, fields, title=label,
                                    opacity=0.75))
    n_by_bin = {b: int((bins == b).sum()) for b in GI_BINS}
    items = [(GI_BIN_COLOURS[b], f"{GI_BIN_LABELS[b]} ({n_by_bin[b]:,})") for b in GI_BINS]
    head = f"{_esc(label)}: {cell_ft:,.0f} ft cells"
    if params.get("distance_ft"):
        head += f", {float(params['distance_ft']):,.0f} ft band"
    if params.get("fdr"):
        head += ", FDR"
    ov.legend_html = f"<h4>{head}</h4>" + legend_rows(items) + ov.legend_html
    return ov


def emerging_overlay(result, *, title: str = "Emerging hot spots") -> SpatialOverlay:
    """Cells coloured by their emerging hot-spot category (cells with no pattern are transparent)."""
    cells = result.cells
    ov = SpatialOverlay(title)
    if not len(cells):
        return ov
    rows = cells["row"].to_numpy(dtype=np.int64)
    cols = cells["col"].to_numpy(dtype=np.int64)
    lon, lat, width, rr, cc, bounds = _lattice(result.grid, rows, cols)
    ov.bounds = bounds
    cats = [str(c) if c is not None and c == c else "No pattern detected" for c in cells["category"].tolist()]
    colour_of = {k.lower(): v for k, v in EMERGING_COLOURS.items()}     # "New Hot Spot" or "New hot spot"
    names = sorted({c for c in cats if c.lower() in colour_of}, key=lambda c: list(colour_of).index(c.lower()))
    palette = names + ["No pattern detected"]
    colours = [colour_of[c.lower()] for c in names] + [None]
    cls = [palette.index(c) if c in palette else len(palette) - 1 for c in cats]
    fields = {"Pattern": cats}
    for col, name in (("count", "Events in cell"), ("trend_z", "Mann-Kendall z"), ("trend_p", "Trend p-value"),
                      ("last_z", "Gi* z (last slice)")):
        if col in cells:
            v = cells[col].to_numpy(dtype="float64")
            fields[name] = [_fmt_p(x) if col.endswith("_p") else (f"{x:,.0f}" if col == "count" else f"{x:.2f}")
                            for x in v]
    ov.cell_layers.append(CellLayer(title, lon, lat, width, rr, cc, cls, colours, fields, title=title, opacity=0.8))
    counts = {c: cats.count(c) for c in names}
    ov.legend_html = f"<h4>{_esc(title)}</h4>" + legend_rows(
        [(colour_of[c.lower()], f"{c} ({counts[c]:,})") for c in names]) + (
        "" if names else "<div class='note'>No cell shows a pattern.</div>")
    return ov


def displacement_overlay(target_geometry, buffer_geometry, *, target_label: str, buffer_ft: float,
                         control_label: str = "") -> SpatialOverlay:
    """The target area and its buffer ring (lon/lat polygons) of a displacement analysis."""
    ov = SpatialOverlay(f"Displacement: {target_label}")
    ov.rings.append(Ring(target_geometry, f"Target area: {target_label}", "#6c3483", None, 0.10))
    ov.rings.append(Ring(buffer_geometry, f"Buffer ring: {buffer_ft:,.0f} ft", BUFFER_COLOUR, "8 5", 0.18))
    g = buffer_geometry if buffer_geometry is not None and not buffer_geometry.is_empty else target_geometry
    if g is not None and not g.is_empty:
        x0, y0, x1, y1 = g.bounds
        ov.bounds = (y0, x0, y1, x1)
    ov.legend_html = (f"<h4>Displacement: {_esc(target_label)}</h4>"
                      + f"<div class='psp-row'><span class='sw' style='background:#6c3483;opacity:.5'></span>Target "
                        f"area (A)</div>"
                      + f"<div class='psp-row'><span class='sw' style='background:{BUFFER_COLOUR};opacity:.6'>"
                        f"</span>Buffer ring (B), {buffer_ft:,.0f} ft</div>"
                      + (f"<div class='note'>Control (C): {_esc(control_label)}</div>" if control_label else ""))
    return ov

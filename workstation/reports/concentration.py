"""Concentration: an area's share of the city's crime against its share of the city's area (the case study: the
2.3-square-mile corridor held more than 10% of the city's violent crime), the Prediction Accuracy Index
PAI = (n/N) / (a/A), and the concentration (Lorenz) curve over a grid of equal cells with its Gini coefficient.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.engine import geometry as geo
from workstation.engine.analysis import MEMBERSHIP_NOTES, analysis_for
from workstation.engine.areas import city_geometry, resolve_area
from workstation.engine.periods import parse_window
from workstation.reports.table import ReportTable

DEFAULT_CONCENTRATION_MEASURES = ("part1_violent", "firearm_violent_crime", "homicides", "nonfatal_shooting_victims",
                                  "shotspotter_activations", "priority_calls", "part1_total")


def concentration_table(ws, area_key: str, window="ytd", as_of=None, measures=DEFAULT_CONCENTRATION_MEASURES, *,
                        counting: str | None = None) -> ReportTable:
    eng = analysis_for(ws)
    ref = resolve_area(ws, area_key)
    city = resolve_area(ws, "citywide")
    as_of = eng.default_as_of(as_of)
    w = parse_window(window, as_of)
    a, big_a = ref.sq_miles, city.sq_miles
    area_share = a / big_a if a and big_a else None
    rows = []
    for mid in measures:
        m = eng.catalog.get(mid)
        if not len(ws.frames[m.dataset]):
            continue
        n = eng.count(m, ref, w, counting)
        big_n = eng.count(m, city, w, counting)
        share = n / big_n if big_n else None
        pai = share / area_share if share is not None and area_share else None
        rows.append([m.label, n, big_n, share, area_share, pai])
    notes = [
        f"Period: {w.describe()}. Area: {ref.label}, {a:.2f} square miles of the city's {big_a:.2f}."
        if a and big_a else f"Period: {w.describe()}.",
        "Share of city = count in the area / citywide count; share of area = the area's square miles / the city's "
        "(equal-area). PAI = share of crime / share of area: above 1, crime is concentrated in the area.",
        MEMBERSHIP_NOTES.get(ref.kind, ""),
        "Citywide counts include records without a location, so shares are conservative.",
    ]
    return ReportTable(
        title=f"Concentration — {ref.label} ({w.describe()})",
        columns=["Measure", "In area", "Citywide", "Share of city", "Share of city area", "PAI"],
        column_kinds=["label", "count", "count", "pct", "pct", "rate"], rows=rows, direction="crime", notes=notes)


@dataclass(frozen=True)
class ConcentrationCurve:
    cum_area: np.ndarray   # cumulative share of city area, cells sorted by count descending (starts at 0)
    cum_crime: np.ndarray  # cumulative share of located records
    gini: float
    cell_m: float
    cells: int
    records: int

    def area_share_for(self, crime_share: float) -> float:
        """The smallest share of the city's area that holds ``crime_share`` of the located records."""
        i = int(np.searchsorted(self.cum_crime, crime_share - 1e-12, "left"))
        if i <= 0:
            return 0.0
        if i >= self.cum_crime.size:
            return float(self.cum_area[-1])
        c0, c1 = self.cum_crime[i - 1], self.cum_crime[i]
        t = 0.0 if c1 == c0 else (crime_share - c0) / (c1 - c0)
        return float(self.cum_area[i - 1] + t * (self.cum_area[i] - self.cum_area[i - 1]))


def concentration_curve(ws, measure="part1_violent", window="ytd", as_of=None, *, cell_m: float = 250.0,
                        counting: str | None = None) -> ConcentrationCurve:
    """Cells of ``cell_m`` metres (equal-area projection centred on the city) whose centre is in the city, plus edge
    cells holding records; each located record counted in its cell; the Lorenz curve with cells sorted from most to
    least crime."""
    import shapely

    eng = analysis_for(ws)
    m = eng.catalog.get(measure)
    as_of = eng.default_as_of(as_of)
    w = parse_window(window, as_of)
    ix = eng.index(m.dataset)
    pos = eng.rows(m, "citywide", w, counting)
    pos = pos[ix.has_xy[pos]]
    city = city_geometry(ws)
    if city is None:
        lon, lat = ix.lon[pos], ix.lat[pos]
        if not len(lon):
            return ConcentrationCurve(np.zeros(1), np.zeros(1), 0.0, cell_m, 0, 0)
        city = shapely.box(lon.min(), lat.min(), lon.max(), lat.max())
    c = city.centroid
    crs = geo.local_equal_area_crs(c.x, c.y)
    city_m = geo.transform_geometry(city, "EPSG:4326", crs)
    x0, y0, x1, y1 = city_m.bounds
    nx, ny = max(int(np.ceil((x1 - x0) / cell_m)), 1), max(int(np.ceil((y1 - y0) / cell_m)), 1)
    cx = x0 + (np.arange(nx) + 0.5) * cell_m
    cy = y0 + (np.arange(ny) + 0.5) * cell_m
    gx, gy = np.meshgrid(cx, cy)
    in_city = shapely.contains_xy(city_m, gx.ravel(), gy.ravel())
    px, py = geo.from_wgs84(ix.lon[pos], ix.lat[pos], crs)
    i = np.clip(((px - x0) // cell_m).astype(int), 0, nx - 1)
    j = np.clip(((py - y0) // cell_m).astype(int), 0, ny - 1)
    weights = ix.weights(m.count)
    counts = np.bincount(j * nx + i, weights=None if weights is None else weights[pos], minlength=nx * ny)
    counts = counts[in_city | (counts > 0)]  # edge cells holding records count even if their centre is outside
    counts = np.sort(counts)[::-1]
    total = counts.sum()
    k = counts.size
    cum_area = np.concatenate([[0.0], np.arange(1, k + 1) / k])
    cum_crime = np.concatenate([[0.0], np.cumsum(counts) / total]) if total else np.zeros(k + 1)
    # Gini = 1 − 2 × area under the (ascending) Lorenz curve; with cells sorted descending the curve lies above the
    # diagonal, so G = 2 × area under it − 1
    gini = float(2.0 * np.trapezoid(cum_crime, cum_area) - 1.0) if total else 0.0
    return ConcentrationCurve(cum_area, cum_crime, gini, cell_m, int(k), int(pos.size))

"""Getis-Ord Gi* hot spots on a grid of square cells, and emerging hot spots (Gi* per time slice + Mann–Kendall).

Gi* of cell i, with binary fixed-distance weights (w_ij = 1 when the centres are at most d apart, the cell itself
included) over the n study cells:

    Gi* = (Σ_j w_ij x_j − X̄ Σ_j w_ij) / (S · √((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1)))

with X̄ and S (population standard deviation) over the study cells. Σ_j w_ij and Σ_j w_ij x_j are the study mask
and the masked counts summed over the disc of radius d around each cell: the disc is a stack of horizontal runs, so
each sum is 2r+1 differences of a running sum along the rows (r = ⌊d / cell⌋), O(cells · r) and exact for counts.
No weights matrix is built: 100,000 cells take milliseconds (PySAL's esda takes seconds; see the benchmark).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workstation.core.errors import UserError
from workstation.engine import geometry as geo
from workstation.engine.areas import district_key, district_label
from workstation.reports.spatial import events as ev_mod
from workstation.reports.spatial.grid import Grid
from workstation.reports.spatial.kde import BANDWIDTH_RULE, KERNEL_NOTE, default_bandwidth_ft, kernel_density

DEFAULT_CELL_FT = 500.0
DEFAULT_DISTANCE_FT = 1500.0
Z_99, Z_95, Z_90 = 2.576, 1.960, 1.645
BIN_LABELS = {3: "Hot spot, 99% confidence", 2: "Hot spot, 95% confidence", 1: "Hot spot, 90% confidence",
              0: "Not significant", -1: "Cold spot, 90% confidence", -2: "Cold spot, 95% confidence",
              -3: "Cold spot, 99% confidence"}
# ArcGIS's hot-spot palette (Gi_Bin -3..3)
BIN_COLOURS = {-3: "#4575b5", -2: "#849eba", -1: "#c0ccbe", 0: "#ffffbf", 1: "#fab984", 2: "#ed7551", 3: "#d62f27"}
GI_NOTE = ("Getis-Ord Gi*: binary fixed-distance weights (a cell's neighbours are the study cells whose centres lie "
           "within the distance band, the cell itself included); X̄ and S over the study cells; two-sided p-values "
           "from the normal distribution. Bins as ArcGIS: ±3/±2/±1 at |z| ≥ 2.576/1.960/1.645 (99/95/90% "
           "confidence).")
FDR_NOTE = ("False Discovery Rate correction (Benjamini–Hochberg, as ArcGIS applies it): at each confidence level "
            "the critical p-value is lowered to the largest p(k) with p(k) ≤ k/m · α over the m study cells.")


# ---------------------------------------------------------------------------------------------------------- Gi*
def disc_runs(distance_ft: float, cell_ft: float) -> list[tuple[int, int]]:
    """The distance band as horizontal runs: [(row offset, half width)] with every offset (di, dj), |dj| ≤ half
    width, at most ``distance_ft`` apart (cell centres; a hair of tolerance so exact multiples count)."""
    rad = distance_ft / cell_ft * (1 + 1e-12)
    r = int(math.floor(rad))
    out = []
    for di in range(-r, r + 1):
        w = int(math.floor(math.sqrt(max(rad * rad - di * di, 0.0))))
        # guard floor() against round-off: keep w with di² + w² ≤ rad²
        while w > 0 and di * di + w * w > rad * rad:
            w -= 1
        while di * di + (w + 1) ** 2 <= rad * rad:
            w += 1
        out.append((di, w))
    return out


def disc_sum(values: np.ndarray, runs: list[tuple[int, int]]) -> np.ndarray:
    """Σ over the disc around every cell of ``values`` (zero outside the array)."""
    nr, nc = values.shape
    r = max(abs(di) for di, _ in runs)
    wmax = max(w for _, w in runs)
    pad = np.zeros((nr + 2 * r, nc + 2 * wmax + 1), dtype=values.dtype)
    pad[r:r + nr, wmax + 1:wmax + 1 + nc] = values
    cum = np.cumsum(pad, axis=1)  # cum[:, k] = Σ of padded columns 0..k; column wmax is the last zero column
    out = np.zeros((nr, nc), dtype=values.dtype)
    for di, w in runs:
        rows = slice(r + di, r + di + nr)
        # cells j-w .. j+w of the original are padded columns j+wmax+1-w .. j+wmax+1+w
        out += cum[rows, wmax + 1 + w:wmax + 1 + w + nc] - cum[rows, wmax - w:wmax - w + nc]
    return out


def gi_star(counts2d, study_mask2d, distance_ft: float, cell_ft: float) -> tuple[np.ndarray, np.ndarray]:
    """(z, p) arrays over the grid: Gi* z-scores and two-sided p-values for the study cells, NaN elsewhere (and
    where Gi* is undefined: no variation among the study cells, or a cell whose band covers every study cell)."""
    from scipy.special import ndtr

    x = np.asarray(counts2d, dtype="float64")
    mask = np.asarray(study_mask2d, dtype=bool)
    if x.shape != mask.shape:
        raise ValueError(f"counts {x.shape} and study mask {mask.shape} differ in shape")
    if distance_ft < cell_ft:
        raise UserError(f"The distance band ({distance_ft:,.0f} ft) is shorter than the cell size ({cell_ft:,.0f} ft), "
                        "so no cell would have a neighbour; use a distance band of at least one cell.")
    z = np.full(x.shape, np.nan)
    p = np.full(x.shape, np.nan)
    n = int(mask.sum())
    if n < 2:
        return z, p
    xm = np.where(mask, x, 0.0)
    vals = xm[mask]
    mean = vals.mean()
    s = math.sqrt(max((vals * vals).mean() - mean * mean, 0.0))
    if s == 0:
        return z, p
    runs = disc_runs(distance_ft, cell_ft)
    sw = disc_sum(mask.astype("float64"), runs)
    swx = disc_sum(xm, runs)
    # binary weights: Σ w² = Σ w
    with np.errstate(invalid="ignore", divide="ignore"):
        den = s * np.sqrt((n * sw - sw * sw) / (n - 1))
        zz = (swx - mean * sw) / den
    zz[~mask | ~(den > 0)] = np.nan
    z = zz
    p = np.where(np.isfinite(z), 2.0 * ndtr(-np.abs(z)), np.nan)
    return z, p


def fdr_thresholds(p: np.ndarray, alphas=(0.10, 0.05, 0.01)) -> dict[float, float]:
    """Benjamini–Hochberg critical p-value per α: the largest p(k) with p(k) ≤ k/m · α (0 when none passes)."""
    ps = np.sort(np.asarray(p, dtype="float64")[np.isfinite(p)])
    m = ps.size
    out = {}
    for a in alphas:
        if m == 0:
            out[a] = 0.0
            continue
        ok = np.flatnonzero(ps <= np.arange(1, m + 1) / m * a)
        out[a] = float(ps[ok[-1]]) if ok.size else 0.0
    return out


def gi_bins(z, p, fdr: bool = False) -> np.ndarray:
    """ArcGIS's Gi_Bin: ±3/±2/±1 at 99/95/90% confidence (|z| ≥ 2.576/1.960/1.645), 0 otherwise and where z is
    undefined. With ``fdr`` the critical p-values are those of the False Discovery Rate correction."""
    z = np.asarray(z, dtype="float64")
    p = np.asarray(p, dtype="float64")
    level = np.zeros(z.shape, dtype=np.int8)
    ok = np.isfinite(z) & np.isfinite(p)
    if fdr:
        t = fdr_thresholds(p[ok])
        for lv, a in ((1, 0.10), (2, 0.05), (3, 0.01)):
            level[ok & (p <= t[a]) & (t[a] > 0)] = lv
    else:
        az = np.abs(np.where(ok, z, 0.0))
        level[az >= Z_90] = 1
        level[az >= Z_95] = 2
        level[az >= Z_99] = 3
    return (level * np.sign(np.where(ok, z, 0.0))).astype(np.int8)


# ------------------------------------------------------------------------------------------------ the analysis
@dataclass
class HotSpotResult:
    grid: Grid
    cells: pd.DataFrame          # study cells only
    params: dict
    n_events: int
    counts: np.ndarray = field(repr=False, default=None)   # (nrows, ncols)
    density: np.ndarray = field(repr=False, default=None)  # (nrows, ncols), per square mile
    z: np.ndarray = field(repr=False, default=None)
    p: np.ndarray = field(repr=False, default=None)
    bins: np.ndarray = field(repr=False, default=None)
    study_mask: np.ndarray = field(repr=False, default=None)
    notes: list = field(default_factory=list)

    def bin_counts(self) -> dict[int, int]:
        b = self.cells["gi_bin"].to_numpy()
        return {k: int((b == k).sum()) for k in range(-3, 4)}

    def top_cells(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` hottest significant cells (highest z first), with centre coordinates and district."""
        hot = self.cells[self.cells["gi_bin"] > 0].sort_values(["gi_z", "count"], ascending=[False, False])
        out = hot.head(k).reset_index(drop=True)
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        return out

    def to_geojson(self, digits: int = 7) -> dict:
        """FeatureCollection of the study cells as lon/lat polygons; properties row, col, count, gi_z, gi_p, gi_bin,
        density (z and p are null where Gi* is undefined)."""
        c = self.cells
        polys = self.grid.cell_polygons_lonlat(c["row"].to_numpy(), c["col"].to_numpy())
        feats = []
        for poly, row in zip(polys, c.itertuples(index=False)):
            ring = [[round(float(a), digits), round(float(b), digits)] for a, b in poly.exterior.coords]
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                          "properties": {"row": int(row.row), "col": int(row.col), "count": _num(row.count),
                                         "gi_z": _opt(row.gi_z), "gi_p": _opt(row.gi_p), "gi_bin": int(row.gi_bin),
                                         "density": _opt(row.density)}})
        return {"type": "FeatureCollection", "features": feats}


def _num(v):
    v = float(v)
    return int(v) if v.is_integer() else v


def _opt(v):
    v = float(v)
    return v if math.isfinite(v) else None


def cell_districts(ws, lon: np.ndarray, lat: np.ndarray, crs: str) -> np.ndarray:
    """Per point: the label of the district containing it, else of the nearest district ("" without districts)."""
    import shapely

    ds = [a for a in ws.districts if a.geometry is not None]
    out = np.full(lon.shape, "", dtype=object)
    if not ds or lon.size == 0:
        return out
    labels = np.array([district_label(district_key(a.name) or a.name) for a in ds], dtype=object)
    idx = geo.assign([a.geometry for a in ds], lon, lat)
    out[idx >= 0] = labels[idx[idx >= 0]]
    miss = np.flatnonzero(idx < 0)
    if miss.size:
        polys = [ev_mod.geometry_to_feet(a.geometry, crs) for a in ds]
        x, y = geo.from_wgs84(lon[miss], lat[miss], crs)
        tree = shapely.STRtree(polys)
        near = tree.nearest(shapely.points(x, y))
        out[miss] = labels[near]
    return out


def hotspot_analysis(ws, measure_id: str, start, end, area_key: str | None = None, cell_ft: float = DEFAULT_CELL_FT,
                     distance_ft: float = DEFAULT_DISTANCE_FT, bandwidth_ft: float | None = None, fdr: bool = False,
                     geometry=None, progress=None, cancelled=None, catalog=None) -> HotSpotResult:
    """Gi* hot spots and kernel density of ``measure_id`` from ``start`` to ``end`` over a grid of ``cell_ft`` cells
    covering the study region (the area's boundary, the drawn ``geometry``, or the city outline)."""
    ev_mod.report(progress, 0.0)
    events = ev_mod.select_events(ws, measure_id, start, end, area_key, geometry, catalog)
    ev_mod.check_cancel(cancelled)
    ev_mod.report(progress, 0.2)
    if distance_ft is None or not math.isfinite(distance_ft) or distance_ft <= 0:
        raise UserError(f"The distance band must be a positive number of feet (got {distance_ft}).")
    study, study_label = ev_mod.study_geometry(ws, area_key, geometry)
    grid = Grid.covering(study, cell_ft, events.crs)
    mask = grid.study_mask(study)
    if not mask.any():
        raise UserError(f"No {cell_ft:,.0f} ft cell has its centre inside {study_label}; choose a smaller cell size.")
    counts = grid.counts(events.x_ft, events.y_ft, events.weights)
    ev_mod.check_cancel(cancelled)
    ev_mod.report(progress, 0.4)
    z, p = gi_star(counts, mask, distance_ft, cell_ft)
    bins = gi_bins(z, p, fdr)
    ev_mod.check_cancel(cancelled)
    ev_mod.report(progress, 0.6)
    notes = []
    rule = "set"
    if bandwidth_ft is None:
        bandwidth_ft = default_bandwidth_ft(events.x_ft, events.y_ft, events.weights)
        rule = "default"
        if not math.isfinite(bandwidth_ft):
            bandwidth_ft = 2.0 * distance_ft
            rule = "fallback"
            notes.append("Too few (or coincident) events for ArcGIS's default bandwidth; twice the distance band "
                         "was used.")
    density = kernel_density(events.x_ft, events.y_ft, grid, bandwidth_ft, events.weights)
    ev_mod.check_cancel(cancelled)
    ev_mod.report(progress, 0.8)
    rr, cc = np.nonzero(mask)
    xs, ys = grid.centres()
    lon, lat = geo.to_wgs84(xs[rr, cc], ys[rr, cc], grid.crs)
    cells = pd.DataFrame({
        "row": rr.astype(np.int64), "col": cc.astype(np.int64), "x_ft": xs[rr, cc], "y_ft": ys[rr, cc],
        "lon": lon, "lat": lat, "count": counts[rr, cc], "gi_z": z[rr, cc], "gi_p": p[rr, cc],
        "gi_bin": bins[rr, cc].astype(np.int64), "density": density[rr, cc],
        "district": cell_districts(ws, lon, lat, grid.crs),
    })
    in_study = float(counts[mask].sum())
    if events.missing_xy:
        notes.append(f"{events.missing_xy:,} record(s) counted by the measure have no coordinates and are not on the "
                     "map.")
    outside = events.weights.sum() - in_study
    if outside > 0:
        notes.append(f"{outside:,.0f} located event(s) lie outside the study cells (centres outside "
                     f"{study_label}) and do not enter Gi*.")
    if np.isnan(z[mask]).all():
        notes.append("Every study cell has the same count, so Gi* is undefined (no cell is hotter than another).")
    vals = counts[mask]
    params = {
        "measure": events.measure_id, "measure_label": events.measure_label, "from": str(events.start),
        "to": str(events.end), "area": area_key or ("drawn boundary" if geometry is not None else "citywide"),
        "area_label": study_label, "cell_ft": float(cell_ft), "distance_ft": float(distance_ft),
        "bandwidth_ft": float(bandwidth_ft), "bandwidth_rule": rule, "fdr": bool(fdr),
        "neighbours_per_cell": int(sum(2 * w + 1 for _, w in disc_runs(distance_ft, cell_ft))),
        "study_cells": int(mask.sum()), "grid_rows": grid.nrows, "grid_cols": grid.ncols,
        "events": int(len(events)), "events_in_study_cells": in_study, "missing_xy": int(events.missing_xy),
        "mean_count": float(vals.mean()), "sd_count": float(vals.std()), "crs": grid.crs,
        "method": GI_NOTE, "fdr_note": FDR_NOTE if fdr else "", "kernel": KERNEL_NOTE,
        "bandwidth_note": BANDWIDTH_RULE if rule == "default" else "",
    }
    if fdr:
        params["fdr_thresholds"] = {str(k): v for k, v in fdr_thresholds(p[mask]).items()}
    ev_mod.report(progress, 1.0)
    return HotSpotResult(grid, cells, params, int(len(events)), counts, density, z, p, bins, mask, notes)


# ---------------------------------------------------------------------------------------- emerging hot spots
EMERGING_DEFINITIONS = {
    "New Hot Spot": "A hot spot in the final time slice that has never been a significant hot spot before.",
    "Consecutive Hot Spot": "A single uninterrupted run of at least two significant hot-spot slices ending in the "
                            "final slice; never a hot spot before that run; fewer than 90% of slices are hot.",
    "Intensifying Hot Spot": "A hot spot in at least 90% of slices, including the final one, and the intensity of "
                             "clustering (Gi* z) is rising significantly (Mann–Kendall).",
    "Persistent Hot Spot": "A hot spot in at least 90% of slices, with no significant trend in intensity.",
    "Diminishing Hot Spot": "A hot spot in at least 90% of slices, including the final one, and the intensity of "
                            "clustering is falling significantly (Mann–Kendall).",
    "Sporadic Hot Spot": "A hot spot in the final slice with an on-and-off history of being a hot spot; fewer "
                         "than 90% of slices are hot and none is a significant cold spot.",
    "Oscillating Hot Spot": "A hot spot in the final slice that was a significant cold spot in an earlier slice; "
                            "fewer than 90% of slices are hot.",
    "Historical Hot Spot": "Not a hot spot in the final slice, but a hot spot in at least 90% of the slices.",
    "New Cold Spot": "A cold spot in the final slice that has never been a significant cold spot before.",
    "Consecutive Cold Spot": "An uninterrupted run of at least two cold-spot slices ending in the final slice; never "
                             "a cold spot before; fewer than 90% of slices are cold.",
    "Intensifying Cold Spot": "A cold spot in at least 90% of slices, including the final one, becoming "
                              "significantly colder.",
    "Persistent Cold Spot": "A cold spot in at least 90% of slices, with no significant trend.",
    "Diminishing Cold Spot": "A cold spot in at least 90% of slices, including the final one, becoming "
                             "significantly less cold.",
    "Sporadic Cold Spot": "A cold spot in the final slice with an on-and-off history; fewer than 90% of slices cold "
                          "and none a significant hot spot.",
    "Oscillating Cold Spot": "A cold spot in the final slice that was a significant hot spot in an earlier slice; "
                             "fewer than 90% of slices are cold.",
    "Historical Cold Spot": "Not a cold spot in the final slice, but a cold spot in at least 90% of the slices.",
    "No Pattern Detected": "None of the patterns above.",
}
EMERGING_NOTE = ("Emerging hot spots (ArcGIS's categories): Gi* per time slice with the same grid and distance band, "
                 "a slice counts as a hot (cold) spot at 90% confidence or more after the False Discovery Rate "
                 "correction (as ArcGIS), and the trend of each cell's Gi* z-scores over the slices is tested with "
                 "Mann–Kendall (two-sided, p ≤ 0.05).")


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann–Kendall trend test along the last axis of ``series`` (cells x slices): (z, two-sided p), with the tie
    correction of the variance and the continuity correction of S."""
    from scipy.special import ndtr

    y = np.asarray(series, dtype="float64")
    t = y.shape[-1]
    s = np.zeros(y.shape[:-1])
    for i in range(t - 1):
        s += np.sign(y[..., i + 1:] - y[..., i:i + 1]).sum(axis=-1)
    var = np.full(y.shape[:-1], t * (t - 1) * (2 * t + 5) / 18.0)
    # ties: subtract Σ tp(tp−1)(2tp+5)/18 over groups of equal values (rounded so float noise is not a tie break)
    ys = np.sort(np.round(y, 9), axis=-1)
    run_start = np.ones(ys.shape, dtype=bool)
    run_start[..., 1:] = ys[..., 1:] != ys[..., :-1]
    flat_start = run_start.reshape(-1, t)
    corr = np.zeros(flat_start.shape[0])
    for k in range(flat_start.shape[0]):
        starts = np.flatnonzero(flat_start[k])
        sizes = np.diff(np.append(starts, t))
        sizes = sizes[sizes > 1]
        if sizes.size:
            corr[k] = float((sizes * (sizes - 1) * (2 * sizes + 5)).sum()) / 18.0
    var = var - corr.reshape(var.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.where(var > 0, z, 0.0)
    return z, 2.0 * ndtr(-np.abs(z))


def classify_emerging(bins: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """ArcGIS category per cell from its per-slice bins (cells x slices, −3..3) and the Mann–Kendall trend."""
    b = np.asarray(bins)
    t = b.shape[1]
    out = np.full(b.shape[0], "No Pattern Detected", dtype=object)
    for sign, word in ((1, "Hot"), (-1, "Cold")):
        sig = (b * sign) > 0
        opp = (b * -sign) > 0
        n_sig = sig.sum(axis=1)
        frac = n_sig / t
        last = sig[:, -1]
        rising = trend_z * sign > 0
        trend = trend_p <= alpha
        # length of the final run of significant slices
        run = np.zeros(b.shape[0], dtype=int)
        alive = np.ones(b.shape[0], dtype=bool)
        for j in range(t - 1, -1, -1):
            alive &= sig[:, j]
            run += alive
        free = out == "No Pattern Detected"
        many = frac >= 0.9
        cats = [
            (last & many & trend & rising, f"Intensifying {word} Spot"),
            (last & many & trend & ~rising, f"Diminishing {word} Spot"),
            (many & last & ~trend, f"Persistent {word} Spot"),
            (many & ~last, f"Historical {word} Spot"),
            (last & (n_sig == 1), f"New {word} Spot"),
            (last & ~many & (run >= 2) & (n_sig == run), f"Consecutive {word} Spot"),
            (last & ~many & opp.any(axis=1), f"Oscillating {word} Spot"),
            (last & ~many & ~opp.any(axis=1), f"Sporadic {word} Spot"),
        ]
        for cond, name in cats:
            hit = free & cond
            out[hit] = name
            free &= ~hit
    return out


def month_slices(start, end) -> list[tuple[int, int, str]]:
    """Calendar-month slices (first day, last day, label 'YYYY-MM') covering start..end, clipped to it."""
    s = ev_mod.period_window(start, end)
    out = []
    y, m = s.start.year, s.start.month
    import datetime as dt

    while True:
        first = dt.date(y, m, 1)
        if first > s.end:
            break
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        lo = max(first, s.start)
        hi = min(nxt - dt.timedelta(days=1), s.end)
        out.append((ev_mod.days_since_epoch(lo), ev_mod.days_since_epoch(hi), f"{y:04d}-{m:02d}"))
        y, m = nxt.year, nxt.month
    return out


def day_slices(start, end, days: int) -> list[tuple[int, int, str]]:
    s = ev_mod.period_window(start, end)
    d0, d1 = ev_mod.days_since_epoch(s.start), ev_mod.days_since_epoch(s.end)
    out = []
    for lo in range(d0, d1 + 1, days):
        hi = min(lo + days - 1, d1)
        out.append((lo, hi, str(np.datetime64(lo, "D"))))
    return out


@dataclass
class EmergingResult:
    grid: Grid
    cells: pd.DataFrame        # study cells: row, col, x_ft, y_ft, lon, lat, district, category, trend_z, ...
    slices: list[str]
    params: dict
    definitions: dict = field(default_factory=lambda: dict(EMERGING_DEFINITIONS))
    bins: np.ndarray = field(repr=False, default=None)   # (study cells, slices)
    z: np.ndarray = field(repr=False, default=None)

    def category_counts(self) -> dict[str, int]:
        vc = self.cells["category"].value_counts()
        return {k: int(vc.get(k, 0)) for k in EMERGING_DEFINITIONS}

    def to_geojson(self, digits: int = 7) -> dict:
        c = self.cells
        polys = self.grid.cell_polygons_lonlat(c["row"].to_numpy(), c["col"].to_numpy())
        feats = []
        for poly, row in zip(polys, c.itertuples(index=False)):
            ring = [[round(float(a), digits), round(float(b), digits)] for a, b in poly.exterior.coords]
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                          "properties": {"row": int(row.row), "col": int(row.col), "category": row.category,
                                         "trend_z": _opt(row.trend_z), "trend_p": _opt(row.trend_p),
                                         "hot_slices": int(row.hot_slices), "cold_slices": int(row.cold_slices),
                                         "count": _num(row.count)}})
        return {"type": "FeatureCollection", "features": feats}


def emerging_hotspots(ws, measure_id: str, start, end, area_key: str | None = None,
                      cell_ft: float = DEFAULT_CELL_FT, distance_ft: float = DEFAULT_DISTANCE_FT,
                      slice_days: int | None = None, fdr: bool = True, trend_alpha: float = 0.05, geometry=None,
                      progress=None, cancelled=None, catalog=None) -> EmergingResult:
    """Emerging hot spots: Gi* per time slice (calendar months, or ``slice_days``-day slices), a Mann–Kendall trend
    per cell and ArcGIS's pattern categories."""
    ev_mod.report(progress, 0.0)
    events = ev_mod.select_events(ws, measure_id, start, end, area_key, geometry, catalog)
    slices = day_slices(start, end, int(slice_days)) if slice_days else month_slices(start, end)
    if len(slices) < 3:
        raise UserError(f"Emerging hot spots need at least three time slices; {start} to {end} gives "
                        f"{len(slices)}. Choose a longer period or shorter slices.")
    study, study_label = ev_mod.study_geometry(ws, area_key, geometry)
    grid = Grid.covering(study, cell_ft, events.crs)
    mask = grid.study_mask(study)
    if not mask.any():
        raise UserError(f"No {cell_ft:,.0f} ft cell has its centre inside {study_label}; choose a smaller cell size.")
    rr, cc = np.nonzero(mask)
    r_ev, c_ev = grid.cell_of(events.x_ft, events.y_ft)
    zs = np.full((rr.size, len(slices)), np.nan)
    bins = np.zeros((rr.size, len(slices)), dtype=np.int8)
    total = np.zeros(rr.size)
    for k, (lo, hi, _) in enumerate(slices):
        ev_mod.check_cancel(cancelled)
        sel = (events.days >= lo) & (events.days <= hi)
        counts = grid.counts(events.x_ft[sel], events.y_ft[sel], events.weights[sel])
        z, p = gi_star(counts, mask, distance_ft, cell_ft)
        zs[:, k] = z[rr, cc]
        bins[:, k] = gi_bins(z, p, fdr)[rr, cc]
        total += counts[rr, cc]
        ev_mod.report(progress, 0.1 + 0.8 * (k + 1) / len(slices))
    tz, tp = mann_kendall(np.nan_to_num(zs, nan=0.0))
    cats = classify_emerging(bins, tz, tp, trend_alpha)
    xs, ys = grid.centres()
    lon, lat = geo.to_wgs84(xs[rr, cc], ys[rr, cc], grid.crs)
    cells = pd.DataFrame({"row": rr, "col": cc, "x_ft": xs[rr, cc], "y_ft": ys[rr, cc], "lon": lon, "lat": lat,
                          "count": total, "category": cats, "trend_z": tz, "trend_p": tp,
                          "hot_slices": (bins > 0).sum(axis=1), "cold_slices": (bins < 0).sum(axis=1),
                          "district": cell_districts(ws, lon, lat, grid.crs)})
    params = {"measure": events.measure_id, "measure_label": events.measure_label, "from": str(events.start),
              "to": str(events.end), "area_label": study_label, "cell_ft": float(cell_ft),
              "distance_ft": float(distance_ft), "slices": len(slices),
              "slice": f"{slice_days} days" if slice_days else "calendar month", "fdr": bool(fdr),
              "trend_alpha": trend_alpha, "events": int(len(events)), "missing_xy": int(events.missing_xy),
              "method": EMERGING_NOTE}
    ev_mod.report(progress, 1.0)
    return EmergingResult(grid, cells, [s[2] for s in slices], params, dict(EMERGING_DEFINITIONS), bins, zs)

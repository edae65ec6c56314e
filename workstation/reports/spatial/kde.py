"""Kernel density of events over a grid: quartic (biweight) kernel, density per square mile (ArcGIS's Kernel Density).

density(c) = Σ_i 3/(π h²) · (1 − (d_ic/h)²)²  for every event i within the bandwidth h of the cell centre c,

in events per square foot, reported per square mile. Events are first binned to the cell centres (linear binning: each
event shared among the four nearest centres), then the binned counts are convolved with the kernel sampled at
cell-centre offsets by FFT: the cost is four histograms plus one FFT of the grid, whatever the number of events (1M
points on 500 x 500 cells in tens of milliseconds; benchmarks/spatial_bench.py). Events exactly at cell centres give
exactly the per-point sum; elsewhere the difference is second order in cell size / bandwidth.
"""
from __future__ import annotations

import math

import numpy as np

from workstation.core.errors import UserError
from workstation.engine.geometry import FEET_PER_MILE
from workstation.reports.spatial.grid import Grid

BANDWIDTH_RULE = ("ArcGIS default search radius: 0.9 · min(SD, √(1/ln 2) · Dm) · n^−0.2, with SD the standard "
                  "distance of the events and Dm their median distance to the mean centre.")
KERNEL_NOTE = ("Quartic (biweight) kernel, 3/(π h²) · (1 − (d/h)²)² within the bandwidth h; density in events per "
               "square mile, computed at cell centres from events linearly binned to the four nearest centres.")


def default_bandwidth_ft(x, y, weights=None) -> float:
    """ArcGIS's default bandwidth, 0.9 · min(SD, √(1/ln 2) · Dm) · n^−0.2 (feet), for events at (x, y) in feet.
    Returns NaN for fewer than two events or when all events are at one place."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    n = x.size if weights is None else float(np.sum(weights))
    if x.size < 2 or n <= 0:
        return float("nan")
    w = np.ones(x.size) if weights is None else np.asarray(weights, dtype="float64")
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    sd = math.sqrt(np.average((x - mx) ** 2 + (y - my) ** 2, weights=w))
    d = np.hypot(x - mx, y - my)
    dm = _weighted_median(d, w)
    h = 0.9 * min(sd, math.sqrt(1.0 / math.log(2.0)) * dm) * n ** -0.2
    return float(h) if h > 0 else float("nan")


def _weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    if np.all(w == w[0]):
        return float(np.median(v))
    order = np.argsort(v)
    cw = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cw, cw[-1] / 2.0)])


def kernel_stencil(bandwidth_ft: float, cell_ft: float) -> np.ndarray:
    """The quartic kernel (per square foot) at cell-centre offsets: a (2R+1, 2R+1) array, R = ⌈h / cell⌉."""
    r = int(math.ceil(bandwidth_ft / cell_ft))
    off = np.arange(-r, r + 1) * cell_ft
    d2 = (off[:, None] ** 2 + off[None, :] ** 2) / (bandwidth_ft * bandwidth_ft)
    k = np.where(d2 < 1.0, (1.0 - d2) ** 2, 0.0)
    return k * (3.0 / (math.pi * bandwidth_ft * bandwidth_ft))


def linear_binned(x, y, grid: Grid, weights=None) -> np.ndarray:
    """(nrows, ncols) linear binning: each event is shared among the four cell centres around it in proportion to
    its closeness (bilinear weights), which makes the binned density's error second order in the cell size instead of
    first (an event at a cell centre stays wholly in its cell). Events beyond the outer centres are dropped."""
    u = (np.asarray(x, dtype="float64") - grid.x0) / grid.cell_ft - 0.5
    v = (np.asarray(y, dtype="float64") - grid.y0) / grid.cell_ft - 0.5
    c0 = np.floor(u).astype(np.int64)
    r0 = np.floor(v).astype(np.int64)
    fu, fv = u - c0, v - r0
    w = np.ones(u.shape) if weights is None else np.asarray(weights, dtype="float64")
    out = np.zeros(grid.size)
    for dr, dc, share in ((0, 0, (1 - fv) * (1 - fu)), (0, 1, (1 - fv) * fu), (1, 0, fv * (1 - fu)),
                          (1, 1, fv * fu)):
        r, c = r0 + dr, c0 + dc
        ok = (r >= 0) & (r < grid.nrows) & (c >= 0) & (c < grid.ncols) & (share > 0)
        out += np.bincount(r[ok] * grid.ncols + c[ok], weights=(w * share)[ok], minlength=grid.size)
    return out.reshape(grid.shape)


def convolve_valid(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """2-D convolution of ``a`` with the odd-sized, symmetric kernel ``k`` by FFT, only where ``k`` fits inside ``a``
    (scipy.fft directly: scipy.signal alone takes over a second to import)."""
    from scipy import fft

    shape = [fft.next_fast_len(a.shape[i] + k.shape[i] - 1, real=True) for i in (0, 1)]
    full = fft.irfft2(fft.rfft2(a, shape) * fft.rfft2(k, shape), shape)
    r0, r1 = k.shape[0] - 1, k.shape[1] - 1
    return full[r0:a.shape[0], r1:a.shape[1]]


def kernel_density(x, y, grid: Grid, bandwidth_ft: float, weights=None) -> np.ndarray:
    """(nrows, ncols) quartic kernel density at the cell centres, in events per square mile. Events off the grid
    still count in cells within the bandwidth of them."""
    if not bandwidth_ft or not math.isfinite(bandwidth_ft) or bandwidth_ft <= 0:
        raise UserError(f"The kernel bandwidth must be a positive number of feet (got {bandwidth_ft}).")
    if bandwidth_ft / grid.cell_ft > 500:
        raise UserError(f"A {bandwidth_ft:,.0f} ft bandwidth is more than 500 cells of {grid.cell_ft:,.0f} ft; "
                        "choose a larger cell size or a smaller bandwidth.")
    stencil = kernel_stencil(bandwidth_ft, grid.cell_ft)
    r = stencil.shape[0] // 2
    # bin onto the grid widened by the kernel radius, so events just outside still reach the edge cells
    wide = Grid(grid.x0 - r * grid.cell_ft, grid.y0 - r * grid.cell_ft, grid.cell_ft, grid.nrows + 2 * r,
                grid.ncols + 2 * r, grid.crs)
    counts = linear_binned(x, y, wide, weights)
    if not counts.any():
        return np.zeros(grid.shape)
    dens = convolve_valid(counts, stencil)  # (nrows, ncols)
    dens[dens < 1e-12 * stencil.max()] = 0.0          # FFT round-off leaves tiny negatives where there is nothing
    return dens * (FEET_PER_MILE * FEET_PER_MILE)

"""A grid of square cells in the local CRS (feet): the lattice that density and hot-spot analyses are computed on.

Row 0 is the southernmost row and column 0 the westernmost; cell (r, c) spans x0 + c·cell .. x0 + (c+1)·cell and
y0 + r·cell .. y0 + (r+1)·cell. Arrays over the grid are (nrows, ncols); flip them up-down to draw north up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workstation.core.errors import UserError
from workstation.engine import geometry as geo

MAX_CELLS = 4_000_000  # 2,000 x 2,000: beyond this a cell size is almost certainly a typo (inches for feet)


@dataclass(frozen=True)
class Grid:
    x0: float          # west edge, feet
    y0: float          # south edge, feet
    cell_ft: float
    nrows: int
    ncols: int
    crs: str

    @classmethod
    def covering(cls, geometry_lonlat, cell_ft: float, crs: str, pad_cells: int = 0) -> "Grid":
        """The smallest grid of ``cell_ft`` cells whose cells cover the polygon (plus ``pad_cells`` on each side)."""
        if not cell_ft or not math.isfinite(cell_ft) or cell_ft <= 0:
            raise UserError(f"The cell size must be a positive number of feet (got {cell_ft}).")
        g = geo.transform_geometry(geometry_lonlat, "EPSG:4326", crs)
        xmin, ymin, xmax, ymax = g.bounds
        return cls.from_bounds(xmin, ymin, xmax, ymax, cell_ft, crs, pad_cells)

    @classmethod
    def from_bounds(cls, xmin, ymin, xmax, ymax, cell_ft: float, crs: str, pad_cells: int = 0) -> "Grid":
        if not cell_ft or not math.isfinite(cell_ft) or cell_ft <= 0:
            raise UserError(f"The cell size must be a positive number of feet (got {cell_ft}).")
        ncols = max(1, int(math.ceil((xmax - xmin) / cell_ft))) + 2 * pad_cells
        nrows = max(1, int(math.ceil((ymax - ymin) / cell_ft))) + 2 * pad_cells
        if ncols * nrows > MAX_CELLS:
            raise UserError(f"A {cell_ft:g} ft cell gives {nrows:,} x {ncols:,} cells over the study area, more than "
                            f"{MAX_CELLS:,}; choose a larger cell size.")
        # centre the lattice on the extent so the margin is equal on both sides
        x0 = (xmin + xmax) / 2 - ncols * cell_ft / 2
        y0 = (ymin + ymax) / 2 - nrows * cell_ft / 2
        return cls(float(x0), float(y0), float(cell_ft), int(nrows), int(ncols), crs)

    @property
    def shape(self) -> tuple[int, int]:
        return self.nrows, self.ncols

    @property
    def size(self) -> int:
        return self.nrows * self.ncols

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.x0, self.y0, self.x0 + self.ncols * self.cell_ft, self.y0 + self.nrows * self.cell_ft

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of every cell centre, each (nrows, ncols)."""
        xs = self.x0 + (np.arange(self.ncols) + 0.5) * self.cell_ft
        ys = self.y0 + (np.arange(self.nrows) + 0.5) * self.cell_ft
        return np.meshgrid(xs, ys)

    def centres_lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.centres()
        lon, lat = geo.to_wgs84(x.ravel(), y.ravel(), self.crs)
        return lon.reshape(self.shape), lat.reshape(self.shape)

    def cell_of(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the cell each point falls in (may be outside 0..n-1 for points off the grid)."""
        c = np.floor((np.asarray(x, dtype="float64") - self.x0) / self.cell_ft).astype(np.int64)
        r = np.floor((np.asarray(y, dtype="float64") - self.y0) / self.cell_ft).astype(np.int64)
        return r, c

    def counts(self, x, y, weights=None) -> np.ndarray:
        """(nrows, ncols) number (or weight) of points per cell; points off the grid are not counted."""
        r, c = self.cell_of(x, y)
        ok = (r >= 0) & (r < self.nrows) & (c >= 0) & (c < self.ncols)
        w = None if weights is None else np.asarray(weights, dtype="float64")[ok]
        flat = np.bincount(r[ok] * self.ncols + c[ok], weights=w, minlength=self.size)
        return flat.reshape(self.shape).astype("float64")

    def study_mask(self, geometry_lonlat) -> np.ndarray:
        """(nrows, ncols) True for the cells whose centre lies inside the polygon (lon/lat)."""
        import shapely

        g = geo.transform_geometry(geometry_lonlat, "EPSG:4326", self.crs)
        shapely.prepare(g)
        x, y = self.centres()
        return shapely.contains_xy(g, x.ravel(), y.ravel()).reshape(self.shape)

    def cell_polygons(self, rows, cols) -> np.ndarray:
        """Shapely boxes (feet) of the given cells."""
        import shapely

        rows = np.asarray(rows)
        cols = np.asarray(cols)
        x = self.x0 + cols * self.cell_ft
        y = self.y0 + rows * self.cell_ft
        return shapely.box(x, y, x + self.cell_ft, y + self.cell_ft)

    def cell_polygons_lonlat(self, rows=None, cols=None) -> np.ndarray:
        """Shapely lon/lat polygons of the given cells (default every cell, row-major). Corners are projected
        exactly, so neighbouring cells share edges."""
        import shapely

        if rows is None:
            rr, cc = np.divmod(np.arange(self.size), self.ncols)
        else:
            rr, cc = np.asarray(rows), np.asarray(cols)
        if rr.size == 0:
            return np.array([], dtype=object)
        # project the lattice corners once, then build each cell from its four corners
        xs = self.x0 + np.arange(self.ncols + 1) * self.cell_ft
        ys = self.y0 + np.arange(self.nrows + 1) * self.cell_ft
        gx, gy = np.meshgrid(xs, ys)
        lon, lat = geo.to_wgs84(gx.ravel(), gy.ravel(), self.crs)
        lon = lon.reshape(gx.shape)
        lat = lat.reshape(gx.shape)
        ring_r = np.stack([rr, rr, rr + 1, rr + 1, rr], axis=1)
        ring_c = np.stack([cc, cc + 1, cc + 1, cc, cc], axis=1)
        coords = np.stack([lon[ring_r, ring_c], lat[ring_r, ring_c]], axis=2)
        return shapely.polygons(coords)

    def to_dict(self) -> dict:
        return {"x0": self.x0, "y0": self.y0, "cell_ft": self.cell_ft, "nrows": self.nrows, "ncols": self.ncols,
                "crs": self.crs}

"""The events a spatial analysis works on: the records a measure counts in a period (and an area), as points in feet.

``select_events`` asks the CompStat counting engine for the rows (so the hierarchy rule, distinct-incident counting
and area membership are exactly the CompStat figures'), then projects them into ``local_crs(ws)``: a transverse
Mercator projection in US feet centred on the city, in which distance bands, cell sizes and buffers are true feet.
Records without coordinates count in the CompStat figure but cannot be placed; they are left out and counted in
``EventSet.missing_xy`` so every analysis can say how many it could not map.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from workstation.core.errors import Cancelled, UserError, stop_if
from workstation.engine import geometry as geo
from workstation.engine.areas import CITYWIDE, city_geometry, resolve_area
from workstation.engine.periods import EPOCH, Window, custom, date_of_day, to_date

Progress = Callable[[float], None] | None
CancelCheck = Callable[[], bool] | None


class AnalysisCancelled(Cancelled):
    """A spatial analysis was stopped by the user; nothing was changed."""


def check_cancel(cancelled: CancelCheck) -> None:
    stop_if(cancelled, AnalysisCancelled, "The spatial analysis was cancelled; nothing was changed.")


def report(progress: Progress, fraction: float) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))))


def scaled(progress: Progress, lo: float, hi: float) -> Progress:
    """A progress callback for a sub-step that maps its 0..1 onto lo..hi of the caller's bar."""
    if progress is None:
        return None
    return lambda f: progress(lo + (hi - lo) * f)


def city_centre(ws) -> tuple[float, float]:
    """(lon, lat) of the city's centre: the centroid of the outline (or of the districts), else the records' median."""
    g = city_geometry(ws)
    if g is not None and not g.is_empty:
        c = g.centroid
        return float(c.x), float(c.y)
    for kind in ("offenses", "shootings", "calls", "activity"):
        df = ws.frames.get(kind)
        if df is not None and "lon" in df and df["lon"].notna().any():
            return float(df["lon"].median()), float(df["lat"].median())
    raise UserError("The workspace has no city outline, districts or located records, so there is no place to "
                    "analyse: import boundaries or records with coordinates first.")


def local_crs(ws) -> str:
    """The workspace's local projected CRS (PROJ string): transverse Mercator in US feet centred on the city."""
    lon0, lat0 = city_centre(ws)
    return geo.local_feet_crs(round(lon0, 4), round(lat0, 4))


def to_feet(ws_or_crs, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    crs = ws_or_crs if isinstance(ws_or_crs, str) else local_crs(ws_or_crs)
    return geo.from_wgs84(lon, lat, crs)


def geometry_to_feet(geom, crs: str):
    return geo.transform_geometry(geom, "EPSG:4326", crs)


def geometry_to_lonlat(geom, crs: str):
    return geo.transform_geometry(geom, crs, "EPSG:4326")


@dataclass
class EventSet:
    """Located events of one measure over one period, in the local CRS (feet). Arrays are parallel, sorted by day.

    ``weights`` is how much each event adds to the measure (1 for records and incidents; the ``count`` or
    ``quantity`` of the row for sum measures), so ``weights.sum() + missing_weight`` is the CompStat figure."""

    ids: np.ndarray
    x_ft: np.ndarray
    y_ft: np.ndarray
    days: np.ndarray          # int64 days since 1970-01-01
    lon: np.ndarray
    lat: np.ndarray
    address: np.ndarray | None
    district: np.ndarray | None
    crs: str
    weights: np.ndarray
    missing_xy: int = 0       # records the measure counts in the period and area that have no coordinates
    missing_weight: float = 0.0
    measure_id: str = ""
    measure_label: str = ""
    dataset: str = "offenses"
    start: dt.date | None = None
    end: dt.date | None = None
    area_key: str | None = None
    area_label: str = ""
    frame_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.x_ft.size)

    @property
    def n(self) -> int:
        return len(self)

    @property
    def dates(self) -> np.ndarray:
        """numpy datetime64[D] dates of the events."""
        return (np.asarray(self.days, dtype="int64")).astype("datetime64[D]")

    @property
    def total(self) -> float:
        """The CompStat figure: located events plus those without coordinates."""
        return float(self.weights.sum()) + float(self.missing_weight)

    def date(self, i: int) -> dt.date:
        return date_of_day(int(self.days[i]))

    def subset(self, keep: np.ndarray) -> "EventSet":
        keep = np.asarray(keep)
        pick = lambda a: None if a is None else a[keep]  # noqa: E731
        return EventSet(self.ids[keep], self.x_ft[keep], self.y_ft[keep], self.days[keep], self.lon[keep],
                        self.lat[keep], pick(self.address), pick(self.district), self.crs, self.weights[keep], 0, 0.0,
                        self.measure_id, self.measure_label, self.dataset, self.start, self.end, self.area_key,
                        self.area_label, self.frame_rows[keep])


def period_window(start, end, what: str = "period") -> Window:
    try:
        s, e = to_date(start), to_date(end)
    except (ValueError, TypeError):
        raise UserError(f"The {what} ({start} to {end}) is not a pair of dates; write them as YYYY-MM-DD.") from None
    if e < s:
        raise UserError(f"The {what} ends ({e:%Y-%m-%d}) before it starts ({s:%Y-%m-%d}); swap the dates.")
    return custom(s, e)


def count_measure(ws, measure_id: str, catalog=None):
    from workstation.engine.analysis import analysis_for

    an = analysis_for(ws)
    m = (catalog or an.catalog).get(measure_id)
    if not m.is_count:
        raise UserError(f"'{m.label}' is a clearance rate, not a set of events; choose a count measure for a spatial "
                        "analysis.")
    return an, m


def select_events(ws, measure_id: str, start, end, area_key: str | None = None, geometry=None,
                  catalog=None) -> EventSet:
    """The located events ``measure_id`` counts from ``start`` to ``end`` (inclusive) in ``area_key`` (default
    citywide) or inside ``geometry`` (a lon/lat polygon, e.g. the live what-if draft; membership as for a scenario:
    the point lies inside, records without coordinates never do). Distinct-incident measures give one event per
    incident (its first record)."""
    from workstation.engine.analysis import counting_rule

    an, m = count_measure(ws, measure_id, catalog)
    win = period_window(start, end)
    ix = an.index(m.dataset)
    crs = local_crs(ws)
    if geometry is not None:
        problem = geo.validity_problem(geometry)
        if problem:
            raise UserError(f"The boundary cannot be analysed: {problem}")
        sel = ix.selector(m, counting_rule(ws))
        lo, hi = ix.bounds(win)
        pos = np.arange(lo, hi)[sel[ix.atoms[lo:hi]] > 0]
        if ix.lon is not None and pos.size:
            pos = pos[geo.contains(geometry, ix.lon[pos], ix.lat[pos])]
        else:
            pos = pos[:0]
        key, label = None, "Drawn boundary"
    else:
        key = area_key or CITYWIDE
        ref = resolve_area(ws, key)
        pos = an.rows(m, ref, win)
        label = ref.label
    pos = np.sort(pos)  # sorted order is by day, so events come out in date order
    if m.count == "incidents" and pos.size:
        _, first = np.unique(ix.incidents[pos], return_index=True)
        pos = pos[np.sort(first)]
    w = ix.weights(m.count)
    weights = np.ones(pos.size) if w is None else np.asarray(w[pos], dtype="float64")
    if ix.lon is None:
        located = np.zeros(pos.size, dtype=bool)
    else:
        located = ix.has_xy[pos]
    missing = int((~located).sum())
    missing_weight = float(weights[~located].sum())
    pos, weights = pos[located], weights[located]
    lon = ix.lon[pos] if ix.lon is not None else np.zeros(0)
    lat = ix.lat[pos] if ix.lat is not None else np.zeros(0)
    x, y = geo.from_wgs84(lon, lat, crs) if pos.size else (np.zeros(0), np.zeros(0))
    rows = an.frame_rows(m.dataset, pos)
    df = ws.frames[m.dataset]
    # take the rows first: converting a whole Arrow-backed text column to numpy costs more than the analysis
    ids = df["record_id"].take(rows).to_numpy(dtype=object) if "record_id" in df else rows.astype(str)
    address = df["address"].take(rows).to_numpy(dtype=object, na_value=None) if "address" in df else None
    district = None
    if ix.district_codes is not None:
        names = np.array(list(ix.district_names) + [None], dtype=object)
        codes = ix.district_codes[pos]
        district = names[np.where(codes < 0, len(names) - 1, codes)]
    return EventSet(np.asarray(ids), np.ascontiguousarray(x, dtype="float64"),
                    np.ascontiguousarray(y, dtype="float64"), np.asarray(ix.days[pos], dtype="int64"),
                    np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"), address, district, crs,
                    weights, missing, missing_weight, m.id, m.label, m.dataset, win.start, win.end, key, label,
                    np.asarray(rows, dtype="int64"))


def study_geometry(ws, area_key: str | None = None, geometry=None):
    """(lon/lat polygon, label) of the study region: the drawn boundary, the chosen area, or the city outline."""
    if geometry is not None:
        return geometry, "Drawn boundary"
    ref = resolve_area(ws, area_key or CITYWIDE)
    g = ref.geometry
    if g is None or g.is_empty:
        raise UserError(f"{ref.label} has no boundary, so there is no study region to put a grid on: import the "
                        "district or city boundaries first.")
    return g, ref.label


def days_since_epoch(d) -> int:
    return (to_date(d) - EPOCH).days


def dates_of(days: np.ndarray) -> list[str]:
    return [str(x) for x in np.asarray(days, dtype="int64").astype("datetime64[D]")]


def as_frame(ev: EventSet) -> pd.DataFrame:
    """The events as a table (for drill-through and exports)."""
    return pd.DataFrame({"id": ev.ids, "date": ev.dates, "address": ev.address, "district": ev.district,
                         "lon": ev.lon, "lat": ev.lat, "x_ft": ev.x_ft, "y_ft": ev.y_ft, "weight": ev.weights})

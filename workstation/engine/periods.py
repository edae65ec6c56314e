"""Reporting periods: the CompStat windows, their same-window-a-year-earlier twins, and day numbers.

Every window is a closed range of calendar days ``[start, end]``. Dates are handled as whole days: the engine turns
datetimes into int64 day numbers (days since 1970-01-01) once, so a window is two integers and counting it is a
``searchsorted`` on sorted day numbers (see analysis.py).

Rules (docs/definitions.md):
- week to date: the Monday–Sunday week containing the as-of date, from its Monday through the as-of date;
- 28 days: the 28 days ending on the as-of date;
- year to date: January 1 through the as-of date;
- a window "one year earlier" keeps the same month-day span; February 29 folds into February 28.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400_000_000_000
EPOCH = _dt.date(1970, 1, 1)

NAT_DAY = np.iinfo(np.int64).min  # day number given to rows with no date; never inside a window

WINDOW_KINDS = ("wtd", "28d", "ytd")
WINDOW_LABELS = {"wtd": "Week to date", "28d": "28 days", "ytd": "Year to date", "year": "Full year", "custom": ""}


def to_date(value) -> _dt.date:
    """A calendar date from a date, datetime, Timestamp, numpy datetime64 or ISO text."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        raise ValueError(f"not a date: {value!r}")
    return ts.date()


def day_number(value) -> int:
    """Days since 1970-01-01 of a date-like value."""
    return (to_date(value) - EPOCH).days


def date_of_day(day: int) -> _dt.date:
    return EPOCH + _dt.timedelta(days=int(day))


def day_numbers(values) -> np.ndarray:
    """int64 day numbers of a datetime64 array/Series (any unit); NaT becomes the int64 minimum (``NAT_DAY``).

    Works on the raw int64 view so no datetime array is ever converted between units (a unit mismatch in numpy
    silently copies and converts the whole array on every comparison).
    """
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(pd.Series(arr), errors="coerce").to_numpy()
    unit, _ = np.datetime_data(arr.dtype)
    per_day = {"ns": NS_PER_DAY, "us": NS_PER_DAY // 1000, "ms": NS_PER_DAY // 1_000_000, "s": 86_400, "D": 1}
    if unit not in per_day:
        arr = arr.astype("datetime64[ns]")
        unit = "ns"
    raw = arr.view("int64")
    out = raw // per_day[unit]  # floor division: correct for dates before 1970 too
    nat = np.isnat(arr)
    if nat.any():
        out[nat] = NAT_DAY
    return out



def same_day_years_earlier(d: _dt.date, years: int = 1) -> _dt.date:
    """The same month and day ``years`` earlier (negative: later); February 29 folds into February 28."""
    y = d.year - years
    if d.month == 2 and d.day == 29:
        return _dt.date(y, 2, 28) if not _is_leap(y) else _dt.date(y, 2, 29)
    return _dt.date(y, d.month, d.day)


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


@dataclass(frozen=True)
class Window:
    """A closed range of days. ``kind`` is "wtd", "28d", "ytd", "year" or "custom"; ``years_back`` says how many
    years this window was shifted from the as-of window (0 for the current one)."""

    kind: str
    start: _dt.date
    end: _dt.date
    years_back: int = 0

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_day(self) -> int:
        return day_number(self.start)

    @property
    def end_day(self) -> int:
        return day_number(self.end)

    def shifted(self, years: int = 1) -> "Window":
        """The same month-day span ``years`` earlier (Feb 29 folds into Feb 28)."""
        return Window(self.kind, same_day_years_earlier(self.start, years), same_day_years_earlier(self.end, years),
                      self.years_back + years)

    def contains(self, value) -> bool:
        return self.start <= to_date(value) <= self.end

    @property
    def label(self) -> str:
        base = WINDOW_LABELS.get(self.kind, "") or "Period"
        return f"{base} {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"

    def span(self) -> str:
        """The dates as a heading shows them: "Jan 01–Jan 07, 2018", the year twice only when it changes."""
        if self.start.year == self.end.year:
            return f"{self.start:%b %d}–{self.end:%b %d, %Y}"
        return f"{self.start:%b %d, %Y}–{self.end:%b %d, %Y}"

    def describe(self) -> str:
        return f"{self.start:%b %d, %Y} – {self.end:%b %d, %Y} ({self.days} days)"


def week_to_date(as_of) -> Window:
    d = to_date(as_of)
    return Window("wtd", d - _dt.timedelta(days=d.weekday()), d)


def last_28_days(as_of) -> Window:
    d = to_date(as_of)
    return Window("28d", d - _dt.timedelta(days=27), d)


def year_to_date(as_of) -> Window:
    d = to_date(as_of)
    return Window("ytd", _dt.date(d.year, 1, 1), d)


def full_year(year: int) -> Window:
    return Window("year", _dt.date(year, 1, 1), _dt.date(year, 12, 31))


def custom(start, end) -> Window:
    s, e = to_date(start), to_date(end)
    if e < s:
        raise ValueError(f"window ends ({e}) before it starts ({s})")
    return Window("custom", s, e)


def window(kind: str, as_of) -> Window:
    """The as-of window of ``kind`` ("wtd", "28d", "ytd")."""
    try:
        return {"wtd": week_to_date, "28d": last_28_days, "ytd": year_to_date}[kind](as_of)
    except KeyError:
        raise ValueError(f"unknown window kind {kind!r}; use one of {', '.join(WINDOW_KINDS)}") from None


def compstat_windows(as_of, years_back: int = 5) -> dict[tuple[str, int], Window]:
    """Every window the CompStat grid needs: {(kind, k): window} for kind in wtd/28d/ytd and k = 0..years_back
    (k years earlier, same month-day span)."""
    out = {}
    for kind in WINDOW_KINDS:
        w = window(kind, as_of)
        for k in range(years_back + 1):
            out[(kind, k)] = w.shifted(k) if k else w
    return out


def parse_window(spec, as_of) -> Window:
    """A window from a spec: a ``Window``; "wtd" / "28d" / "ytd" (as-of window); "ytd-1", "28d-2" (that many years
    earlier); "year:2018"; or a (start, end) pair."""
    if isinstance(spec, Window):
        return spec
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        return custom(*spec)
    s = str(spec).strip().lower()
    if s.startswith("year:"):
        return full_year(int(s[5:]))
    kind, _, back = s.partition("-")
    w = window(kind, as_of)
    return w.shifted(int(back)) if back else w

"""Trend series for the charts: this year by week or month, the same periods last year, a moving average, the band
of the previous years (mean ± 2 SD) and the rest of the city.

Weeks are Monday–Sunday; the same week a year earlier is 52 weeks (364 days) back so weekdays line up. Months are
calendar months; a month still in progress is compared with the same days of the earlier months.
"""
from __future__ import annotations

import calendar
import datetime as _dt

import numpy as np
import pandas as pd

from workstation.engine.analysis import analysis_for
from workstation.engine.areas import resolve_area
from workstation.engine.periods import date_of_day, day_number, same_day_years_earlier, to_date

MOVING_PERIODS = {"W": 4, "M": 3}
BAND_SD = 2.0


def _week_periods(d: _dt.date, extra: int) -> list[tuple[_dt.date, _dt.date]]:
    jan1 = _dt.date(d.year, 1, 1)
    first = jan1 - _dt.timedelta(days=jan1.weekday()) - _dt.timedelta(weeks=extra)
    out = []
    s = first
    while s <= d:
        out.append((s, min(s + _dt.timedelta(days=6), d)))
        s += _dt.timedelta(days=7)
    return out


def _month_periods(d: _dt.date, extra: int) -> list[tuple[_dt.date, _dt.date]]:
    out = []
    y, m = d.year, 1
    for _ in range(extra):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    while (y, m) <= (d.year, d.month):
        last = _dt.date(y, m, calendar.monthrange(y, m)[1])
        out.append((_dt.date(y, m, 1), min(last, d)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _shift(period, k: int, freq: str):
    s, e = period
    if freq == "W":
        return s - _dt.timedelta(days=364 * k), e - _dt.timedelta(days=364 * k)
    ys, ms = s.year - k, s.month
    full = e.day == calendar.monthrange(e.year, e.month)[1]
    if full:  # a whole month compares with the whole month (February 29 included when there is one)
        return _dt.date(ys, ms, 1), _dt.date(ys, ms, calendar.monthrange(ys, ms)[1])
    return same_day_years_earlier(s, k), same_day_years_earlier(e, k)


def trend_series(ws, measure, area_key: str = "citywide", freq: str = "W", as_of=None, *, years: int = 5,
                 counting: str | None = None) -> pd.DataFrame:
    """One row per period of the as-of year up to the as-of date. Columns: period_start, period_end, label,
    this_year, last_year, moving_avg, baseline_mean, baseline_low, baseline_high, baseline_years, rest_of_city,
    partial. Baseline statistics use the ``years`` previous years that the data cover (NaN when none)."""
    if freq not in MOVING_PERIODS:
        raise ValueError(f"freq must be 'W' or 'M', not {freq!r}")
    eng = analysis_for(ws)
    m = eng.catalog.get(measure)
    ref = resolve_area(ws, area_key)
    d = to_date(eng.default_as_of(as_of))
    k_ma = MOVING_PERIODS[freq]
    periods_ext = (_week_periods if freq == "W" else _month_periods)(d, k_ma - 1)
    periods = periods_ext[k_ma - 1:]
    earliest = min(_shift(periods_ext[0], years, freq)[0], periods_ext[0][0])
    start_day = day_number(earliest)
    area_daily = eng.daily(m, ref, earliest, d, counting)
    city_daily = area_daily if ref.kind == "citywide" else eng.daily(m, "citywide", earliest, d, counting)
    cum_a = np.concatenate([[0.0], np.cumsum(area_daily)])
    cum_c = np.concatenate([[0.0], np.cumsum(city_daily)])

    def total(cum, s, e):
        return float(cum[day_number(e) - start_day + 1] - cum[day_number(s) - start_day])

    first = eng.index(m.dataset).first_day
    covered = (lambda s: eng.covers(m.dataset, s))
    this_ext = np.array([total(cum_a, s, e) for s, e in periods_ext])
    moving = pd.Series(this_ext).rolling(k_ma).mean().to_numpy()[k_ma - 1:]
    rows = []
    for i, p in enumerate(periods):
        s, e = p
        this = total(cum_a, s, e)
        ly_s, ly_e = _shift(p, 1, freq)
        last = total(cum_a, ly_s, ly_e) if covered(ly_s) else np.nan
        hist = []
        for k in range(1, years + 1):
            hs, he = _shift(p, k, freq)
            if covered(hs):
                hist.append(total(cum_a, hs, he))
        mean = float(np.mean(hist)) if hist else np.nan
        sd = float(np.std(hist, ddof=1)) if len(hist) >= 2 else (0.0 if hist else np.nan)
        rest = np.nan if ref.kind == "citywide" else total(cum_c, s, e) - this
        full_len = 7 if freq == "W" else calendar.monthrange(s.year, s.month)[1]
        rows.append({
            "period_start": pd.Timestamp(s), "period_end": pd.Timestamp(e),
            "label": f"{s:%b %d}" if freq == "W" else f"{s:%b %Y}",
            "this_year": this, "last_year": last, "moving_avg": float(moving[i]),
            "baseline_mean": mean, "baseline_low": max(mean - BAND_SD * sd, 0.0) if hist else np.nan,
            "baseline_high": mean + BAND_SD * sd if hist else np.nan, "baseline_years": len(hist),
            "rest_of_city": rest, "partial": (e - s).days + 1 < full_len,
        })
    out = pd.DataFrame(rows)
    out.attrs.update({"measure": m.id, "label": m.label, "area": ref.key, "area_label": ref.label, "freq": freq,
                      "as_of": pd.Timestamp(d), "direction": m.direction,
                      "first_day": None if first is None else pd.Timestamp(date_of_day(first))})
    return out

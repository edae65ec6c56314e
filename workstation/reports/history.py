"""Part I history: the case study's Table 1 ("Impacts—Part I Crime in the Center Street Corridor (2007–2016)").

One column per year of a baseline span, the baseline average (to one decimal), the current year and its % change
from the average. Rows: the seven Part I offenses in the case study's order, Arson when the area has any, then
Violent, Property and Total.
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

from workstation.core import schema
from workstation.engine.analysis import COUNTING_NOTES, MEMBERSHIP_NOTES, analysis_for, counting_rule
from workstation.engine.areas import resolve_area
from workstation.engine.measures import Measure
from workstation.engine.periods import full_year, to_date, year_to_date
from workstation.reports.rules import ZERO_BASE_NOTE, pct_change
from workstation.reports.table import ReportTable

TABLE1_ROWS = (
    ("Homicide", ("homicide",)),
    ("Rape", ("rape",)),
    ("Robbery", ("robbery",)),
    ("Aggravated Assault", ("aggravated_assault",)),
    ("Burglary", ("burglary",)),
    ("Auto Theft", ("motor_vehicle_theft",)),
    ("Theft", ("larceny_theft",)),
)
ARSON_ROW = ("Arson", ("arson",))
DEFAULT_BASELINE_YEARS = 9


def _measure(label: str, cats) -> Measure:
    return Measure(id="part1_" + "_".join(cats)[:40], label=label, dataset="offenses", categories=tuple(cats))


def default_years(ws, as_of=None) -> tuple[int, int, int]:
    """(first baseline year, last baseline year, current year): the current year is the last complete year before
    the as-of date (the as-of year itself when the as-of date is December 31); the baseline is the nine years before
    it, or fewer when the data begin later."""
    eng = analysis_for(ws)
    d = to_date(eng.default_as_of(as_of))
    current = d.year if (d.month, d.day) == (12, 31) else d.year - 1
    first_day = eng.index("offenses").first_day
    first_year = (_dt.date(1970, 1, 1) + _dt.timedelta(days=first_day)).year if first_day is not None else current
    start = max(current - DEFAULT_BASELINE_YEARS, min(first_year, current - 1))
    return start, current - 1, current


def part1_history(ws, area_key: str = "citywide", *, baseline: tuple[int, int] | None = None,
                  current: int | None = None, as_of=None, ytd: bool = False, counting: str | None = None,
                  title: str | None = None) -> ReportTable:
    """Table 1 for an area. ``baseline`` = (first, last) year, ``current`` = the year compared with the baseline
    average. With ``ytd=True`` every column is the year-to-date span of the as-of date (for a current year still in
    progress)."""
    eng = analysis_for(ws)
    ref = resolve_area(ws, area_key)
    if baseline is None or current is None:
        b0, b1, cur = default_years(ws, as_of)
        baseline = baseline or (b0, b1)
        current = current or cur
    b0, b1 = int(baseline[0]), int(baseline[1])
    if b1 < b0:
        raise ValueError(f"baseline ends ({b1}) before it starts ({b0})")
    years = list(range(b0, b1 + 1))
    if ytd:
        d = to_date(eng.default_as_of(as_of))
        span = year_to_date(d)
        windows = [span.shifted(d.year - yr) if yr != d.year else span for yr in years + [current]]
    else:
        windows = [full_year(yr) for yr in years + [current]]
    rule = counting or counting_rule(ws)
    member = eng.member("offenses", ref)
    all_rows = list(TABLE1_ROWS)
    arson = _measure(*ARSON_ROW)
    arson_counts = eng.counts_for_members({"offenses": member}, [arson], windows, rule).values[0]
    if arson_counts.any():
        all_rows.append(ARSON_ROW)
    measures = [_measure(lbl, cats) for lbl, cats in all_rows]
    counts = eng.counts_for_members({"offenses": member}, measures, windows, rule).values
    by_cat = {cats[0]: counts[i] for i, (_, cats) in enumerate(all_rows)}
    violent = sum(by_cat[c] for c in schema.PART1_VIOLENT)
    prop = sum(by_cat.get(c, 0) for c in schema.PART1_PROPERTY)
    table_rows = [(lbl, counts[i]) for i, (lbl, _) in enumerate(all_rows)]
    table_rows += [("Violent Crime", violent), ("Property Crime", prop), ("Total Crime", violent + prop)]
    suffix = " (YTD)" if ytd else ""
    cols = ["Crime"] + [f"{yr}{suffix}" for yr in years] + [f"{b0} - {b1} Average", f"{current}{suffix}",
                                                             f"Average - {current} % Change"]
    kinds = ["label"] + ["count"] * len(years) + ["decimal1", "count", "pct_change"]
    # a year the offense records do not reach back to is unknown, not zero: blank, and left out of the average
    # (the year in progress of a year-to-date table is always shown, as on the CompStat grid)
    known = [eng.covers("offenses", w) or (ytd and yr == current and w.years_back == 0)
             for yr, w in zip(years + [current], windows)]
    rows, row_kinds = [], []
    for lbl, v in table_rows:
        v = [int(x) if ok else None for x, ok in zip(np.rint(v).astype(int), known)]
        base = [x for x in v[:-1] if x is not None]
        avg = float(np.mean(base)) if base else None
        rows.append([lbl, *v[:-1], avg, v[-1], pct_change(v[-1], avg)])
        row_kinds.append("subtotal" if lbl in ("Violent Crime", "Property Crime") else
                         "total" if lbl == "Total Crime" else "data")
    area_name = "Citywide" if ref.kind == "citywide" else ref.label
    span_text = f"year to date ({windows[-1].describe()}) each year" if ytd else "calendar years"
    notes = [
        f"Part I offenses in {area_name}, {span_text}; "
        f"the average is the mean of {b0}–{b1} (shown to one decimal; the % change uses the unrounded mean).",
        "Violent = homicide, rape, robbery, aggravated assault; property = burglary, theft, auto theft"
        + (", arson." if ARSON_ROW in all_rows else " (no arson records in this area).")
        + " Homicide is murder and non-negligent manslaughter.",
        COUNTING_NOTES[rule],
        ZERO_BASE_NOTE,
    ]
    first_day = eng.index("offenses").first_day
    if first_day is None:
        notes.append("There are no offense records: every year is blank (unknown, not zero).")
    elif not all(known):
        first = _dt.date(1970, 1, 1) + _dt.timedelta(days=first_day)
        notes.append(f"The offense records begin on {first:%B %d, %Y}: years they do not cover from the start are "
                     "blank (unknown, not zero), and the average uses the years they cover.")
    if ref.kind != "citywide":
        notes.append(MEMBERSHIP_NOTES.get(ref.kind, ""))
    span_title = f"({b0}–{current})"
    return ReportTable(title=title or f"Impacts—Part I Crime in {area_name} {span_title}", columns=cols,
                       column_kinds=kinds, rows=rows, direction="crime", row_kinds=row_kinds, notes=notes)


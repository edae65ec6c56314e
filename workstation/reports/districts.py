"""District tables (the case study's citywide homicide / non-fatal shooting tables) and target-area tables (its
"PSP Areas" tables).

Both group records by their own district column ("Present District", as the records system reports it); records
without one form the "Unknown" row, shown only when it holds something.
"""
from __future__ import annotations

import numpy as np

from workstation.core import schema
from workstation.engine.analysis import COUNTING_NOTES, MEMBERSHIP_NOTES, analysis_for, counting_rule
from workstation.engine.areas import district_key, district_sort_key, resolve_area
from workstation.engine.periods import full_year, to_date, year_to_date
from workstation.reports.rules import ZERO_BASE_NOTE, pct_change
from workstation.reports.table import ReportTable

UNKNOWN = schema.UNKNOWN_DISTRICT
DEFAULT_DISTRICT_MEASURES = ("homicides", "nonfatal_shooting_victims")
# A district is listed under a target area when it holds at least this share of the area (shared edges and
# digitising slivers are not "inside").
MIN_OVERLAP_SHARE = 0.005


def _yy(year: int) -> str:
    return f"{year % 100:02d}"


def _order(keys) -> list[str]:
    return sorted(dict.fromkeys(keys), key=district_sort_key)


def _ytd_span(as_of) -> str:
    return f"January 01 - {as_of:%B %d}"


def district_table(ws, measure="homicides", as_of=None, *, area_key: str = "citywide", title: str | None = None,
                   counting: str | None = None) -> ReportTable:
    """Full years Y−2 and Y−1, year to date for Y−2, Y−1 and Y (same month-day span), and the YTD % changes
    Y−2→Y and Y−1→Y, by present district, with Unknown (when non-zero) and Total rows. Y is the as-of year."""
    eng = analysis_for(ws)
    m = eng.catalog.get(measure)
    as_of = to_date(eng.default_as_of(as_of))
    ref = resolve_area(ws, area_key)
    y = as_of.year
    ytd = year_to_date(as_of)
    windows = [full_year(y - 2), full_year(y - 1), ytd.shifted(2), ytd.shifted(1), ytd]
    names, values = eng.breakdown(m, ref, windows, by="district", counting=counting)
    covered = _covered(eng, m, windows)
    known = [district_key(a.name) for a in ws.districts]
    by_key = {n: values[i] for i, n in enumerate(names)}
    keys = _order([k for k in known if k] + [n for n in names[:-1] if by_key[n].any()])
    rows, kinds = [], []
    for k in keys:
        v = by_key.get(k, np.zeros(len(windows)))
        rows.append(_district_row(k, v, covered))
        kinds.append("data")
    unk = by_key.get(UNKNOWN, np.zeros(len(windows)))
    if unk.any():
        rows.append(_district_row(UNKNOWN, unk, covered))
        kinds.append("data")
    total = values.sum(axis=0)
    rows.append(_district_row("Total", total, covered))
    kinds.append("total")
    cols = ["Present District", f"{y - 2} (Full Year)", f"{y - 1} (Full Year)", f"{y - 2} (YTD)", f"{y - 1} (YTD)",
            f"{y} (YTD)", f"{y - 2}-{_yy(y)} (YTD % Change)", f"{y - 1}-{_yy(y)} (YTD % Change)"]
    area_label = "Citywide" if ref.kind == "citywide" else ref.label
    notes = [
        f"{m.label}, {_ytd_span(as_of)}, {y - 2} - {y}; year to date is the same month-day span each year "
        "(February 29 folds into February 28).",
        "Rows are the district each record carries (its present district); 'Unknown' counts records without one.",
        ZERO_BASE_NOTE,
        m.definition(),
    ]
    if not all(covered):
        notes.append(_BEFORE_DATA_NOTE.format(dataset=m.dataset))
    if ref.kind != "citywide":
        notes.append(MEMBERSHIP_NOTES.get(ref.kind, ""))
    if m.dataset == "offenses":
        notes.append(COUNTING_NOTES[counting or counting_rule(ws)])
    cell_keys = {}
    for r, row in enumerate(rows):
        for c, w in enumerate(windows, start=1):
            cell_keys[(r, c)] = {"measure": m.id, "area": ref.key, "window": (w.start, w.end),
                                 "district": None if row[0] == "Total" else row[0]}
    return ReportTable(title=title or f"{_plain_label(m)} {area_label}", columns=cols,
                       column_kinds=["label"] + ["count"] * 5 + ["pct_change"] * 2, rows=rows,
                       direction=m.direction, row_kinds=kinds, notes=notes, cell_keys=cell_keys)


def _plain_label(m) -> str:
    """'Non-fatal shootings (victims)' -> 'Non-Fatal Shootings' as the case study titles its tables."""
    base = m.label.split(" (")[0]
    return " ".join("-".join(p[:1].upper() + p[1:] for p in word.split("-")) for word in base.split())

_BEFORE_DATA_NOTE = ("Periods that start before the {dataset} records begin (by more than a month) are blank: "
                     "unknown, not zero, and so is their % change.")


def _covered(eng, m, windows) -> list[bool]:
    """Which windows the measure's records reach back to; the last (the as-of year to date) is always shown."""
    return [eng.covers(m.dataset, w) for w in windows[:-1]] + [True]


def _district_row(label, v, covered) -> list:
    v = [int(round(x)) if ok else None for x, ok in zip(v, covered)]
    return [label, *v, pct_change(v[4], v[2]), pct_change(v[4], v[3])]


def district_tables(ws, as_of=None, measures=DEFAULT_DISTRICT_MEASURES, *, area_key: str = "citywide",
                    counting: str | None = None) -> list[ReportTable]:
    """The case study's pair: homicides and non-fatal shootings by district."""
    return [district_table(ws, m, as_of, area_key=area_key, counting=counting) for m in measures]


def districts_in_areas(ws, area_keys) -> list[str]:
    """District keys whose boundary covers a real part (≥ 0.5%) of any of the areas, in reading order."""
    found = []
    for key in area_keys:
        ref = resolve_area(ws, key)
        g = ref.geometry
        if g is None or g.is_empty:
            continue
        for d in ws.districts:
            if d.geometry is None:
                continue
            inter = g.intersection(d.geometry)
            if not inter.is_empty and inter.area >= MIN_OVERLAP_SHARE * g.area:
                found.append(district_key(d.name))
    return _order(k for k in found if k)


def target_area_table(ws, measure="homicides", as_of=None, area_keys=None, *, title: str | None = None,
                      counting: str | None = None) -> ReportTable:
    """Per target area (side by side, one header group each): year to date Y−1 and Y and the % change, by the
    present district of the records inside the area; Total row. Rows: districts covering any of the areas, plus any
    other district (or Unknown) that records inside an area carry."""
    eng = analysis_for(ws)
    m = eng.catalog.get(measure)
    as_of = to_date(eng.default_as_of(as_of))
    if area_keys is None:
        area_keys = [f"target_area:{a.name}" for a in ws.target_areas]
    refs = [resolve_area(ws, k) for k in area_keys]
    y = as_of.year
    ytd = year_to_date(as_of)
    windows = [ytd.shifted(1), ytd]
    per_area = []
    extra = []
    for ref in refs:
        names, values = eng.breakdown(m, ref, windows, by="district", counting=counting)
        d = {n: values[i] for i, n in enumerate(names)}
        per_area.append(d)
        extra += [n for n in names if d[n].any()]
    keys = _order(districts_in_areas(ws, area_keys) + [k for k in extra if k != UNKNOWN])
    if UNKNOWN in extra:
        keys.append(UNKNOWN)
    cols = ["Present District"]
    kinds = ["label"]
    groups = []
    for ref in refs:
        first = len(cols)
        cols += [f"{y - 1} (YTD)", f"{y} (YTD)", f"{y - 1}-{_yy(y)} (YTD % Change)"]
        kinds += ["count", "count", "pct_change"]
        groups.append((ref.label, first, first + 2))
    rows, row_kinds = [], []
    zero = np.zeros(2)
    covered = _covered(eng, m, windows)
    for k in keys + ["Total"]:
        row = [k]
        for d in per_area:
            v = sum(d.values()) if k == "Total" else d.get(k, zero)
            a, b = (int(round(x)) if ok else None for x, ok in zip(v, covered))
            row += [a, b, pct_change(b, a)]
        rows.append(row)
        row_kinds.append("total" if k == "Total" else "data")
    notes = [
        f"{m.label} inside each target area, {_ytd_span(as_of)}, {y - 1} and {y}; rows are the district each "
        "record carries.",
        ZERO_BASE_NOTE,
        MEMBERSHIP_NOTES["target_area"],
        "Boundaries: " + "; ".join(f"{r.label} (version {r.version}, {r.sq_miles:.2f} sq mi)" for r in refs
                                   if r.geometry is not None) + ".",
        m.definition(),
    ]
    if not all(covered):
        notes.append(_BEFORE_DATA_NOTE.format(dataset=m.dataset))
    if m.dataset == "offenses":
        notes.append(COUNTING_NOTES[counting or counting_rule(ws)])
    return ReportTable(title=title or f"{_plain_label(m)} PSP Areas", columns=cols, column_kinds=kinds, rows=rows,
                       direction=m.direction, row_kinds=row_kinds, notes=notes, header_groups=groups)


def target_area_tables(ws, as_of=None, measures=DEFAULT_DISTRICT_MEASURES, area_keys=None, *,
                       counting: str | None = None) -> list[ReportTable]:
    return [target_area_table(ws, m, as_of, area_keys, counting=counting) for m in measures]

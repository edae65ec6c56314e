"""The CompStat grid and its drill-through.

For an area and an as-of date: week to date, 28 days and year to date, each against the same window a year earlier
(count, difference, % change, z = √2·(√C − √P)), each flagged by the exact binomial test of its two counts
(reports/rules.py), then the long-run columns: year to date two years earlier with its % change,
and the five-year year-to-date average with the % change against it. One table per catalog section (a section is
coloured one way: crime or activity).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workstation.engine.analysis import COUNTING_NOTES, MEMBERSHIP_NOTES, GridCounts, analysis_for
from workstation.engine.areas import AreaRef, resolve_area
from workstation.engine.measures import Measure
from workstation.engine.periods import Window, parse_window, to_date
from workstation.reports.rules import (EARLY_YTD_DAYS, Z_NOTE, ZERO_BASE_NOTE, change_flag, flag_strength, pct_change,
                                      poisson_z)
from workstation.reports.table import ReportTable

WINDOW_SHORT = {"wtd": "WTD", "28d": "28d", "ytd": "YTD"}
WINDOW_LONG = {"wtd": "Week to date", "28d": "28 days", "ytd": "Year to date"}
LONG_RUN_YEARS = 5
PARTIAL_MARK = "†"  # after a week-to-date or 28-day count cut short by a dataset that ends before the as-of date


def grid_columns(as_of=None) -> tuple[list[str], list[str]]:
    """The grid's column names and kinds. With an as-of date the long-run headers name their years ("YTD 2017",
    "5-yr avg 2014–2018"); the window columns (WTD, WTD prior, ..., Flag) never change: scheduled scripts read them."""
    cols, kinds = ["Measure"], ["label"]
    for k in ("wtd", "28d", "ytd"):
        s = WINDOW_SHORT[k]
        cols += [s, f"{s} prior", f"{s} diff", f"{s} % chg", f"{s} z"]
        kinds += ["count", "count", "count", "pct_change", "z"]
    if as_of is not None:
        y = to_date(as_of).year
        cols += [f"YTD {y - 2}", f"% chg vs {y - 2}", f"{LONG_RUN_YEARS}-yr avg {y - LONG_RUN_YEARS}–{y - 1}",
                 f"% chg vs {LONG_RUN_YEARS}-yr avg"]
    else:
        cols += ["YTD 2 yrs ago", "2-yr % chg", f"{LONG_RUN_YEARS}-yr avg YTD", f"vs {LONG_RUN_YEARS}-yr avg % chg"]
    cols += ["Flag"]
    kinds += ["count", "pct_change", "decimal1", "pct_change", "text"]
    return cols, kinds


def _day_month(d) -> str:
    return f"{d.day} {d:%b}"


def partial_note(dataset: str, end, as_of, wins: dict) -> str:
    """The footnote of the † cells: which data end early and what the cut windows compare."""
    spans = []
    for k in ("wtd", "28d"):
        w = wins[k]
        if end < w.start:
            spans.append(f"{WINDOW_LONG[k].lower()} is blank (no {dataset} data in it)")
        else:
            spans.append(f"{WINDOW_LONG[k].lower()} compares {_day_month(w.start)}–{_day_month(end)} {end.year} "
                         f"with the same days of {end.year - 1}")
    return (f"{PARTIAL_MARK} {dataset.capitalize()} data through {_day_month(end)} {end.year} (the as-of date is "
            f"{_day_month(as_of)}): so that both years cover the same number of days, its " + " and ".join(spans)
            + ". Year to date runs to the as-of date as usual.")


def compstat_grid(ws, area_key: str = "citywide", as_of=None, *, counting: str | None = None,
                  sections: list[str] | None = None) -> list[ReportTable]:
    """The CompStat grid for one area: a ReportTable per catalog section (Outcomes, Part I offenses, Activity, ...)."""
    eng = analysis_for(ws)
    ref = resolve_area(ws, area_key)
    counts = eng.grid(ref, as_of, counting=counting, years_back=LONG_RUN_YEARS)
    return grid_tables(counts, ref.label, area_key=ref.key, area_kind=ref.kind, sections=sections,
                       empty_datasets=_empty_datasets(ws))


def _empty_datasets(ws) -> set[str]:
    return {k for k, df in ws.frames.items() if len(df) == 0}


def grid_tables(counts: GridCounts, area_label: str, *, area_key: str | None = None, area_kind: str = "citywide",
                sections: list[str] | None = None, empty_datasets: set[str] = frozenset()) -> list[ReportTable]:
    """ReportTables from grid counts (also for a what-if membership: ``Analysis.grid_for_mask``)."""
    as_of = to_date(counts.as_of)
    groups: dict[str, list[int]] = {}
    skipped: list[Measure] = []
    for i, m in enumerate(counts.measures):
        if m.dataset in empty_datasets:
            skipped.append(m)
            continue
        groups.setdefault(m.section or "Measures", []).append(i)
    cols, kinds = grid_columns(as_of)
    early = (as_of - as_of.replace(month=1, day=1)).days < EARLY_YTD_DAYS
    tables = []
    for section, idxs in groups.items():
        if sections is not None and section not in sections:
            continue
        rows, cell_keys, cell_flags, cell_marks = [], {}, {}, {}
        unavailable: set[str] = set()
        partial: set[str] = set()
        for r, i in enumerate(idxs):
            m = counts.measures[i]

            def val(kind, back, i=i, whole=m.count != "sum_quantity"):
                j = _col(counts, kind, back)
                if not counts.available[i, j]:
                    return None
                v = counts.values[i, j]
                return int(round(v)) if whole else float(v)

            row = [m.label]
            flags = []
            for kind in ("wtd", "28d", "ytd"):
                cur, prev = val(kind, 0), val(kind, 1)
                if prev is None and cur is not None:
                    unavailable.add(m.dataset)
                c0 = len(row)
                row += [cur, prev, None if prev is None or cur is None else cur - prev, pct_change(cur, prev),
                        None if prev is None or cur is None else poisson_z(cur, prev)]
                if cur is not None and prev is not None:
                    word = change_flag(cur, prev, early_ytd=early and kind == "ytd")
                    if word:
                        flags.append(f"{WINDOW_SHORT[kind]}: {word}")
                    strength = "" if word.startswith("small") else flag_strength(cur, prev)
                    if strength:  # the % change and z cells of a flagged window are coloured strongly
                        cell_flags[(r, c0 + 3)] = cell_flags[(r, c0 + 4)] = strength
                for off, back in ((0, 0), (1, 1)):
                    cut = counts.trimmed.get((i, _col(counts, kind, back)))
                    cell_keys[(r, c0 + off)] = _cell_key(m, area_key, kind, back, as_of, cut)
                    if m.dataset in counts.data_end and kind in ("wtd", "28d"):
                        cell_marks[(r, c0 + off)] = PARTIAL_MARK
                        partial.add(m.dataset)
            two = val("ytd", 2)
            history = [val("ytd", k) for k in range(1, LONG_RUN_YEARS + 1)]
            history = [h for h in history if h is not None]
            avg = float(np.mean(history)) if history else None
            if len(history) < LONG_RUN_YEARS:
                unavailable.add(m.dataset)
            cur = val("ytd", 0)
            row += [two, pct_change(cur, two), avg, pct_change(cur, avg), "; ".join(flags)]
            cell_keys[(r, len(row) - 5)] = _cell_key(m, area_key, "ytd", 2, as_of)
            rows.append(row)
        direction = counts.measures[idxs[0]].direction
        wins = {k: counts.window(k, 0) for k in ("wtd", "28d", "ytd")}
        header_groups = []
        for n, k in enumerate(("wtd", "28d", "ytd")):
            header_groups.append((f"{WINDOW_LONG[k]}: {wins[k].span()} vs {wins[k].shifted(1).span()}",
                                  1 + 5 * n, 5 + 5 * n))
        y = wins["ytd"].start.year
        header_groups.append((f"Long run: YTD {y - 2}; {LONG_RUN_YEARS}-yr avg {y - LONG_RUN_YEARS}–{y - 1}", 16, 19))
        notes = [
            f"As of {as_of:%A, %B %d, %Y}; area: {area_label}.",
            f"Week to date runs Monday–Sunday ({wins['wtd'].span()}); 28 days is the 28 days ending on the as-of "
            f"date ({wins['28d'].span()}); year to date is January 1 through the as-of date. Each is compared with "
            "the same month-day span a year earlier (February 29 folds into February 28).",
            f"Long run: year to date two years earlier ({y - 2}), and the mean of the year-to-date counts of the "
            f"{LONG_RUN_YEARS} previous years ({y - LONG_RUN_YEARS}–{y - 1}).",
            ZERO_BASE_NOTE, Z_NOTE,
            MEMBERSHIP_NOTES.get(area_kind, MEMBERSHIP_NOTES["scenario"]),
        ]
        if any(m.dataset == "offenses" for m in (counts.measures[i] for i in idxs)):
            notes.append(COUNTING_NOTES[counts.counting])
        for ds in sorted(partial):
            notes.append(partial_note(ds, counts.data_end[ds], as_of, wins))
        for ds in sorted(unavailable):
            notes.append(f"Some earlier windows predate the first {ds} record; their cells are blank (unknown, "
                         "not zero) and averages use the years available.")
        if early:
            notes.append("Early in the year, year-to-date comparisons of small counts mislead; the Flag column says "
                         "so.")
        tables.append(ReportTable(
            title=f"CompStat — {section} — {area_label}", columns=cols, column_kinds=kinds, rows=rows,
            direction=direction, notes=notes, header_groups=header_groups, cell_keys=cell_keys,
            cell_flags=cell_flags, cell_marks=cell_marks))
    if skipped and tables:
        tables[-1].notes.append("Not shown (no records loaded): " + ", ".join(m.label for m in skipped) + ".")
    return tables


def _col(counts: GridCounts, kind: str, back: int) -> int:
    for j, w in enumerate(counts.windows):
        if w.kind == kind and w.years_back == back:
            return j
    raise KeyError((kind, back))


def _cell_key(m: Measure, area_key, kind: str, back: int, as_of, cut: Window | None = None) -> dict:
    # a window cut short to a dataset's last day drills into exactly the days it counted
    window = (cut.start, cut.end) if cut is not None else f"{kind}-{back}" if back else kind
    return {"measure": m.id, "area": area_key, "window": window, "as_of": pd.Timestamp(as_of)}


def records_behind(ws, measure, area_key: str = "citywide", window="ytd", as_of=None, *,
                   counting: str | None = None) -> pd.DataFrame:
    """The records behind one figure, for drill-through.

    ``window``: a Window, "wtd" / "28d" / "ytd", "ytd-1" (a year earlier), "year:2018", or a (start, end) pair.
    For measures that count records the row count equals the figure; for distinct-incident measures there is one row
    per incident (its first record); for sums the figure is the sum of the ``count`` (or ``quantity``) column. The
    figure itself is in ``df.attrs['figure']``.
    """
    eng = analysis_for(ws)
    m = eng.catalog.get(measure)
    if m.kind != "count":
        raise ValueError(f"measure '{m.id}' is a {m.kind} measure; drill into '{m.of}' instead")
    as_of = eng.default_as_of(as_of)
    w = parse_window(window, as_of)
    ref = area_key if isinstance(area_key, AreaRef) else resolve_area(ws, area_key)
    pos = eng.rows(m, ref, w, counting)
    frame_rows = np.sort(eng.frame_rows(m.dataset, pos))
    df = ws.frames[m.dataset].iloc[frame_rows]
    if m.count == "incidents":
        df = df.drop_duplicates("incident_id", keep="first")
    df = df.copy()
    figure = eng.count(m, ref, w, counting)
    df.attrs.update({"measure": m.id, "area": ref.key, "window": w, "figure": figure})
    return df

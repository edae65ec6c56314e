"""Activity and partners: proactive activity, engagement, complaints and use of force by period in the area (the
activity part of the CompStat grid), and each agency's contribution for the partners' section of the meeting.
"""
from __future__ import annotations

import numpy as np

from workstation.engine.analysis import MEMBERSHIP_NOTES, analysis_for
from workstation.engine.areas import resolve_area
from workstation.engine.periods import to_date, year_to_date
from workstation.reports.compstat import compstat_grid
from workstation.reports.table import ReportTable

PARTNER_MEASURES = ("arrests", "firearm_arrests", "search_warrants", "gun_recoveries", "nibin_investigations",
                    "drug_seizures", "proactive_activity", "community_engagement")


def partner_contributions(ws, area_key: str = "citywide", as_of=None, *, years_back: int = 0,
                          measures=PARTNER_MEASURES) -> ReportTable:
    """Rows: agencies; columns: activity measures; year to date (``years_back`` years earlier, same month-day span)."""
    eng = analysis_for(ws)
    ref = resolve_area(ws, area_key)
    as_of = to_date(eng.default_as_of(as_of))
    w = year_to_date(as_of)
    if years_back:
        w = w.shifted(years_back)
    ms = [eng.catalog.get(x) for x in measures if x in eng.catalog]
    ms = [m for m in ms if m.dataset == "activity"]
    agencies: list[str] = []
    cols = {}
    for m in ms:
        names, values = eng.breakdown(m, ref, [w], by="agency")
        cols[m.id] = dict(zip(names, values[:, 0]))
        agencies += [n for n, v in zip(names, values[:, 0]) if v]
    agencies = list(dict.fromkeys(agencies))
    # the partnership's agencies in a fixed order (police first), others after, Unknown last
    from workstation.core.schema import AGENCIES, UNKNOWN_DISTRICT

    agencies.sort(key=lambda a: (a == UNKNOWN_DISTRICT, AGENCIES.index(a) if a in AGENCIES else len(AGENCIES), a))
    rows = [[a] + [_num(cols[m.id].get(a, 0)) for m in ms] for a in agencies]
    rows.append(["Total"] + [_num(sum(cols[m.id].values())) for m in ms])
    notes = [
        f"Year to date {w.describe()}; each agency's own records (the 'agency' field). 'Unknown' is activity "
        "without an agency.",
        MEMBERSHIP_NOTES.get(ref.kind, ""),
    ] + [m.definition() for m in ms]
    return ReportTable(
        title=f"Partner contributions — {ref.label} — YTD {w.start.year}",
        columns=["Agency"] + [m.label for m in ms],
        column_kinds=["label"] + ["count"] * len(ms), rows=rows, direction="activity",
        row_kinds=["data"] * len(agencies) + ["total"], notes=notes)


def _num(v):
    v = float(v)
    return int(round(v)) if np.isclose(v, round(v)) else v


def activity_partners(ws, area_key: str = "citywide", as_of=None) -> list[ReportTable]:
    """The Activity & Partners section: activity measures by period (WTD, 28 days, YTD against a year earlier),
    then partner contributions this year and last year to date."""
    eng = analysis_for(ws)
    sections = list(dict.fromkeys(m.section or "Measures" for m in eng.catalog.counts() if m.dataset == "activity"))
    tables = compstat_grid(ws, area_key, as_of, sections=sections) if len(ws.frames["activity"]) else []
    if len(ws.frames["activity"]):
        tables.append(partner_contributions(ws, area_key, as_of))
        tables.append(partner_contributions(ws, area_key, as_of, years_back=1))
    return tables

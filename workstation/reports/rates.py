"""Rates: per 100,000 residents and per square mile (equal-area), the peer-city comparison, and clearance rates.

- Rate per 100,000 = count / population × 100,000 (case study: 2,419 / 594,833 → 406.67).
- Per square mile = count / area, the area measured on the ellipsoid (geodesic, equal-area), never in degrees.
- Clearance, UCR: offenses cleared (by arrest or exceptional means) during the period / offenses known during the
  period — it can exceed 100% because old cases cleared now count. Cohort: of the period's own offenses, the share
  cleared by the as-of date.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.core import schema
from workstation.engine.analysis import COUNTING_NOTES, MEMBERSHIP_NOTES, analysis_for, counting_rule
from workstation.engine.areas import area_choices, city_name, city_population, resolve_area
from workstation.core.errors import UserError
from workstation.engine.periods import day_numbers, full_year, parse_window, to_date
from workstation.reports.table import ReportTable
from workstation.core.paths import RESOURCES

PEER_FILE = RESOURCES / "peer_cities.json"
OVER_100_MARK = "‡"  # after a UCR clearance rate over 100%
DEFAULT_RATE_MEASURES = ("part1_violent", "homicides", "nonfatal_shooting_victims", "gun_recoveries")


def per_100k(count, population) -> float | None:
    if count is None or not population:
        return None
    return float(count) / float(population) * 100_000.0


def per_sq_mile(count, sq_miles) -> float | None:
    if count is None or not sq_miles:
        return None
    return float(count) / float(sq_miles)


# ---- peer cities -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerCity:
    city: str
    population: float
    count: float


@dataclass(frozen=True)
class PeerComparison:
    id: str
    measure: str
    label: str
    year: int
    population_year: int | None
    source: str
    cities: tuple[PeerCity, ...]


def load_peer_comparisons(path: str | Path | None = None) -> list[PeerComparison]:
    """Read the editable peer list (default resources/peer_cities.json); errors name the entry and field."""
    p = Path(path) if path is not None else PEER_FILE
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"Could not read the peer-city list {p}: {exc.strerror or exc}.") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"The peer-city list {p.name} is not valid JSON: {exc.msg} at line {exc.lineno}.") from exc
    comps = doc.get("comparisons") if isinstance(doc, dict) else None
    if not isinstance(comps, list):
        raise UserError(f"The peer-city list {p.name} must be an object with a 'comparisons' list.")
    out = []
    for n, c in enumerate(comps, start=1):
        cid = c.get("id", f"number {n}") if isinstance(c, dict) else f"number {n}"

        def fail(fld, what, cid=cid):
            raise UserError(f"peer comparison '{cid}': field '{fld}' {what}. Fix it in {p.name}.")

        if not isinstance(c, dict):
            fail("-", "must be an object")
        for fld in ("id", "measure", "label"):
            if not isinstance(c.get(fld), str) or not c.get(fld):
                fail(fld, "must be a non-empty text")
        if not isinstance(c.get("year"), int):
            fail("year", f"must be a whole year such as 2016 (got {c.get('year')!r})")
        cities = c.get("cities")
        if not isinstance(cities, list) or not cities:
            fail("cities", "must be a non-empty list of {\"city\", \"population\", \"count\"}")
        peers = []
        for k, row in enumerate(cities, start=1):
            if not isinstance(row, dict) or not isinstance(row.get("city"), str):
                fail("cities", f"entry {k} needs a 'city' name")
            for fld in ("population", "count"):
                v = row.get(fld)
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0 or (fld == "population" and v == 0):
                    fail("cities", f"entry {k} ('{row['city']}') needs a positive number in '{fld}' (got {v!r})")
            peers.append(PeerCity(row["city"], float(row["population"]), float(row["count"])))
        out.append(PeerComparison(c["id"], c["measure"], c["label"], c["year"], c.get("population_year"),
                                  c.get("source", ""), tuple(peers)))
    return out


def peer_comparison(ws=None, comparison: str | None = None, *, path: str | Path | None = None,
                    include_workspace: bool = True) -> ReportTable:
    """The case study's gun-recovery table: each peer city's count and rate per 100,000, with this workspace's city
    (computed from its records for the same year) on top when it has records for that year."""
    comps = load_peer_comparisons(path)
    comp = comps[0] if comparison is None else next((c for c in comps if c.id == comparison), None)
    if comp is None:
        raise UserError(f"The peer-city list has no comparison '{comparison}' (known: "
                        f"{', '.join(c.id for c in comps)}).")
    pop_col = f"Population ({comp.population_year})" if comp.population_year else "Population"
    cols = ["City", pop_col, f"{comp.label} {comp.year}", "Rate per 100,000"]
    rows, kinds = [], []
    notes = [f"Rate per 100,000 = count / population × 100,000. Peer figures: {comp.source or 'peer list'}."]
    if include_workspace and ws is not None:
        eng = analysis_for(ws)
        m = eng.catalog.get(comp.measure)
        ix = eng.index(m.dataset)
        w = full_year(comp.year)
        has_year = ix.n and ((ix.days >= w.start_day) & (ix.days <= w.end_day)).any()
        pop = city_population(ws)
        if has_year and pop:
            cnt = eng.count(m, "citywide", w)
            rows.append([f"{city_name(ws)} (this workspace)", pop, cnt, per_100k(cnt, pop)])
            kinds.append("subtotal")
            notes.append(f"{city_name(ws)}: {m.definition()} Population from the workspace.")
        else:
            notes.append(f"This workspace has no {m.dataset} records for {comp.year} (or no population), so it is "
                         "not compared.")
    own = rows[0] if rows else None
    for pc in comp.cities:
        # a peer row that is this city itself (same name, or the very population and count computed from the
        # workspace, as for the demo city calibrated to the case study's Milwaukee) would repeat the row above it
        if own is not None and (pc.city.strip().lower() == city_name(ws).strip().lower()
                                or (round(pc.population) == round(own[1]) and round(pc.count) == round(own[2]))):
            notes.append(f"{pc.city} is left out of the peer rows: its figures in the peer list are this "
                         "workspace's own, shown in the first row.")
            continue
        rows.append([pc.city, pc.population, pc.count, per_100k(pc.count, pc.population)])
        kinds.append("data")
    return ReportTable(title=f"{comp.label} per 100,000 residents, {comp.year}", columns=cols,
                       column_kinds=["label", "count", "count", "rate"], rows=rows, direction="activity",
                       row_kinds=kinds, notes=notes)


# ---- rates by area ---------------------------------------------------------------------------------------------------
def rates_table(ws, measure="part1_violent", window="ytd", as_of=None, area_keys=None, *,
                counting: str | None = None) -> ReportTable:
    """Count, rate per 100,000 and per square mile of one measure for each area (default: citywide, districts and
    target areas)."""
    eng = analysis_for(ws)
    m = eng.catalog.get(measure)
    as_of = eng.default_as_of(as_of)
    w = parse_window(window, as_of)
    if area_keys is None:
        area_keys = [k for k, _ in area_choices(ws) if not k.startswith("scenario:")]
    rows, kinds = [], []
    for key in area_keys:
        ref = resolve_area(ws, key)
        cnt = eng.count(m, ref, w, counting)
        sq = ref.sq_miles
        rows.append([ref.label, cnt, ref.population, per_100k(cnt, ref.population), sq, per_sq_mile(cnt, sq),
                     ref.population_source or None])
        kinds.append("total" if ref.kind == "citywide" else "data")
    notes = [
        f"{m.definition()} Period: {w.describe()}.",
        "Rate per 100,000 = count / population × 100,000; blank where the area has no population. Square miles are "
        "measured on the ellipsoid (equal-area), not in degrees. Population from: a census layer (areal-weighted "
        "sum of its polygons), the boundary file's own figure, or the district density estimate.",
        MEMBERSHIP_NOTES["district"], MEMBERSHIP_NOTES["target_area"],
    ]
    if m.dataset == "offenses":
        notes.append(COUNTING_NOTES[counting or counting_rule(ws)])
    return ReportTable(title=f"{m.label}: rates by area ({w.describe()})",
                       columns=["Area", "Count", "Population", "Rate per 100,000", "Square miles", "Per square mile",
                                "Population from"],
                       column_kinds=["label", "count", "count", "rate", "rate", "rate", "text"], rows=rows,
                       direction=m.direction, row_kinds=kinds, notes=notes)


def rates_tables(ws, measures=DEFAULT_RATE_MEASURES, window="ytd", as_of=None, area_keys=None) -> list[ReportTable]:
    eng = analysis_for(ws)
    out = []
    for mid in measures:
        m = eng.catalog.get(mid)
        if len(ws.frames[m.dataset]):
            out.append(rates_table(ws, m, window, as_of, area_keys))
    return out


# ---- clearance -------------------------------------------------------------------------------------------------------
CLEARANCE_COLUMNS = ["Measure", "Known in period", "Cleared in period", "Clearance rate (UCR)", "Cleared by arrest",
                     "Cleared by exceptional means", "Cohort cleared by as-of", "Cohort clearance rate",
                     "Cohort by arrest", "Cohort by exceptional means"]
CLEARANCE_KINDS = ["label", "count", "count", "pct", "count", "count", "count", "pct", "count", "count"]


def _clearance_frame(ws, eng, m, ref, counting):
    """The measure's records in the area (all dates) with occurred/cleared day numbers and clearance type; one row per
    incident for distinct-incident measures (cleared when any of its records is, on the earliest date)."""
    pos = eng.rows(m, ref, None, counting)
    rows = np.sort(eng.frame_rows(m.dataset, pos))
    frame = ws.frames[m.dataset]

    def take(col, convert=None, missing=None):
        # column by column, only the rows needed: no copy of the whole frame, no per-value string conversion
        if col not in frame:
            return np.full(len(rows), missing, dtype=object if missing is None else type(missing))
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            names = np.asarray(list(s.cat.categories) + [None], dtype=object)
            return names[s.cat.codes.to_numpy()[rows]]
        v = s.to_numpy()[rows]
        return convert(v) if convert else v

    out = pd.DataFrame({
        "occ": take("occurred", day_numbers),
        "cleared": take("cleared", lambda v: v.astype(bool), False),
        "cday": take("cleared_date", day_numbers, -1),
        "ctype": take("clearance_type"),
        "code": take("exceptional_code"),
    })
    if m.count == "incidents" and len(out):
        # integer incident codes (factorised once by the engine) group exactly like the id strings, without them;
        # only distinct-incident measures need them (hashing 3M offense ids costs about half a second)
        out["incident_id"] = eng.index(m.dataset).incident_codes()[rows]
        out = out.sort_values(["incident_id", "occ"])
        cleared = out.groupby("incident_id", sort=False)["cleared"].transform("any")
        cday = out.assign(cday=np.where(out["cleared"], out["cday"], np.iinfo(np.int64).max)) \
            .groupby("incident_id", sort=False)["cday"].transform("min")
        out = out.assign(cleared=cleared, cday=cday).drop_duplicates("incident_id", keep="first")
    return out


NO_CLEARANCE = "no clearance data"


def clearance_recorded(ws, dataset: str) -> bool:
    """Whether the dataset carries clearance at all: some record is cleared, or has a clearance date or type.
    Records imported without a clearance field hold False in ``cleared`` for every row; their clearance rate is
    unknown, and a 0% would tell the meeting that nothing was solved."""
    df = ws.frames[dataset]
    if not len(df):
        return False
    if "cleared" in df and bool(df["cleared"].to_numpy(dtype=bool).any()):
        return True
    return any(c in df and bool(df[c].notna().any()) for c in ("cleared_date", "clearance_type"))


def clearance_table(ws, area_key: str = "citywide", window="ytd", as_of=None, *, counting: str | None = None,
                    measures=None) -> list[ReportTable]:
    """Clearance for every clearance measure of the catalog: the UCR period rate and the cohort rate, by type
    (arrest / exceptional), and a second table of exceptional clearances by NIBRS code."""
    eng = analysis_for(ws)
    ref = resolve_area(ws, area_key)
    as_of = to_date(eng.default_as_of(as_of))
    w = parse_window(window, as_of)
    as_of_day = (as_of - to_date("1970-01-01")).days
    cms = [eng.catalog.get(x) for x in measures] if measures else eng.catalog.clearances()
    rows, code_rows = [], {c: [] for c in schema.EXCEPTIONAL_CODES}
    used, unrecorded = [], []
    for cm in cms:
        m = eng.catalog.get(cm.of)
        if not len(ws.frames[m.dataset]):
            continue
        used.append(cm)
        f = _clearance_frame(ws, eng, m, ref, counting)
        if not clearance_recorded(ws, m.dataset):
            n_known = int(((f["occ"] >= w.start_day) & (f["occ"] <= w.end_day)).sum())
            rows.append([cm.label, n_known, None, NO_CLEARANCE, None, None, None, NO_CLEARANCE, None, None])
            for c in code_rows:
                code_rows[c].append(None)
            unrecorded.append(m.dataset)
            continue
        known = (f["occ"] >= w.start_day) & (f["occ"] <= w.end_day)
        has_day = (f["cday"] >= 0) & (f["cday"] < np.iinfo(np.int64).max)
        in_period = f["cleared"] & has_day & (f["cday"] >= w.start_day) & (f["cday"] <= w.end_day)
        # cohort: cleared by the as-of date (a clearance with no date counts: it is known to be cleared)
        cohort = known & f["cleared"] & (~has_day | (f["cday"] <= as_of_day))
        arrest = f["ctype"] == "arrest"
        exceptional = f["ctype"] == "exceptional"
        typed = m.dataset == "offenses"
        n_known = int(known.sum())
        n_clear = int(in_period.sum())
        n_cohort = int(cohort.sum())
        rows.append([
            cm.label, n_known, n_clear, n_clear / n_known if n_known else None,
            int((in_period & arrest).sum()) if typed else None, int((in_period & exceptional).sum()) if typed else None,
            n_cohort, n_cohort / n_known if n_known else None,
            int((cohort & arrest).sum()) if typed else None, int((cohort & exceptional).sum()) if typed else None,
        ])
        for c in code_rows:
            code_rows[c].append(int((in_period & exceptional & (f["code"] == c)).sum()) if typed else None)
    area_name = "Citywide" if ref.kind == "citywide" else ref.label
    notes = [
        f"Period: {w.describe()}; as of {as_of:%B %d, %Y}.",
        "Clearance rate (UCR) = offenses cleared by arrest or exceptional means during the period / offenses known "
        "during the period; old cases cleared in the period count, so it can exceed 100%.",
        "Cohort clearance rate = of the period's own offenses, the share cleared by the as-of date.",
        "Shooting records carry no clearance type, so their by-type cells are blank.",
        MEMBERSHIP_NOTES.get(ref.kind, ""),
        COUNTING_NOTES[counting or counting_rule(ws)],
    ] + [eng.catalog.get(cm.of).definition() for cm in used]
    # a rate over 100% draws the question "how?": the cell carries a mark and the answer sits under the table
    marks = {(r, 3): OVER_100_MARK for r, row in enumerate(rows) if isinstance(row[3], float) and row[3] > 1}
    if marks:
        notes.insert(0, f"{OVER_100_MARK} Over 100%: "
                     + "; ".join(f"{rows[r][0]}: {rows[r][2]:,d} cleared in the period against {rows[r][1]:,d} known "
                                 "in it" for r, _c in sorted(marks))
                     + ". Cases from earlier years cleared in this period count as clearances (UCR rule), so more "
                       "can be cleared than were known; the cohort rate beside it cannot exceed 100%.")
    for ds in dict.fromkeys(unrecorded):
        notes.append(f"The {ds} records carry no clearance field (none is cleared or has a clearance date or type), "
                     "so their clearance is unknown: 'no clearance data', not 0%.")
    main = ReportTable(title=f"Clearance — {area_name} ({w.describe()})", columns=CLEARANCE_COLUMNS,
                       column_kinds=CLEARANCE_KINDS, rows=rows, direction="activity", notes=notes, cell_marks=marks)
    codes = ReportTable(
        title=f"Exceptional clearances by code — {area_name}",
        columns=["Exceptional clearance"] + [cm.label for cm in used],
        column_kinds=["label"] + ["count"] * len(used),
        rows=[[f"{c}: {schema.EXCEPTIONAL_CODES[c]}", *code_rows[c]] for c in schema.EXCEPTIONAL_CODES],
        direction="activity", notes=["Cleared during the period by exceptional means, by NIBRS code (A–E)."])
    return [main, codes]


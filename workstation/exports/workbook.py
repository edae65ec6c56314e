"""The CompStat workbook: every report of the engine, for the chosen areas and as-of date, in one print-ready .xlsx.

Sheets, in order: Summary, CompStat, Part I History, Districts, Target Areas, Rates & Clearance,
Activity & Partners, Shoot Review (the past seven days' shootings and homicides with impact scores), Hot Spots &
Displacement (top Gi* cells, the Knox near-repeat table, the WDQ of each target area), Trends (native
Excel line charts over a data block on the sheet), Notes (sources with their as-of stamps, counting rules, boundaries
and their changes, measure definitions, every table's notes).

The sheets hold summary tables, never raw records, so a 1M-offense workspace exports in a few seconds. The file is
written to a temporary name beside the target and renamed over it, so a failed or cancelled export never leaves a
half-written workbook (nor destroys the previous one).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.utils import get_column_letter

from workstation.engine import areas as area_mod
from workstation.core.errors import Cancelled, UserError
from workstation.exports.errors import ExportCancelled
from workstation.core.fileio import check_target, write_atomically
from workstation.reports.table import ReportTable
from workstation.exports.sheet_writer import SheetWriter

SHEET_ORDER = ("Summary", "CompStat", "Part I History", "Districts", "Target Areas", "Rates & Clearance",
               "Activity & Partners", "Shoot Review", "Hot Spots & Displacement", "Trends", "Notes")

NUMBER_RULE_NOTE = (
    "Numbers are stored as they are shown: counts as whole numbers, averages to one decimal, rates to two decimals, "
    "shares to a tenth of a percent and % changes to a whole percent, rounded half away from zero (so 112.5% is "
    "shown and stored as 113%, and -2.5% as -3%). % change = (current - earlier) / earlier.")


@dataclass
class ExportContext:
    ws: object
    as_of: dt.date
    areas: list  # AreaRef, in sheet order (citywide first)
    scenario: object | None  # AreaRef of the scenario, when one replaces its base target area
    scenario_base: object | None  # the workspace Area the scenario was drawn from
    footer: str
    progress: Callable[[float], None] | None = None
    should_stop: Callable[[], bool] | None = None
    sheet_notes: dict[str, list[str]] = field(default_factory=dict)  # sheet -> notes of its tables, for Notes
    history: tuple[int, int, int] | None = None  # Part I History years; None: the engine's default
    history_source: str = ""  # where those years came from, said on the sheet
    notes_tables: list = field(default_factory=list)  # tables a sheet adds to Notes (the spatial parameters)

    def check(self, fraction: float) -> None:
        if self.should_stop is not None and self.should_stop():
            raise ExportCancelled("Export cancelled; no workbook was written.")
        if self.progress is not None:
            self.progress(max(0.0, min(1.0, fraction)))

    def record_notes(self, sheet: str, tables: list[ReportTable]) -> None:
        bucket = self.sheet_notes.setdefault(sheet, [])
        for t in tables:
            for n in t.notes:
                if n not in bucket:
                    bucket.append(n)


# ---------------------------------------------------------------------------------------------------------------------
def export_workbook(ws, out_path, as_of=None, area_keys=None, scenario=None, progress=None,
                    should_stop=None, *, history_years: tuple[int, int, int] | None = None) -> Path:
    """Write the CompStat workbook for ``area_keys`` (default: citywide and every target area) as of ``as_of``
    (default: the newest record's date) to ``out_path``, atomically. ``scenario`` (a saved scenario's name or key)
    replaces its base target area. ``history_years`` = (first baseline year, last baseline year, current year) of the
    Part I History tables (default: the workspace setting ``meta['part1_history']``, else the last complete year
    against the nine before it). Returns the path written."""
    out = Path(out_path)
    if out.suffix.lower() != ".xlsx":
        raise UserError(f"The workbook name {out.name} must end in .xlsx.")
    check_target(out, "the workbook")  # before the analysis: a wrong folder should not cost the analyst a wait
    ctx = export_context(ws, as_of, area_keys, scenario, progress, should_stop, history_years=history_years)
    ctx.check(0.0)
    wb = write_workbook(ctx, plan_workbook(ctx))
    ctx.check(0.95)
    save_atomic(wb, out)
    if progress is not None:
        progress(1.0)
    return out


def export_context(ws, as_of=None, area_keys=None, scenario=None, progress=None, should_stop=None, *,
                   history_years=None) -> ExportContext:
    """What an export is about (as-of date, areas, scenario, Part I History years), checked; UserError otherwise."""
    from workstation.engine.analysis import analysis_for

    if as_of is not None:
        from workstation.engine.periods import to_date

        try:
            as_of = to_date(as_of)
        except (TypeError, ValueError):
            raise UserError(f"The as-of date '{as_of}' is not a date; write it as YYYY-MM-DD.") from None
    as_of_ts = analysis_for(ws).default_as_of(as_of)
    as_of_date = dt.date(as_of_ts.year, as_of_ts.month, as_of_ts.day)
    keys = list(area_keys) if area_keys else [area_mod.CITYWIDE] + [area_mod.area_key(a) for a in ws.target_areas]
    keys = list(dict.fromkeys(keys))
    scen_ref = base_area = None
    if scenario:
        name = scenario.split(":", 1)[1] if str(scenario).startswith("scenario:") else str(scenario)
        sc = ws.area(name, "scenario")
        if sc is None:
            known = ", ".join(a.name for a in ws.scenarios) or "none saved"
            raise UserError(f"The workspace has no scenario named '{name}' (known: {known}).")
        scen_key = area_mod.area_key(sc)
        base_area = ws.area(sc.base, "target_area") if sc.base else None
        base_key = area_mod.area_key(base_area) if base_area is not None else None
        if base_key in keys:
            keys[keys.index(base_key)] = scen_key
        elif scen_key not in keys:
            keys.append(scen_key)
        keys = list(dict.fromkeys(keys))
        scen_ref = area_mod.resolve_area(ws, scen_key)
    refs = [area_mod.resolve_area(ws, k) for k in keys]
    city = area_mod.city_name(ws)
    # every printed page says what it is about: the areas and the as-of date (the page number is centred)
    names = [r.label for r in refs]
    areas_text = ", ".join(names) if len(", ".join(names)) <= 90 else f"{names[0]} and {len(names) - 1} more areas"
    footer = f"{city} CompStat · {areas_text} · as of {as_of_date:%Y-%m-%d}"
    ctx = ExportContext(ws=ws, as_of=as_of_date, areas=refs, scenario=scen_ref, scenario_base=base_area,
                        footer=footer, progress=progress, should_stop=should_stop)
    try:
        ctx.history = _history_years(ws, as_of_date, history_years)
    except _SettingAfterAsOf as exc:
        # the saved setting is for a later year than this as-of date (an export of an earlier date, or of data that
        # end earlier): the workbook still gets written, with the default years and a sentence saying why
        ctx.history = None
        ctx.sheet_notes.setdefault("Part I History", []).append(f"{exc} The default years are shown instead.")
    ctx.history_source = ("chosen for this export" if history_years is not None else
                          "the workspace's setting" if ctx.history is not None else
                          "the default: the last complete year against the nine before it")
    return ctx


def save_atomic(wb: Workbook, out: Path) -> None:
    """Save beside the target under a temporary name, then rename over it (a failure leaves the old file)."""
    write_atomically(out, wb.save, what="the workbook")


# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class SheetPlan:
    """One sheet's content, computed before anything is written (the analysis and the writing are timed apart)."""

    name: str
    title: str
    # ("tables", [ReportTable]) | ("table", ReportTable) | ("text", str) | ("map", (title, MapImage))
    blocks: list = field(default_factory=list)
    max_text_width: float = 40.0
    freeze_heading: bool = False  # freeze under the sheet heading rather than under a table header
    trends: object = None  # the Trends sheet: (measures, [(AreaRef, ReportTable)])
    writer: object = None  # a sheet written by its own function: writer(wb, ctx, plan)
    spatial: object = None  # the Hot Spots & Displacement sheet's results (for its colours, and for tests)

    def all_tables(self) -> list[ReportTable]:
        out = []
        for kind, v in self.blocks:
            out += v if kind in ("tables", "side_by_side") else [v] if kind in ("table", "wide_table") else []
        return out


def plan_workbook(ctx: ExportContext) -> list[SheetPlan]:
    """Every sheet's tables, from the engine's reports: the analysis part of an export."""
    grids = _grids(ctx)  # the Summary quotes the grids: compute them first
    steps = [
        lambda: _plan_summary(ctx, grids),
        lambda: _plan_compstat(ctx, grids),
        *[lambda fn=fn: fn(ctx) for fn in (_plan_history, _plan_districts, _plan_target_areas, _plan_rates,
                                           _plan_activity, _plan_shoot_review, _plan_spatial, _plan_trends)],
    ]
    plans = []
    for i, fn in enumerate(steps):
        ctx.check(0.15 + 0.55 * i / len(steps))
        plan = fn()
        ctx.record_notes(plan.name, plan.all_tables())
        plans.append(plan)
    plans.append(_plan_notes(ctx))
    return plans


def write_workbook(ctx: ExportContext, plans: list[SheetPlan]) -> Workbook:
    """The formatted workbook of the plans (no analysis happens here)."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"CompStat as of {ctx.as_of:%Y-%m-%d}"
    wb.properties.creator = "PSP Analyst Workstation"
    for i, plan in enumerate(plans):
        ctx.check(0.7 + 0.25 * i / len(plans))
        if plan.trends is not None:
            _write_trends(wb, ctx, plan)
        elif plan.writer is not None:
            plan.writer(wb, ctx, plan)
        else:
            _write_plan(wb, ctx, plan)
    return wb


def build_workbook(ctx: ExportContext) -> Workbook:
    return write_workbook(ctx, plan_workbook(ctx))


def _write_plan(wb, ctx: ExportContext, plan: SheetPlan) -> SheetWriter:
    sw = SheetWriter.new(wb, plan.name, footer_text=ctx.footer, max_text_width=plan.max_text_width)
    sw.heading(plan.title, _heading_lines(ctx))
    for kind, v in plan.blocks:
        if kind == "tables":
            sw.tables(v)
        elif kind == "table":
            sw.table(v)
        elif kind == "side_by_side":
            _side_by_side(sw, v)
        elif kind == "wide_table":  # its last column of text runs to the sheet's right edge
            sw.table(v, stretch=True)
        elif kind == "map":
            title, img = v
            sw.image(img.png, img.width_in, img.height_in, title)
        else:
            sw.paragraph(v)
    sw.finish(freeze=f"A{sw.heading_rows + 1}" if plan.freeze_heading else "auto")
    return sw


def _side_by_side(sw: SheetWriter, tables: list[ReportTable], gap: int = 1) -> None:
    """Narrow tables two to a row (under a wide one they would fill a third of the printed width); a table too wide
    for the columns to the right of its neighbour goes on the next row."""
    i = 0
    while i < len(tables):
        top = sw.row
        sw.table(tables[i])
        bottom = sw.row
        second = 1 + len(tables[i].columns) + gap
        if i + 1 < len(tables) and second + len(tables[i + 1].columns) - 1 <= sw.max_col:
            sw.row = top
            sw.table(tables[i + 1], first_col=second)
            bottom = max(bottom, sw.row)
            i += 1
        sw.row = bottom
        i += 1


def _grids(ctx: ExportContext) -> dict[str, list[ReportTable]]:
    from workstation.reports.compstat import compstat_grid

    out = {}
    for i, ref in enumerate(ctx.areas):
        ctx.check(0.15 * i / max(len(ctx.areas), 1))
        out[ref.key] = compstat_grid(ctx.ws, ref.key, ctx.as_of)
    return out


def _has(ctx: ExportContext, dataset: str) -> bool:
    return len(ctx.ws.frames[dataset]) > 0


def _non_city(ctx: ExportContext) -> list:
    return [r for r in ctx.areas if r.kind != "citywide"]


def _heading_lines(ctx: ExportContext) -> list[str]:
    names = ", ".join(r.label for r in ctx.areas)
    lines = [f"As of {ctx.as_of:%A, %B %d, %Y}. Areas: {names}."]
    if ctx.scenario is not None:
        base = ctx.scenario_base.name if ctx.scenario_base is not None else "no base area"
        lines.append(f"What-if scenario '{ctx.scenario.name}' replaces {base} (see Notes).")
    return lines


# ---- Summary ----------------------------------------------------------------------------------------------------
KEY_OUTCOMES = ("homicides", "nonfatal_shooting_victims", "firearm_violent_crime", "part1_violent", "part1_property",
                "part1_total", "carjackings", "shotspotter_activations")


def _plan_summary(ctx: ExportContext, grids: dict[str, list[ReportTable]]) -> SheetPlan:
    from workstation.reports.goals import goal_table, goals_of

    # text wraps at 24 characters: the goal card's column is also the key-outcomes table's second column
    plan = SheetPlan("Summary", f"{area_mod.city_name(ctx.ws)} CompStat", freeze_heading=True, max_text_width=24.0)
    plan.blocks.append(("table", _areas_table(ctx)))
    key = _key_outcomes_table(ctx, grids)
    if key is not None:
        plan.blocks.append(("table", key))
    goals = goals_of(ctx.ws)
    if goals:
        plan.blocks.append(("table", _goal_card(goal_table(ctx.ws, goals, ctx.as_of))))
    return plan


def _goal_card(t: ReportTable) -> ReportTable:
    """The goal table on its side: a row per figure, a column per goal. Fourteen columns across would set the
    Summary's print scale (and leave the other tables a third of the page); a card of two or three columns does not.
    Figures are shown as the goal table formats them."""
    from workstation.formatting import format_value

    cols = ["Goal"] + [str(r[0]) for r in t.rows]
    rows = [[name] + [format_value(r[j], kind) for r in t.rows]
            for j, (name, kind) in enumerate(zip(t.columns, t.column_kinds)) if j > 0]
    return ReportTable(t.title, cols, ["label"] + ["text"] * len(t.rows), rows, notes=list(t.notes))


POPULATION_NOTE = ("Population, the same figure on the map and in every table: with a census layer, the areal-weighted "
                   "sum of its polygons (each polygon's population times the share of its area inside the area); "
                   "otherwise the population the boundary file gives; otherwise the district density estimate "
                   "(each district's population spread evenly over its area).")


def _areas_table(ctx: ExportContext) -> ReportTable:
    rows = []
    for r in ctx.areas:
        kind = {"citywide": "City", "district": "District", "target_area": "Target area",
                "scenario": "What-if scenario"}[r.kind]
        version = r.version if r.area is not None else None
        rows.append([r.label, kind, version, r.sq_miles, r.population, r.population_source or None])
    return ReportTable("Areas in this workbook", ["Area", "Kind", "Boundary version", "Square miles", "Population",
                                                  "Population from"],
                       ["label", "text", "count", "rate", "count", "text"], rows,
                       notes=["Square miles are measured on the ellipsoid (equal-area), not in degrees.",
                              POPULATION_NOTE])


def _key_outcomes_table(ctx: ExportContext, grids) -> ReportTable | None:
    """Year to date against a year earlier for the key outcomes, one band of columns per area."""
    per_area = []
    for ref in ctx.areas:
        found = {}
        for t in grids.get(ref.key, []):
            ytd, prior, chg = (t.columns.index(c) for c in ("YTD", "YTD prior", "YTD % chg"))
            for r, row in enumerate(t.rows):
                found[row[0]] = (row[ytd], row[prior], row[chg], t.cell_flags.get((r, chg), ""))
        per_area.append(found)
    cat = _catalog(ctx)
    labels = [cat.measures[m].label for m in KEY_OUTCOMES if m in cat.measures]
    labels = [lb for lb in labels if any(lb in f for f in per_area)]
    if not labels:
        return None
    cols, kinds, groups = ["Outcome"], ["label"], []
    for ref in ctx.areas:
        start = len(cols)
        cols += [f"YTD {ctx.as_of.year}", f"YTD {ctx.as_of.year - 1}", "% change"]
        kinds += ["count", "count", "pct_change"]
        groups.append((ref.label, start, start + 2))
    rows, flags = [], {}
    for r, lb in enumerate(labels):
        row = [lb]
        for a, found in enumerate(per_area):
            *figures, strength = found.get(lb, (None, None, None, ""))
            row += figures
            if strength:  # the grid's exact-test flag of the same two counts
                flags[(r, 3 + 3 * a)] = strength
        rows.append(row)
    # stars print in black and white too: * notable, ** significant
    marks = {k: "**" if v == "significant" else "*" for k, v in flags.items()}
    return ReportTable(f"Key outcomes, year to date (January 1 – {ctx.as_of:%B %d}) against a year earlier",
                       cols, kinds, rows, header_groups=groups, cell_flags=flags, cell_marks=marks,
                       notes=["Green is a fall in crime, red a rise. * notable, ** significant: the exact binomial "
                              "test of the two counts gives p < 0.05 or p < 0.01; a change without a star is within "
                              "what chance alone would give. See Notes, 'Chance'."])


def _catalog(ctx: ExportContext):
    from workstation.engine.measures import catalog_for

    return catalog_for(ctx.ws)


# ---- CompStat ---------------------------------------------------------------------------------------------------
def _plan_compstat(ctx: ExportContext, grids) -> SheetPlan:
    # the Flag column wraps narrow: twenty columns must fit one page wide
    plan = SheetPlan("CompStat", "CompStat grid", max_text_width=24.0)
    plan.blocks.append(("tables", [t for ref in ctx.areas for t in grids.get(ref.key, [])]))
    return plan


# ---- Part I History ---------------------------------------------------------------------------------------------
HISTORY_META_KEY = "part1_history"  # ws.meta: {"baseline": [first, last], "current": year} chooses Table 1's years


class _SettingAfterAsOf(UserError):
    """The workspace's Part I History setting names a current year after the as-of year."""


def _history_years(ws, as_of: dt.date, given=None) -> tuple[int, int, int] | None:
    """(first baseline year, last baseline year, current year) from the argument or the workspace setting, checked;
    None for the default (the last complete year against the nine before it)."""
    source = "history_years"
    cfg = given
    if cfg is None:
        cfg = (ws.meta or {}).get(HISTORY_META_KEY)
        source = f"the workspace setting '{HISTORY_META_KEY}'"
        if not cfg:
            return None
    try:
        if isinstance(cfg, dict):
            (b0, b1), cur = (int(x) for x in cfg["baseline"]), int(cfg["current"])
        else:
            b0, b1, cur = (int(x) for x in cfg)
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{source[0].upper() + source[1:]} must give a baseline and a current year, like "
                        '{"baseline": [2007, 2015], "current": 2016}.') from None
    if b0 <= b1 < cur and cur > as_of.year and given is None:
        raise _SettingAfterAsOf(f"The workspace setting '{HISTORY_META_KEY}' compares {cur} with {b0}-{b1}, but "
                                f"the as-of date is in {as_of.year}.")
    if not (b0 <= b1 < cur <= as_of.year):
        raise UserError(f"{source[0].upper() + source[1:]}: the baseline {b0}-{b1} must end before the current "
                        f"year {cur}, which cannot be after the as-of year {as_of.year}.")
    return b0, b1, cur


def _plan_history(ctx: ExportContext) -> SheetPlan:
    from workstation.reports.history import part1_history

    plan = SheetPlan("Part I History", "Part I crime history")
    if not _has(ctx, "offenses"):
        plan.blocks.append(("text", "No offense records are loaded, so there is no Part I history."))
        return plan
    years = ctx.history
    plan.blocks += [("text", n) for n in ctx.sheet_notes.get("Part I History", [])]
    if years is None:
        from workstation.reports.history import default_years

        b0, b1, cur = default_years(ctx.ws, ctx.as_of)
    else:
        b0, b1, cur = years
    # the span shown and how to change it, first on the sheet: a 2016 table in a 2019 report must say why
    plan.blocks.append(("text", (
        f"Calendar years: {cur} against the {b0}–{b1} average ({ctx.history_source}). To show other years, export "
        f"with --history FIRST-LAST:CURRENT (e.g. main.py export … --history {ctx.as_of.year - 10}-"
        f"{ctx.as_of.year - 2}:{ctx.as_of.year - 1}) or fill in 'Part I history years' in the export dialog. "
        f"Below them, year to date (January 1 – {ctx.as_of:%B %d}) for {ctx.as_of.year - 9}–{ctx.as_of.year}.")))
    for ref in ctx.areas:
        if years is not None:
            t = part1_history(ctx.ws, ref.key, baseline=years[:2], current=years[2], as_of=ctx.as_of)
        else:
            t = part1_history(ctx.ws, ref.key, as_of=ctx.as_of)
        plan.blocks.append(("table", t))
    for ref in ctx.areas:
        # the year in progress: each year's same January 1 - as-of span, against the average of the years before
        plan.blocks.append(("table", part1_history(
            ctx.ws, ref.key, baseline=(ctx.as_of.year - 9, ctx.as_of.year - 1), current=ctx.as_of.year,
            as_of=ctx.as_of, ytd=True, title=f"Part I crime year to date — {ref.label} "
                                             f"(January 1 – {ctx.as_of:%B %d}, {ctx.as_of.year - 9}–{ctx.as_of.year})")))
    return plan


# ---- Districts --------------------------------------------------------------------------------------------------
def _district_measures(ctx: ExportContext) -> list[str]:
    from workstation.reports.districts import DEFAULT_DISTRICT_MEASURES

    cat = _catalog(ctx)
    return [m for m in DEFAULT_DISTRICT_MEASURES if m in cat.measures and _has(ctx, cat.measures[m].dataset)]


def _plan_districts(ctx: ExportContext) -> SheetPlan:
    from workstation.reports.districts import district_tables

    plan = SheetPlan("Districts", "Citywide by district")
    measures = _district_measures(ctx)
    if measures:
        plan.blocks.append(("tables", district_tables(ctx.ws, ctx.as_of, measures)))
        # the case study's "Citywide Map" comes right after the citywide tables (the Gi* hot-spot map is on the
        # Hot Spots & Displacement sheet, drawn from that sheet's analysis)
        plan.blocks += _maps(ctx, "citywide")
    else:
        plan.blocks.append(("text", "No homicide or shooting records are loaded."))
    return plan


def _maps(ctx: ExportContext, which: str) -> list:
    """Map blocks (title, MapImage) of the year-to-date homicides and non-fatal shootings: "citywide", "overview"
    (every target area of the workbook on one map, when there are several) or "areas" (one map per target area);
    none when the workspace has no geometry to draw on."""
    from workstation.maps import static

    if not static.can_draw(ctx.ws):
        return []
    cat = _catalog(ctx)
    if which == "citywide":
        return [("map", ("Citywide Map", static.citywide_map(ctx.ws, ctx.as_of, catalog=cat)))]
    keys = [r.key for r in _non_city(ctx) if r.geometry is not None and not r.geometry.is_empty]
    if which == "overview":
        if not keys:
            return []
        title = "PSP Areas Map" if len(keys) > 1 else f"PSP Area Map — {area_mod.resolve_area(ctx.ws, keys[0]).label}"
        return [("map", (title, static.target_areas_map(ctx.ws, ctx.as_of, keys, catalog=cat)))]
    if len(keys) < 2:
        return []  # the overview already is the one area's map
    return [("map", (f"Map — {area_mod.resolve_area(ctx.ws, k).label}",
                     static.target_areas_map(ctx.ws, ctx.as_of, [k], catalog=cat))) for k in keys]


# ---- Target Areas -----------------------------------------------------------------------------------------------
def _plan_target_areas(ctx: ExportContext) -> SheetPlan:
    from workstation.reports.concentration import concentration_table
    from workstation.reports.districts import target_area_tables

    plan = SheetPlan("Target Areas", "Target areas by district")
    areas = _non_city(ctx)
    if not areas:
        plan.blocks.append(("text", "No target area or scenario is among the areas of this workbook."))
        return plan
    measures = _district_measures(ctx)
    if measures:
        # the case study's "PSP Areas Map" comes before the PSP-area tables; each area's own map after them
        plan.blocks += _maps(ctx, "overview")
        plan.blocks.append(("tables", target_area_tables(ctx.ws, ctx.as_of, measures, [r.key for r in areas])))
    for r in areas:
        if r.geometry is not None:
            plan.blocks.append(("table", concentration_table(ctx.ws, r.key, "ytd", ctx.as_of)))
    places = _places_table(ctx, areas)
    if places is not None:
        plan.blocks.append(("table", places))
    if measures:
        plan.blocks += _maps(ctx, "areas")
    return plan


def _places_table(ctx: ExportContext, areas):
    """Reference places (premises, bus stops, vacant properties ...) within 500 ft of each area and citywide."""
    from workstation.reports.places import places_table

    keys = ["citywide"] + [r.key for r in areas if r.geometry is not None]
    return places_table(ctx.ws, keys)


# ---- Rates & Clearance ------------------------------------------------------------------------------------------
def _plan_rates(ctx: ExportContext) -> SheetPlan:
    from workstation.reports.rates import clearance_table, peer_comparison, rates_tables

    plan = SheetPlan("Rates & Clearance", "Rates and clearance")
    keys = [area_mod.CITYWIDE] + [area_mod.area_key(d) for d in sorted(
        ctx.ws.districts, key=lambda a: area_mod.district_sort_key(area_mod.district_key(a.name) or a.name))]
    keys += [r.key for r in _non_city(ctx) if r.key not in keys]
    rates = rates_tables(ctx.ws, window="ytd", as_of=ctx.as_of, area_keys=keys)
    if rates:
        plan.blocks.append(("tables", rates))
    try:
        plan.blocks.append(("table", peer_comparison(ctx.ws)))
    except UserError as exc:  # a broken peer list must not stop the workbook: say why instead
        plan.blocks.append(("text", f"Peer comparison not shown: {exc}"))
    if _has(ctx, "offenses") or _has(ctx, "shootings"):
        for ref in ctx.areas:
            for t in clearance_table(ctx.ws, ref.key, "ytd", ctx.as_of):
                plan.blocks.append(("table", t))
    return plan


# ---- Activity & Partners ----------------------------------------------------------------------------------------
def _plan_activity(ctx: ExportContext) -> SheetPlan:
    from workstation.reports.activity import activity_partners

    # the Flag column wraps at 16 characters: the grid and two partner tables side by side must fit one Tabloid page
    plan = SheetPlan("Activity & Partners", "Activity and partners", max_text_width=16.0)
    if not _has(ctx, "activity"):
        plan.blocks.append(("text", "No activity records are loaded."))
        return plan
    grids, partners = [], []
    for ref in ctx.areas:
        for t in activity_partners(ctx.ws, ref.key, ctx.as_of):
            (partners if t.columns and t.columns[0] == "Agency" else grids).append(t)
    plan.blocks.append(("tables", grids))
    plan.blocks.append(("side_by_side", partners))
    return plan


# ---- Shoot Review -----------------------------------------------------------------------------------------------
def _plan_shoot_review(ctx: ExportContext) -> SheetPlan:
    from workstation.reports.shoot_review import shoot_review

    # addresses wrap narrow: fourteen columns must fit one page wide
    plan = SheetPlan("Shoot Review", "Shoot review: shootings and homicides of the past seven days",
                     max_text_width=30.0)
    if not (_has(ctx, "shootings") or _has(ctx, "offenses")):
        plan.blocks.append(("text", "No shooting or offense records are loaded."))
        return plan
    plan.blocks.append(("table", shoot_review(ctx.ws, ctx.as_of)))
    return plan


# ---- Hot Spots & Displacement (exports/spatial_sheet.py) ----------------------------------------------------------
def _plan_spatial(ctx: ExportContext) -> SheetPlan:
    from workstation.exports.spatial_sheet import SHEET, plan_spatial

    plan = SheetPlan(SHEET, "Hot spots, near repeat and displacement", max_text_width=40.0, writer=_write_spatial)
    ctx.notes_tables += plan_spatial(ctx, plan)
    return plan


def _write_spatial(wb, ctx: ExportContext, plan: SheetPlan) -> None:
    from workstation.exports.spatial_sheet import write_spatial

    sw = SheetWriter.new(wb, plan.name, footer_text=ctx.footer, max_text_width=plan.max_text_width)
    sw.heading(plan.title, _heading_lines(ctx))
    write_spatial(sw, plan)
    sw.finish()


# ---- Trends -----------------------------------------------------------------------------------------------------
TREND_MEASURES = ("homicides", "nonfatal_shooting_victims", "firearm_violent_crime", "part1_violent")
CHARTS_PER_ROW = 2
CHART_ROWS = 18  # worksheet rows one chart occupies (with a gap below)
# this year, last year, the previous years' mean: colours that survive black-and-white printing
SERIES_STYLE = (("1F3864", 28575, None), ("A6A6A6", 19050, None), ("C55A11", 19050, "dash"))


def _plan_trends(ctx: ExportContext) -> SheetPlan:
    from workstation.reports.trends import trend_series

    cat = _catalog(ctx)
    measures = [cat.measures[i] for i in TREND_MEASURES if i in cat.measures and _has(ctx, cat.measures[i].dataset)]
    plan = SheetPlan("Trends", "Trends by month: this year, last year and the previous years' average",
                     freeze_heading=True)
    tables = []
    for ref in ctx.areas if measures else []:
        frames = [trend_series(ctx.ws, m, ref.key, "M", ctx.as_of) for m in measures]
        base = frames[0]
        labels = [f"{lb} (1–{pe.day})" if part else lb
                  for lb, pe, part in zip(base["label"], base["period_end"], base["partial"])]
        cols, kinds, groups = ["Month"], ["label"], []
        for m, df in zip(measures, frames):
            n_years = int(df["baseline_years"].max()) if len(df) else 0
            groups.append((m.label, len(cols), len(cols) + 2))
            cols += [f"{ctx.as_of.year}", f"{ctx.as_of.year - 1}", f"{n_years}-yr avg"]
            kinds += ["count", "count", "decimal1"]
        rows = []
        for i, lb in enumerate(labels):
            row = [lb]
            for df in frames:
                r = df.iloc[i]
                row += [r["this_year"], r["last_year"], r["baseline_mean"]]
            rows.append(row)
        tables.append((ref, ReportTable(f"Monthly counts — {ref.label}", cols, kinds, rows, header_groups=groups,
                                        notes=[
            "Months of the as-of year; a month still in progress is compared with the same days of the earlier "
            "years' month. The average is the mean of the same month over the previous years the data cover "
            "(blank when none)."])))
    plan.trends = (measures, tables)
    plan.blocks = [("table", t) for _, t in tables]
    return plan


def _write_trends(wb, ctx: ExportContext, plan: SheetPlan) -> None:
    import math

    measures, tables = plan.trends
    sw = SheetWriter.new(wb, plan.name, footer_text=ctx.footer)
    sw.heading(plan.title, _heading_lines(ctx))
    if not tables:
        sw.paragraph("No records are loaded for the trend measures.")
        sw.finish()
        return
    n_charts = len(measures) * len(tables)
    top = sw.row
    chart_lines = math.ceil(n_charts / CHARTS_PER_ROW)
    for i in range(chart_lines):
        sw.keep_together(top + i * CHART_ROWS, top + (i + 1) * CHART_ROWS - 2)
    sw.row = top + CHART_ROWS * chart_lines
    # the data block under the charts (which read from it): one table per area, a band of columns per measure
    placed = [(ref, sw.table(t)) for ref, t in tables]
    # the charts: one per area and measure, two to a row
    k = 0
    right_col = 0
    for ref, p in placed:
        for j, m in enumerate(measures):
            ch = LineChart()
            ch.title = f"{m.label} — {ref.label}"
            ch.height = 7.6
            ch.width = 14.0  # two to a row fit a Letter page at 80% or more
            ch.legend.position = "b"
            # openpyxl 3.1 writes <c:delete val="1"/> unless told: Excel would hide the axes
            ch.x_axis.delete = False
            ch.y_axis.delete = False
            ch.y_axis.scaling.min = 0
            ch.y_axis.number_format = "#,##0"
            c0 = p.first_col + 1 + 3 * j
            for off, (colour, width, dash) in enumerate(SERIES_STYLE):
                c = c0 + off
                ch.add_data(Reference(sw.ws, min_col=c, max_col=c, min_row=p.header_row, max_row=p.last_row),
                            titles_from_data=True)
                ser = ch.series[-1]
                ser.smooth = False
                ser.marker.symbol = "none"
                ser.graphicalProperties.line.solidFill = colour
                ser.graphicalProperties.line.width = width
                if dash:
                    ser.graphicalProperties.line.dashStyle = dash
            # month labels are text: a string reference (openpyxl's default numRef makes Excel show 1, 2, 3...)
            cats = Reference(sw.ws, min_col=p.first_col, min_row=p.first_row, max_row=p.last_row)
            for ser in ch.series:
                ser.cat = AxDataSource(strRef=StrRef(f=str(cats)))
            ch.x_axis.axPos = "b"
            row = top + CHART_ROWS * (k // CHARTS_PER_ROW)
            col = 1 + (k % CHARTS_PER_ROW) * _cols_for_width(sw, 1, ch.width + 0.6)
            sw.ws.add_chart(ch, f"{get_column_letter(col)}{row}")
            right_col = max(right_col, col - 1 + _cols_for_width(sw, col, ch.width))
            k += 1
    # the charts may reach further right than the data: print both
    sw.extend_to(right_col)
    # no spreading of spare width: the charts are placed by column and would drift apart
    sw.finish(freeze=f"A{sw.heading_rows + 1}", print_area=f"A1:{get_column_letter(sw.max_col)}{sw.row}", fill=False)


def _cols_for_width(sw: SheetWriter, first: int, width_cm: float) -> int:
    """How many columns from ``first`` a chart ``width_cm`` wide spans."""
    n, total = 0, 0.0
    while total < width_cm * 72 / 2.54:
        total += sw.column_points(first + n) if first + n <= sw.max_col else (7 * 8.43 + 5) * 0.75
        n += 1
    return n


# ---- Notes ------------------------------------------------------------------------------------------------------
def _plan_notes(ctx: ExportContext) -> SheetPlan:
    from workstation.engine.analysis import COUNTING_NOTES, counting_rule
    from workstation.reports.rules import FLAG_RULE

    ws = ctx.ws
    # column B carries the long text of every table on this sheet (file names, rules, definitions, notes)
    plan = SheetPlan("Notes", "Notes: sources, rules, boundaries and definitions", max_text_width=44.0,
                     freeze_heading=True)
    tables = [_sources_table(ws)]
    rule = counting_rule(ws)
    tables.append(ReportTable("Counting and number rules", ["Rule", "Detail"], ["label", "text"], [
        ["Counting", COUNTING_NOTES.get(rule, rule)],
        ["Periods", "Week to date: the Monday–Sunday week containing the as-of date, through the as-of date. "
                    "28 days: the 28 days ending on the as-of date. Year to date: January 1 through the as-of date. "
                    "Each is compared with the same month-day span a year earlier (February 29 folds into "
                    "February 28)."],
        ["% change", "(current - earlier) / earlier. With an earlier count of zero the change is undefined: the "
                     "cell is blank, never 0% or infinite."],
        ["Rounding", NUMBER_RULE_NOTE],
        ["Chance", FLAG_RULE + " Small year-to-date counts early in the year are flagged as such instead. On "
                   "the CompStat and Activity sheets the Flag column names each flagged window; its z cell is "
                   "coloured, and its z and % change are bold when significant. On the Summary, * marks a notable "
                   "and ** a significant % change. A change that is not flagged is within chance."],
        ["Marks", "† after a week-to-date or 28-day count: the dataset ends before the as-of date, so both years "
                  "are counted over the same days up to its last record (the note under the grid gives the dates)."],
        ["Colours", "Crime measures: a fall is green and a rise red. Activity measures: the reverse."],
        ["As of", f"Every figure counts records dated up to and including {ctx.as_of:%Y-%m-%d}."],
    ]))
    tables.append(_boundaries_table(ctx))
    if ctx.scenario is not None:
        tables.append(_scenario_table(ctx))
    tables.append(_measures_table(ctx))
    tables += ctx.notes_tables
    rows = [[sheet, n] for sheet in SHEET_ORDER for n in ctx.sheet_notes.get(sheet, [])]
    if rows:
        tables.append(ReportTable("Notes to the tables, by sheet", ["Sheet", "Note"], ["label", "text"], rows))
    # two-column tables of rules and notes: their text runs the full width the Sources table sets
    plan.blocks = [("wide_table" if len(t.columns) == 2 else "table", t) for t in tables]
    return plan


def _minutes(stamp) -> str:
    """An ISO time stamp as the Notes sheet prints it: '2019-09-30T09:04:12' -> '2019-09-30 09:04'."""
    text = str(stamp or "")
    if len(text) >= 16 and text[10] == "T" and text[13] == ":":
        return text[:10] + " " + text[11:16]
    return text


def _sources_table(ws) -> ReportTable:
    rows = []
    for e in ws.import_log:
        rows.append([e.get("kind", ""), e.get("file_name", ""), _minutes(e.get("loaded_at", "")),
                     _minutes(e.get("data_as_of", "")),
                     e.get("rows_read"), e.get("accepted"), e.get("rejected"), e.get("profile", "")])
    notes = []
    for kind, df in ws.frames.items():
        if kind == "people" or not len(df):
            continue
        newest = ws.as_of(kind)
        notes.append(f"{kind.capitalize()}: {len(df):,} records, newest dated {newest:%Y-%m-%d}.")
    if not rows:
        notes.insert(0, "The workspace has no import log (its records were not loaded from files).")
    return ReportTable("Sources", ["Dataset", "File", "Loaded", "Data as of", "Rows read", "Accepted", "Rejected",
                                   "Import profile"],
                       ["label", "text", "text", "text", "count", "count", "count", "text"], rows, notes=notes)


def _boundaries_table(ctx: ExportContext) -> ReportTable:
    rows, notes = [], []
    shown = [r for r in ctx.areas if r.area is not None]
    shown += [area_mod.resolve_area(ctx.ws, area_mod.area_key(d)) for d in ctx.ws.districts
              if area_mod.area_key(d) not in {r.key for r in shown}]
    for r in shown:
        a = r.area
        rows.append([r.label, a.source or "", a.kind.replace("_", " "), a.version, r.sq_miles, r.population,
                     _minutes(a.modified or a.created or "")])
        for h in sorted(a.history or [], key=lambda h: h.get("version", 0)):
            changed = str(h.get("changed", "") or "")
            year = changed[:4]
            span = f"figures for {year} and earlier published under version {h.get('version')}" if year.isdigit() \
                else f"figures published under version {h.get('version')}"
            notes.append(f"{r.label}: version {h.get('version')} was replaced on {changed or 'an unrecorded date'}"
                         f"{' (' + str(h.get('note')) + ')' if h.get('note') else ''}; {span} are not comparable "
                         f"with this workbook, which counts every year inside version {a.version}.")
    if not notes:
        notes.append("No boundary in this workbook has changed since it was loaded: every year is comparable.")
    notes.append("Every year is counted inside the boundary's current version (records are placed by location).")
    return ReportTable("Boundaries", ["Area", "Source", "Kind", "Version", "Square miles", "Population",
                                      "Last changed"],
                       ["label", "text", "text", "count", "rate", "count", "text"], rows, notes=notes)


def _scenario_table(ctx: ExportContext) -> ReportTable:
    sc = ctx.scenario
    base = ctx.scenario_base
    base_ref = area_mod.resolve_area(ctx.ws, area_mod.area_key(base)) if base is not None else None
    rows = [[sc.name, sc.area.notes or "", base.name if base is not None else "", sc.sq_miles,
             base_ref.sq_miles if base_ref is not None else None, sc.area.modified or ""]]
    return ReportTable("What-if scenario", ["Scenario", "Notes", "Replaces target area", "Square miles",
                                            "Base square miles", "Saved"],
                       ["label", "text", "text", "rate", "rate", "text"], rows,
                       notes=[f"Every sheet shows the scenario '{sc.name}' in place of "
                              f"{base.name if base is not None else 'its base area'}; it is a what-if boundary, not "
                              "the official one."])


def _measures_table(ctx: ExportContext) -> ReportTable:
    cat = _catalog(ctx)
    rows = [[m.label, m.definition() + (" " + m.description if m.description and m.kind == "count" else ""),
             m.section or "", "a rise is good" if m.direction == "activity" else "a rise is bad"]
            for m in cat]
    return ReportTable("Measure definitions", ["Measure", "Definition", "Section", "Direction"],
                       ["label", "text", "text", "text"], rows,
                       notes=[f"Measure catalog: {Path(cat.source).name if os.sep in cat.source else cat.source}."])


__all__ = ["export_workbook", "export_context", "plan_workbook", "write_workbook", "build_workbook", "save_atomic",
           "ExportCancelled", "SheetPlan", "SHEET_ORDER"]

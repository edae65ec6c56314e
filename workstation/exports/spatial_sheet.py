"""The workbook's "Hot Spots & Displacement" sheet (issue 10): the top Gi* hot-spot cells with their centre
coordinates and nearest district, the Knox near-repeat tables coloured like the Near Repeat Calculator's, and the
weighted displacement quotient of each target area with its interpretation. Every parameter goes on the Notes sheet.

Defaults of the workbook (an analyst changes them in the Hot Spots tab, not here):
- hot spots: Part I violent crime over the 365 days ending on the as-of date, citywide, 500 ft cells, a 1,500 ft
  distance band, ArcGIS's default bandwidth for the density, no FDR correction; the 15 hottest significant cells;
- near repeat: burglary over the same 365 days, citywide, distance bands of 400 ft (3 bands), time bands of 7 days
  (4 bands), Euclidean distance, 99 permutations with seed 1 (p-values down to 0.01, enough for the p ≤ 0.05 flag);
- displacement: Part I violent crime in each target area (or the scenario in its place), a 1,320 ft (¼ mile)
  buffer ring and the rest of the city as control; before and after are the year before and the year after the
  strategy's start (the start of a goal set for that area), else the 365 days before the as-of date's year and the
  365 days to the as-of date.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
from openpyxl.styles import PatternFill

from workstation.core.errors import UserError
from workstation.exports.errors import stop_export
from workstation.exports import excel_style as st
from workstation.reports.table import ReportTable

SHEET = "Hot Spots & Displacement"
HOTSPOT_MEASURE = "part1_violent"
NEAR_REPEAT_MEASURE = "burglary"
DISPLACEMENT_MEASURE = "part1_violent"
CELL_FT, DISTANCE_FT = 500.0, 1500.0
TOP_CELLS = 15
NR = dict(distance_ft=400.0, distance_bands=3, time_days=7, time_bands=4, permutations=99, seed=1)
BUFFER_FT = 1320.0
# ArcGIS's hot/cold palette for the Confidence column, the NRC's highlight for the Knox tables
BIN_FILLS = {3: "D62F27", 2: "ED7551", 1: "FAB984", -1: "C0CCBE", -2: "849EBA", -3: "4575B5"}
HIGHLIGHT_FILL = "F4A582"
WHITE_FONT = st.font(color="FFFFFF")   # on the darkest hot and cold bins
P_FORMAT = '[<0.0001]"< 0.0001";0.0000'    # the cell keeps the exact p; what is shown stops at 0.0001
BIN_TEXT = {3: "Hot spot, 99%", 2: "Hot spot, 95%", 1: "Hot spot, 90%", 0: "Not significant",
            -1: "Cold spot, 90%", -2: "Cold spot, 95%", -3: "Cold spot, 99%"}


def _iso(d) -> str:
    return d.isoformat() if hasattr(d, "isoformat") else str(d)


def default_window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The 365 days ending on the as-of date."""
    return as_of - dt.timedelta(days=364), as_of


def displacement_periods(ws, area_key: str | None, as_of: dt.date):
    """((before first, last), (after first, last), rule): a year each, the year before and the year after the
    strategy's start in the area (the start of a goal set for it) when that whole year is in the data, else the year
    to the as-of date and the year before it."""
    import pandas as pd

    year = pd.DateOffset(years=1)
    one = dt.timedelta(days=1)
    for g in (ws.meta.get("goals") or []) if ws is not None else []:
        if isinstance(g, dict) and area_key and g.get("area_key") == area_key and g.get("start"):
            try:
                start = pd.Timestamp(g["start"]).normalize()
            except (ValueError, TypeError):
                continue
            if (start + year).date() - one <= as_of:
                return (((start - year).date(), start.date() - one), (start.date(), (start + year).date() - one),
                        f"the year before and the year after the strategy's start ({start:%Y-%m-%d}, the start of "
                        f"the goal '{g.get('name', '')}')")
    a0 = (pd.Timestamp(as_of) - year).date() + one
    return (((pd.Timestamp(a0) - year).date(), a0 - one), (a0, as_of),
            "the year to the as-of date against the year before it (no strategy start is recorded for the area)")


def plan_spatial(ctx, plan) -> list[ReportTable]:
    """Fill ``plan`` (a workbook SheetPlan) with the sheet's blocks; return the parameter table(s) for Notes."""
    from workstation.reports.spatial.displacement import WDQ_NOTE, displacement
    from workstation.reports.spatial.hotspots import hotspot_analysis
    from workstation.reports.spatial.near_repeat import near_repeat_analysis

    ws = ctx.ws
    params: list[list] = []
    plan.spatial = {"hotspots": None, "knox": None, "wdq": []}
    if not len(ws.frames["offenses"]) or not ws.frames["offenses"]["lat"].notna().any():
        plan.blocks.append(("text", "No located offense records are loaded, so there is nothing to analyse here."))
        return []
    start, end = default_window(ctx.as_of)
    cat = None                                   # the workspace's own catalog (as every other sheet)

    # ---- hot spots ----
    plan.blocks.append(("heading", "Hot spots (Getis-Ord Gi*)"))
    try:
        hs = hotspot_analysis(ws, HOTSPOT_MEASURE, start, end, cell_ft=CELL_FT, distance_ft=DISTANCE_FT,
                              cancelled=ctx.should_stop, catalog=cat)
    except UserError as exc:
        plan.blocks.append(("text", f"Hot spots could not be computed: {exc}"))
        hs = None
    if hs is not None:
        plan.spatial["hotspots"] = hs
        p = hs.params
        bins = hs.bin_counts()
        plan.blocks.append(("text", (
            f"{p['measure_label']}, {p['from']} to {p['to']}, {p['area_label']}: {hs.n_events:,} located events on "
            f"{p['study_cells']:,} cells of {p['cell_ft']:,.0f} ft. {sum(v for k, v in bins.items() if k > 0):,} "
            f"cells are hot spots ({bins[3]:,} at 99% confidence) and {sum(v for k, v in bins.items() if k < 0):,} "
            "cold spots. The hottest cells, highest Gi* z first:")))
        top = hs.top_cells(TOP_CELLS)
        rows = [[int(t.rank), float(t.count), float(t.gi_z), float(t.gi_p), BIN_TEXT[int(t.gi_bin)],
                 float(t.density), float(t.lat), float(t.lon), str(t.district)] for t in top.itertuples(index=False)]
        plan.blocks.append(("table", ReportTable(
            f"Top {len(rows)} hot-spot cells — {p['measure_label']}",
            ["Rank", "Events in cell", "Gi* z-score", "p-value", "Confidence", "Density per sq mi",
             "Centre latitude", "Centre longitude", "Nearest district"],
            ["label", "count", "rate", "rate", "text", "count", "rate", "rate", "text"], rows,
            notes=["A cell's centre is in WGS84 degrees; its district is the one containing the centre, else the "
                   "nearest. Gi* uses binary weights on the distance band (the cell itself included); the bins "
                   "follow ArcGIS (±2.576/1.960/1.645)."] + list(hs.notes))))
        params += [["Hot spots", k, v] for k, v in _hotspot_params(p)]
        plan.blocks += hotspot_map_blocks(ws, hs)

    # ---- near repeat ----
    plan.blocks.append(("heading", "Near repeat (Knox test)"))
    try:
        kr = near_repeat_analysis(ws, NEAR_REPEAT_MEASURE, start, end, cancelled=ctx.should_stop, catalog=cat, **NR)
    except UserError as exc:
        plan.blocks.append(("text", f"The near-repeat test could not be run: {exc}"))
        kr = None
    if kr is not None:
        plan.spatial["knox"] = kr
        plan.blocks.append(("text", kr.summary()))
        rows_lab = list(kr.distance_bands)
        cols = ["Distance"] + list(kr.time_bands)
        for title, arr, kind in (("Knox ratio (observed / expected)", kr.knox_ratio, "rate"),
                                 ("Observed pairs", kr.observed, "count"),
                                 ("Expected pairs (mean over the permutations)", kr.expected, "decimal1"),
                                 ("p-value", kr.p_value, "rate")):
            rows = [[rows_lab[i]] + [None if not np.isfinite(v) else float(v) for v in np.asarray(arr, float)[i]]
                    for i in range(len(rows_lab))]
            plan.blocks.append(("table", ReportTable(
                f"Near repeat — {title}", cols, ["label"] + [kind] * len(kr.time_bands), rows,
                notes=["Rows: distance between the two events of a pair; columns: days between them. Shaded: Knox "
                       "ratio ≥ 1.2 and p ≤ 0.05 (the Near Repeat Calculator's highlight). p = (1 + permutations "
                       "with at least the observed count) / (1 + permutations)."] + list(kr.notes))))
        params += [["Near repeat", k, v] for k, v in _knox_params(kr)]

    # ---- displacement ----
    plan.blocks.append(("heading", "Displacement (weighted displacement quotient)"))
    targets = [r for r in ctx.areas if r.kind in ("target_area", "scenario")]
    if not targets:
        plan.blocks.append(("text", "No target area is in this workbook, so there is no displacement to measure."))
    for ref in targets:
        before, after, rule = displacement_periods(ws, ref.key, ctx.as_of)
        stop_export(ctx.should_stop)
        try:
            d = displacement(ws, ref.key, DISPLACEMENT_MEASURE, before=before, after=after, buffer_ft=BUFFER_FT)
        except UserError as exc:
            plan.blocks.append(("text", f"{ref.label}: displacement could not be measured: {exc}"))
            continue
        plan.spatial["wdq"].append((ref, d))
        # the finding first, the figures under it (a page break then never parts a table from its meaning)
        plan.blocks.append(("text", f"Interpretation ({ref.label}): {d.interpretation}"))
        counts = []
        for key, name in (("target", "Target area (A)"), ("buffer", f"Buffer ring (B), {BUFFER_FT:,.0f} ft"),
                          ("control", "Control (C)")):
            c = getattr(d, key)
            b, a = float(c["before"]), float(c["after"])
            counts.append([name, b, a, (a - b) / b if b else None])
        plan.blocks.append(("table", ReportTable(
            f"Displacement — {ref.label}: {_iso(before[0])} to {_iso(before[1])} against {_iso(after[0])} to "
            f"{_iso(after[1])}", ["Area", "Before", "After", "% change"], ["label", "count", "count", "pct_change"],
            counts)))
        plan.blocks.append(("table", ReportTable(
            f"Weighted displacement quotient — {ref.label}", ["Measure", "Value"], ["label", "rate"],
            [["Success measure (A₁/C₁ − A₀/C₀)", _f(d.success_measure)],
             ["Buffer measure (B₁/C₁ − B₀/C₀)", _f(d.buffer_measure)],
             ["Weighted displacement quotient (WDQ)", _f(d.wdq)],
             ["Total net effect", _f(d.total_net_effect)]],
            notes=[WDQ_NOTE, "Below 0: displacement into the buffer ring; above 0: diffusion of benefits; between "
                             "−1 and 0 the target's fall outweighs what moved next door."])))
        params += [["Displacement", k, v] for k, v in _displacement_params(ref, d, before, after, rule)]
    if not params:
        return []
    return [ReportTable("Spatial analysis parameters (Hot Spots & Displacement sheet)", ["Analysis", "Parameter",
                                                                                         "Value"],
                        ["label", "text", "text"], [[a, k, str(v)] for a, k, v in params],
                        notes=["These are the workbook's defaults; the Hot Spots tab runs the same analyses with "
                               "any measure, period, area, cell size, band or buffer."])]


def _f(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _hotspot_params(p: dict) -> list[tuple[str, str]]:
    out = [("Measure", p["measure_label"]), ("Period", f"{p['from']} to {p['to']}"), ("Area", p["area_label"]),
           ("Cell size", f"{p['cell_ft']:,.0f} ft"), ("Distance band", f"{p['distance_ft']:,.0f} ft"),
           ("Neighbours per cell", f"{p['neighbours_per_cell']:,}"), ("Study cells", f"{p['study_cells']:,}"),
           ("Events", f"{p['events']:,} located ({p['missing_xy']:,} without coordinates)"),
           ("Mean and SD of cell counts", f"{p['mean_count']:.3f} and {p['sd_count']:.3f}"),
           ("FDR correction", "yes" if p.get("fdr") else "no"),
           ("Density bandwidth", f"{p['bandwidth_ft']:,.0f} ft ({p['bandwidth_rule']})"),
           ("Projection", p["crs"]), ("Method", p["method"]), ("Kernel", p["kernel"])]
    if p.get("bandwidth_note"):
        out.append(("Bandwidth rule", p["bandwidth_note"]))
    return out


def _knox_params(kr) -> list[tuple[str, str]]:
    p = kr.params
    return [("Measure", p.get("measure_label", "")), ("Period", f"{p.get('from')} to {p.get('to')}"),
            ("Area", p.get("area_label", "")), ("Events", f"{kr.events:,}"),
            ("Distance bands", f"{kr.distance_bands_n} of {kr.distance_ft:,.0f} ft, plus same location and more"),
            ("Time bands", f"{kr.time_bands_n} of {kr.time_days} days, plus more"),
            ("Distance", "Manhattan" if kr.manhattan else "Euclidean"),
            ("Permutations", f"{kr.permutations:,}"), ("Random seed", str(kr.seed)),
            ("Pairs within the largest band", f"{kr.pairs_within:,}"), ("Projection", p.get("crs", ""))]


def _displacement_params(ref, d, before, after, rule) -> list[tuple[str, str]]:
    p = d.params or {}
    return [(f"{ref.label}: measure", p.get("measure_label", DISPLACEMENT_MEASURE)),
            (f"{ref.label}: before", f"{_iso(before[0])} to {_iso(before[1])}"),
            (f"{ref.label}: after", f"{_iso(after[0])} to {_iso(after[1])}"),
            (f"{ref.label}: periods chosen as", rule),
            (f"{ref.label}: buffer ring", f"{d.buffer_ft:,.0f} ft"),
            (f"{ref.label}: control", d.control_label),
            (f"{ref.label}: square miles (A, B, C)", ", ".join(f"{float(p.get(k, float('nan'))):.2f}" for k in (
                "target_sq_mi", "buffer_sq_mi", "control_sq_mi")))]


def hotspot_map_blocks(ws, hs) -> list:
    """The Gi* result on a map (a ("map", (title, MapImage)) block): each significant cell painted in ArcGIS's colour
    of its bin over the districts and target areas; none when the workspace has no geometry to draw on."""
    from workstation.maps import static
    from workstation.reports.spatial.hotspots import BIN_COLOURS, BIN_LABELS

    if not static.can_draw(ws):
        return []
    sig = hs.cells[hs.cells["gi_bin"] != 0]
    polys = hs.grid.cell_polygons_lonlat(sig["row"].to_numpy(), sig["col"].to_numpy())
    p = hs.params
    notes = [f"{p['events']:,} records of {p['measure_label']}, {p['study_cells']:,} cells of {p['cell_ft']:,.0f} "
             f"ft; neighbours within {p['distance_ft']:,.0f} ft; "
             f"{'False Discovery Rate corrected' if p.get('fdr') else 'no False Discovery Rate correction'}.",
             *hs.notes]
    img = static.hotspot_map(ws, polys, sig["gi_bin"].to_numpy(), colours=BIN_COLOURS, labels=BIN_LABELS,
                             counts_by_bin=hs.bin_counts(), notes=notes,
                             title=f"Hot spots (Getis-Ord Gi*): {p['measure_label']}, {p['from']} to {p['to']}")
    return [("map", ("Hot Spot Map", img))]


def write_spatial(sw, plan) -> None:
    """Write the plan's blocks on the sheet, then give the cells their precision and colours (coordinates to six
    decimals, p-values to four, the ArcGIS bin colours, the NRC highlight)."""
    knox = (plan.spatial or {}).get("knox")
    for kind, v in plan.blocks:
        if kind == "heading":
            sw.skip(1)
            sw.paragraph(v, font=st.font(bold=True, size=12, color=st.BLUE_DARK))
            continue
        if kind == "text":
            sw.paragraph(v)
            continue
        if kind == "map":
            sw.image(v[1].png, v[1].width_in, v[1].height_in, v[0])
            continue
        pl = sw.table(v)
        t = v
        if t.title.startswith("Top ") and "hot-spot cells" in t.title:
            for i, row in enumerate(t.rows):
                for j, fmt in ((3, P_FORMAT), (6, "0.000000"), (7, "0.000000")):
                    c = sw.ws[pl.cell_ref(i, j)]
                    c.value = row[j]
                    c.number_format = fmt
                b = next((k for k, s in BIN_TEXT.items() if s == row[4]), 0)
                if b in BIN_FILLS:
                    c = sw.ws[pl.cell_ref(i, 4)]
                    c.fill = PatternFill("solid", start_color=BIN_FILLS[b], end_color=BIN_FILLS[b])
                    if abs(b) == 3:
                        c.font = WHITE_FONT
        elif t.title.startswith("Near repeat") and knox is not None:
            hl = np.asarray(knox.highlight, dtype=bool)
            pcol = t.title.endswith("p-value")
            for i in range(len(t.rows)):
                for j in range(1, len(t.columns)):
                    c = sw.ws[pl.cell_ref(i, j)]
                    if pcol and t.rows[i][j] is not None:
                        c.value = t.rows[i][j]
                        c.number_format = P_FORMAT
                    if hl[i, j - 1]:
                        c.fill = PatternFill("solid", start_color=HIGHLIGHT_FILL, end_color=HIGHLIGHT_FILL)
                        c.font = st.FONT_BOLD
        elif t.title.startswith("Weighted displacement quotient"):
            for i, row in enumerate(t.rows):
                c = sw.ws[pl.cell_ref(i, 1)]
                c.value = row[1]
                c.number_format = "0.0000" if i < 2 else "0.00"

"""The assembled CompStat workbook on a tiny hand-built city (tests/core/workbook_city.py), where every figure is
known: period boundaries, half-away rounding, zero bases, safe text, scenario, areas, CLI, cancel and errors."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from workbook_city import CORRIDOR, CORRIDOR_WIDE, tiny_city
from workstation.engine import geometry as geo
from workstation.core.errors import UserError
from workstation.exports.checks import audit_workbook
from workstation.exports.workbook import SHEET_ORDER, ExportCancelled, export_workbook


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    ws = tiny_city()
    path = tmp_path_factory.mktemp("wb") / "tiny.xlsx"
    export_workbook(ws, path, as_of="2019-09-29")
    return ws, path


def rows_of(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    return [[c.value for c in r] for r in ws.iter_rows()]


def section(rows, title):
    """The rows under a section/table title, up to the next blank row or title."""
    start = next(i for i, r in enumerate(rows) if r[0] == title)
    out = []
    for r in rows[start + 1:]:
        if r[0] is None or (isinstance(r[0], str) and r[0].startswith(("CompStat — ", "Impacts"))):
            break
        out.append(r)
    return out


def row(rows, label):
    return next(r for r in rows if r[0] == label)


def header(rows, first):
    return next(r for r in rows if r[0] == first)


def test_sheets_in_order_and_nothing_excel_would_repair(tiny):
    _, path = tiny
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(SHEET_ORDER)
    assert audit_workbook(path) == []
    for ws in wb.worksheets:
        assert ws.freeze_panes, ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_rows, ws.title
        for col in range(1, ws.max_column + 1):
            letter = openpyxl.utils.get_column_letter(col)
            assert ws.column_dimensions[letter].width, (ws.title, letter)


def test_compstat_period_boundaries(tiny):
    _, path = tiny
    rows = rows_of(path, "CompStat")
    cols = header(rows, "Measure")
    h = row(section(rows, "CompStat — Outcomes — Citywide"), "Homicides")
    got = {c: h[cols.index(c)] for c in ("WTD", "WTD prior", "28d", "28d prior", "YTD", "YTD prior")}
    # WTD Mon 09-23..Sun 09-29 holds 09-23 and 09-29 (not Sunday 09-22, not 09-30 after the as-of date);
    # a year earlier: 2018-09-23 only. 28 days 09-02..09-29 adds 09-02 and 09-22 (not 09-01).
    # YTD adds 01-01 and 09-01 (not 2018-12-31); a year earlier: 2018-09-23 (not 2018-09-30).
    assert got == {"WTD": 2, "WTD prior": 1, "28d": 4, "28d prior": 1, "YTD": 6, "YTD prior": 1}
    band = [v for v in rows[cols and rows.index(cols) - 1] if v]
    assert band[0] == "Week to date: Sep 23–Sep 29, 2019 vs Sep 23–Sep 29, 2018"
    assert band[1] == "28 days: Sep 02–Sep 29, 2019 vs Sep 02–Sep 29, 2018"
    assert band[2] == "Year to date: Jan 01–Sep 29, 2019 vs Jan 01–Sep 29, 2018"


def test_compstat_rounding_zero_base_and_colours(tiny):
    _, path = tiny
    rows = rows_of(path, "CompStat")
    cols = header(rows, "Measure")
    part1 = section(rows, "CompStat — Part I offenses — Citywide")
    rob, agg, bur = row(part1, "Robbery"), row(part1, "Aggravated assault"), row(part1, "Burglary")
    i = cols.index("YTD % chg")
    assert (rob[cols.index("YTD")], rob[cols.index("YTD prior")], rob[i]) == (17, 8, 1.13)  # 112.5% -> 113%
    assert (agg[cols.index("YTD")], agg[cols.index("YTD prior")], agg[i]) == (39, 40, -0.03)  # -2.5% -> -3%
    assert (bur[cols.index("YTD")], bur[cols.index("YTD prior")], bur[i]) == (3, 0, None)  # zero base: blank
    notes = [r[0] for r in rows if isinstance(r[0], str) and "zero base" in r[0]]
    assert notes == ["A % change from a zero base is undefined and is left blank."]
    # crime: rise red / fall green; activity (arrests): the reverse, on the same columns
    ws = openpyxl.load_workbook(path)["CompStat"]
    letter = openpyxl.utils.get_column_letter(i + 1)
    fills = {}
    for cf in ws.conditional_formatting:
        if str(cf.sqref).startswith(letter):
            for rule in cf.rules:
                fills.setdefault(str(cf.sqref), {})[rule.operator] = rule.dxf.fill.fgColor.rgb[-6:]
    assert len(fills) == 8  # four sections (outcomes, Part I, activity, accountability) for two areas
    kinds = sorted(tuple(sorted(v.items())) for v in fills.values())
    crime = (("greaterThan", "FFC7CE"), ("lessThan", "C6EFCE"))
    activity = (("greaterThan", "C6EFCE"), ("lessThan", "FFC7CE"))
    assert kinds.count(crime) == 6 and kinds.count(activity) == 2


def test_figures_agree_with_calamine(tiny):
    _, path = tiny
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("CompStat").to_python()
    cols = next(r for r in sheet if r[0] == "Measure")
    start = next(i for i, r in enumerate(sheet) if r[0] == "CompStat — Part I offenses — Citywide")
    rob = next(r for r in sheet[start:] if r[0] == "Robbery")
    assert rob[cols.index("YTD")] == 17.0 and rob[cols.index("YTD % chg")] == 1.13


def test_text_from_sources_stays_text(tmp_path):
    from test_workbook_demo import schema_problems

    ws = tiny_city()
    nasty = '=HYPERLINK("http://evil.example","x")'
    ws.areas[3].name = nasty  # the target area, named by an imported boundary file
    path = export_workbook(ws, tmp_path / "x.xlsx", as_of="2019-09-29")
    assert schema_problems(path) == []
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/"):
                xml = z.read(n).decode()
                assert "<f>" not in xml and "<f " not in xml, n
    assert audit_workbook(path) == []
    wb = openpyxl.load_workbook(path)
    texts = [c.value for s in wb.worksheets for r in s.iter_rows() for c in r if isinstance(c.value, str)]
    assert nasty in texts  # the area name, intact
    assert "=cmd|'/C calc'!A0.csv" in texts  # the source file name on the Notes sheet
    for s in wb.worksheets:
        for r in s.iter_rows():
            for c in r:
                if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")):
                    assert c.data_type == "s" and c.quotePrefix, (s.title, c.coordinate)


def test_scenario_replaces_its_base_area(tmp_path):
    ws = tiny_city()
    path = export_workbook(ws, tmp_path / "s.xlsx", as_of="2019-09-29", scenario="Corridor wide")
    rows = rows_of(path, "Summary")
    areas = section(rows, "Areas in this workbook")
    assert [r[0] for r in areas[1:3]] == ["Citywide", "Scenario: Corridor wide"]
    assert "Corridor" not in [r[0] for r in areas]
    notes = rows_of(path, "Notes")
    scen = section(notes, "What-if scenario")
    assert scen[1][:3] == ["Corridor wide", "two blocks wider", "Corridor"]
    assert scen[1][3] == round(geo.area_sq_miles(CORRIDOR_WIDE), 2)
    assert scen[1][4] == round(geo.area_sq_miles(CORRIDOR), 2)
    # the scenario's figures: the three burglaries in the strip it adds (outside the official corridor)
    grid = rows_of(path, "CompStat")
    cols = header(grid, "Measure")
    bur = row(section(grid, "CompStat — Part I offenses — Scenario: Corridor wide"), "Burglary")
    assert bur[cols.index("YTD")] == 3
    assert any("Scenario: Corridor wide" in (v or "") for r in rows_of(path, "Target Areas") for v in r[:1] + r[1:2])


def test_area_keys_and_names(tmp_path):
    ws = tiny_city()
    path = export_workbook(ws, tmp_path / "d.xlsx", as_of="2019-09-29", area_keys=["district:2"])
    grid = rows_of(path, "CompStat")
    cols = header(grid, "Measure")
    agg = row(section(grid, "CompStat — Part I offenses — District 2"), "Aggravated assault")
    assert (agg[cols.index("YTD")], agg[cols.index("YTD prior")]) == (39, 40)
    with pytest.raises(UserError, match="no district named '9'"):
        export_workbook(ws, tmp_path / "e.xlsx", area_keys=["district:9"])
    with pytest.raises(UserError, match="no scenario named 'nope'"):
        export_workbook(ws, tmp_path / "e.xlsx", scenario="nope")
    with pytest.raises(UserError, match="not a date"):
        export_workbook(ws, tmp_path / "e.xlsx", as_of="2019-02-30")
    assert not (tmp_path / "e.xlsx").exists()


def test_notes_sheet_sources_boundaries_definitions(tiny):
    _, path = tiny
    rows = rows_of(path, "Notes")
    src = section(rows, "Sources")
    assert src[1][:4] == ["offenses", "=cmd|'/C calc'!A0.csv", "2019-09-30 08:57", "2019-09-30"]
    assert src[2][:7] == ["shootings", "shootings.xlsx", "2019-09-30 08:57", "2019-08-02", 6, 5, 1]  # to the minute
    texts = [r[0] for r in rows if isinstance(r[0], str)]
    assert any(t.startswith("Corridor: version 1 was replaced on 2018-03-01 (extended east)") and
               "not comparable" in t and "version 2" in t for t in texts)
    bnd = section(rows, "Boundaries")
    corridor = row(bnd, "Corridor")
    assert corridor[1:4] == ["corridor.geojson", "target area", 2]
    defs = section(rows, "Measure definitions")
    assert row(defs, "Homicides")[1].startswith("Homicides: records in offenses with category homicide.")
    assert any("rounded half away from zero" in (r[1] or "") for r in section(rows, "Counting and number rules"))
    by_sheet = section(rows, "Notes to the tables, by sheet")
    assert {r[0] for r in by_sheet[1:]} >= {"CompStat", "Districts", "Target Areas", "Rates & Clearance"}


def test_trends_are_native_line_charts_over_the_sheet_data(tiny):
    _, path = tiny
    wb = openpyxl.load_workbook(path)
    trends = wb["Trends"]
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 8  # four measures for two areas
        for n in charts:
            xml = z.read(n).decode()
            assert "<lineChart>" in xml
            assert "<val><numRef><f>'Trends'!$" in xml  # series read cells of the Trends sheet, not pictures
            assert "<cat><strRef><f>'Trends'!$A$" in xml  # month labels as text categories
            assert '<delete val="1"' not in xml  # axes shown in Excel
        media = [n for n in z.namelist() if n.startswith("xl/media/")]
    # the charts are not pictures: the only pictures in the book are maps
    assert not trends._images
    # every picture in the file is a map placed on a sheet (none on Trends: its charts are native)
    assert len(media) == sum(len(s._images) for s in wb.worksheets) > 0
    rows = [[c.value for c in r] for r in trends.iter_rows()]
    start = next(i for i, r in enumerate(rows) if r[0] == "Monthly counts — Citywide")
    head = next(i for i in range(start, len(rows)) if rows[i][0] == "Month")
    block = section(rows[head:], "Month")[:9]
    months = [r[0] for r in block]
    assert months[0] == "Jan 2019" and months[-1] == "Sep 2019 (1–29)"
    assert section(rows[head:], "Month")[9][0].startswith("Months of the as-of year")
    # September to date: homicides 09-01, 09-02, 09-22, 09-23, 09-29 = 5; a year earlier 09-01..29: 09-23 = 1
    assert block[-1][1:3] == [5, 1]


def test_progress_and_cancel_leave_the_previous_file(tmp_path):
    ws = tiny_city()
    out = tmp_path / "c.xlsx"
    seen = []
    export_workbook(ws, out, as_of="2019-09-29", progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    before = out.read_bytes()
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(ExportCancelled):
        export_workbook(ws, out, as_of="2019-09-29", should_stop=stop)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.xlsx"]  # no temporary file left behind


def test_catalog_error_is_a_clear_message_and_writes_nothing(tmp_path):
    ws = tiny_city()
    ws.meta["measure_catalog"] = {"measures": [
        {"id": "homicides", "label": "Homicides", "dataset": "offences", "direction": "crime"}]}
    with pytest.raises(UserError, match=r"measure 'homicides': field 'dataset' must be one of .*'offences'"):
        export_workbook(ws, tmp_path / "x.xlsx", as_of="2019-09-29")
    assert list(tmp_path.iterdir()) == []


def test_history_years_setting(tmp_path):
    ws = tiny_city()
    path = export_workbook(ws, tmp_path / "h.xlsx", as_of="2019-09-29", history_years=(2017, 2017, 2018))
    rows = rows_of(path, "Part I History")
    t = section(rows, "Impacts—Part I Crime in Citywide (2017–2018)")
    assert t[0][:5] == ["Crime", "2017", "2017 - 2017 Average", "2018", "Average - 2018 % Change"]
    # the tiny city's records begin on July 7, 2017: 2017 is not covered, so it is blank, not 0 (nor the 5 thefts of
    # its last months), and with no covered baseline year the average and the % change are blank too
    assert row(t, "Robbery")[1:5] == [None, None, 8, None]
    assert row(t, "Theft")[1:5] == [None, None, 0, None]
    path = export_workbook(ws, tmp_path / "h1.xlsx", as_of="2019-09-29", history_years=(2018, 2018, 2019))
    t = section(rows_of(path, "Part I History"), "Impacts—Part I Crime in Citywide (2018–2019)")
    o = ws.frames["offenses"]
    robberies = {y: int(((o["category"] == "robbery") & (o["occurred"].dt.year == y)).sum()) for y in (2018, 2019)}
    assert (robberies[2018], robberies[2019]) == (8, 17)
    assert row(t, "Robbery")[1:5] == [8, 8, 17, 1.13]  # (17 - 8) / 8 = 112.5% -> 113%, half away from zero
    ws.meta["part1_history"] = {"baseline": [2015, 2018], "current": 2018}
    with pytest.raises(UserError, match="part1_history.*must end before the current year"):
        export_workbook(ws, tmp_path / "h2.xlsx", as_of="2019-09-29")


def test_unwritable_target(tmp_path):
    ws = tiny_city()
    with pytest.raises(UserError, match="does not exist"):
        export_workbook(ws, tmp_path / "missing" / "x.xlsx", as_of="2019-09-29")
    with pytest.raises(UserError, match="must end in .xlsx"):
        export_workbook(ws, tmp_path / "x.xls", as_of="2019-09-29")
    (tmp_path / "dir.xlsx").mkdir()
    with pytest.raises(UserError, match="Cannot write"):
        export_workbook(ws, tmp_path / "dir.xlsx", as_of="2019-09-29")


# ---- the command line -------------------------------------------------------------------------------------------
@pytest.fixture()
def saved_city(tmp_path):
    ws = tiny_city()
    return ws.save(tmp_path / "tiny.psw")


def run_cli(argv, capsys):
    from workstation.cli import main

    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_export(saved_city, tmp_path, capsys):
    out = tmp_path / "cs.xlsx"
    rc, stdout, err = run_cli(["export", "--workspace", str(saved_city), "--as-of", "2019-09-29", "--area",
                               "citywide", "--area", "Corridor", "--area", "2", "--out", str(out)], capsys)
    assert rc == 0, err
    assert f"Wrote {out}" in stdout
    summary = rows_of(out, "Summary")
    assert [r[0] for r in section(summary, "Areas in this workbook")[1:4]] == ["Citywide", "Corridor", "District 2"]
    rc, _, _ = run_cli(["export", "--workspace", str(saved_city), "--scenario", "Corridor wide", "--out",
                        str(tmp_path / "sc.xlsx")], capsys)
    assert rc == 0
    names = [r[0] for r in section(rows_of(tmp_path / "sc.xlsx", "Summary"), "Areas in this workbook")[1:3]]
    assert names == ["Citywide", "Scenario: Corridor wide"]


@pytest.mark.parametrize("extra,message", [
    (["--as-of", "29/09/2019"], "--as-of '29/09/2019' is not a date: write it as YYYY-MM-DD"),
    (["--as-of", "2019-02-29"], "--as-of '2019-02-29' is not a date"),
    (["--area", "Nowhere"], "no area named 'Nowhere'. Choose one of: Citywide, 1, 2, Corridor, Corridor wide"),
    (["--scenario", "Wider"], "--scenario 'Wider': the workspace has no scenario of that name (scenarios: "
                              "Corridor wide)"),
])
def test_cli_errors(saved_city, tmp_path, capsys, extra, message):
    rc, _, err = run_cli(["export", "--workspace", str(saved_city), "--out", str(tmp_path / "x.xlsx")] + extra,
                         capsys)
    assert rc == 2
    assert message in err
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_unwritable_path(saved_city, tmp_path, capsys):
    rc, _, err = run_cli(["export", "--workspace", str(saved_city), "--out", str(tmp_path / "no" / "x.xlsx")],
                         capsys)
    assert rc == 2 and "the folder" in err and "does not exist" in err


def test_cli_ambiguous_name(saved_city, tmp_path, capsys):
    from workstation.core.workspace import Area, Workspace

    ws = Workspace.open(saved_city)
    ws.put_area(Area("2", "target_area", CORRIDOR))  # a target area named like district 2
    ws.save(saved_city)
    rc, _, err = run_cli(["export", "--workspace", str(saved_city), "--area", "2", "--out",
                          str(tmp_path / "x.xlsx")], capsys)
    assert rc == 2 and "could mean target_area:2 or district:2" in err


def test_workbook_path_is_returned_as_given(tmp_path):
    p = export_workbook(tiny_city(), str(tmp_path / "r.xlsx"), as_of="2019-09-29")
    assert isinstance(p, Path) and p == tmp_path / "r.xlsx"


@pytest.mark.parametrize("as_of,expected", [
    # Monday: the week to date is that one day; a year earlier the same month-day (a Sunday in 2018)
    ("2019-09-23", {"WTD": 1, "WTD prior": 1, "28d": 4, "28d prior": 1, "YTD": 5, "YTD prior": 1}),
    # Sunday 2019-09-22: the week Mon 09-16..Sun 09-22 holds 09-22 only
    ("2019-09-22", {"WTD": 1, "WTD prior": 0, "28d": 3, "28d prior": 0, "YTD": 4, "YTD prior": 0}),
])
def test_compstat_week_edges(tmp_path, as_of, expected):
    path = export_workbook(tiny_city(), tmp_path / "w.xlsx", as_of=as_of)
    rows = rows_of(path, "CompStat")
    cols = header(rows, "Measure")
    h = row(section(rows, "CompStat — Outcomes — Citywide"), "Homicides")
    assert {c: h[cols.index(c)] for c in expected} == expected


def test_february_29_folds_into_february_28(tmp_path):
    import pandas as pd

    ws = tiny_city()
    off = ws.frames["offenses"]
    extra = off.iloc[:3].copy()
    extra["record_id"] = ["f1", "f2", "f3"]
    extra["incident_id"] = ["F1", "F2", "F3"]
    extra["category"] = "robbery"
    extra["occurred"] = pd.to_datetime(["2020-02-29 10:00", "2019-02-28 10:00", "2019-03-01 10:00"])
    ws.set_frame("offenses", pd.concat([off, extra], ignore_index=True))
    path = export_workbook(ws, tmp_path / "leap.xlsx", as_of="2020-02-29")
    rows = rows_of(path, "CompStat")
    cols = header(rows, "Measure")
    band = [v for v in rows[rows.index(cols) - 1] if v]
    # Saturday 2020-02-29: week Mon 02-24..02-29; a year earlier 2019-02-24..02-28 (Feb 29 folds into Feb 28)
    assert band[0] == "Week to date: Feb 24–Feb 29, 2020 vs Feb 24–Feb 28, 2019"
    assert band[2] == "Year to date: Jan 01–Feb 29, 2020 vs Jan 01–Feb 28, 2019"
    rob = row(section(rows, "CompStat — Part I offenses — Citywide"), "Robbery")
    got = {c: rob[cols.index(c)] for c in ("WTD", "WTD prior", "YTD", "YTD prior")}
    # a year earlier: 2019-02-28 counts; the robberies of 2019-03-01 fall after the folded Feb 28
    assert got == {"WTD": 1, "WTD prior": 1, "YTD": 1, "YTD prior": 1}


def test_early_year_small_counts_are_flagged(tmp_path):
    path = export_workbook(tiny_city(), tmp_path / "jan.xlsx", as_of="2019-01-20")
    rows = rows_of(path, "CompStat")
    cols = header(rows, "Measure")
    h = row(section(rows, "CompStat — Outcomes — Citywide"), "Homicides")
    assert (h[cols.index("YTD")], h[cols.index("YTD prior")]) == (1, 0)
    assert "YTD: small counts early in the year" in h[cols.index("Flag")]

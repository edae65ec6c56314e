"""The generic writer (ReportTable -> formatted sheet), on hand-built tables: values, formats, safe text, colours,
frozen header, print setup, and the faults Excel would repair."""
from __future__ import annotations

import zipfile

import openpyxl
import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from workstation.exports import excel_style as st
from workstation.exports.checks import audit_workbook
from workstation.exports.sheet_writer import ZERO_BASE_NOTE, SheetWriter, safe_sheet_title
from workstation.reports.table import ReportTable

NASTY = ['=HYPERLINK("http://evil.example/x","click")', "+1", "-2", "@SUM(A1:A2)", "=1+1", "-", "=",
         "tab\tand\x01control\x1fchars", "   leading spaces"]


def _table(**kw) -> ReportTable:
    base = dict(
        title="Homicides PSP Areas",
        columns=["Present District", "2018 (YTD)", "2019 (YTD)", "2018-19 (YTD % Change)"],
        column_kinds=["label", "count", "count", "pct_change"],
        rows=[["3", 4, 5, 0.25], ["5", 5, 2, -0.6], ["7", 2, 2, 0.0], ["9", 0, 0, None], ["Total", 11, 9, -2 / 11]],
        row_kinds=["data", "data", "data", "data", "total"],
        header_groups=[("Center Street Corridor", 1, 3)],
        notes=["Homicide data as of 2019-09-30."],
    )
    base.update(kw)
    return ReportTable(**base)


def _save(tmp_path, *tables, name="Sheet", shared=False, heading=True):
    wb = Workbook()
    wb.remove(wb.active)
    sw = SheetWriter.new(wb, name, footer_text="As of 2019-09-29")
    if heading:
        sw.heading(name, ["Area: Center Street Corridor", "As of 2019-09-29"])
    placements = sw.tables(list(tables)) if shared else [sw.table(t) for t in tables]
    sw.finish()
    out = tmp_path / "t.xlsx"
    wb.save(out)
    return out, placements


def _values(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_counts_pct_and_zero_base_read_back(tmp_path):
    path, (p,) = _save(tmp_path, _table())
    ws = openpyxl.load_workbook(path)["Sheet"]
    rows = [[ws.cell(row=r, column=c).value for c in range(1, 5)] for r in range(p.first_row, p.last_row + 1)]
    assert rows == [["3", 4, 5, 0.25], ["5", 5, 2, -0.6], ["7", 2, 2, 0], ["9", 0, 0, None], ["Total", 11, 9, -0.18]]
    assert ws.cell(row=p.first_row, column=2).number_format == "#,##0"
    assert all(type(ws.cell(row=r, column=2).value) is int for r in range(p.first_row, p.last_row + 1))  # <v>4</v>
    assert ws.cell(row=p.first_row, column=4).number_format == "0%"
    # the zero base: a blank cell and the note under the table, once
    notes = [ws.cell(row=r, column=1).value for r in range(p.last_row + 1, p.last_row + 4)]
    assert notes[:2] == ["Homicide data as of 2019-09-30.", ZERO_BASE_NOTE]
    # totals are bold
    assert ws.cell(row=p.last_row, column=2).font.b and not ws.cell(row=p.first_row, column=2).font.b
    # calamine (the other reader) sees the same numbers
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sheet").to_python()
    assert sheet[p.last_row - 1][:4] == ["Total", 11.0, 9.0, -0.18]
    assert sheet[p.first_row + 2][3] == ""  # the zero-base row's % change: blank


@pytest.mark.parametrize("c,p,shown", [
    (17, 8, 1.13),     # 112.5% -> 113% (Python's round gives 112)
    (39, 40, -0.03),   # -2.5% -> -3%
    (6, 1, 5.0),       # 500%
    (447, 448.6, 0.0),  # -0.36% -> 0%, never "-0%"
    (1, 7, -0.86),
    (10, 17, -0.41),
    (46, 54, -0.15),
])
def test_pct_change_stored_as_shown_half_away_from_zero(tmp_path, c, p, shown):
    t = _table(rows=[["x", c, p, (c - p) / p]], row_kinds=None, header_groups=[], notes=[])
    path, (pl,) = _save(tmp_path, t)
    v = openpyxl.load_workbook(path)["Sheet"].cell(row=pl.first_row, column=4).value
    assert v == shown
    assert str(v) != "-0.0"


def test_decimal_rate_pct_z_date_kinds(tmp_path):
    import datetime as dt

    import pandas as pd

    t = ReportTable("Kinds", ["Area", "Average", "Rate per 100,000", "Share", "z", "Date", "Note"],
                    ["label", "decimal1", "rate", "pct", "z", "date", "text"],
                    [["Milwaukee", 119 / 9, 2419 / 594833 * 1e5, 0.10449, 2 * (3 ** .5 - 5 ** .5),
                      pd.Timestamp("2019-09-29"), "ok"],
                     ["Nowhere", float("nan"), float("inf"), None, None, pd.NaT, None]])
    path, (pl,) = _save(tmp_path, t)
    ws = openpyxl.load_workbook(path)["Sheet"]
    r = pl.first_row
    assert [ws.cell(row=r, column=c).value for c in range(1, 6)] == ["Milwaukee", 13.2, 406.67, 0.104, -1.0]
    assert ws.cell(row=r, column=6).value == dt.datetime(2019, 9, 29)
    assert [ws.cell(row=r, column=c).number_format for c in range(2, 7)] == \
        ["#,##0.0", "#,##0.00", "0.0%", "+0.0;-0.0;0.0", "yyyy-mm-dd"]
    # NaN / inf / NaT never reach the file: blank cells
    assert [ws.cell(row=r + 1, column=c).value for c in range(2, 8)] == [None] * 6
    assert audit_workbook(path) == []


def test_text_from_input_files_is_never_a_formula(tmp_path):
    t = ReportTable("Shoot review", ["Address", "Victims", "Remark"], ["text", "count", "text"],
                    [[s, 1, s] for s in NASTY], notes=["=cmd|' /C calc'!A0"], header_groups=[("=SUM(1)", 0, 2)])
    t.columns[2] = "=HYPERLINK(\"x\")"  # a header built from an input value
    path, (pl,) = _save(tmp_path, t, name="=Remarks")
    # no formula anywhere in the package
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(n) and b"<f " not in z.read(n)
    assert audit_workbook(path) == []
    wb = openpyxl.load_workbook(path)
    ws = wb["=Remarks"]
    got = [ws.cell(row=r, column=1).value for r in range(pl.first_row, pl.last_row + 1)]
    expected = [s.replace("\x01", "").replace("\x1f", "") for s in NASTY]
    assert got == expected
    for r in range(pl.first_row, pl.last_row + 1):
        c = ws.cell(row=r, column=1)
        assert c.data_type == "s"
        assert c.quotePrefix == c.value.startswith(("=", "+", "-", "@"))
    assert ws.cell(row=pl.header_row, column=3).value == '=HYPERLINK("x")'
    assert ws.cell(row=pl.last_row + 1, column=1).value == "=cmd|' /C calc'!A0"
    # calamine reads the same text (it would show a formula's cached value, which is empty, instead)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("=Remarks").to_python()
    assert [row[0] for row in sheet[pl.first_row - 1: pl.last_row]] == expected


def test_very_long_text_is_cut_to_excel_cell_limit(tmp_path):
    t = ReportTable("Long", ["Note"], ["text"], [["x" * 40_000]])
    path, (pl,) = _save(tmp_path, t)
    v = openpyxl.load_workbook(path)["Sheet"].cell(row=pl.first_row, column=1).value
    assert len(v) == st.MAX_CELL_CHARS and v.endswith("…")


def _rules(ws):
    out = {}
    for rng in ws.conditional_formatting:
        ref = str(rng.sqref)
        ref = ref if ":" in ref else f"{ref}:{ref}"
        for rule in rng.rules:
            out.setdefault(ref, []).append((rule.operator, rule.formula[0], rule.dxf.fill.fgColor.rgb))
    return out


def test_change_colours_are_direction_aware(tmp_path):
    crime = _table(title="Crime")
    diff = ReportTable("Activity", ["Activity", "2018", "2019", "Difference", "% Change"],
                       ["label", "count", "count", "count", "pct_change"],
                       [["Gun recoveries", 234, 260, 26, 26 / 234]], direction="activity")
    path, (pc, pa) = _save(tmp_path, crime, diff)
    rules = _rules(openpyxl.load_workbook(path)["Sheet"])
    red, green = "00" + "FFC7CE", "00" + "C6EFCE"
    crime_rng = f"D{pc.first_row}:D{pc.last_row}"
    assert sorted(rules[crime_rng]) == [("greaterThan", "0", red), ("lessThan", "0", green)]
    for col in "DE":  # the difference column and the % change column of the activity table
        rng = f"{col}{pa.first_row}:{col}{pa.last_row}"
        assert sorted(rules[rng]) == [("greaterThan", "0", green), ("lessThan", "0", red)]
    # count columns that are not differences are not coloured
    assert not any(k.startswith(("B", "C")) for k in rules)
    assert audit_workbook(path) == []


def test_z_column_coloured_only_when_flagged(tmp_path):
    """The z column carries no threshold rule: only the cells the report flagged (exact test) are coloured, bold
    when significant; a † mark is part of the number format, the cell keeps its number."""
    t = ReportTable("Grid", ["Measure", "28d", "z"], ["label", "count", "z"],
                    [["Robbery", 12, 2.5], ["Theft", 40, -3.4], ["Arson", 3, 2.4]],
                    cell_flags={(0, 2): "notable", (1, 2): "significant"}, cell_marks={(2, 1): "†"})
    path, (p,) = _save(tmp_path, t)
    ws = openpyxl.load_workbook(path)["Sheet"]
    assert f"C{p.first_row}:C{p.last_row}" not in _rules(ws)
    rob, theft, arson = (ws.cell(row=p.first_row + i, column=3) for i in range(3))
    assert rob.fill.fgColor.rgb == "00FFC7CE" and not rob.font.b  # a rise in crime: red
    assert theft.fill.fgColor.rgb == "00C6EFCE" and theft.font.b  # a significant fall: green, bold
    assert arson.fill.fill_type is None  # z 2.4 but not flagged: plain
    mark = ws.cell(row=p.first_row + 2, column=2)
    assert mark.value == 3 and mark.number_format == '#,##0"†"'


def test_frozen_header_print_setup_widths_fonts(tmp_path):
    path, (p,) = _save(tmp_path, _table())
    ws = openpyxl.load_workbook(path)["Sheet"]
    assert ws.freeze_panes == f"B{p.header_row + 1}"
    assert ws.print_title_rows == f"${p.header_row - 1}:${p.header_row}"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert "Page &P of &N" in ws.oddFooter.center.text
    # widths fit: the label column holds "Present District" on at most two lines; every column is set
    for col in "ABCD":
        assert ws.column_dimensions[col].width >= 5
    assert ws.column_dimensions["A"].width >= len("District") + 1
    # every cell that carries a style names its font (LibreOffice substitutes a serif face otherwise)
    for row in ws.iter_rows():
        for c in row:
            if c.has_style:
                assert c.font.name == "Calibri", c.coordinate
    assert audit_workbook(path) == []


def test_tables_sharing_columns_share_one_frozen_header(tmp_path):
    a = _table(title="Center Street Corridor")
    b = _table(title="Capitol Drive East", rows=[["5", 7, 1, -6 / 7]], row_kinds=None)
    path, (pa, pb) = _save(tmp_path, a, b, shared=True)
    ws = openpyxl.load_workbook(path)["Sheet"]
    assert pa.header_row == pb.header_row
    assert ws.freeze_panes == f"B{pa.header_row + 1}"
    assert ws.cell(row=pb.title_row, column=1).value == "Capitol Drive East"
    assert ws.cell(row=pb.first_row, column=4).value == -0.86
    # header written once
    headers = [r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=2).value == "2018 (YTD)"]
    assert headers == [pa.header_row]
    assert audit_workbook(path) == []


def test_tables_of_different_shapes_freeze_the_heading(tmp_path):
    other = ReportTable("Other", ["A", "B"], ["label", "count"], [["x", 1]])
    path, _ = _save(tmp_path, _table(), other, shared=True)
    ws = openpyxl.load_workbook(path)["Sheet"]
    assert ws.freeze_panes == "A4"  # below the title and its two subtitle lines
    assert ws.print_title_rows == "$1:$3"


def test_header_groups_merge_without_overlap(tmp_path):
    t = _table(columns=["District", "a", "b", "c", "d", "e", "f"],
               column_kinds=["label", "count", "count", "pct_change", "count", "count", "pct_change"],
               rows=[["3", 4, 5, 0.25, 0, 0, None]], row_kinds=None,
               header_groups=[("Center Street Corridor", 1, 3), ("Capitol Drive East", 4, 6),
                              ("overlapping band", 2, 5), ("out of range", 5, 9)])
    path, (p,) = _save(tmp_path, t)
    ws = openpyxl.load_workbook(path)["Sheet"]
    band = p.header_row - 1
    assert f"B{band}:D{band}" in {str(m) for m in ws.merged_cells.ranges}
    assert f"E{band}:G{band}" in {str(m) for m in ws.merged_cells.ranges}
    assert ws.cell(row=band, column=5).value == "Capitol Drive East"
    assert audit_workbook(path) == []


def test_sheet_names_are_made_safe():
    assert safe_sheet_title("Rates & Clearance") == "Rates & Clearance"
    assert safe_sheet_title("a/b:c*d?[e]") == "a-b-c-d--e-"
    long = safe_sheet_title("Target Areas — Center Street Corridor (scenario 2)")
    assert len(long) == 31
    assert safe_sheet_title("Notes", {"notes"}) == "Notes (2)"
    assert len(safe_sheet_title("x" * 40, {"x" * 31})) == 31


def test_audit_finds_what_excel_would_repair(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    ws.merge_cells("A1:C1")
    ws.merge_cells("B1:D2")
    ws["A5"] = "=SUM(A1:A2)"
    from openpyxl.formatting.rule import CellIsRule

    ws.conditional_formatting.add("A1:A3", CellIsRule(operator="greaterThan", formula=["SUM(("]))
    p = tmp_path / "bad.xlsx"
    wb.save(p)
    problems = audit_workbook(p)
    assert any("overlap" in x for x in problems)
    assert any("A5 holds a formula" in x for x in problems)
    assert any("broken formula" in x for x in problems)

"""Input text never becomes a formula in any export: the CompStat workbook, the CSV of rejected rows (and any records
list saved as CSV). Text that looks like a formula comes from the analysts' files: district and area names, agency
names, source file names, the city name, scenario names and notes, addresses and ids.
"""
import copy
import re
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from workstation.exports.csv_file import neutralise, safe_text, write_csv
from workstation.core.workspace import Area

HOSTILE = ["=1+1", "=cmd|' /C calc'!A0", "+SUM(A1:A9)", "-2+3", "@SUM(1)", "=HYPERLINK(\"http://x.test\",\"click\")",
           "\t=1+2", "\r=3"]
LEADS = ("=", "+", "-", "@", "\t", "\r")
# as the importer keeps them: blanks around a cell trimmed; a lone CR inside quotes read as a line break
EXPECTED_ADDRESSES = ["=1+1", "=cmd|' /C calc'!A0", "+SUM(A1:A9)", "-2+3", "@SUM(1)",
                      "=HYPERLINK(\"http://x.test\",\"click\")", "\t=1+2", "\n=3"]


@pytest.fixture(scope="module")
def hostile_ws():
    """The demo with formula-like text in every place the workbook shows text that came from input."""
    from workstation.demo.records import build_demo

    ws = build_demo()
    ws.meta["city"] = "=HYPERLINK(\"http://x.test\",\"Lakeport\")"
    d7 = "=7+cmd|' /C calc'!A0"
    for kind in ("offenses", "shootings", "calls", "activity"):
        f = ws.frames[kind].copy()
        f["district"] = f["district"].cat.rename_categories({"7": d7})
        ws.frames[kind] = f
    act = ws.frames["activity"].copy()
    first_agency = act["agency"].cat.categories[0]
    act["agency"] = act["agency"].cat.rename_categories({first_agency: "@agency+1"})
    ws.frames["activity"] = act
    areas = []
    for a in ws.areas:
        a = copy.copy(a)
        if a.kind == "district" and a.name == "7":
            a.name = d7
        if a.kind == "target_area" and a.name == "Capitol Drive East":
            a.name = "-Capitol+Drive"
            a.source = "=source()"
        areas.append(a)
    corridor = next(a for a in areas if a.name == "Center Street Corridor")
    areas.append(Area("+What if", "scenario", corridor.geometry, base=corridor.name, notes="=notes()",
                      source="@editor"))
    ws.areas = areas
    ws.import_log = [dict(e, file_name=f"=file{i}.csv", profile="+profile") for i, e in enumerate(ws.import_log)]
    return ws


def _sheet_xml(path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


def test_no_formula_in_the_workbook(hostile_ws, tmp_path):
    from workstation.exports.workbook import export_workbook

    out = export_workbook(hostile_ws, tmp_path / "hostile.xlsx", scenario="+What if")
    # no cell of any sheet holds a formula (<f> elements); conditional-format rules are ours, not cells
    for name, xml in _sheet_xml(out).items():
        assert not re.search(r"<f[ >]", xml), f"{name} has a formula cell"
    wb = load_workbook(out)
    seen = set()
    for sh in wb.worksheets:
        for row in sh.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith(LEADS):
                    assert c.data_type == "s", (sh.title, c.coordinate, c.value)
                    assert c.quotePrefix, (sh.title, c.coordinate, c.value)  # stays text when retyped in Excel
                    seen.add(c.value)
    # the hostile text really is in the workbook (otherwise this test proves nothing)
    joined = " | ".join(seen)
    for fragment in ("=7+cmd", "-Capitol+Drive", "+What if", "=file", "@agency+1", "=HYPERLINK"):
        assert fragment in joined, f"{fragment!r} did not reach the workbook: {sorted(seen)[:20]}"


def test_rejected_rows_csv_keeps_input_text_as_text(tmp_path):
    from workstation.ingest import import_files
    from workstation.core.workspace import Workspace

    src = tmp_path / "hostile.csv"
    rows = ["incident_number,offense_date,nibrs_code,district,address,lat,lon",
            "A1,2020-01-02,13A,3,1 Main St,43.05,-87.95"]
    rows += [f"B{i},not a date,13A,=cmd|' /C calc'!A0,\"{h.replace(chr(34), chr(34) * 2)}\",43.0,-87.9"
             for i, h in enumerate(HOSTILE)]
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ws = Workspace()
    r = import_files(ws, "offenses", [src])
    assert (r.accepted, r.rejected) == (1, len(HOSTILE))
    out = write_csv(r.rejects, tmp_path / "rejected_rows.csv")
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(back) == len(HOSTILE)
    for col in back.columns:
        for v in back[col]:
            assert not v.lstrip().startswith(LEADS) or re.fullmatch(r"[+-]?[\d.]+", v), (col, v)
    # the text itself survives, behind the apostrophe a spreadsheet shows as "this is text"
    assert sorted(v[1:] for v in back["address"]) == sorted(EXPECTED_ADDRESSES)
    assert set(back["district"]) == {"'=cmd|' /C calc'!A0"}
    assert set(back["lon"]) == {"-87.9"}   # a negative number is a number, not a formula


def test_records_view_saves_formula_safe_csv(qtbot, tmp_path):
    from ui.widgets.records_view import RecordsView

    df = pd.DataFrame({"reason": ["date not understood"] * 3, "address": ["=1+1", "@me", "12 Elm St"],
                       "lat": [43.01, -1.5, 43.2], "lon": ["-87.9", "+1 414 555", "-"]})
    view = RecordsView(noun="rejected rows", csv_name="rejected_rows.csv")
    qtbot.addWidget(view)
    view.set_frame(df)
    out = tmp_path / "saved.csv"
    view.write_csv(out)
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back["address"]) == ["'=1+1", "'@me", "12 Elm St"]
    assert list(back["lat"]) == ["43.01", "-1.5", "43.2"]
    assert list(back["lon"]) == ["-87.9", "'+1 414 555", "'-"]


@pytest.mark.parametrize("value, expected", [("=1+1", "'=1+1"), ("-87.95", "-87.95"), ("+1,234.5", "+1,234.5"),
                                             ("-", "'-"), ("@x", "'@x"), ("\t=1", "'\t=1"), ("plain", "plain"),
                                             ("", ""), (5, 5), (None, None), ("1e5", "1e5"), ("-1e-5", "-1e-5"),
                                             ("\n=3", "'\n=3"), (" @x", "' @x"), (" -5 ", " -5 ")])
def test_safe_text(value, expected):
    assert safe_text(value) == expected
    got = neutralise(pd.DataFrame({"c": pd.Series([value], dtype=object)}))["c"].iloc[0]
    assert got == expected or (expected is None and pd.isna(got))


def test_csv_write_is_atomic_and_errors_are_sentences(tmp_path):
    from workstation.core.errors import UserError

    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")

    class Boom(pd.DataFrame):
        def to_csv(self, *a, **k):
            raise OSError(28, "No space left on device")

    import workstation.exports.csv_file as cf

    orig = cf.neutralise
    cf.neutralise = lambda df: Boom(df)
    try:
        with pytest.raises(UserError) as e:
            write_csv(pd.DataFrame({"a": [1]}), target)
    finally:
        cf.neutralise = orig
    assert target.read_text(encoding="utf-8") == "old"               # the previous file is untouched
    assert str(e.value).startswith(f"Cannot write the CSV file {target}: No space left on device.")
    assert not list(tmp_path.glob(".out.*"))                          # no temporary file left behind
    with pytest.raises(UserError, match="does not exist"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "missing" / "x.csv")

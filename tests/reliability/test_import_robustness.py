"""Imports that real use throws at the importer: corrupt workbooks, wrong types in every column, huge cells, a
million empty lines, mixed encodings. Whatever the input: a result whose rows all end accepted or rejected, or a
UserError naming the file; and a refused file leaves the workspace exactly as it was.

(tests/core/test_ingest_fuzz.py covers random bytes, truncated workbooks and random CSV cells.)
"""
import datetime as dt
import io
import json
import random

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.core.errors import UserError
from workstation.ingest import import_files
from workstation.core.workspace import Workspace

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER = ["incident_number", "offense_date", "nibrs_code", "district", "address", "lat", "lon"]
GOOD = [["A1", "2020-01-02", "13A", "3", "1 Main St", "43.05", "-87.95"],
        ["A2", "2020-01-03", "120", "4", "2 Main St", "43.06", "-87.96"]]


def csv_text(rows, header=HEADER, end="\n") -> str:
    return end.join(",".join(r) for r in [header, *rows]) + end


def xlsx_bytes(rows, header=HEADER) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    sh = wb.active
    sh.append(header)
    for r in rows:
        sh.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def fingerprint(ws: Workspace):
    """Everything an import could change, as comparable values."""
    frames = tuple((k, len(df), tuple(df.columns), int(pd.util.hash_pandas_object(df, index=False).sum()))
                   for k, df in sorted(ws.frames.items()))
    rejects = tuple((k, len(v)) for k, v in sorted(ws.rejects.items()))
    areas = tuple((a.name, a.kind, a.geometry.wkb if a.geometry is not None else None) for a in ws.areas)
    return frames, rejects, areas, json.dumps(ws.import_log, default=str), json.dumps(ws.meta, default=str)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A workspace that already holds one import (so a refusal must leave earlier data and the log alone)."""
    p = tmp_path_factory.mktemp("base") / "base.csv"
    p.write_text(csv_text(GOOD), encoding="utf-8")
    ws = Workspace()
    import_files(ws, "offenses", [p])
    ws.dirty = False
    return ws


def fresh(loaded) -> Workspace:
    return loaded.detached()  # a copy with its own containers; the frames are never changed in place


def attempt(ws: Workspace, path, kind="offenses"):
    """Import; on refusal check the message and that nothing changed. Any other exception fails the test."""
    before = fingerprint(ws)
    log_len = len(ws.import_log)
    try:
        r = import_files(ws, kind, [path])
    except UserError as e:
        msg = str(e)
        assert msg.startswith(f"{path.name}: "), msg
        assert "Traceback" not in msg and len(msg) < 600, msg
        assert fingerprint(ws) == before
        assert not ws.dirty
        return None
    assert r.rows_read == r.accepted + r.rejected
    assert sum(r.rejected_by_reason.values()) == r.rejected
    assert r.rejects is None or len(r.rejects) == r.rejected
    entry = ws.import_log[-1]
    assert len(ws.import_log) == log_len + 1 and entry["file_name"] == path.name
    assert entry["rows_read"] == entry["accepted"] + entry["rejected"]
    return r


# ---- corrupt workbooks --------------------------------------------------------------------------------------------
XLSX = xlsx_bytes([[f"X{i}", f"2020-02-{i % 28 + 1:02d}", "13A", "2", f"{i} Elm St", "43.0", "-87.9"]
                   for i in range(40)])


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_corrupt_xlsx_is_refused_or_read_whole(tmp_path, loaded, flips):
    data = bytearray(XLSX)
    for pos, value in flips:
        data[pos] = value
    p = tmp_path / "corrupt.xlsx"
    p.write_bytes(bytes(data))
    r = attempt(fresh(loaded), p)
    if r is not None:  # a flip in a spot nobody reads (padding, a timestamp) leaves a readable workbook
        assert r.rows_read <= 40


@pytest.mark.parametrize("cut", [0, 4, 30, len(XLSX) // 3, len(XLSX) // 2, len(XLSX) - 22, len(XLSX) - 1])
def test_truncated_xlsx_is_refused_and_nothing_changes(tmp_path, loaded, cut):
    p = tmp_path / "cut.xlsx"
    p.write_bytes(XLSX[:cut])
    assert attempt(fresh(loaded), p) is None


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path, loaded):
    import zipfile

    p = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("photo.jpg", b"\xff\xd8\xff" + bytes(1000))
    assert attempt(fresh(loaded), p) is None


# ---- wrong types in every column ------------------------------------------------------------------------------------
ANY_CELL = st.one_of(
    st.none(), st.booleans(), st.integers(-2**53, 2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.times(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=40),
    st.sampled_from(["=1+1", "=HYPERLINK(\"http://x\")", "13A", "120", "2020-13-45", "#N/A", "NaN", "∞", "-0"]),
)


@FUZZ
@given(rows=st.lists(st.lists(ANY_CELL, min_size=7, max_size=7), min_size=1, max_size=20))
def test_xlsx_with_any_type_in_any_column(tmp_path, loaded, rows):
    p = tmp_path / "typed.xlsx"
    p.write_bytes(xlsx_bytes(rows))
    r = attempt(fresh(loaded), p)
    if r is not None:
        # a blank row between rows is a row (rejected with its reason); blank rows at the end are not written
        filled = [i for i, row in enumerate(rows) if any(v is not None and v != "" for v in row)]
        assert r.rows_read == (filled[-1] + 1 if filled else 0)


CSV_CELL = st.one_of(
    st.sampled_from(["", "abc", "1e999", "-", "NaN", "None", "TRUE", "0x1F", "12,5", "43.05", "-87.95", "13A",
                     "2020-02-30", "1/2/20 3:04 PM", "99999999999999999999", "=cmd|' /C calc'!A0"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"],
                                   exclude_characters=",\"\r\n"), max_size=15),
)


@FUZZ
@given(rows=st.lists(st.lists(CSV_CELL, min_size=7, max_size=7), min_size=1, max_size=25))
def test_csv_with_wrong_types_in_every_column(tmp_path, loaded, rows):
    p = tmp_path / "typed.csv"
    p.write_text(csv_text(rows), encoding="utf-8")
    r = attempt(fresh(loaded), p)
    if r is not None:
        assert r.rows_read == len(rows)  # a line of empty fields is a row too (rejected, with its reason)


# ---- huge cells ---------------------------------------------------------------------------------------------------
def test_huge_cells_in_a_workbook(tmp_path, loaded):
    big = "x" * 32_767  # Excel's limit for one cell
    rows = GOOD + [["A3", "2020-01-04", "13A", big, big, "43.0", "-87.9"], [big] * 7]
    p = tmp_path / "huge.xlsx"
    p.write_bytes(xlsx_bytes(rows))
    ws = fresh(loaded)
    r = attempt(ws, p)
    assert (r.rows_read, r.accepted, r.rejected) == (4, 3, 1)
    assert ws.frame("offenses")["address"].str.len().max() == 32_767


@pytest.mark.parametrize("size", [200_000, 3_000_000])
def test_huge_cells_in_a_csv(tmp_path, loaded, size):
    narrative = "y" * size  # an RMS narrative pasted into the address column
    rows = GOOD + [["A3", "2020-01-04", "13A", "3", narrative, "43.0", "-87.9"]]
    p = tmp_path / "huge.csv"
    p.write_text(csv_text(rows), encoding="utf-8")
    ws = fresh(loaded)
    r = attempt(ws, p)
    assert (r.rows_read, r.accepted, r.rejected) == (3, 3, 0)
    assert ws.frame("offenses")["address"].str.len().max() == size


# ---- a million empty lines ----------------------------------------------------------------------------------------
def test_a_million_empty_lines(tmp_path, loaded):
    p = tmp_path / "padded.csv"
    p.write_bytes((csv_text(GOOD) + "\n" * 1_000_000).encode())
    ws = fresh(loaded)
    r = attempt(ws, p)
    assert (r.rows_read, r.accepted, r.rejected) == (2, 2, 0)


def test_a_million_rows_of_empty_fields(tmp_path, loaded):
    p = tmp_path / "commas.csv"
    p.write_bytes((csv_text(GOOD) + ",,,,,,\n" * 1_000_000).encode())
    r = attempt(fresh(loaded), p)
    assert r.rows_read == r.accepted + r.rejected
    assert r.accepted == 2  # a line of delimiters is either no row at all or a row rejected with its reason


# ---- mixed encodings ----------------------------------------------------------------------------------------------
WORDS = ["Café", "Ñandú", "Zoë", "São Paulo", "naïve", "Straße", "O'Brien", "Main St", "déjà vu", "Ørsted"]


@FUZZ
@given(lines=st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(["utf-8", "cp1252", "latin-1"])),
                      min_size=1, max_size=30),
       bom=st.booleans(), end=st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_mixed_encodings_line_by_line(tmp_path, loaded, lines, bom, end):
    out = [",".join(HEADER).encode()]
    for i, (word, enc) in enumerate(lines):
        out.append(f"M{i},2020-03-{i % 28 + 1:02d},13A,2,{word},43.0,-87.9".encode(enc))
    data = (b"\xef\xbb\xbf" if bom else b"") + end.join(out) + end
    p = tmp_path / "mixed.csv"
    p.write_bytes(data)
    ws = fresh(loaded)
    r = attempt(ws, p)
    assert (r.rows_read, r.accepted) == (len(lines), len(lines))
    ids = set(ws.frame("offenses")["incident_id"].astype(str))
    assert {f"M{i}" for i in range(len(lines))} <= ids


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "cp1252"])
def test_whole_file_encodings(tmp_path, loaded, encoding):
    rows = [[f"E{i}", "2020-04-01", "13A", "1", WORDS[i % len(WORDS)], "43.0", "-87.9"] for i in range(9)]
    text = csv_text(rows, end="\r\n")
    data = text.encode(encoding)
    if encoding == "utf-16-le":
        data = b"\xff\xfe" + data  # Excel's "Unicode text" has a BOM
    p = tmp_path / f"enc_{encoding}.csv"
    p.write_bytes(data)
    ws = fresh(loaded)
    r = attempt(ws, p)
    assert (r.rows_read, r.accepted) == (9, 9)
    got = ws.frame("offenses").set_index("incident_id")["address"]
    assert [got[f"E{i}"] for i in range(9)] == [WORDS[i % len(WORDS)] for i in range(9)]


# ---- random bytes into every kind ---------------------------------------------------------------------------------
@FUZZ
@given(data=st.binary(min_size=1, max_size=3000), kind=st.sampled_from(["offenses", "shootings", "calls", "activity",
                                                                        "people"]),
       suffix=st.sampled_from([".csv", ".xlsx", ".xls", ".txt"]))
def test_random_bytes_for_every_kind(tmp_path, loaded, data, kind, suffix):
    p = tmp_path / f"random{suffix}"
    p.write_bytes(data)
    attempt(fresh(loaded), p, kind)


def test_random_binary_with_a_valid_header_line(tmp_path, loaded):
    rng = random.Random(7)
    body = bytes(rng.randrange(256) for _ in range(50_000))
    p = tmp_path / "header_then_noise.csv"
    p.write_bytes(",".join(HEADER).encode() + b"\n" + body)
    assert attempt(fresh(loaded), p) is None  # binary after the header: refused, not half-read


# ---- dates and numbers that overflowed pandas' nanosecond range (found by the fuzzing above) -------------------------
def test_out_of_range_dates_in_a_csv_are_rejected_rows(tmp_path, loaded):
    # 9999-12-31 is a common "no date" placeholder in RMS exports; each used to crash the whole import
    dates = ["9999-12-31", "0001-01-01", "99991231", "12/31/9999 10:00 PM", "9999-12-31T00:00:00+05:00"]
    rows = GOOD + [[f"D{i}", d, "13A", "1", "", "", ""] for i, d in enumerate(dates)]
    p = tmp_path / "placeholders.csv"
    p.write_text(csv_text(rows), encoding="utf-8")
    r = attempt(fresh(loaded), p)
    assert (r.rows_read, r.accepted, r.rejected) == (7, 2, 5)
    assert r.rejected_by_reason == {"date not understood": 5}


def test_out_of_range_dates_and_numbers_in_a_workbook(tmp_path, loaded):
    cells = [-81183, 10**12, 20200101.5, dt.datetime(9999, 12, 31), dt.date(9999, 1, 1), dt.datetime(1000, 1, 1)]
    rows = [["X0", dt.datetime(2020, 1, 2), "13A", 2**70, float(2**60), None, None]]
    rows += [[f"W{i}", c, "13A", None, None, None, None] for i, c in enumerate(cells)]
    p = tmp_path / "typed.xlsx"
    p.write_bytes(xlsx_bytes(rows))
    ws = fresh(loaded)
    r = attempt(ws, p)
    assert (r.rows_read, r.accepted, r.rejected) == (7, 1, 6)
    assert r.rejected_by_reason == {"date not understood": 6}
    rec = ws.frame("offenses").set_index("incident_id").loc["X0"]
    assert rec["district"].replace(".", "").startswith("118059162071741")  # 2**70 kept as text, not a crash

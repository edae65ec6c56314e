"""A little fuzzing: whatever the bytes, the importer answers with a result or a UserError, never a crash;
and whatever the cells, every row ends accepted or rejected."""
import csv
import datetime as dt
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.core.errors import UserError
from workstation.ingest import import_files
from workstation.core.workspace import Workspace

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _xlsx_bytes():
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["incident_number", "offense_date", "nibrs_code"])
    for i in range(30):
        ws.append([f"Z{i}", f"2020-01-{i % 28 + 1:02d}", "13A"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX = _xlsx_bytes()


def _try(path, kind="offenses"):
    ws = Workspace()
    try:
        r = import_files(ws, kind, [path])
    except UserError as e:
        assert str(e).startswith(f"{path.name}: ")
        assert not ws.import_log and len(ws.frame(kind)) == 0
        return None
    assert r.rows_read == r.accepted + r.rejected
    return r


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".txt", ".xls"]))
def test_random_bytes(tmp_path, data, suffix):
    p = tmp_path / f"random{suffix}"
    p.write_bytes(data)
    _try(p)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(XLSX) - 1))
def test_truncated_xlsx(tmp_path, cut):
    p = tmp_path / "cut.xlsx"
    p.write_bytes(XLSX[:cut])
    r = _try(p)
    assert r is None  # any truncation of a zip container loses its central directory


CELL = st.one_of(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
                 st.sampled_from(["", "13A", "23F", "120", "09A", "2020-02-30", "2020-01-01", "1/2/20 3:04", "01",
                                  "NaN", "NULL", "\"", ",", "\r", "\n"]))


@FUZZ
@given(rows=st.lists(st.tuples(CELL, CELL, CELL, CELL), min_size=1, max_size=25),
       end=st.sampled_from(["\n", "\r\n", "\r"]))
def test_random_cells_every_row_accounted_for(tmp_path, rows, end):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=end)
    w.writerow(["incident_number", "offense_date", "nibrs_code", "district"])
    w.writerows(rows)
    p = tmp_path / "cells.csv"
    p.write_text(buf.getvalue(), encoding="utf-8", newline="")
    r = _try(p)
    if r is not None:

        assert r.rows_read == len(rows) and sum(r.rejected_by_reason.values()) == r.rejected


XCELL = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**12),
                  st.floats(allow_nan=False, allow_infinity=False),
                  st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2040, 1, 1)),
                  st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=10),
                  st.sampled_from(["13A", "120", "2020-01-01", "01/02/2020 10:00 PM", "01", ""]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(XCELL, XCELL, XCELL, XCELL), min_size=1, max_size=15))
def test_random_workbook_cells_every_row_accounted_for(tmp_path, rows):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["incident_number", "offense_date", "nibrs_code", "district"])
    for r in rows:
        ws.append([("'" + v) if isinstance(v, str) and v.startswith("=") else v for v in r])
    p = tmp_path / "cells.xlsx"
    wb.save(p)
    r = _try(p)
    if r is not None:
        # rows left entirely empty at the bottom of a sheet are formatting, not rows
        trailing = 0
        for row in reversed(rows):
            if all(v is None or v == "" for v in row):
                trailing += 1
            else:
                break
        assert r.rows_read == len(rows) - trailing

"""Real-file quirks: line endings, BOMs, encodings, quoting, headerless files, mixed dates, workbooks."""
import datetime as dt

import pandas as pd
import pytest

from workstation.ingest import (Profile, category_value_counts, detect_profile, import_files, read_table)
from workstation.core.workspace import Workspace

ROWS = [
    ["incident_number", "offense_date", "nibrs_code", "district", "address", "latitude", "longitude"],
    ["G1", "2019-03-01 10:00:00", "13A", "01", '100 N MAIN ST, REAR', "43.05", "-87.95"],
    ["G2", "03/02/2019 11:15 PM", "23F", "1", 'CAFÉ "LE BAR"', "43.06", "-87.94"],
    ["G3", "3/3/19 8:00", "120", "001", "200 W OAK ST\nAPT 2", "", ""],
    ["G4", "20190304", "220", "2", "300 S ELM ST", "0", "0"],
    ["G5", "2019-03-05T06:07:08.000", "09A", "02.0", "400 E PINE ST", "43.07", "-87.93"],
    ["G6", "31/31/2019", "13A", "3", "500 N ASH ST", "43.08", "-87.92"],
]
EXPECTED_DATES = [pd.Timestamp("2019-03-01 10:00:00"), pd.Timestamp("2019-03-02 23:15:00"),
                  pd.Timestamp("2019-03-03 08:00:00"), pd.Timestamp("2019-03-04"), pd.Timestamp("2019-03-05 06:07:08")]


def _csv_text(rows, sep=",", end="\n"):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator=end).writerows(rows)
    return buf.getvalue()


def _check(ws, res):
    assert (res.rows_read, res.accepted, res.rejected) == (6, 5, 1)
    assert res.rejected_by_reason == {"date not understood": 1}
    off = ws.frame("offenses").set_index("incident_id").loc[["G1", "G2", "G3", "G4", "G5"]]
    assert off["occurred"].tolist() == EXPECTED_DATES
    assert off["district"].tolist() == ["1", "1", "1", "2", "2"]
    assert off.loc["G1", "address"] == "100 N MAIN ST, REAR"
    assert off.loc["G2", "address"] == 'CAFÉ "LE BAR"'
    assert off.loc["G3", "address"] == "200 W OAK ST\nAPT 2"
    assert off["lat"].isna().tolist() == [False, False, True, True, False]  # blank and (0, 0) are no location
    assert res.by_category == {"aggravated_assault": 1, "larceny_theft": 1, "robbery": 1, "burglary": 1,
                               "homicide": 1}


@pytest.mark.parametrize("variant", ["lf", "crlf", "cr", "bom", "cp1252", "cp1252-cr", "semicolon", "tab",
                                     "utf16"])
def test_line_endings_encodings_and_delimiters(tmp_path, variant):
    sep = {"semicolon": ";", "tab": "\t"}.get(variant, ",")
    # as Excel writes it: CRLF ends a row, a line break inside a quoted cell stays LF
    text = _csv_text(ROWS, sep, "\r\n" if variant == "crlf" else "\n")
    if variant in ("cr", "cp1252-cr"):  # old Mac exports: CR everywhere, inside quoted cells too
        text = text.replace("\n", "\r")
    enc = {"cp1252": "cp1252", "cp1252-cr": "cp1252", "utf16": "utf-16"}.get(variant, "utf-8")
    data = text.encode(enc)
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    p = tmp_path / f"export_{variant}.csv"
    p.write_bytes(data)
    assert list(read_table(p).columns) == ROWS[0]
    ws = Workspace()
    res = import_files(ws, "offenses", [p])
    assert res.profile == "NIBRS-coded offenses (generic)"
    _check(ws, res)


def test_headerless_file_uses_profile_positions(tmp_path):
    p = tmp_path / "nohead.csv"
    p.write_text("H1,13A,07/04/2019 21:30,5\nH2,240,07/05/2019 01:00,05\nH3,,07/05/2019 02:00,6\n")
    prof = Profile(name="RMS headerless", kind="offenses", header=False,
                   columns={"incident_id": 0, "category": 1, "occurred": 2, "district": 3},
                   categories={"13A": "aggravated_assault", "240": "motor_vehicle_theft"},
                   date_formats=["%m/%d/%Y %H:%M"])
    assert list(read_table(p, header=False).columns) == [0, 1, 2, 3]
    ws = Workspace()
    res = import_files(ws, "offenses", [p], profile=prof)
    assert (res.rows_read, res.accepted) == (3, 2) and res.rejected_by_reason == {"no category value": 1}
    off = ws.frame("offenses")
    assert off["district"].tolist() == ["5", "5"]
    assert off["occurred"].tolist() == [pd.Timestamp("2019-07-04 21:30"), pd.Timestamp("2019-07-05 01:00")]
    assert ws.rejects[res.load_id]["row"].tolist() == [3]


def test_utc_timestamps_converted_to_local(tmp_path):
    p = tmp_path / "utc.csv"
    p.write_text("id,when_utc,type\nU1,2019-07-01 03:00:00,13A\nU2,2019-01-15 12:00:00+00,13A\n"
                 "U3,2019-11-03T06:30:00Z,13A\n")
    prof = Profile(name="UTC source", kind="offenses", columns={"incident_id": "id", "occurred": "when_utc",
                                                                "category": "type"},
                   categories={"13A": "aggravated_assault"}, timezone={"source": "UTC", "local": "America/New_York"})
    ws = Workspace()
    import_files(ws, "offenses", [p], profile=prof)
    assert ws.frame("offenses")["occurred"].tolist() == [
        pd.Timestamp("2019-06-30 23:00"), pd.Timestamp("2019-01-15 07:00"), pd.Timestamp("2019-11-03 01:30")]
    # without the timezone setting the wall clock is kept as written
    prof.timezone = {}
    ws = Workspace()
    import_files(ws, "offenses", [p], profile=prof)
    assert ws.frame("offenses")["occurred"].tolist() == [
        pd.Timestamp("2019-07-01 03:00"), pd.Timestamp("2019-01-15 12:00"), pd.Timestamp("2019-11-03 06:30")]


def _xlsx(path, rows, title=True):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if title:
        ws.append(["Weekly RMS extract"])
        ws.append([])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_with_title_rows_date_cells_and_numeric_ids(tmp_path):
    p = _xlsx(tmp_path / "rms.xlsx", [
        ["Incident Number", "Offense Date", "NIBRS Code", "District", "Latitude", "Longitude"],
        [1001, dt.datetime(2019, 3, 1, 10, 0), "13A", 1, 43.05, -87.95],
        [1002, "03/02/2019 11:15 PM", "23F", "02", None, None],
        [1003, dt.datetime(2019, 3, 3), 120, 3.0, 43.0, -87.9],
        [1004, None, "13A", 3, 43.0, -87.9],
    ])
    df = read_table(p)
    assert list(df.columns) == ["Incident Number", "Offense Date", "NIBRS Code", "District", "Latitude", "Longitude"]
    assert df["Incident Number"].tolist() == ["1001", "1002", "1003", "1004"]
    ws = Workspace()
    res = import_files(ws, "offenses", [p])
    assert (res.rows_read, res.accepted, res.rejected_by_reason) == (4, 3, {"no date": 1})
    off = ws.frame("offenses")
    assert off["incident_id"].tolist() == ["1001", "1002", "1003"]
    assert off["occurred"].tolist() == [pd.Timestamp("2019-03-01 10:00"), pd.Timestamp("2019-03-02 23:15"),
                                        pd.Timestamp("2019-03-03")]
    assert off["category"].tolist() == ["aggravated_assault", "larceny_theft", "robbery"]
    assert off["district"].tolist() == ["1", "2", "3"]
    assert ws.rejects[res.load_id]["row"].tolist() == [7]  # title, blank, header, then data from row 4


def test_row_with_too_many_fields_is_rejected_not_lost(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("incident_number,offense_date,nibrs_code\nR1,2019-01-01,13A\nR2,2019-01-02,13A,EXTRA,MORE\n"
                 "R3,2019-01-03,120\n")
    ws = Workspace()
    res = import_files(ws, "offenses", [p])
    assert (res.rows_read, res.accepted, res.rejected) == (3, 2, 1)
    assert res.rejected_by_reason == {"row has more fields than the header": 1}
    assert "R2" in ws.rejects[res.load_id]["raw_line"].iloc[0]


def test_category_value_counts_and_profile_round_trip(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(_csv_text(ROWS))
    df = read_table(p)
    prof = detect_profile(df.columns, "offenses")
    vc = category_value_counts(df, prof).set_index("source_value")
    assert vc.loc["13A", "count"] == 2 and vc.loc["13A", "category"] == "aggravated_assault"
    assert vc.loc["09A", "category"] == "homicide" and vc["count"].sum() == 6
    saved = prof.save(tmp_path / "p.json")
    back = Profile.load(saved)
    assert back == prof


def test_shootings_victim_count_expands(tmp_path):
    p = tmp_path / "sh.csv"
    # three rows in, three records out, but not the same rows: S3 (no victims) is rejected, S1 counts three times
    p.write_text("case,date,victims,killed\nS1,2020-05-01,2,N\nS2,2020-05-02,1,Y\nS3,2020-05-03,0,N\n")
    prof = Profile(name="shootings with counts", kind="shootings",
                   columns={"incident_id": "case", "occurred": "date", "victims": "victims"},
                   flags={"fatal": {"column": "killed", "true_values": ["Y"]}})
    ws = Workspace()
    res = import_files(ws, "shootings", [p], profile=prof)
    sh = ws.frame("shootings")
    assert sh["record_id"].tolist() == ["S1", "S1:2", "S2"]
    assert sh["fatal"].tolist() == [False, False, True]
    assert sh["occurred"].dt.day.tolist() == [1, 1, 2]
    assert res.by_category == {"fatal": 1, "non_fatal": 2}
    assert res.rejected_by_reason == {"victim count is not a positive number": 1}


def test_calls_people_and_activity_generic_profiles(tmp_path):
    calls = tmp_path / "cad.csv"
    calls.write_text("event_number,call_date,call_type,priority\nC1,2020-01-01 01:00,SHOTSPOTTER ACTIVATION,1\n"
                     "C2,2020-01-01 02:00,LOUD MUSIC,3\nC3,2020-01-01 03:00,WELFARE CHECK,2\n")
    people = tmp_path / "people.csv"
    people.write_text("incident_id,person_id,role\nI1,P1,Arrestee\nI1,P2,Suspect\nI2,P1,VICTIM\n")
    act = tmp_path / "act.csv"
    act.write_text("date,agency,activity_type,count\n2020-02-01,ATF,Gun recovery,2\n2020-02-01,MPD,Search warrant,1\n"
                   "2020-02-02,FBI,Arrest,3\n2020-02-02,FBI,Arrest,3\n")
    ws = Workspace()
    assert import_files(ws, "calls", [calls]).by_category == {"shotspotter": 1, "disorder": 1, "other": 1}
    assert ws.frame("calls")["call_type"].tolist()[0] == "SHOTSPOTTER ACTIVATION"
    assert import_files(ws, "people", [people]).by_category == {"arrestee": 1, "suspect": 1, "victim": 1}
    r1 = import_files(ws, "activity", [act])
    # the last line repeats the one before cell for cell: an exact duplicate is dropped and counted (issue 9)
    assert r1.by_category == {"gun_recovery": 2, "search_warrant": 1, "arrest": 3}
    assert r1.duplicates_dropped == 1 and r1.rejected_by_reason == {"exact duplicate of an earlier row": 1}
    # no id column: a stable id from the row's values, so the same file again replaces instead of doubling
    r2 = import_files(ws, "activity", [act])
    assert (r2.added, r2.replaced) == (0, 3) and len(ws.frame("activity")) == 3
    assert ws.frame("activity")["count"].sum() == 6


def test_unknown_category_in_profile_is_refused(tmp_path):
    from workstation.core.errors import UserError

    p = tmp_path / "x.csv"
    p.write_text(_csv_text(ROWS))
    prof = detect_profile(read_table(p).columns, "offenses")
    prof.categories = {**prof.categories, "13A": "agg_assault"}
    with pytest.raises(UserError, match="unknown categories agg_assault"):
        import_files(Workspace(), "offenses", [p], profile=prof)


def test_other_source_zone_and_daylight_saving_changes(tmp_path):
    p = tmp_path / "central.csv"
    p.write_text("id,t,c\nA,2019-11-03 01:30:00,13A\nB,2019-03-10 02:30:00,13A\nC,2019-07-01 12:00:00,13A\n")
    prof = Profile(name="central", kind="offenses", columns={"incident_id": "id", "occurred": "t", "category": "c"},
                   categories={"13A": "aggravated_assault"},
                   timezone={"source": "America/Chicago", "local": "America/New_York"})
    ws = Workspace()
    res = import_files(ws, "offenses", [p], profile=prof)
    assert res.accepted == 3  # the repeated and the skipped hour are kept, never dropped
    assert ws.frame("offenses")["occurred"].tolist() == [
        pd.Timestamp("2019-11-03 02:30"),  # 01:30 taken as CST (standard time) = 02:30 EST
        pd.Timestamp("2019-03-10 04:00"),  # 02:30 does not exist in Chicago: moved to 03:00 CDT = 04:00 EDT
        pd.Timestamp("2019-07-01 13:00")]


@pytest.mark.parametrize("change,message", [
    ({"categories": ["13A"]}, "'categories' must be a JSON object"),
    ({"category_patterns": [["(unclosed", "other"]]}, "not a valid regular expression"),
    ({"timezone": {"source": "UTC", "local": "Mars/Olympus"}}, "time zone 'Mars/Olympus', which is not known"),
    ({"epsg": 999999, "columns": {"incident_id": "incident_number", "occurred": "offense_date",
                                  "category": "nibrs_code", "x": "latitude", "y": "longitude"}},
     "coordinate system '999999', which cannot be used"),
])
def test_hand_edited_profile_mistakes_are_user_errors(tmp_path, change, message):
    from workstation.core.errors import UserError

    p = tmp_path / "x.csv"
    p.write_text(_csv_text(ROWS))
    base = detect_profile(read_table(p).columns, "offenses").to_dict()
    ws = Workspace()
    with pytest.raises(UserError, match=message):
        import_files(ws, "offenses", [p], profile=Profile.from_dict({**base, **change}))
    assert not ws.import_log

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from workstation.core import schema
from workstation.core.workspace import Area, Workspace, WorkspaceError


def _offenses(n=5):
    return pd.DataFrame({
        "record_id": [f"A{i}" for i in range(n)], "incident_id": [f"A{i}" for i in range(n)],
        "occurred": pd.date_range("2019-01-01", periods=n, freq="D"),
        "category": ["robbery"] * n, "lat": np.linspace(43.0, 43.1, n), "lon": [-87.9] * n,
        "district": ["1"] * n, "load_id": 1,
    })


def test_round_trip(tmp_path):
    ws = Workspace()
    ws.meta["city"] = "Testville"
    ws.set_frame("offenses", _offenses())
    ws.put_area(Area("D1", "district", shapely.box(-88, 43, -87.8, 43.2), population=1000))
    ws.import_log.append({"load_id": 1, "file_name": "x.csv", "rows_read": 5})
    p = ws.save(tmp_path / "w.psw")
    back = Workspace.open(p)
    assert back.meta["city"] == "Testville"
    pd.testing.assert_frame_equal(back.frame("offenses"), ws.frame("offenses"))
    assert back.areas[0].name == "D1" and back.areas[0].population == 1000
    assert back.areas[0].geometry.equals(ws.areas[0].geometry)
    assert back.import_log == ws.import_log
    assert back.as_of() == pd.Timestamp("2019-01-05")


def test_conform_normalises_types():
    df = schema.conform(pd.DataFrame({"record_id": [1, 2], "incident_id": ["a", None],
                                      "occurred": ["2019-01-01", "bad"], "category": ["robbery", None],
                                      "lat": ["43.1", "x"], "lon": [-87.9, np.inf], "load_id": [1, 1]}), "offenses")
    assert list(df.columns) == schema.columns("offenses")
    assert df["record_id"].tolist() == ["1", "2"]
    assert pd.isna(df["occurred"][1]) and df["occurred"].dtype == "datetime64[ns]"
    assert df["lat"].isna().tolist() == [False, True] and df["lon"].isna().tolist() == [False, True]
    assert df["firearm"].dtype == bool and not df["firearm"].any()


@pytest.mark.parametrize("value,expected", [("01", "1"), ("001", "1"), (1.0, "1"), (" 7 ", "7"), ("", None),
                                            (None, None), ("UNKNOWN", None), ("22A", "22A")])
def test_normalise_district(value, expected):
    assert schema.normalise_district(value) == expected


def test_not_a_workspace(tmp_path):
    p = tmp_path / "junk.psw"
    p.write_bytes(b"hello, not sqlite")
    with pytest.raises(WorkspaceError, match="not a PSP workspace"):
        Workspace.open(p)
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace.open(tmp_path / "missing.psw")
    with pytest.raises(WorkspaceError, match="is a folder, not a workspace file"):
        Workspace.open(tmp_path)


def test_newer_file_format_is_refused(tmp_path):
    import sqlite3

    p = Workspace().save(tmp_path / "w.psw")
    con = sqlite3.connect(p)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(WorkspaceError, match="newer version"):
        Workspace.open(p)


def test_older_file_is_migrated_on_open(tmp_path, monkeypatch):
    """A file of format N opens in a program of format N+1 through MIGRATIONS[N]; the file itself is untouched."""
    from workstation.core import workspace as wsmod

    ws = Workspace()
    ws.meta["city"] = "Oldtown"
    p = ws.save(tmp_path / "old.psw")
    before = p.read_bytes()

    def v1_to_v2(con):
        con.execute("INSERT OR REPLACE INTO meta VALUES ('city', '\"Oldtown (migrated)\"')")

    monkeypatch.setattr(wsmod, "SCHEMA_VERSION", wsmod.SCHEMA_VERSION + 1)
    monkeypatch.setitem(wsmod.MIGRATIONS, wsmod.SCHEMA_VERSION - 1, v1_to_v2)
    back = Workspace.open(p)
    assert back.meta["city"] == "Oldtown (migrated)"
    assert p.read_bytes() == before


FORMAT3 = Path(__file__).resolve().parents[1] / "fixtures" / "workspace" / "format3.psw"


def test_a_format_3_file_opens_and_saves_as_the_current_format(tmp_path):
    """tests/fixtures/workspace/format3.psw was written by the program of format 3 (one Arrow IPC blob per record
    set): it opens with every record, area, layer and rejected row, and its next save writes one column per row."""
    import sqlite3

    from workstation.core import workspace as wsmod

    assert sqlite3.connect(FORMAT3).execute("PRAGMA user_version").fetchone()[0] == 3
    before = FORMAT3.read_bytes()
    ws = Workspace.open(FORMAT3)
    assert FORMAT3.read_bytes() == before  # the migration happens in memory; the old file stays as it was
    off = ws.frame("offenses")
    assert list(off.columns) == schema.columns("offenses") and len(off) == 4
    assert off["record_id"].tolist() == ["F3-1", "F3-2", "F3-3", "F3-4"]
    assert off["incident_id"].tolist() == ["F3-1", "F3-1", "F3-3", "F3-4"]
    assert off["occurred"].tolist()[:3] == [pd.Timestamp("2019-01-02 10:00"), pd.Timestamp("2019-01-02 10:00"),
                                            pd.Timestamp("2019-03-04 23:15")] and pd.isna(off["occurred"][3])
    assert off["category"].astype(str).tolist() == ["robbery", "aggravated_assault", "burglary", "larceny_theft"]
    assert off["firearm"].tolist() == [True, True, False, False] and off["cleared"].tolist() == [True] + [False] * 3
    assert off["cleared_date"][0] == pd.Timestamp("2019-01-05") and off["clearance_type"][0] == "arrest"
    assert off["lat"][:3].tolist() == [43.05, 43.05, 43.06] and np.isnan(off["lat"][3])
    assert off["address"].isna().tolist() == [False, False, True, False] and off["district"].isna().sum() == 1
    calls = ws.frame("calls")
    assert calls["record_id"].tolist() == ["C1", "C2"] and calls["call_type"].astype(str).tolist() == ["SHOTSPOTTER", "ALARM"]
    assert calls["priority"][0] == "1" and pd.isna(calls["priority"][1])
    assert len(ws.frame("shootings")) == 0 and list(ws.frame("people").columns) == schema.columns("people")
    for kind in schema.DATASET_KINDS:  # canonical types, as a fresh conform would give them
        pd.testing.assert_frame_equal(ws.frame(kind), schema.conform(ws.frame(kind), kind))
    assert [(a.name, a.kind) for a in ws.areas] == [("1", "district"), ("North", "target_area")]
    assert ws.meta["city"] == "Format Three" and [e["load_id"] for e in ws.import_log] == [1, 2]
    assert ws.rejects[1]["reason"].tolist() == ["no date"] and ws.layer("Stops").count == 1

    p = ws.save(tmp_path / "now.psw")
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA user_version").fetchone()[0] == wsmod.SCHEMA_VERSION == 4
    stored = {r[0] for r in con.execute("SELECT name FROM frame_columns WHERE kind = 'offenses'")}
    assert stored == set(schema.columns("offenses"))
    con.close()
    again = Workspace.open(p)
    for kind in schema.DATASET_KINDS:
        pd.testing.assert_frame_equal(again.frame(kind), ws.frame(kind))


def test_large_files_use_large_pages_and_every_type_round_trips(tmp_path):
    """From LARGE_FILE_ROWS records on the file is written in 64 KiB pages; each column comes back equal, including
    missing values of every type and columns LZ4 packs (constant) or leaves plain (random coordinates)."""
    import sqlite3

    from workstation.core import workspace as wsmod

    n = wsmod.LARGE_FILE_ROWS
    rng = np.random.default_rng(4)
    df = _offenses(n)
    df["occurred"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365 * 86400, n), unit="s")
    df.loc[::13, "occurred"] = pd.NaT
    df["lat"] = rng.uniform(42.9, 43.2, n)
    df.loc[::7, "lat"] = np.nan
    df["district"] = np.where(np.arange(n) % 5 == 0, None, (np.arange(n) % 7 + 1).astype(str))
    df["address"] = np.where(np.arange(n) % 3 == 0, None, np.char.add("A", np.arange(n).astype(str)))
    df["firearm"] = np.arange(n) % 11 == 0
    ws = Workspace()
    ws.set_frame("offenses", df)
    p = ws.save(tmp_path / "big.psw")
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA page_size").fetchone()[0] == 65536
    con.close()
    back = Workspace.open(p)
    pd.testing.assert_frame_equal(back.frame("offenses"), ws.frame("offenses"))
    small = Workspace().save(tmp_path / "small.psw")
    assert sqlite3.connect(small).execute("PRAGMA page_size").fetchone()[0] == 4096


def test_text_columns_come_back_in_one_piece(tmp_path):
    """An import builds text columns from many batches (an Arrow string column in hundreds of chunks, and taking a
    few rows from one concatenates it all); the saved file holds each column whole, so an opened workspace's text
    columns are one chunk, with the same values."""
    parts = [_offenses(3).assign(record_id=[f"B{i}-{j}" for j in range(3)], address=[f"{i}00 N 27TH ST", None, "X"])
             for i in range(40)]
    df = pd.concat(parts, ignore_index=True)
    ws = Workspace()
    ws.frames["offenses"] = schema.conform(df, "offenses")
    assert ws.frames["offenses"]["record_id"].array.__arrow_array__().num_chunks > 1
    back = Workspace.open(ws.save(tmp_path / "w.psw")).frame("offenses")
    for col in ("record_id", "incident_id", "address"):
        assert back[col].array.__arrow_array__().num_chunks == 1
    pd.testing.assert_frame_equal(back, ws.frame("offenses"))


def test_a_frame_stored_without_conform_is_conformed_on_open(tmp_path):
    """A record set put in place directly (not through set_frame) with half a location or an infinite one comes
    back as schema.conform makes it: both coordinates missing."""
    df = schema.conform(_offenses(4), "offenses")
    df.loc[1, "lon"] = np.nan
    df.loc[2, "lat"] = np.inf
    ws = Workspace()
    ws.frames["offenses"] = df
    back = Workspace.open(ws.save(tmp_path / "w.psw")).frame("offenses")
    assert back["lat"].isna().tolist() == [False, True, True, False]
    assert back["lon"].isna().tolist() == [False, True, True, False]

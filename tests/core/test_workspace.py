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

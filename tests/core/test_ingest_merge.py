"""Re-importing an overlapping extract: the newer load replaces the older version; nothing counted twice."""
import hashlib

import pandas as pd
import pytest

from workstation.core.errors import UserError
from workstation.ingest import ImportCancelled, import_files
from workstation.core.workspace import Workspace

from ingest_state import assert_unchanged, state

HEAD = "incident_number,offense_date,nibrs_code,district,latitude,longitude\n"


def _write(path, rows):
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_newer_load_replaces_same_incident(tmp_path):
    ws = Workspace()
    a = _write(tmp_path / "week1.csv", ["A1,2019-03-01,13B,01,43.05,-87.95", "A2,2019-03-02,23F,02,43.06,-87.94",
                                        "A3,2019-03-03,120,03,,", "A4,2019-03-03,220,03,43.0,-87.9"])
    r1 = import_files(ws, "offenses", [a])
    assert (r1.added, r1.replaced, r1.removed) == (4, 0, 0)
    # week 2 overlaps: A1 reclassified from simple to aggravated assault, A2 unchanged, A5 new
    b = _write(tmp_path / "week2.csv", ["A1,2019-03-01,13A,01,43.05,-87.95", "A2,2019-03-02,23F,02,43.06,-87.94",
                                        "A5,2019-03-08,240,04,43.07,-87.93"])
    r2 = import_files(ws, "offenses", [b])
    assert (r2.added, r2.replaced, r2.removed) == (1, 2, 2)
    off = ws.frame("offenses").set_index("incident_id")
    assert sorted(off.index) == ["A1", "A2", "A3", "A4", "A5"]
    assert off.loc["A1", "category"] == "aggravated_assault" and off.loc["A1", "load_id"] == r2.load_id
    assert off.loc["A3", "load_id"] == r1.load_id and off.loc["A4", "category"] == "burglary"
    assert off["category"].value_counts().to_dict() == {"aggravated_assault": 1, "larceny_theft": 1, "robbery": 1,
                                                        "burglary": 1, "motor_vehicle_theft": 1}
    # the same file again: every record replaced, none added, totals unchanged
    r3 = import_files(ws, "offenses", [b])
    assert (r3.added, r3.replaced) == (0, 3) and len(ws.frame("offenses")) == 5
    log = ws.import_log
    assert [e["load_id"] for e in log] == [1, 2, 3]
    e = log[1]
    assert e["file_name"] == "week2.csv" and e["file_size"] == b.stat().st_size
    assert e["sha256"] == hashlib.sha256(b.read_bytes()).hexdigest()
    assert (e["rows_read"], e["accepted"], e["rejected"], e["added"], e["replaced"]) == (3, 3, 0, 1, 2)
    assert e["data_as_of"] == "2019-03-08" and e["profile"] == "NIBRS-coded offenses (generic)"
    assert e["kind"] == "offenses" and e["loaded_at"]


def test_incident_with_several_rows_replaced_whole(tmp_path):
    """An incident that had two offense rows and now has one: the old two go, the new one stays."""
    ws = Workspace()
    import_files(ws, "offenses", [_write(tmp_path / "a.csv", ["B1,2020-01-01,120,1,,", "B1,2020-01-01,13A,1,,"])])
    off = ws.frame("offenses")
    assert sorted(off["record_id"]) == ["B1", "B1:2"]
    r = import_files(ws, "offenses", [_write(tmp_path / "b.csv", ["B1,2020-01-01,120,1,,"])])
    assert (r.added, r.replaced, r.removed) == (0, 1, 2)
    assert ws.frame("offenses")["category"].tolist() == ["robbery"]


def test_saved_and_reopened_workspace_keeps_log_and_rejects(tmp_path):
    ws = Workspace()
    src = _write(tmp_path / "x.csv", ["C1,2020-01-01,120,1,,", "C2,someday,120,1,,", ",2020-01-02,120,1,,"])
    r = import_files(ws, "offenses", [src])
    assert r.rejected_by_reason == {"date not understood": 1, "no incident id": 1}
    ws.save(tmp_path / "w.psw")
    back = Workspace.open(tmp_path / "w.psw")
    assert back.import_log == ws.import_log
    rej = back.rejects[r.load_id]
    assert rej["reason"].tolist() == ["date not understood", "no incident id"]
    assert rej["offense_date"].tolist() == ["someday", "2020-01-02"] and rej["row"].tolist() == ["3", "4"]


def test_multi_file_import_is_all_or_nothing(tmp_path):
    ws = Workspace()
    good = _write(tmp_path / "good.csv", ["D1,2020-01-01,120,1,,"])
    bad = tmp_path / "bad.csv"
    bad.write_text("incident_number,when\nX,2020\n")
    before = state(ws)
    with pytest.raises(UserError, match=r"^bad\.csv: "):
        import_files(ws, "offenses", [good, bad])
    assert_unchanged(ws, before)
    assert not ws.import_log and len(ws.frame("offenses")) == 0


def test_cancel_leaves_workspace_unchanged(tmp_path):
    ws = Workspace()
    import_files(ws, "offenses", [_write(tmp_path / "a.csv", ["E1,2020-01-01,120,1,,"])])
    before = state(ws)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2

    seen = []
    with pytest.raises(ImportCancelled):
        import_files(ws, "offenses", [_write(tmp_path / "b.csv", ["E2,2020-01-02,120,1,,"])],
                     should_stop=stop, progress=seen.append)
    assert_unchanged(ws, before)
    progress = []
    import_files(ws, "offenses", [tmp_path / "b.csv"], progress=progress.append)
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_changed_is_announced_once_per_import(tmp_path):
    ws = Workspace()
    heard = []
    ws.subscribe(heard.append)
    import_files(ws, "offenses", [_write(tmp_path / "a.csv", ["F1,2020-01-01,120,1,,"]),
                                  _write(tmp_path / "b.csv", ["F2,2020-01-01,120,1,,"])])
    # the records name district 1 and no boundaries are loaded: that district is made once, announced once
    assert heard == ["offenses", "areas"] and ws.dirty
    assert [(a.name, a.geometry) for a in ws.districts] == [("1", None)]
    import_files(ws, "offenses", [_write(tmp_path / "c.csv", ["F3,2020-01-02,120,1,,"])])
    assert heard == ["offenses", "areas", "offenses"]
    assert pd.Series([e["file_name"] for e in ws.import_log]).tolist() == ["a.csv", "b.csv", "c.csv"]

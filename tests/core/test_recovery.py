"""Recovery files without Qt (workstation/core/recovery.py): written for a workspace, offered back newest first,
dropped when stale or broken, cleared on a save. The folder is whatever the caller names (the app: its data folder)."""
import json
import os
import time
from pathlib import Path

import pandas as pd

from workstation.core import recovery
from workstation.core.workspace import Workspace


def workspace(n: int) -> Workspace:
    ws = Workspace()
    ws.set_frame("offenses", pd.DataFrame({
        "record_id": [f"R{i}" for i in range(n)], "incident_id": [f"I{i}" for i in range(n)],
        "occurred": pd.date_range("2019-01-01", periods=n, freq="D"), "category": ["robbery"] * n}))
    return ws


def test_a_recovery_file_is_offered_back_as_the_unsaved_workspace(tmp_path):
    folder = tmp_path / "data" / "recovery"             # not there yet: the first write makes it
    saved = tmp_path / "weekly.psw"
    workspace(3).save(saved)
    old = time.time() - 60
    os.utime(saved, (old, old))                        # saved a minute before the unsaved changes
    psw = recovery.write_recovery(folder, workspace(5).detached(), saved, "weekly.psw")
    untitled = recovery.write_recovery(folder, workspace(2).detached(), None, "Untitled workspace")
    assert psw.parent == folder and psw.is_file() and psw.with_suffix(".json").is_file()
    assert untitled.name == "untitled.psw"
    assert json.loads(psw.with_suffix(".json").read_text())["source"] == str(saved.resolve())
    assert saved.stat().st_mtime == old                 # the workspace file itself is never touched

    os.utime(untitled, (old + 30, old + 30))            # the untitled one was written earlier
    cands = recovery.find_candidates(folder)
    assert [(c.source, c.title) for c in cands] == [(str(saved.resolve()), "weekly.psw"),
                                                     ("", "Untitled workspace")]
    ws = recovery.open_candidate(cands[0])
    assert len(ws.frame("offenses")) == 5 and ws.dirty and ws.path == saved.resolve()
    unsaved = recovery.open_candidate(cands[1])
    assert len(unsaved.frame("offenses")) == 2 and unsaved.dirty and unsaved.path is None

    recovery.discard(cands[1])
    recovery.clear_recovery(folder, saved)              # a save or a clean close
    assert recovery.find_candidates(folder) == [] and list(folder.iterdir()) == []


def test_stale_and_broken_recovery_files_are_removed_not_offered(tmp_path):
    folder = tmp_path / "recovery"
    saved = tmp_path / "city.psw"
    psw = recovery.write_recovery(folder, workspace(4).detached(), saved, "city.psw")
    workspace(4).save(saved)
    later = psw.stat().st_mtime + 5
    os.utime(saved, (later, later))                     # saved after the recovery file was written: stale
    note_only = folder / "lost.json"
    note_only.write_text(json.dumps({"source": "", "title": "lost"}))
    bad_note = folder / "bad.json"
    bad_note.write_text("{not json")
    Path(folder / "bad.psw").write_bytes(b"x")
    assert recovery.find_candidates(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == []


def test_each_workspace_has_its_own_recovery_key(tmp_path):
    a, b = tmp_path / "a" / "weekly.psw", tmp_path / "b" / "weekly.psw"
    ka, kb = recovery.recovery_key(a), recovery.recovery_key(b)
    assert ka != kb and ka.startswith("weekly-") and kb.startswith("weekly-")
    assert recovery.recovery_key(None) == recovery.recovery_key("") == "untitled"
    assert recovery.recovery_files(tmp_path, a) == (tmp_path / f"{ka}.psw", tmp_path / f"{ka}.json")

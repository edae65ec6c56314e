"""The one atomic writer: the file and then its folder are flushed, the old file survives a failed write, and every
file the app writes goes through it."""
import os
import re
import stat
from pathlib import Path

import pytest

from workstation.core.errors import UserError
from workstation.core.fileio import write_atomically, write_text_atomically
from workstation.core.workspace import Workspace, WorkspaceError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fsynced(monkeypatch):
    """What os.fsync was called on, in order: 'file' or 'folder'."""
    seen = []
    real = os.fsync

    def spy(fd):
        seen.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        return real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return seen


def test_file_then_folder_are_flushed(tmp_path, fsynced):
    out = write_text_atomically(tmp_path / "a.json", '{"x": 1}')
    assert out.read_text(encoding="utf-8") == '{"x": 1}'
    assert fsynced == (["file", "folder"] if hasattr(os, "O_DIRECTORY") else ["file"])
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")

    def broken(tmp):
        Path(tmp).write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match=r"Cannot write the map .*report.html: No space left on device\."):
        write_atomically(target, broken, what="the map")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_workspace_save_goes_through_the_writer(tmp_path, fsynced, monkeypatch):
    ws = Workspace()
    ws.meta["note"] = "first"
    ws.save(tmp_path / "w.psw")
    assert Workspace.open(tmp_path / "w.psw").meta["note"] == "first"
    assert fsynced[-2:] == (["file", "folder"] if hasattr(os, "O_DIRECTORY") else ["file"])[-2:]

    def full(*a):
        raise OSError(28, "No space left on device")

    ws.meta["note"] = "second"
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(WorkspaceError, match="No space left on device. The previous file is unchanged"):
        ws.save(tmp_path / "w.psw")
    monkeypatch.undo()
    assert Workspace.open(tmp_path / "w.psw").meta["note"] == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["w.psw"]


def test_profile_save_is_atomic(tmp_path, fsynced):
    from workstation.ingest.profiles import builtin_profiles

    prof = builtin_profiles()[0]
    out = prof.save(tmp_path / "p.json")
    assert '"name"' in out.read_text(encoding="utf-8") and "file" in fsynced


WRITES = re.compile(r"\.write_text\(|\.write_bytes\(|\bopen\([^)]*['\"][wax]b?\+?['\"]|\.save\(str\(|\.to_csv\((?!fh\b)\w|"
                    r"\.to_file\(|savefig\((?!buf\b)")


def test_every_write_goes_through_the_atomic_writer():
    """A write in workstation/ or ui/ may only produce the writer's temporary file (its argument is ``tmp``)."""
    bad = []
    for folder in ("workstation", "ui"):
        for f in (ROOT / folder).rglob("*.py"):
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if WRITES.search(line) and "tmp" not in line and not line.lstrip().startswith("#"):
                    bad.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert bad == []

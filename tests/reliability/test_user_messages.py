"""Every error an analyst sees is a sentence that names the file (or field) and says what to do; no dialog shows a
Python traceback (the "Show Details..." expander may hold one). Checked on the paths where bad input arrives: opening
damaged workspace files, a damaged recovery file at start, the command line, a failing background job, an export to
a folder that does not exist.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.core.errors import UserError
from workstation.core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]



def assert_sentence(msg: str, names: str, hint: str | None = None) -> None:
    assert msg and msg.strip() == msg, repr(msg)
    assert not any(m in msg for m in ("Traceback", 'File "')), msg
    assert msg.count("\n") <= 2, msg
    assert msg.rstrip(")").endswith((".", "!", "?")), msg
    assert names in msg, f"{names!r} not named in {msg!r}"
    if hint is not None:
        assert hint.lower() in msg.lower(), f"no '{hint}' in {msg!r}"


def _damage(good: Path, folder: Path) -> dict[str, Path]:
    """One workspace file per kind of damage (a real .psw with one part broken)."""
    data = good.read_bytes()
    out = {}

    def put(name, content=None, sql=None):
        p = folder / f"{name}.psw"
        if content is not None:
            p.write_bytes(content)
        else:
            shutil.copy(good, p)
            con = sqlite3.connect(p)
            con.execute(sql)
            con.commit()
            con.close()
        out[name] = p

    put("random", os.urandom(4096))
    put("empty", b"")
    put("truncated", data[: len(data) // 2])
    put("blob", sql="UPDATE frame_columns SET arrow = x'00112233' WHERE kind = 'offenses'")
    put("meta", sql="UPDATE meta SET value = '{bad json' WHERE key = 'city'")
    put("area", sql="INSERT INTO areas (name, kind, geojson, version) VALUES ('x', 'district', 'not json', 1)")
    put("log", sql="INSERT INTO import_log VALUES (99, 'nope')")
    put("table", sql="DROP TABLE areas")
    put("other_sqlite", sql="PRAGMA application_id = 7")
    return out


@pytest.fixture
def damaged(tmp_path):
    ws = Workspace()
    ws.meta["city"] = "Testville"
    good = tmp_path / "good.psw"
    ws.save(good)
    return _damage(good, tmp_path)


HINTS = {"random": "not a PSP workspace", "empty": "not a PSP workspace", "other_sqlite": "not a PSP workspace"}


@pytest.mark.parametrize("kind", ["random", "empty", "truncated", "blob", "meta", "area", "log", "table",
                                  "other_sqlite"])
def test_damaged_workspace_files_are_refused_with_a_sentence(damaged, kind):
    p = damaged[kind]
    with pytest.raises(UserError) as e:
        Workspace.open(p)
    assert_sentence(str(e.value), p.name, HINTS.get(kind, "Open the previous copy or the recovery file"))


def _message_boxes(monkeypatch):
    """Every QMessageBox the app would show: (title, text, detailed text). exec() returns at once."""
    from PySide6.QtWidgets import QMessageBox

    shown = []

    def fake_exec(box):
        shown.append((box.windowTitle(), box.text(), box.detailedText()))
        return int(QMessageBox.StandardButton.Ok.value)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return shown


def _window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.main_window import MainWindow
    from ui.settings import Settings

    win = MainWindow(settings=Settings(QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    return win


def _close(qtbot, win):
    win.shutdown()
    qtbot.waitUntil(lambda: not win.tasks.is_running() and not win.autosaver.is_running(), timeout=60000)


def test_opening_damaged_files_shows_sentences_not_tracebacks(qtbot, tmp_path, app_dirs, damaged, monkeypatch):
    shown = _message_boxes(monkeypatch)
    win = _window(qtbot, tmp_path)
    try:
        for kind, p in damaged.items():
            before = len(shown)
            assert win.open_path(p) is False
            assert len(shown) == before + 1, kind
            title, text, details = shown[-1]
            assert title == "The workspace could not be opened"
            assert_sentence(text, p.name)
            assert "Traceback" not in details
    finally:
        _close(qtbot, win)


def test_a_damaged_recovery_file_does_not_stop_the_start(qtbot, tmp_path, app_dirs, damaged, monkeypatch):
    from ui import paths
    from workstation.core import recovery

    shown = _message_boxes(monkeypatch)
    psw, meta = recovery.recovery_files(paths.recovery_dir(), tmp_path / "lost.psw")
    shutil.copy(damaged["blob"], psw)
    meta.write_text('{"source": "%s", "title": "lost.psw", "saved": 1}' % (tmp_path / "lost.psw"), encoding="utf-8")
    win = _window(qtbot, tmp_path)
    win.ask_recover = lambda cands: ("recover", cands[0])
    try:
        win.start(None)                                       # used to raise: the app died on every start
        assert [s[0] for s in shown] == ["The recovery file could not be read"]
        assert_sentence(shown[0][1], psw.name, "Open the previous copy or the recovery file")
        assert win.state.workspace is not None               # and the start went on (to the demo)
    finally:
        _close(qtbot, win)


def test_a_failing_job_shows_a_sentence_and_keeps_the_traceback_in_details(qtbot, app_dirs):
    from ui.workers import TaskRunner

    runner = TaskRunner()
    got = []
    runner.failed.connect(lambda m, d: got.append((m, d)))

    def job(progress, should_stop):
        return {}["missing"]

    runner.start(job, "reading the offenses")
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    msg, details = got[0]
    assert_sentence(msg, "reading the offenses", "try again")
    assert "Traceback" not in msg and "Traceback" in details

    got.clear()
    runner.start(lambda progress, should_stop: (_ for _ in ()).throw(UserError("x.csv: the file is empty.")),
                 "importing")
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    assert got[0] == ("x.csv: the file is empty.", "")      # a UserError is shown as written, with no details


def test_export_to_a_missing_folder_says_so(qtbot, tmp_path, app_dirs):
    from ui.dialogs.export import ExportDialog
    from ui.settings import Settings
    from ui.state import AppState
    from workstation.demo.records import build_demo

    from PySide6.QtCore import QSettings

    state = AppState(build_demo())
    dlg = ExportDialog(state, Settings(QSettings(str(tmp_path / "e.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(dlg)
    failures = []
    dlg.runner.failed.connect(lambda m, d: failures.append((m, d)))
    target = tmp_path / "no such folder" / "CompStat.xlsx"
    dlg.path_edit.setText(str(target))
    dlg.open_box.setChecked(False)
    dlg.start_export()
    qtbot.waitUntil(lambda: bool(failures), timeout=60000)
    msg, details = failures[0]
    assert_sentence(msg, "no such folder", "Choose an existing folder")
    assert details == ""
    assert "No workbook was written" in dlg.status.text() and "Traceback" not in dlg.status.text()
    dlg.shutdown()


def _cli(*args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=120)


def test_command_line_errors_are_one_sentence(tmp_path, damaged):
    ws = tmp_path / "w.psw"
    Workspace().save(ws)
    bad_xlsx = tmp_path / "cut.xlsx"
    bad_xlsx.write_bytes(b"PK\x03\x04" + os.urandom(300))
    noise = tmp_path / "noise.csv"
    noise.write_bytes(os.urandom(3000))
    cases = [
        (["import", "--workspace", str(ws), "--kind", "offenses", str(bad_xlsx)], "cut.xlsx"),
        (["import", "--workspace", str(ws), "--kind", "offenses", str(noise)], "noise.csv"),
        (["import", "--workspace", str(ws), "--kind", "offenses", str(tmp_path / "gone.csv")], "gone.csv"),
        (["import", "--workspace", str(damaged["blob"]), "--kind", "offenses", str(noise)], "blob.psw"),
        (["export", "--workspace", str(damaged["meta"]), "--out", str(tmp_path / "o.xlsx")], "meta.psw"),
        (["info", "--workspace", str(damaged["truncated"])], "truncated.psw"),
    ]
    before = ws.read_bytes()
    for args, name in cases:
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr[-2000:])
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
        assert_sentence(lines[0][len("error: "):], name)
    assert ws.read_bytes() == before                          # refused imports left the workspace file alone

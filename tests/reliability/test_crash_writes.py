"""kill -9 in the middle of an autosave and of a workbook export: the previous file opens whole. And after a kill,
the recovery file brings back a boundary edit that was never saved.

(The workspace-save case is tests/core/test_workspace_crash.py.) Each writer runs in a child process; the parent
watches the folder for the writer's temporary file and kills the child while that file is being written, so the
kill lands mid-write by construction rather than by luck.
"""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import FRAME_PRELUDE, ROOT, child_env, kill_mid_write

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX kill -9")


# ---------------------------------------------------------------------------------------------------------------------
AUTOSAVER = FRAME_PRELUDE + textwrap.dedent("""
    from workstation.core import recovery
    ws = Workspace()
    folder, source = sys.argv[1], sys.argv[2]
    version = 0
    while True:
        version += 1
        ws.meta["version"] = version
        ws.set_frame("offenses", base.iloc[: n - version])
        print("start", version, flush=True)
        recovery.write_recovery(folder, ws.detached(), source, "work.psw")
        print("done", version, flush=True)
""")


def test_kill_during_autosave_leaves_a_whole_recovery_file(tmp_path):
    from workstation.core import recovery

    script = tmp_path / "autosaver.py"
    script.write_text(AUTOSAVER)
    rec_dir = tmp_path / "appdata" / "recovery"
    source = tmp_path / "work.psw"             # never saved: the recovery file is all there is

    def check(last_done):
        cands = recovery.find_candidates(rec_dir)
        assert len(cands) == 1, cands
        c = cands[0]
        assert Path(c.source) == source.resolve() and c.title == "work.psw"
        ws = recovery.open_candidate(c)             # must open whole
        v = ws.meta["version"]
        assert v >= last_done
        assert len(ws.frame("offenses")) == 300_000 - v
        assert ws.frame("offenses")["occurred"].notna().all()
        assert ws.dirty and ws.path == source.resolve()

    rec_dir.mkdir(parents=True)
    hits = kill_mid_write(script, [str(rec_dir), str(source)], rec_dir, ".*.saving", child_env(), 4, random.Random(3),
                          check)
    assert hits >= 3, "the kill never landed while the recovery file was being written"


# ---------------------------------------------------------------------------------------------------------------------
EXPORTER = textwrap.dedent("""
    import sys
    from workstation.exports.workbook import export_workbook
    from workstation.core.workspace import Workspace
    ws = Workspace.open(sys.argv[1])
    dates = sys.argv[3:]
    version = 0
    while True:
        version += 1
        print("start", version, dates[version % len(dates)], flush=True)
        export_workbook(ws, sys.argv[2], as_of=dates[version % len(dates)])
        print("done", version, flush=True)
""")


def test_kill_during_workbook_export_leaves_the_previous_workbook_whole(tmp_path, demo_path):
    from openpyxl import load_workbook

    script = tmp_path / "exporter.py"
    script.write_text(EXPORTER)
    out = tmp_path / "CompStat.xlsx"
    dates = ["2019-09-22", "2019-09-29", "2019-09-15"]
    shown = {"2019-09-22": "September 22, 2019", "2019-09-29": "September 29, 2019", "2019-09-15": "September 15, 2019"}

    def check(last_done):
        wb = load_workbook(out, read_only=True)     # opens whole: a complete zip with every sheet
        try:
            assert wb.sheetnames[:2] == ["Summary", "CompStat"] and "Notes" in wb.sheetnames
            heading = " ".join(str(v) for row in wb["Summary"].iter_rows(max_row=3, values_only=True)
                               for v in row if v is not None)
            # the last finished export, or the one that finished just before the kill
            assert any(shown[dates[v % len(dates)]] in heading for v in (last_done, last_done + 1)), heading
            numbers = sum(isinstance(v, (int, float)) for row in wb["CompStat"].iter_rows(values_only=True)
                          for v in row)
            assert numbers > 100
        finally:
            wb.close()

    hits = kill_mid_write(script, [str(demo_path), str(out), *dates], tmp_path, ".CompStat.xlsx.*.part", child_env(), 3,
                           random.Random(5), check)
    assert hits >= 2, "the kill never landed while the workbook was being written"


# ---------------------------------------------------------------------------------------------------------------------
EDITOR = textwrap.dedent("""
    import json, sys, time
    from PySide6.QtCore import QEventLoop, QSettings
    from ui.app import make_application
    from ui.main_window import MainWindow
    from ui.settings import Settings
    from workstation.whatif.engine import figures_summary

    def wait(cond, what, timeout=60):
        end = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < end, what
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    app = make_application([])
    win = MainWindow(settings=Settings(QSettings(sys.argv[2], QSettings.Format.IniFormat)))
    win.show()
    assert win.open_path(sys.argv[1])
    win.tabs.setCurrentWidget(win.map_tab)
    wait(lambda: win.map_panel is not None, "no map panel")
    panel = win.map_panel
    win.state.set_area(sys.argv[3])                 # choosing the target area starts editing its boundary
    wait(lambda: panel.editor is not None, "not editing")
    ring = [list(p) for p in panel.editor.shape[0][0]]
    k = max(range(len(ring) - 1), key=lambda i: ring[i][0] + ring[i][1])
    ring[k] = [ring[k][0] + 0.004, ring[k][1] + 0.003]   # drag the north-east corner ~400 m out
    if k == 0:
        ring[-1] = ring[0]
    # the message the page sends over the QWebChannel when a drag ends
    answer = json.loads(panel.view.bridge.shapeChanged(json.dumps({"kind": "edit", "final": True,
                                                                   "shape": [[ring]]})))
    assert answer["ok"], answer
    assert len(panel.editor.stack) == 1
    assert win.autosave()
    wait(lambda: not win.autosaver.is_running(), "autosave did not finish")
    print("autosaved", json.dumps(panel.editor.shape), flush=True)
    while True:                                      # the analyst keeps working ... until the crash
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
""")


def test_the_recovery_file_brings_back_an_unsaved_boundary_edit(tmp_path, qtbot, app_dirs, demo_path):
    import shutil

    from PySide6.QtCore import QSettings

    from ui.main_window import MainWindow
    from ui.map.view import delete_now
    from ui.settings import Settings
    from workstation.core.commands import freeze_shape
    from workstation.core.workspace import Workspace

    work = tmp_path / "city.psw"
    shutil.copy(demo_path, work)
    before = work.read_bytes()
    data_dir = Path(os.environ["PSP_WORKSTATION_DATA_DIR"])
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    key = "target_area:Center Street Corridor"
    proc = subprocess.Popen([sys.executable, str(script), str(work), str(tmp_path / "child.ini"), key],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                            env=child_env(PSP_WORKSTATION_DATA_DIR=str(data_dir)))
    try:
        line = proc.stdout.readline()
        assert line.startswith("autosaved "), f"the editing app failed (exit {proc.poll()}): {line!r}"
        edited = freeze_shape(json.loads(line.split(" ", 1)[1]))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert work.read_bytes() == before               # the workspace itself was never saved
    assert Workspace.open(work).meta.get("map_boundary_draft") is None

    # the next start finds the recovery file, the analyst chooses Recover, and the map has the edit back
    win = MainWindow(settings=Settings(QSettings(str(tmp_path / "next.ini"), QSettings.Format.IniFormat)))
    offered = []
    win.ask_recover = lambda cands: (offered.extend(cands), ("recover", cands[0]))[1]
    try:
        win.show()
        win.start(None)
        assert len(offered) == 1 and Path(offered[0].source) == work.resolve()
        ws = win.state.workspace
        assert ws.path == work.resolve() and ws.dirty
        assert ws.meta["map_boundary_draft"]["area_key"] == key
        win.tabs.setCurrentWidget(win.map_tab)
        qtbot.waitUntil(lambda: win.map_panel is not None, timeout=30000)
        panel = win.map_panel
        # the draft comes back once the counting engine is ready (its indexes are built in a worker)
        qtbot.waitUntil(lambda: panel.editing_key == key, timeout=30000)
        assert panel.editor.shape == edited and panel.has_unsaved_edit()
        official = freeze_shape(ws.area("Center Street Corridor", "target_area").geometry)
        assert edited != official                       # the edit was not already in the saved boundary
        qtbot.waitUntil(lambda: "Restored a boundary edit" in panel.figures_panel.message.text(), timeout=20000)
    finally:
        win.ask_save_changes = lambda: "discard"
        win.shutdown()
        # let the workers' queued "finished" signals arrive before the window (and its runners) are deleted
        qtbot.waitUntil(lambda: not win.autosaver.is_running() and not win.tasks.is_running(), timeout=30000)
        delete_now(win)

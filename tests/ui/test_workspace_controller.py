"""WorkspaceController on its own (no window): open, save, recovery, autosave and the warm-up run in workers, say
they are busy until they end however they end, and leave the open workspace consistent. Also: the map page is built
off the UI thread, and the main window's wait cursor always comes back."""
import threading
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtWidgets import QApplication

import ui.workspace_controller as wc
from ui.settings import Settings
from ui.state import AppState
from ui_fixtures import small_workspace
from workstation.core.workspace import Workspace


@pytest.fixture
def controller(qtbot):
    state = AppState()
    c = wc.WorkspaceController(state, Settings())
    seen = {"busy": [], "failed": [], "opened": [], "messages": [], "progress": []}
    c.busy_changed.connect(seen["busy"].append)
    c.failed.connect(lambda *a: seen["failed"].append(a))
    c.opened.connect(seen["opened"].append)
    c.message.connect(lambda text, _ms: seen["messages"].append(text))
    c.progress.connect(seen["progress"].append)
    c.seen = seen
    yield c
    c.shutdown()
    c.deleteLater()


def _threads_of(monkeypatch, module, name):
    """Wrap ``module.name`` to record the thread each call runs on."""
    real = getattr(module, name)
    threads = []

    def spy(*a, **kw):
        threads.append(threading.current_thread())
        return real(*a, **kw)

    monkeypatch.setattr(module, name, spy)
    return threads


def test_open_runs_in_a_worker_and_says_so(controller, tmp_path, monkeypatch):
    ws = small_workspace()
    ws.save(tmp_path / "city.psw")
    threads = []
    real_open = Workspace.open.__func__

    def spy(cls, path):
        threads.append(threading.current_thread())
        return real_open(cls, path)

    monkeypatch.setattr(Workspace, "open", classmethod(spy))
    assert controller.open(tmp_path / "city.psw")
    assert threads and threads[0] is not threading.main_thread()
    opened = controller.state.workspace
    assert controller.seen["opened"] == [opened] and opened.path == tmp_path / "city.psw"
    assert len(opened.frames["offenses"]) == len(ws.frames["offenses"])
    assert controller.seen["busy"] == ["Opening city.psw…", ""]
    assert controller.settings.get("workspace/last") == str((tmp_path / "city.psw").resolve())


def test_open_failure_is_a_sentence_and_the_busy_state_ends(controller, tmp_path):
    bad = tmp_path / "not-a-workspace.psw"
    bad.write_text("this is not SQLite", encoding="utf-8")
    assert not controller.open(bad)
    assert controller.state.workspace is None
    (title, message, details), = controller.seen["failed"]
    assert title == "The workspace could not be opened" and "not-a-workspace.psw" in message and details == ""
    assert controller.seen["busy"] == ["Opening not-a-workspace.psw…", ""]


def test_save_runs_in_a_worker_with_progress(controller, tmp_path, monkeypatch):
    ws = small_workspace()
    controller.set_workspace(ws)
    ws.meta["note"] = "saved once"
    ws.changed("meta")
    threads = _threads_of(monkeypatch, wc, "write_workspace")
    assert controller.save_to(tmp_path / "out.psw")
    assert threads == [threads[0]] and threads[0] is not threading.main_thread()
    assert ws.path == tmp_path / "out.psw" and not ws.dirty
    assert Workspace.open(tmp_path / "out.psw").meta["note"] == "saved once"
    assert controller.seen["busy"] == ["Saving out.psw…", ""]
    assert controller.seen["progress"] and controller.seen["progress"][-1] == 1.0


def test_a_change_during_the_save_keeps_the_workspace_unsaved(controller, tmp_path, monkeypatch, qtbot):
    ws = small_workspace()
    controller.set_workspace(ws)
    release = threading.Event()
    real = wc.write_workspace

    def slow(snapshot, target, progress=None):
        assert release.wait(10)
        return real(snapshot, target, progress)

    monkeypatch.setattr(wc, "write_workspace", slow)

    def edit_while_saving():
        ws.set_frame("offenses", ws.frames["offenses"].iloc[:100])    # the analyst goes on working
        release.set()

    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, edit_while_saving)
    assert controller.save_to(tmp_path / "out.psw")
    assert ws.dirty, "a change made during the save is not in the file: the workspace must stay unsaved"
    assert len(Workspace.open(tmp_path / "out.psw").frames["offenses"]) == len(small_workspace().frames["offenses"])


def test_save_failure_keeps_the_old_file_and_ends_busy(controller, tmp_path, monkeypatch):
    ws = small_workspace()
    controller.set_workspace(ws)
    assert controller.save_to(tmp_path / "out.psw")
    ws.set_frame("offenses", ws.frames["offenses"].iloc[:10])

    def boom(*a, **kw):
        raise RuntimeError("disk controller reset")

    monkeypatch.setattr(wc, "write_workspace", boom)
    assert not controller.save_to(tmp_path / "out.psw")
    (title, message, details), = controller.seen["failed"]
    assert title == "The workspace was not saved" and "disk controller reset" in message and "RuntimeError" in details
    assert controller.seen["busy"][-2:] == ["Saving out.psw…", ""]
    assert ws.dirty and len(Workspace.open(tmp_path / "out.psw").frames["offenses"]) > 10


def test_autosave_and_recover(controller, tmp_path, qtbot):
    ws = small_workspace()
    ws.save(tmp_path / "city.psw")
    controller.set_workspace(Workspace.open(tmp_path / "city.psw"))
    live = controller.state.workspace
    live.set_frame("offenses", live.frames["offenses"].iloc[:50])
    assert controller.autosave()
    qtbot.waitUntil(lambda: not controller.autosaver.is_running(), timeout=10_000)
    cands = controller.recovery_candidates()
    assert [Path(c.source) for c in cands] == [(tmp_path / "city.psw").resolve()]
    other = wc.WorkspaceController(AppState(), Settings())
    try:
        assert other.recover(cands[0])
        got = other.state.workspace
        assert len(got.frames["offenses"]) == 50 and got.dirty and got.path == (tmp_path / "city.psw").resolve()
    finally:
        other.shutdown()
        other.deleteLater()


def test_a_big_workspace_is_warmed_in_a_worker(controller, qtbot, monkeypatch):
    monkeypatch.setattr(wc, "WARM_IN_WORKER_ROWS", 1000)
    threads = _threads_of(monkeypatch, wc, "warm_engine")
    controller.set_workspace(small_workspace())
    assert not controller.state.ready
    qtbot.waitUntil(lambda: controller.state.ready, timeout=30_000)
    assert threads and threads[0] is not threading.main_thread()
    assert controller.seen["messages"][-1] == ""


def test_the_map_page_is_built_off_the_ui_thread(qtbot, monkeypatch):
    from ui.map import panel as map_panel
    from ui.map.view import delete_now
    from ui_fixtures import AS_OF

    # the build waits in its worker until the test has seen the pane say so: a fast build (or a slow warm-up before
    # it) cannot slip past the check
    real, threads, seen = map_panel.maps.build_map, [], threading.Event()

    def gated(*a, **kw):
        threads.append(threading.current_thread())
        seen.wait(60)
        return real(*a, **kw)

    monkeypatch.setattr(map_panel.maps, "build_map", gated)
    state = AppState(small_workspace())
    state.set_as_of(AS_OF)
    p = map_panel.MapPanel(state)
    p.resize(900, 600)
    p.show()
    try:
        qtbot.waitUntil(lambda: p.building and bool(threads), timeout=60_000)
        assert p.drawing_label.isVisible() and p.drawing_label.text() == "Drawing the map…"
        seen.set()
        qtbot.waitUntil(lambda: p.last_page is not None, timeout=60_000)
        assert threads and all(t is not threading.main_thread() for t in threads)
        assert not p.drawing_label.isVisible()
    finally:
        seen.set()
        p.shutdown()
        delete_now(p)


def test_the_wait_cursor_always_comes_back(qtbot, tmp_path, monkeypatch):
    from ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    shown = []
    monkeypatch.setattr(win, "show_error", lambda *a: shown.append(a))
    cursors = []
    win.controller.busy_changed.connect(lambda label: cursors.append(QApplication.overrideCursor() is not None))
    win.set_workspace(small_workspace())

    def boom(*a, **kw):
        raise MemoryError("out of memory while saving")

    monkeypatch.setattr(wc, "write_workspace", boom)
    assert not win.controller.save_to(tmp_path / "x.psw")
    assert QApplication.overrideCursor() is None
    assert win.act_save.isEnabled() and not win.task_label.isVisible()
    assert shown and "out of memory" in shown[0][1]
    assert not win.controller.open(tmp_path / "missing.psw")
    assert QApplication.overrideCursor() is None
    assert cursors == [True, False, True, False]          # on while busy, off after, every time
    win.shutdown()


def test_save_through_the_window_clears_the_title_mark(qtbot, tmp_path):
    from ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    ws = small_workspace()
    win.set_workspace(ws)
    ws.set_frame("offenses", pd.concat([ws.frames["offenses"].iloc[:5]]))
    assert win.isWindowModified()
    assert win.controller.save_to(tmp_path / "saved.psw")
    assert not win.isWindowModified() and win.windowTitle().startswith("saved.psw")
    win.shutdown()

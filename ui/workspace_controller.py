"""The open workspace's life, without widgets: open, save, recover, autosave, the first-start demo and the warm-up of
a big workspace's indexes. The main window asks the questions (file dialogs, "save changes?") and shows what this
object signals; everything slow runs in a worker (ui/workers.py), never on the UI thread.

``open`` and ``save_to`` return when the job has ended, as callers expect of them, but the work runs in a worker while
a local event loop keeps the window painting and the busy indicator moving (``busy_changed`` and ``progress``); the
workspace a worker saves is a detached copy (Workspace.detached), so the open one is never read off its thread.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal

from workstation.core import recovery
from workstation.core.workspace import Workspace, write_workspace
from ui import paths
from ui.workers import TaskRunner

log = logging.getLogger(__name__)

# below this, the first grid takes well under half a second on the UI thread, and a panel's figures a few tens of ms;
# at or above it the engine is warmed, and every panel computes, in workers (AppState.big)
WARM_IN_WORKER_ROWS = 300_000


class WorkspaceController(QObject):
    opened = Signal(object)            # the Workspace now open
    saved = Signal(str)                # the file just written
    failed = Signal(str, str, str)     # title, a sentence for the analyst, technical details ("" for a UserError)
    message = Signal(str, int)         # a status line and for how long (ms; 0: until the next one; "" clears it)
    busy_changed = Signal(str)         # what the workspace is busy with ("Saving city.psw…"); "" when done
    progress = Signal(float)           # of the open/save job or the background task
    task_changed = Signal(str)         # a cancellable background task (the demo) started ("" when it ended)
    title_changed = Signal()           # the file name, demo flag or unsaved state may have changed
    demo_ready = Signal()

    def __init__(self, state, settings, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.io = TaskRunner(self)          # open and save, one at a time
        self.tasks = TaskRunner(self)       # long background jobs the analyst may cancel (creating the demo)
        self.autosaver = TaskRunner(self)   # recovery writes, never in the analyst's way
        self.warmer = TaskRunner(self)      # builds the engine's indexes of a big workspace off the UI thread
        self.warmer.finished.connect(self._warm_done)
        self.warmer.failed.connect(lambda _m, _d: self._warm_done(None))
        self.warmer.cancelled.connect(lambda: self._warm_done(None))
        for runner in (self.io, self.tasks):
            runner.progress.connect(self.progress)
        self.tasks.running_changed.connect(lambda running: running or self.task_changed.emit(""))
        # connected before the panels connect theirs: a big change must mark the state not ready before they refresh
        state.data_changed.connect(self._warm_if_big)
        state.data_changed.connect(self._on_data_changed)
        self._changes = 0
        self._autosaved_changes = 0
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(5, settings.get("workspace/autosave_seconds")) * 1000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # ---- what the title bar shows ----
    @property
    def workspace(self) -> Workspace | None:
        return self.state.workspace

    def display_name(self) -> str:
        ws = self.workspace
        return "Untitled workspace" if ws is None or ws.path is None else Path(ws.path).name

    @staticmethod
    def is_demo_file(path) -> bool:
        return path is not None and Path(path).resolve() == paths.demo_path().resolve()

    def is_busy(self) -> bool:
        return self.io.is_running()

    # ---- switching workspaces ----
    def set_workspace(self, ws: Workspace) -> None:
        old = self.workspace
        if old is not None and old is not ws:
            recovery.clear_recovery(paths.recovery_dir(), old.path)
        self._changes = self._autosaved_changes = 0
        self._warm_if_big("", ws)
        self.state.set_workspace(ws)
        self.opened.emit(ws)
        self.title_changed.emit()

    def new_workspace(self) -> None:
        self.set_workspace(Workspace())
        self.message.emit("New empty workspace: import data with Ctrl+I.", 8000)

    def open(self, path, remember: bool = True) -> bool:
        """Open the workspace file ``path`` in a worker; True once it is the open workspace."""
        path = Path(path)
        outcome = {"ok": False}

        def done(ws: Workspace) -> None:
            self.set_workspace(ws)
            if remember:
                self.settings.add_recent(ws.path)
                self.settings.set("workspace/last", str(Path(ws.path).resolve()))
            self.message.emit(f"Opened {path.name}.", 5000)
            outcome["ok"] = True

        self._run_io(f"Opening {path.name}…", lambda progress, should_stop: Workspace.open(path), done,
                     "The workspace could not be opened", f"opening {path.name}")
        return outcome["ok"]

    def save_to(self, path) -> bool:
        """Save the open workspace to ``path`` in a worker (a detached copy, so editing may go on); True when saved.
        Saving shows progress; the previous file stays whole on any failure."""
        ws = self.workspace
        if ws is None:
            return False
        target = Path(path)
        snapshot, revision, old_path, changes = ws.detached(), ws.revision, ws.path, self._changes
        outcome = {"ok": False}

        def done(_written) -> None:
            ws.saved_as(target, revision)
            recovery.clear_recovery(paths.recovery_dir(), old_path)
            recovery.clear_recovery(paths.recovery_dir(), target)
            self._autosaved_changes = changes
            self.settings.add_recent(target)
            self.settings.set("workspace/last", str(target.resolve()))
            self.title_changed.emit()
            self.message.emit(f"Saved {target.name}.", 5000)
            self.saved.emit(str(target))
            outcome["ok"] = True

        self._run_io(f"Saving {target.name}…",
                     lambda progress, should_stop: write_workspace(snapshot, target, progress=progress), done,
                     "The workspace was not saved", f"saving {target.name}")
        return outcome["ok"]

    def _run_io(self, label: str, fn, on_done, failure_title: str, description: str) -> None:
        """Run ``fn`` in the io worker and wait for it in a local event loop (the window keeps painting); busy_changed
        says ``label`` until it has ended, however it ended."""
        if self.io.is_running():
            self.io.wait()  # one open or save at a time: the earlier one finishes first
        loop = QEventLoop()
        conns = []

        def finish(handler, *args) -> None:
            for c in conns:
                self.io.disconnect(c)
            self.busy_changed.emit("")
            loop.quit()
            if handler is not None:
                handler(*args)

        def failed(message: str, details: str) -> None:
            self.failed.emit(failure_title, message, details)

        conns.append(self.io.finished.connect(lambda result: finish(on_done, result)))
        conns.append(self.io.failed.connect(lambda m, d: finish(failed, m, d)))
        conns.append(self.io.cancelled.connect(lambda: finish(None)))
        self.busy_changed.emit(label)
        self.io.start(fn, description)
        if self.io.is_running():
            loop.exec()

    # ---- first start: recovery, the last workspace, or the demo ----
    def recovery_candidates(self) -> list:
        return recovery.find_candidates(paths.recovery_dir())

    def recover(self, candidate) -> bool:
        """Open the recovery file ``candidate`` as the (unsaved) workspace it belongs to."""
        outcome = {"ok": False}

        def done(ws: Workspace) -> None:
            self.set_workspace(ws)
            self.message.emit(f"Recovered unsaved changes from {candidate.saved_text}. Save to keep them.", 15000)
            recovery.discard(candidate)
            self.autosave(force=True)
            outcome["ok"] = True

        self._run_io("Recovering unsaved changes…", lambda progress, should_stop: recovery.open_candidate(candidate),
                     done, "The recovery file could not be read", "reading the recovery file")
        return outcome["ok"]

    @staticmethod
    def discard_recovery(candidates) -> None:
        for c in candidates:
            recovery.discard(c)

    def open_demo(self) -> None:
        """The demo workspace of the fictional city: opened when it exists, else built in a worker (first start)."""
        demo = paths.demo_path()
        if demo.exists() and self.open(demo, remember=False):
            return
        self.set_workspace(Workspace())
        self.run_task("Creating the demo workspace…", _demo_job(demo), self._demo_done, "creating the demo")

    def _demo_done(self, path) -> None:
        ws = self.workspace
        if ws is not None and not ws.dirty and ws.path is None:
            self.open(path, remember=False)
            self.message.emit("This is a demo workspace of a fictional city; import your own data (Ctrl+I) or open "
                              "a workspace (Ctrl+O).", 15000)
        self.demo_ready.emit()

    def run_task(self, label: str, fn, on_done, description: str) -> None:
        conns = []

        def end(handler, *args) -> None:
            for c in conns:
                self.tasks.disconnect(c)
            handler(*args)

        conns.append(self.tasks.finished.connect(lambda r: end(on_done, r)))
        conns.append(self.tasks.failed.connect(lambda m, d: end(lambda: self.failed.emit(m, m, d))))
        conns.append(self.tasks.cancelled.connect(lambda: end(lambda: self.message.emit("Cancelled.", 5000))))
        self.task_changed.emit(label)
        self.tasks.start(fn, description)

    # ---- autosave and recovery ----
    def _on_data_changed(self, _what: str) -> None:
        self._changes += 1
        self.title_changed.emit()

    def autosave(self, force: bool = False) -> bool:
        """Write the recovery file when there are unsaved changes not yet in it (off the UI thread)."""
        ws = self.workspace
        if ws is None or not ws.dirty or (self._changes == self._autosaved_changes and not force):
            return False
        if self.autosaver.is_running():
            return False
        snap = ws.detached()
        source, title, changes = ws.path, self.display_name(), self._changes
        folder = paths.recovery_dir()
        self.autosaver.start(lambda progress, should_stop: recovery.write_recovery(folder, snap, source, title),
                             "writing the recovery file")

        def done(_r, changes=changes, source=source):
            self._autosaved_changes = changes
            # a save that happened while the recovery file was being written makes it stale at once
            cur = self.workspace
            if cur is not None and not cur.dirty:
                recovery.clear_recovery(paths.recovery_dir(), source)

        self.autosaver.finished.connect(done, Qt.ConnectionType.SingleShotConnection)
        return True

    # ---- a big workspace: the engine's indexes are built in a worker while the panels say so ----
    def _warm_if_big(self, what: str = "", ws=None) -> None:
        ws = ws if ws is not None else self.workspace
        if ws is None or what in ("areas", "people"):
            return
        rows = sum(len(df) for k, df in ws.frames.items() if k != "people")
        self.state.big = rows >= WARM_IN_WORKER_ROWS  # the panels follow: their figures in workers too
        if not self.state.big:
            return
        self.state.set_ready(False)
        self.message.emit(f"Preparing the figures for {rows:,d} records…", 0)
        self.warmer.start(lambda progress, should_stop: warm_engine(ws, progress, should_stop),
                          "preparing the figures")

    def _warm_done(self, _result) -> None:
        if self.warmer.is_running():
            return
        self.message.emit("", 0)
        self.state.set_ready(True)

    # ---- close ----
    def wait_for_tasks(self, timeout_s: float = 30.0) -> bool:
        return all(r.wait(timeout_s) for r in (self.io, self.tasks, self.autosaver, self.warmer))

    def shutdown(self) -> None:
        """Stop the timer and the workers and forget the recovery file (a clean close)."""
        self.autosave_timer.stop()
        self.tasks.cancel()
        self.warmer.cancel()
        self.wait_for_tasks()
        ws = self.workspace
        if ws is not None:
            recovery.clear_recovery(paths.recovery_dir(), ws.path)


def warm_engine(ws, progress, should_stop) -> None:
    """Build the counting engine's per-dataset indexes (the slow part of a first grid on a big workspace)."""
    from workstation.engine.analysis import analysis_for

    eng = analysis_for(ws)
    kinds = [k for k in ("offenses", "shootings", "calls", "activity") if len(ws.frames[k])]
    for i, kind in enumerate(kinds):
        if should_stop():
            return
        eng.index(kind)
        progress((i + 1) / len(kinds))


def _demo_job(path: Path):
    def job(progress, should_stop):
        from workstation.demo import records as demo

        ws = demo.build_demo(progress=progress, should_stop=should_stop)
        ws.save(path)
        return path

    return job

"""Run a workstation callable off the UI thread, with progress and cancel (Orange's TaskState, superqt's workers).

The callable takes ``progress(fraction)`` and ``should_stop()`` keyword arguments, as every long job in workstation/
does. The worker never touches widgets: results come back through queued signals to the UI thread.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from workstation.core.errors import Cancelled, UserError

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress repaints a second, however often the job reports


class WorkerSignals(QObject):
    progress = Signal(float)
    finished = Signal(object)      # the callable's return value
    failed = Signal(str, str)      # a sentence for the analyst, and technical details (may be "")
    cancelled = Signal()


class Worker(QRunnable):
    def __init__(self, fn: Callable, description: str = "the task") -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it: the signals must outlive run() until they are delivered
        self.fn = fn
        self.description = description
        self.signals = WorkerSignals()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._last_emit = 0.0
        self._last_value = -1.0

    # called from the worker thread
    def _progress(self, fraction: float) -> None:
        now = time.monotonic()
        f = max(0.0, min(1.0, float(fraction)))
        if f >= 1.0 or now - self._last_emit >= PROGRESS_INTERVAL_S and abs(f - self._last_value) >= 0.001:
            self._last_emit, self._last_value = now, f
            self.signals.progress.emit(f)

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def cancel(self) -> None:
        self._stop.set()

    def is_done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def run(self) -> None:
        try:
            result = self.fn(progress=self._progress, should_stop=self.should_stop)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the UI as a message
            if self._stop.is_set() or isinstance(exc, Cancelled):
                log.info("%s: cancelled", self.description)
                self.signals.cancelled.emit()
            elif isinstance(exc, UserError):
                log.info("%s: %s", self.description, exc)
                self.signals.failed.emit(str(exc), "")
            else:
                log.error("%s failed", self.description, exc_info=True)
                self.signals.failed.emit(
                    f"Something went wrong in {self.description}: {exc}. Nothing was changed; "
                    "please try again, and report it with the details below if it happens again.",
                    traceback.format_exc())
        else:
            # a job that returned has done its work, even if Cancel came too late to stop it
            self.signals.finished.emit(result)
        finally:
            self._done.set()


class TaskRunner(QObject):
    """Runs one task at a time on the global pool. Cancel asks the task to stop and the runner reports ``cancelled``
    when it really has; starting a new task abandons the old one (its result is ignored)."""

    progress = Signal(float)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    running_changed = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.worker: Worker | None = None
        self._abandoned: list[Worker] = []

    def start(self, fn: Callable, description: str = "the task") -> Worker:
        if self.worker is not None:
            self.worker.cancel()
            self._abandoned.append(self.worker)
        w = Worker(fn, description)
        w.signals.progress.connect(lambda f, w=w: self._relay_progress(w, f))
        w.signals.finished.connect(lambda r, w=w: self._end(w, "finished", r))
        w.signals.failed.connect(lambda m, d, w=w: self._end(w, "failed", m, d))
        w.signals.cancelled.connect(lambda w=w: self._end(w, "cancelled"))
        self.worker = w
        QThreadPool.globalInstance().start(w)
        self.running_changed.emit(True)
        return w

    def is_running(self) -> bool:
        return self.worker is not None

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Block until every task started here has ended (at close, and in tests)."""
        ok = True
        for w in [self.worker, *self._abandoned]:
            if w is not None:
                ok = w.wait(timeout_s) and ok
        return ok

    def _relay_progress(self, w: Worker, f: float) -> None:
        if shiboken6.isValid(self) and w is self.worker:
            self.progress.emit(f)

    def _end(self, w: Worker, how: str, *args) -> None:
        # The worker's queued signal can arrive after the window (and this runner, its child) was deleted: the
        # lambdas keep the Python wrapper alive, but the C++ object and its signals are gone.
        if not shiboken6.isValid(self):
            return
        if w in self._abandoned:
            self._abandoned.remove(w)
            return
        if w is not self.worker:
            return
        self.worker = None
        self.running_changed.emit(False)
        getattr(self, how).emit(*args)

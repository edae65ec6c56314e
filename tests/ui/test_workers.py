"""TaskRunner: results come back on the UI thread; a result that arrives after its runner was deleted is dropped."""
import sys
import threading

import shiboken6
from PySide6.QtCore import QObject, QThreadPool

from ui.workers import TaskRunner


def test_finished_result_reaches_the_ui_thread(qtbot):
    runner = TaskRunner()
    seen = {}

    def job(progress, should_stop):
        progress(0.5)
        seen["thread"] = threading.current_thread()
        return 42

    with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
        runner.start(job)
    assert blocker.args == [42]
    assert seen["thread"] is not threading.main_thread()
    assert not runner.is_running()


def test_every_cancel_type_reports_cancelled_not_failed(qtbot):
    """The runner knows a cancel by its base class (core.errors.Cancelled), whatever subclass the job raises; a
    plain UserError is a failure with the analyst's sentence."""
    from workstation.core.errors import Cancelled, UserError
    from workstation.demo.records import DemoCancelled
    from workstation.exports.workbook import ExportCancelled
    from workstation.ingest import ImportCancelled

    runner = TaskRunner()
    for exc in (DemoCancelled("stop"), ImportCancelled("stop"), ExportCancelled("stop"), Cancelled("stop")):
        def job(progress, should_stop, exc=exc):
            raise exc

        with qtbot.waitSignal(runner.cancelled, timeout=10_000):
            runner.start(job)

    def bad(progress, should_stop):
        raise UserError("The file x.csv has no header.")

    with qtbot.waitSignal(runner.failed, timeout=10_000) as blocker:
        runner.start(bad)
    assert blocker.args == ["The file x.csv has no header.", ""]


def test_result_after_the_runner_was_deleted_is_dropped(qtbot):
    """Closing the window while a job's 'finished' is still queued must not raise 'Signal source has been deleted'."""
    parent = QObject()
    runner = TaskRunner(parent)
    release = threading.Event()

    def job(progress, should_stop):
        release.wait(10)
        return "late"

    worker = runner.start(job)
    delivered = []
    worker.signals.finished.connect(lambda r: delivered.append(r))  # queued after the runner's own connection
    parent.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(runner), timeout=5_000)
    release.set()
    assert worker.wait(10)
    QThreadPool.globalInstance().waitForDone(5_000)
    errors = []
    old_hook = sys.excepthook
    sys.excepthook = lambda *a: errors.append(a)
    try:
        # once our later connection got 'finished', the deleted runner's earlier one has been delivered too
        qtbot.waitUntil(lambda: delivered == ["late"], timeout=5_000)
    finally:
        sys.excepthook = old_hook
    assert errors == []

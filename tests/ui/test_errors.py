"""Errors leave a trace: worker failures and Qt's messages go to the log; an unexpected error shows a plain sentence,
the log's path and Copy details (the traceback goes to the clipboard, never into the main text); Help → Open Log
Folder opens the log's folder."""
import logging
import threading

import pytest
from PySide6.QtCore import QUrl, qInstallMessageHandler
from PySide6.QtGui import QDesktopServices, QGuiApplication

from ui import errors
from ui.workers import TaskRunner
from workstation.core import logs


TRACE = 'Traceback (most recent call last):\n  File "x.py", line 3, in job\nZeroDivisionError: division by zero\n'


@pytest.fixture
def log_in_tmp(tmp_path):
    path = logs.setup_logging(tmp_path / "logs")
    yield path
    root = logging.getLogger()
    for h in [h for h in root.handlers if isinstance(h, logs._OurHandler)]:
        root.removeHandler(h)
        h.close()


def test_unexpected_error_dialog_sentence_path_and_copy(qtbot, log_in_tmp):
    sentence = errors.plain_sentence(ZeroDivisionError("division by zero"), "exporting the workbook")
    assert sentence.startswith("Something unexpected went wrong while exporting the workbook (ZeroDivisionError: "
                               "division by zero).")
    dlg = errors.UnexpectedErrorDialog(sentence, TRACE)
    qtbot.addWidget(dlg)
    dlg.show()
    assert "Traceback" not in dlg.sentence.text() and "Traceback" not in dlg.log_label.text()
    assert str(log_in_tmp) in dlg.log_label.text()
    dlg.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert sentence in copied and TRACE in copied and str(log_in_tmp) in copied
    assert dlg.copy_button.text() == "Copied"
    dlg.close()


def test_unexpected_error_from_a_worker_thread_is_shown_on_the_ui_thread(qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(errors.UnexpectedErrorDialog, "exec",
                        lambda self: shown.append((self.sentence.text(), threading.current_thread())) or 0)
    t = threading.Thread(target=lambda: errors.show_unexpected("It broke.", TRACE))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=5_000)
    assert shown[0] == ("It broke.", threading.main_thread())


def test_worker_failure_is_logged_with_its_traceback(qtbot, caplog):
    runner = TaskRunner()

    def job(progress, should_stop):
        return {}["district 7"]

    with caplog.at_level(logging.INFO, logger="ui.workers"):
        with qtbot.waitSignal(runner.failed, timeout=10_000) as blocker:
            runner.start(job, "counting the grid")
    message, details = blocker.args
    assert message.startswith("Something went wrong in counting the grid: 'district 7'.")
    assert "KeyError" in details
    rec = [r for r in caplog.records if r.name == "ui.workers"]
    assert [(r.levelno, r.getMessage()) for r in rec] == [(logging.ERROR, "counting the grid failed")]
    assert rec[0].exc_info[0] is KeyError


def test_qt_messages_go_to_the_log(caplog):
    from PySide6.QtCore import qCritical, qWarning

    qInstallMessageHandler(errors.qt_message)
    try:
        with caplog.at_level(logging.DEBUG, logger="qt"):
            qWarning("a Qt warning for the test")
            qCritical("a Qt critical message for the test")
    finally:
        qInstallMessageHandler(None)
    got = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "qt"]
    assert (logging.WARNING, "a Qt warning for the test") in got
    assert (logging.ERROR, "a Qt critical message for the test") in got


def test_help_menu_opens_the_log_folder(qtbot, monkeypatch, log_in_tmp):
    from ui.main_window import MainWindow

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(QUrl(url).toLocalFile()) or True)
    win = MainWindow()
    qtbot.addWidget(win)
    help_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Help")
    action = next(a for a in help_menu.actions() if a.text() == "Open &Log Folder")
    action.trigger()
    assert opened == [str(log_in_tmp.parent)]
    win.shutdown()


def test_show_error_with_details_uses_the_unexpected_error_dialog(qtbot, monkeypatch):
    from ui.main_window import MainWindow

    shown = []
    monkeypatch.setattr(errors.UnexpectedErrorDialog, "exec",
                        lambda self: shown.append((self.sentence.text(), self.details)) or 0)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show_error("Import", "Something went wrong in the import: boom.", TRACE)
    assert shown == [("Something went wrong in the import: boom.", TRACE)]
    win.shutdown()

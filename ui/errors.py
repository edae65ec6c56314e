"""Errors leave a trace: the log file, Qt's own messages in it, and one dialog for anything unexpected.

``install_error_handling()`` (called once by ui/app.py) sends ``logging`` to a rotating file in the app's data folder
(workstation.core.logs), logs every uncaught exception (any thread) and every Qt message, and shows an unexpected
error as ``UnexpectedErrorDialog``: a plain sentence, the log's path, "Copy details" (the traceback goes to the
clipboard, never into the main text) and "Open log folder".
"""
from __future__ import annotations

import logging
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QtMsgType, QUrl, Signal, qInstallMessageHandler
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QStyle,
                               QVBoxLayout)

from workstation.core.logs import install_excepthooks, log_path, setup_logging
from ui import paths

log = logging.getLogger(__name__)

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
_qt_log = logging.getLogger("qt")


def qt_message(mode, context, message: str) -> None:
    """Qt's message handler: every qDebug/qWarning/qCritical goes to the log with where it came from."""
    where = f" ({context.category})" if context is not None and context.category not in (None, "", "default") else ""
    _qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s%s", message, where)


def open_log_folder() -> bool:
    """Show the log's folder in the file manager (Help → Open log folder)."""
    folder = log_folder()
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def log_folder() -> Path:
    p = log_path()
    return p.parent if p is not None else paths.log_dir()


def plain_sentence(exc: BaseException | None, doing: str = "") -> str:
    """What the analyst reads: what happened in words, never a traceback."""
    what = f" while {doing}" if doing else ""
    reason = f" ({type(exc).__name__}: {exc})" if exc is not None and str(exc) else ""
    return (f"Something unexpected went wrong{what}{reason}. The workstation is still running and your workspace "
            "file has not been changed; save your work, and if it happens again send the log file below to "
            "whoever looks after the workstation.")


class UnexpectedErrorDialog(QDialog):
    """A plain sentence, the log's path, "Copy details" and "Open log folder"."""

    def __init__(self, sentence: str, details: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        self.details = details
        self.sentence = QLabel(sentence)
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where = log_path()
        self.log_label = QLabel(f"The details are in the log file: {where}" if where else
                                "The details could not be written to a log file; use Copy details.")
        self.log_label.setWordWrap(True)
        self.log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(40, 40))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Put the technical details on the clipboard, to paste into an e-mail")
        self.copy_button.clicked.connect(self.copy_details)
        self.folder_button = QPushButton("Open log folder")
        self.folder_button.clicked.connect(open_log_folder)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.folder_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).clicked.connect(self.accept)
        text = QVBoxLayout()
        text.addWidget(self.sentence)
        text.addWidget(self.log_label)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(text, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(buttons)
        self.setMinimumWidth(480)

    def copy_details(self) -> None:
        where = log_path()
        QGuiApplication.clipboard().setText(self.sentence.text() + "\n\n" + self.details +
                                            (f"\nLog file: {where}\n" if where else ""))
        self.copy_button.setText("Copied")


class _Reporter(QObject):
    """Lives in the UI thread: an error from any thread reaches the dialog through this queued signal."""
    report = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.report.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.showing = False

    def _show(self, sentence: str, details: str) -> None:
        if self.showing:  # one dialog at a time: an error storm is in the log, not in twenty dialogs
            return
        self.showing = True
        try:
            parent = QApplication.activeWindow()
            dlg = UnexpectedErrorDialog(sentence, details, parent)
            dlg.exec()
            dlg.deleteLater()
        finally:
            self.showing = False
            while QApplication.overrideCursor() is not None:  # the wait cursor always comes back
                QApplication.restoreOverrideCursor()


_reporter: _Reporter | None = None


def show_unexpected(sentence: str, details: str) -> None:
    """Show the unexpected-error dialog from any thread (the caller has logged the error)."""
    global _reporter
    if QApplication.instance() is None:
        return
    if _reporter is None:
        _reporter = _Reporter()
        _reporter.moveToThread(QApplication.instance().thread())
    _reporter.report.emit(sentence, details)


def _on_uncaught(etype, value, tb) -> None:
    show_unexpected(plain_sentence(value), "".join(traceback.format_exception(etype, value, tb)))


def install_error_handling(folder: Path | None = None) -> Path:
    """Log to ``folder`` (default: the app's data folder/logs), hook uncaught exceptions and Qt's messages."""
    path = setup_logging(folder if folder is not None else paths.log_dir())
    install_excepthooks(on_error=_on_uncaught)
    qInstallMessageHandler(qt_message)
    log.info("PSP Analyst Workstation started (thread %s); log %s", threading.current_thread().name, path)
    return path

"""The app's log: one rotating file in its data folder, so an error leaves a trace an analyst can send.

Qt-free: the UI passes the folder (from Qt's standard locations) to ``setup_logging``; the CLI may pass any folder.
Every module logs through ``logging.getLogger(__name__)``; nothing here decides what is shown to the analyst.
"""
from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from pathlib import Path

LOG_FILE = "workstation.log"
MAX_BYTES = 2_000_000   # a few days of ordinary use per file
BACKUPS = 4             # workstation.log.1 ... .4: at most ~10 MB on disk
FORMAT = "%(asctime)s %(levelname)-8s %(threadName)s %(name)s: %(message)s"

log = logging.getLogger("workstation")


class _OurHandler(logging.handlers.RotatingFileHandler):
    """Marks the handler setup_logging installed, so a second call replaces it instead of adding another."""


def setup_logging(folder, level: int = logging.INFO) -> Path:
    """Send every log record at ``level`` or above to ``folder``/workstation.log (rotated at ~2 MB, 4 old files kept).
    Returns the log file's path. Calling it again (a test, a second window) moves the log; it never doubles lines."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    for h in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(h)
        h.close()
    handler = _OurHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    logging.captureWarnings(True)  # warnings.warn (pandas, shapely) lands in the log too
    return path


def log_path() -> Path | None:
    """The file setup_logging writes to, or None before it ran."""
    for h in logging.getLogger().handlers:
        if isinstance(h, _OurHandler):
            return Path(h.baseFilename)
    return None


class ErrorTally(logging.Handler):
    """Keeps every record logged at ERROR or above (the smoke test fails when there is one)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first(self) -> str:
        """The first error in one line, with the exception it carried (``log.error(..., exc_info=True)`` in a worker
        says only "X failed"; the reason is the exception)."""
        r = self.records[0]
        text = f"{r.levelname} {r.name}: {r.getMessage()}"
        exc = r.exc_info[1] if r.exc_info else None
        if exc is not None:
            text += f" ({type(exc).__name__}: {exc})"
        return text


def log_uncaught(etype, value, tb) -> None:
    """Write an exception nobody caught to the log, with its traceback (sys.excepthook / threading.excepthook)."""
    if issubclass(etype, KeyboardInterrupt):
        return
    log.critical("Uncaught %s: %s", etype.__name__, value, exc_info=(etype, value, tb))


def install_excepthooks(on_error=None) -> None:
    """Log every uncaught exception, in the main thread and in any other; then call ``on_error(etype, value, tb)``
    (the UI shows its dialog there). Without ``on_error`` Python's own report still goes to stderr."""
    def hook(etype, value, tb):
        log_uncaught(etype, value, tb)
        if on_error is not None:
            on_error(etype, value, tb)
        else:
            sys.__excepthook__(etype, value, tb)

    def thread_hook(args):
        if args.exc_type is SystemExit:
            return
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook

"""Imported first by every benchmark, so each runs as plain ``.venv/bin/python benchmarks/X.py`` from a fresh shell:
this checkout first on sys.path, and Qt set up as the tests set it (offscreen, and QtWebEngine's sandbox off when
running as root, where it refuses to start otherwise)."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def spinner(app, slice_ms: int = 20):
    """``spin(cond, timeout, what)``: run ``app``'s events until ``cond()`` holds; after ``timeout`` seconds the
    benchmark stops with "timed out: <what>" (a benchmark that waits forever measures nothing)."""
    import time

    from PySide6.QtCore import QEventLoop

    def spin(cond, timeout, what):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit(f"timed out: {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, slice_ms)

    return spin

"""UI test set-up: every UI test ends with no worker running, no window left open and nothing waiting for deletion
(``no_leaks``, autouse). Offscreen Qt, the map's URL scheme and settings in tmp come from tests/conftest.py."""
import pytest


@pytest.fixture(autouse=True)
def no_leaks(qapp):
    """After the test, no worker thread runs, no top-level window is left open and every object scheduled for
    deletion is gone (windows take their timers with them). Autouse: it runs after each test's own fixtures have
    closed what they opened."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool
    from PySide6.QtWidgets import QApplication

    assert QThreadPool.globalInstance().waitForDone(20000), "a worker thread was still running after the test"
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    left = [type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert not left, f"windows left open after the test: {left}"

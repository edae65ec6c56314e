"""UI test set-up: offscreen Qt, custom URL schemes registered before the QApplication exists, settings in tmp."""
import importlib.util
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def pytest_configure(config):
    # QWebEngineUrlScheme.registerScheme must run before the QApplication is created (platform.md).
    # find_spec of a submodule raises when the parent package (ui.map) is not there yet
    if importlib.util.find_spec("ui.map") is not None and importlib.util.find_spec("ui.map.scheme") is not None:
        from ui.map.scheme import register_scheme

        register_scheme()


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path, monkeypatch):
    """Every test gets fresh QSettings in its own folder; real user settings are never touched."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("PSP_WORKSTATION_DATA_DIR", str(tmp_path / "appdata"))
    yield


@pytest.fixture
def no_leaks(qapp):
    """Request first (or via usefixtures): after the test, no worker thread runs, no top-level window is left open and
    every object scheduled for deletion is gone (windows take their timers with them)."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool
    from PySide6.QtWidgets import QApplication

    assert QThreadPool.globalInstance().waitForDone(20000), "a worker thread was still running after the test"
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    left = [type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert not left, f"windows left open after the test: {left}"

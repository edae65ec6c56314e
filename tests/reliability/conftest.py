"""Reliability tests: fuzzed imports, kill -9 during writes, formula injection, user-facing messages, the build.

The build test (``-m build``) runs only when PSP_RUN_BUILD=1: it takes minutes and ~0.7 GB of disk.
"""
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def pytest_configure(config):
    # QWebEngineUrlScheme.registerScheme must run before any QApplication exists (platform.md)
    import importlib.util

    if importlib.util.find_spec("ui.map") is not None and importlib.util.find_spec("ui.map.scheme") is not None:
        from ui.map.scheme import register_scheme

        register_scheme()


@pytest.fixture
def app_dirs(tmp_path, monkeypatch):
    """QSettings and the app's data folder (demo, recovery files) in this test's own folder."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("PSP_WORKSTATION_DATA_DIR", str(tmp_path / "appdata"))
    return tmp_path

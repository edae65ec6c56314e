"""What the window prepares while it is idle after start, so that an analyst's first click does not freeze it.

- QtWebEngine's context: the first profile of a process starts it, on the UI thread only, and that took 150-580 ms
  when it came with the first opening of the Map tab on a 10M-record workspace (about 50 ms in a process that has
  not opened one yet). It starts QtWebEngine's two helper processes (about 50 MB resident each, mostly shared); the
  map page itself is still built only when its tab opens.
- The modules of the dialogs an analyst opens most (the import wizard, the export dialog, the drill-through): a
  module's first import ran on the UI thread when its dialog first opened, 76-102 ms for the import wizard with
  a 10M-record workspace open (PySide6's import hook reads each new module's source). They are imported in a pool
  thread; no widget is made there.
"""
from __future__ import annotations

import importlib
import logging

from PySide6.QtCore import QCoreApplication, QThreadPool
from PySide6.QtWebEngineCore import QWebEngineProfile

log = logging.getLogger(__name__)

DIALOG_MODULES = ("ui.dialogs.import_wizard", "ui.dialogs.export", "ui.dialogs.drill")


def _import_dialog_modules() -> None:
    for name in DIALOG_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the dialog's own first use then imports it again and reports the error there
            log.warning("could not import %s ahead of its first use", name, exc_info=True)


def warm_up_after_start() -> None:
    """Once per application (the first window's event loop runs it); the profile belongs to the application."""
    app = QCoreApplication.instance()
    if app is None or app.property("psp_web_engine_warm"):
        return
    app.setProperty("psp_web_engine_warm", True)
    QWebEngineProfile(app)
    app.setProperty("psp_dialogs_warm", True)
    QThreadPool.globalInstance().start(_import_dialog_modules)

"""What the window prepares while it is idle after start, so that an analyst's first click does not freeze it.

- QtWebEngine's context (``ui.map.scheme.warm_web_engine``): started by the first profile of the process, on the UI
  thread only.
- The modules of the dialogs an analyst opens most (the import wizard, the export dialog, the drill-through): a
  module's first import ran on the UI thread when its dialog first opened, 76-102 ms for the import wizard with
  a 10M-record workspace open (PySide6's import hook reads each new module's source). They are imported in a pool
  thread; no widget is made there.
"""
from __future__ import annotations

import importlib
import logging

from PySide6.QtCore import QCoreApplication, QThreadPool

from ui.map.scheme import warm_web_engine

log = logging.getLogger(__name__)

DIALOG_MODULES = ("ui.dialogs.import_wizard", "ui.dialogs.export", "ui.dialogs.drill")


def _import_dialog_modules() -> None:
    for name in DIALOG_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the dialog's own first use then imports it again and reports the error there
            log.warning("could not import %s ahead of its first use", name, exc_info=True)


def warm_up_after_start() -> None:
    """Once per application (the first window's event loop runs it)."""
    app = QCoreApplication.instance()
    if app is None or app.property("psp_dialogs_warm"):
        warm_web_engine()
        return
    app.setProperty("psp_dialogs_warm", True)
    warm_web_engine()
    QThreadPool.globalInstance().start(_import_dialog_modules)

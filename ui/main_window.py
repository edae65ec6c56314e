"""The main window: the area and date bar, the panels as tabs, menus and shortcuts, import/export, the status bar
with data freshness and the busy indicator, and remembered layout. The workspace's life (open, save, recover,
autosave, the demo, the warm-up) is ui/workspace_controller.py's; the window asks the questions and shows the answers."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout,
                               QWidget)

from workstation.core.workspace import FILE_SUFFIX, Workspace
from ui.settings import Settings
from ui.state import AppState
from ui.drops import dropped_files
from ui.main_menus import build_actions, build_menus, build_toolbar, icon
from ui.warm import warm_up_after_start
from ui.widgets.freshness import FreshnessLabel
from ui.widgets.job_status import JobStatus
from ui.workspace_controller import WorkspaceController

log = logging.getLogger(__name__)

APP_TITLE = "PSP Analyst Workstation"
WORKSPACE_FILTER = f"PSP workspaces (*{FILE_SUFFIX})"
IMPORT_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".geojson", ".json", ".shp", ".zip", ".kml", ".kmz"}


class MainWindow(QMainWindow):
    workspace_opened = Signal(object)   # the Workspace now shown
    demo_ready = Signal()

    def __init__(self, settings: Settings | None = None, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self.state = AppState(parent=self)
        # open, save, recover, autosave, the demo and the warm-up; made before the panels, which connect to the
        # state after it (a big change must mark the state not ready before they refresh)
        self.controller = WorkspaceController(self.state, self.settings, self)
        self.tasks = self.controller.tasks            # the status bar's cancellable job (creating the demo)
        self.autosaver = self.controller.autosaver
        self.autosave_timer = self.controller.autosave_timer
        self._busy_cursor = False
        self.setAcceptDrops(True)
        self.setWindowIcon(icon("app"))
        self.setDocumentMode(True)

        build_actions(self)
        self._build_panels()
        build_menus(self)
        build_toolbar(self)
        self._build_status()
        QTimer.singleShot(0, warm_up_after_start)   # QtWebEngine and the common dialogs, before the first click

        self.state.workspace_changed.connect(self._on_workspace_changed)
        self.state.data_changed.connect(self._on_data_changed)
        self.state.selection_changed.connect(lambda: self.freshness.update_from(self.state.workspace))
        self.state.selection_changed.connect(self._remember_selection)

        c = self.controller
        c.failed.connect(self.show_error)
        c.message.connect(self._show_message)
        c.busy_changed.connect(self._busy_changed)
        c.task_changed.connect(self._task_changed)
        c.title_changed.connect(self._update_title)
        c.opened.connect(self.workspace_opened)
        c.demo_ready.connect(self.demo_ready)
        avail = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(min(1320, avail.width()) if avail else 1320, min(740, avail.height()) if avail else 740)
        self._restore_layout()
        self._update_title()

    # ---------------------------------------------------------------------------------------------------------
    # construction
    def _build_panels(self) -> None:
        from ui.panels.compstat import CompStatPanel
        from ui.panels.data import DataPanel
        from ui.panels.trends import TrendsPanel

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.compstat = CompStatPanel(self.state, self)
        self.compstat.status_message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.compstat.import_requested.connect(lambda: self.import_files([]))
        self.compstat.demo_requested.connect(self.open_demo_workspace)
        self.tabs.addTab(self.compstat, icon("compstat"), "CompStat")
        self.trends = TrendsPanel(self.state, self.settings, self)
        self.trends.import_requested.connect(lambda: self.import_files([]))
        self.trends.demo_requested.connect(self.open_demo_workspace)
        self.tabs.addTab(self.trends, icon("trends"), "Trends")
        self.map_panel = None
        # QtWebEngine takes seconds to start: build the map when its tab is first opened, not at start-up
        self.map_tab = LazyTab(self._make_map_panel, self)
        self.tabs.addTab(self.map_tab, icon("map"), "Map")
        from ui.panels.shoot_review import ShootReviewPanel

        self.shoot_review = ShootReviewPanel(self.state, self)
        self.shoot_review.status_message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.shoot_review.import_requested.connect(lambda: self.import_files([]))
        self.shoot_review.demo_requested.connect(self.open_demo_workspace)
        self.tabs.addTab(self.shoot_review, icon("shoot_review"), "Shoot Review")
        from ui.panels.spatial import SpatialPanel

        self.spatial = SpatialPanel(self.state, self)
        self.spatial.status_message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.spatial.demo_requested.connect(self.open_demo_workspace)
        self.spatial.show_on_map.connect(self.show_overlay_on_map)
        self.tabs.addTab(self.spatial, icon("hot_spots"), "Hot Spots")
        self.data = DataPanel(self.state, self)
        self.data.kind = self.settings.get("data/dataset") or "offenses"
        split = self.settings.get_bytes("data/splitter")
        if not split.isEmpty():
            self.data.splitter.restoreState(split)
        self.data.import_requested.connect(lambda: self.import_files([]))
        self.tabs.addTab(self.data, icon("data"), "Data")
        self.setCentralWidget(self.tabs)
        self.tab_actions = []
        for i in range(self.tabs.count()):
            a = QAction(f"&{i + 1} {self.tabs.tabText(i)}", self)
            a.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            a.triggered.connect(lambda _c=False, i=i: self.tabs.setCurrentIndex(i))
            self.addAction(a)
            self.tab_actions.append(a)
            self.tabs.setTabToolTip(i, f"{self.tabs.tabText(i)} (Ctrl+{i + 1})")

    def show_overlay_on_map(self, overlay) -> None:
        """A spatial analysis result onto the Map tab (which is built now if it was not yet)."""
        if self.map_tab is not None and self.map_tab.ensure() is self.map_panel and self.map_panel is not None:
            self.map_panel.set_overlay(overlay)
            self.tabs.setCurrentWidget(self.map_tab)

    def _make_map_panel(self):
        try:
            from ui.map.panel import MapPanel

            self.map_panel = MapPanel(self.state)
        except Exception as exc:  # noqa: BLE001 - a broken map must not keep the analyst from the grid
            self.map_panel = None
            lab = QLabel(f"The map could not be started: {exc}. The other panels work as usual.")
            lab.setWordWrap(True)
            log.exception("The map could not be started")
            return lab
        return self.map_panel

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.freshness = FreshnessLabel()
        self.job_status = JobStatus()
        self.task_label, self.task_progress, self.task_cancel = (self.job_status.label, self.job_status.progress,
                                                                 self.job_status.cancel_button)
        self.task_cancel.clicked.connect(self.tasks.cancel)
        sb.addPermanentWidget(self.job_status)
        sb.addPermanentWidget(self.freshness)
        self.controller.progress.connect(self.job_status.set_fraction)

    def _task_changed(self, label: str) -> None:
        """A cancellable background job (the demo) started or ended: its label, progress and Cancel."""
        self.job_status.show_job(label, cancellable=True)

    def _busy_changed(self, label: str) -> None:
        """Open or save running (label) or done (""): the wait cursor, the label and progress, file actions off. The
        cursor comes back on every end, whatever the error, because the controller always signals the end."""
        if label and not self._busy_cursor:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            self._busy_cursor = True
        elif not label and self._busy_cursor:
            QApplication.restoreOverrideCursor()
            self._busy_cursor = False
        for a in (self.act_new, self.act_open, self.act_open_demo, self.act_save, self.act_save_as, self.act_import):
            a.setEnabled(not label)
        if label or not self.tasks.is_running():
            self.job_status.show_job(label, cancellable=False)

    def _show_message(self, text: str, ms: int) -> None:
        if text:
            self.statusBar().showMessage(text, ms)
        else:
            self.statusBar().clearMessage()

    # ---------------------------------------------------------------------------------------------------------
    # start: recover, reopen the last workspace, or (first start) the demo
    def start(self, path: str | None = None) -> None:
        remembered_area = self.settings.get("selection/area")  # read before opening resets it to citywide
        candidates = self.controller.recovery_candidates()
        if candidates:
            choice, cand = self.ask_recover(candidates)
            if choice == "recover" and cand is not None:
                if self.controller.recover(cand):
                    return
            elif choice == "discard":
                self.controller.discard_recovery(candidates)
        if path and self.open_path(path):
            return
        last = self.settings.get("workspace/last")
        if self.settings.get("workspace/reopen_last") and last and Path(last).exists():
            if self.open_path(last):
                self._restore_selection(remembered_area)
                return
        self.open_demo()

    def open_demo(self) -> None:
        self.controller.open_demo()

    def open_demo_workspace(self) -> None:
        if self.tasks.is_running() or not self.maybe_save():
            return
        self.open_demo()

    # ---------------------------------------------------------------------------------------------------------
    # workspace lifecycle (the work is the controller's; the questions are asked here)
    def set_workspace(self, ws: Workspace) -> None:
        self.controller.set_workspace(ws)

    def open_path(self, path, remember: bool = True) -> bool:
        return self.controller.open(path, remember)

    def new_workspace(self) -> None:
        if self.maybe_save():
            self.controller.new_workspace()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(Path(self.settings.get("workspace/last") or Path.home()).parent)
        path, _ = QFileDialog.getOpenFileName(self, "Open workspace", start, WORKSPACE_FILTER)
        if path:
            self.open_path(path)

    def save(self) -> bool:
        ws = self.state.workspace
        if ws is None:
            return False
        if ws.path is None or self.controller.is_demo_file(ws.path):
            return self.save_as()
        return self.controller.save_to(ws.path)

    def save_as(self) -> bool:
        ws = self.state.workspace
        if ws is None:
            return False
        start = str(ws.path) if ws.path and not self.controller.is_demo_file(ws.path) else \
            str(Path(self.settings.get("workspace/last") or Path.home() / "workspace.psw").parent / "workspace.psw")
        path, _ = QFileDialog.getSaveFileName(self, "Save workspace as", start, WORKSPACE_FILTER)
        if not path:
            return False
        if not path.lower().endswith(FILE_SUFFIX):
            path += FILE_SUFFIX
        return self.controller.save_to(path)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the open workspace (saved, discarded, or nothing to save)."""
        ws = self.state.workspace
        if ws is None or not ws.dirty:
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    # dialogs that tests replace
    def ask_save_changes(self) -> str:
        name = self.controller.display_name()
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"{name} has changes that are not saved. Save them before closing it?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        r = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(r), "cancel")

    def ask_recover(self, candidates):
        from ui.dialogs.recover import RecoverDialog

        dlg = RecoverDialog(candidates, self)
        dlg.exec()
        out = (dlg.choice, dlg.candidate)
        dlg.deleteLater()
        return out

    def show_error(self, title: str, message: str, details: str = "") -> None:
        """A sentence the analyst can act on; with technical ``details`` (an unexpected error, already logged) the
        unexpected-error dialog: the sentence, the log's path and Copy details, never the traceback itself."""
        if details:
            from ui.errors import UnexpectedErrorDialog

            run_dialog(UnexpectedErrorDialog(message, details, self))
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.exec()

    def open_log_folder(self) -> bool:
        from ui.errors import open_log_folder

        return open_log_folder()

    def show_shortcuts(self) -> None:
        from ui.dialogs.shortcuts import ShortcutsDialog

        run_dialog(ShortcutsDialog(self))

    def show_network(self) -> None:
        from ui.dialogs.network import NetworkDialog

        if self.state.workspace is not None:
            run_dialog(NetworkDialog(self.state, self))

    def show_about(self) -> None:
        from ui.dialogs.about import AboutDialog

        run_dialog(AboutDialog(self))

    # ---------------------------------------------------------------------------------------------------------
    # autosave and recovery
    def _on_data_changed(self, _what: str) -> None:
        self._update_title()
        self.freshness.update_from(self.state.workspace)

    def autosave(self, force: bool = False) -> bool:
        return self.controller.autosave(force)

    def wait_for_tasks(self, timeout_s: float = 30.0) -> bool:
        return self.controller.wait_for_tasks(timeout_s)

    # ---------------------------------------------------------------------------------------------------------
    # title, freshness, selection
    def _update_title(self) -> None:
        ws = self.state.workspace
        demo = ws is not None and self.controller.is_demo_file(ws.path)
        name = self.controller.display_name() + (" (demo)" if demo else "")
        self.setWindowTitle(f"{name}[*] — {APP_TITLE}")
        self.setWindowModified(bool(ws is not None and ws.dirty))

    def _on_workspace_changed(self) -> None:
        self._update_title()
        self.freshness.update_from(self.state.workspace)

    def _remember_selection(self) -> None:
        self.settings.set("selection/area", self.state.area_key)

    def _restore_selection(self, key: str) -> None:
        if key and key in self.area_bar.keys():
            self.state.set_area(key)

    def refresh_panels(self) -> None:
        w = self.tabs.currentWidget()
        if hasattr(w, "refresh"):
            w.refresh()

    # ---------------------------------------------------------------------------------------------------------
    # recent workspaces
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent()
        for i, p in enumerate(recent):
            a = self.recent_menu.addAction(f"&{i + 1} {Path(p).name}  —  {Path(p).parent}")
            a.setData(p)
            a.triggered.connect(lambda _c=False, p=p: self._open_recent(p))
        if not recent:
            a = self.recent_menu.addAction("No recent workspaces")
            a.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", lambda: self.settings.set("workspace/recent", []))

    def _open_recent(self, path: str) -> None:
        if self.maybe_save():
            self.open_path(path)

    # ---------------------------------------------------------------------------------------------------------
    # import, export, drag and drop
    def import_files(self, files: list[str], database: bool = False) -> None:
        if self.state.workspace is None:
            self.set_workspace(Workspace())
        if database:   # File > Import from Database...: the rows of an SQL query (a warehouse instead of files)
            from ui.dialogs.database_import import DatabaseImportDialog as Dialog

            wiz = Dialog(self.state, self.settings, self)
        else:
            from ui.dialogs.import_wizard import ImportWizard

            wiz = ImportWizard(self.state, self.settings, [str(f) for f in files], self)
        wiz.exec()
        kind = wiz.imported_kind
        wiz.shutdown()
        wiz.deleteLater()
        if kind in ("offenses", "shootings", "calls", "activity", "people"):
            self.data.select_dataset(kind)

    def export_workbook(self) -> None:
        ws = self.state.workspace
        if ws is None or ws.as_of() is None:
            self.show_error("Nothing to export", "The workspace has no records yet: import data first (Ctrl+I).")
            return
        from ui.dialogs.export import ExportDialog

        dlg = ExportDialog(self.state, self.settings, self)
        dlg.exec()
        dlg.shutdown()                          # its worker stops before the dialog goes
        dlg.deleteLater()

    def dragEnterEvent(self, e) -> None:
        if dropped_files(e.mimeData()):
            e.acceptProposedAction()
        else:
            e.ignore()

    def dragMoveEvent(self, e) -> None:
        if dropped_files(e.mimeData()):
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:
        files = dropped_files(e.mimeData())
        if not files:
            return
        e.acceptProposedAction()
        # let the drop finish before a modal dialog opens
        QTimer.singleShot(0, lambda: self.handle_dropped(files))

    def handle_dropped(self, files: list[str]) -> None:
        workspaces = [f for f in files if f.lower().endswith(FILE_SUFFIX)]
        if workspaces:
            if self.maybe_save():
                self.open_path(workspaces[0])
            return
        self.import_files(files)

    # ---------------------------------------------------------------------------------------------------------
    # layout and close
    def _restore_layout(self) -> None:
        geo = self.settings.get_bytes("window/geometry")
        if not geo.isEmpty():
            self.restoreGeometry(geo)
        st = self.settings.get_bytes("window/state")
        if not st.isEmpty():
            self.restoreState(st)
        tab = self.settings.get("window/tab")
        if 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)

    def save_layout(self) -> None:
        self.settings.set_bytes("window/geometry", self.saveGeometry())
        self.settings.set_bytes("window/state", self.saveState())
        self.settings.set("window/tab", self.tabs.currentIndex())
        self.settings.set("data/dataset", self.data.kind)
        self.settings.set_bytes("data/splitter", self.data.splitter.saveState())
        for panel in (self.trends, self.map_panel):
            if panel is not None and hasattr(panel, "save_settings"):
                panel.save_settings()
        self.settings.sync()

    def closeEvent(self, e) -> None:
        if self.tasks.is_running() and not self._confirm_cancel_task():
            e.ignore()
            return
        if not self.maybe_save():
            e.ignore()
            return
        self.shutdown()
        e.accept()

    def _confirm_cancel_task(self) -> bool:
        r = QMessageBox.question(self, "A task is running",
                                 f"{self.task_label.text()} is still running. Stop it and close?")
        return r == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        """Clean close: stop timers and workers, forget the recovery file, remember the layout."""
        self.controller.shutdown()
        self.save_layout()
        for panel in (self.compstat, self.trends, self.shoot_review, self.spatial, self.map_panel, self.data):
            if panel is not None and hasattr(panel, "shutdown"):
                panel.shutdown()


class LazyTab(QWidget):
    """A tab whose content is built the first time it is shown."""

    def __init__(self, factory, parent=None) -> None:
        super().__init__(parent)
        self.factory = factory
        self.content = None
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)

    def ensure(self):
        if self.content is None:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.content = self.factory()
            finally:
                QApplication.restoreOverrideCursor()
            self._lay.addWidget(self.content)
        return self.content

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.ensure()


def open_folder(path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def run_dialog(dlg) -> None:
    """Show a modal dialog and let Qt delete it afterwards (with its workers' and views' children)."""
    dlg.exec()
    dlg.deleteLater()

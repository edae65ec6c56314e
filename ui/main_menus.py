"""The main window's actions, menus and toolbar: built here so the window class holds behaviour, not a long list of
QActions. Each function sets the window's attributes (``act_open``, ``recent_menu``, ``area_bar``, ...) as before."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QStyle, QToolBar

from workstation.core.paths import RESOURCES
from ui.widgets.area_bar import AreaBar

ICON_DIR = RESOURCES / "icons"


def icon(name: str, fallback: QStyle.StandardPixmap | None = None) -> QIcon:
    p = ICON_DIR / f"{name}.svg"
    if p.exists():
        return QIcon(str(p))
    if fallback is not None:
        return QApplication.style().standardIcon(fallback)
    return QIcon()


def build_actions(win) -> None:
    S = QStyle.StandardPixmap

    def act(text, slot, shortcut=None, tip="", ic=None):
        a = QAction(text, win)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(f"{tip} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                         if shortcut is not None else tip)
        if ic is not None:
            a.setIcon(ic)
        a.triggered.connect(slot)
        win.addAction(a)
        return a

    win.act_new = act("&New Workspace", win.new_workspace, QKeySequence.StandardKey.New,
                       "Start an empty workspace", icon("new", S.SP_FileIcon))
    win.act_open = act("&Open Workspace…", win.open_dialog, QKeySequence.StandardKey.Open,
                        "Open a workspace file", icon("open", S.SP_DialogOpenButton))
    win.act_open_demo = act("Open &Demo Workspace", win.open_demo_workspace, None,
                             "Open the demo workspace of a fictional city")
    win.act_save = act("&Save", win.save, QKeySequence.StandardKey.Save, "Save the workspace",
                        icon("save", S.SP_DialogSaveButton))
    win.act_save_as = act("Save &As…", win.save_as, QKeySequence("Ctrl+Shift+S"),
                           "Save the workspace under a new name")
    win.act_import = act("&Import Data…", lambda: win.import_files([]), QKeySequence("Ctrl+I"),
                          "Import spreadsheets of offenses, shootings, calls, activity or people",
                          icon("import", S.SP_ArrowDown))
    win.act_export = act("&Export CompStat Workbook…", win.export_workbook, QKeySequence("Ctrl+E"),
                          "Export the CompStat workbook for Excel", icon("export", S.SP_ArrowUp))
    win.act_quit = act("&Quit", win.close, QKeySequence.StandardKey.Quit, "Close the workstation")
    win.act_about = act("&About PSP Analyst Workstation", win.show_about, None,
                         "Versions of the workstation and its libraries")
    win.act_shortcuts = act("&Keyboard Shortcuts", win.show_shortcuts, QKeySequence("F1"),
                             "Every keyboard shortcut of the workstation")
    win.act_refresh = act("&Refresh", win.refresh_panels, QKeySequence("F5"), "Recompute the panels")
    win.act_newest = act("As of &Newest Record", lambda: win.area_bar.reset_as_of(), QKeySequence("Ctrl+Home"),
                          "Set the as-of date to the newest record's date")
    win.act_focus_area = act("Choose &Area", lambda: win.area_bar.focus_area(), QKeySequence("Ctrl+L"),
                              "Pick the area every panel shows")
    win.act_prev_area = act("&Previous Area", lambda: win.area_bar.step_area(-1), QKeySequence("Ctrl+PgUp"),
                             "Show the previous area")
    win.act_next_area = act("Ne&xt Area", lambda: win.area_bar.step_area(1), QKeySequence("Ctrl+PgDown"),
                             "Show the next area")
    win.act_prev_day = act("As of One Day &Earlier", lambda: win.area_bar.step_day(-1), QKeySequence("Alt+Left"),
                            "Move the as-of date one day back")
    win.act_next_day = act("As of One Day &Later", lambda: win.area_bar.step_day(1), QKeySequence("Alt+Right"),
                            "Move the as-of date one day forward")
    win.act_prev_week = act("As of One &Week Earlier", lambda: win.area_bar.step_day(-7), QKeySequence("Alt+Up"),
                             "Move the as-of date a week back")
    win.act_next_week = act("As of One W&eek Later", lambda: win.area_bar.step_day(7), QKeySequence("Alt+Down"),
                             "Move the as-of date a week forward")
    win.recent_actions: list[QAction] = []



def build_menus(win) -> None:
    mb = win.menuBar()
    f = mb.addMenu("&File")
    f.addAction(win.act_new)
    f.addAction(win.act_open)
    win.recent_menu = f.addMenu("Open &Recent")
    win.recent_menu.aboutToShow.connect(win._fill_recent_menu)
    f.addAction(win.act_open_demo)
    f.addSeparator()
    f.addAction(win.act_save)
    f.addAction(win.act_save_as)
    f.addSeparator()
    f.addAction(win.act_import)
    win.act_import_db = f.addAction("Import from &Database…")
    win.act_import_db.setStatusTip("Import the rows of an SQL query from a PostgreSQL RMS/CAD warehouse")
    win.act_import_db.triggered.connect(lambda _checked=False: win.import_files([], database=True))
    f.addAction(win.act_export)
    f.addSeparator()
    f.addAction(win.act_quit)
    v = mb.addMenu("&View")
    for a in win.tab_actions:
        v.addAction(a)
    v.addSeparator()
    v.addAction(win.act_focus_area)
    v.addAction(win.act_prev_area)
    v.addAction(win.act_next_area)
    v.addSeparator()
    v.addAction(win.act_newest)
    v.addAction(win.act_prev_day)
    v.addAction(win.act_next_day)
    v.addAction(win.act_prev_week)
    v.addAction(win.act_next_week)
    v.addSeparator()
    v.addAction(win.act_refresh)
    from ui.dialogs.scenarios import ScenarioActions

    win.scenario_actions = ScenarioActions(win)      # compare, rename/delete, GeoJSON, export for a scenario
    win.scenario_actions.fill_menu(mb.addMenu("&Scenarios"))
    tools = mb.addMenu("&Tools")
    win.act_network = tools.addAction("Co-offending &Network…")
    win.act_network.setStatusTip("People who offend together: ranked candidates for the high-value-target list")
    win.act_network.triggered.connect(lambda _checked=False: win.show_network())
    h = mb.addMenu("&Help")
    h.addAction(win.act_shortcuts)
    win.act_log_folder = h.addAction("Open &Log Folder")
    win.act_log_folder.setStatusTip("The workstation's log files, to send when something went wrong")
    win.act_log_folder.triggered.connect(lambda _checked=False: win.open_log_folder())
    h.addSeparator()
    h.addAction(win.act_about)
    win._fill_recent_menu()



def build_toolbar(win) -> None:
    tb = QToolBar("Main", win)
    tb.setObjectName("main_toolbar")
    tb.setMovable(False)
    tb.setIconSize(QSize(18, 18))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.addAction(win.act_open)
    tb.addAction(win.act_save)
    tb.addSeparator()
    tb.addAction(win.act_import)
    tb.addAction(win.act_export)
    tb.addSeparator()
    win.area_bar = AreaBar(win.state, win)
    tb.addWidget(win.area_bar)
    win.addToolBar(tb)
    win.toolbar = tb

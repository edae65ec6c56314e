"""The main window driven through its real widgets: the grid follows the area and date bar to exactly the core report's
values, drill-through lists exactly the records behind a cell, workspace lifecycle, recovery after a crash, settings."""
from pathlib import Path

import pandas as pd
import pytest
import shiboken6
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from ui_fixtures import AS_OF, small_workspace
from ui.widgets.area_bar import KEY_ROLE
from workstation import formatting
from workstation.core import schema
from workstation.reports.compstat import compstat_grid
from workstation.core.workspace import Area, Workspace



@pytest.fixture
def make_window(qtbot):
    made = []

    def make(size=(1366, 740)):
        from ui.main_window import MainWindow

        w = MainWindow()
        if size:
            w.resize(*size)
        made.append(w)
        return w

    yield make
    for w in made:
        if shiboken6.isValid(w):
            w.shutdown()
            w.hide()
            w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    for w in made:
        assert not shiboken6.isValid(w), "the window (and its timers) outlived the test"


def _pick_area(win, key):
    """Choose an area through the combo box, as an analyst would."""
    combo = win.area_bar.area_combo
    for row in range(combo.count()):
        if combo.model().item(row).data(Qt.ItemDataRole.UserRole + 1) == key:
            combo.setCurrentIndex(row)
            return
    raise AssertionError(f"{key} is not in the area bar")


def _grid_matches_core(win, ws, key, as_of):
    from ui.models.report_model import RAW_ROLE

    tables = compstat_grid(ws, key, as_of)
    model = win.compstat.model
    data_rows = [r for r in range(model.rowCount()) if not model.is_section(r)]
    assert len(data_rows) == sum(len(t.rows) for t in tables)
    i = 0
    for t in tables:
        for tr, row in enumerate(t.rows):
            r = data_rows[i]
            for c, value in enumerate(row):
                shown = model.data(model.index(r, c))
                raw = model.data(model.index(r, c), RAW_ROLE)
                assert raw == value or (value is None and raw is None), (t.title, row[0], t.columns[c])
                if t.columns[c] != "Flag":
                    text = formatting.format_value(value, t.column_kinds[c])
                    # a window cut short by a dataset that ends before the as-of date carries its mark (†)
                    mark = t.cell_marks.get((tr, c), "") if text else ""
                    assert shown == text + mark
            i += 1
    return tables


def test_area_and_as_of_drive_the_grid_to_the_core_report(make_window, qtbot):
    ws = small_workspace()
    win = make_window()
    win.set_workspace(ws)
    win.show()
    qtbot.waitExposed(win)
    assert win.state.as_of == AS_OF  # default: the newest record's date
    _grid_matches_core(win, ws, "citywide", AS_OF)

    _pick_area(win, "target_area:Corridor")
    assert win.state.area_key == "target_area:Corridor"
    tables = _grid_matches_core(win, ws, "target_area:Corridor", AS_OF)
    assert "Corridor" in win.compstat.title.text()

    win.area_bar.date_edit.setDate(win.area_bar.date_edit.date().addDays(-40))
    assert win.state.as_of == AS_OF - pd.Timedelta(days=40)
    tables2 = _grid_matches_core(win, ws, "target_area:Corridor", AS_OF - pd.Timedelta(days=40))
    assert [t.rows for t in tables2] != [t.rows for t in tables]  # the figures really moved

    # keyboard: next area, a week back, newest again
    win.act_next_area.trigger()
    assert win.state.area_key != "target_area:Corridor"
    win.act_prev_week.trigger()
    assert win.state.as_of == AS_OF - pd.Timedelta(days=47)
    win.act_newest.trigger()
    assert win.state.as_of == AS_OF
    _grid_matches_core(win, ws, win.state.area_key, AS_OF)


def test_drill_through_lists_exactly_the_records_behind_each_cell(make_window, qtbot):
    ws = small_workspace()
    win = make_window()
    win.set_workspace(ws)
    win.state.set_area("district:1")
    win.show()
    qtbot.waitExposed(win)
    model = win.compstat.model
    checked = 0
    for r in range(model.rowCount()):
        if model.is_section(r):
            continue
        for c in range(model.columnCount()):
            key = model.cell_key(r, c)
            value = model.value(r, c)
            if not key or value is None:
                continue
            dlg = win.compstat.drill(r, c, exec_dialog=False)
            qtbot.addWidget(dlg)
            assert dlg.view.model.rowCount() == int(value), (model.value(r, 0), model.columns[c])
            # and the records are the measure's: every drilled row carries the area's district or lies inside it
            dlg.done(0)
            checked += 1
    assert checked >= 20


def test_drill_dialog_table_sorts_filters_and_copies(make_window, qtbot):
    ws = small_workspace()
    win = make_window()
    win.set_workspace(ws)
    win.show()
    model = win.compstat.model
    r = model.find("Part I crime (total)")
    c = model.columns.index("YTD")
    dlg = win.compstat.drill(r, c, exec_dialog=False)
    qtbot.addWidget(dlg)
    view = dlg.view
    n = view.model.rowCount()
    assert n == int(model.value(r, c))
    occurred = view.model.columns().index("occurred")
    view.table.sortByColumn(occurred, Qt.SortOrder.DescendingOrder)
    first = view.model.data(view.model.index(0, occurred))
    assert first.startswith("2019-09-")
    view.filter_edit.setText("Robbery")
    view._apply_filter()
    cat = view.model.columns().index("category")
    shown = {view.model.data(view.model.index(i, cat)) for i in range(view.model.rowCount())}
    assert shown == {"Robbery"}
    copied = view.table.copy_selection()
    text = QApplication.clipboard().text().splitlines()
    assert copied == view.model.rowCount() and len(text) == copied + 1
    assert text[0].split("\t")[cat] == "Category"
    dlg.done(0)


def test_new_save_as_recent_and_title(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    win = make_window()
    win.set_workspace(small_workspace())
    assert win.windowTitle().startswith("Untitled workspace")
    assert not win.isWindowModified()
    win.state.workspace.put_area(Area("Scenario A", "scenario", small_workspace().areas[2].geometry,
                                      base="Corridor"))
    assert win.isWindowModified()
    target = tmp_path / "mine"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert win.save()                       # no name yet: Save asks for one
    saved = tmp_path / "mine.psw"
    assert saved.exists() and not win.isWindowModified()
    assert win.windowTitle().startswith("mine.psw")
    assert win.settings.recent()[0] == str(saved.resolve())
    assert Workspace.open(saved).area("Scenario A", "scenario") is not None

    win.new_workspace()
    assert len(win.state.workspace.frames["offenses"]) == 0
    win._open_recent(str(saved))
    assert win.state.workspace.path == saved
    assert len(win.state.workspace.frames["offenses"]) == 6000


def test_unsaved_changes_are_asked_about_before_closing(make_window, monkeypatch):
    win = make_window()
    win.set_workspace(small_workspace())
    win.state.workspace.changed("areas")
    asked = []
    monkeypatch.setattr(win, "ask_save_changes", lambda: asked.append(1) or "cancel")
    win.new_workspace()                    # cancelled: the workspace stays
    assert asked and len(win.state.workspace.frames["offenses"]) == 6000
    monkeypatch.setattr(win, "ask_save_changes", lambda: "discard")
    win.new_workspace()
    assert len(win.state.workspace.frames["offenses"]) == 0


def test_crash_recovery_restores_unsaved_work(make_window, qtbot, tmp_path, monkeypatch):
    from ui import paths
    from workstation.core import recovery

    path = tmp_path / "weekly.psw"
    small_workspace().save(path)
    win = make_window()
    win.settings.set("workspace/last", str(path))
    win.start()
    assert win.state.workspace.path == path
    ws = win.state.workspace
    extra = ws.frames["offenses"].iloc[:25].copy()
    extra["incident_id"] = [f"NEW{i}" for i in range(25)]
    extra["record_id"] = extra["incident_id"]
    ws.set_frame("offenses", pd.concat([ws.frames["offenses"], extra], ignore_index=True))
    ws.put_area(Area("Redrawn", "scenario", small_workspace().areas[2].geometry, base="Corridor"))
    assert win.autosave()
    assert win.autosaver.wait(20)
    qtbot.waitUntil(lambda: not win.autosaver.is_running())
    # the crash: no clean close, the window is simply gone
    win.autosave_timer.stop()
    win.hide()
    win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert Workspace.open(path).area("Redrawn", "scenario") is None   # the file itself was never touched

    offered = []

    def recover(cands):
        offered.extend(cands)
        return "recover", cands[0]

    win2 = make_window()
    monkeypatch.setattr(win2, "ask_recover", recover)
    win2.start()
    assert len(offered) == 1 and offered[0].source == str(path.resolve())
    ws2 = win2.state.workspace
    assert ws2.path == Path(str(path.resolve())) or ws2.path == path
    assert len(ws2.frames["offenses"]) == 6025
    assert ws2.area("Redrawn", "scenario") is not None
    assert ws2.dirty and win2.isWindowModified()
    # saving makes the recovery file stale: it is not offered again
    win2.save()
    win2.shutdown()
    assert recovery.find_candidates(paths.recovery_dir()) == []


def test_first_start_opens_demo_and_later_starts_reopen_last(make_window, qtbot, tmp_path):
    from ui import paths

    win = make_window()
    win.start()
    qtbot.waitUntil(lambda: paths.demo_path().exists() and win.state.workspace.path is not None, timeout=60000)
    ws = win.state.workspace
    assert ws.path.resolve() == paths.demo_path().resolve()
    assert len(ws.frames["offenses"]) > 100_000 and len(ws.target_areas) == 2
    assert "(demo)" in win.windowTitle()
    assert "Offenses as of" in win.freshness.text()
    win.shutdown()

    mine = tmp_path / "mine.psw"
    small_workspace().save(mine)
    win2 = make_window()
    win2.settings.set("workspace/last", str(mine))
    win2.start()
    assert win2.state.workspace.path == mine


def test_layout_and_choices_are_remembered(make_window, qtbot, tmp_path):
    path = tmp_path / "mine.psw"
    small_workspace().save(path)
    win = make_window()
    win.resize(760, 560)
    win.show()
    qtbot.waitExposed(win)
    win.open_path(path)
    win.tabs.setCurrentWidget(win.data)
    win.data.select_dataset("shootings")
    win.data.splitter.setSizes([300, 400])
    sizes = win.data.splitter.sizes()
    _pick_area(win, "district:2")
    size = (win.size().width(), win.size().height())
    if win.trends is not None:
        win.trends.set_interval("M")
        win.trends.rest_box.setChecked(True)
    win.shutdown()

    win2 = make_window(size=None)
    win2.show()
    qtbot.waitExposed(win2)
    win2.start()                                    # reopens the last workspace, with the area it showed
    assert win2.state.workspace.path == path
    assert win2.state.area_key == "district:2"
    assert win2.tabs.currentWidget() is win2.data
    assert (win2.size().width(), win2.size().height()) == size
    assert win2.data.kind == "shootings"
    assert win2.data.splitter.sizes() == sizes
    if win2.trends is not None:
        assert win2.trends.interval_combo.currentData() == "M"
        assert win2.trends.rest_box.isChecked()


def test_dropping_files_opens_the_import_wizard(make_window, qtbot, monkeypatch):
    win = make_window()
    win.set_workspace(small_workspace())
    got = []
    monkeypatch.setattr(win, "import_files", lambda files: got.append(files))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile("/data/week.csv"), QUrl.fromLocalFile("/data/notes.docx")])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    win.dropEvent(ev)
    qtbot.waitUntil(lambda: bool(got))
    assert got == [["/data/week.csv"]]        # only files it can import


def test_about_lists_library_versions(qtbot):
    from ui.dialogs.about import AboutDialog

    dlg = AboutDialog()
    qtbot.addWidget(dlg)
    names = [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())]
    assert {"Python", "PySide6", "pandas", "numpy", "pyqtgraph", "Qt"} <= set(names)
    import pandas

    row = names.index("pandas")
    assert dlg.table.item(row, 1).text() == pandas.__version__
    assert "pandas " + pandas.__version__ in dlg.copy_versions()


def test_shortcuts_cover_the_common_actions(make_window):
    from ui.dialogs.shortcuts import shortcut_rows

    win = make_window()
    keys = dict(shortcut_rows(win))
    for name in ("Open Workspace", "Save", "Save As", "Import Data", "Export CompStat Workbook", "Refresh",
                 "Choose Area", "Next Area", "As of Newest Record", "CompStat", "Data", "Keyboard Shortcuts"):
        assert name in keys, name
    assert keys["Import Data"] == "Ctrl+I" and keys["Export CompStat Workbook"] == "Ctrl+E"
    assert len(set(keys.values())) == len(keys)     # no key does two things


def _calls_threads(monkeypatch, module, name) -> list:
    """Wrap ``module.name`` so that each call notes the thread it ran on; the list of those threads."""
    import threading

    seen, real = [], getattr(module, name)

    def spy(*a, **kw):
        seen.append(threading.current_thread())
        return real(*a, **kw)

    monkeypatch.setattr(module, name, spy)
    return seen


def _show_big(make_window, qtbot, monkeypatch, ws):
    """The window, shown, taking ``ws`` with its few thousand rows counted as a big workspace (figures in workers)."""
    import ui.workspace_controller as wc

    monkeypatch.setattr(wc, "WARM_IN_WORKER_ROWS", 1000)
    win = make_window()
    win.show()
    qtbot.waitExposed(win)
    win.set_workspace(ws)
    return win


def test_big_workspace_is_prepared_off_the_ui_thread(make_window, qtbot, monkeypatch):
    import threading

    from ui.panels import compstat as compstat_panel

    grid_threads = _calls_threads(monkeypatch, compstat_panel, "compstat_tables")
    ws = small_workspace()
    win = _show_big(make_window, qtbot, monkeypatch, ws)
    assert not win.state.ready
    assert win.compstat.stack.currentWidget() is win.compstat.busy     # says so instead of freezing
    qtbot.waitUntil(lambda: win.state.ready, timeout=30000)
    # then the grid's figures are computed in a worker too; the busy state stays until the model swap
    qtbot.waitUntil(lambda: not win.compstat.computing, timeout=30000)
    assert win.compstat.stack.currentIndex() == 0
    _grid_matches_core(win, ws, "citywide", AS_OF)
    # an import into a big workspace prepares again, then shows the new figures
    extra = ws.frames["offenses"].iloc[:10].copy()
    extra["incident_id"] = [f"X{i}" for i in range(10)]
    extra["record_id"] = extra["incident_id"]
    ws.set_frame("offenses", pd.concat([ws.frames["offenses"], extra], ignore_index=True))
    qtbot.waitUntil(lambda: win.state.ready and not win.compstat.computing, timeout=30000)
    _grid_matches_core(win, ws, "citywide", AS_OF)
    assert len(grid_threads) >= 2 and threading.main_thread() not in grid_threads   # both grids in a worker


def test_data_tab_area_filter_of_a_big_workspace_runs_off_the_ui_thread(make_window, qtbot, monkeypatch):
    """On a big workspace the Data tab finds the records of the area picked in the area bar, and sorts them, in
    workers (benchmarks/interaction_stall_bench.py measures the stalls this keeps away at 10M records); the table
    then lists exactly the records inside the area, and an area the analyst has already left never lands."""
    import threading

    from ui.panels import data as data_panel
    from ui.widgets import records_view as rv

    monkeypatch.setattr(rv, "ASYNC_FILTER_ROWS", 1000)       # the fixture's 6,000 offenses count as a big table
    scope_threads = _calls_threads(monkeypatch, data_panel, "area_scope_mask")
    sort_threads = _calls_threads(monkeypatch, formatting, "argsort_rows")
    ws = small_workspace()
    win = _show_big(make_window, qtbot, monkeypatch, ws)
    qtbot.waitUntil(lambda: win.state.ready and not win.compstat.computing, timeout=30000)
    assert win.state.big
    data = win.data
    win.tabs.setCurrentWidget(data)
    data.select_dataset("offenses")
    view = data.records

    # independently of the engine: the corridor is a box, and a record without coordinates is in no target area
    df = ws.frames["offenses"]
    in_corridor = (df["lon"] > -87.98) & (df["lon"] < -87.94) & (df["lat"] > 43.02) & (df["lat"] < 43.06)
    # district 1 is the western square; a record without coordinates is placed by its district column
    in_d1 = ((df["lon"] >= -88.0) & (df["lon"] < -87.9) & (df["lat"] >= 43.0) & (df["lat"] < 43.1)) | (
        df["lon"].isna() & (df["district"].astype(str) == "1"))

    def shown_ids() -> list[str]:
        return list(df["record_id"].to_numpy()[view.model.source_rows()])

    # a district, then at once the target area: the district's rows (if they come back first) are dropped
    win.area_bar.area_combo.setCurrentIndex(next(r for r in range(win.area_bar._model.rowCount())
                                                 if win.area_bar._model.item(r).data(KEY_ROLE) == "district:1"))
    assert data.busy and "finding the records in" in data.title.text()   # says so instead of freezing
    assert view.count_label.text() == "Finding the records…"
    win.state.set_area("target_area:Corridor")
    qtbot.waitUntil(lambda: not data.busy, timeout=30000)
    expected = df.loc[in_corridor, "record_id"]
    assert 0 < len(expected) < len(df)
    assert view.model.rowCount() == len(expected) and sorted(shown_ids()) == sorted(expected)
    assert data.title.text() == f"Offenses in Corridor: {len(expected):,d} records"
    assert view.count_label.text() == f"{len(expected):,d} records"

    # sorted by date, newest first, still only the corridor's records
    occurred = view.model.columns().index("occurred")
    view.table.sortByColumn(occurred, Qt.SortOrder.DescendingOrder)
    assert view.busy
    qtbot.waitUntil(lambda: not data.busy, timeout=30000)
    assert shown_ids() == list(df.loc[in_corridor].sort_values("occurred", ascending=False, kind="stable")["record_id"])

    # another area keeps the sort
    win.state.set_area("district:1")
    qtbot.waitUntil(lambda: not data.busy, timeout=30000)
    expected = df.loc[in_d1].sort_values("occurred", ascending=False, kind="stable")["record_id"]
    assert shown_ids() == list(expected)
    assert data.title.text() == f"Offenses in District 1: {len(expected):,d} records"

    # citywide: every record, at once
    win.state.set_area("citywide")
    qtbot.waitUntil(lambda: not data.busy, timeout=30000)
    assert view.model.rowCount() == len(df)
    main = threading.main_thread()
    assert len(scope_threads) >= 3 and main not in scope_threads      # every area's rows found in a worker
    assert sort_threads and main not in sort_threads                  # and the sort computed in one too


def test_drill_of_a_big_workspace_finds_the_records_off_the_ui_thread(make_window, qtbot, monkeypatch):
    import threading

    from ui.panels import compstat as compstat_panel

    threads = _calls_threads(monkeypatch, compstat_panel, "records_behind")
    ws = small_workspace()
    win = _show_big(make_window, qtbot, monkeypatch, ws)
    qtbot.waitUntil(lambda: win.state.ready and not win.compstat.computing, timeout=30000)
    model = win.compstat.model
    r, c = model.find("Part I crime (total)"), model.columns.index("YTD")
    assert win.compstat.drill(r, c, exec_dialog=False) is None          # the records are found in a worker
    qtbot.waitUntil(lambda: win.compstat.drill_dialog is not None, timeout=30000)
    dlg = win.compstat.drill_dialog
    qtbot.addWidget(dlg)
    df = ws.frames["offenses"]
    start = pd.Timestamp(AS_OF.year, 1, 1)
    expected = df[df["category"].isin(schema.PART1) & (df["occurred"] >= start)
                  & (df["occurred"] < AS_OF + pd.Timedelta(days=1))]
    assert dlg.view.model.rowCount() == len(expected) == int(model.value(r, c))
    assert threads and threading.main_thread() not in threads
    dlg.done(0)


def test_taking_in_an_imports_result_runs_off_the_ui_thread(make_window, qtbot, monkeypatch, tmp_path,
                                                           import_with_wizard):
    """A big workspace takes in an import: the import, the engine's warm-up and the grid's figures all run in worker
    threads; the UI thread only adopts the result and swaps the grid's model (benchmarks/stall_bench.py measures the
    stalls this keeps away at 1M rows)."""
    import threading

    import ui.workspace_controller as wc
    from ui.dialogs import import_wizard as iw
    from ui.panels import compstat as compstat_panel

    threads = {key: _calls_threads(monkeypatch, module, name)
               for key, module, name in (("import", iw, "import_files"), ("warm-up", wc, "warm_engine"),
                                         ("grid", compstat_panel, "compstat_tables"))}
    ws = small_workspace()
    win = _show_big(make_window, qtbot, monkeypatch, ws)
    qtbot.waitUntil(lambda: win.state.ready and not win.compstat.computing and win.compstat.model.rowCount() > 0,
                    timeout=30000)
    robbery_row = win.compstat.model.find("Robbery", "Part I offenses")
    wtd = win.compstat.model.columns.index("WTD")
    robberies_before = win.compstat.model.value(robbery_row, wtd)
    for seen in threads.values():
        seen.clear()

    # 40 robberies (NIBRS 120) in the week to the as-of date, under new incident numbers
    src = tmp_path / "robberies.csv"
    pd.DataFrame({"incident_number": [f"R{i:03d}" for i in range(40)],
                  "offense_date": ["2019-09-25 12:00"] * 40, "nibrs_code": ["120"] * 40}).to_csv(src, index=False)
    wiz = iw.ImportWizard(win.state, win.settings, [str(src)], win)
    assert import_with_wizard(wiz) == "done", wiz.run_page.status.text()
    assert len(ws.frames["offenses"]) == 6040                 # the open workspace took the result
    qtbot.waitUntil(lambda: win.state.ready and threads["grid"] and not win.compstat.computing, timeout=30000)

    main = threading.main_thread()
    for what, seen in threads.items():
        assert seen and all(t is not main for t in seen), f"{what} ran on the UI thread: {seen}"
    robbery_row = win.compstat.model.find("Robbery", "Part I offenses")
    assert win.compstat.model.value(robbery_row, wtd) == robberies_before + 40
    _grid_matches_core(win, ws, "citywide", AS_OF)
    wiz.shutdown()
    wiz.close()


def test_empty_workspace_shows_the_next_step(make_window, qtbot, monkeypatch):
    win = make_window()
    win.show()
    qtbot.waitExposed(win)
    win.set_workspace(Workspace())
    assert win.compstat.stack.currentWidget() is win.compstat.empty
    asked = []
    monkeypatch.setattr(win, "import_files", lambda files: asked.append(files))
    win.compstat.empty.import_button.click()
    assert asked == [[]]
    assert win.area_bar.date_edit.text() == "no records"


def test_web_engine_is_started_while_idle_not_by_the_first_map_tab(make_window, qtbot):
    """QtWebEngine starts with the first profile of the process, on the UI thread: the window starts it once it is
    idle after start, so the first opening of the Map tab does not freeze the window for it (docs/scaling.md)."""
    from PySide6.QtWebEngineCore import QWebEngineProfile

    win = make_window()
    app = QApplication.instance()
    assert win.map_panel is None                                  # the map itself is still built on first use
    qtbot.waitUntil(lambda: bool(app.property("psp_web_engine_warm")), timeout=10_000)
    assert app.findChildren(QWebEngineProfile)
    # the common dialogs' modules are imported in a pool thread, not on the UI thread at their first opening
    import sys

    from PySide6.QtCore import QThreadPool
    from ui.warm import DIALOG_MODULES

    assert app.property("psp_dialogs_warm")
    assert QThreadPool.globalInstance().waitForDone(20_000)
    assert all(name in sys.modules for name in DIALOG_MODULES)

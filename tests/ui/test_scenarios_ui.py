"""The Scenarios menu: rename and delete (confirmed; the official boundary untouched), the comparison dialog (the core
table, coloured and explained, beside a map of both outlines), GeoJSON out and back in, a self-crossing file refused,
the workbook export preset to a scenario, the map following a rename or delete, and recovery after a crash."""
import json
from pathlib import Path

import pytest
import shapely
import shiboken6
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QWidget

from ui_fixtures import AS_OF, CORRIDOR, small_workspace
from workstation import formatting
from workstation.whatif import scenarios as sc
from workstation.core.commands import freeze_shape
from workstation.core.workspace import Workspace

WIDER = CORRIDOR.buffer(0.01, join_style="mitre")


def workspace_with_scenario() -> Workspace:
    ws = small_workspace()
    sc.add_scenario(ws, "Wider", WIDER, base="Corridor")
    ws.dirty = False
    return ws


@pytest.fixture
def window(qtbot, tmp_path):
    from ui.main_window import MainWindow

    path = tmp_path / "weekly.psw"
    workspace_with_scenario().save(path)
    w = MainWindow()
    w.resize(1366, 740)
    w.open_path(path)
    errors = []
    w.scenario_actions.show_error = lambda title, message: errors.append(message)
    w.errors = errors
    yield w
    if shiboken6.isValid(w):
        w.shutdown()
        w.hide()
        w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def official(ws):
    a = ws.area("Corridor", "target_area")
    return shapely.to_wkb(a.geometry), a.version


def test_rename_and_delete_from_the_menu(window, monkeypatch):
    acts = window.scenario_actions
    ws = window.state.workspace
    before = official(ws)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Scenarios")
    assert [a.text() for a in menu.actions() if a.text()] == [
        "&Compare Two Areas…", "&Rename Scenario…", "&Delete Scenario…", "E&xport Boundary as GeoJSON…",
        "&Import Boundary as Scenario…", "Export CompStat for this &Scenario…"]
    assert acts.act_rename.isEnabled() and acts.act_delete.isEnabled()
    window.state.set_area("scenario:Wider")
    asked = []
    answers = iter(["corridor", "Corridor wide"])                 # a taken name is refused, then asked again
    monkeypatch.setattr(acts, "ask_text", lambda title, label, text: asked.append(text) or next(answers))
    sc.add_scenario(ws, "CORRIDOR", CORRIDOR)
    acts.act_rename.trigger()
    assert asked == ["Wider", "Wider"] and "already exists" in window.errors[0]
    assert ws.area("Corridor wide", "scenario") is not None and ws.area("Wider", "scenario") is None
    assert window.state.area_key == "scenario:Corridor wide"       # the panels follow the renamed scenario
    assert "scenario:Corridor wide" in window.area_bar.keys() and "scenario:Wider" not in window.area_bar.keys()
    assert window.area_bar.area_combo.currentText().strip() == "Scenario: Corridor wide"
    # delete asks first; "No" keeps it
    monkeypatch.setattr(acts, "confirm", lambda title, text: asked.append(text) or False)
    assert not acts.delete()
    assert "Delete the scenario 'Corridor wide'? The target area 'Corridor' is not changed." in asked[-1]
    assert ws.area("Corridor wide", "scenario") is not None
    monkeypatch.setattr(acts, "confirm", lambda title, text: True)
    acts.act_delete.trigger()
    assert ws.area("Corridor wide", "scenario") is None
    assert window.state.area_key == "target_area:Corridor"        # back to the boundary it was drawn from
    assert official(ws) == before and window.isWindowModified()
    assert acts.delete("CORRIDOR") and ws.scenarios == []
    assert not acts.act_rename.isEnabled() and not acts.act_delete.isEnabled()


def test_compare_dialog_shows_the_core_table_and_both_outlines(window, qtbot):
    from ui.map.view import delete_now

    ws = window.state.workspace
    window.state.set_area("scenario:Wider")
    dlg = window.scenario_actions.compare(exec_dialog=False)
    try:
        assert dlg.keys() == ("target_area:Corridor", "scenario:Wider")   # the scenario with its target area
        core = sc.compare(ws, "target_area:Corridor", "scenario:Wider", window.state.as_of)
        m = dlg.model
        assert m.rowCount() == len(core.rows)
        r = next(i for i, row in enumerate(core.rows) if row[0] == "Part I violent crime")
        a, b = core.rows[r][1], core.rows[r][2]
        assert b > a > 0
        assert [m.data(m.index(r, c)) for c in range(1, 5)] == [
            f"{a:,d}", f"{b:,d}", f"+{b - a:,d}", formatting.format_value(core.rows[r][4], "pct_change")]
        assert m.data(m.index(r, 3), Qt.ItemDataRole.BackgroundRole) is not None
        assert m.change(r, 3) == "bad" and m.change(r, 1) == ""    # more crime inside B: red, as in the grid
        tip = m.data(m.index(r, 2), Qt.ItemDataRole.ToolTipRole)
        assert "A, Corridor" in tip and "B, Scenario: Wider" in tip and "Double-click" in tip
        assert m.data(m.index(0, 1)) == formatting.format_value(core.rows[0][1], "rate")   # square miles
        assert m.data(m.index(1, 3)).endswith(" pts")
        assert "Part I violent" in m.data(m.index(r, 0), Qt.ItemDataRole.ToolTipRole)
        # double-click on B's count lists exactly its records
        drill = dlg.drill(r, 2, exec_dialog=False)
        assert drill.view.model.rowCount() == b
        drill.done(0)
        drill.deleteLater()
        text = dlg.copy_table()
        assert text.splitlines()[:2] == ["A: Corridor", "B: Scenario: Wider"]
        # the map: both outlines, fitted, from the local scheme only
        page = dlg.last_page
        assert "A: Corridor" in page.html and "B: Scenario: Wider" in page.html and '"dashArray": "9 6"' in page.html
        s, w, n, e = page.bounds
        assert (w, s, e, n) == pytest.approx(WIDER.bounds)
        dlg.show()
        qtbot.waitUntil(lambda: not dlg.map_view.loading, timeout=20000)
        qtbot.waitUntil(lambda: dlg.map_view.eval_js("!!(window.PSP && PSP.painted)") is True, timeout=20000)
        assert dlg.map_view.interceptor.blocked == []
        # the page was loaded before the dialog was shown: once shown, it fits both outlines in the view, clear of
        # the legend in the bottom-right corner
        where = """JSON.stringify((function () {
            var m = PSP.map, b = L.latLngBounds(PSP.fitBounds), s = m.getSize();
            var nw = m.latLngToContainerPoint(b.getNorthWest()), se = m.latLngToContainerPoint(b.getSouthEast());
            var c = m.getContainer().getBoundingClientRect();
            var l = m.getContainer().querySelector('.psp-legend').getBoundingClientRect();
            return {x0: nw.x, y0: nw.y, x1: se.x, y1: se.y, w: s.x, h: s.y, lx: l.left - c.left, ly: l.top - c.top};
        })())"""

        def fitted():
            g = json.loads(dlg.map_view.eval_js(where))
            inside = 0 <= g["x0"] and g["x1"] <= g["w"] and 0 <= g["y0"] and g["y1"] <= g["h"]
            return inside and (g["x1"] <= g["lx"] or g["y1"] <= g["ly"]) and g["w"] >= 280

        qtbot.waitUntil(fitted, timeout=10000)
        dlg.swap()
        assert dlg.keys() == ("scenario:Wider", "target_area:Corridor")
        assert m.data(m.index(r, 3)) == f"−{b - a:,d}" and m.change(r, 3) == "good"
    finally:
        delete_now(dlg)


def test_geojson_round_trip_and_a_self_crossing_file_refused(window, tmp_path, monkeypatch):
    acts = window.scenario_actions
    ws = window.state.workspace
    window.state.set_area("scenario:Wider")
    out = acts.export_geojson(path=tmp_path / "wider")                 # the suffix is added
    assert out == tmp_path / "wider.geojson"
    assert json.loads(out.read_text(encoding="utf-8"))["properties"]["name"] == "Wider"
    monkeypatch.setattr(acts, "ask_open_path", lambda title: str(out))
    monkeypatch.setattr(acts, "ask_text", lambda title, label, text: text)   # accept the suggested name
    acts.act_import_geojson.trigger()
    back = ws.area("Wider (2)", "scenario")
    assert back is not None and back.base == "Corridor"
    assert freeze_shape(back.geometry) == freeze_shape(ws.area("Wider", "scenario").geometry)
    assert window.state.area_key == "scenario:Wider (2)"
    t = sc.compare(ws, "scenario:Wider", "scenario:Wider (2)", window.state.as_of)
    assert all(row[c] in (0, None) for row in t.rows for c in range(1, len(row)) if t.role_of(c) == "diff")
    # a bow tie: refused with the reason, nothing added
    bow = {"type": "Polygon", "coordinates": [[[-87.98, 43.02], [-87.94, 43.06], [-87.94, 43.02], [-87.98, 43.06],
                                              [-87.98, 43.02]]]}
    bad = tmp_path / "bow.geojson"
    bad.write_text(json.dumps(bow), encoding="utf-8")
    n = len(ws.areas)
    assert acts.import_geojson(path=bad) is None
    assert "bow.geojson: The boundary crosses itself near 43.04000, -87.96000 (lat, lon)" in window.errors[-1]
    assert len(ws.areas) == n


def test_export_compstat_for_this_scenario_presets_the_dialog(window):
    window.state.set_area("scenario:Wider")
    dlg = window.scenario_actions.export_compstat(exec_dialog=False)
    try:
        assert dlg.scenario_combo.currentData() == "Wider" and "Wider" in dlg.windowTitle()
        assert "target_area:Corridor" in dlg.area_keys()
    finally:
        dlg.shutdown()
        dlg.deleteLater()


class Host(QWidget):
    """What ScenarioActions needs of the main window, around a bare MapPanel."""

    def __init__(self, state, map_panel):
        super().__init__()
        self.state = state
        self.map_panel = map_panel


def test_the_map_follows_a_rename_and_keeps_an_unsaved_edit_of_a_deleted_scenario(qtbot):
    from ui.dialogs.scenarios import ScenarioActions
    from ui.map.panel import DRAFT_KEY, MapPanel
    from ui.map.view import delete_now
    from ui.state import AppState

    state = AppState(workspace_with_scenario())
    state.set_as_of(AS_OF)
    panel = MapPanel(state)
    host = Host(state, panel)
    acts = ScenarioActions(host)
    try:
        state.set_area("scenario:Wider")
        assert panel.editing_key == "scenario:Wider"
        assert acts.rename(new_name="Wide") == "Wide"
        assert panel.editing_key == "scenario:Wide" and panel.editor.area_key == "scenario:Wide"
        assert panel.boundary_box.currentData() == "scenario:Wide" and not panel.has_unsaved_edit()
        # an edit not yet saved survives the deletion of its scenario, as a new shape
        shrunk = freeze_shape(CORRIDOR.buffer(0.005, join_style="mitre"))
        panel.editor.set_shape(shrunk)
        acts.confirm = lambda title, text: True
        assert acts.delete("Wide")
        assert panel.editing_key == "new" and panel.editor.shape == shrunk
        assert state.workspace.meta[DRAFT_KEY]["area_key"] == "new"
        assert panel.boundary_box.currentData() == "new"
        # a save under a taken name asks before replacing
        sc.add_scenario(state.workspace, "Taken", WIDER)
        panel._confirm_replace = lambda name: False
        assert panel.save_scenario("taken") is None
        panel._confirm_replace = lambda name: True
        assert panel.save_scenario("taken") == "taken"
        assert [a.name for a in state.workspace.scenarios] == ["taken"]
        assert freeze_shape(state.workspace.area("taken", "scenario").geometry) == shrunk
    finally:
        panel.shutdown()
        delete_now(panel)
        host.deleteLater()


def test_unsaved_rename_delete_and_import_are_in_the_recovery_file(window, qtbot, tmp_path, monkeypatch):
    acts = window.scenario_actions
    ws = window.state.workspace
    path = Path(ws.path)
    sc.add_scenario(ws, "Narrow", CORRIDOR.buffer(-0.005, join_style="mitre"), base="Corridor")
    exported = sc.export_boundary(ws, "scenario:Narrow", tmp_path / "narrow.geojson")
    acts.rename("Wider", "Wide")
    monkeypatch.setattr(acts, "confirm", lambda title, text: True)
    assert acts.delete("Narrow")
    assert acts.import_geojson(path=exported, name="Narrow again") is not None
    assert window.autosave()
    assert window.autosaver.wait(20)
    qtbot.waitUntil(lambda: not window.autosaver.is_running())
    # the crash: no clean close
    window.autosave_timer.stop()
    window.hide()
    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert [a.name for a in Workspace.open(path).scenarios] == ["Wider"]     # the file itself is untouched

    from ui.main_window import MainWindow

    win2 = MainWindow()
    try:
        monkeypatch.setattr(win2, "ask_recover", lambda cands: ("recover", cands[0]))
        win2.start()
        ws2 = win2.state.workspace
        assert [(a.name, a.base) for a in ws2.scenarios] == [("Wide", "Corridor"), ("Narrow again", "Corridor")]
        assert freeze_shape(ws2.area("Wide", "scenario").geometry) == freeze_shape(WIDER)
        assert official(ws2) == official(Workspace.open(path))
    finally:
        win2.shutdown()
        win2.hide()
        win2.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

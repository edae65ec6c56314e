"""Tools → Co-offending Network: the dialog's table is the core report; choosing a person lists exactly their
incidents and co-offenders."""
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from network_data import network_workspace  # noqa: E402

from workstation.reports import network  # noqa: E402


def _dialog(qtbot, ws, area="citywide", as_of="2019-06-30"):
    from ui.dialogs.network import NetworkDialog
    from ui.state import AppState

    state = AppState(ws)
    state.set_area(area)
    state.set_as_of(as_of)
    dlg = NetworkDialog(state)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.table is not None, timeout=10000)
    return dlg


def test_table_equals_core_report_and_person_drill(qtbot, tmp_path):
    ws = network_workspace()
    dlg = _dialog(qtbot, ws)
    since = pd.Timestamp("2019-06-30") - pd.Timedelta(days=364)
    assert dlg.current_params()["since"] == since and dlg.current_params()["area_key"] == "citywide"
    core = network.candidates(ws, since=since, as_of="2019-06-30")
    shown = dlg.candidates_view.model.view_frame()
    assert shown["Person"].tolist() == core.column("Person")
    assert shown["Why"].tolist() == core.column("Why")
    assert shown["Co-offenders"].tolist() == core.column("Co-offenders")
    # the first row is chosen on arrival; choose X (rank 6) instead
    row = shown["Person"].tolist().index("X")
    dlg.candidates_view.table.selectRow(row)
    assert dlg.person == "X"
    assert dlg.incidents_view.model.view_frame()["incident_id"].tolist() == ["I4", "I5"]
    assert dlg.co_view.model.view_frame()["person_id"].tolist() == ["C", "D"]
    # saving the candidates goes through the formula-safe CSV writer
    out = tmp_path / "c.csv"
    dlg.candidates_view.write_csv(out)
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert back["Person"].tolist() == core.column("Person")
    dlg.close()


def test_area_follows_the_area_bar_and_filters(qtbot):
    ws = network_workspace()
    dlg = _dialog(qtbot, ws, area="target_area:West Side")
    assert dlg.area_combo.currentData() == "target_area:West Side"
    row = dlg.candidates_view.model.view_frame()["Person"].tolist().index("E")
    dlg.candidates_view.table.selectRow(row)
    assert dlg.incidents_view.model.view_frame()["incident_id"].tolist() == ["I3"]   # I8 is outside the area
    dlg.victims_check.setChecked(True)
    qtbot.waitUntil(lambda: not dlg.is_busy() and "V" in dlg.graph, timeout=10000)
    assert "V" in dlg.candidates_view.model.view_frame()["Person"].tolist()
    dlg.close()


def test_tools_menu_opens_the_dialog_on_the_area_bar_area(qtbot, monkeypatch):
    import shiboken6
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from ui.dialogs.network import NetworkDialog
    from ui.main_window import MainWindow

    seen = []

    def fake_exec(self):
        qtbot.waitUntil(lambda: not self.is_busy() and self.table is not None, timeout=10000)
        seen.append((self.area_combo.currentData(), self.candidates_view.model.rowCount()))
        self.done(0)
        return 0

    monkeypatch.setattr(NetworkDialog, "exec", fake_exec)
    w = MainWindow()
    try:
        w.set_workspace(network_workspace())
        w.state.set_area("target_area:West Side")
        tools = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Tools")
        action = next(a for a in tools.actions() if a.text() == "Co-offending &Network…")
        action.trigger()
        core = network.candidates(w.state.workspace, "target_area:West Side",
                                  since=w.state.as_of - pd.Timedelta(days=364), as_of=w.state.as_of)
        assert seen == [("target_area:West Side", len(core.rows))]
    finally:
        w.shutdown()
        w.hide()
        w.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(w)

"""Panels and dialogs on their own: trends draw the core series, the data panel follows the area, the export dialog
writes the workbook it was asked for, grid tooltips carry the counts, z and the blank rule; settings migrate."""
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ui_fixtures import AS_OF, small_workspace
from workstation import formatting
from workstation.reports.trends import trend_series



@pytest.fixture
def state():
    from ui.state import AppState

    return AppState(small_workspace())


def test_trends_draw_the_core_series_and_follow_the_bar(qtbot, state, tmp_path):
    from ui.panels.trends import TrendsPanel
    from ui.settings import Settings

    panel = TrendsPanel(state, Settings())
    qtbot.addWidget(panel)
    panel.resize(1200, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_measure("part1_violent")
    panel.rest_box.setChecked(True)
    state.set_area("target_area:Corridor")

    def curves():
        return {c.name(): c.getData()[1] for c in panel.plot.listDataItems() if c.name()}

    expected = trend_series(state.workspace, "part1_violent", "target_area:Corridor", "W", AS_OF)
    got = curves()
    np.testing.assert_array_equal(got["2019"], expected["this_year"].to_numpy(float))
    np.testing.assert_array_equal(got["2018"], expected["last_year"].to_numpy(float))
    np.testing.assert_allclose(got["4-week moving average"], expected["moving_avg"].to_numpy(float))
    rest = [c.getData()[1] for c in panel.rest_plot.listDataItems()]
    np.testing.assert_array_equal(rest[0], expected["rest_of_city"].to_numpy(float))
    assert panel.rest_widget.isVisible()

    # monthly, and a new as-of date
    panel.set_interval("M")
    state.set_as_of(AS_OF - pd.Timedelta(days=60))
    monthly = trend_series(state.workspace, "part1_violent", "target_area:Corridor", "M", AS_OF - pd.Timedelta(days=60))
    np.testing.assert_array_equal(curves()["2019"], monthly["this_year"].to_numpy(float))

    # the hover read-out says the values of the period under the mouse
    text = panel.show_readout(2)
    row = monthly.iloc[2]
    assert f"2019: <b>{row['this_year']:,.0f}</b>" in text and f"{row['moving_avg']:,.1f}" in text

    out = tmp_path / "trend.png"
    assert panel.write_png(out) and out.stat().st_size > 1000
    panel.shutdown()


def test_data_panel_lists_datasets_log_and_records_of_the_area(qtbot, state):
    from ui.panels.data import DataPanel
    from workstation.engine.analysis import analysis_for

    panel = DataPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1300, 650)
    panel.show()
    qtbot.waitExposed(panel)
    ws = state.workspace
    rows = {panel.datasets.item(r, 0).text(): panel.datasets.item(r, 1).text()
            for r in range(panel.datasets.rowCount())}
    assert rows["Offenses"] == "6,000" and rows["Shootings"] == "400"
    assert panel.records.model.rowCount() == 6000
    assert panel.log.rowCount() == 1 and panel.log.item(0, 1).text() == "offenses.csv"
    assert "Data as of" in panel.log_detail.text()

    state.set_area("target_area:Corridor")
    eng = analysis_for(ws)
    inside = int(eng.membership_mask("offenses", "target_area:Corridor").sum())
    assert panel.records.model.rowCount() == inside
    assert "Corridor" in panel.title.text() and f"{inside:,d} records" in panel.title.text()
    lat = panel.records.model.columns().index("lat")
    lats = [panel.records.model.data(panel.records.model.index(r, lat), 0x0101) for r in range(inside)]
    assert all(43.02 <= v <= 43.06 for v in lats)
    panel.in_area.setChecked(False)
    assert panel.records.model.rowCount() == 6000

    panel.select_dataset("shootings")
    assert panel.records.model.rowCount() == 400
    assert panel.log.item(0, 1).text() == "shootings.csv"
    panel.shutdown()


def test_grid_tooltips_give_counts_z_and_the_blank_rule(qtbot, state):
    from ui.panels.compstat import CompStatPanel

    state.set_area("target_area:Corridor")
    panel = CompStatPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1366, 700)
    panel.show()
    qtbot.waitExposed(panel)
    m = panel.model
    blanks = 0
    for r in range(m.rowCount()):
        if m.is_section(r):
            continue
        for c, kind in enumerate(m.kinds):
            tip = panel.tooltip_for(r, c)
            if kind == "count" and m.value(r, c) is not None and c < 16:
                assert f"<b>{formatting.format_value(m.value(r, c), 'count')}</b>" in tip
                assert "z = √2·(√C − √P)" in tip and "exact binomial test" in tip and "p = " in tip
            if kind == "pct_change" and m.value(r, c) is None and c < 16 and m.value(r, c - 2) == 0:
                assert "zero base is undefined" in tip
                blanks += 1
    assert blanks >= 1
    assert "exact binomial test" in panel.legend.text() and "p < 0.05 notable" in panel.legend.text()
    # colours: a rise in crime is red, a fall green
    from ui.models.report_model import CHANGE_ROLE

    for r in range(m.rowCount()):
        if not m.is_section(r) and m.value(r, 4) not in (None, 0):
            want = "bad" if m.value(r, 4) > 0 else "good"
            if formatting.whole_percent(m.value(r, 4)) != 0:
                assert m.data(m.index(r, 4), CHANGE_ROLE) == want


def test_export_dialog_writes_the_workbook_for_the_chosen_areas(qtbot, state, tmp_path, monkeypatch):
    from openpyxl import load_workbook

    from ui.dialogs import export as export_mod
    from ui.settings import Settings

    opened = []
    monkeypatch.setattr(export_mod.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    settings = Settings()
    settings.set("export/last_folder", str(tmp_path))
    dlg = export_mod.ExportDialog(state, settings)
    qtbot.addWidget(dlg)
    dlg.show()
    assert set(dlg.area_keys()) == {"citywide", "target_area:Corridor"}
    dlg.set_area_keys(["citywide", "district:2"])
    dlg.date_edit.setDate(dlg.date_edit.date().addDays(-7))
    out = tmp_path / "week.xlsx"
    dlg.path_edit.setText(str(out))
    dlg.open_box.setChecked(True)
    dlg.history_edit.setText("2016")                  # malformed: one clear sentence, nothing written
    dlg.start_export()
    assert "Part I history years &#x27;2016&#x27; should look like 2007-2015:2016" in dlg.status.text()
    assert not dlg.runner.is_running() and not out.exists()
    dlg.history_edit.setText("2016-2017:2018")        # the same years as --history 2016-2017:2018
    dlg.start_export()
    qtbot.waitUntil(lambda: dlg.written is not None or "No workbook" in dlg.status.text(), timeout=120000)
    assert dlg.written == out and out.exists()
    assert opened == [str(out)]                       # shown when done
    wb = load_workbook(out, read_only=True)
    assert "CompStat" in wb.sheetnames and "Notes" in wb.sheetnames
    text = " ".join(str(c) for row in wb["Summary"].iter_rows(values_only=True) for c in row if c is not None)
    assert "2019-09-22" in text or "September 22, 2019" in text or "22 Sep 2019" in text
    head = next(r for r in wb["Part I History"].iter_rows(values_only=True) if r[0] == "Crime")
    assert head[1:6] == ("2016", "2017", "2016 - 2017 Average", "2018", "Average - 2018 % Change")
    wb.close()
    assert settings.get("export/last_folder") == str(tmp_path)
    dlg.shutdown()


def test_export_dialog_cancel_writes_nothing(qtbot, state, tmp_path):
    from ui.dialogs.export import ExportDialog
    from ui.settings import Settings

    dlg = ExportDialog(state, Settings())
    qtbot.addWidget(dlg)
    out = tmp_path / "never.xlsx"
    dlg.path_edit.setText(str(out))
    dlg.open_box.setChecked(False)
    dlg.start_export()
    dlg.reject()                                     # cancel while it runs
    qtbot.waitUntil(lambda: not dlg.runner.is_running(), timeout=120000)
    assert dlg.written is None
    assert "cancelled" in dlg.status.text() and not out.exists()
    assert not list(tmp_path.glob("*.part"))
    dlg.shutdown()


def test_settings_wrapper_migrates_old_keys_and_stores_primitives(qtbot):
    from ui.settings import VERSION_KEY, Settings

    q = QSettings()
    q.setValue(VERSION_KEY, 1)
    q.setValue("recent_files", '["/a/one.psw", "/b/two.psw"]')
    q.setValue("general/reopen_last", "false")
    q.sync()
    s = Settings(QSettings())
    assert s.get("workspace/reopen_last") is False
    assert s.get("workspace/recent") == ["/a/one.psw", "/b/two.psw"]
    assert QSettings().value(VERSION_KEY) in (2, "2")
    assert QSettings().value("recent_files") is None
    s.set("workspace/recent", [])
    assert Settings().get("workspace/recent") == []
    s.add_recent(__file__)
    assert Settings().recent() == [str(__import__("pathlib").Path(__file__).resolve())]


def test_big_frames_are_filtered_in_a_worker(qtbot):
    from ui.widgets import records_view as rv

    n = rv.ASYNC_FILTER_ROWS + 10
    df = pd.DataFrame({"name": pd.Series(np.where(np.arange(n) % 1000 == 0, "needle", "hay"), dtype="str"),
                       "value": np.arange(n, dtype="int64")})
    view = rv.RecordsView()
    qtbot.addWidget(view)
    view.set_frame(df)
    view.filter_edit.setText("needle")
    view._apply_filter()
    # above ASYNC_FILTER_ROWS the filter runs in a worker: the call returns at once, the model still unfiltered
    assert view._runner.is_running() and view.model.rowCount() == n
    qtbot.waitUntil(lambda: view.model.rowCount() == len(range(0, n, 1000)), timeout=20000)
    assert view.count_label.text() == f"{len(range(0, n, 1000)):,d} of {n:,d} records"
    view.shutdown()
    QApplication.processEvents()

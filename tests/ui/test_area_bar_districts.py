"""Issue 9 item 4: the area bar finds a district however its key is written ("district:007" is District 7)."""
from ui.state import AppState
from ui.widgets.area_bar import AreaBar
from workstation.core.workspace import Workspace
from workstation.ingest import import_files


def test_area_bar_finds_a_district_however_written(qtbot, tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("incident_number,occurred,nibrs_code,district\n"
                 "A1,2020-01-05,120,007\nA2,2020-01-06,120,01\nA3,2020-01-07,13A,District 12\n")
    ws = Workspace()
    import_files(ws, "offenses", [p])  # no boundaries: the districts come from the records' column
    assert sorted(a.name for a in ws.districts) == ["1", "12", "7"]
    state = AppState(ws)
    bar = AreaBar(state)
    qtbot.addWidget(bar)
    labels = [bar.area_combo.itemText(i).strip() for i in range(bar.area_combo.count())]
    assert labels == ["Citywide", "Districts", "District 1", "District 7", "District 12"] or \
        [t for t in labels if t.startswith("District ")] == ["District 1", "District 7", "District 12"]
    for spelled in ("district:007", "district:District 7", "district:07"):
        state.set_area("citywide")
        qtbot.waitUntil(lambda: bar.area_combo.currentText().strip() == "Citywide")
        state.set_area(spelled)
        qtbot.waitUntil(lambda: bar.area_combo.currentText().strip() == "District 7")

"""The import wizard driven through its real widgets with real public files (../shared/data/real)."""

import pandas as pd
import pytest


from workstation.core import workspace as workspace_mod
from workstation.ingest import Profile, detect_profile, import_files, points_inside_city
from workstation.core.workspace import Workspace

from ui_fixtures import small_workspace



def _real(name):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    p = root.parent / "shared" / "data" / "real" / name
    if not p.exists():
        pytest.skip(f"real data file {name} is not available")
    return p


CHI = "chi_crimes_2014-02-28_2014-03-15.csv"


@pytest.fixture
def wizard(qtbot):
    from ui.settings import Settings
    from ui.state import AppState

    made = []

    def make(ws, files):
        from ui.dialogs.import_wizard import ImportWizard

        state = AppState(ws)
        wiz = ImportWizard(state, Settings(), [str(f) for f in files])
        qtbot.addWidget(wiz)
        wiz.show()
        made.append(wiz)
        return wiz

    yield make
    for w in made:
        w.shutdown()


def _wait_sample(qtbot, wiz):
    qtbot.waitUntil(lambda: wiz.sample is not None or wiz.sample_error is not None, timeout=30000)


def _finish(qtbot, wiz):
    wiz.next()
    assert wiz.currentId() == wiz.RUN
    qtbot.waitUntil(lambda: wiz.run_page.state != "running", timeout=60000)
    return wiz.run_page.state


def _set_combo(combo, data):
    i = combo.findData(data)
    assert i >= 0, f"{data!r} not offered"
    combo.setCurrentIndex(i)


def test_real_file_with_a_remapped_column_and_a_remapped_value(wizard, qtbot):
    path = _real(CHI)
    src = pd.read_csv(path, dtype=str)
    ws = Workspace()
    wiz = wizard(ws, [path])
    # page 1: the first rows, and the kind recognised from the header
    assert wiz.kind == "offenses"
    fp = wiz.files_page
    assert fp.preview_model.rowCount() == 200 and fp.preview_model.columnCount() == 22
    assert fp.preview_model.data(fp.preview_model.index(0, 1)) == src["Case Number"][0]

    wiz.next()
    cp = wiz.columns_page
    assert wiz.profile.name.startswith("Chicago Crimes")        # recognised from the header
    assert cp.combos["address"].currentData() == "Block"
    _set_combo(cp.combos["address"], "Location Description")      # the analyst remaps a column
    assert wiz.profile.columns["address"] == "Location Description"
    assert cp.isComplete()

    _wait_sample(qtbot, wiz)
    wiz.next()
    cat = wiz.categories_page
    qtbot.waitUntil(lambda: cat.table.rowCount() > 0)
    values = {cat.table.item(r, 0).text(): int(cat.table.item(r, 1).text().replace(",", ""))
              for r in range(cat.table.rowCount())}
    assert values == src["FBI Code"].value_counts().to_dict()     # each source value with its count
    combo = dict(cat.combos)["26"]
    _set_combo(combo, "disorder")                                 # and a value remapped
    wiz.next()
    assert wiz.currentId() == wiz.LOCATION
    wiz.location_page.save_box.setChecked(False)
    assert _finish(qtbot, wiz) == "done"

    off = ws.frames["offenses"]
    assert len(off) == len(src) == wiz.result.accepted and wiz.result.rejected == 0
    by_id = dict(zip(src["Case Number"], src["Location Description"]))
    got = dict(zip(off["incident_id"].astype(str), off["address"].astype(str)))
    assert all(got[k] == by_id[k] for k in got if isinstance(by_id[k], str))
    expected_disorder = int(src["FBI Code"].isin(["26", "24"]).sum())  # 24 was already disorder
    assert int((off["category"].astype(str) == "disorder").sum()) == expected_disorder
    assert ws.dirty and ws.import_log[-1]["file_name"] == path.name
    assert "6,957 accepted" in wiz.run_page.status.text()


def test_custom_mapping_epsg_check_rejects_table_and_saved_profile(wizard, qtbot, tmp_path):
    from ui.dialogs import import_wizard as iw

    beats = _real("chi_police_beats.shp")
    path = _real(CHI)
    src = pd.read_csv(path, dtype=str)
    ws = Workspace()

    # boundaries first (beats dissolved into districts), so the location check has a city to test against
    wiz = wizard(ws, [beats])
    assert wiz.kind == "areas"
    _set_combo(wiz.files_page.area_kind_combo, "districts")
    assert _finish(qtbot, wiz) == "done"
    assert len(ws.districts) >= 20

    wiz = wizard(ws, [path])
    wiz.next()
    cp = wiz.columns_page
    _set_combo(cp.profile_combo, cp.CUSTOM)
    assert not cp.isComplete()                                     # nothing mapped yet
    for field, col in (("incident_id", "Case Number"), ("occurred", "Date"), ("category", "FBI Code"),
                       ("district", "District"), ("address", "Block"), ("x", "X Coordinate"),
                       ("y", "Y Coordinate")):
        _set_combo(cp.combos[field], col)
    assert cp.isComplete()
    wiz.profile.date_formats = ["%m/%d/%Y %I:%M:%S %p"]

    _wait_sample(qtbot, wiz)
    wiz.next()
    cat = wiz.categories_page
    qtbot.waitUntil(lambda: cat.table.rowCount() > 0)
    mapping = {"06": "larceny_theft", "08B": "simple_assault", "05": "burglary", "07": "motor_vehicle_theft",
               "03": "robbery", "04A": "aggravated_assault", "04B": "aggravated_assault", "01A": "homicide",
               "02": "rape", "09": "arson"}
    combos = dict(cat.combos)
    for value, target in mapping.items():
        _set_combo(combos[value], target)
    unmapped = int((~src["FBI Code"].isin(list(mapping))).sum())
    assert f"{unmapped:,d} of {len(src):,d} rows" in cat.status.text()

    wiz.next()
    lp = wiz.location_page
    _set_combo(lp.epsg_combo, "3435")                              # NAD83 Illinois East, the right one
    lp.run_check()
    inside, total = wiz.location_check
    assert (inside, total) == points_inside_city(ws, wiz.sample, wiz.profile)
    assert total > 6000 and inside / total > 0.95
    assert f"{inside:,d} of {total:,d}" in lp.check.text()
    _set_combo(lp.epsg_combo, "2263")                              # New York's: nothing lands in Chicago
    lp.run_check()
    assert wiz.location_check[0] == 0 and "is the coordinate system right" in lp.check.text()
    _set_combo(lp.epsg_combo, "3435")
    lp.save_box.setChecked(True)
    lp.name_edit.setText("Chicago RMS (test)")
    assert _finish(qtbot, wiz) == "done"

    # accepted / rejected, and the rejected rows with the reason per row
    res = wiz.result
    assert res.rejected == unmapped and res.accepted == len(src) - unmapped
    assert len(ws.frames["offenses"]) == res.accepted
    view = wiz.run_page.rejects
    assert view.isVisibleTo(wiz) and view.model.rowCount() == unmapped
    assert view.model.columns()[:2] == ["row", "reason"]
    reasons = {view.model.data(view.model.index(r, 1)) for r in range(view.model.rowCount())}
    assert reasons == {"category not mapped"}
    out = tmp_path / "rejected.csv"
    view.write_csv(out)
    back = pd.read_csv(out, dtype=str)
    assert len(back) == unmapped and set(back["reason"]) == {"category not mapped"}

    # the saved profile recognises the next file of this layout
    saved = Profile.load(wiz.saved_profile)
    assert saved.name == "Chicago RMS (test)" and saved.epsg == 3435 and saved.categories["06"] == "larceny_theft"
    assert detect_profile(list(src.columns), "offenses", iw.all_profiles()).name == "Chicago RMS (test)"


def test_cancel_mid_import_leaves_the_workspace_byte_identical(wizard, qtbot, monkeypatch):
    monkeypatch.setattr(workspace_mod, "now_stamp", lambda: "2019-10-01T00:00:00")
    ws = small_workspace()
    before = ws.snapshot_bytes()
    wiz = wizard(ws, [_real("nyc_shootings_2006-2020.csv")])
    assert wiz.kind == "shootings"
    wiz.next()
    _wait_sample(qtbot, wiz)
    wiz.next()
    wiz.next()
    wiz.location_page.save_box.setChecked(False)
    wiz.next()                      # starts the import in a worker
    assert wiz.importer.is_running()
    wiz.cancel_import()             # the analyst cancels while it reads the file
    qtbot.waitUntil(lambda: wiz.run_page.state != "running", timeout=60000)
    assert wiz.run_page.state == "cancelled"
    assert "unchanged" in wiz.run_page.status.text()
    assert ws.snapshot_bytes() == before
    assert not ws.dirty and len(ws.frames["shootings"]) == 400


def test_closing_the_wizard_while_importing_cancels_first(wizard, qtbot, monkeypatch):
    monkeypatch.setattr(workspace_mod, "now_stamp", lambda: "2019-10-01T00:00:00")
    ws = small_workspace()
    before = ws.snapshot_bytes()
    wiz = wizard(ws, [_real("nyc_shootings_2006-2020.csv")])
    wiz.next()
    _wait_sample(qtbot, wiz)
    wiz.next()
    wiz.next()
    wiz.location_page.save_box.setChecked(False)
    wiz.next()
    wiz.reject()                    # Escape / the window's close button
    assert wiz.isVisible()          # it waits for the worker to stop
    qtbot.waitUntil(lambda: wiz.run_page.state != "running", timeout=60000)
    assert ws.snapshot_bytes() == before
    wiz.reject()
    assert not wiz.isVisible()


def test_unknown_file_gets_a_sentence_not_a_traceback(wizard, qtbot, tmp_path):
    bad = tmp_path / "garbage.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not really a workbook")
    wiz = wizard(Workspace(), [bad])
    text = wiz.files_page.preview_label.text()
    assert "garbage.xlsx" in text and "Traceback" not in text
    assert not wiz.files_page.isComplete()


def test_boundary_file_naming_field_shown_and_overridden(wizard, qtbot):
    """Issue 9 item 3: the wizard says which field names the shapes and why (the importer's own choice), and the
    analyst's choice of another field is what the import uses."""
    import shapefile as shp

    beats = _real("chi_police_beats.shp")
    ws = Workspace()
    import_files(ws, "offenses", [_real(CHI)])  # records first: their district column names districts 1..25
    wiz = wizard(ws, [beats])
    assert wiz.kind == "areas"
    text = wiz.files_page.preview_label.text()
    assert "<b>DISTRICT</b> (matches the records&#x27; districts)" in text
    assert "277 shapes" in text and "23 districts" in text
    _set_combo(wiz.files_page.name_field_combo, "BEAT_NUM")
    assert _finish(qtbot, wiz) == "done"
    beat_numbers = {str(r[3]) for r in shp.Reader(str(beats.with_suffix(""))).records()}  # "0123": zeros kept
    assert {a.name for a in ws.target_areas} == beat_numbers
    assert all(a.geometry is None for a in ws.districts)  # the beats did not replace the record districts

"""Hot Spots tab (issue 10): the analyses run in a worker with progress and cancel, the figures shown are the core
results, the Knox table is coloured like the NRC's, and "Show on map" puts the layer on the map."""
import numpy as np
import pandas as pd
import pytest

AS_OF = pd.Timestamp("2019-09-29")


@pytest.fixture(scope="module")
def demo():
    from workstation.demo.records import build_demo

    return build_demo()


@pytest.fixture
def panel(qtbot, demo):
    from ui.panels.spatial import SpatialPanel
    from ui.state import AppState

    state = AppState(demo)
    p = SpatialPanel(state)
    qtbot.addWidget(p)
    p.resize(1300, 700)
    p.show()
    qtbot.waitExposed(p)
    return p


def choose(box, key):
    i = box.findData(key)
    assert i >= 0, key
    box.setCurrentIndex(i)


def run_and_wait(qtbot, p, timeout=60_000):
    with qtbot.waitSignal(p.runner.finished, timeout=timeout):
        p.run_button.click()
    qtbot.waitUntil(lambda: p.run_button.isEnabled(), timeout=5000)


def cell(p, r, c):
    return p.table.item(r, c).text()


def test_hot_spots_table_equals_the_core_result_and_goes_on_the_map(qtbot, panel, demo):
    from workstation.reports.spatial.hotspots import hotspot_analysis

    p = panel
    choose(p.analysis_box, "hotspots")
    choose(p.measure_box, "part1_violent")
    assert (p.from_edit.date().toString("yyyy-MM-dd"), p.to_edit.date().toString("yyyy-MM-dd")) == (
        "2018-09-30", "2019-09-29")                       # the year to the area bar's as-of date
    assert p.cell_spin.value() == 500 and p.distance_spin.value() == 1500
    assert p.cell_spin.isVisible() and not p.nr_perm_spin.isVisible() and not p.buffer_spin.isVisible()
    run_and_wait(qtbot, p)
    core = hotspot_analysis(demo, "part1_violent", "2018-09-30", "2019-09-29", cell_ft=500, distance_ft=1500)
    top = core.top_cells(25)
    assert p.table.rowCount() == len(top) == 25
    heads = [p.table.horizontalHeaderItem(j).text() for j in range(p.table.columnCount())]
    for i, t in enumerate(top.itertuples(index=False)):
        assert cell(p, i, heads.index("Events")) == f"{t.count:,.0f}"
        assert cell(p, i, heads.index("Gi* z")) == f"{t.gi_z:,.2f}"
        assert cell(p, i, heads.index("Centre lat")) == f"{t.lat:.5f}"
        assert cell(p, i, heads.index("District")) == str(t.district)
    bins = core.bin_counts()
    assert f"{sum(v for k, v in bins.items() if k > 0):,}</b> hot-spot cells" in p.summary.text()
    # the hottest cells of the demo lie on the corridor's hot spots: all in the districts it crosses
    assert set(top["district"]) <= {"District 3", "District 5", "District 7", "3", "5", "7"}
    # Show on map: the overlay is the result's cells, in ArcGIS's colours
    got = []
    p.show_on_map.connect(got.append)
    assert p.map_button.isEnabled()
    p.map_button.click()
    ov = got[-1]
    gi = [c for c in ov.cell_layers if c.name.startswith("Gi*")][0]
    assert len(gi.rows) == len(core.cells)
    assert sum(1 for c in gi.cls if gi.colours[c] == "#d62f27") == bins[3]


def test_cancel_stops_the_worker(qtbot, panel):
    p = panel
    choose(p.analysis_box, "emerging")
    p.from_edit.setDate(p.from_edit.date().addYears(-3))
    with qtbot.waitSignal(p.runner.cancelled, timeout=60_000):
        p.run_button.click()
        p.cancel_button.click()
    qtbot.waitUntil(lambda: p.run_button.isEnabled() and not p.cancel_button.isEnabled(), timeout=5000)
    assert "Cancelled" in p.summary.text()
    assert p.result is None and not p.map_button.isEnabled()


def test_drawn_boundary_is_offered_and_analysed(qtbot, panel, demo):
    """The map's unsaved draft (kept in the workspace) is an area choice; the analysis uses that very shape."""
    import shapely

    from workstation.core.commands import ring_list, shape_from_geometry
    from workstation.reports.spatial.hotspots import hotspot_analysis

    p = panel
    corridor = demo.area("Center Street Corridor", "target_area").geometry
    drawn = shapely.affinity.scale(corridor, 0.6, 1.0)
    demo.meta["map_boundary_draft"] = {"area_key": "new", "shape": ring_list(shape_from_geometry(drawn)),
                                       "saved": "now"}
    try:
        demo.changed("map_boundary_draft")
        choose(p.area_box, "__drawn__")
        choose(p.analysis_box, "hotspots")
        run_and_wait(qtbot, p)
        core = hotspot_analysis(demo, "part1_violent", "2018-09-30", "2019-09-29", cell_ft=500, distance_ft=1500,
                                geometry=p.drawn_geometry())
        assert p.result.params["study_cells"] == core.params["study_cells"] < 300
        assert p.result.n_events == core.n_events
    finally:
        del demo.meta["map_boundary_draft"]
        demo.changed("map_boundary_draft")

"""Hot Spots tab (issue 10): the analyses run in a worker with progress and cancel, the figures shown are the core
results, the Knox table is coloured like the NRC's, and "Show on map" puts the layer on the map."""
import html

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


def test_knox_table_is_the_core_result_coloured_like_the_nrc(qtbot, panel, demo):
    from workstation.reports.spatial.near_repeat import near_repeat_analysis

    p = panel
    choose(p.analysis_box, "near_repeat")
    assert p.measure_box.currentData() == "burglary"            # near repeat starts on burglary
    assert p.nr_perm_spin.isVisible() and not p.cell_spin.isVisible()
    p.nr_perm_spin.setValue(49)
    p.nr_seed_spin.setValue(3)
    run_and_wait(qtbot, p)
    core = near_repeat_analysis(demo, "burglary", "2018-09-30", "2019-09-29", distance_ft=400, distance_bands=3,
                                time_days=7, time_bands=4, permutations=49, seed=3)
    t = p.table
    assert [t.horizontalHeaderItem(j).text() for j in range(t.columnCount())] == list(core.time_bands)
    assert [t.verticalHeaderItem(i).text() for i in range(t.rowCount())] == list(core.distance_bands)
    for view, arr, fmt in (("knox_ratio", core.knox_ratio, "{:,.2f}"), ("observed", core.observed, "{:,.0f}"),
                           ("expected", core.expected, "{:,.1f}")):
        choose(p.knox_view, view)
        for i in range(t.rowCount()):
            for j in range(t.columnCount()):
                v = float(arr[i][j])
                assert t.item(i, j).text() == (fmt.format(v) if np.isfinite(v) else "n/a")
                lit = t.item(i, j).background().color().name() == "#f4a582"
                assert lit == bool(core.highlight[i, j])
                assert t.item(i, j).font().bold() == bool(core.highlight[i, j])
    assert core.highlight[1, 0]                               # the demo's burglaries repeat within 400 ft, a week
    assert f"({int(core.highlight.sum())} cell" in p.summary.text()
    assert not p.map_button.isEnabled()                       # a table, not a map layer


def test_displacement_wdq_table_and_buffer_ring(qtbot, panel, demo):
    from workstation.reports.spatial.displacement import displacement

    p = panel
    p.state.set_area("target_area:Center Street Corridor")
    choose(p.analysis_box, "displacement")
    choose(p.measure_box, "part1_violent")
    # the corridor's goal started on 2016-06-01: the year before against the year after
    dates = [e.date().toString("yyyy-MM-dd") for e in (p.before_from, p.before_to, p.after_from, p.after_to)]
    assert dates == ["2015-06-01", "2016-05-31", "2016-06-01", "2017-05-31"]
    assert p.buffer_spin.value() == 1320
    run_and_wait(qtbot, p)
    core = displacement(demo, "target_area:Center Street Corridor", "part1_violent", before=tuple(dates[:2]),
                        after=tuple(dates[2:]), buffer_ft=1320)
    t = p.table
    assert [t.verticalHeaderItem(i).text() for i in range(3)] == ["Target area (A)", "Buffer ring (B)",
                                                                  "Control (C)"]
    for i, part in enumerate(("target", "buffer", "control")):
        c = getattr(core, part)
        assert [t.item(i, 0).text(), t.item(i, 1).text()] == [f"{c['before']:,.0f}", f"{c['after']:,.0f}"]
    assert t.item(3, 0).text() == f"{core.success_measure:,.4f}"
    assert t.item(4, 0).text() == f"{core.buffer_measure:,.4f}"
    assert t.item(5, 0).text() == f"{core.wdq:,.2f}" and -1 < core.wdq < 0
    assert t.item(6, 0).text() == f"{core.total_net_effect:,.2f}"
    assert html.escape(core.interpretation) in p.interpretation.text()
    got = []
    p.show_on_map.connect(got.append)
    p.map_button.click()
    ring = got[-1].rings[1]
    assert ring.label == "Buffer ring: 1,320 ft"
    assert ring.geometry.equals(core.buffer_geometry)


def test_emerging_hot_spots_counts_equal_the_core_result(qtbot, panel, demo):
    from workstation.reports.spatial.hotspots import emerging_hotspots

    p = panel
    choose(p.analysis_box, "emerging")
    choose(p.measure_box, "part1_violent")
    run_and_wait(qtbot, p)
    core = emerging_hotspots(demo, "part1_violent", "2018-09-30", "2019-09-29", cell_ft=500, distance_ft=1500)
    shown = {p.table.item(i, 0).text(): p.table.item(i, 1).text() for i in range(p.table.rowCount())}
    assert shown == {k: f"{v:,}" for k, v in core.category_counts().items() if v}
    assert f"{len(core.slices)} time slices" in p.summary.text()
    got = []
    p.show_on_map.connect(got.append)
    p.map_button.click()
    layer = got[-1].cell_layers[0]
    assert len(layer.rows) == len(core.cells)


def test_this_weeks_risk_lists_the_core_events(qtbot, panel, demo):
    from workstation.reports.spatial.near_repeat import near_repeat_risk

    p = panel
    choose(p.analysis_box, "risk")
    assert p.measure_box.currentData() == "burglary" and p.recent_spin.value() == 7
    assert p.nr_perm_spin.isVisible() and not p.from_edit.isVisible()
    p.nr_perm_spin.setValue(49)
    run_and_wait(qtbot, p)
    core = near_repeat_risk(demo, "burglary", as_of="2019-09-29", days=7, distance_ft=400, distance_bands=3,
                            time_days=7, time_bands=4, permutations=49, seed=1)
    t = p.table
    assert t.rowCount() == len(core.events) > 0
    for i, e in enumerate(core.events.itertuples(index=False)):
        assert t.item(i, 0).text() == f"{pd.Timestamp(e.date):%Y-%m-%d}"
        assert t.item(i, 1).text() == e.address
        assert t.item(i, 3).text() == f"{pd.Timestamp(e.window_end):%Y-%m-%d}"
        assert t.item(i, 5).text() == str(e.nearby_count)
        assert t.item(i, 6).text() == "; ".join(e.nearby)
    assert html.escape(core.summary) in p.summary.text()

"""Reference layers in the application: the import wizard takes a KML file and a CSV of premises as layers (the
same importer as the command line), and the map panel, the live boundary panel and the workbook show the same
population, naming its source."""
import json

import pytest

from test_import_wizard import _finish, wizard  # noqa: F401 - the wizard fixture and its finishing step
from ui_fixtures import small_workspace

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
 <Placemark><name>Route 21</name><ExtendedData><Data name="ROUTE"><value>21</value></Data></ExtendedData>
  <LineString><coordinates>-87.99,43.07,0 -87.95,43.07,0 -87.91,43.07,0</coordinates></LineString></Placemark>
 <Placemark><name>Route 62</name><ExtendedData><Data name="ROUTE"><value>62</value></Data></ExtendedData>
  <LineString><coordinates>-87.99,43.10 -87.95,43.10</coordinates></LineString></Placemark>
</Document></kml>"""


def _set(combo, data):
    i = combo.findData(data)
    assert i >= 0, data
    combo.setCurrentIndex(i)


def test_wizard_imports_a_kml_file_as_a_layer(wizard, qtbot, tmp_path):
    p = tmp_path / "bus_routes.kml"
    p.write_text(KML, encoding="utf-8")
    ws = small_workspace()
    wiz = wizard(ws, [p])
    fp = wiz.files_page
    assert wiz.kind == "layer" and fp.layer_fields.isVisible()
    assert fp.layer_fields.name_edit.text() == "Bus routes"              # from the file name
    _set(fp.layer_fields.label_combo, "ROUTE")
    assert _finish(qtbot, wiz) == "done"
    lay = ws.layer("Bus routes")
    assert (lay.geometry_type, lay.count) == ("line", 2)
    assert lay.features["label"].tolist() == ["21", "62"]
    assert "2 on the map" in wiz.run_page.status.text()
    assert ws.import_log[-1]["kind"] == "layer" and ws.import_log[-1]["file_name"] == "bus_routes.kml"


def test_wizard_refuses_a_table_without_coordinates_and_changes_nothing(wizard, qtbot, tmp_path):
    p = tmp_path / "premises.csv"
    p.write_text("NAME,ADDRESS\nCorner Tap,2418 W CENTER ST\n", encoding="utf-8")
    ws = small_workspace()
    wiz = wizard(ws, [p])
    _set(wiz.files_page.kind_combo, "layer")
    wiz.files_page.layer_fields.name_edit.setText("Premises")
    assert _finish(qtbot, wiz) == "failed"
    assert "no coordinate columns" in wiz.run_page.status.text()
    assert ws.layers == []


def test_map_live_panel_and_workbook_show_one_population(qtbot, tmp_path):
    """The same boundary: the map panel's figures (the live engine), resolve_area (reports) and the workbook's
    Summary and rate tables carry the same population and name the census layer."""
    import openpyxl
    import shapely

    from tests.core.test_layers import census_city, ll
    from ui.map.panel import MapPanel
    from ui.map.view import delete_now
    from ui.state import AppState
    from workstation.engine.areas import resolve_area
    from workstation.exports.workbook import export_workbook

    ws = census_city()
    # a few records so that the workbook has something to count
    import pandas as pd

    lon, lat = ll(500, 600)
    ws.set_frame("offenses", pd.DataFrame([dict(record_id=f"r{i}", incident_id=f"i{i}", category="robbery",
                                                occurred=pd.Timestamp("2019-03-01"), lon=lon, lat=lat, load_id=1)
                                           for i in range(5)]))
    ref = resolve_area(ws, "target_area:Corridor")
    assert ref.population_source == "census layer Blocks 2020"
    state = AppState(ws)
    state.set_as_of(pd.Timestamp("2019-09-29"))
    panel = MapPanel(state)
    panel.resize(1100, 700)
    panel.show()
    qtbot.waitUntil(lambda: panel.last_page is not None, timeout=20000)
    state.set_area("target_area:Corridor")
    qtbot.waitUntil(lambda: panel.figures_panel.figures is not None, timeout=20000)
    shown = panel.figures_panel.values["population"].text()
    assert shown.startswith(f"{ref.population:,.0f} (census layer Blocks 2020")
    assert panel.figures_panel.figures.population == ref.population
    delete_now(panel)
    path = export_workbook(ws, tmp_path / "w.xlsx", as_of="2019-09-29", area_keys=["target_area:Corridor"])
    wb = openpyxl.load_workbook(path, data_only=True)
    rows = [[c.value for c in r] for r in wb["Summary"].iter_rows()]
    hdr = next(i for i, r in enumerate(rows) if r[:2] == ["Area", "Kind"])
    cols = rows[hdr]
    row = next(r for r in rows[hdr + 1:] if r[0] == "Corridor")
    shown_number = f"{ref.population:,.0f}"         # the panel's figure, as it reads on screen
    assert f"{row[cols.index('Population')]:,.0f}" == shown_number  # the workbook writes whole people
    assert row[cols.index("Population from")] == "census layer Blocks 2020"
    rates = [[c.value for c in r] for s in wb.worksheets if "Rates" in s.title for r in s.iter_rows()]
    hdr = [r for r in rates if r and r[0] == "Area" and "Population from" in r]
    assert hdr, "a rate table names the population's source"
    corridor_rows = [r for r in rates if r and r[0] == "Corridor"]
    pc = hdr[0].index("Population")
    assert any(f"{r[pc]:,.0f}" == shown_number and r[hdr[0].index("Population from")] ==
               "census layer Blocks 2020" for r in corridor_rows)


def test_street_file_becomes_the_basemap_and_the_layers_menu_styles_it(qtbot, tmp_path):
    """Basemap… with a street centreline file: imported once (in a worker) as a basemap layer kept in the workspace,
    drawn on the map; the Layers menu hides it and changes its colour through the workspace."""
    import shapely

    from tests.core.test_layers import census_city, ll
    from ui.map.panel import MapPanel
    from ui.map.view import delete_now
    from ui.state import AppState

    streets = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"FULL_NAME": f"W STREET {j}"},
         "geometry": shapely.geometry.mapping(shapely.LineString([ll(0, 100 * j), ll(1200, 100 * j)]))}
        for j in range(12)]}
    p = tmp_path / "centerlines.geojson"
    p.write_text(json.dumps(streets), encoding="utf-8")
    ws = census_city(with_layer=False)
    state = AppState(ws)
    panel = MapPanel(state)
    panel.resize(1000, 650)
    panel.show()
    qtbot.waitUntil(lambda: panel.last_page is not None, timeout=20000)
    runner = panel.load_street_basemap(p)
    qtbot.waitUntil(lambda: ws.layer("Streets") is not None, timeout=20000)
    lay = ws.layer("Streets")
    assert lay.count == 12 and lay.style["basemap"] and lay.label_field == "FULL_NAME"
    assert not runner.is_running()
    qtbot.waitUntil(lambda: panel.view.eval_js("!!(window.PSP && PSP.vectorLayers && PSP.vectorLayers.Streets "
                                               "&& PSP.vectorLayers.Streets._drawnParts > 0)") is True,
                    timeout=20000)
    assert "Basemap" in "".join(panel.last_page.legend)
    # the Layers menu: one entry for the layer, whose actions change the workspace's style
    btn = panel.layers_button
    btn.rebuild_menu()
    (entry,) = [a for a in btn.menu_.actions() if a.menu() is not None]
    assert entry.text() == "Streets (12 lines)"
    labels = [a for a in entry.menu().actions() if a.text().startswith("Labels")][0]
    labels.toggle()
    assert ws.layer("Streets").style["labels"] is False
    btn.set_style("Streets", colour="#123456")
    qtbot.waitUntil(lambda: panel.view.eval_js("window.PSP && PSP.vectorLayers && PSP.vectorLayers.Streets ? "
                                               "PSP.vectorLayers.Streets._d.colour : ''") == "#123456",
                    timeout=20000)
    delete_now(panel)

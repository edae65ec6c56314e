"""The map's canvas layers share one base (PSP.CanvasLayer in psp_map.js): the records, the reference layers
(psp_layers.js) and the hot-spot cells (psp_spatial.js) all load, draw and come off the map in one page."""
import json

from tests.ui.test_map_offline import load, view  # noqa: F401  (view: the fixture, a shown MapView)
from workstation.maps import page as maps
from workstation.maps import spatial as sp
from workstation.reports.spatial.hotspots import hotspot_analysis


def test_points_layers_and_hot_spots_share_the_canvas_layer(qtbot, view, demo_ws):
    hot = hotspot_analysis(demo_ws, "part1_violent", "2018-09-30", "2019-09-29", cell_ft=500, distance_ft=1500)
    page = maps.build_map(demo_ws, maps.MapOptions(as_of="2019-09-29", overlay=sp.hotspot_overlay(hot)))
    names = [lay.name for lay in demo_ws.layers]
    assert len(names) >= 3
    load(qtbot, view, page.html)
    qtbot.waitUntil(lambda: view.eval_js("typeof PSP.lastDrawMs") == "number", timeout=20000)

    # psp_map.js ran before the two scripts that build on it, so both found the base and the shared escape
    order = view.eval_js("Array.from(document.scripts).map(function (s) { return s.src; })"
                         ".filter(function (u) { return /psp_(map|spatial|layers)\\.js$/.test(u); })"
                         ".map(function (u) { return u.split('/').pop(); }).join(',')")
    assert order == "psp_map.js,psp_spatial.js,psp_layers.js"
    shown = json.loads(view.eval_js(
        "JSON.stringify(Object.keys(PSP.vectorLayers).map(function (k) { var l = PSP.vectorLayers[k];"
        " return [k, l instanceof PSP.CanvasLayer, !!l._canvas, l._canvas ? l._canvas.parentNode.className : ''];"
        " }))"))
    on_map = [row for row in shown if row[2]]
    assert sorted(row[0] for row in shown) == sorted(names)
    assert on_map and all(row[1] for row in shown)
    assert all("leaflet-pspLayers" in row[3] for row in on_map)      # each in the pane of its height
    points = json.loads(view.eval_js(
        "(function () { var c = document.querySelector('canvas.psp-points');"
        " return JSON.stringify([L.PspPoints.prototype instanceof PSP.CanvasLayer, !!c,"
        " c ? c.parentNode.style.zIndex : '']); })()"))
    assert points == [True, True, "380"]
    cells = view.eval_js("Object.keys(PSP.cellLayers || {}).length")
    assert cells == len(sp.hotspot_overlay(hot).cell_layers)

    # off the map and back: the base takes its canvas and its handlers with it, and puts them back
    first = on_map[0][0]
    gone = view.eval_js(f"(function () {{ var l = PSP.vectorLayers[{json.dumps(first)}]; PSP.map.removeLayer(l);"
                        " return [l._canvas === null, PSP.map.hasEventListeners('click')].join(','); })()")
    assert gone.split(",")[0] == "true"
    back = view.eval_js(f"(function () {{ var l = PSP.vectorLayers[{json.dumps(first)}]; l.addTo(PSP.map);"
                        " return !!l._canvas && l._canvas.parentNode !== null; })()")
    assert back is True

    # the one escape every popup uses (psp_map.js), reached from psp_spatial.js
    html = view.eval_js("PSP.cellPopupHtml({name: 'A <b> & \"c\"', fields: {'n<': ['1&2']}}, 0)")
    assert html == ("<b>A &lt;b&gt; &amp; &quot;c&quot;</b><table class='psp-popup'>"
                    "<tr><th>n&lt;</th><td>1&amp;2</td></tr></table>")
    errors = [c for c in view.page().console if c[0] >= 2]
    assert errors == []

"""The map renders with every request served by the local psp:// scheme; anything else is blocked and recorded."""
import pytest
from PySide6.QtGui import QColor

from tests.core.test_maps import make_mbtiles, with_districts
from tests.core.test_whatif import small_city
from ui.map.view import MapView, delete_now
from workstation.maps import page as maps


@pytest.fixture
def view(qtbot):
    v = MapView()
    v.resize(900, 650)
    v.show()
    yield v
    delete_now(v)


def load(qtbot, view, html):
    with qtbot.waitSignal(view.page_loaded, timeout=20000) as sig:
        view.show_html(html)
    assert sig.args == [True]
    qtbot.waitUntil(lambda: view.eval_js("window.PSP && PSP.ready === true") is True, timeout=10000)


def test_full_map_page_makes_only_local_requests(qtbot, view):
    ws = with_districts(small_city())
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29", heat=True, editor=True, bridge=True,
                                              choropleth="per_100k"))
    load(qtbot, view, page.html)
    qtbot.waitUntil(lambda: view.eval_js("typeof PSP.lastDrawMs") == "number", timeout=10000)
    assert view.interceptor.blocked == []
    assert view.handler.failed == []
    assert len(view.handler.served) >= 17            # page, leaflet, plugins, styles, fonts, the bridge script
    assert all(u.startswith(("psp:", "data:", "blob:", "about:")) for u in view.interceptor.allowed)
    kinds = view.eval_js("[typeof L, typeof L.heatLayer, typeof L.Draw, typeof QWebChannel, typeof L.PspPoints,"
                         " !!PSP.bridge].join(',')")
    assert kinds == "object,function,object,function,function,true"
    errors = [c for c in view.page().console if c[0] >= 2]
    assert errors == []


def test_points_are_drawn_on_the_canvas(qtbot, view):
    ws = with_districts(small_city())
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29", choropleth=None, target_areas=False))
    load(qtbot, view, page.html)
    qtbot.waitUntil(lambda: view.eval_js("typeof PSP.lastDrawMs") == "number", timeout=10000)
    robbery = QColor(maps.CATEGORY_COLOURS["robbery"])
    assault = QColor(maps.CATEGORY_COLOURS["aggravated_assault"])
    img = None

    def count(colour):
        n = 0
        for y in range(0, img.height(), 1):
            for x in range(0, img.width(), 2):
                c = img.pixelColor(x, y)
                if abs(c.red() - colour.red()) + abs(c.green() - colour.green()) + abs(c.blue() - colour.blue()) < 20:
                    n += 1
        return n

    def drawn():
        nonlocal img
        img = view.grab().toImage()    # the compositor may hand over the first frame a little after the draw
        return count(robbery) > 20 and count(assault) > 10

    # three robbery spots and one assault spot drawn (the legend's swatches add a few pixels of each too)
    qtbot.waitUntil(drawn, timeout=10000)


def test_a_remote_request_is_blocked_and_recorded(qtbot, view):
    html = ('<html><head><script src="https://cdn.example.org/evil.js"></script>'
            '<link rel="stylesheet" href="http://fonts.example.org/x.css"></head>'
            '<body><img src="https://tiles.example.org/1/2/3.png"></body></html>')
    with qtbot.waitSignal(view.page_loaded, timeout=20000):
        view.show_html(html)
    qtbot.waitUntil(lambda: len(view.interceptor.blocked) >= 3, timeout=10000)
    assert sorted(view.interceptor.blocked) == ["http://fonts.example.org/x.css",
                                                "https://cdn.example.org/evil.js",
                                                "https://tiles.example.org/1/2/3.png"]


def test_mbtiles_basemap_is_served_by_the_scheme(qtbot, view, tmp_path):
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QImage

    img = QImage(256, 256, QImage.Format.Format_RGB32)
    img.fill(QColor("#3366cc"))
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    png = bytes(buf.data().data())
    # the tiles around the small city at zooms 10-14 (XYZ addresses; stored below in TMS rows)
    import math

    tiles = {}
    for z in (10, 11, 12, 13, 14):
        n = 2 ** z
        x = int(n * (-87.94 + 180) / 360)
        lat = math.radians(43.045)
        y = int(n * (1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                tiles[(z, x + dx, n - 1 - (y + dy))] = png       # stored in TMS rows
    p = tmp_path / "city.mbtiles"
    make_mbtiles(p, tiles, min_zoom=10, max_zoom=14)
    reader = maps.MBTilesReader(p)
    view.handler.add_tiles("t1", reader)
    src = maps.TileSource.from_mbtiles("t1", reader.info)
    page = maps.build_map(small_city(), maps.MapOptions(as_of="2019-09-29", tiles=src, choropleth=None))
    load(qtbot, view, page.html)
    qtbot.waitUntil(lambda: any("/tiles/t1/" in u for u in view.handler.served), timeout=10000)
    assert view.interceptor.blocked == []

    def basemap_pixel():
        shot = view.grab().toImage()
        c = shot.pixelColor(20, shot.height() // 2)             # off the city, on the basemap
        return (c.red(), c.green(), c.blue())

    qtbot.waitUntil(lambda: basemap_pixel() == (0x33, 0x66, 0xcc), timeout=10000)

"""Offline map pages: every asset URL is local and pinned, points travel compactly, exports are self-contained."""
import hashlib
import json
import re
import sqlite3

import numpy as np
import pandas as pd
import pytest

from workstation.engine import geometry as geo

from workstation.maps import page as maps
from workstation.core.errors import UserError
from tests.core.test_whatif import offset, small_city

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def folium_page_with_every_plugin_we_use() -> str:
    import folium
    from folium import plugins

    m = folium.Map(tiles=None, maxZoom=18)
    mc = plugins.MarkerCluster().add_to(m)
    folium.Marker([43.05, -87.95], icon=folium.Icon(icon="info-sign", angle=30)).add_to(mc)
    plugins.HeatMap([[43.05, -87.95]]).add_to(m)
    plugins.Draw().add_to(m)
    return m.get_root().render()


def test_every_url_folium_emits_maps_to_a_pinned_local_file():
    html = folium_page_with_every_plugin_we_use()
    remote = [u for u in URL.findall(html) if u.startswith("http")]
    assert len(remote) >= 15
    man = maps.manifest()
    assert set(remote) <= set(man["urls"]), set(remote) - set(man["urls"])
    local = maps.localise_html(html)
    assert not [u for u in URL.findall(local) if u.startswith("http")]
    for url in URL.findall(local):
        if url.startswith(maps.ASSET_BASE):
            assert maps.asset_file(url[len(maps.ASSET_BASE):]) is not None, url


def test_installed_assets_match_their_pinned_hashes():
    man = maps.manifest()
    assert not maps.missing_assets(), "run scripts/fetch_map_assets.py"
    n = 0
    for pkg in man["packages"]:
        for rel, sha in pkg["files"].items():
            p = maps.ASSET_DIR / f"{pkg['name']}@{pkg['version']}" / rel
            assert hashlib.sha256(p.read_bytes()).hexdigest() == sha, p
            n += 1
    assert n >= 40
    versions = {p["name"]: p["version"] for p in man["packages"]}
    assert versions["leaflet"] == "1.9.3" and versions["leaflet.markercluster"] == "1.1.0"
    assert versions["leaflet-draw"] == "1.0.2" and versions["@fortawesome/fontawesome-free"] == "6.2.0"


def test_every_font_and_image_a_stylesheet_uses_is_local():
    """Stylesheets pull fonts and sprites by relative url(): each must resolve to an installed file."""
    checked = 0
    for url, local in maps.manifest()["urls"].items():
        if not local.endswith(".css"):
            continue
        css = maps.asset_file(local).read_text(encoding="utf-8")
        base = maps.ASSET_BASE + local
        for _, ref in re.findall(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", css):
            if ref.startswith(("data:", "#")):
                continue
            target = maps._join_url(base.rsplit("/", 1)[0] + "/", ref.split("?")[0].split("#")[0])
            assert maps.asset_file(target[len(maps.ASSET_BASE):]) is not None, (local, ref)
            checked += 1
    assert checked >= 20     # fontawesome webfonts, glyphicons, leaflet and draw sprites, marker images


def test_a_page_that_would_load_something_remote_is_refused():
    with pytest.raises(UserError, match="unknown.example"):
        maps.localise_html('<html><script src="https://unknown.example/x.js"></script></html>')
    # a link a person may click loads nothing by itself
    assert "leafletjs" in maps.localise_html('<a href="https://leafletjs.com">Leaflet</a>')


def with_districts(ws):
    off = ws.frames["offenses"].copy()
    idx = geo.assign([d.geometry for d in ws.districts], off["lon"], off["lat"])
    off["district"] = np.where(idx >= 0, np.array([d.name for d in ws.districts])[np.maximum(idx, 0)], None)
    off.loc[off["lon"].isna(), "district"] = "2"          # the record without a location names its district
    ws.set_frame("offenses", off)
    return ws


def point_payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="[^"]+_json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_map_page_of_a_small_city():
    ws = with_districts(small_city())
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29", measure="part1_violent", window="ytd",
                                              heat=True, editor=True, bridge=True))
    # year to date 2019: 4 + 2 + 10 robberies and 5 aggravated assaults located, one robbery without a location
    assert (page.n_points, page.n_unlocated) == (21, 1)
    urls = URL.findall(page.html)
    assert all(u.startswith(maps.ASSET_BASE) or u == "#" for u in urls if not u.startswith("https://leafletjs")), urls
    for needed in ("leaflet@1.9.3/dist/leaflet.js", "leaflet-draw@1.0.2/dist/leaflet.draw.js",
                   "folium@0.20.0/templates/leaflet_heat.min.js", "local/psp_map.js", "qtwebchannel/qwebchannel.js"):
        assert maps.ASSET_BASE + needed in urls
    # the compact payload decodes to the records' own coordinates, categories and dates
    data = point_payload(page.html)
    lat = data["lat0"] + np.array(data["lat"]) / data["scale"]
    lon = data["lon0"] + np.array(data["lon"]) / data["scale"]
    off = ws.frames["offenses"].set_index("record_id")
    ids = data["fields"]["Record"]
    assert len(ids) == 21
    assert np.allclose(lat, off.loc[ids, "lat"].to_numpy(), atol=6e-6)
    assert np.allclose(lon, off.loc[ids, "lon"].to_numpy(), atol=6e-6)
    cats = [data["cats"][c] for c in data["cat"]]
    assert sorted(set(cats)) == ["Aggravated Assault", "Robbery"] and cats.count("Aggravated Assault") == 5
    days = pd.to_datetime(np.array(data["day"]) + data["day0"], unit="D")
    assert (days == off.loc[ids, "occurred"].dt.normalize().to_numpy()).all()
    # the legend names the measure, the count and the record left off the map
    legend = " ".join(page.legend)
    assert "21 records" in legend and "1 record without a location" in page.html


def test_district_choropleth_values():
    ws = with_districts(small_city())
    recs, m, _ = maps.select_records(ws, "part1_violent", "ytd", "2019-09-29")
    # in district 2: its 2 corridor robberies, 5 assaults, and the unlocated robbery placed by its district column
    assert maps.district_values(ws, recs, "counts", m) == {"1": 14.0, "2": 8.0}
    # rates: per 100,000 people and per square mile (each district is 2 km x 4 km = 3.09 sq mi)
    per = maps.district_values(ws, recs, "per_100k", m)
    assert per == {"1": pytest.approx(14 / 20_000 * 1e5), "2": pytest.approx(8 / 60_000 * 1e5)}
    sq = maps.district_values(ws, recs, "per_sq_mi", m)
    assert sq["1"] == pytest.approx(14 / (8e6 / geo.SQ_METRES_PER_SQ_MILE), rel=0.01)
    # clipped to the corridor only its 6 robberies remain
    recs, _, _ = maps.select_records(ws, "part1_violent", "ytd", "2019-09-29", "target_area:Corridor")
    assert len(recs) == 6


def test_standalone_export_inlines_everything(tmp_path):
    ws = with_districts(small_city())
    out = tmp_path / "map.html"
    page = maps.export_standalone(ws, out, maps.MapOptions(as_of="2019-09-29", heat=True))
    html = out.read_text(encoding="utf-8")
    assert page.n_points == 21
    assert not [u for u in URL.findall(html) if u.startswith(("psp:", "http")) and "leafletjs.com" not in u]
    assert not re.search(r"url\(\s*['\"]?(psp:|https?:)", html)
    assert maps.QWEBCHANNEL_URL not in html and "<script src" not in html
    assert "data:font/woff2;base64," in html                  # fontawesome's fonts travel inside the file
    assert "L.PspPoints" in html and "window.L" in html        # our layer and leaflet itself
    assert point_payload(html)["fields"]["Address"]            # a standalone map embeds every popup field


def test_payload_stays_compact_for_many_points():
    ws = small_city()
    rng = np.random.default_rng(0)
    n = 20_000
    lon, lat = offset(-87.95, 43.03, rng.uniform(0, 4000, n), rng.uniform(0, 4000, n))
    ws.set_frame("offenses", pd.DataFrame(dict(
        record_id=[f"R{i:07d}" for i in range(n)], incident_id=[f"I{i:07d}" for i in range(n)],
        occurred=pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 270, n), unit="D"),
        category=rng.choice(["robbery", "aggravated_assault"], n), lon=lon, lat=lat, load_id=1)))
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29", embed_all_fields=False))
    assert page.n_points == n
    assert page.html.count("L.circleMarker") == 0 and page.html.count("L.marker(") == 0
    assert page.size_bytes < 60_000 + 32 * n                   # one compact array, not a statement per record


def make_mbtiles(path, tiles: dict, min_zoom: int = 0, max_zoom: int = 2):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "Test basemap"), ("format", "png"),
                                                          ("minzoom", str(min_zoom)), ("maxzoom", str(max_zoom)),
                                                          ("bounds", "-88.0,43.0,-87.9,43.1")])
    con.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", [(z, x, r, b) for (z, x, r), b in tiles.items()])
    con.commit()
    con.close()


def test_mbtiles_rows_are_flipped_from_tms(tmp_path):
    p = tmp_path / "base.mbtiles"
    # TMS row 0 is the southern row: at zoom 1 the XYZ tile y=0 (north) is TMS row 1
    make_mbtiles(p, {(1, 0, 1): b"north-west", (1, 0, 0): b"south-west", (2, 3, 0): b"z2-south-east"})
    r = maps.MBTilesReader(p)
    try:
        assert r.info.name == "Test basemap" and (r.info.min_zoom, r.info.max_zoom) == (0, 2)
        assert r.info.bounds == (-88.0, 43.0, -87.9, 43.1) and r.info.mime == "image/png"
        assert r.tile(1, 0, 0) == b"north-west" and r.tile(1, 0, 1) == b"south-west"
        assert r.tile(2, 3, 3) == b"z2-south-east"
        assert r.tile(1, 1, 0) is None and r.tile(1, 5, 0) is None
    finally:
        r.close()
    src = maps.TileSource.from_mbtiles("t1", r.info)
    assert src.url == "psp://tiles/t1/{z}/{x}/{y}"
    page = maps.build_map(small_city(), maps.MapOptions(as_of="2019-09-29", tiles=src))
    assert "psp://tiles/t1/{z}/{x}/{y}" in page.html


def test_bad_mbtiles_file_is_explained(tmp_path):
    p = tmp_path / "not.mbtiles"
    p.write_bytes(b"hello")
    with pytest.raises(UserError, match="not an MBTiles file"):
        maps.open_mbtiles(p)
    with pytest.raises(UserError, match="does not exist"):
        maps.open_mbtiles(tmp_path / "missing.mbtiles")

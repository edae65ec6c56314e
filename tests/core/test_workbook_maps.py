"""Maps in the CompStat workbook (issue 11 item 2): drawn headless from the workspace's geometry and the engine's
records, placed where the case study places them (Citywide Map after the citywide district tables, PSP Areas Map
before the PSP-area tables), printed at >= 150 dpi and not blank; the counts they draw are the tables' counts."""
from __future__ import annotations

import datetime as dt
import io
import math
import shutil
import subprocess

import numpy as np
import openpyxl
import pandas as pd
import pytest
from PIL import Image

from workstation.exports.workbook import export_workbook
from workstation.maps import static

AS_OF = dt.date(2019, 9, 29)


@pytest.fixture(scope="module")
def book(demo_ws, tmp_path_factory):
    path = tmp_path_factory.mktemp("maps_wb") / "compstat.xlsx"
    export_workbook(demo_ws, path, as_of=AS_OF)
    return path


def _pictures(ws):
    out = []
    for img in ws._images:
        data = img._data()
        pil = Image.open(io.BytesIO(data))
        anchor = img.anchor._from
        out.append({"row": anchor.row + 1, "col": anchor.col + 1, "px": pil.size, "pil": pil,
                    # the size it prints at: the anchor's extent, in EMU (914,400 to the inch)
                    "inches": (img.anchor.ext.cx / 914400, img.anchor.ext.cy / 914400)})
    return out


def _rows_text(ws):
    return {r: str(ws.cell(row=r, column=1).value) for r in range(1, ws.max_row + 1)
            if ws.cell(row=r, column=1).value is not None}


def test_maps_sit_where_the_case_study_puts_them(book):
    wb = openpyxl.load_workbook(book)
    counts = {s.title: len(s._images) for s in wb.worksheets}
    # Districts: the citywide map; Target Areas: the two areas together, then each one; the Gi* hot spots beside
    # the hottest cells they come from
    assert counts == {**{s: 0 for s in counts}, "Districts": 1, "Target Areas": 3, "Hot Spots & Displacement": 1}
    d = wb["Districts"]
    text = _rows_text(d)
    map_row = next(r for r, t in text.items() if t == "Citywide Map")
    last_table_row = max(r for r, t in text.items() if t == "Total")
    assert map_row > last_table_row  # after the citywide tables
    assert [p["row"] for p in _pictures(d)] == [map_row + 1]
    h = wb["Hot Spots & Displacement"]
    text = _rows_text(h)
    hot_row = next(r for r, t in text.items() if t == "Hot Spot Map")
    assert hot_row > next(r for r, t in text.items() if t.startswith("Top ") and "hot-spot cells" in t)
    assert hot_row < next(r for r, t in text.items() if t.startswith("Near repeat"))
    assert [p["row"] for p in _pictures(h)] == [hot_row + 1]
    t = wb["Target Areas"]
    text = _rows_text(t)
    overview = next(r for r, x in text.items() if x == "PSP Areas Map")
    first_table = next(r for r, x in text.items() if x.startswith("Homicides PSP Areas"))
    assert overview < first_table
    titles = [x for x in text.values() if x.startswith("Map — ")]
    assert titles == ["Map — Center Street Corridor", "Map — Capitol Drive East"]
    assert sorted(p["row"] for p in _pictures(t))[0] == overview + 1


def test_pictures_are_print_resolution_and_not_blank(book):
    wb = openpyxl.load_workbook(book)
    for name in ("Districts", "Target Areas", "Hot Spots & Displacement"):
        for i, p in enumerate(sorted(_pictures(wb[name]), key=lambda p: p["row"])):
            w_in, h_in = p["inches"]
            assert p["px"][0] / w_in >= 150 and p["px"][1] / h_in >= 150
            assert 4 <= w_in <= 10.2 and 3 <= h_in <= 7.0   # fits a landscape Letter page's printable area
            px = np.asarray(p["pil"].convert("RGB"), dtype=np.int16)
            assert px.reshape(-1, 3).std(axis=0).mean() > 20  # pixel variance: a drawn map, not a blank
            if name != "Hot Spots & Displacement":  # every map but the hot spots draws homicides (#7b0000)
                homicide = (abs(px[..., 0] - 0x7B) < 25) & (px[..., 1] < 40) & (px[..., 2] < 40)
                assert homicide.sum() > 50


def test_map_pages_fit_the_printed_page(book):
    """The picture lies inside the printed width (the sheet's columns reach past its right edge), and its rows plus
    the repeated heading fit one page at the sheet's fit-to-width scale."""
    wb = openpyxl.load_workbook(book)
    for name in ("Districts", "Target Areas", "Hot Spots & Displacement"):
        ws = wb[name]
        assert ws.page_setup.paperSize is not None and ws.page_setup.orientation
        widths = [ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width or 8.43
                  for c in range(1, ws.max_column + 1)]
        total_pt = sum((7 * w + 5) * 0.75 for w in widths)
        pictures = _pictures(ws)  # openpyxl reads a loaded picture's bytes once
        for p in pictures:
            assert p["col"] == 1 and p["inches"][0] * 72 <= total_pt + 1
        landscape = ws.page_setup.orientation == "landscape"
        page_w, page_h = (11.0, 8.5) if landscape else (8.5, 11.0)
        m = ws.page_margins
        scale = min(1.0, (page_w - m.left - m.right) * 72 / total_pt)
        for p in pictures:
            assert (p["inches"][1] * 72 + 80) * scale <= (page_h - m.top - m.bottom) * 72


def test_map_counts_are_the_engine_counts(demo_ws):
    """The citywide map draws every located homicide and non-fatal shooting victim of the year to date: counted
    here straight from the frames."""
    img = static.citywide_map(demo_ws, AS_OF)
    off = demo_ws.frames["offenses"]
    ytd = (off["occurred"] >= pd.Timestamp("2019-01-01")) & (off["occurred"] < pd.Timestamp("2019-09-30"))
    hom = off[ytd & (off["category"] == "homicide")]
    located = np.isfinite(hom["lat"]) & np.isfinite(hom["lon"])
    sh = demo_ws.frames["shootings"]
    s_ytd = (sh["occurred"] >= pd.Timestamp("2019-01-01")) & (sh["occurred"] < pd.Timestamp("2019-09-30"))
    nf = sh[s_ytd & ~sh["fatal"].astype(bool)]
    nf_located = np.isfinite(nf["lat"]) & np.isfinite(nf["lon"])
    assert img.counts == {"Homicides": int(located.sum()), "Non-fatal shootings (victims)": int(nf_located.sum())}
    assert img.counts["Homicides"] == 71          # the case study's 2019 YTD total
    unlocated = int((~nf_located).sum())
    assert any(f"{unlocated} non-fatal" in n for n in img.notes) == (unlocated > 0)


def test_target_area_map_counts_the_area_membership(demo_ws):
    img = static.target_areas_map(demo_ws, AS_OF, ["target_area:Center Street Corridor"])
    # the case study's PSP-area table totals for 2019 YTD: 9 homicides, 46 non-fatal shooting victims (all located)
    assert img.counts == {"Homicides": 9, "Non-fatal shootings (victims)": 46}


def test_scale_bar_is_true_in_the_projection(demo_ws):
    """One mile on the ground (geodesic) is one mile on the map's projected plane, anywhere in the city."""
    from pyproj import Geod

    proj = static._Projection(demo_ws)
    geod = Geod(ellps="WGS84")
    x0, y0, x1, y1 = demo_ws.city.geometry.bounds
    for lon, lat in ((x0, y0), (x1, y1), ((x0 + x1) / 2, (y0 + y1) / 2)):
        for az in (0, 45, 90):
            lon2, lat2, _ = geod.fwd(lon, lat, az, static.METRES_PER_MILE)
            xs, ys = proj.points(np.array([lon, lon2]), np.array([lat, lat2]))
            d = math.hypot(xs[1] - xs[0], ys[1] - ys[0])
            assert abs(d / static.METRES_PER_MILE - 1) < 0.005
    assert static.nice_scale_miles(5 * static.METRES_PER_MILE * 2) == 2
    assert static.nice_scale_miles(5 * static.METRES_PER_MILE * 0.5) == 0.5


def test_hotspot_map_paints_the_analysis_bins(demo_ws):
    """The workbook's hot-spot map is the Hot Spots sheet's Gi* analysis (Part I violent crime, the 365 days to the
    as-of date, 500 ft cells, 1,500 ft band): its legend counts are that analysis's cells per bin (recomputed here),
    hot cells are painted in ArcGIS's red and not-significant cells are left unpainted."""
    from workstation.exports.workbook import _plan_spatial, export_context
    from workstation.reports.spatial.hotspots import BIN_COLOURS, BIN_LABELS, hotspot_analysis

    ctx = export_context(demo_ws, AS_OF)
    plan = _plan_spatial(ctx)
    [(title, img)] = [v for kind, v in plan.blocks if kind == "map"]
    assert title == "Hot Spot Map"
    res = hotspot_analysis(demo_ws, "part1_violent", AS_OF - dt.timedelta(days=364), AS_OF, cell_ft=500,
                           distance_ft=1500)
    assert res.bin_counts() == plan.spatial["hotspots"].bin_counts()
    assert img.counts == {BIN_LABELS[b]: n for b, n in res.bin_counts().items() if n}
    assert res.bin_counts()[3] > 0
    px = np.asarray(Image.open(io.BytesIO(img.png)).convert("RGB"), dtype=np.int16)

    def count(hexcol, tol=14):
        r, g, b = (int(hexcol[i:i + 2], 16) for i in (1, 3, 5))
        return int(((abs(px[..., 0] - r) < tol) & (abs(px[..., 1] - g) < tol) & (abs(px[..., 2] - b) < tol)).sum())

    # 85% of the 99% red over the city's light fill
    assert count("#db4939", 20) > 2000
    assert count(BIN_COLOURS[0], 4) < 0.005 * px.shape[0] * px.shape[1]  # not-significant cells unpainted


def _soffice():
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None or shutil.which("pdfimages") is None,
                    reason="LibreOffice/poppler not installed (.ci/run installs them)")
def test_libreoffice_prints_each_map_on_its_titled_page_at_print_resolution(book, tmp_path):
    profile = tmp_path / "lo-profile"
    proc = subprocess.run([_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
                           "pdf", "--outdir", str(tmp_path), str(book)], capture_output=True, text=True, timeout=300)
    pdf = tmp_path / (book.stem + ".pdf")
    assert pdf.exists(), proc.stdout + proc.stderr
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout.splitlines()[2:]
    images = [ln.split() for ln in listing if ln.split()[2] == "image"]
    assert len(images) == 5
    for page, *_rest in images:
        cols = _rest
        x_ppi, y_ppi = float(cols[11]), float(cols[12])
        assert x_ppi >= 150 and y_ppi >= 150
        text = subprocess.run(["pdftotext", "-f", page, "-l", page, str(pdf), "-"], capture_output=True,
                              text=True).stdout
        assert "Map" in text  # the picture prints on the page of its title


def test_target_area_map_draws_and_names_the_surrounding_streets(demo_ws, monkeypatch):
    """The workspace's basemap street layer is drawn under the records and its longest streets in view are named,
    east-west and north-south ones."""
    from matplotlib.axes import Axes

    layer = static.street_layers(demo_ws)
    assert [lay.name for lay in layer] == ["Streets"]
    texts = []
    real = Axes.text

    def spy(self, x, y, s, *a, **kw):
        texts.append((s, kw.get("rotation", 0)))
        return real(self, x, y, s, *a, **kw)

    monkeypatch.setattr(Axes, "text", spy)
    img = static.target_areas_map(demo_ws, AS_OF, ["target_area:Center Street Corridor"])
    names = {str(v).upper() for v in layer[0].features["label"].dropna()}
    named = [t for t, _r in texts if t.upper() in names]
    assert 4 <= len(named) <= static.STREET_LABELS
    angles = [r for t, r in texts if t.upper() in names]
    assert any(abs(r) < 5 for r in angles) and any(abs(abs(r) - 90) < 5 for r in angles)  # both directions
    px = np.asarray(Image.open(io.BytesIO(img.png)).convert("RGB"), dtype=np.int16)
    grey = (abs(px[..., 0] - px[..., 1]) < 6) & (abs(px[..., 1] - px[..., 2]) < 6) & (px[..., 0] > 150) & \
        (px[..., 0] < 215)
    assert grey.sum() > 20_000   # the street grid's thin grey lines

"""Spatial analysis overlays on the map (issue 10): Gi* cells in ArcGIS's palette with a legend, density classes,
cell popups carrying count/z/p/bin, the displacement buffer ring; all from local assets."""
import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from workstation.engine import geometry as geo
from workstation.maps import page as maps
from workstation.maps import spatial as sp
from tests.core.test_maps import with_districts
from tests.core.test_whatif import small_city

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
CRS = "+proj=tmerc +lat_0=43.05 +lon_0=-87.95 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=us-ft +no_defs"


@dataclass(frozen=True)
class FakeGrid:
    x0: float
    y0: float
    cell_ft: float
    nrows: int
    ncols: int
    crs: str


@dataclass
class FakeHotSpots:
    grid: FakeGrid
    cells: pd.DataFrame
    params: dict


def fake_result() -> FakeHotSpots:
    """A 3 x 4 grid of 500 ft cells with one cell of each bin (and spares), figures chosen by hand."""
    grid = FakeGrid(-1000.0, -750.0, 500.0, 3, 4, CRS)
    bins = [3, 2, 1, 0, -1, -2, -3, 0, 0, 3, 0, 0]
    rows, cols = np.divmod(np.arange(12), 4)
    z = np.array([3.1, 2.2, 1.7, 0.2, -1.7, -2.1, -2.9, 0.0, -0.5, 4.0, 0.3, 0.1])
    cells = pd.DataFrame({"row": rows, "col": cols, "count": np.arange(12) * 2, "gi_z": z,
                          "gi_p": np.array([0.0019, 0.028, 0.09, 0.84, 0.09, 0.036, 0.0037, 1.0, 0.6, 0.00003, 0.7,
                                            0.9]),
                          "gi_bin": bins, "density": np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 0.0]),
                          "district": ["1"] * 12})
    return FakeHotSpots(grid, cells, {"distance_ft": 1500, "measure_label": "Part I violent crime",
                                      "bandwidth_ft": 1200})


def payload(html: str, layer_var_hint: str = "layers") -> dict:
    for m in re.finditer(r'<script type="application/json" id="[^"]+_json">(.*?)</script>', html, re.S):
        d = json.loads(m.group(1))
        if layer_var_hint in d:
            return d
    raise AssertionError("no overlay payload in the page")


def test_hotspot_cells_carry_bins_colours_and_figures():
    res = fake_result()
    ov = sp.hotspot_overlay(res)
    ws = with_districts(small_city())
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29", overlay=ov, bridge=True, editor=True))
    urls = URL.findall(page.html)
    assert maps.ASSET_BASE + "local/psp_spatial.js" in urls
    assert maps.asset_file("local/psp_spatial.js") is not None          # served by the local scheme
    data = payload(page.html)
    gi = next(layer for layer in data["layers"] if layer["name"] == "Gi* hot spots")
    dens = next(layer for layer in data["layers"] if layer["name"].startswith("Density"))
    # every study cell is drawn (not significant ones transparent, still clickable), in ArcGIS's colours
    assert len(gi["rows"]) == 12
    colour_of = [gi["colours"][c] for c in gi["cls"]]
    assert colour_of[:7] == ["#d62f27", "#ed7551", "#fab984", None, "#c0ccbe", "#849eba", "#4575b5"]
    assert colour_of[9] == "#d62f27" and colour_of[7] is None
    # the popup fields of a cell: its count, z, p and bin
    f = gi["fields"]
    assert (f["Events in cell"][9], f["Gi* z-score"][9], f["p-value"][9], f["Bin"][9]) == (
        "18", "4.00", "< 0.0001", "Hot spot, 99% confidence")
    assert (f["Gi* z-score"][5], f["p-value"][5], f["Bin"][5]) == ("-2.10", "0.0360", "Cold spot, 95% confidence")
    # the cell polygons: corners of the lattice projected back to the cell's own feet
    lon = np.array(gi["lon"]).reshape(-1, gi["width"])
    lat = np.array(gi["lat"]).reshape(-1, gi["width"])
    x, y = geo.from_wgs84(lon.ravel(), lat.ravel(), CRS)
    i = 6                                            # row 1, col 2
    r, c = gi["rows"][i], gi["cols"][i]
    k = r * gi["width"] + c
    assert abs(x[k] - (-1000 + 2 * 500)) < 0.5 and abs(y[k] - (-750 + 1 * 500)) < 0.5
    # density: only cells with a positive density, in five classes from light to dark
    assert len(dens["rows"]) == 10
    assert dens["colours"] == list(sp.DENSITY_COLOURS)
    top = dens["cls"][dens["fields"]["Density (per sq mi)"].index("100")]
    assert top == 4
    # legend: every bin with its count of cells, the band and the cell size
    legend = " ".join(page.legend)
    assert "500 ft cells, 1,500 ft band" in legend
    assert "Hot spot, 99% confidence (2)" in legend and "Not significant (5)" in legend
    assert "Cold spot, 99% confidence (1)" in legend
    assert "kernel bandwidth 1,200 ft" in legend and "Density per sq mi" in legend


def test_displacement_ring_is_drawn():
    ws = with_districts(small_city())
    target = ws.districts[0].geometry
    crs = CRS
    t_ft = geo.transform_geometry(target, "EPSG:4326", crs)
    ring = geo.transform_geometry(t_ft.buffer(1320).difference(t_ft), crs, "EPSG:4326")
    ov = sp.displacement_overlay(target, ring, target_label="District 1", buffer_ft=1320,
                                 control_label="The rest of the city")
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29", overlay=ov))
    assert "Buffer ring: 1,320 ft" in page.html and "Target area: District 1" in page.html
    legend = " ".join(page.legend)
    assert "Buffer ring (B), 1,320 ft" in legend and "Control (C): The rest of the city" in legend
    # the ring drawn is the ring given (its GeoJSON is on the page)
    colls = [json.loads(s) for s in re.findall(r'_add\((\{"features".*?"type": "FeatureCollection"\})\);', page.html)]
    rings = [shapely.geometry.shape(f["geometry"]) for c in colls for f in c["features"]
             if f.get("properties", {}).get("name", "").startswith("Buffer ring")]
    assert rings and abs(geo.area_sq_miles(rings[0]) - geo.area_sq_miles(ring)) < 1e-6
    # with the target area selected, the view fits the whole ring, not just the area inside it
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29", overlay=ov,
                                              area_key=f"district:{ws.districts[0].name}"))
    s_, w_, n_, e_ = page.bounds
    x0, y0, x1, y1 = ring.bounds
    assert s_ <= y0 and w_ <= x0 and n_ >= y1 and e_ >= x1


def test_page_without_overlay_does_not_load_the_spatial_script():
    ws = with_districts(small_city())
    page = maps.build_map(ws, maps.MapOptions(as_of="2019-09-29"))
    assert "psp_spatial.js" not in page.html


def test_emerging_categories_colour_their_cells():
    res = fake_result()
    cats = ["New Hot Spot", "Persistent Hot Spot", "No Pattern Detected", "Diminishing Hot Spot",
            "Intensifying Hot Spot", "No Pattern Detected", "Sporadic Cold Spot", "No Pattern Detected",
            "Persistent Hot Spot", "New Hot Spot", "No Pattern Detected", "No Pattern Detected"]
    cells = res.cells.assign(category=cats, trend_z=np.linspace(-2, 2, 12), trend_p=np.linspace(0.001, 0.9, 12))
    ov = sp.emerging_overlay(FakeHotSpots(res.grid, cells, {}))
    layer = ov.cell_layers[0]
    colour = [layer.colours[c] for c in layer.cls]
    assert colour[0] == colour[9] == sp.EMERGING_COLOURS["New hot spot"]
    assert colour[1] == colour[8] == sp.EMERGING_COLOURS["Persistent hot spot"]
    assert colour[3] == sp.EMERGING_COLOURS["Diminishing hot spot"]
    assert colour[4] == sp.EMERGING_COLOURS["Intensifying hot spot"]
    assert colour[2] is None and colour[5] is None                  # no pattern: transparent, still clickable
    assert layer.fields["Pattern"][6] == "Sporadic Cold Spot"
    assert "New Hot Spot (2)" in ov.legend_html and "Persistent Hot Spot (2)" in ov.legend_html
    assert "No Pattern" not in ov.legend_html

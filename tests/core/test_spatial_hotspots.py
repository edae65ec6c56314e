"""Spatial core: event selection (= CompStat figures), the grid, kernel density (= a direct per-point sum) and Gi*
(= PySAL's esda.G_Local(star=True) with libpysal's binary DistanceBand weights)."""
import json
import math
import warnings

import numpy as np
import pytest

from workstation.core.errors import UserError
from workstation.engine.analysis import analysis_for
from workstation.engine.periods import custom
from workstation.reports.spatial import events as ev_mod
from workstation.reports.spatial.grid import Grid
from workstation.reports.spatial.hotspots import (disc_runs, emerging_hotspots, fdr_thresholds, gi_bins, gi_star,
                                                  hotspot_analysis, mann_kendall)
from workstation.reports.spatial.kde import default_bandwidth_ft, kernel_density


def _esda_z(x, mask, distance_ft, cell_ft):
    esda = pytest.importorskip("esda")
    libpysal = pytest.importorskip("libpysal")
    rr, cc = np.nonzero(mask)
    coords = np.column_stack([(cc + 0.5) * cell_ft, (rr + 0.5) * cell_ft])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.DistanceBand(coords, threshold=distance_ft, binary=True, silence_warnings=True)
        g = esda.G_Local(x[rr, cc], w, transform="B", star=True, permutations=0)
    return g.Zs


@pytest.mark.parametrize("seed,cell,dist", [(1, 250.0, 700.0), (2, 500.0, 1000.0), (3, 100.0, 450.0)])
def test_gi_star_equals_esda(seed, cell, dist):
    rng = np.random.default_rng(seed)
    nr, nc = 33, 41
    x = rng.poisson(1.2, (nr, nc)).astype(float)
    x[10:14, 20:25] += rng.poisson(6, (4, 5))  # a real cluster
    yy, xx = np.mgrid[0:nr, 0:nc]
    mask = ((yy - 16) ** 2 / 220 + (xx - 20) ** 2 / 380) < 1   # an irregular study region
    mask[5:9, 3:10] = False                                      # with a hole
    z, p = gi_star(x, mask, dist, cell)
    rr, cc = np.nonzero(mask)
    np.testing.assert_allclose(z[rr, cc], _esda_z(x, mask, dist, cell), rtol=0, atol=1e-9)
    assert np.isnan(z[~mask]).all() and np.isnan(p[~mask]).all()
    # two-sided p from the normal distribution
    from scipy.stats import norm
    np.testing.assert_allclose(p[rr, cc], 2 * norm.sf(np.abs(z[rr, cc])), atol=1e-12)


def test_disc_runs_are_the_distance_band():
    for cell, dist in [(100.0, 250.0), (500.0, 1000.0), (300.0, 1500.0), (250.0, 707.2)]:
        got = {(di, dj) for di, w in disc_runs(dist, cell) for dj in range(-w, w + 1)}
        r = int(dist // cell) + 1
        want = {(di, dj) for di in range(-r, r + 1) for dj in range(-r, r + 1)
                if math.hypot(di * cell, dj * cell) <= dist + 1e-9}
        assert got == want


def test_gi_bins_thresholds_and_fdr():
    z = np.array([3.0, 2.576, 2.0, 1.7, 1.0, -1.7, -2.0, -2.6, np.nan])
    from scipy.stats import norm
    p = 2 * norm.sf(np.abs(z))
    assert gi_bins(z, p).tolist() == [3, 3, 2, 1, 0, -1, -2, -3, 0]


def test_fdr_hand_example_exact():
    pv = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205, 0.212, 0.216])
    m = pv.size
    for a in (0.10, 0.05, 0.01):
        ks = [k for k in range(1, m + 1) if pv[k - 1] <= k / m * a]
        assert fdr_thresholds(pv)[a] == (pv[max(ks) - 1] if ks else 0.0)
    from scipy.stats import norm
    b = gi_bins(norm.isf(pv / 2), pv, fdr=True)
    # 0.10 threshold: k=6 (0.060 <= 0.06); 0.05: k=2 (0.008 <= 0.01); 0.01: k=1 (0.001 <= 0.001)
    assert b.tolist() == [3, 2, 1, 1, 1, 1, 0, 0, 0, 0]


def test_kde_equals_direct_sum_when_events_sit_on_cell_centres():
    g = Grid(1000.0, 2000.0, 100.0, 40, 50, "EPSG:3857")
    rng = np.random.default_rng(5)
    r = rng.integers(-3, 43, 300)
    c = rng.integers(-3, 53, 300)  # some just off the grid: they still reach the edge cells
    x = g.x0 + (c + 0.5) * g.cell_ft
    y = g.y0 + (r + 0.5) * g.cell_ft
    w = rng.integers(1, 4, 300).astype(float)
    h = 730.0
    dens = kernel_density(x, y, g, h, w)
    cx, cy = g.centres()
    d2 = ((cx[..., None] - x) ** 2 + (cy[..., None] - y) ** 2) / h ** 2
    direct = (w * np.where(d2 < 1, 3 / (math.pi * h * h) * (1 - d2) ** 2, 0.0)).sum(axis=-1) * 5280.0 ** 2
    np.testing.assert_allclose(dens, direct, rtol=1e-9, atol=1e-9 * direct.max())


def test_kde_close_to_direct_sum_for_scattered_events_and_integrates_to_n():
    g = Grid(0.0, 0.0, 50.0, 120, 120, "EPSG:3857")
    rng = np.random.default_rng(9)
    x = rng.uniform(1500, 4500, 400)
    y = rng.uniform(1500, 4500, 400)
    h = 1000.0
    dens = kernel_density(x, y, g, h)
    cx, cy = g.centres()
    d2 = ((cx[..., None] - x) ** 2 + (cy[..., None] - y) ** 2) / h ** 2
    direct = np.where(d2 < 1, 3 / (math.pi * h * h) * (1 - d2) ** 2, 0.0).sum(axis=-1) * 5280.0 ** 2
    # linear binning to the four nearest centres: the error is second order in cell / bandwidth (0.05 here)
    assert np.abs(dens - direct).max() < 0.005 * direct.max()
    total = dens.sum() * (g.cell_ft / 5280.0) ** 2
    assert total == pytest.approx(400, rel=0.01)


def test_default_bandwidth_by_hand():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 3000, 500)
    y = rng.normal(0, 1000, 500)
    mx, my = x.mean(), y.mean()
    sd = math.sqrt(((x - mx) ** 2 + (y - my) ** 2).sum() / 500)
    dm = np.median(np.hypot(x - mx, y - my))
    want = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * 500 ** -0.2
    assert default_bandwidth_ft(x, y) == pytest.approx(want, rel=1e-12)
    assert math.isnan(default_bandwidth_ft([1.0], [2.0]))


def test_select_events_counts_equal_compstat(demo_ws):
    an = analysis_for(demo_ws)
    for measure, key in [("part1_violent", "citywide"), ("burglary", "target_area:Center Street Corridor"),
                         ("nonfatal_shooting_incidents", "district:5"), ("homicides", "citywide")]:
        ev = ev_mod.select_events(demo_ws, measure, "2016-01-01", "2016-12-31", key)
        want = an.count(measure, key, custom("2016-01-01", "2016-12-31"))
        assert ev.total == want, (measure, key)
        assert len(ev) + ev.missing_xy == int(ev.weights.size + ev.missing_xy)
        assert np.all(np.diff(ev.days) >= 0)
        assert ev.days.min() >= ev_mod.days_since_epoch("2016-01-01")
        assert ev.days.max() <= ev_mod.days_since_epoch("2016-12-31")
        assert np.isfinite(ev.x_ft).all()
    # a drawn boundary selects the same events as the saved target area it was drawn from
    ta = demo_ws.area("Center Street Corridor", "target_area")
    a = ev_mod.select_events(demo_ws, "burglary", "2016-01-01", "2016-12-31", "target_area:Center Street Corridor")
    b = ev_mod.select_events(demo_ws, "burglary", "2016-01-01", "2016-12-31", geometry=ta.geometry)
    assert sorted(a.ids) == sorted(b.ids)


def test_local_crs_is_in_feet(demo_ws):
    crs = ev_mod.local_crs(demo_ws)
    lon0, lat0 = ev_mod.city_centre(demo_ws)
    # 0.01 degree of latitude is ~3,640 ft
    x, y = ev_mod.to_feet(crs, [lon0, lon0], [lat0, lat0 + 0.01])
    assert abs(x[1] - x[0]) < 1 and 3600 < y[1] - y[0] < 3680


def test_hotspot_analysis_on_demo(demo_ws, tmp_path):
    res = hotspot_analysis(demo_ws, "part1_violent", "2016-01-01", "2016-12-31", cell_ft=600, distance_ft=1300)
    an = analysis_for(demo_ws)
    want = an.count("part1_violent", "citywide", custom("2016-01-01", "2016-12-31"))
    ev = ev_mod.select_events(demo_ws, "part1_violent", "2016-01-01", "2016-12-31")
    assert res.n_events + res.params["missing_xy"] == want
    # every located event inside a study cell is counted in exactly one study cell
    r, c = res.grid.cell_of(ev.x_ft, ev.y_ft)
    ok = (r >= 0) & (r < res.grid.nrows) & (c >= 0) & (c < res.grid.ncols)
    inside = ok.copy()
    inside[ok] = res.study_mask[r[ok], c[ok]]
    assert res.cells["count"].sum() == inside.sum()
    # z of the study cells equals esda's on the same counts
    m = res.study_mask
    np.testing.assert_allclose(res.cells["gi_z"].to_numpy(), _esda_z(res.counts, m, 1300, 600), atol=1e-9)
    # the demo's violent crime clusters: there are 99% hot spots, and the top cell is one of them
    top = res.top_cells(5)
    assert len(top) == 5 and (top["gi_bin"] == 3).all()
    assert top["gi_z"].is_monotonic_decreasing
    assert set(top.columns) >= {"rank", "row", "col", "lon", "lat", "count", "gi_z", "gi_p", "gi_bin", "density",
                                "district"}
    assert top["district"].str.startswith("District").all()
    gj = json.loads(json.dumps(res.to_geojson()))
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == int(m.sum())
    f = gj["features"][0]
    assert set(f["properties"]) == {"row", "col", "count", "gi_z", "gi_p", "gi_bin", "density"}
    assert f["geometry"]["type"] == "Polygon" and len(f["geometry"]["coordinates"][0]) == 5
    lon, lat = f["geometry"]["coordinates"][0][0]
    assert -88.3 < lon < -87.6 and 42.8 < lat < 43.3


def test_hotspot_analysis_progress_cancel_and_bad_input(demo_ws):
    seen = []
    hotspot_analysis(demo_ws, "burglary", "2016-01-01", "2016-06-30", area_key="district:3", cell_ft=400,
                     distance_ft=900, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(ev_mod.AnalysisCancelled):
        hotspot_analysis(demo_ws, "burglary", "2016-01-01", "2016-06-30", cancelled=lambda: True)
    with pytest.raises(UserError, match="distance band"):
        hotspot_analysis(demo_ws, "burglary", "2016-01-01", "2016-06-30", cell_ft=500, distance_ft=300)
    with pytest.raises(UserError, match="before it starts"):
        hotspot_analysis(demo_ws, "burglary", "2016-06-30", "2016-01-01")
    with pytest.raises(UserError, match="clearance"):
        hotspot_analysis(demo_ws, "part1_clearance", "2016-01-01", "2016-06-30")


def test_mann_kendall_by_hand():
    y = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 1.0, 2.0, 2.0, 3.0]])
    z, p = mann_kendall(y)
    # series 1: S = 10, var = 5*4*15/18 = 16.667, z = 9 / 4.0825
    assert z[0] == pytest.approx(9 / math.sqrt(5 * 4 * 15 / 18))
    assert z[1] == pytest.approx(-z[0])
    # series 3: S = 8 (pairs: 0 ties of 2 pairs), var = 16.667 - 2*(2*1*9)/18 = 14.667
    assert z[2] == pytest.approx(7 / math.sqrt(5 * 4 * 15 / 18 - 2 * 2 * 1 * 9 / 18))


def test_emerging_hotspots_categories(demo_ws):
    res = emerging_hotspots(demo_ws, "part1_violent", "2016-01-01", "2016-12-31", cell_ft=800, distance_ft=1700)
    assert res.slices[0] == "2016-01" and len(res.slices) == 12
    cats = res.category_counts()
    assert sum(cats.values()) == len(res.cells)
    for name in ("New Hot Spot", "Intensifying Hot Spot", "Persistent Hot Spot", "Diminishing Hot Spot"):
        assert name in res.definitions and res.definitions[name]
    # each category agrees with its definition on the per-slice bins
    hot = res.bins > 0
    for i, cat in enumerate(res.cells["category"]):
        frac = hot[i].mean()
        if cat == "Persistent Hot Spot":
            assert frac >= 0.9 and res.cells["trend_p"].iat[i] > 0.05
        elif cat == "New Hot Spot":
            assert hot[i, -1] and hot[i].sum() == 1
        elif cat == "Historical Hot Spot":
            assert not hot[i, -1] and frac >= 0.9
        elif cat == "Sporadic Hot Spot":
            assert hot[i, -1] and frac < 0.9 and not (res.bins[i] < 0).any()
    assert cats["Persistent Hot Spot"] > 0


def test_classify_emerging_follows_arcgis_definitions():
    from workstation.reports.spatial.hotspots import classify_emerging

    t = 10
    rows = {
        "New Hot Spot": [0] * 9 + [2],
        "Consecutive Hot Spot": [0] * 7 + [1, 2, 3],
        "Intensifying Hot Spot": [1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
        "Persistent Hot Spot": [2] * 10,
        "Diminishing Hot Spot": [3, 3, 3, 3, 3, 2, 2, 2, 1, 1],
        "Sporadic Hot Spot": [0, 2, 0, 0, 1, 0, 0, 2, 0, 1],
        "Oscillating Hot Spot": [0, -2, 0, 0, 1, 0, 0, 2, 0, 1],
        "Historical Hot Spot": [2] * 9 + [0],
        "New Cold Spot": [0] * 9 + [-1],
        "Persistent Cold Spot": [-2] * 10,
        "No Pattern Detected": [0] * 10,
    }
    bins = np.array(list(rows.values()))
    assert bins.shape[1] == t
    # trends: rising for intensifying, falling for diminishing, none elsewhere
    tz = np.zeros(len(rows))
    tp = np.ones(len(rows))
    names = list(rows)
    tz[names.index("Intensifying Hot Spot")], tp[names.index("Intensifying Hot Spot")] = 3.0, 0.003
    tz[names.index("Diminishing Hot Spot")], tp[names.index("Diminishing Hot Spot")] = -3.0, 0.003
    got = classify_emerging(bins, tz, tp)
    assert list(got) == names


def test_hotspots_on_a_drawn_boundary_equal_the_saved_area(demo_ws):
    key = "target_area:Center Street Corridor"
    geom = demo_ws.area("Center Street Corridor", "target_area").geometry
    a = hotspot_analysis(demo_ws, "part1_violent", "2016-01-01", "2016-12-31", key, cell_ft=300, distance_ft=700)
    b = hotspot_analysis(demo_ws, "part1_violent", "2016-01-01", "2016-12-31", geometry=geom, cell_ft=300,
                         distance_ft=700)
    assert a.grid == b.grid
    np.testing.assert_array_equal(a.cells[["row", "col", "count", "gi_bin"]].to_numpy(),
                                  b.cells[["row", "col", "count", "gi_bin"]].to_numpy())
    assert b.params["area_label"] == "Drawn boundary"
    # the study cells are exactly those whose centre is inside the corridor
    import shapely
    lon, lat = a.grid.centres_lonlat()
    inside = shapely.contains_xy(geom, lon.ravel(), lat.ravel()).reshape(a.grid.shape)
    assert (inside == a.study_mask).mean() > 0.999

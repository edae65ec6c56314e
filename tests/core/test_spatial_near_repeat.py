"""Knox near-repeat test: observed counts = a brute-force O(n²) count; expected and p-values = brute force over the
same permutations; NRC labels and highlighting; this week's risk on the demo."""
import datetime as dt
import json

import numpy as np
import pytest

from workstation.core.errors import UserError
from workstation.reports.spatial import events as ev_mod
from workstation.reports.spatial import near_repeat as nr


def _brute_table(x, y, days, s, k, t, kt, manhattan=False):
    """Every unordered pair, banded with explicit comparisons (NRC conventions)."""
    n = len(x)
    iu = np.triu_indices(n, 1)
    dx = np.abs(x[iu[0]] - x[iu[1]])
    dy = np.abs(y[iu[0]] - y[iu[1]])
    d = dx + dy if manhattan else np.hypot(dx, dy)
    dd = np.abs(days[iu[0]] - days[iu[1]])
    row = np.full(d.shape, k + 1)
    row[d == 0] = 0
    for r in range(k, 0, -1):
        row[(d > (r - 1) * s) & (d <= r * s)] = r
    col = np.full(dd.shape, kt)
    for c in range(kt - 1, -1, -1):
        col[(dd > c * t) & (dd <= (c + 1) * t) if c else (dd <= t)] = c
    out = np.zeros((k + 2, kt + 1), dtype=np.int64)
    np.add.at(out, (row, col), 1)
    return out


def _events(n, seed, repeats=True):
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(0, 15000, n), 1)
    y = np.round(rng.uniform(0, 15000, n), 1)
    days = rng.integers(17000, 17365, n)
    if repeats:  # near repeats: a tenth of the events follow an earlier one within 300 ft and 10 days
        m = n // 10
        src = rng.integers(0, n - m, m)
        x[-m:] = x[src] + rng.uniform(-200, 200, m)
        y[-m:] = y[src] + rng.uniform(-200, 200, m)
        days[-m:] = days[src] + rng.integers(0, 10, m)
        x[-m // 4:] = x[src[-m // 4:]]  # some at the very same location
        y[-m // 4:] = y[src[-m // 4:]]
    return x, y, days


def test_observed_equals_brute_force_on_3000_events():
    x, y, days = _events(3000, 1)
    res = nr.knox_test(x, y, days, 400, 5, 7, 4, permutations=19, seed=3)
    want = _brute_table(x, y, days, 400, 5, 7, 4)
    np.testing.assert_array_equal(res.observed, want)
    assert res.observed.sum() == 3000 * 2999 // 2
    assert res.observed[0].sum() > 0  # same-location pairs exist and land in row 0


def test_manhattan_and_boundaries_equal_brute_force():
    x, y, days = _events(1500, 2)
    # put pairs exactly on band edges: 400 ft and 800 ft apart, 7 and 14 days apart
    x[:4], y[:4], days[:4] = [0, 400, 0, 0], [0, 0, 800, 0], [17000, 17007, 17014, 17000]
    for manhattan in (False, True):
        res = nr.knox_test(x, y, days, 400, 3, 7, 3, permutations=9, seed=1, manhattan=manhattan)
        np.testing.assert_array_equal(res.observed, _brute_table(x, y, days, 400, 3, 7, 3, manhattan))


def test_expected_and_p_values_equal_brute_force_over_the_same_permutations():
    x, y, days = _events(400, 4)
    perms, seed = 59, 11
    res = nr.knox_test(x, y, days, 300, 4, 5, 3, permutations=perms, seed=seed)
    tables = [_brute_table(x, y, d, 300, 4, 5, 3)
              for chunk in nr.permuted_days(days - days.min(), perms, seed) for d in chunk]
    assert len(tables) == perms
    tables = np.array(tables)
    np.testing.assert_allclose(res.expected, tables.mean(axis=0), rtol=1e-12)
    ge = (tables >= res.observed[None]).sum(axis=0)
    np.testing.assert_allclose(res.p_value, (1 + ge) / (1 + perms), rtol=1e-12)
    ratio = np.where(res.expected > 0, res.observed / np.where(res.expected > 0, res.expected, 1), np.nan)
    np.testing.assert_allclose(res.knox_ratio, ratio, rtol=1e-12)
    # the near-repeat cells of the planted pattern are highlighted; the "more than" cells are not
    assert res.highlight[1, 0] and res.highlight[0, 0]
    assert not res.highlight[-1, -1]
    np.testing.assert_array_equal(res.highlight, (np.nan_to_num(ratio) >= 1.2) & (res.p_value <= 0.05))


def test_counts_do_not_depend_on_the_block_size(monkeypatch):
    # blocks of 7 pairs: every distance row spans many blocks and most blocks end mid-row; the tables must equal
    # the one-block run and the observed one the brute-force count
    x, y, days = _events(2000, 5)
    a = nr.knox_test(x, y, days, 250, 4, 3, 5, permutations=40, seed=8)
    monkeypatch.setattr(nr, "PAIR_BLOCK", 7)
    b = nr.knox_test(x, y, days, 250, 4, 3, 5, permutations=40, seed=8)
    assert a.pairs_within > 1000
    for f in ("observed", "expected", "p_value"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    np.testing.assert_array_equal(b.observed, _brute_table(x, y, days, 250, 4, 3, 5))


def test_dates_more_than_a_int16_apart():
    # a span over 32,767 days switches the dates to int32; pairs then differ by more than any time band
    x, y, days = _events(300, 9)
    days = days.copy()
    days[::2] += 40_000
    res = nr.knox_test(x, y, days, 400, 3, 7, 2, permutations=9, seed=1)
    np.testing.assert_array_equal(res.observed, _brute_table(x, y, days, 400, 3, 7, 2))


def test_labels_json_and_summary():
    x, y, days = _events(600, 6)
    res = nr.knox_test(x, y, days, 400, 3, 7, 2, permutations=99, seed=2)
    assert res.distance_bands == ["Same location", "0 to 400 ft", "400 to 800 ft", "800 to 1,200 ft",
                                  "More than 1,200 ft"]
    assert res.time_bands == ["0 to 7 days", "8 to 14 days", "More than 14 days"]
    j = json.loads(json.dumps(res.to_json()))
    assert j["events"] == 600 and j["permutations"] == 99
    for key in ("observed", "expected", "knox_ratio", "p_value"):
        assert len(j[key]) == 5 and all(len(r) == 3 for r in j[key])
    dist, days_ = res.risk_window()
    assert dist is not None and days_ in (7, 14)
    assert "Near-repeat pattern" in res.summary()
    # no pattern at all: random events
    x2, y2, d2 = _events(600, 7, repeats=False)
    r2 = nr.knox_test(x2, y2, d2, 400, 3, 7, 2, permutations=99, seed=2)
    assert r2.observed.sum() == 600 * 599 // 2


def test_bad_parameters_and_cancel():
    x, y, days = _events(100, 8)
    with pytest.raises(UserError, match="distance band"):
        nr.knox_test(x, y, days, 0, 3, 7, 2, permutations=9)
    with pytest.raises(UserError, match="time band"):
        nr.knox_test(x, y, days, 100, 3, 0, 2, permutations=9)
    with pytest.raises(UserError, match="permutations"):
        nr.knox_test(x, y, days, 100, 3, 7, 2, permutations=0)
    with pytest.raises(ev_mod.AnalysisCancelled):
        nr.knox_test(x, y, days, 100, 3, 7, 2, permutations=99, cancelled=lambda: True)
    seen = []
    nr.knox_test(x, y, days, 100, 3, 7, 2, permutations=99, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    one = nr.knox_test(x[:1], y[:1], days[:1], 100, 3, 7, 2, permutations=9)
    assert one.observed.sum() == 0 and one.notes


def test_demo_burglaries_show_a_near_repeat_pattern(demo_ws):
    res = nr.near_repeat_analysis(demo_ws, "burglary", "2018-01-01", "2018-12-31", distance_ft=400,
                                  distance_bands=4, time_days=7, time_bands=4, permutations=99, seed=1)
    ev = ev_mod.select_events(demo_ws, "burglary", "2018-01-01", "2018-12-31")
    assert res.events == len(ev) and res.observed.sum() == len(ev) * (len(ev) - 1) // 2
    assert res.highlight[:2, 0].any(), res.table()
    assert res.params["measure"] == "burglary" and res.params["from"] == "2018-01-01"


def test_this_weeks_risk_on_the_demo(demo_ws):
    as_of = dt.date(2018, 12, 31)
    knox = nr.near_repeat_analysis(demo_ws, "burglary", "2018-01-01", "2018-12-31", distance_ft=400,
                                   distance_bands=4, time_days=7, time_bands=4, permutations=99, seed=1)
    risk = nr.near_repeat_risk(demo_ws, "burglary", as_of, days=7, knox=knox)
    dist, window = knox.risk_window()
    assert risk.risk_distance_ft == dist and risk.risk_days == window
    recent = ev_mod.select_events(demo_ws, "burglary", as_of - dt.timedelta(days=6), as_of)
    # every recent event's window (its date + the risky days) is still open on the as-of date
    assert len(risk.events) == int(((recent.days + window) >= ev_mod.days_since_epoch(as_of)).sum())
    assert len(risk.events) > 0
    first = risk.events.iloc[0]
    assert first["window_end"] >= np.datetime64(as_of)
    assert first["nearby_count"] >= 1 and isinstance(first["nearby"], list)
    # the nearby addresses really are within the risky distance of the event
    pts = nr.address_points(demo_ws, "offenses", recent.crs).set_index("address")
    ex, ey = ev_mod.to_feet(recent.crs, [first["lon"]], [first["lat"]])
    for a in first["nearby"]:
        assert np.hypot(pts.at[a, "x_ft"] - ex[0], pts.at[a, "y_ft"] - ey[0]) <= max(dist, 1.0) + 1e-6
    j = json.loads(json.dumps(risk.to_json()))
    assert j["as_of"] == "2018-12-31" and len(j["events"]) == len(risk.events)


def test_too_many_pairs_is_a_clear_message(monkeypatch):
    x, y, days = _events(500, 9)
    x[:300], y[:300] = 100.0, 100.0  # a default geocode: 300 events at one point
    monkeypatch.setattr(nr, "MAX_PAIRS", 20_000)
    with pytest.raises(UserError, match="300 of them share one location") as err:
        nr.knox_test(x, y, days, 400, 3, 7, 2, permutations=9)
    assert "Shorten the period" in str(err.value)

"""The counting engine's per-dataset index, checked against brute force: the day order (a radix sort of 16-bit day
offsets where the dates allow it), the atoms of category, flags and hierarchy, and the hierarchy rule with incidents
that share records."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workstation.core import schema
from workstation.engine.analysis import DatasetIndex, _day_order
from workstation.engine.periods import NAT_DAY, day_numbers


@pytest.mark.parametrize("case", ["dated", "undated_rows", "all_undated", "empty", "two_centuries", "one_day"])
def test_day_order_is_the_stable_sort_of_the_days(case):
    rng = np.random.default_rng(7)
    days = {
        "dated": rng.integers(16_000, 18_200, 50_000),
        "undated_rows": np.where(rng.random(50_000) < 0.1, NAT_DAY, rng.integers(16_000, 18_200, 50_000)),
        "all_undated": np.full(1_000, NAT_DAY),
        "empty": np.zeros(0, dtype=np.int64),
        "two_centuries": np.concatenate([rng.integers(-60_000, 18_000, 5_000), [NAT_DAY] * 10]),  # over 16 bits
        "one_day": np.full(1_000, 17_000),
    }[case].astype(np.int64)
    assert np.array_equal(_day_order(days), np.argsort(days, kind="stable"))


def _offenses(n: int, rng) -> pd.DataFrame:
    cats = np.array(list(schema.HIERARCHY) + ["arson", "simple_assault", "fraud"])
    incident = np.array([f"I{i}" for i in rng.integers(0, n // 3, n)], dtype=object)
    incident[rng.random(n) < 0.02] = None  # records without an incident id
    occurred = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 700 * 86400, n), unit="s")
    df = pd.DataFrame({
        "record_id": [f"R{i}" for i in range(n)], "incident_id": incident,
        "occurred": np.where(rng.random(n) < 0.03, pd.NaT, occurred),
        "category": np.where(rng.random(n) < 0.02, None, cats[rng.integers(0, len(cats), n)]),
        "firearm": rng.random(n) < 0.3, "cleared": rng.random(n) < 0.4,
        "lat": 43 + rng.random(n) / 10, "lon": -88 + rng.random(n) / 10, "load_id": 1,
    })
    return schema.conform(df, "offenses")


def test_atoms_and_the_hierarchy_rule_against_brute_force():
    rng = np.random.default_rng(14)
    df = _offenses(20_000, rng)
    ix = DatasetIndex("offenses", df)
    days = day_numbers(df["occurred"].to_numpy())
    assert np.array_equal(ix.order, np.argsort(days, kind="stable")) and np.array_equal(ix.days, days[ix.order])
    dated = days[days != NAT_DAY]
    assert (ix.first_day, ix.last_day) == (dated.min(), dated.max())
    undated = DatasetIndex("offenses", df.assign(occurred=pd.NaT))
    assert (undated.first_day, undated.last_day) == (None, None)
    back = np.empty(ix.n, dtype=np.intp)
    back[ix.order] = ix.atoms  # atoms in the frame's order
    cat = df["category"].astype(object).to_numpy()
    assert [ix.category_names[c] if c < len(ix.category_names) else None
            for c in ix.atom_category[back]] == [None if pd.isna(c) else c for c in cat]
    assert np.array_equal(ix.atom_flags["firearm"][back], df["firearm"].to_numpy())
    assert np.array_equal(ix.atom_flags["cleared"][back], df["cleared"].to_numpy())
    # hierarchy, by hand: among an incident's Part I records (arson exempt) only the highest-ranked, first, counts;
    # records without an incident id are one group, as the engine's factorised codes make them
    rank = {c: i for i, c in enumerate(schema.HIERARCHY)}
    best: dict = {}
    for row, (inc, c) in enumerate(zip(df["incident_id"].astype(object), cat)):
        if c in rank:
            key = None if pd.isna(inc) else inc
            if key not in best or rank[c] < rank[cat[best[key]]]:
                best[key] = row
    expected = np.array([c in rank and best[None if pd.isna(inc) else inc] != row
                         for row, (inc, c) in enumerate(zip(df["incident_id"].astype(object), cat))])
    assert expected.sum() > 1000  # the case is exercised
    assert np.array_equal(ix.atom_hdrop[back], expected)


def _placed_workspace(districts, n=60_000, seed=3):
    import shapely

    from workstation.core.workspace import Area, Workspace

    rng = np.random.default_rng(seed)
    df = _offenses(n, rng)
    df["lon"] = rng.uniform(-0.2, 3.2, n)
    df["lat"] = rng.uniform(-0.2, 2.2, n)
    df.loc[::50, ["lon", "lat"]] = np.nan  # unlocated: placed by their district column
    df["district"] = pd.Categorical(np.array(["1", "2", "3", "4"])[rng.integers(0, 4, n)])
    ws = Workspace()
    ws.set_frame("offenses", df)
    for name, g in districts:
        ws.put_area(Area(name, "district", g))
    return ws, shapely


@pytest.mark.parametrize("layout", ["tiled", "overlapping"])
def test_district_membership_is_each_districts_own_point_in_polygon_test(layout):
    """Districts that tile the city are placed in one pass over the points; each district's rows are still exactly
    those its own polygon contains (shapely.contains_xy), plus its unlocated rows by the district column. Overlapping
    districts (a data error, but possible) are tested one by one, and a record in two of them counts in both."""
    import shapely

    from workstation.engine.analysis import Analysis

    boxes = [("1", shapely.box(0, 0, 1, 2)), ("2", shapely.box(1, 0, 2, 2)),
             ("3", shapely.Polygon([(2, 0), (3, 0), (3, 2), (2, 2), (2, 1.5), (2.5, 1), (2, 0.5)])),
             ("4", shapely.Polygon([(2, 0.5), (2.5, 1), (2, 1.5)]))]
    if layout == "overlapping":
        boxes[1] = ("2", shapely.box(0.5, 0, 2, 2))
    ws, _ = _placed_workspace(boxes)
    eng = Analysis(ws)
    ix = eng.index("offenses")
    df = ws.frame("offenses")
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    located = np.isfinite(lon) & np.isfinite(lat)
    for name, g in boxes:
        expected = shapely.contains_xy(g, lon, lat) & located
        expected |= ~located & (df["district"].astype(object).to_numpy() == name)
        got = np.zeros(ix.n, dtype=bool)
        got[ix.order] = eng.membership_mask("offenses", f"district:{name}")
        assert np.array_equal(got, expected), (layout, name)
    shared = eng._placed["offenses"][2]
    assert (shared is not None) == (layout == "tiled")
    if layout == "overlapping":
        both = eng.membership_mask("offenses", "district:1") & eng.membership_mask("offenses", "district:2")
        assert both.sum() > 1000
    else:  # a boundary change is seen at once: the placement is redone for the new set of polygons
        from workstation.core.workspace import Area

        smaller = shapely.box(0, 0, 1, 1)
        ws.put_area(Area("1", "district", smaller))
        got = np.zeros(ix.n, dtype=bool)
        got[ix.order] = eng.membership_mask("offenses", "district:1")
        expected = (shapely.contains_xy(smaller, lon, lat) & located) | \
            (~located & (df["district"].astype(object).to_numpy() == "1"))
        assert np.array_equal(got, expected)

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

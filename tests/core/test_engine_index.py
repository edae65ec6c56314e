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
    expected = _dropped_by_hand(df)
    assert expected.sum() > 1000  # the case is exercised
    assert np.array_equal(ix.atom_hdrop[back], expected)


def _dropped_by_hand(df: pd.DataFrame) -> np.ndarray:
    """The hierarchy rule, by hand: among an incident's Part I records (arson exempt) only the highest-ranked, first,
    counts; records without an incident id are one group, as the engine's factorised codes make them."""
    cat = df["category"].astype(object).to_numpy()
    rank = {c: i for i, c in enumerate(schema.HIERARCHY)}
    best: dict = {}
    for row, (inc, c) in enumerate(zip(df["incident_id"].astype(object), cat)):
        if c in rank:
            key = None if pd.isna(inc) else inc
            if key not in best or rank[c] < rank[cat[best[key]]]:
                best[key] = row
    return np.array([c in rank and best[None if pd.isna(inc) else inc] != row
                     for row, (inc, c) in enumerate(zip(df["incident_id"].astype(object), cat))])


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


# ---- the index a saved workspace carries (SavedIndex: day order, atoms, day runs) ----
def _calls(n: int, rng) -> pd.DataFrame:
    occurred = pd.Timestamp("2017-06-01") + pd.to_timedelta(rng.integers(0, 900 * 86400, n), unit="s")
    return schema.conform(pd.DataFrame({
        "record_id": [f"C{i}" for i in range(n)], "incident_id": [f"C{i}" for i in range(n)],
        "occurred": np.where(rng.random(n) < 0.01, pd.NaT, occurred),
        "category": np.array(schema.CALL_CATEGORIES)[rng.integers(0, len(schema.CALL_CATEGORIES), n)],
        "lat": rng.uniform(-0.2, 2.2, n), "lon": rng.uniform(-0.2, 3.2, n), "load_id": 1,
    }), "calls")


def _saved_workspace(tmp_path, seed=21):
    """Offenses (incidents sharing Part I records, so the hierarchy rule drops some) and calls on two districts,
    saved: the file carries the engine's index of both."""
    import shapely

    from workstation.core.workspace import Area, Workspace

    rng = np.random.default_rng(seed)
    ws = Workspace()
    off = _offenses(30_000, rng)
    off["lon"] = rng.uniform(-0.2, 3.2, len(off))
    off["lat"] = rng.uniform(-0.2, 2.2, len(off))
    ws.set_frame("offenses", off)
    ws.set_frame("calls", _calls(20_000, rng))
    ws.put_area(Area("1", "district", shapely.box(0, 0, 1.5, 2)))
    ws.put_area(Area("2", "district", shapely.box(1.5, 0, 3, 2)))
    ws.put_area(Area("East", "target_area", shapely.box(2, 0.5, 2.8, 1.5)))
    path = tmp_path / "indexed.psw"
    ws.save(path)
    return ws, path


def _figures(ws, counting):
    """Every grid figure of every area at three as-of dates, with a fresh engine (as after an open)."""
    from workstation.engine.analysis import Analysis

    eng = Analysis(ws)
    out = {}
    for key in ("citywide", "district:1", "district:2", "target_area:East"):
        for as_of in ("2019-05-05", "2019-04-30", "2018-12-31"):
            g = eng.grid(key, as_of=as_of, counting=counting)
            out[(key, as_of)] = (g.values.tolist(), g.available.tolist(), sorted(g.trimmed.items()))
    return eng, out


def _built_the_old_way(path):
    """The workspace of ``path`` with its saved indexes dropped: the engine sorts and hashes the columns."""
    from workstation.core.workspace import Workspace

    ws = Workspace.open(path)
    ws.saved_indexes.clear()
    return ws


@pytest.mark.parametrize("counting", ["offense", "hierarchy"])
def test_a_saved_index_gives_the_figures_of_an_index_built_from_the_columns(tmp_path, counting):
    from workstation.core.workspace import Workspace
    from workstation.engine.analysis import DatasetIndex
    from workstation.engine.periods import window

    ws, path = _saved_workspace(tmp_path)
    opened = Workspace.open(path)
    assert sorted(opened.saved_indexes) == ["calls", "offenses"]
    eng, figures = _figures(opened, counting)
    assert all(eng.index(k).from_saved for k in ("offenses", "calls"))
    old = _built_the_old_way(path)
    old_eng, old_figures = _figures(old, counting)
    assert not any(old_eng.index(k).from_saved for k in ("offenses", "calls"))
    assert figures == old_figures
    for kind in ("offenses", "calls"):
        a, b = eng.index(kind), DatasetIndex(kind, ws.frames[kind])  # the in-memory workspace's own build
        for name in ("order", "days", "atoms", "lon", "lat", "has_xy", "district_codes", "category_codes"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None and y is None) or np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (kind, name)
        assert (a.first_day, a.last_day, a.n_atoms) == (b.first_day, b.last_day, b.n_atoms)
    # and a few cells by brute force on the frame itself
    df = ws.frames["offenses"]
    days = day_numbers(df["occurred"].to_numpy())
    counted = ~_dropped_by_hand(df) if counting == "hierarchy" else np.ones(len(df), dtype=bool)
    g = eng.grid("citywide", as_of="2019-05-05", counting=counting)
    for kind, back in (("ytd", 0), ("28d", 1), ("wtd", 0), ("ytd", 1)):
        w = window(kind, pd.Timestamp("2019-05-05"))
        w = w.shifted(back) if back else w
        for measure, cats in (("robbery", ["robbery"]), ("part1_violent", list(schema.HIERARCHY[:4]))):
            inside = (days >= w.start_day) & (days <= w.end_day) & df["category"].isin(cats).to_numpy() & counted
            assert g.value(measure, kind, back) == inside.sum() > 0, (measure, kind, back)


def _transplant_index(source, target):
    """Put the saved index of ``source`` into ``target`` (as a writer that changed the records but copied the old
    index would leave the file)."""
    import sqlite3

    con = sqlite3.connect(target)
    con.execute("ATTACH DATABASE ? AS src", (str(source),))
    con.execute("DELETE FROM frame_indexes")
    con.execute("DELETE FROM frame_index_arrays")
    con.execute("INSERT INTO frame_indexes SELECT * FROM src.frame_indexes")
    con.execute("INSERT INTO frame_index_arrays SELECT * FROM src.frame_index_arrays")
    con.commit()
    con.close()


def _edit(path, sql, *params):
    import sqlite3

    con = sqlite3.connect(path)
    con.execute(sql, params)
    con.commit()
    con.close()


def test_an_index_of_other_records_is_never_used(tmp_path):
    """Records changed (a category and a date) and saved with the index of the records before: the checksums of
    the source columns no longer match, the index is dropped, and the figures are those of the changed records."""
    from workstation.core.workspace import Workspace

    ws, path = _saved_workspace(tmp_path)
    changed = ws.frames["offenses"].copy()
    cats = changed["category"].astype(object).to_numpy()
    rows = np.flatnonzero(cats == "theft")[:300] if (cats == "theft").any() else \
        np.flatnonzero(cats == "larceny_theft")[:300]
    changed.loc[rows, "category"] = "robbery"
    changed.loc[5, "occurred"] = pd.Timestamp("2019-05-01 10:00")
    ws.set_frame("offenses", changed)
    edited = tmp_path / "edited.psw"
    ws.save(edited)
    _transplant_index(path, edited)
    opened = Workspace.open(edited)
    assert "offenses" not in opened.saved_indexes and "calls" in opened.saved_indexes  # calls are unchanged
    _, figures = _figures(opened, "offense")
    _, expected = _figures(_built_the_old_way(edited), "offense")
    _, before = _figures(_built_the_old_way(path), "offense")
    assert figures == expected != before


@pytest.mark.parametrize("damage", ["source checksum", "array bytes", "row count", "key not json", "layout",
                                    "no index tables", "array missing"])
def test_a_damaged_or_foreign_index_is_rebuilt(tmp_path, damage):
    import json
    import sqlite3

    from workstation.core.workspace import Workspace
    from workstation.engine.analysis import analysis_for

    _, path = _saved_workspace(tmp_path)
    _, expected = _figures(_built_the_old_way(path), "hierarchy")
    key = json.loads(sqlite3.connect(path).execute("SELECT key FROM frame_indexes WHERE kind = 'offenses'")
                     .fetchone()[0])
    if damage == "source checksum":
        key["sources"]["category"][0] ^= 1
    elif damage == "row count":
        key["rows"] += 1
    elif damage == "layout":  # the arrays are whole, but a layout this program does not read
        key["recipe"]["layout"] += 1
    if damage in ("source checksum", "row count", "layout"):
        _edit(path, "UPDATE frame_indexes SET key = ? WHERE kind = 'offenses'", json.dumps(key))
    elif damage == "key not json":
        _edit(path, "UPDATE frame_indexes SET key = '{not json' WHERE kind = 'offenses'")
    elif damage == "array bytes":  # one atom changed: the file's checksum of the array no longer matches
        con = sqlite3.connect(path)
        data = bytearray(con.execute("SELECT data FROM frame_index_arrays WHERE kind = 'offenses' AND name = 'atoms'")
                         .fetchone()[0])
        data[100] ^= 2
        con.execute("UPDATE frame_index_arrays SET data = ? WHERE kind = 'offenses' AND name = 'atoms'", (bytes(data),))
        con.commit()
        con.close()
    elif damage == "array missing":
        _edit(path, "DELETE FROM frame_index_arrays WHERE kind = 'offenses' AND name = 'order'")
    elif damage == "no index tables":  # a file of this format written before the index was saved
        _edit(path, "DROP TABLE frame_index_arrays")
        _edit(path, "DROP TABLE frame_indexes")
    opened = Workspace.open(path)
    if damage == "layout":
        assert "offenses" in opened.saved_indexes  # the file's checks pass; the engine's recipe check refuses it
    else:
        assert "offenses" not in opened.saved_indexes
    eng, figures = _figures(opened, "hierarchy")
    assert not eng.index("offenses").from_saved
    assert eng.index("calls").from_saved == (damage != "no index tables")
    assert figures == expected
    opened.save(tmp_path / "again.psw")  # the next save writes a good index again (calls: the one it read)
    again = Workspace.open(tmp_path / "again.psw")
    assert all(analysis_for(again).index(k).from_saved for k in ("offenses", "calls"))
    assert _figures(again, "hierarchy")[1] == expected


def test_a_save_stores_the_index_of_the_frame_it_writes(tmp_path):
    """The index the engine built for a frame is the one saved; a frame replaced since (not yet indexed) gets an
    index of its own, not the old frame's."""
    from workstation.core.workspace import Workspace
    from workstation.engine.analysis import analysis_for

    ws, path = _saved_workspace(tmp_path)
    eng = analysis_for(ws)
    first = eng.index("offenses")
    ws.set_frame("offenses", ws.frames["offenses"].iloc[::-1].reset_index(drop=True))
    ws.save(path)
    opened = Workspace.open(path)
    ix = analysis_for(opened).index("offenses")
    assert ix.from_saved
    fresh = DatasetIndex("offenses", ws.frames["offenses"])
    assert np.array_equal(ix.order, fresh.order) and np.array_equal(ix.atoms, fresh.atoms)
    assert not np.array_equal(ix.order, first.order)


def test_a_replaced_record_set_lets_its_saved_index_go(tmp_path):
    """The index read for a frame is dropped (with its reference to that frame) when the frame is replaced, and an
    index is never taken for any other frame."""
    from workstation.core.workspace import Workspace
    from workstation.engine.analysis import analysis_for

    _, path = _saved_workspace(tmp_path)
    opened = Workspace.open(path)
    calls = opened.saved_indexes["calls"]
    opened.set_frame("offenses", opened.frames["offenses"].iloc[:1000].copy())
    assert list(opened.saved_indexes) == ["calls"] and opened.saved_indexes["calls"] is calls
    ix = analysis_for(opened).index("offenses")
    assert not ix.from_saved and ix.n == 1000


@pytest.mark.parametrize("case", ["all_undated", "one_row", "two_centuries"])
def test_a_saved_index_of_an_unusual_record_set_is_the_one_built(tmp_path, case):
    """Record sets at the edges of the day runs and the 16-bit day order: every date missing, a single record,
    dates spanning more than 16 bits of days."""
    from workstation.core.workspace import Workspace
    from workstation.engine.analysis import analysis_for

    df = _offenses(2_000, np.random.default_rng(5))
    if case == "all_undated":
        df = df.assign(occurred=pd.NaT)
    elif case == "one_row":
        df = df.iloc[:1].copy()
    else:
        df.loc[::7, "occurred"] = pd.Timestamp("1850-03-01")
    ws = Workspace()
    ws.set_frame("offenses", schema.conform(df, "offenses"))
    ws.save(tmp_path / "w.psw")
    opened = Workspace.open(tmp_path / "w.psw")
    ix = analysis_for(opened).index("offenses")
    fresh = DatasetIndex("offenses", opened.frames["offenses"])
    assert ix.from_saved and not fresh.from_saved
    for name in ("order", "days", "atoms"):
        assert np.array_equal(getattr(ix, name), getattr(fresh, name)), name
    assert (ix.first_day, ix.last_day) == (fresh.first_day, fresh.last_day)

"""The counting engine and the CompStat grid: exact cells from placed records, membership rules, hierarchy counting,
drill-through, the what-if entry point, cache invalidation, and a cross-check against plain pandas masks."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely

import reports_data as rd
from workstation.core import schema
from workstation.engine.analysis import Analysis, analysis_for
from workstation.engine.areas import area_choices, resolve_area
from workstation.core.errors import UserError
from workstation.engine.measures import default_catalog
from workstation.engine.periods import compstat_windows
from workstation.reports.compstat import compstat_grid, grid_tables, records_behind
from workstation.reports.rules import poisson_z
from workstation.core.workspace import Area

CSC_KEY = "target_area:Center Street Corridor"
IN_CSC_5 = rd.CSC.intersection(rd.strip("5"))


def _at(day: str, hour: int = 12) -> pd.Timestamp:
    return pd.Timestamp(day) + pd.Timedelta(hours=hour)


def grid_workspace():
    """Homicides placed around the as-of date Sunday 2019-09-29 (see the expected cells in the tests)."""
    ws = rd.base_workspace()
    x, y = IN_CSC_5.centroid.x, IN_CSC_5.centroid.y
    ox, oy = rd.outside_areas("4").centroid.x, rd.outside_areas("4").centroid.y
    in_csc = ["2019-09-23", "2019-09-23", "2019-09-22", "2019-09-02", "2019-09-01", "2019-01-01",
              "2019-09-30",  # after the as-of date: never counted
              "2018-09-23", "2018-09-10", "2018-03-01", "2018-03-01", "2018-03-01", "2018-09-30",
              "2017-05-01", "2017-05-01", "2016-02-01", "2016-02-01", "2016-02-01", "2016-02-01"]
    rows = [dict(occurred=_at(d), lon=x, lat=y, district="5") for d in in_csc]
    rows.append(dict(occurred=pd.Timestamp("2019-09-29 23:30"), lon=x, lat=y, district="5"))  # last minute of as-of
    rows.append(dict(occurred=pd.Timestamp("2019-01-01 00:00"), lon=x, lat=y, district="5"))  # first minute of YTD
    rows += [dict(occurred=_at("2019-09-24"), lon=ox, lat=oy, district="4")] * 5  # outside the corridor
    rows.append(dict(occurred=_at("2019-09-24"), lon=np.nan, lat=np.nan, district="5"))  # no location, district 5
    rows.append(dict(occurred=_at("2019-09-24"), lon=np.nan, lat=np.nan, district="3"))  # no location, district 3
    # located in district 5's polygon but carrying district "4": the polygon decides area membership
    rows.append(dict(occurred=_at("2019-09-25"), lon=x, lat=rd.LAT0 + 0.01, district="4"))
    rows.append(dict(occurred=_at("2014-01-01"), lon=ox, lat=oy, district="4"))  # the data begin in 2014
    df = rd.offenses(rows, category="homicide", firearm=False)
    ws.set_frame("offenses", df)
    return ws


AS_OF = dt.date(2019, 9, 29)


def test_grid_cells_for_the_corridor():
    ws = grid_workspace()
    g = analysis_for(ws).grid(CSC_KEY, AS_OF)
    v = lambda kind, back=0: g.value("homicides", kind, back)  # noqa: E731
    assert (v("wtd"), v("28d"), v("ytd")) == (3, 5, 8)
    assert (v("wtd", 1), v("28d", 1), v("ytd", 1)) == (1, 2, 5)
    assert (v("ytd", 2), v("ytd", 3), v("ytd", 4), v("ytd", 5)) == (2, 4, 0, 0)
    table = compstat_grid(ws, CSC_KEY, AS_OF, sections=["Outcomes"])[0]
    row = table.row("Homicides")
    c = dict(zip(table.columns, row))
    assert (c["WTD"], c["WTD prior"], c["WTD diff"], c["WTD % chg"]) == (3, 1, 2, 2.0)
    assert c["WTD z"] == pytest.approx(poisson_z(3, 1))
    assert (c["28d"], c["28d prior"], c["28d % chg"]) == (5, 2, 1.5)
    assert (c["YTD"], c["YTD prior"], c["YTD diff"], c["YTD % chg"]) == (8, 5, 3, pytest.approx(0.6))
    # the long-run headers name their years
    assert c["YTD 2017"] == 2 and c["% chg vs 2017"] == pytest.approx(3.0)
    assert c["5-yr avg 2014–2018"] == pytest.approx((5 + 2 + 4 + 0 + 0) / 5)
    assert c["% chg vs 5-yr avg"] == pytest.approx(8 / 2.2 - 1)
    assert table.header_groups[3][0] == "Long run: YTD 2017; 5-yr avg 2014–2018"
    # 3 vs 1, 5 vs 2, 8 vs 5: exact p 0.63, 0.45, 0.58 — no flag anywhere
    assert c["Flag"] == "" and table.cell_flags == {}
    # a zero base is blank (None), never inf or 0
    assert table.row("Carjackings")[table.columns.index("YTD % chg")] is None
    assert table.header_groups[0][0].startswith("Week to date: Sep 23–Sep 29, 2019 vs Sep 23–Sep 29, 2018")
    assert any("Offense counting" in n for n in table.notes)
    assert any("never placed in a target area" in n for n in table.notes)


def test_citywide_and_district_membership():
    ws = grid_workspace()
    eng = analysis_for(ws)
    w = compstat_windows(AS_OF)[("ytd", 0)]
    # citywide: every record, located or not: 8 in the corridor + 5 outside + 2 without location + 1 mislabelled
    assert eng.count("homicides", "citywide", w) == 16
    # district 5 by polygon: the corridor's 8 + the located one labelled "4"; + the unlocated one labelled "5"
    assert eng.count("homicides", "district:5", w) == 10
    # district 4: the 5 located in it; the record labelled "4" but located in 5 is not here
    assert eng.count("homicides", "district:4", w) == 5
    assert eng.count("homicides", "district:3", w) == 1  # only the unlocated one labelled "3"
    assert eng.count("homicides", "target_area:Capitol Drive East", w) == 0


def test_records_behind_match_every_cell():
    ws = grid_workspace()
    for table in compstat_grid(ws, CSC_KEY, AS_OF):
        for (r, c), key in table.cell_keys.items():
            cell = table.rows[r][c]
            if cell is None:
                continue
            df = records_behind(ws, key["measure"], key["area"], key["window"], key["as_of"])
            assert len(df) == cell == df.attrs["figure"], (table.title, table.rows[r][0], table.columns[c])
    df = records_behind(ws, "homicides", CSC_KEY, "wtd", AS_OF)
    assert sorted(df["occurred"].dt.strftime("%m-%d %H").tolist()) == ["09-23 12", "09-23 12", "09-29 23"]


def test_as_of_defaults_to_newest_record():
    ws = grid_workspace()
    g = analysis_for(ws).grid("citywide")
    assert pd.Timestamp(g.as_of).date() == dt.date(2019, 9, 30)  # the record after Sep 29 is the newest


def test_hierarchy_counting():
    ws = rd.base_workspace()
    x, y = IN_CSC_5.centroid.x, IN_CSC_5.centroid.y
    rows = []
    for inc, cats in (("I1", ["aggravated_assault", "robbery", "arson"]), ("I2", ["larceny_theft", "burglary"]),
                      ("I3", ["robbery", "homicide"]), ("I4", ["simple_assault", "motor_vehicle_theft"])):
        rows += [dict(incident_id=inc, category=c) for c in cats]
    df = rd.offenses(rows, occurred=_at("2019-03-01"), lon=x, lat=y, district="5", firearm=False)
    df["record_id"] = [f"R{i}" for i in range(len(df))]
    ws.set_frame("offenses", df)
    eng = analysis_for(ws)
    w = compstat_windows(AS_OF)[("ytd", 0)]
    offense = {m: eng.count(m, CSC_KEY, w, "offense") for m in
               ("robbery", "aggravated_assault", "arson", "burglary", "theft", "homicides", "part1_violent",
                "part1_total", "auto_theft")}
    assert offense == {"robbery": 2, "aggravated_assault": 1, "arson": 1, "burglary": 1, "theft": 1,
                       "homicides": 1, "part1_violent": 4, "part1_total": 8, "auto_theft": 1}
    hier = {m: eng.count(m, CSC_KEY, w, "hierarchy") for m in offense}
    assert hier == {"robbery": 1, "aggravated_assault": 0, "arson": 1, "burglary": 1, "theft": 0, "homicides": 1,
                    "part1_violent": 2, "part1_total": 5, "auto_theft": 1}
    # the workspace's rule is the default, and the grid says which rule it used
    ws.meta["counting"] = "hierarchy"
    t = compstat_grid(ws, CSC_KEY, AS_OF, sections=["Outcomes"])[0]
    assert t.row("Part I crime (total)")[t.columns.index("YTD")] == 5
    assert any("Hierarchy counting" in n for n in t.notes)
    assert len(records_behind(ws, "part1_total", CSC_KEY, "ytd", AS_OF)) == 5


def test_activity_credited_to_a_target_area_and_sums():
    ws = rd.base_workspace()
    x, y = IN_CSC_5.centroid.x, IN_CSC_5.centroid.y
    act = pd.DataFrame([
        dict(agency="FBI", category="gun_recovery", count=3, lon=x, lat=y),
        dict(agency="ATF", category="gun_recovery", count=2, lon=np.nan, lat=np.nan,
             target_area="Center Street Corridor"),
        dict(agency="MPD", category="gun_recovery", count=4, lon=np.nan, lat=np.nan),
        dict(agency="MPD", category="drug_seizure", count=1, quantity=2.5, lon=x, lat=y),
        dict(agency="DEA", category="drug_seizure", count=1, quantity=1.25, lon=x, lat=y),
    ])
    act["occurred"] = _at("2019-09-24")
    act["record_id"] = [f"A{i}" for i in range(len(act))]
    act["incident_id"] = act["record_id"]
    act["load_id"] = 1
    ws.set_frame("activity", act)
    eng = analysis_for(ws)
    w = compstat_windows(AS_OF)[("wtd", 0)]
    assert eng.count("gun_recoveries", CSC_KEY, w) == 5      # located 3 + credited by name 2
    assert eng.count("gun_recoveries", "citywide", w) == 9
    assert eng.count("drug_seizure_quantity", CSC_KEY, w) == pytest.approx(3.75)
    ws.put_area(Area("wider", "scenario", rd.CSC.buffer(0.001)))
    assert eng.count("gun_recoveries", "scenario:wider", w) == 3  # a scenario takes no credit by name
    df = records_behind(ws, "gun_recoveries", CSC_KEY, "wtd", AS_OF)
    assert len(df) == 2 and df["count"].sum() == df.attrs["figure"] == 5


def test_incidents_versus_victims():
    ws = rd.base_workspace()
    x, y = IN_CSC_5.centroid.x, IN_CSC_5.centroid.y
    sh = pd.DataFrame({"record_id": ["V1", "V2", "V3", "V4", "V5"], "incident_id": ["S1", "S1", "S1", "S2", "S3"],
                       "fatal": [False, False, True, False, True], "occurred": _at("2019-09-24"),
                       "lon": x, "lat": y, "load_id": 1})
    ws.set_frame("shootings", sh)
    eng = analysis_for(ws)
    w = compstat_windows(AS_OF)[("wtd", 0)]
    assert eng.count("nonfatal_shooting_victims", CSC_KEY, w) == 3
    assert eng.count("nonfatal_shooting_incidents", CSC_KEY, w) == 2  # S1 (two non-fatal victims) and S2
    df = records_behind(ws, "nonfatal_shooting_incidents", CSC_KEY, "wtd", AS_OF)
    assert sorted(df["incident_id"]) == ["S1", "S2"]


def test_cache_follows_workspace_changes():
    ws = grid_workspace()
    eng = analysis_for(ws)
    assert analysis_for(ws) is eng
    w = compstat_windows(AS_OF)[("ytd", 0)]
    assert eng.count("homicides", CSC_KEY, w) == 8
    df = ws.frames["offenses"]
    extra = df.iloc[[0]].assign(record_id="NEW", incident_id="NEW")
    ws.set_frame("offenses", pd.concat([df, extra], ignore_index=True))
    assert eng.count("homicides", CSC_KEY, w) == 9
    ws.put_area(Area("Center Street Corridor", "target_area", rd.CDE, version=2))  # boundary moved away
    assert eng.count("homicides", CSC_KEY, w) == 0
    # even a frame swapped in without a change event is noticed
    ws.frames["offenses"] = schema.conform(df.iloc[:0], "offenses")
    assert eng.count("homicides", "citywide", w) == 0


def test_grid_for_mask_equals_grid_for_area():
    ws = grid_workspace()
    eng = analysis_for(ws)
    masks = {k: eng.membership_mask(k, CSC_KEY) for k in ("offenses", "shootings", "calls", "activity")}
    a = eng.grid(CSC_KEY, AS_OF)
    b = eng.grid_for_mask(masks, AS_OF)
    assert np.array_equal(a.values, b.values)
    lon, lat = eng.coords("offenses")
    own = {"offenses": shapely.contains_xy(rd.CSC, lon, lat)}
    c = eng.grid_for_mask(own, AS_OF)
    assert c.value("homicides", "ytd") == 8
    tables = grid_tables(c, "What-if", area_kind="scenario")
    assert tables[0].row("Homicides")[tables[0].columns.index("YTD")] == 8


def test_area_keys():
    ws = rd.base_workspace()
    ws.areas.append(Area("wider", "scenario", rd.CSC.buffer(0.001)))
    keys = area_choices(ws)
    assert keys[0] == ("citywide", "Citywide")
    assert [k for k, _ in keys[1:8]] == [f"district:{d}" for d in "1234567"]
    assert ("district:3", "District 3") in keys
    assert keys[-3:] == [(CSC_KEY, "Center Street Corridor"),
                         ("target_area:Capitol Drive East", "Capitol Drive East"),
                         ("scenario:wider", "Scenario: wider")]
    ref = resolve_area(ws, "district:3")
    assert ref.district == "3" and ref.population == 80_003
    assert resolve_area(ws, "citywide").population == 594_833
    with pytest.raises(UserError, match="no target area named 'Nowhere'"):
        resolve_area(ws, "target_area:Nowhere")
    with pytest.raises(UserError, match="not an area key"):
        resolve_area(ws, "precinct:9")


# ---- cross-check against plain pandas over random data ---------------------------------------------------------------
def _random_workspace(seed: int, n: int = 6000):
    rng = np.random.default_rng(seed)
    ws = rd.base_workspace()
    x0, y0, x1, y1 = -88.0, 43.0, -88.0 + 7 * rd.STRIP_W, 43.1
    cats = np.array(list(schema.PART1) + ["simple_assault", "other"])

    def located(k):
        lon = rng.uniform(x0 - 0.005, x1 + 0.005, k)
        lat = rng.uniform(y0, y1, k)
        drop = rng.random(k) < 0.05
        lon[drop] = np.nan
        lat[drop] = np.nan
        return lon, lat

    def dates(k):
        return pd.Timestamp("2013-06-01") + pd.to_timedelta(rng.integers(0, 6.5 * 365 * 24 * 60, k), unit="min")

    lon, lat = located(n)
    off = pd.DataFrame({"record_id": [f"O{i}" for i in range(n)], "incident_id": [f"I{i // 3}" for i in range(n)],
                        "occurred": dates(n), "category": cats[rng.integers(0, len(cats), n)],
                        "firearm": rng.random(n) < 0.3, "carjacking": rng.random(n) < 0.05, "lon": lon, "lat": lat,
                        "district": np.where(rng.random(n) < 0.1, None, rng.integers(1, 8, n).astype(str)),
                        "load_id": 1})
    k = n // 5
    lon, lat = located(k)
    sh = pd.DataFrame({"record_id": [f"S{i}" for i in range(k)], "incident_id": [f"J{i // 2}" for i in range(k)],
                       "occurred": dates(k), "fatal": rng.random(k) < 0.2, "lon": lon, "lat": lat,
                       "district": rng.integers(1, 8, k).astype(str), "load_id": 1})
    lon, lat = located(k)
    calls = pd.DataFrame({"record_id": [f"C{i}" for i in range(k)], "incident_id": [f"C{i}" for i in range(k)],
                          "occurred": dates(k), "category": rng.choice(list(schema.CALL_CATEGORIES), k),
                          "lon": lon, "lat": lat, "load_id": 1})
    lon, lat = located(k)
    act = pd.DataFrame({"record_id": [f"A{i}" for i in range(k)], "incident_id": [f"A{i}" for i in range(k)],
                        "occurred": dates(k), "agency": rng.choice(list(schema.AGENCIES), k),
                        "category": rng.choice(list(schema.ACTIVITY_CATEGORIES), k),
                        "count": rng.integers(1, 4, k), "quantity": rng.uniform(0, 2, k),
                        "lon": lon, "lat": lat, "load_id": 1})
    for kind, df in (("offenses", off), ("shootings", sh), ("calls", calls), ("activity", act)):
        ws.set_frame(kind, df)
    return ws


def _naive_hierarchy_keep(df) -> np.ndarray:
    rank = df["category"].astype(str).map({c: i for i, c in enumerate(schema.HIERARCHY)})
    keep = np.ones(len(df), dtype=bool)
    ranked = df[rank.notna()].assign(rank=rank[rank.notna()], pos=np.flatnonzero(rank.notna()))
    best = ranked.sort_values(["incident_id", "rank", "pos"]).drop_duplicates("incident_id")["pos"]
    keep[ranked["pos"].to_numpy()] = False
    keep[best.to_numpy()] = True
    return keep


def _naive(ws, m, key, w, rule, memo):
    """The figure computed the slow, obvious way: boolean masks over the whole frame."""
    df = ws.frames[m.dataset]
    if (m.dataset, key) not in memo:
        ref = resolve_area(ws, key)
        if ref.kind == "citywide":
            inside = np.ones(len(df), dtype=bool)
        else:
            lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
            ok = np.isfinite(lon) & np.isfinite(lat)
            inside = np.zeros(len(df), dtype=bool)
            inside[ok] = shapely.contains_xy(ref.geometry, lon[ok], lat[ok])
            if ref.kind == "district":
                inside |= ~ok & (df["district"].astype(str) == ref.district).to_numpy()
        memo[(m.dataset, key)] = inside
    if (m.dataset, "day") not in memo:
        memo[(m.dataset, "day")] = df["occurred"].dt.normalize()
        if m.dataset == "offenses":
            memo["hierarchy"] = _naive_hierarchy_keep(df)
    day = memo[(m.dataset, "day")]
    if ("select", m.id) not in memo:
        memo[("select", m.id)] = m.select(df)
    sel = memo[("select", m.id)] & memo[(m.dataset, key)]
    sel &= (day >= pd.Timestamp(w.start)).to_numpy() & (day <= pd.Timestamp(w.end)).to_numpy()
    if m.dataset == "offenses" and rule == "hierarchy":
        sel &= memo["hierarchy"]
    if m.count == "incidents":
        return df.loc[sel, "incident_id"].nunique()
    if m.count == "sum_count":
        return df.loc[sel, "count"].sum()
    if m.count == "sum_quantity":
        return df.loc[sel, "quantity"].sum()
    return int(sel.sum())


@pytest.mark.parametrize("seed,as_of,rule", [(1, "2019-09-29", "offense"), (2, "2019-03-01", "hierarchy"),
                                             (3, "2016-02-29", "offense")])
def test_engine_matches_plain_pandas(seed, as_of, rule):
    ws = _random_workspace(seed)
    eng = Analysis(ws)
    keys = ["citywide", "district:3", "district:5", CSC_KEY, "target_area:Capitol Drive East"]
    measures = [m for m in default_catalog().counts()]
    memo = {}
    for key in keys:
        g = eng.grid(key, as_of, measures=measures, counting=rule)
        for i, m in enumerate(g.measures):
            for j, w in enumerate(g.windows):
                want = _naive(ws, m, key, w, rule, memo)
                assert g.values[i, j] == pytest.approx(want), (key, m.id, w)
    eng.close()

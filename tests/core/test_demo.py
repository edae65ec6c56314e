"""The demo workspace reproduces the case study's printed figures from its records.

Every figure below is copied from the case study (milwaukee_psp_case_study.txt) and recomputed here with plain
pandas/shapely from the records and polygons — not with the product's reports — so the demo is proven on its own.
"""
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from workstation.core import schema
from workstation.demo.records import DemoCancelled, build_demo
from workstation.core.workspace import Workspace

DISTRICTS = ["1", "2", "3", "4", "5", "6", "7"]
CSC, CDE = "Center Street Corridor", "Capitol Drive East"

# Table 1. Impacts - Part I Crime in the Center Street Corridor (2007-2016)
TABLE1 = {
    "homicide": [19, 13, 10, 14, 14, 12, 12, 10, 15, 14],
    "rape": [47, 45, 30, 25, 30, 29, 34, 30, 27, 29],
    "robbery": [305, 340, 341, 346, 307, 286, 340, 307, 304, 256],
    "aggravated_assault": [563, 552, 378, 380, 321, 474, 425, 423, 521, 447],
    "burglary": [354, 405, 400, 467, 567, 523, 488, 422, 435, 329],
    "motor_vehicle_theft": [541, 449, 309, 325, 296, 302, 283, 281, 362, 321],   # "Auto Theft"
    "larceny_theft": [1212, 1144, 1075, 1032, 1029, 811, 710, 622, 577, 552],    # "Theft"
}
TABLE1_VIOLENT = [934, 950, 759, 765, 672, 801, 811, 770, 867, 746]
TABLE1_PROPERTY = [2107, 1998, 1784, 1824, 1892, 1636, 1481, 1325, 1374, 1202]
TABLE1_TOTAL = [3041, 2948, 2543, 2589, 2564, 2437, 2292, 2095, 2241, 1948]

# Homicide Citywide / Non-Fatal Shootings Citywide, by Present District:
# 2017 (Full Year), 2018 (Full Year), 2017 (YTD), 2018 (YTD), 2019 (YTD); YTD = January 01 - September 29.
HOMICIDE_TABLE = {
    "1": (2, 1, 2, 1, 1), "2": (15, 13, 10, 12, 15), "3": (21, 16, 17, 15, 14), "4": (24, 11, 20, 7, 7),
    "5": (25, 39, 17, 30, 18), "6": (1, 2, 1, 2, 2), "7": (31, 17, 24, 14, 14), "Total": (119, 99, 91, 81, 71),
}
NONFATAL_TABLE = {
    "1": (5, 4, 3, 1, 6), "2": (94, 75, 80, 63, 25), "3": (106, 101, 83, 84, 67), "4": (55, 50, 40, 36, 39),
    "5": (146, 111, 130, 87, 91), "6": (11, 5, 7, 4, 5), "7": (135, 121, 106, 99, 79), "Unknown": (6, 9, 3, 7, 3),
    "Total": (558, 476, 452, 381, 315),
}
# Homicides / Non-Fatal Shootings PSP Areas: 2018 (YTD), 2019 (YTD) by Present District inside each area.
AREA_HOMICIDES = {CSC: {"3": (4, 5), "5": (5, 2), "7": (2, 2), "Total": (11, 9)},
                  CDE: {"3": (0, 0), "5": (7, 1), "7": (0, 0), "Total": (7, 1)}}
AREA_NONFATAL = {CSC: {"3": (29, 18), "5": (17, 11), "7": (8, 17), "Total": (54, 46)},
                 CDE: {"3": (0, 0), "5": (17, 10), "7": (0, 0), "Total": (17, 10)}}

VIOLENT = ["homicide", "rape", "robbery", "aggravated_assault"]
PROACTIVE = ["traffic_stop", "subject_stop", "business_check", "probation_parole_check", "park_and_walk",
             "citizen_contact"]


def inside(geom, df) -> np.ndarray:
    shapely.prepare(geom)
    return shapely.contains_xy(geom, df["lon"].to_numpy(), df["lat"].to_numpy())


def ytd(df) -> np.ndarray:
    """January 1 through September 29 of the record's own year."""
    occ = df["occurred"]
    return ((occ.dt.month < 9) | ((occ.dt.month == 9) & (occ.dt.day <= 29))).to_numpy()


def year(df) -> np.ndarray:
    return df["occurred"].dt.year.to_numpy()


def sq_miles(geom) -> float:
    a, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return abs(a) / 2_589_988.110336


def district_counts(df, mask, unknown=False) -> dict:
    d = df.loc[mask, "district"].astype(object).fillna("Unknown")
    counts = d.value_counts().to_dict()
    keys = DISTRICTS + (["Unknown"] if unknown else [])
    return {k: int(counts.get(k, 0)) for k in keys}


# ---------------------------------------------------------------------------------------------------------------------
def check_table1(ws):
    off = ws.frame("offenses")
    in_csc = inside(ws.area(CSC, "target_area").geometry, off)
    y = year(off)
    for category, printed in TABLE1.items():
        got = [int((in_csc & (y == yr) & (off["category"] == category).to_numpy()).sum()) for yr in range(2007, 2017)]
        assert got == printed, category
    violent = off["category"].isin(VIOLENT).to_numpy()
    prop = off["category"].isin(["burglary", "motor_vehicle_theft", "larceny_theft"]).to_numpy()
    assert [int((in_csc & violent & (y == yr)).sum()) for yr in range(2007, 2017)] == TABLE1_VIOLENT
    assert [int((in_csc & prop & (y == yr)).sum()) for yr in range(2007, 2017)] == TABLE1_PROPERTY
    assert [int((in_csc & (violent | prop) & (y == yr)).sum()) for yr in range(2007, 2017)] == TABLE1_TOTAL
    # Table 1 has no arson row: none inside the corridor in those years (arson elsewhere is fine)
    arson = (off["category"] == "arson").to_numpy()
    assert not (arson & in_csc & (y <= 2016)).any()
    assert (arson & (y <= 2016)).sum() > 1000


def check_district_tables(ws):
    off = ws.frame("offenses")
    hom = (off["category"] == "homicide").to_numpy()
    y, is_ytd = year(off), ytd(off)
    columns = [hom & (y == 2017), hom & (y == 2018), hom & is_ytd & (y == 2017), hom & is_ytd & (y == 2018),
               hom & is_ytd & (y == 2019)]
    got = [district_counts(off, m) for m in columns]
    for d in DISTRICTS:
        assert tuple(g[d] for g in got) == HOMICIDE_TABLE[d], f"homicides, district {d}"
    assert tuple(int(m.sum()) for m in columns) == HOMICIDE_TABLE["Total"]
    assert not off.loc[hom, "district"].isna().any()

    sh = ws.frame("shootings")
    nf = ~sh["fatal"].to_numpy()
    y, is_ytd = year(sh), ytd(sh)
    columns = [nf & (y == 2017), nf & (y == 2018), nf & is_ytd & (y == 2017), nf & is_ytd & (y == 2018),
               nf & is_ytd & (y == 2019)]
    got = [district_counts(sh, m, unknown=True) for m in columns]
    for d in DISTRICTS + ["Unknown"]:
        assert tuple(g[d] for g in got) == NONFATAL_TABLE[d], f"non-fatal shootings, district {d}"
    assert tuple(int(m.sum()) for m in columns) == NONFATAL_TABLE["Total"]
    unknown = sh["district"].isna().to_numpy()
    assert sh.loc[unknown, ["lat", "lon"]].isna().all().all()


def check_area_tables(ws):
    off, sh = ws.frame("offenses"), ws.frame("shootings")
    for area in (CSC, CDE):
        geom = ws.area(area, "target_area").geometry
        hom = inside(geom, off) & (off["category"] == "homicide").to_numpy() & ytd(off)
        nf = inside(geom, sh) & ~sh["fatal"].to_numpy() & ytd(sh)
        for printed, df, mask in ((AREA_HOMICIDES[area], off, hom), (AREA_NONFATAL[area], sh, nf)):
            per_year = [district_counts(df, mask & (year(df) == yr)) for yr in (2018, 2019)]
            for d, row in printed.items():
                if d == "Total":
                    assert tuple(int((mask & (year(df) == yr)).sum()) for yr in (2018, 2019)) == row
                else:
                    assert tuple(c[d] for c in per_year) == row, (area, d)
            # nothing from districts the printed table does not list
            assert all(c[d] == 0 for c in per_year for d in DISTRICTS if d not in printed)


def check_gun_recoveries(ws):
    act = ws.frame("activity")
    guns = act[(act["category"] == "gun_recovery").to_numpy()]
    y = year(guns)
    assert int(guns.loc[y == 2016, "count"].sum()) == 2419
    assert round(2419 / ws.meta["population"] * 100_000, 2) == 406.67
    in_csc = inside(ws.area(CSC, "target_area").geometry, guns)
    assert int(guns.loc[in_csc & (y == 2015), "count"].sum()) == 234
    assert int(guns.loc[in_csc & (y == 2016), "count"].sum()) == 260


# ---------------------------------------------------------------------------------------------------------------------
def test_table1_corridor_part1_counts(demo_ws):
    check_table1(demo_ws)


def test_citywide_homicide_and_nonfatal_tables(demo_ws):
    check_district_tables(demo_ws)


def test_psp_area_tables(demo_ws):
    check_area_tables(demo_ws)


def test_gun_recoveries(demo_ws):
    check_gun_recoveries(demo_ws)


def test_geography(demo_ws):
    ws = demo_ws
    city = ws.city.geometry
    assert abs(sq_miles(city) - 96.8) < 0.05
    assert abs(sq_miles(ws.area(CSC, "target_area").geometry) - 2.30) <= 0.01
    assert [d.name for d in ws.districts] == DISTRICTS
    assert sum(d.population for d in ws.districts) == 594_833 == ws.city.population == ws.meta["population"]
    geoms = [d.geometry for d in ws.districts]
    assert all(g.is_valid for g in geoms + [city])
    # the seven districts tile the city: no gap, no overlap
    assert shapely.union_all(geoms).symmetric_difference(city).area < 1e-9 * city.area
    for i in range(7):
        for j in range(i + 1, 7):
            assert geoms[i].intersection(geoms[j]).area < 1e-12 * city.area
    assert abs(sum(sq_miles(g) for g in geoms) - sq_miles(city)) < 1e-6
    # the corridor runs east-west across districts 3, 5 and 7 only; the second area lies in district 5 only
    csc = ws.area(CSC, "target_area").geometry
    cde = ws.area(CDE, "target_area").geometry
    share = {d.name: d.geometry.intersection(csc).area / csc.area for d in ws.districts}
    assert {d for d, s in share.items() if s > 1e-9} == {"3", "5", "7"}
    assert min(share["3"], share["5"], share["7"]) > 0.15
    minx, miny, maxx, maxy = csc.bounds
    assert (maxx - minx) > 4 * (maxy - miny)
    assert cde.difference(ws.area("5", "district").geometry).area < 1e-12
    assert csc.within(city) and cde.within(city) and not csc.intersects(cde)
    lon, lat = city.centroid.x, city.centroid.y
    assert 42.9 < lat < 43.2 and -88.1 < lon < -87.8


def test_records_lie_in_their_district(demo_ws):
    for kind in ("offenses", "shootings", "calls", "activity"):
        df = demo_ws.frame(kind)
        located = df["lat"].notna().to_numpy()
        assert located.mean() > 0.98  # shooting victims of the "Unknown" row have no location
        expected = np.full(len(df), None, dtype=object)
        for d in demo_ws.districts:
            expected[inside(d.geometry, df)] = d.name
        assert (expected[located] != None).all(), kind  # noqa: E711 - every located record is inside the city
        assert (df["district"].astype(object).to_numpy()[located] == expected[located]).all(), kind


def test_dates_metadata_and_import_log(demo_ws):
    ws = demo_ws
    assert ws.as_of() == pd.Timestamp("2019-09-29")
    for kind in ("offenses", "shootings", "calls", "activity"):
        occ = ws.frame(kind)["occurred"]
        assert occ.max().normalize() <= pd.Timestamp("2019-09-29")
    assert ws.frame("offenses")["occurred"].min().normalize() == pd.Timestamp("2007-01-01")
    assert ws.frame("offenses")["occurred"].max().normalize() == pd.Timestamp("2019-09-29")
    assert ws.meta["city"] == "Lakeport (demo)" and ws.meta["timezone"] == "America/Chicago"
    assert ws.meta["demo"] is True and ws.meta["population"] == 594_833
    logged = {e["kind"]: e for e in ws.import_log}
    assert set(schema.DATASET_KINDS) <= set(logged)
    for kind in schema.DATASET_KINDS:
        e = logged[kind]
        assert re.fullmatch(r"demo_\w+\.csv", e["file_name"])
        assert e["rows"] == e["rows_read"] == e["accepted"] == len(ws.frame(kind)) and e["rejected"] == 0
        assert e["data_as_of"] == "2019-09-30 08:57:31" and e["loaded_at"]
        assert (ws.frame(kind)["load_id"] == e["load_id"]).all()
        assert list(ws.frame(kind).columns) == schema.columns(kind)
        assert ws.frame(kind)["record_id"].is_unique


def test_volumes_and_partner_figures(demo_ws):
    ws = demo_ws
    off, sh, calls, act = (ws.frame(k) for k in ("offenses", "shootings", "calls", "activity"))
    csc = ws.area(CSC, "target_area").geometry
    y = year(off)
    part1 = pd.Series(y).value_counts()
    assert all(29_000 <= part1[yr] <= 37_000 for yr in range(2007, 2019))
    violent = off["category"].isin(VIOLENT).to_numpy()
    city_violent_2016 = int((violent & (y == 2016)).sum())
    assert 6_900 <= city_violent_2016 <= 7_300
    assert (violent & (y == 2016) & inside(csc, off)).sum() / city_violent_2016 > 0.10
    # 11% of priority calls in 2016
    pri = (calls["category"] == "priority").to_numpy() & (year(calls) == 2016)
    assert abs((pri & inside(csc, calls)).sum() / pri.sum() - 0.11) < 0.005
    # non-fatal shootings in the corridor fall 28% from 2015 to 2016
    nf = ~sh["fatal"].to_numpy() & inside(csc, sh)
    n15, n16 = (nf & (year(sh) == 2015)).sum(), (nf & (year(sh) == 2016)).sum()
    assert round(100 * (n16 - n15) / n15) == -28
    # FBI in the corridor 2016-2018: 108 arrests, 52 search warrants, 85 gun recoveries
    fbi = act[(act["agency"] == "FBI").to_numpy() & inside(csc, act) & (year(act) >= 2016) & (year(act) <= 2018)]
    assert fbi.groupby("category", observed=True)["count"].sum().to_dict() == \
        {"arrest": 108, "gun_recovery": 85, "search_warrant": 52}
    # community engagement over the PSP period; proactive work in the corridor in 2016
    psp = act[act["occurred"] >= "2016-03-01"]
    assert int(psp.loc[psp["category"] == "community_event", "count"].sum()) > 50
    assert int(psp.loc[psp["category"] == "community_meeting", "count"].sum()) == 282
    in_csc_act = inside(csc, act)
    pro16 = act[in_csc_act & act["category"].isin(PROACTIVE).to_numpy() & (year(act) == 2016)]
    assert 45_000 <= pro16["count"].sum() <= 46_000
    assert 3_250 <= pro16.loc[pro16["category"] == "citizen_contact", "count"].sum() <= 3_350
    pro15 = act[in_csc_act & act["category"].isin(PROACTIVE).to_numpy() & (year(act) == 2015)]
    assert pro16["count"].sum() > 1.3 * pro15["count"].sum()
    for category in ("citizen_complaint", "use_of_force"):
        m = in_csc_act & (act["category"] == category).to_numpy()
        assert act.loc[m & (year(act) == 2016), "count"].sum() < act.loc[m & (year(act) == 2015), "count"].sum()
    # partners, seizures, NIBIN, referrals
    warrants = act[act["category"] == "search_warrant"]
    assert warrants["agency"].nunique() >= 3
    drugs = act[act["category"] == "drug_seizure"]
    assert len(drugs) > 100 and (drugs["quantity"] > 0).all() and set(drugs["unit"]) <= {"g", "pills"}
    assert (act["category"] == "nibin_lead").sum() > 1000
    referrals = act[act["agency"].isin(["DA", "USAO"]).to_numpy()]
    assert len(referrals) and (referrals["category"] == "other").all()
    assert set(referrals["target_area"]) <= {CSC, CDE} and referrals["lat"].isna().all()
    assert set(act["agency"].astype(str)) == {"MPD", "FBI", "ATF", "DEA", "USMS", "DA", "USAO"}
    # ShotSpotter from 2014 on, concentrated where the shootings are
    ss = calls[calls["category"] == "shotspotter"]
    assert ss["occurred"].min() >= pd.Timestamp("2014-01-01") and len(ss) > 20_000
    assert inside(csc, ss).mean() > 5 * (2.30 / 96.8)
    assert (calls["category"] == "disorder").sum() > 50_000


def test_shootings_clearance_and_flags(demo_ws):
    off, sh = demo_ws.frame("offenses"), demo_ws.frame("shootings")
    y = year(off)
    hom = off[(off["category"] == "homicide").to_numpy() & (y >= 2017)]
    assert 0.84 <= hom["cleared"].mean() <= 0.86
    nf = sh[~sh["fatal"] & (sh["occurred"].dt.year >= 2017)]
    assert 0.47 <= nf["cleared"].mean() <= 0.51
    cleared = off[off["cleared"]]
    assert cleared["cleared_date"].notna().all()
    assert (cleared["cleared_date"] >= cleared["occurred"].dt.normalize()).all()
    assert (cleared["cleared_date"] <= pd.Timestamp("2019-09-29")).all()
    assert set(cleared["clearance_type"].astype(str)) == {"arrest", "exceptional"}
    exc = cleared[cleared["clearance_type"] == "exceptional"]
    assert exc["exceptional_code"].notna().all() and set(exc["exceptional_code"].astype(str)) <= set("ABCDE")
    assert off.loc[~off["cleared"], "cleared_date"].isna().all()
    # fatal shooting victims are homicides: never more than the homicides of a district-year
    fatal = sh[sh["fatal"]]
    assert fatal["incident_id"].isin(off.loc[off["category"] == "homicide", "incident_id"]).all()
    h = off[off["category"] == "homicide"].groupby([off["district"].astype(str), y[off["category"] == "homicide"]])
    f = fatal.groupby([fatal["district"].astype(str), fatal["occurred"].dt.year])
    hc, fc = h.size(), f.size()
    assert (fc <= hc.reindex(fc.index, fill_value=0)).all()
    assert 0.7 < len(fatal) / (off["category"] == "homicide").sum() < 0.95
    # every non-fatal shooting incident is an aggravated assault with a firearm (one offense per incident)
    nf_ids = sh.loc[~sh["fatal"], "incident_id"].unique()
    linked = off.set_index("incident_id").loc[nf_ids]
    assert (linked["category"] == "aggravated_assault").all() and linked["firearm"].all()
    assert off["incident_id"].is_unique
    assert 0.75 < off.loc[off["category"] == "homicide", "firearm"].mean() < 0.95
    carjack = off[off["carjacking"]]
    assert (carjack["category"] == "robbery").all()
    per_year = carjack.groupby(carjack["occurred"].dt.year).size()
    assert per_year.loc[2010:2018].between(200, 600).all()


def test_people_links_form_a_network(demo_ws):
    off, people = demo_ws.frame("offenses"), demo_ws.frame("people")
    assert people["person_id"].str.fullmatch(r"P\d{6}").all()
    assert set(people["role"].astype(str)) == {"arrestee", "suspect", "victim"}
    cats = off.set_index("incident_id").loc[people["incident_id"], "category"]
    assert cats.isin(VIOLENT).all()
    offenders = people[people["role"] != "victim"]
    pairs = offenders.merge(offenders, on="incident_id")
    pairs = pairs[pairs["person_id_x"] < pairs["person_id_y"]]
    shared = pairs.groupby(["person_id_x", "person_id_y"]).size()
    assert (shared >= 3).sum() >= 20  # crews: the same people together again and again
    # some people are victims in one incident and offenders in another
    assert people.groupby("person_id")["role"].nunique().max() >= 2


def test_cli_writes_the_same_workspace_and_it_reads_back(demo_ws, tmp_path, capsys):
    from workstation.cli import main

    out = tmp_path / "demo.psw"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "offenses" in printed
    m = re.search(r"total (\d+\.\d+) s", printed)
    assert m, printed
    with capsys.disabled():
        print(f"\n[demo] {printed.strip().splitlines()[-1]}")
    back = Workspace.open(out)
    # same seed, same records: the file written by the CLI holds the fixture's frames exactly
    for kind in schema.DATASET_KINDS:
        a, b = back.frame(kind), demo_ws.frame(kind)
        assert list(a.columns) == list(b.columns) and (a.dtypes == b.dtypes).all(), kind
        assert a.equals(b), kind  # values, categories and codes (assert_frame_equal is far slower on categoricals)
    assert [(a.name, a.kind) for a in back.areas] == [(a.name, a.kind) for a in demo_ws.areas]
    assert all(a.geometry.equals(b.geometry) for a, b in zip(back.areas, demo_ws.areas))
    assert back.meta["demo"] is True and back.import_log == demo_ws.import_log


def test_demo_path_fixture_opens(demo_path, demo_ws):
    back = Workspace.open(demo_path)
    assert len(back.frame("offenses")) == len(demo_ws.frame("offenses"))
    assert demo_ws.path is None


def test_another_seed_changes_records_not_calibration(demo_ws):
    seen = []
    other = build_demo(seed=7, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert not other.frame("offenses")["lat"].equals(demo_ws.frame("offenses")["lat"])
    check_table1(other)
    check_district_tables(other)
    check_area_tables(other)
    check_gun_recoveries(other)


def test_cancel():
    with pytest.raises(DemoCancelled, match="cancelled"):
        build_demo(should_stop=lambda: True)


def test_write_demo_cancelled_writes_nothing(tmp_path):
    from workstation.demo.records import write_demo

    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2  # cancel part-way through the build

    with pytest.raises(DemoCancelled):
        write_demo(tmp_path / "demo.psw", should_stop=stop)
    assert list(tmp_path.iterdir()) == []

"""The case study's tables reproduced from record-level data laid out in reports_data, and the other reports
(rates, peer cities, clearance, goals, concentration, trends, partners) on small known inputs."""
import datetime as dt

import pandas as pd
import pytest

import reports_data as rd
from workstation.engine import geometry as geo
from workstation.core.errors import UserError
from workstation.reports.activity import activity_partners, partner_contributions
from workstation.reports.concentration import concentration_curve, concentration_table
from workstation.reports.districts import district_table, target_area_table
from workstation.reports.goals import Goal, goal_progress, goal_table, goals_of
from workstation.reports.history import part1_history
from workstation.reports.rates import clearance_table, load_peer_comparisons, peer_comparison, rates_table
from workstation.formatting import round_half_away, whole_percent
from workstation.reports.trends import trend_series

CSC_KEY = "target_area:Center Street Corridor"
AS_OF = rd.AS_OF


@pytest.fixture(scope="module")
def case_ws():
    return rd.case_study_workspace()


def _pcts(values):
    return [whole_percent(v) for v in values]


# ---- district tables -------------------------------------------------------------------------------------------------
def test_homicide_district_table(case_ws):
    t = district_table(case_ws, "homicides", AS_OF)
    assert t.columns == ["Present District", "2017 (Full Year)", "2018 (Full Year)", "2017 (YTD)", "2018 (YTD)",
                         "2019 (YTD)", "2017-19 (YTD % Change)", "2018-19 (YTD % Change)"]
    assert [r[0] for r in t.rows] == ["1", "2", "3", "4", "5", "6", "7", "Total"]  # no Unknown: it would be empty
    for d, counts in rd.HOMICIDE_BY_DISTRICT.items():
        assert tuple(t.row(d)[1:6]) == counts
    assert t.row("Total")[1:6] == [119, 99, 91, 81, 71]
    assert _pcts(t.column("2017-19 (YTD % Change)")) == [-50, 50, -18, -65, 6, 100, -42, -22]
    assert _pcts(t.column("2018-19 (YTD % Change)")) == [0, 25, -7, 0, -40, 0, 0, -12]
    assert t.row_kinds[-1] == "total" and t.title == "Homicides Citywide"


def test_nonfatal_district_table_with_unknown_row(case_ws):
    t = district_table(case_ws, "nonfatal_shooting_victims", AS_OF)
    assert [r[0] for r in t.rows] == ["1", "2", "3", "4", "5", "6", "7", "Unknown", "Total"]
    for d, counts in rd.NONFATAL_BY_DISTRICT.items():
        assert tuple(t.row(d)[1:6]) == counts
    assert t.row("Total")[1:6] == [558, 476, 452, 381, 315]  # the fatal shootings are not counted
    assert _pcts(t.column("2017-19 (YTD % Change)")) == [100, -69, -19, -3, -30, -29, -25, 0, -30]
    assert _pcts(t.column("2018-19 (YTD % Change)")) == [500, -60, -20, 8, 5, 25, -20, -57, -17]
    assert t.row("1")[7] == 5.0  # 1 -> 6 is +500%
    assert t.title == "Non-Fatal Shootings Citywide"


def test_district_table_years_follow_as_of(case_ws):
    t = district_table(case_ws, "homicides", dt.date(2018, 9, 29))
    assert t.columns[1] == "2016 (Full Year)" and t.columns[-1] == "2017-18 (YTD % Change)"
    assert t.row("Total")[3:6] == [None, 91, 81]  # the records begin in 2017: 2016 is unknown, not 0
    assert t.row("Total")[6] is None  # from zero: undefined, never inf or 0%


def test_psp_areas_tables(case_ws):
    h = target_area_table(case_ws, "homicides", AS_OF)
    assert h.header_groups == [("Center Street Corridor", 1, 3), ("Capitol Drive East", 4, 6)]
    assert h.columns[1:4] == ["2018 (YTD)", "2019 (YTD)", "2018-19 (YTD % Change)"]
    assert [r[0] for r in h.rows] == ["3", "5", "7", "Total"]
    assert h.row("3")[1:3] == [4, 5] and h.row("5")[1:3] == [5, 2] and h.row("7")[1:3] == [2, 2]
    assert h.row("Total")[1:3] == [11, 9] and whole_percent(h.row("Total")[3]) == -18
    assert h.row("5")[4:6] == [7, 1] and whole_percent(h.row("5")[6]) == -86
    assert h.row("3")[4:7] == [0, 0, None]  # blank, not 0%
    assert h.row("Total")[4:6] == [7, 1] and whole_percent(h.row("Total")[6]) == -86
    assert _pcts(h.column("2018-19 (YTD % Change)")) == [25, -60, 0, -18]
    n = target_area_table(case_ws, "nonfatal_shooting_victims", AS_OF)
    assert [r[1:3] for r in n.rows] == [[29, 18], [17, 11], [8, 17], [54, 46]]
    assert _pcts(r[3] for r in n.rows) == [-38, -35, 113, -15]
    assert n.row("Total")[4:6] == [17, 10] and whole_percent(n.row("Total")[6]) == -41


# ---- Part I history (Table 1) ----------------------------------------------------------------------------------------
TABLE1_AVERAGES = [13.2, 33.0, 319.6, 448.6, 451.2, 349.8, 912.4, 814.3, 1713.4, 2527.8]
TABLE1_2016 = [14, 29, 256, 447, 329, 321, 552, 746, 1202, 1948]
TABLE1_CHANGES = [6, -12, -20, 0, -27, -8, -40, -8, -30, -23]


def test_table1():
    ws = rd.table1_workspace()
    t = part1_history(ws, CSC_KEY, baseline=(2007, 2015), current=2016)
    assert t.columns == ["Crime", *map(str, range(2007, 2016)), "2007 - 2015 Average", "2016",
                         "Average - 2016 % Change"]
    assert [r[0] for r in t.rows] == ["Homicide", "Rape", "Robbery", "Aggravated Assault", "Burglary", "Auto Theft",
                                      "Theft", "Violent Crime", "Property Crime", "Total Crime"]
    for label, cat in (("Homicide", "homicide"), ("Robbery", "robbery"), ("Theft", "larceny_theft"),
                       ("Auto Theft", "motor_vehicle_theft")):
        assert tuple(t.row(label)[1:10]) + (t.row(label)[11],) == rd.TABLE1[cat]
    assert t.row("Violent Crime")[1:10] == [934, 950, 759, 765, 672, 801, 811, 770, 867]
    assert t.row("Total Crime")[1:10] == [3041, 2948, 2543, 2589, 2564, 2437, 2292, 2095, 2241]
    assert [round_half_away(r[10], 1) for r in t.rows] == TABLE1_AVERAGES
    assert [r[11] for r in t.rows] == TABLE1_2016
    assert _pcts(r[12] for r in t.rows) == TABLE1_CHANGES
    assert t.row_kinds[-1] == "total"


def test_table1_arson_row_only_when_present_and_citywide():
    ws = rd.table1_workspace(arson=True)
    t = part1_history(ws, CSC_KEY, baseline=(2007, 2015), current=2016)
    assert [r[0] for r in t.rows][7] == "Arson"
    assert t.row("Arson")[1:10] == [1] * 9
    assert t.row("Property Crime")[1] == 2107 + 1
    city = part1_history(ws, "citywide", baseline=(2007, 2015), current=2016)
    # citywide adds 50 robberies and 50 unlocated burglaries a year
    assert city.row("Robbery")[1] == 305 + 50 and city.row("Burglary")[1] == 354 + 50


def test_table1_default_years_and_ytd():
    ws = rd.table1_workspace()
    t = part1_history(ws, CSC_KEY)  # newest record Dec 31, 2016: the current year is 2016, baseline 2007-2015
    assert t.columns[1] == "2007" and t.columns[-2] == "2016"
    y = part1_history(ws, CSC_KEY, baseline=(2014, 2015), current=2016, ytd=True, as_of="2016-06-30")
    assert y.columns[1] == "2014 (YTD)"
    # records are spread evenly through each year, so about half fall before July
    assert 0 < y.row("Total Crime")[-2] < 1948


# ---- rates and peer cities ------------------------------------------------------------------------------------------
def test_peer_table_gives_the_case_study_rates():
    t = peer_comparison(include_workspace=False)
    assert t.columns == ["City", "Population (2010)", "Gun Recoveries 2016", "Rate per 100,000"]
    assert [r[0] for r in t.rows] == ["Milwaukee", "Philadelphia", "Chicago", "Los Angeles", "New York City"]
    assert [round_half_away(r[3], 2) for r in t.rows] == [406.67, 253.28, 246.48, 155.78, 43.83]


def test_peer_table_with_the_workspace_row(tmp_path):
    ws = rd.base_workspace()
    act = pd.DataFrame({"record_id": [f"G{i}" for i in range(2419)], "incident_id": [f"G{i}" for i in range(2419)],
                        "occurred": pd.Timestamp("2016-05-01"), "agency": "MPD", "category": "gun_recovery",
                        "load_id": 1})
    ws.set_frame("activity", act)
    t = peer_comparison(ws)
    assert t.rows[0][0] == "Testville (this workspace)"
    assert t.rows[0][1:3] == [594_833, 2419] and round_half_away(t.rows[0][3], 2) == 406.67
    # the peer rows come from the list, never this city's own figures twice
    assert [r[0] for r in t.rows[1:]] == ["Philadelphia", "Chicago", "Los Angeles", "New York City"]
    bad = tmp_path / "peers.json"
    bad.write_text('{"comparisons": [{"id": "x", "measure": "gun_recoveries", "label": "Guns", "year": 2016,'
                   ' "cities": [{"city": "Nowhere", "population": 0, "count": 5}]}]}', encoding="utf-8")
    with pytest.raises(UserError, match="peer comparison 'x': field 'cities'.*Nowhere.*population"):
        load_peer_comparisons(bad)


def test_rates_per_100k_and_square_mile(case_ws):
    t = rates_table(case_ws, "homicides", "year:2018", area_keys=["citywide", "district:5", CSC_KEY])
    city, d5, csc = t.rows
    assert city[1] == 99 and city[2] == 594_833
    assert city[3] == pytest.approx(99 / 594_833 * 100_000)
    sq = geo.area_sq_miles(rd.strip("5"))
    assert d5[4] == pytest.approx(sq) and d5[5] == pytest.approx(d5[1] / sq)
    assert d5[3] == pytest.approx(d5[1] / 80_005 * 100_000)
    # equal-area, not degrees: the same strip in a local Lambert equal-area projection
    laea = geo.transform_geometry(rd.strip("5"), "EPSG:4326", geo.local_equal_area_crs(-87.9, 43.05))
    assert sq == pytest.approx(laea.area / geo.SQ_METRES_PER_SQ_MILE, rel=1e-3)
    assert 6.5 < sq < 7.5
    # the corridor states no population: the district density estimate, each district's people spread evenly (the
    # corridor's share of each strip's area, by shapely in lon/lat, times that district's population)
    want = sum((80_000 + int(d)) * rd.strip(d).intersection(rd.CSC).area / rd.strip(d).area for d in "1234567")
    assert csc[2] == pytest.approx(want, rel=1e-9) and csc[3] == pytest.approx(csc[1] / want * 100_000)
    assert csc[4] == pytest.approx(geo.area_sq_miles(rd.CSC))


# ---- clearance -------------------------------------------------------------------------------------------------------
def test_clearance_rates():
    ws = rd.base_workspace()
    x, y = rd.CSC.centroid.x, rd.CSC.centroid.y
    rows = [
        dict(occurred="2019-02-01", cleared=True, cleared_date="2019-03-01", clearance_type="arrest"),
        dict(occurred="2019-04-01", cleared=True, cleared_date="2019-05-01", clearance_type="exceptional",
             exceptional_code="B"),
        dict(occurred="2019-06-01", cleared=False),
        dict(occurred="2019-07-01", cleared=True, cleared_date="2019-10-15", clearance_type="arrest"),  # after as-of
        dict(occurred="2018-06-01", cleared=True, cleared_date="2019-01-20", clearance_type="arrest"),  # old case
        dict(occurred="2018-07-01", cleared=False),
    ]
    df = rd.offenses(rows, category="homicide", lon=x, lat=y, district="5")
    ws.set_frame("offenses", df)
    main, codes = clearance_table(ws, CSC_KEY, "ytd", AS_OF, measures=["homicide_clearance"])
    r = dict(zip(main.columns, main.rows[0]))
    assert r["Known in period"] == 4
    assert r["Cleared in period"] == 3  # Mar 1 and May 1 of this year's cases + the 2018 case cleared in January
    assert r["Clearance rate (UCR)"] == pytest.approx(0.75)
    assert (r["Cleared by arrest"], r["Cleared by exceptional means"]) == (2, 1)
    assert r["Cohort cleared by as-of"] == 2 and r["Cohort clearance rate"] == pytest.approx(0.5)
    assert (r["Cohort by arrest"], r["Cohort by exceptional means"]) == (1, 1)
    assert codes.row("B: Prosecution declined")[1] == 1 and codes.row("A: Death of offender")[1] == 0
    # the UCR rate can exceed 100%: in 2019 to January 31 no case is known yet one old case was cleared
    jan, _ = clearance_table(ws, CSC_KEY, ("2019-01-01", "2019-01-31"), AS_OF, measures=["homicide_clearance"])
    assert jan.rows[0][1:4] == [0, 1, None]
    assert jan.cell_marks == {}  # no rate (zero known), so nothing over 100% to explain


# ---- goals -----------------------------------------------------------------------------------------------------------
def _daily_homicides(start, end, every=1):
    days = pd.date_range(start, end, freq=f"{every}D")
    x, y = rd.CSC.centroid.x, rd.CSC.centroid.y
    return [dict(occurred=d + pd.Timedelta(hours=12), lon=x, lat=y) for d in days]


def test_goal_progress_and_projection():
    ws = rd.base_workspace()
    rows = _daily_homicides("2017-01-01", "2017-12-31") + _daily_homicides("2018-01-01", "2018-06-30", every=2)
    ws.set_frame("offenses", rd.offenses(rows, category="homicide", firearm=True, district="5"))
    g = Goal("Cut firearm violence 20%", "firearm_violent_crime", CSC_KEY, dt.date(2017, 1, 1),
             dt.date(2017, 12, 31), -0.20, dt.date(2018, 12, 31))
    p = goal_progress(ws, g, dt.date(2018, 6, 30))
    assert p.baseline_count == 365 and p.baseline_days == 365
    assert p.count_since_start == 91 and p.days_since_start == 181
    assert p.change_so_far == pytest.approx(91 / 181 - 1)
    assert p.progress == pytest.approx((91 / 181 - 1) / -0.20)
    assert p.projected_change is not None and p.projected_change < -0.4
    assert p.status == "on track"
    ws.meta["goals"] = [g.to_json()]
    assert goals_of(ws) == [g]
    t = goal_table(ws, as_of=dt.date(2018, 6, 30))
    row = dict(zip(t.columns, t.rows[0]))
    assert row["Status"].startswith("on track (projected −") and row["Status"].endswith("by 31 Dec 2018 vs −20% target)")
    assert row["Baseline count"] == 365 and row["Area"] == "Center Street Corridor"
    with pytest.raises(UserError, match="goal 'x': field 'deadline' is missing"):
        Goal.from_json({"name": "x", "measure": "homicides", "baseline_start": "2017-01-01",
                        "baseline_end": "2017-12-31", "target_change": -0.2})


def test_goal_missed_after_deadline():
    ws = rd.base_workspace()
    rows = _daily_homicides("2017-01-01", "2018-12-31")  # no change at all
    ws.set_frame("offenses", rd.offenses(rows, category="homicide", firearm=True, district="5"))
    g = Goal("g", "homicides", CSC_KEY, dt.date(2017, 1, 1), dt.date(2017, 12, 31), -0.2, dt.date(2018, 9, 30))
    p = goal_progress(ws, g, dt.date(2018, 12, 31))
    assert p.change_so_far == pytest.approx(0.0) and p.status == "missed"
    assert p.status_text == "missed at deadline (0% vs −20% target)" and p.progress == pytest.approx(0.0)
    assert p.projected_change == pytest.approx(0.0, abs=1e-9)


def test_goal_is_judged_on_the_level_reached_at_the_deadline():
    """Every day in the 2017 baseline and in 2018, every 2nd day in 2019; goal: -30% by 2019-12-31. The average since
    the start is down only 25% (the flat first year weighs it down), but the latest year is down 50%: met."""
    ws = rd.base_workspace()
    rows = (_daily_homicides("2017-01-01", "2018-12-31") + _daily_homicides("2019-01-01", "2019-12-31", every=2))
    ws.set_frame("offenses", rd.offenses(rows, category="homicide", firearm=True, district="5"))
    g = Goal("g", "homicides", CSC_KEY, dt.date(2017, 1, 1), dt.date(2017, 12, 31), -0.3, dt.date(2019, 12, 31))
    p = goal_progress(ws, g, dt.date(2020, 3, 1))
    assert p.days_since_start == 730 and p.count_since_start == 365 + 183
    assert p.change_so_far == pytest.approx(548 / 730 - 1)           # -24.9%: short of -30% on average
    assert p.latest_days == 365 and p.latest_change == pytest.approx(183 / 365 - 1)  # -49.9% in the latest year
    assert p.status == "met"
    g_hard = Goal("h", "homicides", CSC_KEY, dt.date(2017, 1, 1), dt.date(2017, 12, 31), -0.6, dt.date(2019, 12, 31))
    assert goal_progress(ws, g_hard, dt.date(2020, 3, 1)).status == "missed"
    t = goal_table(ws, [g], as_of=dt.date(2020, 3, 1))
    row = dict(zip(t.columns, t.rows[0]))
    assert row["Latest change"] == pytest.approx(183 / 365 - 1)
    # status and progress agree: met at the deadline with the level reached, progress over 100%
    assert row["Status"] == "met at deadline (−50% vs −30% target)"
    assert row["Progress to target"] == pytest.approx((183 / 365 - 1) / -0.3) and row["Progress to target"] > 1


# ---- concentration ---------------------------------------------------------------------------------------------------
def test_concentration_share_and_pai():
    ws = rd.base_workspace()
    inside = _daily_homicides("2019-01-01", "2019-01-10")  # 10 in the corridor
    ox, oy = rd.outside_areas("2").centroid.x, rd.outside_areas("2").centroid.y
    outside = [dict(occurred=pd.Timestamp("2019-02-01"), lon=ox, lat=oy)] * 30
    ws.set_frame("offenses", rd.offenses(inside + outside, category="homicide", district="5"))
    t = concentration_table(ws, CSC_KEY, "ytd", "2019-09-29", measures=["homicides"])
    row = dict(zip(t.columns, t.rows[0]))
    a_share = geo.area_sq_miles(rd.CSC) / geo.area_sq_miles(ws.city.geometry)
    assert (row["In area"], row["Citywide"]) == (10, 40)
    assert row["Share of city"] == pytest.approx(0.25)
    assert row["Share of city area"] == pytest.approx(a_share)
    assert row["PAI"] == pytest.approx(0.25 / a_share)
    c = concentration_curve(ws, "homicides", "ytd", "2019-09-29", cell_m=250)
    assert c.records == 40
    assert c.area_share_for(1.0) <= 2.0 / c.cells + 1e-9  # all 40 sit in at most two cells
    assert 0.95 < c.gini < 1.0


# ---- trends ----------------------------------------------------------------------------------------------------------
def test_trend_series_weekly_and_monthly():
    ws = rd.base_workspace()
    rows = _daily_homicides("2016-01-01", "2019-09-29")
    ws.set_frame("offenses", rd.offenses(rows, category="homicide", district="5"))
    w = trend_series(ws, "homicides", CSC_KEY, "W", "2019-09-29", years=5)
    assert w["period_start"].iloc[0] == pd.Timestamp("2018-12-31")  # the Monday of the week holding Jan 1
    assert w["period_end"].iloc[-1] == pd.Timestamp("2019-09-29")
    assert (w["this_year"] == 7).all() and (w["last_year"] == 7).all() and not w["partial"].any()
    assert (w["moving_avg"] == 7).all()
    # baseline: 2016-2018 are covered (3 years), 2014-2015 predate the data
    assert (w["baseline_years"].iloc[-5:] == 3).all() and (w["baseline_mean"].iloc[-5:] == 7).all()
    assert (w["baseline_low"].iloc[-5:] == 7).all()
    assert (w["rest_of_city"] == 0).all()
    m = trend_series(ws, "homicides", CSC_KEY, "M", "2019-09-15")
    assert len(m) == 9 and m["partial"].iloc[-1] and m["this_year"].iloc[-1] == 15
    assert m["last_year"].iloc[-1] == 15  # the same 15 days a year earlier
    assert m["this_year"].iloc[1] == 28 and m["last_year"].iloc[1] == 28
    # Feb 2016 had 29 days: a whole month compares with the whole month
    feb = trend_series(ws, "homicides", CSC_KEY, "M", "2017-03-31", years=1)
    assert feb["this_year"].iloc[1] == 28 and feb["last_year"].iloc[1] == 29
    city = trend_series(ws, "homicides", "citywide", "W", "2019-09-29")
    assert city["rest_of_city"].isna().all()


# ---- activity and partners -------------------------------------------------------------------------------------------
def test_partner_contributions():
    ws = rd.base_workspace()
    x, y = rd.CSC.centroid.x, rd.CSC.centroid.y
    act = pd.DataFrame([
        dict(agency="FBI", category="arrest", count=4), dict(agency="FBI", category="search_warrant", count=2),
        dict(agency="ATF", category="gun_recovery", count=5), dict(agency="MPD", category="arrest", count=7),
        dict(agency="MPD", category="firearm_arrest", count=1), dict(agency="USMS", category="arrest", count=3),
        dict(agency="MPD", category="community_meeting", count=1),
    ])
    act["occurred"] = pd.Timestamp("2019-05-01")
    act.loc[5, "occurred"] = pd.Timestamp("2018-05-01")
    act.loc[6, "occurred"] = pd.Timestamp("2017-12-01")  # the activity data reach back before last year's YTD
    act["lon"], act["lat"] = x, y
    act["record_id"] = [f"A{i}" for i in range(len(act))]
    act["incident_id"] = act["record_id"]
    act["load_id"] = 1
    ws.set_frame("activity", act)
    t = partner_contributions(ws, CSC_KEY, AS_OF)
    assert [r[0] for r in t.rows] == ["MPD", "FBI", "ATF", "Total"]
    c = t.columns
    assert t.row("MPD")[c.index("Arrests")] == 8 and t.row("MPD")[c.index("Firearm arrests")] == 1
    assert t.row("FBI")[c.index("Search warrants executed")] == 2
    assert t.row("Total")[c.index("Arrests")] == 12 and t.row("Total")[c.index("Gun recoveries")] == 5
    last = partner_contributions(ws, CSC_KEY, AS_OF, years_back=1)
    assert [r[0] for r in last.rows] == ["USMS", "Total"] and last.title.endswith("YTD 2018")
    tables = activity_partners(ws, CSC_KEY, AS_OF)
    assert [t.direction for t in tables[:2]] == ["activity", "crime"]  # activity, then complaints / use of force
    assert tables[0].row("Arrests")[tables[0].columns.index("YTD")] == 12
    assert tables[0].row("Arrests")[tables[0].columns.index("YTD prior")] == 3

"""The engine's share of the proof: the reports, run on the demo workspace, print the case study's figures."""
import datetime as dt

import pytest

from workstation.engine.analysis import analysis_for
from workstation.engine.periods import full_year
from workstation.reports.compstat import compstat_grid, records_behind
from workstation.reports.concentration import concentration_table
from workstation.reports.districts import district_tables, target_area_tables
from workstation.reports.history import part1_history
from workstation.reports.rates import clearance_table, peer_comparison, rates_table
from workstation.formatting import round_half_away, whole_percent

CSC = "target_area:Center Street Corridor"
CDE = "target_area:Capitol Drive East"


def pcts(values):
    return [whole_percent(v) for v in values]


def test_as_of_is_the_newest_record(demo_ws):
    assert analysis_for(demo_ws).default_as_of().date() == dt.date(2019, 9, 29)


def test_table1_from_the_demo(demo_ws):
    t = part1_history(demo_ws, CSC, baseline=(2007, 2015), current=2016)
    assert t.title == "Impacts—Part I Crime in Center Street Corridor (2007–2016)"
    years = {r[0]: r[1:10] for r in t.rows}
    assert years["Homicide"] == [19, 13, 10, 14, 14, 12, 12, 10, 15]
    assert years["Rape"] == [47, 45, 30, 25, 30, 29, 34, 30, 27]
    assert years["Robbery"] == [305, 340, 341, 346, 307, 286, 340, 307, 304]
    assert years["Aggravated Assault"] == [563, 552, 378, 380, 321, 474, 425, 423, 521]
    assert years["Burglary"] == [354, 405, 400, 467, 567, 523, 488, 422, 435]
    assert years["Auto Theft"] == [541, 449, 309, 325, 296, 302, 283, 281, 362]
    assert years["Theft"] == [1212, 1144, 1075, 1032, 1029, 811, 710, 622, 577]
    assert years["Violent Crime"] == [934, 950, 759, 765, 672, 801, 811, 770, 867]
    assert years["Property Crime"] == [2107, 1998, 1784, 1824, 1892, 1636, 1481, 1325, 1374]
    assert years["Total Crime"] == [3041, 2948, 2543, 2589, 2564, 2437, 2292, 2095, 2241]
    assert [round_half_away(r[10], 1) for r in t.rows] == [13.2, 33.0, 319.6, 448.6, 451.2, 349.8, 912.4, 814.3,
                                                            1713.4, 2527.8]
    assert [r[11] for r in t.rows] == [14, 29, 256, 447, 329, 321, 552, 746, 1202, 1948]
    assert pcts(r[12] for r in t.rows) == [6, -12, -20, 0, -27, -8, -40, -8, -30, -23]
    # the demo has one offense per incident, so the hierarchy rule gives the same table
    h = part1_history(demo_ws, CSC, baseline=(2007, 2015), current=2016, counting="hierarchy")
    assert [r[1:12] for r in h.rows] == [r[1:12] for r in t.rows]


def test_district_tables_from_the_demo(demo_ws):
    hom, nf = district_tables(demo_ws)  # as of the newest record, September 29, 2019
    assert hom.columns[1:] == ["2017 (Full Year)", "2018 (Full Year)", "2017 (YTD)", "2018 (YTD)", "2019 (YTD)",
                               "2017-19 (YTD % Change)", "2018-19 (YTD % Change)"]
    assert [r[0] for r in hom.rows] == ["1", "2", "3", "4", "5", "6", "7", "Total"]
    assert hom.row("Total")[1:6] == [119, 99, 91, 81, 71]
    assert pcts(hom.row("Total")[6:]) == [-22, -12]
    assert hom.row("5")[1:6] == [25, 39, 17, 30, 18] and pcts(hom.row("5")[6:]) == [6, -40]
    assert pcts(hom.column("2017-19 (YTD % Change)")) == [-50, 50, -18, -65, 6, 100, -42, -22]
    assert [r[0] for r in nf.rows] == ["1", "2", "3", "4", "5", "6", "7", "Unknown", "Total"]
    assert nf.row("Total")[1:6] == [558, 476, 452, 381, 315]
    assert pcts(nf.row("Total")[6:]) == [-30, -17]
    assert nf.row("1")[4:6] == [1, 6] and whole_percent(nf.row("1")[7]) == 500
    assert nf.row("Unknown")[1:6] == [6, 9, 3, 7, 3] and pcts(nf.row("Unknown")[6:]) == [0, -57]
    assert pcts(nf.column("2018-19 (YTD % Change)")) == [500, -60, -20, 8, 5, 25, -20, -57, -17]


def test_psp_areas_tables_from_the_demo(demo_ws):
    hom, nf = target_area_tables(demo_ws)
    assert hom.header_groups == [("Center Street Corridor", 1, 3), ("Capitol Drive East", 4, 6)]
    assert [r[0] for r in hom.rows] == ["3", "5", "7", "Total"]
    assert hom.row("Total")[1:3] == [11, 9] and whole_percent(hom.row("Total")[3]) == -18
    assert hom.row("Total")[4:6] == [7, 1] and whole_percent(hom.row("Total")[6]) == -86
    assert [r[1:3] for r in hom.rows[:3]] == [[4, 5], [5, 2], [2, 2]]
    assert hom.row("3")[4:7] == [0, 0, None]
    assert nf.row("Total")[1:3] == [54, 46] and whole_percent(nf.row("Total")[3]) == -15
    assert nf.row("Total")[4:6] == [17, 10] and whole_percent(nf.row("Total")[6]) == -41
    assert pcts(r[3] for r in nf.rows) == [-38, -35, 113, -15]


def test_gun_recovery_rates_from_the_demo(demo_ws):
    t = peer_comparison(demo_ws)
    assert t.rows[0][0] == "Lakeport (demo) (this workspace)"
    assert t.rows[0][2] == 2419 and round_half_away(t.rows[0][3], 2) == 406.67
    # the peer list's Milwaukee row has the demo city's own figures (it is calibrated to them): left out, said so
    assert [r[0] for r in t.rows[1:]] == ["Philadelphia", "Chicago", "Los Angeles", "New York City"]
    assert [round_half_away(r[3], 2) for r in t.rows[1:]] == [253.28, 246.48, 155.78, 43.83]
    assert any(n.startswith("Milwaukee is left out of the peer rows") for n in t.notes)
    city = rates_table(demo_ws, "gun_recoveries", "year:2016", area_keys=["citywide"]).rows[0]
    assert city[1] == 2419 and round_half_away(city[3], 2) == 406.67
    assert city[4] == pytest.approx(96.8, abs=0.05)  # equal-area square miles of the demo city
    eng = analysis_for(demo_ws)
    before, after = (eng.count("gun_recoveries", CSC, full_year(y)) for y in (2015, 2016))
    assert (before, after) == (234, 260) and whole_percent((after - before) / before) == 11


def test_corridor_concentration_from_the_demo(demo_ws):
    t = concentration_table(demo_ws, CSC, "year:2016", measures=["part1_violent", "priority_calls"])
    violent, priority = t.rows
    assert violent[3] > 0.10  # "more than 10 percent of the city's violent crime"
    assert whole_percent(priority[3]) == 11  # "and 11 percent of priority calls for service"
    assert violent[4] == pytest.approx(2.30 / 96.8, rel=0.01)


def test_clearance_since_2017_from_the_demo(demo_ws):
    main, _ = clearance_table(demo_ws, "citywide", ("2017-01-01", "2019-09-29"))
    cohort = {r[0]: r[7] for r in main.rows}
    assert whole_percent(cohort["Homicide clearance"]) == 85
    assert whole_percent(cohort["Non-fatal shooting clearance"]) == 49


def test_grid_cells_and_drill_through_on_the_demo(demo_ws):
    tables = compstat_grid(demo_ws, CSC)
    outcomes = tables[0]
    assert outcomes.title == "CompStat — Outcomes — Center Street Corridor"
    hom = dict(zip(outcomes.columns, outcomes.row("Homicides")))
    assert hom["YTD"] == 9  # the PSP Areas table: 9 homicides in the corridor, Jan 1 - Sep 29, 2019
    assert hom["YTD prior"] == 11
    checked = 0
    for table in tables:
        for (r, c), key in list(table.cell_keys.items())[::7]:
            cell = table.rows[r][c]
            if cell is None:
                continue
            df = records_behind(demo_ws, key["measure"], key["area"], key["window"], key["as_of"])
            want = df["count"].sum() if table.rows[r][0] in _SUMS else len(df)
            assert want == cell, (table.title, table.rows[r][0], table.columns[c])
            checked += 1
    assert checked > 20


_SUMS = {"Arrests", "Firearm arrests", "Gun recoveries", "NIBIN investigations", "Search warrants executed",
         "Drug seizures", "Proactive activity", "Community engagement", "Citizen complaints", "Use of force"}

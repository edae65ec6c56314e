"""Issue 9 "smaller things": years before a dataset's first record are blank (unknown, not 0) in Part I History,
Districts and Target Areas, as on the CompStat grid; a measure whose records carry no clearance field says
"no clearance data" instead of 0%.

The oracle is the full demo: cutting its records before a date changes nothing the records still cover, so every
covered cell must equal the full demo's, and every cell before the cut must be blank."""
from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from workstation.core import schema
from workstation.core.workspace import Workspace
from workstation.exports.workbook import export_workbook
from workstation.reports.districts import district_table, target_area_table
from workstation.reports.history import part1_history
from workstation.reports.rates import NO_CLEARANCE, clearance_table

CUT = pd.Timestamp("2016-03-10")  # the records "begin" here: 2016 is not covered (it starts more than a month before)
CORRIDOR = "target_area:Center Street Corridor"


def _from(demo_ws, cut=CUT, kinds=("offenses", "shootings")) -> Workspace:
    ws = Workspace()
    ws.meta = dict(demo_ws.meta)
    for k in schema.DATASET_KINDS:
        df = demo_ws.frames[k]
        ws.frames[k] = df[df["occurred"] >= cut].reset_index(drop=True) if k in kinds else df
    ws.areas = list(demo_ws.areas)
    return ws


@pytest.fixture(scope="module")
def late(demo_ws):
    return _from(demo_ws)


def test_part1_history_years_before_the_data_are_blank(demo_ws, late):
    full = part1_history(demo_ws, baseline=(2014, 2017), current=2018, as_of="2019-09-29")
    cut = part1_history(late, baseline=(2014, 2017), current=2018, as_of="2019-09-29")
    assert cut.columns == full.columns
    for f, c in zip(full.rows, cut.rows):
        assert c[1:4] == [None, None, None], c[0]          # 2014, 2015, 2016: before the records
        assert c[4] == f[4] and c[6] == f[6], c[0]        # 2017 and 2018 as in the full demo
        assert c[5] == pytest.approx(f[4])                # the average of the one covered year
        assert c[7] == pytest.approx((f[6] - f[4]) / f[4]) if f[4] else c[7] is None
    assert any("The offense records begin on March 10, 2016: years they do not cover" in n for n in cut.notes)
    # nothing before the data: no note, the same figures as before
    assert not any("records begin on" in n for n in full.notes)


def test_part1_history_ytd_shows_the_year_in_progress(demo_ws, late):
    kw = dict(baseline=(2015, 2018), current=2019, as_of="2019-09-29", ytd=True)
    full, cut = part1_history(demo_ws, **kw), part1_history(late, **kw)
    for f, c in zip(full.rows, cut.rows):
        assert c[1:3] == [None, None] and c[3:5] == f[3:5] and c[6] == f[6], c[0]


def test_districts_and_target_areas_before_the_data_are_blank(demo_ws, late):
    for measure in ("homicides", "nonfatal_shooting_victims"):
        full = district_table(demo_ws, measure, "2017-09-29")
        cut = district_table(late, measure, "2017-09-29")
        assert [r[0] for r in cut.rows] == [r[0] for r in full.rows]
        for f, c in zip(full.rows, cut.rows):
            # 2015 and 2016 full years, 2015 and 2016 YTD: blank; 2017 YTD as in the full demo; % changes blank
            assert c[1:] == [None, None, None, None, f[5], None, None], (measure, c)
        full_ta = target_area_table(demo_ws, measure, "2017-09-29", [CORRIDOR])
        cut_ta = target_area_table(late, measure, "2017-09-29", [CORRIDOR])
        for f, c in zip(full_ta.rows, cut_ta.rows):
            assert c[1:] == [None, f[2], None], (measure, c)
        assert any("blank: unknown, not zero" in n for n in cut_ta.notes)


def test_workbook_part1_history_and_districts_cells_are_empty(late, tmp_path):
    late.meta["part1_history"] = {"baseline": [2007, 2015], "current": 2016}
    path = export_workbook(late, tmp_path / "late.xlsx", as_of="2017-09-29")
    wb = openpyxl.load_workbook(path)
    rows = [[c.value for c in r] for r in wb["Part I History"].iter_rows()]
    start = next(i for i, r in enumerate(rows) if r[0] == "Impacts—Part I Crime in Citywide (2007–2016)")
    header = rows[start + 1]
    assert header[:2] == ["Crime", "2007"] and header[12] == "Average - 2016 % Change"
    homicide = rows[start + 2]
    assert homicide[0] == "Homicide" and homicide[1:13] == [None] * 12  # no 0 anywhere: every year predates the data
    rows = [[c.value for c in r] for r in wb["Districts"].iter_rows()]
    total = next(r for r in rows if r[0] == "Total")
    assert total[1:5] == [None, None, None, None] and isinstance(total[5], int)


def test_no_clearance_field_says_so(demo_ws):
    ws = _from(demo_ws, cut=pd.Timestamp("2019-01-01"))
    before = {r[0]: r for r in clearance_table(ws, "citywide", "ytd", "2019-09-29")[0].rows}
    s = ws.frames["shootings"].copy()
    s["cleared"], s["cleared_date"] = False, pd.NaT   # as a file without a clearance column imports
    ws.frames["shootings"] = s
    main, codes = clearance_table(ws, "citywide", "ytd", "2019-09-29")
    by = {r[0]: r for r in main.rows}
    shots = next(r for label, r in by.items() if "hooting" in label)
    assert shots[3] == NO_CLEARANCE and shots[7] == NO_CLEARANCE and shots[2] is None and shots[6] is None
    assert shots[1] == before[shots[0]][1] > 0  # the known count does not depend on the clearance fields
    offenses = [r for label, r in by.items() if r is not shots]
    assert offenses and all(isinstance(r[3], float) for r in offenses)  # the offenses still have their rates
    assert any("no clearance field" in n for n in main.notes)


def test_no_clearance_in_the_workbook(demo_ws, tmp_path):
    ws = _from(demo_ws, cut=pd.Timestamp("2019-01-01"))
    o = ws.frames["offenses"].copy()
    o["cleared"], o["cleared_date"], o["clearance_type"], o["exceptional_code"] = False, pd.NaT, None, None
    ws.frames["offenses"] = schema.conform(o, "offenses")
    path = export_workbook(ws, tmp_path / "nc.xlsx", as_of="2019-09-29", area_keys=["citywide"])
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(path)["Rates & Clearance"].iter_rows()]
    head = next(i for i, r in enumerate(rows) if r[0] == "Measure" and r[3] == "Clearance rate (UCR)")
    body = []
    for r in rows[head + 1:]:
        if r[0] is None or r[1] is None:
            break
        body.append(r)
    assert body
    rates = {r[0]: (r[3], r[7]) for r in body}
    offense_rows = [k for k in rates if "hooting" not in k]
    assert offense_rows and all(rates[k] == (NO_CLEARANCE, NO_CLEARANCE) for k in offense_rows)
    assert all(isinstance(v, float) for k, v in rates.items() if k not in offense_rows for v in v)


def test_live_boundary_figures_leave_a_year_before_the_data_blank(demo_ws, late):
    """The what-if panel's 'a year earlier' column follows the same rule on screen."""
    from workstation.whatif.engine import build_whatif

    corridor = demo_ws.area("Center Street Corridor", "target_area").geometry
    measures = ["homicides", "nonfatal_shooting_victims", "part1_violent"]
    full = build_whatif(demo_ws, "2017-09-29", measures).set_shape(corridor)
    cut = build_whatif(late, "2017-09-29", measures).set_shape(corridor)
    for f, c in zip(full.measures, cut.measures):
        # YTD a year earlier starts January 1, 2016, before the records (March 10, 2016): unknown
        assert c.window("ytd").prior is None and c.window("ytd").change is None
        assert c.window("ytd").current == f.window("ytd").current
        # the 28 days a year earlier (September 2016) are covered: as in the full demo
        assert c.window("28d").prior == f.window("28d").prior and f.window("ytd").prior is not None

"""The workbook's "Hot Spots & Displacement" sheet on the demo (issue 10), read back from the saved file: the top
hot-spot cells, the Knox tables (NRC highlight) and each target area's WDQ equal the core results computed here with
the defaults the sheet documents; every parameter is on the Notes sheet."""
from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pytest

from workstation.exports import spatial_sheet as ss
from workstation.exports.workbook import SHEET_ORDER, export_workbook

AS_OF = dt.date(2019, 9, 29)
SHEET = "Hot Spots & Displacement"


@pytest.fixture(scope="module")
def book(demo_ws, tmp_path_factory):
    path = tmp_path_factory.mktemp("spatial_wb") / "compstat.xlsx"
    export_workbook(demo_ws, path, as_of=AS_OF.isoformat())
    return openpyxl.load_workbook(path)


def find(sh, title):
    """(row, col) of the cell holding ``title`` in column A."""
    for r in range(1, sh.max_row + 1):
        if sh.cell(r, 1).value == title:
            return r
    raise AssertionError(f"{title!r} is not on the sheet")


def test_sheet_sits_between_shoot_review_and_trends(book):
    assert book.sheetnames == list(SHEET_ORDER)
    i = SHEET_ORDER.index(SHEET)
    assert SHEET_ORDER[i - 1] == "Shoot Review" and SHEET_ORDER[i + 1] == "Trends"


def test_top_hot_spot_cells_equal_the_core_result(book, demo_ws):
    from workstation.reports.spatial.hotspots import hotspot_analysis

    start, end = ss.default_window(AS_OF)
    assert (start, end) == (dt.date(2018, 9, 30), AS_OF)
    core = hotspot_analysis(demo_ws, "part1_violent", start, end, cell_ft=500, distance_ft=1500)
    top = core.top_cells(ss.TOP_CELLS)
    sh = book[SHEET]
    r0 = find(sh, f"Top {ss.TOP_CELLS} hot-spot cells — Part I violent crime")
    header = [sh.cell(r0 + 1, c).value for c in range(1, 10)]
    assert header == ["Rank", "Events in cell", "Gi* z-score", "p-value", "Confidence", "Density per sq mi",
                      "Centre latitude", "Centre longitude", "Nearest district"]
    for i, t in enumerate(top.itertuples(index=False)):
        row = [sh.cell(r0 + 2 + i, c) for c in range(1, 10)]
        assert row[0].value == i + 1 and row[1].value == t.count
        assert row[2].value == pytest.approx(round(t.gi_z, 2))
        assert row[3].value == pytest.approx(t.gi_p, rel=1e-12, abs=1e-300)
        assert row[3].number_format == ss.P_FORMAT           # shown as "< 0.0001" below that
        assert row[6].value == pytest.approx(t.lat, abs=1e-12) and row[6].number_format == "0.000000"
        assert row[7].value == pytest.approx(t.lon, abs=1e-12)
        assert row[8].value == t.district
        assert row[4].value == ss.BIN_TEXT[int(t.gi_bin)]
        assert row[4].fill.start_color.rgb[-6:] == ss.BIN_FILLS[int(t.gi_bin)]
    # the summary line counts the bins as the core does
    bins = core.bin_counts()
    text = " ".join(str(sh.cell(r, 1).value) for r in range(1, r0))
    assert f"{sum(v for k, v in bins.items() if k > 0):,} cells are hot spots ({bins[3]:,} at 99% confidence)" in text


def test_knox_tables_equal_the_core_result_with_the_nrc_highlight(book, demo_ws):
    from workstation.reports.spatial.near_repeat import near_repeat_analysis

    start, end = ss.default_window(AS_OF)
    core = near_repeat_analysis(demo_ws, "burglary", start, end, **ss.NR)
    sh = book[SHEET]
    for title, arr, digits in (("Knox ratio (observed / expected)", core.knox_ratio, 2),
                               ("Observed pairs", core.observed, 0),
                               ("Expected pairs (mean over the permutations)", core.expected, 1),
                               ("p-value", core.p_value, 6)):
        r0 = find(sh, f"Near repeat — {title}")
        assert [sh.cell(r0 + 1, c).value for c in range(1, len(core.time_bands) + 2)] == ["Distance"] + list(
            core.time_bands)
        for i, label in enumerate(core.distance_bands):
            assert sh.cell(r0 + 2 + i, 1).value == label
            for j in range(len(core.time_bands)):
                c = sh.cell(r0 + 2 + i, 2 + j)
                want = np.asarray(arr, float)[i, j]
                if not np.isfinite(want):
                    assert c.value is None
                else:
                    assert c.value == pytest.approx(round(float(want), digits), abs=10 ** -digits / 2)
                shaded = c.fill is not None and c.fill.fill_type == "solid" and \
                    c.fill.start_color.rgb[-6:] == ss.HIGHLIGHT_FILL
                assert shaded == bool(core.highlight[i, j]), (title, i, j)
    # the demo's burglaries repeat nearby within days: the first time band is highlighted at 0-400 ft
    assert core.highlight[1, 0] and core.knox_ratio[1, 0] >= 2.0


def test_wdq_of_each_target_area_equals_the_core_result(book, demo_ws):
    from workstation.reports.spatial.displacement import displacement

    sh = book[SHEET]
    for name in ("Center Street Corridor", "Capitol Drive East"):
        key = f"target_area:{name}"
        before, after, rule = ss.displacement_periods(demo_ws, key, AS_OF)
        core = displacement(demo_ws, key, "part1_violent", before=before, after=after, buffer_ft=1320)
        r0 = find(sh, f"Displacement — {name}: {before[0]} to {before[1]} against {after[0]} to {after[1]}")
        for i, part in enumerate(("target", "buffer", "control")):
            assert [sh.cell(r0 + 2 + i, c).value for c in (2, 3)] == [core.__dict__[part]["before"],
                                                                      core.__dict__[part]["after"]]
        r1 = find(sh, f"Weighted displacement quotient — {name}")
        got = [sh.cell(r1 + 2 + i, 2).value for i in range(4)]
        want = [core.success_measure, core.buffer_measure, core.wdq, core.total_net_effect]
        assert got == pytest.approx(want, rel=1e-12)
        texts = [str(sh.cell(r, 1).value) for r in range(1, sh.max_row + 1)]
        assert f"Interpretation ({name}): {core.interpretation}" in texts
    # the corridor: the strategy started on the goal's date (June 2016); the demo shows some displacement into the
    # quarter-mile ring, less than the fall in the corridor
    before, after, rule = ss.displacement_periods(demo_ws, "target_area:Center Street Corridor", AS_OF)
    assert (before, after) == ((dt.date(2015, 6, 1), dt.date(2016, 5, 31)), (dt.date(2016, 6, 1),
                                                                              dt.date(2017, 5, 31)))
    assert "strategy's start" in rule


def test_every_parameter_is_on_the_notes_sheet(book):
    sh = book["Notes"]
    r0 = find(sh, "Spatial analysis parameters (Hot Spots & Displacement sheet)")
    rows = {}
    r = r0 + 2
    while sh.cell(r, 1).value:
        rows[(sh.cell(r, 1).value, sh.cell(r, 2).value)] = sh.cell(r, 3).value
        r += 1
    assert rows[("Hot spots", "Cell size")] == "500 ft"
    assert rows[("Hot spots", "Distance band")] == "1,500 ft"
    assert rows[("Hot spots", "Period")] == "2018-09-30 to 2019-09-29"
    assert rows[("Hot spots", "FDR correction")] == "no"
    assert "default" in rows[("Hot spots", "Density bandwidth")]
    assert rows[("Near repeat", "Measure")] == "Burglary"
    assert rows[("Near repeat", "Permutations")] == "99" and rows[("Near repeat", "Random seed")] == "1"
    assert rows[("Near repeat", "Distance bands")].startswith("3 of 400 ft")
    assert rows[("Near repeat", "Time bands")].startswith("4 of 7 days")
    assert rows[("Displacement", "Center Street Corridor: buffer ring")] == "1,320 ft"
    assert rows[("Displacement", "Capitol Drive East: after")] == "2018-09-30 to 2019-09-29"
    assert "year to the as-of date" in rows[("Displacement", "Capitol Drive East: periods chosen as")]

"""Map pages for comparisons: two outlines apart in colour and line style (the first on top), a view fitted to both,
the fit handed to the page (which keeps the shapes clear of the legend), and legend classes of counts that do not
overlap."""
import json
import re

import pytest
import shapely

from tests.core.test_maps import with_districts
from tests.core.test_scenarios import AS_OF, CORRIDOR, east_shape
from tests.core.test_whatif import small_city
from workstation.maps import page as maps
from workstation.whatif import scenarios as sc


@pytest.fixture
def ws():
    w = with_districts(small_city())
    sc.add_scenario(w, "East", east_shape(), base="Corridor")
    return w


def test_the_comparison_map_draws_both_outlines_and_fits_them(ws):
    outlines = maps.compare_outlines(ws, CORRIDOR, "scenario:East")
    assert [o.label for o in outlines] == ["A: Corridor", "B: Scenario: East"]
    a, b = outlines
    assert a.dash is None and b.dash == "9 6" and a.colour != b.colour and b.weight > a.weight
    page = maps.build_map(ws, maps.MapOptions(area_key=CORRIDOR, as_of=AS_OF, choropleth=None, target_areas=False,
                                              scenarios=False, outlines=outlines))
    s, w, n, e = page.bounds
    union = shapely.union_all([ws.area("Corridor").geometry, east_shape()]).bounds
    assert (w, s, e, n) == pytest.approx(union)
    html = page.html
    # B's line is drawn first, A's over it; both casings come before both lines
    first_b, first_a = html.index('"dashArray": "9 6"'), html.index(f'"color": "{a.colour}", "dashArray": null')
    assert first_b < first_a
    assert html.count('"color": "#ffffff"') == 2 and html.rindex('"color": "#ffffff"') < first_b
    legend = "".join(page.legend)
    assert 0 < legend.index("A: Corridor") < legend.index("B: Scenario: East")     # the legend reads A, then B
    fit = re.search(r"PSP\.connect\(\w+, (\[\[.*?\]\])\);", html)
    assert fit is not None and sum(json.loads(fit.group(1)), []) == pytest.approx([s, w, n, e])


def test_count_classes_in_the_legend_do_not_overlap(ws):
    page = maps.build_map(ws, maps.MapOptions(as_of=AS_OF, window="all", choropleth="counts"))
    spans = re.findall(r"</span>([\d,.]+(?: – [\d,.]+)?)</div>", "".join(page.legend))
    assert spans, page.legend
    bounds = [[float(x.replace(",", "")) for x in sp.split(" – ")] for sp in spans]
    for (lo1, *hi1), (lo2, *_hi2) in zip(bounds, bounds[1:]):
        assert lo2 > (hi1[0] if hi1 else lo1)


def test_class_spans_of_counts_read_as_whole_numbers():
    # equal-count breaks fall between whole numbers: a class of counts still starts after the previous one ends
    spans = maps.class_spans([15, 21.4, 32.2, 44.8, 51], 1, "counts")
    assert spans == ["1 – 15", "16 – 21", "22 – 32", "33 – 44", "45 – 51"]
    assert maps.class_spans([8.0, 18.0], 8, "counts") == ["8", "9 – 18"]
    # rates to one decimal, rounded half away from zero as in every other view (workstation/formatting.py): 300.25
    # reads 300.3 here as in a workbook's one-decimal cell (Python's own formatting gives 300.2)
    assert maps.class_spans([120.5, 300.25], 80.0, "per_100k") == ["80.0 – 120.5", "120.5 – 300.3"]
    assert maps.class_spans([12.35, 1828.35], 0.25, "per_sq_mi") == ["0.3 – 12.4", "12.4 – 1,828.4"]
    # a district without a value (a rate without population or area) says so in its tooltip
    assert maps._fmt(None, "per_100k") == maps._fmt(float("nan"), "counts") == "n/a"

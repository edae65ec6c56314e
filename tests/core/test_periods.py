"""Period boundaries (docs/definitions.md "Periods and change") and the change rules every report uses."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workstation.engine import periods as P
from workstation.formatting import round_half_away, whole_percent
from workstation.reports.rules import change_flag, exact_p, flag_strength, pct_change, poisson_z

D = dt.date


# ---- windows -----------------------------------------------------------------------------------------------------
def test_week_to_date_runs_monday_through_as_of():
    w = P.week_to_date(D(2019, 9, 29))  # a Sunday
    assert (w.start, w.end, w.days) == (D(2019, 9, 23), D(2019, 9, 29), 7)
    w = P.week_to_date(D(2019, 9, 23))  # a Monday: one day
    assert (w.start, w.end, w.days) == (D(2019, 9, 23), D(2019, 9, 23), 1)
    w = P.week_to_date(D(2019, 9, 25))  # a Wednesday
    assert (w.start, w.end) == (D(2019, 9, 23), D(2019, 9, 25))


def test_week_to_date_can_start_in_the_previous_year():
    w = P.week_to_date(D(2020, 1, 1))  # Wednesday; its Monday is Dec 30
    assert (w.start, w.end) == (D(2019, 12, 30), D(2020, 1, 1))
    prior = w.shifted(1)
    assert (prior.start, prior.end) == (D(2018, 12, 30), D(2019, 1, 1))


def test_28_days_end_on_as_of():
    w = P.last_28_days(D(2019, 9, 29))
    assert (w.start, w.end, w.days) == (D(2019, 9, 2), D(2019, 9, 29), 28)
    w = P.last_28_days(D(2019, 1, 10))
    assert (w.start, w.end) == (D(2018, 12, 14), D(2019, 1, 10))


def test_year_to_date():
    w = P.year_to_date(pd.Timestamp("2019-09-29 23:59"))
    assert (w.start, w.end, w.days) == (D(2019, 1, 1), D(2019, 9, 29), 272)
    assert P.year_to_date(D(2019, 1, 1)).days == 1


def test_same_window_a_year_earlier_keeps_the_month_day_span():
    w = P.year_to_date(D(2019, 9, 29)).shifted(1)
    assert (w.start, w.end, w.years_back) == (D(2018, 1, 1), D(2018, 9, 29), 1)
    w2 = P.year_to_date(D(2019, 9, 29)).shifted(2)
    assert (w2.start, w2.end, w2.years_back) == (D(2017, 1, 1), D(2017, 9, 29), 2)
    assert P.last_28_days(D(2019, 9, 29)).shifted(1).start == D(2018, 9, 2)


def test_feb_29_folds_into_feb_28():
    assert P.same_day_years_earlier(D(2020, 2, 29), 1) == D(2019, 2, 28)
    assert P.same_day_years_earlier(D(2020, 2, 29), 4) == D(2016, 2, 29)  # a leap year keeps it
    ytd = P.year_to_date(D(2020, 2, 29)).shifted(1)
    assert (ytd.start, ytd.end, ytd.days) == (D(2019, 1, 1), D(2019, 2, 28), 59)
    # a window ending Feb 28 of a common year compares with Jan 1-Feb 28 of the leap year before: Feb 29 is outside
    w = P.year_to_date(D(2025, 2, 28)).shifted(1)
    assert (w.start, w.end) == (D(2024, 1, 1), D(2024, 2, 28))
    # 28 days ending Mar 1 of a common year: the same month-day span a year earlier holds Feb 29 (29 days)
    w = P.last_28_days(D(2021, 3, 1)).shifted(1)
    assert (w.start, w.end, w.days) == (D(2020, 2, 2), D(2020, 3, 1), 29)
    # a week starting on Feb 29
    wk = P.week_to_date(D(2024, 3, 2))  # Saturday; Monday is Feb 26
    assert wk.shifted(1).start == D(2023, 2, 26)
    assert P.custom(D(2024, 2, 29), D(2024, 3, 3)).shifted(1).start == D(2023, 2, 28)


def test_compstat_windows_and_parse():
    ws = P.compstat_windows(D(2019, 9, 29), 5)
    assert len(ws) == 18
    assert ws[("ytd", 5)].start == D(2014, 1, 1) and ws[("ytd", 5)].end == D(2014, 9, 29)
    assert P.parse_window("ytd-1", D(2019, 9, 29)) == ws[("ytd", 1)]
    assert P.parse_window("28D", D(2019, 9, 29)) == ws[("28d", 0)]
    assert P.parse_window("year:2018", None) == P.full_year(2018)
    assert P.parse_window((D(2019, 1, 5), "2019-01-07"), None).days == 3
    with pytest.raises(ValueError):
        P.parse_window("fortnight", D(2019, 9, 29))
    with pytest.raises(ValueError):
        P.custom(D(2019, 2, 1), D(2019, 1, 1))


# ---- day numbers ---------------------------------------------------------------------------------------------------
def test_day_numbers_are_unit_independent_and_floor_before_1970():
    s = pd.Series(pd.to_datetime(["1970-01-01 00:00", "1970-01-01 23:59", "1969-12-31 23:00", "2019-09-29 12:00",
                                  None]))
    want = [0, 0, -1, P.day_number(D(2019, 9, 29)), P.NAT_DAY]
    for unit in ("ns", "us", "ms", "s"):
        arr = s.to_numpy().astype(f"datetime64[{unit}]")
        assert P.day_numbers(arr).tolist() == want, unit
    assert P.date_of_day(P.day_number("2019-09-29")) == D(2019, 9, 29)


def test_window_day_bounds_match_searchsorted_counts():
    days = np.sort(P.day_numbers(pd.date_range("2018-12-25", "2019-01-10", freq="6h").to_numpy()))
    w = P.custom("2019-01-01", "2019-01-02")
    lo, hi = np.searchsorted(days, w.start_day, "left"), np.searchsorted(days, w.end_day, "right")
    assert hi - lo == 8  # two days of four readings


# ---- change rules ----------------------------------------------------------------------------------------------------
def test_pct_change_from_zero_is_undefined():
    assert pct_change(5, 0) is None
    assert pct_change(0, 0) is None
    assert pct_change(3, None) is None
    assert pct_change(0, 4) == -1.0
    assert pct_change(6, 1) == 5.0


@pytest.mark.parametrize("cur,prev,want", [
    (39, 40, -3), (17, 8, 113), (6, 1, 500), (14, 13.2, 6), (447, 448.6, 0), (9, 11, -18), (46, 54, -15),
    (1, 7, -86), (10, 17, -41), (3, 3, 0), (3, 7, -57), (71, 91, -22), (315, 452, -30),
])
def test_whole_percent_rounds_half_away_from_zero(cur, prev, want):
    assert whole_percent(pct_change(cur, prev)) == want


def test_round_half_away():
    assert round_half_away(2.5) == 3 and round_half_away(-2.5) == -3
    assert round_half_away(112.5) == 113 and round(112.5) == 112  # Python's round is half-to-even
    assert round_half_away(-2.5 / 100 * 100) == -3
    assert round_half_away(0.125, 2) == 0.13
    assert round_half_away(406.66876, 2) == 406.67
    assert round_half_away(-0.4) == 0.0 and str(round_half_away(-0.4)) == "0.0"  # never "-0"
    assert whole_percent(None) is None


def _brute_p(c: int, p: int) -> float:
    """Two-sided exact binomial p at ½ by brute force: the total probability of every outcome no likelier than C."""
    from fractions import Fraction
    from math import comb

    n = c + p
    pmf = [Fraction(comb(n, k), 2 ** n) for k in range(n + 1)]
    return float(sum(q for q in pmf if q <= pmf[c]))


def test_z_and_exact_flags():
    # z = √2·(√C − √P) (docs/definitions.md, corrected)
    assert poisson_z(9, 4) == pytest.approx(2 ** 0.5)
    assert poisson_z(4, 16) == pytest.approx(-2 * 2 ** 0.5)
    assert poisson_z(0, 0) == 0.0
    from scipy.stats import binomtest

    for c in range(0, 41):
        for p in range(0, 41):
            want = binomtest(c, c + p, 0.5).pvalue if c + p else 1.0
            assert exact_p(c, p) == pytest.approx(want, rel=1e-9, abs=1e-12), (c, p)
            assert exact_p(c, p) == pytest.approx(_brute_p(c, p), rel=1e-12), (c, p)
    for c, p in ((150, 190), (400, 330), (2000, 2150)):  # past the exact-integer range: the incomplete beta
        assert exact_p(c, p) == pytest.approx(binomtest(c, c + p, 0.5).pvalue, rel=1e-9)
    # the cases: 43 vs 58 has p = 0.16 and is not flagged; 1, 2, 3 vs 0 never are
    assert exact_p(43, 58) == pytest.approx(0.1633, abs=1e-4) and flag_strength(43, 58) == ""
    assert [flag_strength(k, 0) for k in (1, 2, 3, 4, 5)] == ["", "", "", "", ""]
    assert flag_strength(6, 0) == "notable" and flag_strength(0, 8) == "significant"  # p = 0.031, 0.0078
    assert change_flag(16, 4) == "notable rise"  # p = 0.012
    assert change_flag(20, 4) == "significant rise"  # p = 0.0015
    assert change_flag(4, 9) == "" and change_flag(3, 14) == "notable fall"  # p = 0.27 and 0.013
    assert change_flag(10, 9) == ""
    assert change_flag(9, 2, early_ytd=True) == "small counts early in the year"
    assert change_flag(40, 10, early_ytd=True) == "significant rise"  # not small: the flag stands

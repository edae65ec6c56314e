"""Qt-free value formatting and ordering used by every view (workstation/formatting.py)."""
import numpy as np
import pandas as pd

from workstation import formatting as F
from workstation.core import settings as S


def test_pct_change_rounds_half_away_from_zero_like_the_case_study():
    # docs/definitions.md: 40 -> 39 is -3% and 8 -> 17 is 113% (Python's round() gets both wrong)
    assert F.pct_change_text((39 - 40) / 40) == "-3%"
    assert F.pct_change_text((17 - 8) / 8) == "113%"
    assert F.pct_change_text((14 - 13.2) / 13.2) == "6%"
    assert F.pct_change_text((447 - 448.6) / 448.6) == "0%"   # never "-0%"
    assert F.pct_change_text((6 - 1) / 1) == "500%"
    assert F.pct_change_text(None) == ""                     # zero base: blank
    assert F.pct_change_text(float("inf")) == ""


def test_format_value_by_report_kind():
    assert F.format_value(2419, "count") == "2,419"
    assert F.format_value(2419 / 594833 * 100000, "rate") == "406.67"
    assert F.format_value(448.6, "decimal1") == "448.6"
    assert F.format_value(0.104, "pct") == "10.4%"
    assert F.format_value(2.25, "z") == "+2.3"
    assert F.format_value(-3.0, "z") == "-3.0"
    assert F.format_value(pd.Timestamp("2019-09-29"), "date") == "2019-09-29"
    assert F.format_value(float("nan"), "count") == ""
    assert F.format_value("=1+1", "text") == "=1+1"


def test_change_class_follows_direction():
    assert F.change_class(0.2, "pct_change", "crime") == "bad"
    assert F.change_class(-0.2, "pct_change", "crime") == "good"
    assert F.change_class(0.2, "pct_change", "activity") == "good"
    assert F.change_class(0.004, "pct_change", "crime") == ""   # rounds to 0%
    assert F.change_class(None, "pct_change") == ""


def _records():
    return pd.DataFrame({
        "occurred": pd.to_datetime(["2016-05-02 13:45:00", None, "2016-05-01 00:00:00"]).astype("datetime64[ns]"),
        "category": pd.Categorical(["robbery", None, "burglary"]),
        "lat": [43.07041234, np.nan, 43.1],
        "count": np.array([1200, 3, 40], dtype="int64"),
        "firearm": [True, False, True],
        "address": pd.Series(["2846 N 1ST ST", None, "100 W MAIN"], dtype="str"),
    })


def test_format_block_reads_positions_without_touching_the_frame():
    df = _records()
    before = df.copy()
    assert F.format_block(df["occurred"], np.array([2, 1, 0])) == ["2016-05-01", "", "2016-05-02 13:45"]
    assert F.format_block(df["category"], np.array([0, 1, 2])) == ["robbery", "", "burglary"]
    assert F.format_block(df["lat"], np.array([0, 1])) == ["43.07041", ""]
    assert F.format_block(df["count"], np.array([0])) == ["1,200"]
    assert F.format_block(df["firearm"], np.array([1, 0])) == ["No", "Yes"]
    assert F.format_block(df["address"], np.array([1, 0])) == ["", "2846 N 1ST ST"]
    pd.testing.assert_frame_equal(df, before)


def test_argsort_rows_keeps_missing_last_both_ways():
    df = _records()
    assert F.argsort_rows(df["occurred"]).tolist() == [2, 0, 1]
    assert F.argsort_rows(df["occurred"], ascending=False).tolist() == [0, 2, 1]
    assert F.argsort_rows(df["category"]).tolist() == [2, 0, 1]
    assert F.argsort_rows(df["address"], ascending=False).tolist() == [0, 2, 1]
    assert F.argsort_rows(df["address"]).tolist() == [2, 0, 1]
    assert F.argsort_rows(df["count"], ascending=False).tolist() == [0, 2, 1]


def test_match_rows_searches_text_as_shown():
    df = _records()
    assert F.match_rows(df, list(df.columns), "main").tolist() == [False, False, True]
    assert F.match_rows(df, list(df.columns), "2016-05-02").tolist() == [True, False, False]
    assert F.match_rows(df, list(df.columns), "ROBB").tolist() == [True, False, False]
    assert F.match_rows(df, ["firearm"], "yes").tolist() == [True, False, True]


def test_settings_migrate_and_coerce():
    old = {"recent_files": '["/a.psw"]', "general/reopen_last": "false"}
    new = S.migrate(old, 1)
    assert S.coerce("workspace/recent", new["workspace/recent"]) == ["/a.psw"]
    assert S.coerce("workspace/reopen_last", new["workspace/reopen_last"]) is False
    assert S.coerce("workspace/autosave_seconds", "30") == 30
    assert S.coerce("workspace/recent", None) == []
    recent = S.add_recent(["/x/a.psw", "/x/b.psw"], "/x/b.psw")
    assert recent == ["/x/b.psw", "/x/a.psw"]
    assert len(S.add_recent([f"/x/{i}.psw" for i in range(20)], "/y.psw")) == S.RECENT_MAX

"""Issue 9 item 7: every export works on every partial workspace.

Workspaces built from a small random subset of the demo (some datasets, a date range, with or without coordinates,
districts, target areas, clearance fields, goals) export the full workbook and the meeting packet (PDF); the workbook
opens with openpyxl, has every sheet, nothing Excel would repair, the record counts of the Notes sheet and the shoot review's rows as computed here
with plain pandas. Named cases from the issue come first (offenses without a homicide or a shooting crashed with
"'>=' not supported between ... ndarray and Timestamp")."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.core import schema
from workstation.core.errors import UserError
from workstation.core.workspace import Workspace
from workstation.exports.checks import audit_workbook
from workstation.exports.packet import export_outputs
from workstation.exports.workbook import SHEET_ORDER, export_workbook

FIRST_DAY = pd.Timestamp("2007-01-01")
LAST_DAY = pd.Timestamp("2019-09-29")
DATED = [k for k in schema.DATASET_KINDS if k != "people"]


@pytest.fixture(scope="module")
def small_demo(demo_ws):
    """About 3% of the demo's records (every dataset), so that one export takes about a second."""
    frames = {k: df.sample(frac=0.03, random_state=7).sort_index() if len(df) else df
              for k, df in demo_ws.frames.items()}
    return demo_ws, frames


def subset(small_demo, keep, start, end, *, no_coords=(), no_clearance=(), no_district_column=(),
           area_kinds=("city", "district", "target_area", "scenario"), goals=True, history_setting=True):
    demo, frames = small_demo
    ws = Workspace()
    ws.meta = {k: v for k, v in demo.meta.items()
               if (goals or k != "goals") and (history_setting or k != "part1_history")}
    for kind in schema.DATASET_KINDS:
        df = frames[kind] if kind in keep else schema.empty_frame(kind)
        df = df[(df["occurred"] >= start) & (df["occurred"] < end + pd.Timedelta(days=1))].copy()
        if kind in no_coords:
            df["lat"], df["lon"] = np.nan, np.nan
        if kind in no_clearance and "cleared" in df:
            df["cleared"] = False
            for c in ("cleared_date", "clearance_type", "exceptional_code"):
                if c in df:
                    df[c] = None
        if kind in no_district_column and "district" in df:
            df["district"] = None
        ws.frames[kind] = schema.conform(df, kind)
    ws.areas = [a for a in demo.areas if a.kind in area_kinds]
    return ws


def sheet_rows(path, sheet):
    return [[c.value for c in r] for r in openpyxl.load_workbook(path, read_only=True)[sheet].iter_rows()]


def expected_shoot_review_rows(ws, as_of: dt.date) -> int:
    """Shooting incidents, and homicide incidents that are not shooting incidents, first dated in the seven days
    ending on the as-of date (computed here from the frames)."""
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    start = end - pd.Timedelta(days=7)
    s = ws.frames["shootings"]
    first = s.groupby("incident_id", observed=True)["occurred"].min()
    n = int(((first >= start) & (first < end)).sum())
    o = ws.frames["offenses"]
    h = o[(o["category"] == "homicide") & ~o["incident_id"].isin(set(s["incident_id"]))]
    hfirst = h.groupby("incident_id", observed=True)["occurred"].min()
    return n + int(((hfirst >= start) & (hfirst < end)).sum())


def check_workbook(ws, path, as_of: dt.date) -> None:
    wb = openpyxl.load_workbook(path)
    assert [s for s in wb.sheetnames if s in SHEET_ORDER] == list(SHEET_ORDER)
    assert audit_workbook(path) == []
    notes = [r[0] for r in sheet_rows(path, "Notes") if isinstance(r[0], str)]
    for kind in DATED:
        df = ws.frames[kind]
        if len(df):
            newest = df["occurred"].max()
            assert f"{kind.capitalize()}: {len(df):,} records, newest dated {newest:%Y-%m-%d}." in notes
    kinds = [r[1] for r in sheet_rows(path, "Shoot Review") if len(r) > 1]
    if len(ws.frames["shootings"]) or len(ws.frames["offenses"]):
        got = sum(k in ("Shooting", "Fatal shooting", "Homicide") for k in kinds)
        assert got == expected_shoot_review_rows(ws, as_of)


def check_packet(ws, pdf) -> None:
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=120).stdout
        assert ws.meta["city"] in text


def export_and_check(ws, tmp_path, as_of=None, pdf: bool = True, **kw):
    """The workbook and, from the same analysis, the meeting packet (PDF): every export of the export command."""
    xlsx = tmp_path / "partial.xlsx"
    packet = tmp_path / "partial.pdf" if pdf else None
    written = export_outputs(ws, xlsx=xlsx, pdf=packet, as_of=as_of, **kw)
    assert written == [xlsx] + ([packet] if pdf else [])
    check_workbook(ws, xlsx, as_of or ws.as_of().date())
    if pdf:
        check_packet(ws, packet)
    return xlsx


ALL = set(schema.DATASET_KINDS)


def test_offenses_without_homicides_or_shootings(small_demo, tmp_path):
    ws = subset(small_demo, {"offenses"}, pd.Timestamp("2018-01-01"), LAST_DAY)
    o = ws.frames["offenses"]
    ws.frames["offenses"] = o[o["category"] != "homicide"].reset_index(drop=True)
    path = export_and_check(ws, tmp_path)
    rows = sheet_rows(path, "Shoot Review")
    assert any(r[0] == "No shootings or homicides in these days." for r in rows)
    assert any(isinstance(r[0], str) and r[0].startswith("Impacts—Part I Crime") for r in
               sheet_rows(path, "Part I History"))


@pytest.mark.parametrize("keep", [{"calls"}, {"activity"}, {"shootings"}, {"calls", "activity", "people"}])
def test_only_one_kind_of_data(small_demo, tmp_path, keep):
    ws = subset(small_demo, keep, pd.Timestamp("2017-01-01"), LAST_DAY)
    path = export_and_check(ws, tmp_path)
    if "offenses" not in keep:
        assert ["No offense records are loaded, so there is no Part I history."] in \
            [r[:1] for r in sheet_rows(path, "Part I History")]


def test_one_day_of_data(small_demo, demo_ws, tmp_path):
    day = pd.Timestamp("2019-09-27")
    ws = subset((demo_ws, demo_ws.frames), ALL, day, day)  # the whole demo's day: every dataset has records
    assert all(len(ws.frames[k]) for k in DATED)
    export_and_check(ws, tmp_path)


def test_no_coordinates_and_no_geography(small_demo, tmp_path):
    ws = subset(small_demo, ALL, pd.Timestamp("2018-06-01"), LAST_DAY, no_coords=ALL, area_kinds=())
    path = export_and_check(ws, tmp_path)
    areas = [r[0] for r in sheet_rows(path, "Summary") if r and r[1] in ("City", "District", "Target area")]
    assert areas == ["Citywide"]


def test_no_districts_and_no_district_column(small_demo, tmp_path):
    ws = subset(small_demo, ALL, pd.Timestamp("2018-06-01"), LAST_DAY, no_district_column=ALL,
                area_kinds=("city", "target_area"))
    export_and_check(ws, tmp_path)


def test_goal_of_a_removed_area_and_history_setting_after_the_as_of_year(small_demo, tmp_path):
    ws = subset(small_demo, ALL, pd.Timestamp("2013-01-01"), pd.Timestamp("2014-12-31"), area_kinds=("district",))
    path = export_and_check(ws, tmp_path)
    summary = sheet_rows(path, "Summary")
    card = next(i for i, r in enumerate(summary) if r[0] == "Goal" and str(r[1]).startswith("PSP goal"))
    status = next(r for r in summary[card:] if r[0] == "Status")  # the goal card: a row per figure
    assert status[1] == "area not in this workspace"
    history = [r[0] for r in sheet_rows(path, "Part I History") if isinstance(r[0], str)]
    assert any("compares 2016 with 2007-2015, but the as-of date is in 2014" in t for t in history)
    # the default years instead: 2014 (complete on December 31) against the years the data cover before it
    assert "Impacts—Part I Crime in Citywide (2013–2014)" in history


def test_a_workspace_without_dated_records_says_so(small_demo, tmp_path):
    ws = subset(small_demo, {"people"}, FIRST_DAY, LAST_DAY)
    with pytest.raises(UserError, match="no dated records"):
        export_workbook(ws, tmp_path / "none.xlsx")
    assert not (tmp_path / "none.xlsx").exists()


@st.composite
def partial_workspaces(draw):
    keep = draw(st.sets(st.sampled_from(schema.DATASET_KINDS)))
    first = draw(st.integers(0, (LAST_DAY - FIRST_DAY).days))
    length = draw(st.sampled_from([0, 1, 6, 30, 120, 400, 1500, 5000]))
    start = FIRST_DAY + pd.Timedelta(days=first)
    end = min(LAST_DAY, start + pd.Timedelta(days=length))
    some = st.sets(st.sampled_from(DATED))
    spec = dict(keep=keep, start=start, end=end, no_coords=draw(some), no_clearance=draw(some),
                no_district_column=draw(some),
                area_kinds=tuple(draw(st.sets(st.sampled_from(["city", "district", "target_area", "scenario"])))),
                goals=draw(st.booleans()), history_setting=draw(st.booleans()))
    as_of = draw(st.one_of(st.none(), st.dates(dt.date(2006, 6, 1), dt.date(2019, 12, 31))))
    return spec, as_of, draw(st.booleans()), draw(st.booleans())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(case=partial_workspaces())
def test_every_partial_workspace_exports(small_demo, tmp_path_factory, case):
    spec, as_of, districts_too, with_scenario = case
    ws = subset(small_demo, **spec)
    if as_of is None and not any(len(ws.frames[k]) for k in DATED):
        with pytest.raises(UserError, match="no dated records"):
            export_workbook(ws, tmp_path_factory.mktemp("p") / "x.xlsx")
        return
    from workstation.engine import areas as area_mod

    keys = None
    if districts_too:  # the areas an analyst may pick: citywide, districts and target areas
        keys = [area_mod.CITYWIDE] + [area_mod.area_key(a) for a in ws.districts + ws.target_areas]
    scenario = ws.scenarios[0].name if with_scenario and ws.scenarios else None
    export_and_check(ws, tmp_path_factory.mktemp("p"), as_of=as_of, area_keys=keys, scenario=scenario)

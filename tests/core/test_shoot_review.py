"""The weekly shoot review: rows, prior shootings at known distances and dates, people, scores, weights, workbook."""
import json

import openpyxl
import pytest

from shoot_review_data import EXPECTED, NASTY_ADDRESS, shoot_review_workspace
from workstation.core.errors import UserError
from workstation.reports.shoot_review import (META_KEY, check_weights, default_weights, formula_text, load_defaults,
                                              save_weights, shoot_review, shoot_review_frame)


@pytest.fixture(scope="module")
def ws():
    return shoot_review_workspace()


def test_rows_priors_people_and_scores(ws):
    t = shoot_review(ws, as_of="2019-09-29")
    assert t.column("Incident") == ["S-A", "H-1", "S-AFTER", "S-N"]  # highest score first
    for r in t.rows:
        kind, victims, fatal, prior, linked, repeat, area, score = EXPECTED[r[0]]
        got = dict(zip(t.columns, r))
        assert (got["Kind"], got["Victims"], got["Fatal"], got["Non-fatal"]) == (kind, victims, fatal, victims - fatal)
        assert (got["Prior shootings"], got["People linked"], got["Repeat people"]) == (prior, linked, repeat), r[0]
        assert got["Target area"] == area and got["Impact score"] == score, r[0]
    a = t.row("S-A")
    assert str(a[2]) == "2019-09-27" and a[3] == "20:00" and a[5] == "District 5"
    assert t.row("H-1")[5] == "District 1" and t.row("S-N")[5] == "District 3"
    # the formula with the weights used, and why a blank is blank
    assert t.notes[0] == ("Impact score = 5 × fatal victims + 2 × victims + 0.5 × prior shootings + 1 × repeat "
                          "people + 2 × in a target area.")
    assert any("2019-09-23 through 2019-09-29" in n for n in t.notes)
    assert any("blank for incidents without coordinates" in n for n in t.notes)


def test_window_edges(ws):
    # a day later the window is 24–30 Sep: S-A and H-1 (24 Sep 03:00) stay, S-OLD never enters
    assert set(shoot_review(ws, as_of="2019-09-30").column("Incident")) == {"S-A", "H-1", "S-AFTER", "S-N"}
    # as of 27 Sep with 3 days: 25–27 Sep holds only S-A (20:00 on the last day counts)
    assert shoot_review(ws, as_of="2019-09-27", days=3).column("Incident") == ["S-A"]
    # as of 23 Sep, one day: nothing (S-OLD is 22 Sep 23:59)
    t = shoot_review(ws, as_of="2019-09-23", days=1)
    assert t.rows == [] and any("No shootings or homicides" in n for n in t.notes)


def test_radius_and_period(ws):
    wide = shoot_review(ws, as_of="2019-09-29", radius_m=420)
    assert wide.row("S-A")[10] == 4  # P2 at 410 m now inside
    assert wide.row("S-AFTER")[10] == 3  # P2 is 413 m from S-AFTER
    longer = shoot_review(ws, as_of="2019-09-29", prior_days=366)
    assert longer.row("S-A")[10] == 4  # P3, 365 days and one hour before, now inside
    assert any("within 420 m in the 365 days" in n for n in wide.notes)


def test_weights_change_the_order(ws):
    w = {"fatal": 0, "victims": 0, "prior_shootings": 0, "repeat_people": 0, "target_area": 0}
    t = shoot_review(ws, as_of="2019-09-29", weights=dict(w, repeat_people=10))
    assert t.column("Incident")[:2] == ["S-A", "H-1"] and t.column("Impact score")[:2] == [20.0, 10.0]
    t = shoot_review(ws, as_of="2019-09-29", weights=dict(w, victims=1.25, target_area=3))
    assert t.column("Impact score") == [5.5, 4.25, 1.25, 1.25]
    assert t.column("Incident")[:2] == ["S-A", "S-AFTER"]
    assert t.notes[0].startswith("Impact score = 0 × fatal victims + 1.25 × victims")


@pytest.mark.parametrize("weights, field", [
    ({"fatal": "high"}, "fatal"),
    ({"fatal": -1}, "fatal"),
    ({"victims": float("nan")}, "victims"),
    ({"target_area": True}, "target_area"),
    ({"shots": 1}, "shots"),
])
def test_wrong_weight_names_the_field(ws, weights, field):
    full = dict(load_defaults()["weights"], **weights)
    with pytest.raises(UserError, match=f"'{field}'"):
        shoot_review(ws, as_of="2019-09-29", weights=full)


def test_missing_weight_names_the_field():
    with pytest.raises(UserError, match="'repeat_people' is missing"):
        check_weights({"fatal": 1, "victims": 1, "prior_shootings": 1, "target_area": 1})


def test_workspace_weights_come_before_the_resource_file():
    ws = shoot_review_workspace()
    assert default_weights(ws) == load_defaults()["weights"] == {
        "fatal": 5.0, "victims": 2.0, "prior_shootings": 0.5, "repeat_people": 1.0, "target_area": 2.0}
    mine = {"fatal": 10, "victims": 1, "prior_shootings": 0, "repeat_people": 0, "target_area": 0}
    save_weights(ws, mine)
    assert ws.meta[META_KEY] == {k: float(v) for k, v in mine.items()}
    assert shoot_review(ws, as_of="2019-09-29").column("Impact score") == [12.0, 11.0, 1.0, 1.0]
    ws.meta[META_KEY] = {"fatal": "x"}
    with pytest.raises(UserError, match=f"workspace setting '{META_KEY}'"):
        shoot_review(ws, as_of="2019-09-29")


def test_weights_survive_save_and_open(tmp_path):
    from workstation.core.workspace import Workspace

    ws = shoot_review_workspace()
    save_weights(ws, {"fatal": 7, "victims": 1, "prior_shootings": 0.25, "repeat_people": 0, "target_area": 0})
    back = Workspace.open(ws.save(tmp_path / "w.psw"))
    assert default_weights(back)["prior_shootings"] == 0.25
    assert "7 × fatal victims" in formula_text(default_weights(back))


def test_bad_settings_file_names_the_field(tmp_path):
    p = tmp_path / "sr.json"
    p.write_text(json.dumps({"weights": {"fatal": 1, "victims": 1, "prior_shootings": 1, "repeat_people": 1,
                                         "target_area": "lots"}}))
    with pytest.raises(UserError, match="sr.json.*'target_area'"):
        load_defaults(p)
    p.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_defaults(p)


def test_frame_matches_table(ws):
    df = shoot_review_frame(ws, as_of="2019-09-29")
    t = shoot_review(ws, as_of="2019-09-29")
    assert list(df["Incident"]) == t.column("Incident")
    assert list(df["Impact score"]) == t.column("Impact score")


def test_workbook_sheet_keeps_a_formula_like_address_as_text(tmp_path):
    from workstation.exports.workbook import SHEET_ORDER, export_workbook

    ws = shoot_review_workspace(address_a=NASTY_ADDRESS)
    path = export_workbook(ws, tmp_path / "sr.xlsx", as_of="2019-09-29")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(SHEET_ORDER)
    assert SHEET_ORDER.index("Shoot Review") == SHEET_ORDER.index("Activity & Partners") + 1
    assert SHEET_ORDER.index("Hot Spots & Displacement") == SHEET_ORDER.index("Shoot Review") + 1
    assert SHEET_ORDER.index("Trends") == SHEET_ORDER.index("Hot Spots & Displacement") + 1
    sh = wb["Shoot Review"]
    rows = [[c for c in r] for r in sh.iter_rows()]
    header_i = next(i for i, r in enumerate(rows) if r[0].value == "Incident")
    header = [c.value for c in rows[header_i]]
    body = rows[header_i + 1: header_i + 5]
    assert [r[0].value for r in body] == ["S-A", "H-1", "S-AFTER", "S-N"]
    addr = body[0][header.index("Address")]
    assert addr.value == NASTY_ADDRESS and addr.data_type == "s"
    assert [r[header.index("Impact score")].value for r in body] == [14.5, 8, 5, 2]
    assert body[3][header.index("Prior shootings")].value is None
    texts = [c.value for r in sh.iter_rows() for c in r if isinstance(c.value, str)]
    assert any(t.startswith("Impact score = 5 × fatal victims") for t in texts)


def test_demo_week_is_plausible(demo_ws):
    t = shoot_review(demo_ws)  # the demo's newest record: 2019-09-29
    assert t.title.endswith("23 Sep – 29 Sep 2019")
    n_incidents = demo_ws.frames["shootings"].query(
        "occurred >= '2019-09-23' and occurred < '2019-09-30'")["incident_id"].nunique()
    kinds = t.column("Kind")
    assert sum(k != "Homicide" for k in kinds) == n_incidents and 5 <= n_incidents <= 40
    scores = t.column("Impact score")
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert all(p is not None for p in t.column("Prior shootings"))  # every demo shooting has coordinates
    assert sum(t.column("People linked")) > 0

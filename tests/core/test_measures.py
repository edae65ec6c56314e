"""The measure catalog: the default covers the case study's outcomes and activities; mistakes name entry and field."""
import copy
import json

import pandas as pd
import pytest

from workstation.engine import measures as M
from workstation.core.errors import UserError
from workstation.core.workspace import Workspace

# Every outcome and activity the case study's CompStat lists, by the id the default catalog gives it.
CASE_STUDY_MEASURES = {
    "homicides": "offenses", "nonfatal_shooting_victims": "shootings", "nonfatal_shooting_incidents": "shootings",
    "part1_violent": "offenses", "part1_property": "offenses", "part1_total": "offenses",
    "firearm_violent_crime": "offenses", "shotspotter_activations": "calls", "carjackings": "offenses",
    "disorder_calls": "calls", "arrests": "activity", "gun_recoveries": "activity",
    "nibin_investigations": "activity", "search_warrants": "activity", "drug_seizures": "activity",
    "proactive_activity": "activity", "community_engagement": "activity", "complaints": "activity",
    "use_of_force": "activity",
}


def _doc():
    return json.loads(M.DEFAULT_CATALOG.read_text(encoding="utf-8"))


def test_default_catalog_covers_the_case_study():
    cat = M.load_catalog()
    for mid, dataset in CASE_STUDY_MEASURES.items():
        assert cat.get(mid).dataset == dataset, mid
    assert cat.get("nonfatal_shooting_victims").count == "records"
    assert cat.get("nonfatal_shooting_incidents").count == "incidents"
    assert cat.get("firearm_violent_crime").flags == (("firearm", True),)
    assert set(cat.get("part1_violent").categories) == {"homicide", "rape", "robbery", "aggravated_assault"}
    assert cat.get("complaints").direction == "crime" and cat.get("arrests").direction == "activity"
    clear = {m.of for m in cat.clearances()}
    assert {"homicides", "nonfatal_shooting_incidents"} <= clear
    # round trip through JSON gives the same catalog
    again = M.parse_catalog(cat.to_json())
    assert [m for m in again] == [m for m in cat]


def test_measure_select_and_definition():
    df = pd.DataFrame({"category": ["robbery", "robbery", "burglary", "homicide"],
                       "firearm": [True, False, True, True]})
    m = M.load_catalog().get("firearm_violent_crime")
    assert m.select(df).tolist() == [True, False, False, True]
    assert "firearm is true" in m.definition()


def _error(doc) -> str:
    with pytest.raises(UserError) as exc:
        M.parse_catalog(doc, source="test catalog")
    return str(exc.value)


def _with(mid, **changes):
    doc = _doc()
    for e in doc["measures"]:
        if e["id"] == mid:
            for k, v in changes.items():
                if v is None:
                    e.pop(k, None)
                else:
                    e[k] = v
    return doc


def test_wrong_dataset_names_entry_and_field():
    msg = _error(_with("homicides", dataset="offences"))
    assert "measure 'homicides'" in msg and "field 'dataset'" in msg and "offenses, shootings, calls, activity" in msg
    assert "'offences'" in msg


@pytest.mark.parametrize("mid,changes,field,words", [
    ("homicides", {"categories": ["murder"]}, "categories", "'murder'"),
    ("firearm_violent_crime", {"flags": {"gun": True}}, "flags", "'gun'"),
    ("firearm_violent_crime", {"flags": {"firearm": "yes"}}, "flags", "true or false"),
    ("homicides", {"count": "sum_count"}, "count", "activity"),
    ("homicides", {"count": "victims"}, "count", "records, incidents"),
    ("homicides", {"direction": "up"}, "direction", "crime, activity"),
    ("arrests", {"agencies": []}, "agencies", "non-empty"),
    ("homicides", {"agencies": ["FBI"]}, "agencies", "activity"),
    ("homicides", {"grid": "yes"}, "grid", "true or false"),
    ("homicides", {"label": ""}, "label", "non-empty"),
    ("homicides", {"colour": "red"}, "colour", "not a catalog field"),
    ("nonfatal_shooting_victims", {"counting": "hierarchy"}, "counting", "offenses"),
    ("homicide_clearance", {"of": "nothing_like_this"}, "of", "nothing_like_this"),
    ("homicide_clearance", {"of": "arrests"}, "of", "offense or shooting"),
    ("homicides", {"of": "arrests"}, "of", "clearance"),
    ("homicides", {"direction": "activity"}, "direction", "section 'Outcomes'"),
])
def test_catalog_errors_name_entry_and_field(mid, changes, field, words):
    msg = _error(_with(mid, **changes))
    assert f"measure '{mid}'" in msg, msg
    assert f"field '{field}'" in msg, msg
    assert words in msg, msg


def test_duplicate_and_bad_ids():
    doc = _doc()
    doc["measures"].append(copy.deepcopy(doc["measures"][0]))
    assert "field 'id'" in _error(doc) and "twice" in _error(doc)
    doc = _doc()
    doc["measures"][0]["id"] = "Homicides!"
    msg = _error(doc)
    assert "measure number 1" in msg and "field 'id'" in msg
    assert "no measures" in _error({"measures": []})
    assert "'measures' list" in _error({"things": []})


def test_catalog_file_errors(tmp_path):
    bad = tmp_path / "measures.json"
    bad.write_text('{"measures": [ {"id": "x",} ]}', encoding="utf-8")
    with pytest.raises(UserError) as exc:
        M.load_catalog(bad)
    assert "measures.json" in str(exc.value) and "line 1" in str(exc.value)
    with pytest.raises(UserError) as exc:
        M.load_catalog(tmp_path / "missing.json")
    assert "missing.json" in str(exc.value)


def test_unknown_measure_lookup_lists_known_ones():
    with pytest.raises(UserError) as exc:
        M.load_catalog().get("homicide")
    assert "'homicide'" in str(exc.value) and "homicides" in str(exc.value)


def test_workspace_catalog_overrides_default():
    ws = Workspace()
    assert M.catalog_for(ws) is M.default_catalog()
    ws.meta[M.CATALOG_META_KEY] = {"measures": [
        {"id": "gun_violence", "label": "Gun violence", "dataset": "offenses",
         "categories": ["homicide", "aggravated_assault"], "flags": {"firearm": True}, "direction": "crime"}]}
    cat = M.catalog_for(ws)
    assert [m.id for m in cat] == ["gun_violence"]
    ws.meta[M.CATALOG_META_KEY]["measures"][0]["dataset"] = "guns"
    with pytest.raises(UserError, match="measure 'gun_violence': field 'dataset'"):
        M.catalog_for(ws)

"""A bad file gets one clear message naming it, a non-zero exit, and the workspace file stays as it was."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.core.errors import UserError
from workstation.ingest import import_files
from workstation.core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
GOOD = "incident_number,offense_date,nibrs_code,district\nK1,2020-01-01,13A,1\nK2,2020-01-02,120,2\n"


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "import", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def _good_xlsx(path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for line in GOOD.strip().splitlines():
        ws.append(line.split(","))
    wb.save(path)
    return path


def _make_bad(tmp_path, case):
    if case == "empty":
        p = tmp_path / "empty.csv"
        p.write_bytes(b"")
        return p, "the file is empty"
    if case == "blank":
        p = tmp_path / "blank.csv"
        p.write_bytes(b"\r\n  \n\n")
        return p, "the file is empty"
    if case == "binary":
        p = tmp_path / "photo.csv"
        p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
        return p, "not a spreadsheet or CSV file"
    if case == "renamed":
        p = tmp_path / "notes.xlsx"
        p.write_text("Dear analyst, this is a letter, not a workbook.\n")
        return p, "is not a workbook"
    if case == "truncated":
        full = _good_xlsx(tmp_path / "full.xlsx").read_bytes()
        p = tmp_path / "truncated.xlsx"
        p.write_bytes(full[: len(full) // 2])
        return p, "truncated or damaged"
    if case == "missing_column":
        p = tmp_path / "no_category.csv"
        p.write_text("incident_number,offense_date,district\nK1,2020-01-01,1\n")
        return p, "no import profile recognises its columns"
    if case == "header_only":
        p = tmp_path / "header_only.csv"
        p.write_text("incident_number,offense_date,nibrs_code\n")
        return p, "has a header but no rows of data"
    if case == "missing":
        return tmp_path / "nowhere.csv", "does not exist"
    raise AssertionError(case)


CASES = ["empty", "blank", "binary", "renamed", "truncated", "missing_column", "header_only", "missing"]


@pytest.mark.parametrize("case", CASES)
def test_bad_file_in_process(tmp_path, case):
    bad, problem = _make_bad(tmp_path, case)
    ws = Workspace()
    import_files(ws, "offenses", [_write(tmp_path / "first.csv")])
    log = list(ws.import_log)
    with pytest.raises(UserError) as e:
        import_files(ws, "offenses", [bad])
    assert str(e.value).startswith(f"{bad.name}: ") and problem in str(e.value)
    assert ws.import_log == log and len(ws.frame("offenses")) == 2


def _write(p):
    p.write_text(GOOD)
    return p


@pytest.mark.parametrize("case", ["empty", "binary", "truncated", "missing_column"])
def test_bad_file_on_the_command_line(tmp_path, case):
    w = tmp_path / "w.psw"
    ok = _run("--workspace", w, "--kind", "offenses", "--json", _write(tmp_path / "first.csv"))
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert (summary["rows_read"], summary["accepted"], summary["rejected"]) == (2, 2, 0)
    assert summary["by_category"] == {"aggravated_assault": 1, "robbery": 1}
    assert summary["profile"] == "NIBRS-coded offenses (generic)" and summary["rejected_by_reason"] == {}
    before = w.read_bytes()
    bad, problem = _make_bad(tmp_path, case)
    # a good file next to the bad one is not saved either: all or nothing
    r = _run("--workspace", w, "--kind", "offenses", "--json", _write(tmp_path / "second.csv"), bad)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad.name}: ") and problem in lines[0]
    assert w.read_bytes() == before


def test_wrong_profile_kind_and_bad_profile_file(tmp_path):
    w = tmp_path / "w.psw"
    prof = tmp_path / "broken.json"
    prof.write_text("{not json")
    r = _run("--workspace", w, "--kind", "offenses", "--profile", prof, _write(tmp_path / "a.csv"))
    assert r.returncode == 2 and r.stderr.startswith("error: broken.json: the profile is not valid JSON")
    assert not w.exists()
    shootings = tmp_path / "sh.csv"
    shootings.write_text("INCIDENT_KEY,OCCUR_DATE,OCCUR_TIME,PRECINCT,STATISTICAL_MURDER_FLAG\n1,1/1/20,1:00:00,5,N\n")
    r = _run("--workspace", w, "--kind", "offenses", shootings)
    assert r.returncode == 2 and "use --kind shootings" in r.stderr


def test_areas_on_the_command_line(tmp_path):
    gj = tmp_path / "targets.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"NAME": "Corridor"},
         "geometry": {"type": "Polygon", "coordinates": [[[-87.95, 43.05], [-87.90, 43.05], [-87.90, 43.08],
                                                          [-87.95, 43.08], [-87.95, 43.05]]]}},
        # a bow-tie: crosses itself; repaired with a warning, never a crash
        {"type": "Feature", "properties": {"NAME": "Bow tie"},
         "geometry": {"type": "Polygon", "coordinates": [[[-88.0, 43.0], [-87.98, 43.02], [-87.98, 43.0],
                                                          [-88.0, 43.02], [-88.0, 43.0]]]}},
    ]}))
    w = tmp_path / "w.psw"
    r = _run("--workspace", w, "--kind", "areas", "--json", gj)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["by_category"] == {"target_area": 2} and any("repaired" in x for x in summary["warnings"])
    ws = Workspace.open(w)
    assert sorted(a.name for a in ws.target_areas) == ["Bow tie", "Corridor"]
    assert all(a.geometry.is_valid for a in ws.target_areas)
    assert ws.import_log[-1]["file_name"] == "targets.geojson"
    # the same file again as districts, explicitly
    r = _run("--workspace", w, "--kind", "areas", "--area-kind", "districts", gj)
    assert r.returncode == 0 and len(Workspace.open(w).districts) == 2


def test_explicit_profile_with_a_missing_column(tmp_path):
    from workstation.ingest import Profile

    prof = Profile(name="RMS weekly", kind="offenses",
                   columns={"incident_id": "Case", "occurred": "Reported", "category": "Offense"},
                   categories={"ROBBERY": "robbery"}, category_default="other")
    src = tmp_path / "weekly.csv"
    src.write_text("Case,Reported,Offense\nQ1,2020-01-01,ROBBERY\n")
    prof.with_header(["Case", "Reported", "Offense"]).save(tmp_path / "rms.json")
    assert Profile.load(tmp_path / "rms.json").match == {"required": ["Case", "Reported", "Offense"]}
    ws = Workspace()
    assert import_files(ws, "offenses", [src], profile=prof).by_category == {"robbery": 1}
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("Case,Reported\nQ2,2020-01-02\n")
    with pytest.raises(UserError) as e:
        import_files(ws, "offenses", [lacking], profile=Profile.load(tmp_path / "rms.json"))
    assert str(e.value) == ("lacking.csv: the required column 'Offense' of profile 'RMS weekly' is missing. "
                            "Check that this is the right export, or edit the profile.")
    r = _run("--workspace", tmp_path / "w.psw", "--kind", "offenses", "--profile", tmp_path / "rms.json", lacking)
    assert r.returncode == 2 and r.stderr.strip() == f"error: {e.value}"

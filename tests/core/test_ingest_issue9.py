"""Issue 9: right numbers from real files nobody tuned the importer for.

One test (or a small group) per bullet of the issue's items 2-6 and the `import --json` additions of item 8; each
failed on the main before the fix. Expected figures are computed here independently with plain pandas / shapely.
"""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import shapefile
import shapely
from shapely.geometry import box, mapping

from tests.conftest import REAL_DATA, ROOT
from workstation.core.workspace import Workspace
from workstation.engine.analysis import analysis_for
from workstation.engine.areas import area_choices, resolve_area
from workstation.exports.cli import area_key_for
from workstation.ingest import Profile, category_value_counts, detect_profile, import_files, read_table
from workstation.ingest.boundaries import read_areas

CHI = REAL_DATA / "chi_crimes_2014-02-28_2014-03-15.csv"
real = pytest.mark.skipif(not REAL_DATA.is_dir(), reason="shared real data not present")
CHI_FBI = {"03": "robbery", "05": "burglary", "06": "larceny_theft", "07": "motor_vehicle_theft",
           "14": "criminal_damage", "18": "drug"}


def positional(profile: Profile, header: list) -> Profile:
    """The profile an analyst builds in the wizard for a copy of the same file saved without its header row."""
    cols = list(header)
    pos = {k: cols.index(v) for k, v in profile.columns.items() if isinstance(v, str) and v in cols}
    flags = {k: {**v, "column": cols.index(v["column"])} for k, v in profile.flags.items()
             if isinstance(v.get("column"), str)}
    return Profile.from_dict({**profile.to_dict(), "name": profile.name + " (no header)", "header": False,
                              "columns": pos, "flags": flags, "match": {}})


def district_counts(ws, kind="offenses") -> dict:
    """Records per district area, through the counting engine (what every report shows)."""
    an = analysis_for(ws)
    out = {}
    for a in ws.districts:
        out[a.name] = int(an.membership_mask(kind, f"district:{a.name}").sum())
    return out


# ---- item 2: every column as text; numbers and dates parsed on purpose ------------------------------------------
@real
def test_codes_keep_leading_zeros_headerless_csv_xlsx_and_preview_agree(tmp_path):
    raw = pd.read_csv(CHI, dtype=str)
    sub = raw[raw["FBI Code"].isin(CHI_FBI)].reset_index(drop=True)  # codes that are digits only
    want = sub["FBI Code"].map(CHI_FBI).value_counts().to_dict()
    prof = detect_profile(sub.columns, "offenses")
    nohdr = tmp_path / "chi_nohdr.csv"
    sub.to_csv(nohdr, index=False, header=False)
    headerless = positional(prof, list(sub.columns))
    ws = Workspace()
    res = import_files(ws, "offenses", [nohdr], profile=headerless)
    assert res.by_category == want  # the old reader inferred integers: every robbery... became 'other'
    # the wizard's preview reads through the same reader and maps through the same function
    preview = category_value_counts(read_table(nohdr, header=False), headerless)
    assert preview.groupby("category")["count"].sum().to_dict() == want
    assert set(preview["source_value"]) == set(CHI_FBI)  # '03', not '3'
    # xlsx: codes as text cells and as number cells (Excel typed them) give the same counts
    for typed in (False, True):
        x = tmp_path / f"chi_{typed}.xlsx"
        frame = sub.copy()
        if typed:
            frame["FBI Code"] = frame["FBI Code"].astype(int)
            frame["District"] = pd.to_numeric(frame["District"])
        frame.to_excel(x, index=False)
        wx = Workspace()
        assert import_files(wx, "offenses", [x]).by_category == want
        assert district_counts(wx) == district_counts(ws)
    # district, ZIP-like and id columns keep their zeros in what the wizard shows
    assert read_table(nohdr, header=False)[list(sub.columns).index("District")].str.len().eq(3).sum() == \
        sub["District"].str.len().eq(3).sum()


def test_numbers_and_dates_are_parsed_on_purpose(tmp_path):
    p = tmp_path / "nibrs.csv"
    p.write_text("incident_number,occurred,nibrs_code,district,latitude,longitude\n"
                 "A1,2020-01-05 10:00:00,120,007, 43.05 ,-87.95\n"
                 "A2,01/06/2020 11:30 PM,13A,07,\"43.06\",-87.94\n"
                 "A3,2020-01-07,220,7,n/a,-87.93\n")
    ws = Workspace()
    res = import_files(ws, "offenses", [p])
    off = ws.frame("offenses").set_index("incident_id")
    assert res.accepted == 3
    assert off.loc["A1", "lat"] == 43.05 and off.loc["A2", "lat"] == 43.06 and np.isnan(off.loc["A3", "lat"])
    assert off.loc["A2", "occurred"] == pd.Timestamp("2020-01-06 23:30")
    assert set(off["district"].astype(str)) == {"7"}
    # a workbook: a date cell, a date stored as Excel serial days (unformatted number) and a text date agree
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    sh = wb.active
    sh.append(["incident_number", "occurred", "nibrs_code", "district"])
    sh.append(["B1", dt.datetime(2020, 1, 1, 12, 0), "120", "007"])
    sh.append(["B2", 43831.5, "13A", 7])
    sh.append(["B3", "01/01/2020 12:00 PM", 220, "District 7"])
    x = tmp_path / "dates.xlsx"
    wb.save(x)
    wx = Workspace()
    assert import_files(wx, "offenses", [x]).accepted == 3
    assert set(wx.frame("offenses")["occurred"]) == {pd.Timestamp("2020-01-01 12:00")}
    assert set(wx.frame("offenses")["district"].astype(str)) == {"7"}
    assert sorted(wx.frame("offenses")["category"].astype(str)) == ["aggravated_assault", "burglary", "robbery"]


# ---- item 3: boundary files are understood -----------------------------------------------------------------------
def _mke_police_layer(tmp_path):
    """Milwaukee-like district layer: field POLICE 1-7, district 4 in two records (8 features)."""
    base = tmp_path / "mpd_districts"
    cells = {}
    with shapefile.Writer(str(base), shapeType=shapefile.POLYGON) as w:
        w.field("OBJECTID", "N", size=6)
        w.field("POLICE", "N", size=4)
        w.field("Shape_Area", "F", size=18, decimal=3)
        for i, dist in enumerate([3, 1, 4, 7, 2, 4, 6, 5]):  # not in district order, 4 twice
            g = box(-88.05 + 0.02 * i, 43.00, -88.05 + 0.02 * (i + 1), 43.10)
            cells.setdefault(str(dist), []).append(g)
            ring = list(g.exterior.coords)
            if shapely.Polygon(ring).exterior.is_ccw:
                ring = ring[::-1]
            w.poly([ring])
            w.record(100 + i, dist, 1234.5 * (i + 1))
    return base.with_suffix(".shp"), {k: shapely.union_all(v) for k, v in cells.items()}


def _neighbourhoods(tmp_path):
    names = ["Harambee", "Metcalfe Park", "Amani", "Sherman Park", "Harambee"]
    feats = [{"type": "Feature", "properties": {"OBJECTID": i + 1, "NEIGHBORHD": n, "Shape_Area": 99.5 + i},
              "geometry": mapping(box(-87.95 + 0.01 * i, 43.05, -87.95 + 0.01 * (i + 1), 43.06))}
             for i, n in enumerate(names)]
    p = tmp_path / "neighborhoods.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return p


def test_district_layer_named_by_police_field_is_districts_dissolved(tmp_path):
    shp, cells = _mke_police_layer(tmp_path)
    ws = Workspace()
    res = import_files(ws, "areas", [shp])
    assert sorted(a.name for a in ws.districts) == [str(i) for i in range(1, 8)] and not ws.target_areas
    assert res.rows_read == 8 and res.records == 7
    for a in ws.districts:  # each district holds exactly its own features (district 4: both records)
        assert a.geometry.symmetric_difference(cells[a.name]).area < 1e-12
    assert area_key_for(ws, "5") == "district:5"
    assert resolve_area(ws, area_key_for(ws, "District 5")).geometry.equals(ws.area("5", "district").geometry)
    # forcing the kind keeps the names (the old importer named them Area 1..8 by record order)
    forced = Workspace()
    import_files(forced, "areas", [shp], area_kind="districts")
    assert {a.name: a.geometry.area for a in forced.districts} == {k: v.area for k, v in cells.items()}
    assert not any(a.name.startswith("Area ") for a in forced.areas)


def test_neighbourhood_layer_keeps_names_and_name_field_overrides(tmp_path):
    p = _neighbourhoods(tmp_path)
    ws = Workspace()
    import_files(ws, "areas", [p])
    assert sorted(a.name for a in ws.target_areas) == ["Amani", "Harambee", "Metcalfe Park", "Sherman Park"]
    assert not ws.districts
    assert ws.area("Harambee", "target_area").geometry.area == pytest.approx(2 * 0.01 * 0.01)
    # --name-field: the analyst's choice wins (OBJECTID is never guessed, but may be chosen)
    ws2 = Workspace()
    import_files(ws2, "areas", [p], name_field="OBJECTID", area_kind="target_areas")
    assert sorted(a.name for a in ws2.target_areas) == ["1", "2", "3", "4", "5"]
    with pytest.raises(Exception, match="no field 'NOPE'"):
        import_files(Workspace(), "areas", [p], name_field="NOPE")


def test_cli_name_field_and_area_kind(tmp_path):
    p = _neighbourhoods(tmp_path)
    w = tmp_path / "w.psw"
    out = subprocess.run([sys.executable, "main.py", "import", "--workspace", str(w), "--kind", "areas",
                          "--name-field", "NEIGHBORHD", "--area-kind", "districts", "--json", str(p)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    ws = Workspace.open(w)
    assert sorted(a.name for a in ws.districts) == ["Amani", "Harambee", "Metcalfe Park", "Sherman Park"]


@real
def test_real_boundary_files_understood():
    areas, _, n, _ = read_areas(REAL_DATA / "chi_police_beats.shp")
    import shapefile as shp

    dbf = pd.DataFrame(shp.Reader(str(REAL_DATA / "chi_police_beats")).records(),
                       columns=["DISTRICT", "SECTOR", "BEAT", "BEAT_NUM", "_SocrataID"])
    assert n == 277 and {a.kind for a in areas} == {"district"}
    assert sorted(a.name for a in areas) == sorted({str(int(d)) for d in dbf["DISTRICT"]})
    phl, _, _, _ = read_areas(REAL_DATA / "phl_police_districts.geojson")
    props = [f["properties"] for f in json.loads((REAL_DATA / "phl_police_districts.geojson").read_text())["features"]]
    assert sorted(a.name for a in phl) == sorted(str(p["DIST_NUM"]) for p in props)
    assert {a.kind for a in phl} == {"district"}
    nyc, _, _, _ = read_areas(REAL_DATA / "nyc_police_precincts_2013.geojson")
    props = [f["properties"] for f in
             json.loads((REAL_DATA / "nyc_police_precincts_2013.geojson").read_text())["features"]]
    assert sorted(a.name for a in nyc) == sorted(str(p["Precinct"]) for p in props) and len(nyc) == 76


@real
def test_beats_named_by_the_field_that_matches_the_records_districts():
    """With Chicago's records loaded, the beat layer's DISTRICT field (01..25) matches the records' 001..025."""
    ws = Workspace()
    import_files(ws, "offenses", [CHI])
    res = import_files(ws, "areas", [REAL_DATA / "chi_police_beats.shp"])
    assert all(a.geometry is not None for a in ws.districts)  # polygons took over from the record districts
    raw = pd.read_csv(CHI, dtype=str)
    assert OUTSIDE not in " ".join(res.warnings)
    # every located record in a district polygon whose name is its own district (a few sit on a boundary)
    off = ws.frame("offenses")
    an = analysis_for(ws)
    agree = 0
    for a in ws.districts:
        m = an.membership_mask("offenses", f"district:{a.name}")
        rows = an.frame_rows("offenses", np.flatnonzero(m))
        agree += int((off["district"].astype(str).to_numpy()[rows] == a.name).sum())
    assert agree >= 0.99 * raw["District"].notna().sum()


OUTSIDE = "most points fall outside"


# ---- item 4: districts from the records --------------------------------------------------------------------------
@real
def test_districts_come_from_the_records_and_every_spelling_finds_them():
    raw = pd.read_csv(CHI, dtype=str)
    ws = Workspace()
    res = import_files(ws, "offenses", [CHI])
    want = raw["District"].dropna().astype(int).astype(str).value_counts()
    rare = want[want < 0.001 * len(raw)]
    keep = want.drop(rare.index)
    assert sorted(a.name for a in ws.districts) == sorted(keep.index)
    assert district_counts(ws) == keep.to_dict()
    for spelled in ("7", "007", "07", "District 7", "district:007"):
        assert area_key_for(ws, spelled) == "district:7"
    assert resolve_area(ws, "district:007").name == "7"
    assert ("district:7", "District 7") in area_choices(ws)
    for code in rare.index:  # a code on fewer than 0.1% of rows is listed as not a district
        assert any(f"'{code}'" in w and "not a district" in w for w in res.warnings)


def test_not_a_district_codes_and_polygons_take_over(tmp_path):
    rng = np.random.default_rng(4)
    n = 5000
    dist = rng.choice(np.array(["1", "2", "3", "4", "5", "6", "7"], dtype=object), n)
    dist[:40] = "OUT"
    dist[40:50] = "CITY"
    dist[50:55] = "SPD"
    dist[55:58] = "OCOE"
    dist[58:60] = "9"  # 2 rows of 5,000: fewer than 0.1%
    calls = pd.DataFrame({"Call Number": [f"24{i:07d}" for i in range(n)],
                          "Date/Time": "05/01/2024 10:00:00 AM", "Location": "100 N MAIN ST,MKE",
                          "Police District": dist, "Nature of Call": "WELFARE CITIZEN",
                          "Status": "Service in Progress"})
    p = tmp_path / "calls.csv"
    calls.to_csv(p, index=False)
    ws = Workspace()
    res = import_files(ws, "calls", [p])
    assert sorted(a.name for a in ws.districts) == [str(i) for i in range(1, 8)]
    text = " ".join(res.warnings)
    for code, k in (("OUT", 40), ("CITY", 10), ("SPD", 5), ("OCOE", 3), ("9", 2)):
        assert f"'{code}' ({k} rows)" in text
    assert "not a district" in text
    vc = pd.Series(dist).value_counts()
    assert district_counts(ws, "calls") == {str(i): int(vc[str(i)]) for i in range(1, 8)}
    # polygons loaded later take over: named by POLICE, matched to the records' districts
    shp, cells = _mke_police_layer(tmp_path)
    import_files(ws, "areas", [shp])
    assert {a.name: a.geometry is not None for a in ws.districts} == {str(i): True for i in range(1, 8)}


# ---- item 5: one call is one record; duplicates dropped and counted ------------------------------------------------
STATUSES = ["Service in Progress", "En Route", "Assignment Completed"]


def _mke_calls(n_calls=400, seed=9):
    """A Milwaukee calls feed: each call listed once per status it passed, some rows repeated exactly."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2024-05-01 00:00:00")
    natures = ["SHOTSPOTTER", "TROUBLE W/SUBJECT", "WELFARE CITIZEN", "LOUD MUSIC", "TRAFFIC STOP"]
    for i in range(n_calls):
        k = int(rng.integers(1, 4))
        t = t0 + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 20)))
        d = str(rng.integers(1, 8))
        nat = natures[int(rng.integers(0, len(natures)))]
        for j in range(k):
            rows.append({"Call Number": f"241{i:06d}", "Date/Time": (t + pd.Timedelta(minutes=7 * j))
                         .strftime("%m/%d/%Y %I:%M:%S %p"), "Location": f"{100 + i} N 27TH ST,MKE",
                         "Police District": d.zfill(int(rng.integers(1, 4))), "Nature of Call": nat,
                         "Status": STATUSES[j]})
    df = pd.DataFrame(rows)
    dup = df.sample(37, random_state=seed)
    df = pd.concat([df, dup]).sample(frac=1, random_state=seed + 1).reset_index(drop=True)  # feed order is not time
    return df


@pytest.mark.parametrize("layout", ["header", "header_id", "no_header", "no_header_id"])
def test_calls_merged_by_call_number_and_duplicates_counted(tmp_path, layout):
    df = _mke_calls()
    if layout.endswith("_id"):
        df.insert(0, "ID", np.arange(len(df)) + 1)
        # a repeated row repeats its ID too (the feed was scraped twice)
        df["ID"] = df.groupby(list(df.columns[1:]), sort=False).ngroup() + 1
    p = tmp_path / f"calls_{layout}.csv"
    df.to_csv(p, index=False, header=layout.startswith("header"))
    ws = Workspace()
    res = import_files(ws, "calls", [p])
    assert res.profile.startswith("Milwaukee Police calls for service")
    exact = int(df.duplicated().sum())
    assert res.duplicates_dropped == exact == 37
    assert res.rows_read == len(df) == res.accepted + res.rejected and res.rejected == exact
    calls = ws.frame("calls").set_index("incident_id")
    uniq = df.drop_duplicates()
    assert len(calls) == uniq["Call Number"].nunique() == res.records
    t = pd.to_datetime(uniq["Date/Time"], format="%m/%d/%Y %I:%M:%S %p")
    g = uniq.assign(t=t).sort_values(["Call Number", "t"], kind="stable").groupby("Call Number")
    assert (calls.loc[g["t"].min().index, "occurred"].to_numpy() == g["t"].min().to_numpy()).all()
    assert calls.loc[g["Status"].last().index, "status"].tolist() == g["Status"].last().tolist()
    joined = g["Status"].agg(lambda s: " > ".join(dict.fromkeys(s)))
    assert calls.loc[joined.index, "statuses"].tolist() == joined.tolist()
    want = uniq.drop_duplicates("Call Number")["Nature of Call"].eq("SHOTSPOTTER").sum()
    assert res.by_category.get("shotspotter") == want


def test_newer_wibr_layout_lists_offenses(tmp_path):
    p = tmp_path / "wibr.csv"
    rows = [("241000101", "2024-03-01 13:05:00", "07", "Aggravated Assault; Weapon Law Violations", "HANDGUN",
             43.0621, -87.9470),
            ("241000102", "2024-03-02 09:40:00", "02", "Burglary/Breaking & Entering", "", 43.0242, -87.9283),
            ("241000103", "2024-03-02 22:10:00", "1", "Identity Theft; All Other Larceny", "", 43.0456, -87.9068),
            ("241000104", "2024-03-03 01:15:00", "District 4", "Robbery, Motor Vehicle Theft", "HANDGUN", 43.0897,
             -87.9818),
            ("241000105", "2024-03-04 11:00:00", "5", "Destruction/Damage/Vandalism of Property", "", 43.03, -87.93)]
    pd.DataFrame(rows, columns=["Case_Number", "Incident_Date", "Police_District", "Offense_All", "Weapon_Used",
                                "Address_Latitude", "Address_Longitude"]).to_csv(p, index=False)
    ws = Workspace()
    res = import_files(ws, "offenses", [p])
    assert res.profile == "Milwaukee WIBR (current layout)"
    assert res.by_category == {"aggravated_assault": 1, "weapons": 1, "burglary": 1, "fraud": 1, "larceny_theft": 1,
                               "robbery": 1, "motor_vehicle_theft": 1, "criminal_damage": 1}
    off = ws.frame("offenses")
    assert off["incident_id"].nunique() == 5 and off["record_id"].is_unique
    assert sorted(off["district"].astype(str).unique(), key=int) == ["1", "2", "4", "5", "7"]
    assert off.groupby("incident_id")["firearm"].first().sum() == 2


# ---- item 6: plausibility before acceptance ------------------------------------------------------------------------
def _offenses_csv(path, rows):
    path.write_text("incident_number,occurred,nibrs_code,district,latitude,longitude\n"
                    + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_dates_in_the_future_are_rejected(tmp_path):
    today = pd.Timestamp.now().normalize()
    rows = [(f"A{i}", (today - pd.Timedelta(days=i)).strftime("%Y-%m-%d"), "120", 1, 43.05, -87.95)
            for i in range(1, 6)]
    rows += [(f"F{i}", f"2031-07-0{i} 10:00:00", "120", 1, 43.05, -87.95) for i in range(1, 4)]
    ws = Workspace()
    res = import_files(ws, "offenses", [_offenses_csv(tmp_path / "f.csv", rows)])
    assert res.rejected_by_reason == {"date in the future": 3} and res.accepted == 5
    assert ws.as_of() == today - pd.Timedelta(days=1)


def test_swapped_coordinates_are_swapped_back_with_and_without_districts(tmp_path):
    rng = np.random.default_rng(3)
    lat = 43.03 + rng.random(200) * 0.06
    lon = -88.04 + rng.random(200) * 0.15
    rows = [(f"A{i}", "2020-01-05", "120", 1, la, lo) for i, (la, lo) in enumerate(zip(lat, lon))]
    swapped = [3, 50, 77, 120]
    for i in swapped:
        rows[i] = rows[i][:4] + (lon[i], lat[i])
    p = _offenses_csv(tmp_path / "s.csv", rows)
    for with_districts in (False, True):
        ws = Workspace()
        if with_districts:
            import_files(ws, "areas", [_mke_police_layer(tmp_path)[0]])
        res = import_files(ws, "offenses", [p])
        assert any("4 points had latitude and longitude swapped" in w for w in res.warnings)
        off = ws.frame("offenses").set_index("incident_id").loc[[f"A{i}" for i in range(200)]]
        assert np.allclose(off["lat"], lat) and np.allclose(off["lon"], lon)
        assert not any("far outside" in w for w in res.warnings)


def test_far_away_points_are_warned_about_without_districts(tmp_path):
    rows = [(f"A{i}", "2020-01-05", "120", 1, 43.04 + 0.001 * i, -87.95) for i in range(50)]
    rows += [("B1", "2020-01-05", "120", 1, -43.04, -87.95), ("B2", "2020-01-05", "120", 1, 41.88, -87.63)]
    ws = Workspace()
    res = import_files(ws, "offenses", [_offenses_csv(tmp_path / "far.csv", rows)])
    assert any("2 of 52 located records lie far outside the city" in w for w in res.warnings)


def test_wrong_epsg_warning_when_boundaries_come_after_the_records(tmp_path):
    # records in Milwaukee's x/y read with the wrong EPSG (NAD83 instead of NAD27: ~6 miles east, into the lake)
    from workstation.engine.geometry import from_wgs84

    lat = 43.03 + np.arange(30) * 0.002
    lon = np.full(30, -88.03 + 0.05)
    x, y = from_wgs84(lon, lat, 32054)
    p = tmp_path / "xy.csv"
    pd.DataFrame({"id": [f"X{i}" for i in range(30)], "t": "2020-01-01", "c": "13A", "x": x, "y": y}).to_csv(p,
                                                                                                           index=False)
    prof = Profile.from_dict({"name": "wrong epsg", "kind": "offenses",
                              "columns": {"incident_id": "id", "occurred": "t", "category": "c", "x": "x", "y": "y"},
                              "categories": {"13A": "aggravated_assault"}, "epsg": 2289})
    ws = Workspace()
    import_files(ws, "offenses", [p], profile=prof)
    res = import_files(ws, "areas", [_mke_police_layer(tmp_path)[0]])
    assert any(OUTSIDE in w and "30 of 30" in w for w in res.warnings)


# ---- item 8 (import --json) -----------------------------------------------------------------------------------------
def test_import_json_adds_counts_and_warnings(tmp_path):
    df = _mke_calls(60, seed=2)
    p = tmp_path / "calls.csv"
    df.to_csv(p, index=False)
    w = tmp_path / "w.psw"
    out = subprocess.run([sys.executable, "main.py", "import", "--workspace", str(w), "--kind", "calls", "--json",
                          str(p)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("rows_read", "accepted", "rejected", "records", "added", "replaced", "by_category", "profile"):
        assert key in doc  # the keys it had
    assert doc["duplicates_dropped"] == int(df.duplicated().sum())
    assert doc["records_added"] == df["Call Number"].nunique() and doc["records_replaced"] == 0
    assert isinstance(doc["warnings"], list) and all(isinstance(s, str) and s.endswith(".") for s in doc["warnings"])
    again = subprocess.run([sys.executable, "main.py", "import", "--workspace", str(w), "--kind", "calls", "--json",
                            str(p)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    doc2 = json.loads(again.stdout.strip().splitlines()[-1])
    assert (doc2["records_added"], doc2["records_replaced"]) == (0, df["Call Number"].nunique())


def test_a_call_listed_again_in_a_later_feed_stays_one_record(tmp_path):
    head = "Call Number,Date/Time,Location,Police District,Nature of Call,Status\n"
    a = tmp_path / "feed1.csv"
    a.write_text(head + "241230001,05/02/2024 10:01:12 AM,2400 N 27TH ST,7,SHOTSPOTTER,Service in Progress\n"
                        "241230002,05/02/2024 10:03:00 AM,100 E WISCONSIN AV,1,TROUBLE W/SUBJECT,En Route\n")
    b = tmp_path / "feed2.csv"
    b.write_text(head + "241230001,05/02/2024 10:15:40 AM,2400 N 27TH ST,7,SHOTSPOTTER,Assignment Completed\n")
    ws = Workspace()
    import_files(ws, "calls", [a])
    res = import_files(ws, "calls", [b])
    calls = ws.frame("calls").set_index("incident_id")
    assert len(calls) == 2 and (res.added, res.replaced) == (0, 1)
    assert calls.loc["241230001", "occurred"] == pd.Timestamp("2024-05-02 10:01:12")
    assert calls.loc["241230001", "status"] == "Assignment Completed"
    assert calls.loc["241230001", "statuses"] == "Service in Progress > Assignment Completed"


def test_small_real_precincts_are_districts_while_a_typo_code_is_not():
    """NYPD shootings: 77 precincts, eight holding under 0.1% of the rows (6 to 26 of 23,585). Rare is judged against
    the typical precinct (170 rows) too, so they stay districts. A code on one or two rows cannot be told from a typo
    by counting: precinct 22 (Central Park, one shooting in 15 years) is listed with the typo, and its polygon brings
    it back when the precinct layer is loaded."""
    from workstation.ingest.importer import districts_in_records

    path = REAL_DATA / "nyc_shootings_2006-2020.csv"
    if not path.exists():
        pytest.skip("real data not present")
    raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    precincts = raw["PRECINCT"].str.strip().map(lambda v: str(int(v)))
    small = precincts.value_counts()
    assert (small < 0.001 * len(raw)).sum() >= 3          # the file really has precincts under 0.1%
    with_typo = pd.concat([precincts, pd.Series(["999", "999"])], ignore_index=True)
    keys, nots = districts_in_records(with_typo, len(with_typo))
    assert sorted(keys, key=int) == sorted((p for p in precincts.unique() if p != "22"), key=int)
    assert {"1", "6", "17", "18", "19", "111", "112"} <= set(keys) and len(keys) == 76
    assert nots == [("999", 2), ("22", 1)]

"""Every real file in ../shared/data/real imports with its detected profile; counts equal pandas computed here."""
import numpy as np
import pandas as pd
import pytest

from tests.conftest import REAL_DATA
from workstation.core.errors import UserError
from workstation.ingest import Profile, detect_profile, import_files, points_inside_city, read_table
from workstation.core.workspace import Workspace

from ingest_state import assert_unchanged, state

pytestmark = pytest.mark.skipif(not REAL_DATA.is_dir(), reason="shared real data not present")

CHI_FBI = {  # Chicago FBI Code -> canonical category, written independently of the profile
    "01A": "homicide", "01B": "negligent_manslaughter", "02": "rape", "03": "robbery", "04A": "aggravated_assault",
    "04B": "aggravated_assault", "05": "burglary", "06": "larceny_theft", "07": "motor_vehicle_theft",
    "08A": "simple_assault", "08B": "simple_assault", "09": "arson", "10": "fraud", "11": "fraud", "12": "fraud",
    "14": "criminal_damage", "15": "weapons", "17": "sex_offense_other", "18": "drug", "24": "disorder",
}
PHL_UCR = {100: "homicide", 200: "rape", 300: "robbery", 400: "aggravated_assault", 500: "burglary",
           600: "larceny_theft", 700: "motor_vehicle_theft", 800: "simple_assault", 900: "arson", 1000: "fraud",
           1100: "fraud", 1200: "fraud", 1400: "criminal_damage", 1500: "weapons", 1700: "sex_offense_other",
           1800: "drug", 2300: "disorder", 2400: "disorder", 2500: "disorder"}


def _counts(series) -> dict:
    return {k: int(v) for k, v in series.value_counts().items()}


@pytest.mark.parametrize("name", ["chi_crimes_2014-02-28_2014-03-15.csv", "chi_crimes_2025-05_socrata_api.csv"])
def test_chicago_both_namings(name):
    path = REAL_DATA / name
    assert detect_profile(read_table(path, nrows=5).columns, "offenses").name == "Chicago Crimes - 2001 to present"
    raw = pd.read_csv(path, dtype=str)
    raw.columns = [c.lower().replace(" ", "_") for c in raw.columns]
    ws = Workspace()
    res = import_files(ws, "offenses", [path])
    assert res.profile == "Chicago Crimes - 2001 to present"
    assert res.rows_read == len(raw) == res.accepted + res.rejected and res.rejected == 0
    expected = _counts(raw["fbi_code"].map(CHI_FBI).fillna("other"))
    assert res.by_category == expected
    off = ws.frame("offenses")
    assert len(off) == len(raw) and off["record_id"].is_unique
    # "001" and "1" are the same district; blanks stay unknown
    want_d = raw["district"].dropna().astype(int).astype(str).value_counts().sort_index()
    got_d = off["district"].astype("str").value_counts().sort_index()
    assert got_d.to_dict() == want_d.to_dict()
    assert off["district"].isna().sum() == raw["district"].isna().sum()
    assert off["lat"].isna().sum() == raw["latitude"].isna().sum()
    assert off["cleared"].sum() == raw["arrest"].str.lower().eq("true").sum()
    gun = raw["description"].str.contains(r"HANDGUN|FIREARM|RIFLE|SHOTGUN|\bGUN\b", regex=True)
    assert off["firearm"].sum() == gun.sum()
    assert off["carjacking"].sum() == raw["description"].str.contains("VEHICULAR HIJACKING").sum()
    # dates: US 12-hour clock in the portal export, ISO in the API
    fmt = "%m/%d/%Y %I:%M:%S %p" if "/" in raw["date"].iloc[0] else "ISO8601"
    want = pd.to_datetime(raw["date"], format=fmt).astype("datetime64[ns]")
    assert (off.set_index("incident_id")["occurred"].loc[raw["case_number"]].to_numpy() == want.to_numpy()).all()


def test_chicago_xy_projection_matches_lat_lon():
    """EPSG:3435 X/Y give the same place as the file's own latitude/longitude."""
    path = REAL_DATA / "chi_crimes_2014-02-28_2014-03-15.csv"
    prof = detect_profile(read_table(path, nrows=5).columns, "offenses")
    xy_only = Profile.from_dict({**prof.to_dict(), "columns": {k: v for k, v in prof.columns.items()
                                                               if k not in ("lat", "lon")}})
    ws = Workspace()
    import_files(ws, "offenses", [path], profile=xy_only)
    raw = pd.read_csv(path, dtype={"Case Number": str})
    off = ws.frame("offenses").set_index("incident_id").loc[raw["Case Number"]]
    ok = raw["Latitude"].notna().to_numpy()
    assert np.nanmax(np.abs(off["lat"].to_numpy()[ok] - raw["Latitude"].to_numpy()[ok])) < 1e-5
    assert np.nanmax(np.abs(off["lon"].to_numpy()[ok] - raw["Longitude"].to_numpy()[ok])) < 1e-5


def test_philadelphia_incidents_utc_to_local_and_keys():
    path = REAL_DATA / "phl_incidents_2024-12-31_2025-01-21.csv"
    raw = pd.read_csv(path, dtype=str)
    ws = Workspace()
    res = import_files(ws, "offenses", [path])
    assert res.profile == "Philadelphia PPD crime incidents"
    assert res.rows_read == len(raw) == res.accepted
    assert res.by_category == _counts(raw["ucr_general"].astype(int).map(PHL_UCR).fillna("other"))
    off = ws.frame("offenses")
    # dispatch_date_time is UTC; the file's own local date + time columns are the truth
    local = pd.to_datetime(raw["dispatch_date"] + " " + raw["dispatch_time"]).astype("datetime64[ns]")
    assert (off["occurred"].to_numpy() == local.to_numpy()).all()
    # two dc_keys occur twice: four records, two incidents each with unique record ids
    keys = raw["dc_key"].str.replace(r"\.0$", "", regex=True)
    assert off["incident_id"].nunique() == keys.nunique() == len(raw) - 2
    assert off["record_id"].is_unique
    assert sorted(off["district"].astype("str").unique(), key=int) == \
        sorted({str(int(d)) for d in raw["dc_dist"]}, key=int)
    firearm = raw["text_general_code"].str.contains("Firearm") & ~raw["text_general_code"].str.contains("No Firearm")
    assert off["firearm"].sum() == firearm.sum() == 126 + 101


def test_nypd_shootings_victims_incidents_and_two_digit_years():
    path = REAL_DATA / "nyc_shootings_2006-2020.csv"
    raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    ws = Workspace()
    res = import_files(ws, "shootings", [path])
    assert res.profile == "NYPD Shooting Incident Data"
    sh = ws.frame("shootings")
    assert res.rows_read == len(raw) == 23_585 == len(sh)
    assert sh["incident_id"].nunique() == raw["INCIDENT_KEY"].nunique() == 18_564
    assert res.by_category == {"fatal": 4_500, "non_fatal": 23_585 - 4_500}
    assert sh["fatal"].sum() == (raw["STATISTICAL_MURDER_FLAG"].str.upper() == "TRUE").sum()
    want = pd.to_datetime(raw["OCCUR_DATE"] + " " + raw["OCCUR_TIME"], format="%m/%d/%y %H:%M:%S")
    assert sh["occurred"].min() == want.min() and sh["occurred"].max() == want.max()
    assert sh["occurred"].min().year == 2006 and sh["occurred"].max().year == 2020
    assert sorted(sh["occurred"].to_numpy()) == sorted(want.astype("datetime64[ns]").to_numpy())
    assert _counts(sh["district"].astype("str")) == _counts(raw["PRECINCT"].astype(int).astype(str))


def test_philadelphia_arrests_wide_counts_as_activity():
    path = REAL_DATA / "phl_arrests_daily_by_charge_2014-2021.csv"
    raw = pd.read_csv(path)
    ws = Workspace()
    res = import_files(ws, "activity", [path])
    assert res.profile == "Philadelphia arrests per day by charge"
    assert res.rows_read == len(raw) == 2_854 == res.accepted
    gun = ["Robbery/Gun", "Aggravated Assault/Gun", "Illegal Firearms Possession"]
    counts = raw.drop(columns="date_value")
    assert res.by_category == {"firearm_arrest": int(counts[gun].to_numpy().sum()),
                               "arrest": int(counts.drop(columns=gun).to_numpy().sum())}
    act = ws.frame("activity")
    assert len(act) == int((counts.to_numpy() > 0).sum())
    assert act["record_id"].is_unique and (act["agency"] == "PPD").all()
    assert act["occurred"].max() == pd.Timestamp("2021-10-24")


@pytest.mark.parametrize("name", ["lasd_compstat_ytd2022.xlsx", "nyc_nypd_seven_major_felonies_by_precinct_2000-2014.xls",
                                  "nyc_nypd_misdemeanors_by_precinct_2000-2014.xls"])
def test_aggregate_tables_are_refused_with_a_clear_message(name):
    ws = Workspace()
    before = state(ws)
    with pytest.raises(UserError) as e:
        import_files(ws, "offenses", [REAL_DATA / name])
    assert str(e.value).startswith(f"{name}: ") and "aggregate statistics" in str(e.value)
    assert_unchanged(ws, before)
    assert not ws.import_log


def test_aggregate_workbooks_are_readable_as_tables():
    """The wizard can still show them: calamine reads the .xls and finds the header under the title rows."""
    df = read_table(REAL_DATA / "nyc_nypd_seven_major_felonies_by_precinct_2000-2014.xls")
    assert list(df.columns[:4]) == ["PCT", "CRIME", "2000", "2001"]
    assert df.iloc[0]["PCT"] == "1" and df.iloc[0]["CRIME"].startswith("MURDER")


def test_areas_real_boundaries_and_point_check():
    ws = Workspace()
    res = import_files(ws, "areas", [REAL_DATA / "phl_police_districts.geojson"])
    assert res.by_category == {"district": 22}
    assert sorted(a.name for a in ws.districts) == sorted(
        str(x) for x in [1, 2, 3, 5, 6, 7, 8, 9, 12, 14, 15, 16, 17, 18, 19, 22, 24, 25, 26, 35, 39, 77])
    path = REAL_DATA / "phl_incidents_2024-12-31_2025-01-21.csv"
    df = read_table(path)
    prof = detect_profile(df.columns, "offenses")
    inside, total = points_inside_city(ws, df, prof)
    assert total == len(df) - 33 and inside / total > 0.99
    res = import_files(ws, "offenses", [path])
    assert not any("outside" in w for w in res.warnings)


def test_chicago_beats_dissolve_into_districts():
    ws = Workspace()
    res = import_files(ws, "areas", [REAL_DATA / "chi_police_beats.shp"])
    import shapefile

    with shapefile.Reader(str(REAL_DATA / "chi_police_beats")) as r:
        want = {str(int(rec["DISTRICT"])) for rec in r.records()}
    assert {a.name for a in ws.districts} == want and res.rows_read == 277
    import_files(ws, "offenses", [REAL_DATA / "chi_crimes_2014-02-28_2014-03-15.csv"])
    off = ws.frame("offenses")
    from workstation.engine.geometry import contains
    import shapely

    city = shapely.union_all([a.geometry for a in ws.districts])
    have = off["lat"].notna()
    assert contains(city, off.loc[have, "lon"], off.loc[have, "lat"]).mean() > 0.98


def test_nyc_precincts_geojson_with_an_invalid_ring_is_repaired():
    ws = Workspace()
    res = import_files(ws, "areas", [REAL_DATA / "nyc_police_precincts_2013.geojson"])
    assert len(ws.districts) == 76 and "121" not in {a.name for a in ws.districts}
    assert any("repaired" in w for w in res.warnings)
    assert all(a.geometry.is_valid for a in ws.districts)

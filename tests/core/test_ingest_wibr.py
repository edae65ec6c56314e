"""Milwaukee WIBR: one row per incident with a flag column per offense; NAD27 Wisconsin South feet."""
from pathlib import Path

import numpy as np
import pytest
import shapely

from workstation.ingest import OUTSIDE_WARNING, Profile, detect_profile, import_files, read_table
from workstation.core.workspace import Area, Workspace

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "wibr_sample.csv"
PRODUCT_HEADER = ("IncidentNum,ReportedDateTime,ReportedYear,ReportedMonth,Location,WeaponUsed,ALD,NSP,POLICE,TRACT,"
                  "WARD,ZIP,RoughX,RoughY,Arson,AssaultOffense,Burglary,CriminalDamage,Homicide,LockedVehicle,"
                  "Robbery,SexOffense,Theft,VehicleTheft").split(",")
MILWAUKEE_BBOX = (-88.07, 42.92, -87.86, 43.20)  # lon/lat of the city and its edges


def test_header_from_product_md_detects_wibr():
    assert list(read_table(FIXTURE).columns) == PRODUCT_HEADER
    assert detect_profile(PRODUCT_HEADER).name == "Milwaukee WIBR"


def test_each_set_flag_is_one_offense():
    ws = Workspace()
    res = import_files(ws, "offenses", [FIXTURE])
    assert (res.rows_read, res.accepted, res.rejected) == (13, 11, 2)
    assert res.rejected_by_reason == {"no offense flag set": 1, "no date": 1}
    # worked out by hand from the fixture rows
    assert res.by_category == {"robbery": 2, "aggravated_assault": 3, "simple_assault": 1, "burglary": 1,
                               "larceny_theft": 4, "motor_vehicle_theft": 1, "homicide": 1, "criminal_damage": 1,
                               "rape": 1, "arson": 1}
    off = ws.frame("offenses").set_index("record_id")
    assert len(off) == 16 and off.index.is_unique
    assert set(off.loc[off["incident_id"] == "172350001"].index) == {"172350001:robbery",
                                                                     "172350001:aggravated_assault"}
    # LockedVehicle (1) and Theft (2) are three larceny records of one incident
    assert sorted(off.loc[off["incident_id"] == "172360007"].index) == [
        "172360007:larceny_theft", "172360007:larceny_theft:2", "172360007:larceny_theft:3"]
    # assault: a weapon other than hands/feet makes it aggravated; PERSONAL WEAPON alone is simple
    assert off.loc["172350002:simple_assault", "offense_code"] == "AssaultOffense"
    assert "172350003:aggravated_assault" in off.index  # PERSONAL WEAPON,ASPHYXIATION
    assert "172360008:aggravated_assault" in off.index  # KNIFE/CUTTING INSTRUMENT
    # firearm from WeaponUsed (HANDGUN, RIFLE)
    assert sorted(off.index[off["firearm"]]) == ["172350001:aggravated_assault", "172350001:robbery",
                                                 "172360006:homicide", "172370013:robbery"]
    assert off.loc["172370013:robbery", "district"] == "2"  # "02" normalised
    rej = ws.rejects[res.load_id]
    assert sorted(rej["IncidentNum"]) == ["172370011", "172370012"]
    assert set(rej["row"]) == {12, 13}  # spreadsheet rows (header is row 1)


def test_nad27_feet_land_in_milwaukee():
    ws = Workspace()
    res = import_files(ws, "offenses", [FIXTURE])
    off = ws.frame("offenses").dropna(subset=["lat"])
    assert len(off) == 15
    lo0, la0, lo1, la1 = MILWAUKEE_BBOX
    assert off["lon"].between(lo0, lo1).all() and off["lat"].between(la0, la1).all()
    # 2846 N 1st St (PROVENANCE.md): 43.0704, -87.9110
    r = off[off["incident_id"] == "172350002"].iloc[0]
    assert abs(r["lat"] - 43.0704) < 2e-4 and abs(r["lon"] + 87.9110) < 2e-4
    assert not any(OUTSIDE_WARNING in w for w in res.warnings)


def _districts_ws():
    ws = Workspace()
    # two small district polygons covering the city (west and east halves)
    ws.put_area(Area("1", "district", shapely.box(-88.07, 42.92, -87.95, 43.20)))
    ws.put_area(Area("2", "district", shapely.box(-87.95, 42.92, -87.86, 43.20)))
    return ws


@pytest.mark.parametrize("wrong_epsg", [32154, 2289])
def test_nad83_code_puts_points_outside_and_says_so(wrong_epsg):
    prof = Profile.load(Path(__file__).resolve().parents[2] / "resources" / "profiles" / "milwaukee_wibr.json")
    ws = _districts_ws()
    ok = import_files(ws, "offenses", [FIXTURE], profile=prof)
    assert not any(OUTSIDE_WARNING in w for w in ok.warnings)
    from workstation.ingest import points_inside_city

    df = read_table(FIXTURE)
    assert points_inside_city(ws, df, prof) == (12, 12)
    prof.epsg = wrong_epsg
    ws2 = _districts_ws()
    res = import_files(ws2, "offenses", [FIXTURE], profile=prof)
    assert any(OUTSIDE_WARNING in w for w in res.warnings)
    inside, total = points_inside_city(ws2, df, prof)
    assert total == 12 and inside < total / 2
    if wrong_epsg == 32154:  # metres read as feet: far out in the Atlantic
        assert inside == 0
    if wrong_epsg == 2289:  # NAD83 feet: the same numbers land ~6 miles east (downtown goes into Lake Michigan)
        right = ws.frame("offenses").dropna(subset=["lon"]).set_index("record_id")
        wrong = ws2.frame("offenses").dropna(subset=["lon"]).set_index("record_id").loc[right.index]
        miles_east = (wrong["lon"] - right["lon"]) * 69.17 * np.cos(np.radians(43.05))
        assert miles_east.between(5.5, 6.5).all()
        assert wrong.loc["172350001:robbery", "lon"] > -87.87  # 700 N Water St, now off the shore

"""A tiny hand-built city for the workbook tests: every record placed by hand, so every figure is known.

Two districts (west "1", east "2") tile a square city; the target area "Corridor" lies inside district 1; the scenario
"Corridor wide" widens it eastwards into district 2. As of Sunday 2019-09-29.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import shapely

from workstation.core.workspace import Area, Workspace

AS_OF = dt.date(2019, 9, 29)
CITY = shapely.box(-88.0, 43.0, -87.9, 43.1)
D1 = shapely.box(-88.0, 43.0, -87.95, 43.1)
D2 = shapely.box(-87.95, 43.0, -87.9, 43.1)
CORRIDOR = shapely.box(-87.99, 43.04, -87.97, 43.06)
CORRIDOR_WIDE = shapely.box(-87.99, 43.04, -87.93, 43.06)
IN_CORRIDOR = (-87.98, 43.05)
IN_WIDE_ONLY = (-87.94, 43.05)  # inside the scenario, in district 2, outside the official corridor
IN_D1 = (-87.96, 43.02)
IN_D2 = (-87.92, 43.08)


def _offenses() -> pd.DataFrame:
    rows = []

    def add(cat, where, day, district, n=1, firearm=False, address="1 Main St"):
        for _ in range(n):
            i = len(rows)
            rows.append(dict(record_id=f"o{i}", incident_id=f"I{i}", occurred=pd.Timestamp(day) + pd.Timedelta(hours=13),
                             category=cat, firearm=firearm, lon=where[0], lat=where[1], district=district,
                             address=address, load_id=1))

    # homicides in the corridor: the week-to-date boundary (Mon 2019-09-23 .. Sun 09-29)
    add("homicide", IN_CORRIDOR, "2019-09-22", "1")           # Sunday before: 28d and YTD, not WTD
    add("homicide", IN_CORRIDOR, "2019-09-23", "1")           # Monday: WTD
    add("homicide", IN_CORRIDOR, "2019-09-29", "1")           # the as-of day: WTD
    add("homicide", IN_CORRIDOR, "2019-09-30", "1")           # after the as-of date: never counted
    add("homicide", IN_CORRIDOR, "2019-09-01", "1")           # a day before the 28 days: YTD only
    add("homicide", IN_CORRIDOR, "2019-09-02", "1")           # first day of the 28 days
    add("homicide", IN_CORRIDOR, "2019-01-01", "1")           # first day of the year
    add("homicide", IN_CORRIDOR, "2018-12-31", "1")           # last year
    # a year earlier: same month-day spans (WTD 2018-09-23..29, 28d 2018-09-02..29, YTD 2018-01-01..09-29)
    add("homicide", IN_CORRIDOR, "2018-09-23", "1")
    add("homicide", IN_CORRIDOR, "2018-09-30", "1")           # outside every 2018 window
    # robberies: 8 a year earlier -> 17 now in YTD (112.5% -> 113%), citywide elsewhere
    add("robbery", IN_D1, "2018-03-01", "1", n=8, firearm=True)
    add("robbery", IN_D1, "2019-03-01", "1", n=17, firearm=True)
    # aggravated assaults: 40 -> 39 (-2.5% -> -3%)
    add("aggravated_assault", IN_D2, "2018-05-05", "2", n=40)
    add("aggravated_assault", IN_D2, "2019-05-05", "2", n=39)
    # burglaries only this year in the scenario-only strip: zero base
    add("burglary", IN_WIDE_ONLY, "2019-06-01", "2", n=3, address="=HYPERLINK(\"http://x\")")
    add("larceny_theft", IN_D2, "2017-07-07", "2", n=5)
    return pd.DataFrame(rows)


def _shootings() -> pd.DataFrame:
    rows = []
    for i, (day, where, fatal, district) in enumerate([
        ("2018-04-01", IN_CORRIDOR, False, "1"), ("2019-04-01", IN_CORRIDOR, False, "1"),
        ("2019-04-02", IN_CORRIDOR, False, "1"), ("2019-08-01", IN_D2, False, "2"),
        ("2019-08-02", (float("nan"), float("nan")), False, None),
    ]):
        rows.append(dict(record_id=f"s{i}", incident_id=f"S{i}", occurred=pd.Timestamp(day), fatal=fatal,
                         lon=where[0], lat=where[1], district=district, load_id=2))
    return pd.DataFrame(rows)


def _activity() -> pd.DataFrame:
    rows = []
    for i, (day, agency, cat, n) in enumerate([
        ("2018-02-01", "MPD", "gun_recovery", 10), ("2019-02-01", "MPD", "gun_recovery", 12),
        ("2019-02-02", "ATF", "gun_recovery", 3), ("2018-06-01", "FBI", "arrest", 5), ("2019-06-01", "FBI", "arrest", 2),
    ]):
        rows.append(dict(record_id=f"a{i}", incident_id=f"A{i}", occurred=pd.Timestamp(day), agency=agency,
                         category=cat, count=n, lon=IN_CORRIDOR[0], lat=IN_CORRIDOR[1], district="1", load_id=3))
    return pd.DataFrame(rows)


def tiny_city() -> Workspace:
    ws = Workspace()
    ws.meta.update(city="Tinytown", population=100_000)
    ws.put_area(Area("Tinytown", "city", CITY, population=100_000))
    ws.put_area(Area("1", "district", D1, population=60_000))
    ws.put_area(Area("2", "district", D2, population=40_000))
    ws.put_area(Area("Corridor", "target_area", CORRIDOR, version=2, source="corridor.geojson",
                     history=[{"version": 1, "geojson": "{}", "changed": "2018-03-01", "note": "extended east"}]))
    ws.put_area(Area("Corridor wide", "scenario", CORRIDOR_WIDE, base="Corridor", notes="two blocks wider"))
    ws.set_frame("offenses", _offenses())
    ws.set_frame("shootings", _shootings())
    ws.set_frame("activity", _activity())
    ws.import_log = [
        {"load_id": 1, "kind": "offenses", "file_name": "=cmd|'/C calc'!A0.csv", "loaded_at": "2019-09-30T08:57:31",
         "data_as_of": "2019-09-30", "rows_read": 67, "accepted": 67, "rejected": 0, "profile": "hand"},
        {"load_id": 2, "kind": "shootings", "file_name": "shootings.xlsx", "loaded_at": "2019-09-30T08:57:31",
         "data_as_of": "2019-08-02", "rows_read": 6, "accepted": 5, "rejected": 1, "profile": "hand"},
    ]
    return ws

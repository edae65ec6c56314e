"""Small hand-built workspaces for the report tests: every count is placed deliberately, so every figure is known.

The case-study figures (district tables, PSP Areas tables, Table 1) are laid out record by record here; the tests then
check the reports reproduce them exactly.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from workstation.core.workspace import Area, Workspace

# District strips, west to east; 3, 5 and 7 are neighbours so a corridor can cross exactly those three.
STRIP_ORDER = ["1", "2", "4", "6", "3", "5", "7"]
LON0, LAT0, STRIP_W, HEIGHT = -88.0, 43.0, 0.02, 0.10


def strip(d: str):
    i = STRIP_ORDER.index(d)
    return shapely.box(LON0 + i * STRIP_W, LAT0, LON0 + (i + 1) * STRIP_W, LAT0 + HEIGHT)


# Center Street Corridor: a band across strips 3, 5, 7; Capitol Drive East: a box inside strip 5, further north.
CSC = shapely.box(LON0 + 4 * STRIP_W + 0.002, LAT0 + 0.040, LON0 + 7 * STRIP_W - 0.002, LAT0 + 0.050)
CDE = shapely.box(LON0 + 5 * STRIP_W + 0.004, LAT0 + 0.080, LON0 + 6 * STRIP_W - 0.004, LAT0 + 0.090)


def point_in(geom, k: int, n: int) -> tuple[float, float]:
    """The k-th of n points spread inside a box-like polygon (deterministic)."""
    x0, y0, x1, y1 = geom.bounds
    t = (k + 0.5) / max(n, 1)
    return x0 + (x1 - x0) * (0.1 + 0.8 * t), y0 + (y1 - y0) * (0.1 + 0.8 * ((k * 7919) % max(n, 1) + 0.5) / max(n, 1))


def outside_areas(d: str):
    """A box at the south end of the district, well away from both target areas."""
    x0, _, x1, _ = strip(d).bounds
    return shapely.box(x0 + 0.001, LAT0 + 0.005, x1 - 0.001, LAT0 + 0.030)


def spread_dates(start: dt.date, end: dt.date, n: int) -> list[pd.Timestamp]:
    days = (end - start).days
    return [pd.Timestamp(start) + pd.Timedelta(days=int(x), hours=13) for x in np.linspace(0, days, n)] if n else []


def base_workspace() -> Workspace:
    ws = Workspace()
    ws.meta["city"] = "Testville"
    ws.meta["population"] = 594_833
    ws.areas.append(Area("Testville", "city", shapely.box(LON0, LAT0, LON0 + 7 * STRIP_W, LAT0 + HEIGHT),
                         population=594_833))
    for d in sorted(STRIP_ORDER, key=int):
        ws.areas.append(Area(d, "district", strip(d), population=80_000 + int(d)))
    ws.areas.append(Area("Center Street Corridor", "target_area", CSC))
    ws.areas.append(Area("Capitol Drive East", "target_area", CDE))
    return ws


# --- the case study's district tables: district -> (2017 full, 2018 full, 2017 YTD, 2018 YTD, 2019 YTD) ----------
HOMICIDE_BY_DISTRICT = {
    "1": (2, 1, 2, 1, 1), "2": (15, 13, 10, 12, 15), "3": (21, 16, 17, 15, 14), "4": (24, 11, 20, 7, 7),
    "5": (25, 39, 17, 30, 18), "6": (1, 2, 1, 2, 2), "7": (31, 17, 24, 14, 14),
}
NONFATAL_BY_DISTRICT = {
    "1": (5, 4, 3, 1, 6), "2": (94, 75, 80, 63, 25), "3": (106, 101, 83, 84, 67), "4": (55, 50, 40, 36, 39),
    "5": (146, 111, 130, 87, 91), "6": (11, 5, 7, 4, 5), "7": (135, 121, 106, 99, 79), "Unknown": (6, 9, 3, 7, 3),
}
# PSP Areas tables: area -> district -> (2018 YTD, 2019 YTD)
HOMICIDE_IN_AREAS = {"Center Street Corridor": {"3": (4, 5), "5": (5, 2), "7": (2, 2)},
                     "Capitol Drive East": {"5": (7, 1)}}
NONFATAL_IN_AREAS = {"Center Street Corridor": {"3": (29, 18), "5": (17, 11), "7": (8, 17)},
                     "Capitol Drive East": {"5": (17, 10)}}
AS_OF = dt.date(2019, 9, 29)


def _district_records(by_district, in_areas):
    """Rows (district, occurred, lon, lat) reproducing the table: YTD counts on Jan 1..Sep 29, the rest of each full
    year on Sep 30..Dec 31; the area counts placed inside the areas, everything else outside them."""
    rows = []
    for d, (f17, f18, y17, y18, y19) in by_district.items():
        for year, full, ytd in ((2017, f17, y17), (2018, f18, y18), (2019, None, y19)):
            in_area = []  # (geometry, n) for this district and year
            for area, per in in_areas.items():
                if d in per and year in (2018, 2019):
                    geom = CSC if area == "Center Street Corridor" else CDE
                    in_area.append((geom.intersection(strip(d)), per[d][year - 2018]))
            placed = 0
            ytd_dates = spread_dates(dt.date(year, 1, 1), dt.date(year, 9, 29), ytd)
            for geom, n in in_area:
                for k in range(n):
                    x, y = point_in(geom, k, n)
                    rows.append((d, ytd_dates[placed], x, y))
                    placed += 1
            out = outside_areas(d) if d != "Unknown" else None
            for k in range(placed, ytd):
                x, y = point_in(out, k, ytd) if out is not None else (np.nan, np.nan)
                rows.append((d, ytd_dates[k], x, y))
            if full is not None:
                rest = spread_dates(dt.date(year, 9, 30), dt.date(year, 12, 31), full - ytd)
                for k, when in enumerate(rest):
                    x, y = point_in(out, k, len(rest)) if out is not None else (np.nan, np.nan)
                    rows.append((d, when, x, y))
    return rows


def case_study_workspace() -> Workspace:
    """Homicides (offenses) and non-fatal shooting victims (shootings) laid out to give the case study's district and
    PSP Areas tables as of September 29, 2019. Each shooting victim is its own incident."""
    ws = base_workspace()
    hom = _district_records(HOMICIDE_BY_DISTRICT, HOMICIDE_IN_AREAS)
    off = pd.DataFrame({
        "record_id": [f"H{i}" for i in range(len(hom))], "incident_id": [f"H{i}" for i in range(len(hom))],
        "occurred": [r[1] for r in hom], "category": "homicide", "firearm": True,
        "lon": [r[2] for r in hom], "lat": [r[3] for r in hom],
        "district": [None if r[0] == "Unknown" else r[0] for r in hom], "load_id": 1,
    })
    nf = _district_records(NONFATAL_BY_DISTRICT, NONFATAL_IN_AREAS)
    sh = pd.DataFrame({
        "record_id": [f"S{i}" for i in range(len(nf))], "incident_id": [f"S{i}" for i in range(len(nf))],
        "occurred": [r[1] for r in nf], "fatal": False,
        "lon": [r[2] for r in nf], "lat": [r[3] for r in nf],
        "district": [None if r[0] == "Unknown" else r[0] for r in nf], "load_id": 1,
    })
    # fatal shootings must not count as non-fatal
    fatal = sh.iloc[:5].copy()
    fatal["record_id"] = [f"F{i}" for i in range(5)]
    fatal["incident_id"] = fatal["record_id"]
    fatal["fatal"] = True
    ws.set_frame("offenses", off)
    ws.set_frame("shootings", pd.concat([sh, fatal], ignore_index=True))
    return ws


# --- Table 1: Part I crime in the Center Street Corridor, 2007-2016 ---------------------------------------------------
TABLE1 = {
    "homicide": (19, 13, 10, 14, 14, 12, 12, 10, 15, 14),
    "rape": (47, 45, 30, 25, 30, 29, 34, 30, 27, 29),
    "robbery": (305, 340, 341, 346, 307, 286, 340, 307, 304, 256),
    "aggravated_assault": (563, 552, 378, 380, 321, 474, 425, 423, 521, 447),
    "burglary": (354, 405, 400, 467, 567, 523, 488, 422, 435, 329),
    "motor_vehicle_theft": (541, 449, 309, 325, 296, 302, 283, 281, 362, 321),
    "larceny_theft": (1212, 1144, 1075, 1032, 1029, 811, 710, 622, 577, 552),
}
TABLE1_YEARS = tuple(range(2007, 2017))


def table1_workspace(outside_per_year: int = 50, arson: bool = False) -> Workspace:
    """The Table 1 counts inside the corridor, plus records outside it and records without coordinates (which must
    not count in the corridor)."""
    ws = base_workspace()
    rows = []
    inner = CSC.buffer(-0.0005)
    out = outside_areas("4")
    for cat, counts in TABLE1.items():
        for year, n in zip(TABLE1_YEARS, counts):
            for k, when in enumerate(spread_dates(dt.date(year, 1, 1), dt.date(year, 12, 31), n)):
                x, y = point_in(inner, k, n)
                rows.append((cat, when, x, y, "5"))
    for year in TABLE1_YEARS:
        for k, when in enumerate(spread_dates(dt.date(year, 1, 1), dt.date(year, 12, 31), outside_per_year)):
            x, y = point_in(out, k, outside_per_year)
            rows.append(("robbery", when, x, y, "4"))
            rows.append(("burglary", when, np.nan, np.nan, "5"))  # no location: never inside the corridor
        if arson:
            x, y = point_in(inner, 0, 1)
            rows.append(("arson", pd.Timestamp(year, 6, 1), x, y, "5"))
    df = pd.DataFrame(rows, columns=["category", "occurred", "lon", "lat", "district"])
    df["record_id"] = [f"R{i}" for i in range(len(df))]
    df["incident_id"] = df["record_id"]
    df["load_id"] = 1
    ws.set_frame("offenses", df)
    return ws


def offenses(rows, **defaults) -> pd.DataFrame:
    """Offense rows from dicts; record/incident ids default to the row number."""
    df = pd.DataFrame(rows)
    n = len(df)
    if "record_id" not in df:
        df["record_id"] = [f"O{i}" for i in range(n)]
    if "incident_id" not in df:
        df["incident_id"] = df["record_id"]
    for k, v in defaults.items():
        if k not in df:
            df[k] = v
    if "load_id" not in df:
        df["load_id"] = 1
    return df

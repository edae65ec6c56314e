"""The calibrated demo workspace: a fictional city whose records reproduce the case study's tables.

``build_demo(seed)`` generates every dataset of a workspace for "Lakeport", a fictional ~97-square-mile city of
594,833 people with seven districts and two target areas (geometry in :mod:`workstation.demo.city`). The records are
random but the counts the case study prints are fixed, so the product's reports reproduce them from record-level data:

- Table 1: Part I offenses inside the Center Street Corridor per year 2007-2016, by category;
- the citywide homicide and non-fatal shooting tables by "Present District" (full years 2017 and 2018; Jan 1-Sep 29
  of 2017, 2018 and 2019; the "Unknown" row of shooting victims with no district);
- the two "PSP Areas" tables (homicides and non-fatal shootings by district inside each target area, YTD 2018/2019);
- gun recoveries: 2,419 citywide in 2016, 234 -> 260 inside the corridor 2015 -> 2016.

Everything else (other years, other districts, calls, activity, people) is drawn around plausible volumes. The same
seed gives the same records. One offense per incident, so offense counting and hierarchy counting agree. Generation
is vectorised (numpy) so that build + save stays well under 10 s for ~1M records.
"""
from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from workstation.demo import city as demo_city
from workstation.engine import geometry as geo
from workstation.core import schema
from workstation.core.errors import Cancelled
from workstation.core.workspace import Area, Workspace

DEFAULT_SEED = 2016
CITY_LABEL = "Lakeport (demo)"
TIMEZONE = "America/Chicago"
POPULATION = demo_city.POPULATION
CORRIDOR = demo_city.CORRIDOR_NAME
SECOND_AREA = demo_city.SECOND_AREA_NAME

FIRST_DAY = np.datetime64("2007-01-01")
AS_OF = pd.Timestamp("2019-09-29")           # the newest record's day
DATA_AS_OF = "2019-09-30 08:57:31"           # "Homicide data: 9/30/2019 8:57:31 AM"
LOADED_AT = "2019-09-30T09:04:12"
PSP_START = pd.Timestamp("2016-03-01")       # Milwaukee joined the PSP in March 2016
FBI_START = pd.Timestamp("2016-03-15")       # the Safe Streets task force redeployed to the corridor
YEARS = tuple(range(2007, 2020))

# ---------------------------------------------------------------------------------------------------------------------
# Figures printed in the case study (../shared/seed/milwaukee_psp_case_study.txt)
TABLE1_YEARS = tuple(range(2007, 2017))
TABLE1 = {  # Part I offenses inside the Center Street Corridor, 2007..2016
    "homicide": (19, 13, 10, 14, 14, 12, 12, 10, 15, 14),
    "rape": (47, 45, 30, 25, 30, 29, 34, 30, 27, 29),
    "robbery": (305, 340, 341, 346, 307, 286, 340, 307, 304, 256),
    "aggravated_assault": (563, 552, 378, 380, 321, 474, 425, 423, 521, 447),
    "burglary": (354, 405, 400, 467, 567, 523, 488, 422, 435, 329),
    "motor_vehicle_theft": (541, 449, 309, 325, 296, 302, 283, 281, 362, 321),
    "larceny_theft": (1212, 1144, 1075, 1032, 1029, 811, 710, 622, 577, 552),
}
# Homicides by Present District "1".."7": full years and YTD (Jan 1 - Sep 29).
HOMICIDES_FULL = {2017: (2, 15, 21, 24, 25, 1, 31), 2018: (1, 13, 16, 11, 39, 2, 17)}
HOMICIDES_YTD = {2017: (2, 10, 17, 20, 17, 1, 24), 2018: (1, 12, 15, 7, 30, 2, 14), 2019: (1, 15, 14, 7, 18, 2, 14)}
# Non-fatal shooting victims by Present District "1".."7" then "Unknown".
NONFATAL_FULL = {2017: (5, 94, 106, 55, 146, 11, 135, 6), 2018: (4, 75, 101, 50, 111, 5, 121, 9)}
NONFATAL_YTD = {2017: (3, 80, 83, 40, 130, 7, 106, 3), 2018: (1, 63, 84, 36, 87, 4, 99, 7),
                2019: (6, 25, 67, 39, 91, 5, 79, 3)}
# "PSP Areas" tables: YTD by district inside each target area.
AREA_HOMICIDES_YTD = {CORRIDOR: {2018: {"3": 4, "5": 5, "7": 2}, 2019: {"3": 5, "5": 2, "7": 2}},
                      SECOND_AREA: {2018: {"5": 7}, 2019: {"5": 1}}}
AREA_NONFATAL_YTD = {CORRIDOR: {2018: {"3": 29, "5": 17, "7": 8}, 2019: {"3": 18, "5": 11, "7": 17}},
                     SECOND_AREA: {2018: {"5": 17}, 2019: {"5": 10}}}
GUN_RECOVERIES_2016 = 2_419
CORRIDOR_GUN_RECOVERIES = {2015: 234, 2016: 260}
FBI_CORRIDOR_2016_2018 = {"arrest": 108, "search_warrant": 52, "gun_recovery": 85}
COMMUNITY_EVENTS, COMMUNITY_MEETINGS = 53, 282  # "more than 50 community events and 282 community meetings"

# ---------------------------------------------------------------------------------------------------------------------
# Chosen (not printed) figures that keep the printed ones consistent and the rest plausible.
# Target-area counts for the periods the case study does not print (2017, and Sep 30 - Dec 31 of 2017 and 2018).
_AREA_HOMICIDES_OTHER = {CORRIDOR: {(2017, "ytd"): {"3": 5, "5": 3, "7": 3}, (2017, "rest"): {"3": 1, "5": 1, "7": 1},
                                    (2018, "rest"): {"5": 2, "7": 1}},
                         SECOND_AREA: {(2017, "ytd"): {"5": 4}, (2017, "rest"): {"5": 1}, (2018, "rest"): {"5": 2}}}
_AREA_NONFATAL_OTHER = {CORRIDOR: {(2017, "ytd"): {"3": 30, "5": 22, "7": 14}, (2017, "rest"): {"3": 8, "5": 4, "7": 5},
                                   (2018, "rest"): {"3": 6, "5": 4, "7": 2}},
                        SECOND_AREA: {(2017, "ytd"): {"5": 20}, (2017, "rest"): {"5": 3}, (2018, "rest"): {"5": 4}}}
def _unround(values, salt: str, spread: float = 0.02) -> tuple:
    """Round chosen totals read as invented on a CompStat grid: nudge each by a fixed, deterministic amount within
    +/-2% (crc32 of the salt and position; the same every run and every seed)."""
    out = []
    for i, v in enumerate(values):
        u = zlib.crc32(f"{salt}:{i}".encode()) / 0xFFFFFFFF  # 0..1
        out.append(int(round(v * (1 + spread * (2 * u - 1)))))
    return tuple(out)


# Citywide Part I per year 2007..2018 and Jan 1 - Sep 29 2019 (violent ~6,900-7,300 a year; Part I ~30-37k).
# Homicides are printed by the case study for 2017-2019 and stay exact; the other chosen totals are un-rounded.
CITY_PART1 = {
    "homicide": (105, 71, 72, 94, 87, 91, 105, 90, 145, 141, 119, 99, 71),
    "rape": (390, 370, 330, 310, 320, 330, 350, 360, 400, 420, 430, 410, 320),
    "robbery": (3700, 3550, 3350, 3250, 3150, 3250, 3100, 3000, 3000, 2900, 2750, 2500, 1800),
    "aggravated_assault": (2900, 3050, 3200, 3300, 3400, 3450, 3500, 3550, 3700, 3600, 3800, 3900, 2950),
    "burglary": (6500, 6400, 6200, 6100, 6400, 6000, 5600, 5200, 5000, 4600, 4300, 4100, 2800),
    "larceny_theft": (18000, 17600, 17000, 16600, 16400, 15800, 15200, 14700, 14400, 14000, 14000, 13900, 10100),
    "motor_vehicle_theft": (5000, 4500, 3900, 3700, 3600, 3900, 3700, 3800, 4500, 4400, 4700, 4600, 3300),
    "arson": (290, 280, 270, 250, 240, 260, 230, 220, 240, 230, 210, 200, 140),
}
CITY_PART1 = {c: v if c == "homicide" else _unround(v, c) for c, v in CITY_PART1.items()}
# Corridor Part I 2017, 2018 and 2019 YTD (Table 1 covers 2007-2016). No arson in the corridor before 2017.
_CORRIDOR_LATER = {"homicide": (14, 14, 9), "rape": (31, 28, 20), "robbery": (238, 214, 148),
                   "aggravated_assault": (462, 431, 322), "burglary": (301, 268, 187),
                   "motor_vehicle_theft": (352, 298, 229), "larceny_theft": (531, 505, 361), "arson": (9, 7, 5)}
CORRIDOR_PART1 = {c: tuple(TABLE1.get(c, (0,) * 10)) + _CORRIDOR_LATER[c] for c in schema.PART1}
# Non-fatal shooting victims 2007..2016: citywide, inside the corridor (2015 -> 2016 falls 28%).
_NONFATAL_CITY_EARLY = (560, 520, 480, 500, 510, 570, 540, 590, 640, 555)
_NONFATAL_CORRIDOR_EARLY = (78, 70, 64, 66, 62, 75, 70, 80, 95, 68)

# --- cells: every located record is drawn inside exactly one of these ------------------------------------------------
# 0..6 the rest of districts 1..7; 7..9 the corridor inside districts 3, 5, 7; 10 the second area (district 5).
DISTRICTS = demo_city.DISTRICTS
CELL_DISTRICT = DISTRICTS + ("3", "5", "7", "5")
CELL_AREA = (None,) * 7 + (CORRIDOR,) * 3 + (SECOND_AREA,)
N_CELLS = len(CELL_DISTRICT)
UNKNOWN = -1  # no district, no location
CORRIDOR_CELLS = np.array([7, 8, 9])
OTHER_CELLS = np.array([0, 1, 2, 3, 4, 5, 6, 10])


def _cell(district: str, area: str | None) -> int:
    for i, (d, a) in enumerate(zip(CELL_DISTRICT, CELL_AREA)):
        if d == district and a == area:
            return i
    raise KeyError((district, area))


# How violence / property crime spreads over the non-corridor cells (districts 1..7 rest, second area).
_W_VIOLENT = np.array([0.02, 0.16, 0.15, 0.16, 0.20, 0.03, 0.21, 0.05])
_W_PROPERTY = np.array([0.11, 0.17, 0.13, 0.17, 0.13, 0.12, 0.13, 0.02])
_W_CORRIDOR = np.array([0.47, 0.25, 0.28])  # corridor parts in districts 3, 5, 7

_NIBRS = {"homicide": "09A", "rape": "11A", "robbery": "120", "aggravated_assault": "13A", "burglary": "220",
          "larceny_theft": "23F", "motor_vehicle_theft": "240", "arson": "200"}
_LARCENY_CODES = np.array(["23A", "23B", "23C", "23D", "23F", "23G", "23H"])
_LARCENY_P = np.array([0.02, 0.01, 0.18, 0.06, 0.28, 0.08, 0.37])
# Cohort clearance (share of the period's offenses cleared by the as-of date): before 2017 / 2017 on.
_CLEARANCE = {"homicide": (0.66, 0.85), "rape": (0.36, 0.40), "robbery": (0.21, 0.24),
              "aggravated_assault": (0.44, 0.46), "burglary": (0.08, 0.09), "larceny_theft": (0.13, 0.13),
              "motor_vehicle_theft": (0.08, 0.09), "arson": (0.17, 0.18), "shooting": (0.34, 0.49)}
_CLEAR_LAG_DAYS = {"homicide": 21, "rape": 30, "robbery": 12, "aggravated_assault": 7, "burglary": 20,
                   "larceny_theft": 5, "motor_vehicle_theft": 15, "arson": 30, "shooting": 25}
_FIREARM_P = {"homicide": 0.84, "robbery": 0.42, "aggravated_assault": 0.22}
_CARJACKING_P = 0.13

_HOURS = {  # relative frequency by hour of day
    "violent": [6, 5, 4, 3, 2, 1.5, 1.2, 1.2, 1.5, 2, 2.3, 2.6, 3, 3.2, 3.4, 3.7, 4, 4.4, 4.8, 5.2, 5.6, 6, 6.2, 6.3],
    "property": [2, 1.5, 1.2, 1, 1, 1, 1.5, 2.5, 4, 4.5, 4.5, 4.6, 5, 4.8, 4.6, 4.6, 4.8, 5, 5, 4.6, 4, 3.5, 3, 2.5],
    "activity": [1, .8, .6, .5, .5, .6, 1, 2, 3, 3.5, 3.8, 4, 4, 4, 4, 4.2, 4.4, 4.6, 4.6, 4.4, 4, 3.5, 2.5, 1.5],
}


class DemoCancelled(Cancelled):
    """The demo build was cancelled; nothing was written."""


def _day(year: int, month: int = 1, day: int = 1) -> int:
    return int((np.datetime64(f"{year:04d}-{month:02d}-{day:02d}") - FIRST_DAY).astype(np.int64))


END_DAY = _day(2019, 9, 30)  # exclusive: the data end on 2019-09-29


def _period(year: int, period: str) -> tuple[int, int]:
    """Day range [start, end) of a year ('year'), its Jan 1 - Sep 29 ('ytd') or its Sep 30 - Dec 31 ('rest')."""
    if period == "ytd":
        return _day(year), _day(year, 9, 30)
    if period == "rest":
        return _day(year, 9, 30), _day(year + 1)
    return _day(year), min(_day(year + 1), END_DAY)


def _ts_day(ts) -> int:
    return int((np.datetime64(pd.Timestamp(ts).date()) - FIRST_DAY).astype(np.int64))


# ---------------------------------------------------------------------------------------------------------------------
class _Builder:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        # the spatial story (near repeats, displacement) draws from its own stream, so the calibrated records keep
        # exactly the draws they had before it was added
        self.story_rng = np.random.default_rng([seed, 0x5A7])
        self.city = demo_city.build_city()
        self._addresses()
        days = np.arange(END_DAY)
        dates = FIRST_DAY + days
        doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
        weekend = (days % 7) >= 5  # 2007-01-01 was a Monday
        season = np.cos(2 * np.pi * (doy - 196) / 365.25)
        self._cum = {}
        for kind, amp, wk in (("violent", 0.30, 1.12), ("property", 0.15, 0.95), ("activity", 0.10, 0.8)):
            w = (1 + amp * season) * np.where(weekend, wk, 1.0)
            self._cum[kind] = np.concatenate([[0.0], np.cumsum(w)])
        self._hour_cum = {k: np.cumsum(v) / np.sum(v) for k, v in _HOURS.items()}

    # ---- places ----
    def _addresses(self) -> None:
        """Address points every 50 m along a street grid (streets 200 m apart), each in exactly one cell."""
        import shapely

        city, p = self.city, self.city.projected
        minx, miny, maxx, maxy = p["outline"].bounds
        gx = np.arange(np.floor(minx / 200) * 200, maxx, 200.0)
        gy = np.arange(np.floor(miny / 200) * 200, maxy, 200.0)
        along_x = np.arange(np.floor(minx / 50) * 50 + 25, maxx, 50.0)
        along_y = np.arange(np.floor(miny / 50) * 50 + 25, maxy, 50.0)
        ex, ey = np.meshgrid(along_x, gy)     # points on east-west streets
        nx, ny = np.meshgrid(gx, along_y)     # points on north-south streets
        x = np.concatenate([ex.ravel(), nx.ravel()])
        y = np.concatenate([ey.ravel(), ny.ravel()])
        on_ew = np.concatenate([np.ones(ex.size, bool), np.zeros(nx.size, bool)])
        # keep points well inside one cell: nothing within 15 m of a district or target-area boundary
        edges = shapely.union_all([g.boundary for g in p.values()])
        shapely.prepare(edges)
        keep = shapely.contains_xy(p["outline"], x, y) & ~shapely.dwithin(shapely.points(x, y), edges, 15.0)
        x, y, on_ew = x[keep], y[keep], on_ew[keep]
        lon, lat = geo.to_wgs84(x, y, demo_city.CRS)
        # membership decided in WGS84, exactly as the product and the tests decide it
        dist = geo.assign([city.districts[d] for d in DISTRICTS], lon, lat)
        in_csc = geo.contains(city.corridor, lon, lat)
        in_cde = geo.contains(city.second_area, lon, lat)
        cell = dist.copy()
        cell[in_csc & (dist == 2)] = 7
        cell[in_csc & (dist == 4)] = 8
        cell[in_csc & (dist == 6)] = 9
        cell[in_cde & (dist == 4)] = 10
        ok = (dist >= 0) & ~(in_csc & in_cde)
        ok &= ~(in_csc & ~np.isin(dist, [2, 4, 6])) & ~(in_cde & (dist != 4))
        self.x, self.y, self.lon, self.lat, self.cell = x[ok], y[ok], lon[ok], lat[ok], cell[ok]
        self.address = demo_city.address_text(self.x, self.y, on_ew[ok], city.scale)
        self.address_arrow = pa.array(self.address, type=pa.string())
        # intensity: violence gathers in hot spots; property crime is flatter with a downtown peak
        rng = self.rng
        hot = np.zeros(self.x.size)
        for hx, hy, w, s in demo_city.HOTSPOTS_KM:
            d2 = (self.x / city.scale - hx) ** 2 + (self.y / city.scale - hy) ** 2
            hot += w * np.exp(-d2 / (2 * s * s))
        violent = (0.12 + hot) * rng.lognormal(0, 0.9, self.x.size)
        prop = (0.6 + 0.5 * hot) * rng.lognormal(0, 0.7, self.x.size)
        self.weights = {"violent": violent, "property": prop, "hot": violent ** 1.5, "flat": np.ones(self.x.size)}
        self._cell_idx = [np.flatnonzero(self.cell == c) for c in range(N_CELLS)]
        self._cell_cum = {k: [np.cumsum(w[i]) for i in self._cell_idx] for k, w in self.weights.items()}

    def place(self, cells: np.ndarray, weight: str) -> np.ndarray:
        """An address point index for each record (-1 for UNKNOWN), drawn by ``weight`` inside the record's cell."""
        out = np.full(cells.size, -1, dtype=np.int64)
        for c in range(N_CELLS):
            m = cells == c
            k = int(m.sum())
            if not k:
                continue
            cum = self._cell_cum[weight][c]
            j = np.searchsorted(cum, self.rng.random(k) * cum[-1], side="right")
            out[m] = self._cell_idx[c][np.minimum(j, cum.size - 1)]
        return out

    # ---- times ----
    def days(self, start: np.ndarray, end: np.ndarray, kind: str) -> np.ndarray:
        cum = self._cum[kind]
        target = cum[start] + self.rng.random(start.size) * (cum[end] - cum[start])
        day = np.searchsorted(cum, target, side="right") - 1
        return np.clip(day, start, end - 1)

    def times(self, days: np.ndarray, kind: str) -> np.ndarray:
        """datetime64[ns] at a minute of a typical hour for ``kind``."""
        hour = np.searchsorted(self._hour_cum[kind], self.rng.random(days.size), side="right")
        minute = self.rng.integers(0, 60, days.size)
        base = (FIRST_DAY + days).astype("datetime64[ns]")
        return base + (np.minimum(hour, 23) * 3600 + minute * 60).astype("timedelta64[s]")

    # ---- counts ----
    def split(self, n: int, weights: np.ndarray) -> np.ndarray:
        """``n`` records shared at random among cells in proportion to ``weights``."""
        if n < 0:
            raise ValueError("negative count")
        return self.rng.multinomial(n, weights / weights.sum())

    def composition(self, total: int, mean: float) -> np.ndarray:
        """``total`` split into positive integer parts of about ``mean`` each (a uniform random composition)."""
        if total <= 0:
            return np.zeros(0, dtype=np.int64)
        m = max(1, min(total, int(round(total / mean))))
        cuts = np.sort(self.rng.choice(total - 1, m - 1, replace=False) + 1) if m > 1 else np.zeros(0, np.int64)
        return np.diff(np.concatenate([[0], cuts, [total]])).astype(np.int64)

    def clear(self, occurred: np.ndarray, key: str, later: np.ndarray | None = None, exceptional: float = 0.07):
        """Cohort clearance with an exact share per era: (cleared, cleared_date, clearance_type, exceptional_code)."""
        n = occurred.size
        cleared = np.zeros(n, dtype=bool)
        later = np.zeros(n, bool) if later is None else later
        for era, mask in ((0, ~later), (1, later)):
            idx = np.flatnonzero(mask)
            k = int(round(_CLEARANCE[key][era] * idx.size))
            if k:
                cleared[self.rng.choice(idx, k, replace=False)] = True
        lag = self.rng.lognormal(np.log(_CLEAR_LAG_DAYS[key]), 1.2, n)
        occ_day = (occurred.astype("datetime64[D]") - FIRST_DAY).astype(np.int64)
        room = (END_DAY - 1) - occ_day
        lag = np.where(lag > room, self.rng.random(n) * room, lag).astype(np.int64)
        cdate = np.where(cleared, (FIRST_DAY + occ_day + lag).astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
        exc = cleared & (self.rng.random(n) < exceptional)
        ctype = np.where(cleared, np.where(exc, "exceptional", "arrest"), None).astype(object)
        codes = np.array(["A", "B", "C", "D", "E"])
        p = [0.3, 0.35, 0.1, 0.25, 0.0] if key == "homicide" else [0.02, 0.3, 0.08, 0.45, 0.15]
        ecode = np.where(exc, codes[np.searchsorted(np.cumsum(p), self.rng.random(n) * np.sum(p), side="right")],
                         None).astype(object)
        return cleared, cdate, ctype, ecode


# ---------------------------------------------------------------------------------------------------------------------
# Record sets
def _year_of(days: np.ndarray) -> np.ndarray:
    return (FIRST_DAY + days).astype("datetime64[Y]").astype(np.int64) + 1970


def _periods_2017_2019():
    return ((2017, "ytd"), (2017, "rest"), (2018, "ytd"), (2018, "rest"), (2019, "ytd"))


def _area_counts(printed: dict, chosen: dict, area: str, year: int, period: str) -> dict:
    if period == "ytd" and year in printed[area]:
        return printed[area][year]
    return chosen[area].get((year, period), {})


def _violence_plans(b: _Builder):
    """Homicides and non-fatal shooting victims as (cell, start day, end day, count) rows."""
    hom, nf = [], []
    for i, y in enumerate(TABLE1_YEARS):
        s, e = _period(y, "year")
        n_csc = TABLE1["homicide"][i]
        for c, k in zip(CORRIDOR_CELLS, b.split(n_csc, _W_CORRIDOR)):
            hom.append((c, s, e, k))
        for c, k in zip(OTHER_CELLS, b.split(CITY_PART1["homicide"][i] - n_csc, _W_VIOLENT)):
            hom.append((c, s, e, k))
        unknown = int(b.rng.integers(3, 10))
        n_csc = _NONFATAL_CORRIDOR_EARLY[i]
        for c, k in zip(CORRIDOR_CELLS, b.split(n_csc, _W_CORRIDOR)):
            nf.append((c, s, e, k))
        for c, k in zip(OTHER_CELLS, b.split(_NONFATAL_CITY_EARLY[i] - n_csc - unknown, _W_VIOLENT)):
            nf.append((c, s, e, k))
        nf.append((UNKNOWN, s, e, unknown))
    for y, per in _periods_2017_2019():
        s, e = _period(y, per)
        if per == "ytd":
            h_counts, n_counts = HOMICIDES_YTD[y], NONFATAL_YTD[y]
        else:
            h_counts = tuple(f - t for f, t in zip(HOMICIDES_FULL[y], HOMICIDES_YTD[y]))
            n_counts = tuple(f - t for f, t in zip(NONFATAL_FULL[y], NONFATAL_YTD[y]))
        for rows, counts, printed, chosen in ((hom, h_counts, AREA_HOMICIDES_YTD, _AREA_HOMICIDES_OTHER),
                                              (nf, n_counts, AREA_NONFATAL_YTD, _AREA_NONFATAL_OTHER)):
            for j, d in enumerate(DISTRICTS):
                rest = counts[j]
                for area in (CORRIDOR, SECOND_AREA):
                    k = _area_counts(printed, chosen, area, y, per).get(d, 0)
                    if k:
                        rows.append((_cell(d, area), s, e, k))
                        rest -= k
                if rest < 0:
                    raise AssertionError(f"target-area counts exceed district {d} in {y} {per}")
                rows.append((_cell(d, None), s, e, rest))
        nf.append((UNKNOWN, s, e, n_counts[7]))
    return np.array(hom, dtype=np.int64), np.array(nf, dtype=np.int64)


def _expand(plan: np.ndarray):
    rep = np.repeat(np.arange(len(plan)), plan[:, 3])
    return plan[rep, 0], plan[rep, 1], plan[rep, 2]


def _partition_victims(b: _Builder, plan: np.ndarray):
    """Split each row's victims into incidents of 1-3 victims: (incident plan rows, victims per incident)."""
    rows, sizes = [], []
    for r in plan:
        n = int(r[3])
        if n <= 0:
            continue
        draw = 1 + np.searchsorted([0.86, 0.97], b.rng.random(n), side="right")
        cum = np.cumsum(draw)
        k = int(np.searchsorted(cum, n))
        part = draw[:k + 1].copy()
        part[-1] -= cum[k] - n
        rows.append(np.repeat(r[None, :3], part.size, axis=0))
        sizes.append(part)
    return np.concatenate(rows), np.concatenate(sizes)


def _part(b: _Builder, category: str, cells, start, end, kind: str, weight: str) -> dict:
    days = b.days(start, end, kind)
    return {"category": category, "cell": cells, "day": days, "occurred": b.times(days, kind),
            "addr": b.place(cells, weight)}


def _offenses_and_shootings(b: _Builder):
    rng = b.rng
    hom_plan, nf_plan = _violence_plans(b)
    # --- homicides (every firearm homicide is also a fatal shooting victim) ---
    hom = _part(b, "homicide", *_expand(hom_plan), "violent", "violent")
    _displace_into_buffer(b, hom)
    hom["firearm"] = rng.random(hom["cell"].size) < _FIREARM_P["homicide"]
    # --- non-fatal shooting incidents; each is one aggravated assault with a firearm ---
    inc_plan, sizes = _partition_victims(b, nf_plan)
    shot = _part(b, "aggravated_assault", inc_plan[:, 0], inc_plan[:, 1], inc_plan[:, 2], "violent", "hot")
    _displace_into_buffer(b, shot)
    shot["firearm"] = np.ones(sizes.size, bool)
    later = _year_of(shot["day"]) >= 2017
    shot["clearance"] = b.clear(shot["occurred"], "shooting", later)
    parts = [hom, shot]
    # --- the rest of Part I: corridor counts as printed (Table 1), the city around them ---
    shot_year = _year_of(shot["day"])
    shot_csc = np.isin(shot["cell"], CORRIDOR_CELLS)
    shot_known = shot["cell"] != UNKNOWN
    for category in ("rape", "robbery", "aggravated_assault", "burglary", "larceny_theft", "motor_vehicle_theft",
                     "arson"):
        plan = []
        w = _W_VIOLENT if category in schema.PART1_VIOLENT else _W_PROPERTY
        for i, y in enumerate(YEARS):
            s, e = _period(y, "year")
            n_csc, n_city = CORRIDOR_PART1[category][i], CITY_PART1[category][i]
            n_other = n_city - n_csc
            if category == "aggravated_assault":  # shootings are already aggravated assaults
                linked_csc = int((shot_csc & (shot_year == y)).sum())
                n_csc -= linked_csc
                n_other -= int((shot_known & ~shot_csc & (shot_year == y)).sum())
            for cells, n, cw in ((CORRIDOR_CELLS, n_csc, _W_CORRIDOR), (OTHER_CELLS, n_other, w)):
                plan += [(c, s, e, k) for c, k in zip(cells, b.split(n, cw))]
        kind = "violent" if category in schema.PART1_VIOLENT else "property"
        weight = "violent" if category in schema.PART1_VIOLENT else "property"
        cells, starts, ends = _expand(np.array(plan, dtype=np.int64))
        part = _part(b, category, cells, starts, ends, kind, weight)
        if category == "burglary":
            _near_repeats(b, part, starts, ends)
        elif category in schema.PART1_VIOLENT:
            _displace_into_buffer(b, part)
        n = part["cell"].size
        part["firearm"] = rng.random(n) < _FIREARM_P.get(category, 0.0)
        if category == "robbery":
            part["carjacking"] = rng.random(n) < _CARJACKING_P
            part["firearm"] |= part["carjacking"] & (rng.random(n) < 0.5)
        parts.append(part)
    for p in parts:
        if "clearance" not in p:
            later = _year_of(p["day"]) >= 2017
            exc = 0.10 if p["category"] == "homicide" else 0.07
            p["clearance"] = b.clear(p["occurred"], p["category"], later, exc)

    # --- assemble offenses, ordered by time, numbered like an RMS: YYDDDNNNN ---
    cat = np.concatenate([np.full(p["cell"].size, schema.PART1.index(p["category"])) for p in parts])
    cell = np.concatenate([p["cell"] for p in parts])
    occurred = np.concatenate([p["occurred"] for p in parts])
    addr = np.concatenate([p["addr"] for p in parts])
    firearm = np.concatenate([p["firearm"] for p in parts])
    carjacking = np.concatenate([p.get("carjacking", np.zeros(p["cell"].size, bool)) for p in parts])
    clearance = [np.concatenate([p["clearance"][k] for p in parts]) for k in range(4)]
    order = np.argsort(occurred, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    occurred = occurred[order]
    ids = _rms_ids(occurred)
    n = order.size
    category = np.array(schema.PART1)[cat[order]]
    code = np.array([_NIBRS[c] for c in schema.PART1])[cat[order]].astype(object)
    theft = category == "larceny_theft"
    code[theft] = _LARCENY_CODES[np.searchsorted(np.cumsum(_LARCENY_P), rng.random(int(theft.sum())), side="right")]
    violent = cat[order] < len(schema.PART1_VIOLENT)
    lag_min = np.where(violent, rng.exponential(25, n), rng.exponential(60 * 20, n))
    reported = occurred + (lag_min * 60).astype("timedelta64[s]")
    reported = np.minimum(reported, np.datetime64(pd.Timestamp(DATA_AS_OF).to_datetime64(), "ns"))
    offenses = pd.DataFrame({
        "record_id": ids, "incident_id": ids, "occurred": occurred, "reported": reported,
        "category": pd.Categorical.from_codes(cat[order], list(schema.PART1)), "offense_code": code,
        "firearm": firearm[order], "carjacking": carjacking[order],
        **_location_columns(b, cell[order], addr[order]),
        "cleared": clearance[0][order], "cleared_date": clearance[1][order], "clearance_type": clearance[2][order],
        "exceptional_code": clearance[3][order],
    })

    # --- shootings: one row per victim; fatal victims are the firearm homicides ---
    hom_rows = rank[:hom["cell"].size][hom["firearm"]]
    shot_rows = rank[hom["cell"].size:hom["cell"].size + sizes.size]
    inc_rows = np.concatenate([hom_rows, np.repeat(shot_rows, sizes)])
    victim_no = np.concatenate([np.ones(hom_rows.size, np.int64),
                                np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1])
    fatal = np.concatenate([np.ones(hom_rows.size, bool), np.zeros(int(sizes.sum()), bool)])
    s_order = np.argsort(inc_rows, kind="stable")  # the offenses are in time order already
    inc_rows, victim_no, fatal = inc_rows[s_order], victim_no[s_order], fatal[s_order]
    src = offenses.iloc[inc_rows].reset_index(drop=True)
    shootings = pd.DataFrame({
        "record_id": src["incident_id"] + "-" + pd.Series(victim_no).astype("str"),
        "incident_id": src["incident_id"], "occurred": src["occurred"], "fatal": fatal,
        "lat": src["lat"], "lon": src["lon"], "district": src["district"], "address": src["address"],
        "cleared": src["cleared"], "cleared_date": src["cleared_date"],
    })
    incidents = np.unique(inc_rows)
    return offenses, shootings, (occurred[incidents], cell[order][incidents], addr[order][incidents])


# --- the spatial story (issue 10): what the hot-spot, near-repeat and displacement analyses should find ------------
# The corridor was chosen from prior-year homicide and shooting maps: the violent weights (city.HOTSPOTS_KM) already
# centre three hot spots on it. Two more patterns are drawn on purpose, each inside the record's own cell and period
# so that every calibrated count (per year, district and target area) stays exactly as printed:
# - burglary near repeats: a share of burglaries follow an earlier burglary of the same cell within days, at the
#   same address or a nearby one (the NRC's classic finding for burglary);
# - displacement: after the strategy started (PSP_START) a share of the violence in the rest of districts 3, 5 and 7
#   (the districts the corridor crosses) happens in the quarter-mile ring around the corridor instead.
NEAR_REPEAT_SHARE = 0.05         # of burglaries that repeat an earlier one nearby
NEAR_REPEAT_SAME_ADDRESS = 0.2   # of those, at the very same address
NEAR_REPEAT_RADIUS_M = 115.0     # a "nearby" address: within about 380 ft (inside a 400 ft band)
NEAR_REPEAT_MEAN_DAYS = 4.0      # days after the first burglary (geometric: most within a week)
DISPLACED_SHARE = 0.01           # of violent records of the districts around the corridor, after PSP_START
BUFFER_RADIUS_M = 1320 * 0.3048 - 20.0   # inside the quarter-mile (1,320 ft) ring, clear of its outer edge
_AROUND_CORRIDOR = np.array([2, 4, 6])    # the rest of districts 3, 5 and 7


def _near_repeats(b: _Builder, part: dict, starts: np.ndarray, ends: np.ndarray) -> None:
    """Turn a share of the burglaries into near repeats of another burglary of the same cell and period: a few days
    later (earlier when that would leave the period), at the same or a nearby address of the same cell."""
    from scipy.spatial import cKDTree

    rng = b.story_rng
    addr, cell, day = part["addr"], part["cell"], part["day"]
    n = addr.size
    follower = (rng.random(n) < NEAR_REPEAT_SHARE) & (addr >= 0)
    group = cell.astype(np.int64) * 100_000 + starts          # cell and period
    lead_pool = np.flatnonzero(~follower & (addr >= 0))
    lead_pool = lead_pool[np.argsort(group[lead_pool], kind="stable")]
    pool_groups = group[lead_pool]
    f = np.flatnonzero(follower)
    lo = np.searchsorted(pool_groups, group[f], side="left")
    hi = np.searchsorted(pool_groups, group[f], side="right")
    has = hi > lo
    f, lo, hi = f[has], lo[has], hi[has]
    leader = lead_pool[lo + (rng.random(f.size) * (hi - lo)).astype(np.int64)]
    lag = rng.geometric(1.0 / NEAR_REPEAT_MEAN_DAYS, f.size) - 1
    lag = np.minimum(lag, 30)
    new_day = day[leader] + lag
    late = new_day >= ends[f]
    new_day[late] = day[leader][late] - lag[late]
    new_day = np.clip(new_day, starts[f], ends[f] - 1)
    clock = part["occurred"][f] - (FIRST_DAY + day[f]).astype("datetime64[ns]")   # keep the time of day
    part["occurred"][f] = (FIRST_DAY + new_day).astype("datetime64[ns]") + clock
    day[f] = new_day
    # the address: the leader's own, or one nearby in the same cell
    tree = cKDTree(np.column_stack([b.x, b.y]))
    lead_addr = addr[leader]
    near = tree.query_ball_point(np.column_stack([b.x[lead_addr], b.y[lead_addr]]), NEAR_REPEAT_RADIUS_M)
    same = rng.random(f.size) < NEAR_REPEAT_SAME_ADDRESS
    u = rng.random(f.size)
    out = lead_addr.copy()
    for i in np.flatnonzero(~same):
        cand = np.asarray(near[i], dtype=np.int64)
        cand = cand[(b.cell[cand] == cell[f[i]]) & (cand != lead_addr[i])]
        if cand.size:
            out[i] = cand[int(u[i] * cand.size)]
    addr[f] = out


def _buffer_addresses(b: _Builder) -> dict:
    """Per cell around the corridor: the address points in the quarter-mile ring outside it."""
    import shapely

    if getattr(b, "_ring_addresses", None) is None:
        corridor = b.city.projected["corridor"]
        b._ring_addresses = {}
        for c in _AROUND_CORRIDOR:
            idx = b._cell_idx[c]
            pts = shapely.points(b.x[idx], b.y[idx])
            b._ring_addresses[int(c)] = idx[shapely.dwithin(pts, corridor, BUFFER_RADIUS_M)]
    return b._ring_addresses


def _displace_into_buffer(b: _Builder, part: dict) -> None:
    """After PSP_START, move a share of the violence of the districts around the corridor into the ring around it
    (same cell, same date: only the block changes)."""
    rng = b.story_rng
    ring = _buffer_addresses(b)
    cell, addr = part["cell"], part["addr"]
    moved = np.isin(cell, _AROUND_CORRIDOR) & (part["day"] >= _ts_day(PSP_START)) & (addr >= 0)
    moved &= rng.random(cell.size) < DISPLACED_SHARE
    for c, idx in ring.items():
        m = np.flatnonzero(moved & (cell == c))
        if m.size and idx.size:
            w = np.cumsum(b.weights["violent"][idx])
            addr[m] = idx[np.minimum(np.searchsorted(w, rng.random(m.size) * w[-1], side="right"), idx.size - 1)]


def _rms_ids(occurred: np.ndarray) -> pd.Series:
    """YYDDDNNNN: two-digit year, day of year, sequence within the day (occurred must be sorted)."""
    day = occurred.astype("datetime64[D]")
    first = np.r_[0, np.flatnonzero(day[1:] != day[:-1]) + 1]
    seq = np.arange(day.size) - np.repeat(first, np.diff(np.r_[first, day.size]))
    year = day.astype("datetime64[Y]")
    doy = (day - year).astype(np.int64) + 1
    num = (year.astype(np.int64) + 1970) % 100 * 10_000_000 + doy * 10_000 + seq + 1
    return pd.Series(num).astype("str").str.zfill(9)


def _yearly_numbers(occurred: np.ndarray, digits: int) -> pd.Series:
    """YY followed by a sequence number that restarts each year (occurred must be sorted), zero-padded."""
    year = occurred.astype("datetime64[Y]").astype(np.int64) + 1970
    n = year.size
    first = np.r_[0, np.flatnonzero(year[1:] != year[:-1]) + 1]
    seq = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n])) + 1
    return pd.Series(year % 100 * 10 ** digits + seq).astype("str").str.zfill(digits + 2)


def _location_columns(b: _Builder, cell: np.ndarray, addr: np.ndarray) -> dict:
    known = addr >= 0
    safe = np.where(known, addr, 0)
    district_code = np.where(cell >= 0, np.array([DISTRICTS.index(d) for d in CELL_DISTRICT])[np.maximum(cell, 0)],
                             -1)
    return {
        "lat": np.where(known, b.lat[safe], np.nan), "lon": np.where(known, b.lon[safe], np.nan),
        "district": pd.Categorical.from_codes(district_code, list(DISTRICTS)),
        "address": pd.Series(b.address_arrow.take(pa.array(addr, mask=~known)), dtype="str"),
    }


# --- calls for service and sensor events, 2014 on ---------------------------------------------------------------------
CALL_YEARS = tuple(range(2014, 2020))
_PRIORITY_CITY = _unround((26500, 27200, 26000, 25400, 24800, 18300), "priority_city")
_PRIORITY_CORRIDOR_SHARE = (0.112, 0.115, 0.110, 0.108, 0.105, 0.104)
_DISORDER_CITY = _unround((16200, 16600, 16000, 15700, 15300, 11800), "disorder_city")
_DISORDER_CORRIDOR_SHARE = 0.085
_SHOTSPOTTER_CITY = _unround((4200, 5100, 4700, 4300, 3600, 2500), "shotspotter_city")
_SHOTSPOTTER_DETECTED = 0.8   # share of located shootings inside coverage that set off the sensors
_COVERAGE = np.array([1, 2, 4, 6, 7, 8, 9, 10])  # districts 2, 3, 5, 7 with the target areas
_PRIORITY_TYPES = (("SHOTS FIRED", "1", 0.16), ("SUBJECT WITH WEAPON", "1", 0.10), ("BATTERY", "1", 0.16),
                   ("ROBBERY", "1", 0.06), ("ENTRY", "2", 0.12), ("FAMILY TROUBLE", "2", 0.18),
                   ("ACCIDENT W/INJURY", "2", 0.12), ("SHOOTING", "1", 0.04), ("FIGHT", "2", 0.06))
_DISORDER_TYPES = (("DISTURBANCE", "3", 0.30), ("LOUD MUSIC", "4", 0.20), ("DISORDERLY YOUTHS", "3", 0.12),
                   ("TROUBLE W/SUBJECT", "3", 0.14), ("DRUG DEALING", "3", 0.10), ("PANHANDLING", "4", 0.06),
                   ("LOITERING", "4", 0.08))


def _cell_mass(b: _Builder, cells: np.ndarray, weight: str) -> np.ndarray:
    return np.array([b.weights[weight][b._cell_idx[c]].sum() for c in cells])


def _calls(b: _Builder, shot_incidents: tuple) -> pd.DataFrame:
    """Priority and disorder calls, and ShotSpotter activations (many of them set off by the shootings)."""
    shot_occurred, shot_cell, shot_addr = shot_incidents
    rng = b.rng
    parts = []
    w_disorder = 0.5 * (_W_VIOLENT + _W_PROPERTY)
    for i, y in enumerate(CALL_YEARS):
        s, e = _period(y, "year")
        for category, city, share, w in (("priority", _PRIORITY_CITY[i], _PRIORITY_CORRIDOR_SHARE[i], _W_VIOLENT),
                                         ("disorder", _DISORDER_CITY[i], _DISORDER_CORRIDOR_SHARE, w_disorder)):
            n_csc = int(round(city * share))
            plan = [(c, s, e, k) for c, k in zip(CORRIDOR_CELLS, b.split(n_csc, _W_CORRIDOR))]
            plan += [(c, s, e, k) for c, k in zip(OTHER_CELLS, b.split(city - n_csc, w))]
            part = _part(b, category, *_expand(np.array(plan, dtype=np.int64)), "violent", "violent")
            parts.append(part)
    # ShotSpotter: most shootings inside coverage set it off within a minute or two; the rest are unreported gunfire
    first = np.datetime64(f"{CALL_YEARS[0]}-01-01", "ns")
    hit = np.isin(shot_cell, _COVERAGE) & (shot_occurred >= first)
    hit &= rng.random(hit.size) < _SHOTSPOTTER_DETECTED
    tied = {"category": "shotspotter", "cell": shot_cell[hit], "addr": shot_addr[hit],
            "occurred": shot_occurred[hit] - rng.integers(0, 150, int(hit.sum())).astype(
                "timedelta64[s]")}
    tied["day"] = (tied["occurred"].astype("datetime64[D]") - FIRST_DAY).astype(np.int64)
    parts.append(tied)
    tied_year = _year_of(tied["day"])
    mass = _cell_mass(b, _COVERAGE, "hot")
    for i, y in enumerate(CALL_YEARS):
        s, e = _period(y, "year")
        n = _SHOTSPOTTER_CITY[i] - int((tied_year == y).sum())
        plan = [(c, s, e, k) for c, k in zip(_COVERAGE, b.split(n, mass))]
        parts.append(_part(b, "shotspotter", *_expand(np.array(plan, dtype=np.int64)), "violent", "hot"))
    category = np.concatenate([np.full(p["cell"].size, p["category"], dtype=object) for p in parts])
    cell = np.concatenate([p["cell"] for p in parts])
    addr = np.concatenate([p["addr"] for p in parts])
    occurred = np.concatenate([p["occurred"] for p in parts])
    order = np.argsort(occurred, kind="stable")
    category, cell, addr, occurred = category[order], cell[order], addr[order], occurred[order]
    n = order.size
    call_type = np.full(n, "SHOTSPOTTER", dtype=object)
    priority = np.full(n, "1", dtype=object)
    for cat, types in (("priority", _PRIORITY_TYPES), ("disorder", _DISORDER_TYPES)):
        m = category == cat
        p = np.array([t[2] for t in types])
        j = np.minimum(np.searchsorted(np.cumsum(p) / p.sum(), rng.random(int(m.sum())), side="right"), p.size - 1)
        call_type[m] = np.array([t[0] for t in types], dtype=object)[j]
        priority[m] = np.array([t[1] for t in types], dtype=object)[j]
    ids = _yearly_numbers(occurred, 8)
    return pd.DataFrame({
        "record_id": ids, "incident_id": ids, "occurred": occurred,
        "category": pd.Categorical(category, categories=["shotspotter", "disorder", "priority"]),
        "call_type": call_type, "priority": priority, **_location_columns(b, cell, addr),
    })


# --- activity: agency work -------------------------------------------------------------------------------------------
_GUNS_CITY = {2012: 2050, 2013: 2150, 2014: 2230, 2015: 2290, 2016: GUN_RECOVERIES_2016, 2017: 2360, 2018: 2240,
              2019: 1620}
_GUNS_CORRIDOR = {2012: 215, 2013: 221, 2014: 228, **CORRIDOR_GUN_RECOVERIES, 2017: 251, 2018: 238, 2019: 170}
_FBI_CORRIDOR = {"gun_recovery": {2016: 30, 2017: 29, 2018: 26, 2019: 15},
                 "arrest": {2016: 34, 2017: 41, 2018: 33, 2019: 22},
                 "search_warrant": {2016: 16, 2017: 19, 2018: 17, 2019: 9}}
_PROACTIVE = ("traffic_stop", "subject_stop", "business_check", "probation_parole_check", "park_and_walk",
              "citizen_contact")
_PROACTIVE_CORRIDOR = {  # MPD in the corridor, by type (2016: 45,300 activities, 3,320 citizen contacts)
    2014: (11400, 4700, 3900, 1100, 4800, 1900), 2015: (12600, 5300, 4300, 1200, 5400, 2100),
    2016: (18400, 7600, 6500, 1780, 7700, 3320), 2017: (17800, 7400, 6300, 1700, 7500, 3200),
    2018: (16700, 6900, 5900, 1600, 7100, 3000), 2019: (12200, 5100, 4300, 1150, 5200, 2150),
}
_COMPLAINTS_CORRIDOR = {2014: 38, 2015: 44, 2016: 29, 2017: 27, 2018: 25, 2019: 17}
_USE_OF_FORCE_CORRIDOR = {2014: 88, 2015: 97, 2016: 71, 2017: 66, 2018: 61, 2019: 43}
_MPD_ARRESTS_CORRIDOR = {2014: 1900, 2015: 2000, 2016: 2450, 2017: 2400, 2018: 2300, 2019: 1700}
_NIBIN = {2016: 600, 2017: 850, 2018: 950, 2019: 720}


class _ActivityRows:
    def __init__(self, b: _Builder):
        self.b = b
        self.parts = []

    def add(self, agency: str, category: str, total: int, cells, weights, start: int, end: int, mean: float = 1.0,
            weight: str = "violent", target_area: str | None = None) -> None:
        b = self.b
        counts = b.composition(int(total), mean) if mean > 1 else np.ones(int(total), np.int64)
        m = counts.size
        if not m:
            return
        days = b.days(np.full(m, start), np.full(m, end), "activity")
        if target_area is None:
            w = np.asarray(weights, float)
            cell = np.asarray(cells)[np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), b.rng.random(m),
                                                                side="right"), len(w) - 1)]
            addr = b.place(cell, weight)
        else:
            cell = np.full(m, UNKNOWN)
            addr = np.full(m, -1)
        self.parts.append({"agency": agency, "category": category, "count": counts, "cell": cell, "addr": addr,
                           "occurred": b.times(days, "activity"), "target_area": target_area})

    def frame(self) -> pd.DataFrame:
        b, parts = self.b, self.parts
        size = [p["count"].size for p in parts]
        occurred = np.concatenate([p["occurred"] for p in parts])
        order = np.argsort(occurred, kind="stable")
        agency = np.repeat([schema.AGENCIES.index(p["agency"]) for p in parts], size)[order]
        category = np.repeat([schema.ACTIVITY_CATEGORIES.index(p["category"]) for p in parts], size)[order]
        target_area = np.repeat(np.array([p["target_area"] for p in parts], dtype=object), size)[order]
        cell = np.concatenate([p["cell"] for p in parts])[order]
        addr = np.concatenate([p["addr"] for p in parts])[order]
        n = order.size
        quantity = np.full(n, np.nan)
        unit = np.full(n, None, dtype=object)
        drugs = np.flatnonzero(category == schema.ACTIVITY_CATEGORIES.index("drug_seizure"))
        pills = b.rng.random(drugs.size) < 0.15
        quantity[drugs] = np.where(pills, np.round(b.rng.lognormal(np.log(20), 1.0, drugs.size)),
                                   np.round(b.rng.lognormal(np.log(14), 1.3, drugs.size), 1))
        unit[drugs] = np.where(pills, "pills", "g")
        ids = "A" + _yearly_numbers(occurred[order], 6)
        return pd.DataFrame({
            "record_id": ids, "incident_id": ids, "occurred": occurred[order],
            "agency": pd.Categorical.from_codes(agency, list(schema.AGENCIES)),
            "category": pd.Categorical.from_codes(category, list(schema.ACTIVITY_CATEGORIES)),
            "count": np.concatenate([p["count"] for p in parts])[order], "quantity": quantity, "unit": unit,
            "target_area": target_area, **_location_columns(b, cell, addr),
        })


def _activity(b: _Builder) -> pd.DataFrame:
    act = _ActivityRows(b)
    csc, csc_w = CORRIDOR_CELLS, _W_CORRIDOR
    oth, oth_w = OTHER_CELLS, _W_VIOLENT
    cde = np.array([10])
    every = np.arange(N_CELLS)
    every_w = _cell_mass(b, every, "violent")
    hot_w = _cell_mass(b, every, "hot")
    psp, fbi = _ts_day(PSP_START), _ts_day(FBI_START)
    for y in range(2012, 2020):
        s, e = _period(y, "year")
        part = 1.0 if y < 2019 else 0.75
        # gun recoveries: corridor and city totals as printed for 2015/2016; partners' share inside them
        fbi_guns = _FBI_CORRIDOR["gun_recovery"].get(y, 0)
        n_csc = _GUNS_CORRIDOR[y]
        partners = {"ATF": round(0.04 * n_csc), "DEA": round(0.03 * n_csc), "USMS": round(0.02 * n_csc)}
        act.add("FBI", "gun_recovery", fbi_guns, csc, csc_w, max(s, fbi), e, mean=1.3)
        for agency, k in partners.items():
            act.add(agency, "gun_recovery", k, csc, csc_w, s, e, mean=1.3)
        act.add("MPD", "gun_recovery", n_csc - fbi_guns - sum(partners.values()), csc, csc_w, s, e, mean=1.15)
        n_oth = _GUNS_CITY[y] - n_csc
        partners = {"ATF": round(0.03 * n_oth), "DEA": round(0.02 * n_oth), "USMS": round(0.02 * n_oth),
                    "FBI": round(0.01 * n_oth) if y >= 2016 else 0}
        for agency, k in partners.items():
            act.add(agency, "gun_recovery", k, oth, oth_w, s, e, mean=1.3)
        act.add("MPD", "gun_recovery", n_oth - sum(partners.values()), oth, oth_w, s, e, mean=1.15)
        if y < 2014:
            continue
        # MPD proactive work, complaints and use of force in the corridor (and the second area from 2017)
        for category, k in zip(_PROACTIVE, _PROACTIVE_CORRIDOR[y]):
            act.add("MPD", category, k, csc, csc_w, s, e)
            if y >= 2017:
                act.add("MPD", category, round(0.16 * k), cde, [1.0], s, e)
        act.add("MPD", "citizen_complaint", _COMPLAINTS_CORRIDOR[y], csc, csc_w, s, e)
        act.add("MPD", "use_of_force", _USE_OF_FORCE_CORRIDOR[y], csc, csc_w, s, e)
        act.add("MPD", "citizen_complaint", round(260 * part), oth, oth_w, s, e)
        act.add("MPD", "use_of_force", round(620 * part), oth, oth_w, s, e)
        act.add("MPD", "arrest", _MPD_ARRESTS_CORRIDOR[y], csc, csc_w, s, e)
        act.add("MPD", "firearm_arrest", round(260 * part), csc, csc_w, s, e)
        act.add("MPD", "firearm_arrest", round(1300 * part), oth, oth_w, s, e)
        act.add("MPD", "search_warrant", round(110 * part), csc, csc_w, s, e)
        act.add("MPD", "search_warrant", round(520 * part), oth, oth_w, s, e)
        act.add("MPD", "drug_seizure", round(380 * part), every, every_w, s, e)
        if y >= 2017:
            act.add("MPD", "arrest", {2017: 480, 2018: 500, 2019: 370}[y], cde, [1.0], s, e)
        if y < 2016:
            continue
        # federal partners from the PSP start (March 2016)
        s2 = max(s, psp)
        sf = max(s, fbi)
        act.add("FBI", "arrest", _FBI_CORRIDOR["arrest"][y], csc, csc_w, sf, e)
        act.add("FBI", "search_warrant", _FBI_CORRIDOR["search_warrant"][y], csc, csc_w, sf, e)
        act.add("FBI", "arrest", round(40 * part), oth, oth_w, s, e)
        act.add("USMS", "arrest", round(55 * part), csc, csc_w, s2, e)
        act.add("USMS", "arrest", round(150 * part), oth, oth_w, s, e)
        act.add("DEA", "arrest", round(18 * part), csc, csc_w, s2, e)
        act.add("DEA", "search_warrant", round(14 * part), csc, csc_w, s2, e)
        act.add("DEA", "drug_seizure", round(40 * part), every, every_w, s, e)
        act.add("ATF", "firearm_arrest", round(25 * part), csc, csc_w, s2, e)
        act.add("ATF", "firearm_arrest", round(60 * part), oth, oth_w, s, e)
        act.add("ATF", "search_warrant", round(9 * part), csc, csc_w, s2, e)
        act.add("ATF", "nibin_lead", _NIBIN[y], every, hot_w, s, e, weight="hot")
        # charging referrals are credited to the target area, not to a place
        act.add("DA", "other", {2016: 110, 2019: 100}.get(y, 140), None, None, s2, e, target_area=CORRIDOR)
        act.add("USAO", "other", {2016: 35, 2019: 32}.get(y, 45), None, None, s2, e, target_area=CORRIDOR)
        if y >= 2017:
            act.add("DA", "other", round(40 * part), None, None, s, e, target_area=SECOND_AREA)
    # community engagement over the PSP period, in the corridor and the districts around it
    around = np.array([7, 8, 9, 2, 4, 6])
    around_w = np.array([0.33, 0.18, 0.19, 0.10, 0.10, 0.10])
    act.add("MPD", "community_event", COMMUNITY_EVENTS, around, around_w, psp, END_DAY, weight="flat")
    act.add("MPD", "community_meeting", COMMUNITY_MEETINGS, around, around_w, psp, END_DAY, weight="flat")
    return act.frame()


# --- people links ----------------------------------------------------------------------------------------------------
_OFFENDER_POOL = 9000
_GROUPS = 48
_GROUP_SHARE = 0.06       # of linked offender incidents in the north side that a known crew commits together
_NORTH_SIDE = np.array([2, 4, 6, 7, 8, 9, 10])


def _people(b: _Builder, offenses: pd.DataFrame, shootings: pd.DataFrame) -> pd.DataFrame:
    """Victims, arrestees and suspects of violent incidents from 2014, with crews who offend together."""
    rng = b.rng
    first = np.datetime64("2014-01-01", "ns")
    occ = offenses["occurred"].to_numpy()
    category = offenses["category"].to_numpy().astype(object)
    ids = offenses["incident_id"]
    recent = occ >= first
    violent = recent & offenses["category"].isin(schema.PART1_VIOLENT).to_numpy()
    shot_ids = shootings["incident_id"]
    is_shooting = ids.isin(shot_ids).to_numpy()
    links = []  # (offense row, person number, role code)
    # victims: every shooting victim (a fatal one is the homicide's victim), other homicides, 30% of the rest
    s_recent = shootings["occurred"].to_numpy() >= first
    pos = pd.Index(ids).get_indexer(shot_ids[s_recent])  # incident ids are unique in the demo
    next_victim = 100_001
    n = pos.size
    victim = np.arange(next_victim, next_victim + n)
    overlap = rng.random(n) < 0.12   # some victims of shootings are known offenders themselves
    victim[overlap] = 1 + (_OFFENDER_POOL * rng.random(int(overlap.sum())) ** 2.2).astype(np.int64)
    next_victim += n
    links.append((pos, victim, np.full(n, 2)))
    other = np.flatnonzero(violent & ~is_shooting & ((category == "homicide") | (rng.random(occ.size) < 0.3)))
    links.append((other, np.arange(next_victim, next_victim + other.size), np.full(other.size, 2)))
    # offenders: arrestees of incidents cleared by arrest, suspects of a third of the open ones
    by_arrest = violent & (offenses["clearance_type"].to_numpy().astype(object) == "arrest")
    suspect = violent & ~offenses["cleared"].to_numpy() & (rng.random(occ.size) < 0.35)
    rows = np.flatnonzero(by_arrest | suspect)
    role = np.where(by_arrest[rows], 0, 1)
    # crews: members drawn from the most active part of the pool; a few people belong to two crews
    sizes = rng.integers(3, 10, _GROUPS)
    members = np.full((_GROUPS, 9), -1)
    for g in range(_GROUPS):
        members[g, :sizes[g]] = 1 + rng.choice(420, sizes[g], replace=False)
    north = np.isin(_cell_of_rows(b, offenses, rows), _NORTH_SIDE)
    crew = north & (rng.random(rows.size) < _GROUP_SHARE)
    crew_rows = rows[crew]
    g = rng.integers(0, _GROUPS, crew_rows.size)
    k = np.minimum(2 + (rng.random(crew_rows.size) < 0.35), sizes[g])
    keys = rng.random((crew_rows.size, 9))
    keys[members[g] < 0] = 2.0
    pick = np.take_along_axis(members[g], np.argsort(keys, axis=1), axis=1)
    for j in range(3):
        m = j < k
        links.append((crew_rows[m], pick[m, j], role[crew][m]))
    solo = rows[~crew]
    extra = 1 + (rng.random(solo.size) < 0.3) + (rng.random(solo.size) < 0.08)
    solo_rows = np.repeat(solo, extra)
    person = 1 + (_OFFENDER_POOL * rng.random(solo_rows.size) ** 2.2).astype(np.int64)
    links.append((solo_rows, person, np.repeat(role[~crew], extra)))
    row = np.concatenate([p[0] for p in links])
    person = np.concatenate([p[1] for p in links])
    rcode = np.concatenate([p[2] for p in links])
    df = pd.DataFrame({"row": row, "person": person, "role": rcode}).drop_duplicates(["row", "person"])
    df = df.sort_values(["row", "role", "person"], kind="stable").reset_index(drop=True)
    roles = np.array(["arrestee", "suspect", "victim"], dtype=object)
    return pd.DataFrame({
        "record_id": "L" + pd.Series(np.arange(len(df)) + 1).astype("str").str.zfill(7),
        "incident_id": offenses["incident_id"].to_numpy()[df["row"].to_numpy()],
        "person_id": "P" + df["person"].astype("str").str.zfill(6),
        "role": pd.Categorical(roles[df["role"].to_numpy()], categories=list(schema.PEOPLE_ROLES)),
        "occurred": occ[df["row"].to_numpy()],
    })


def _cell_of_rows(b: _Builder, offenses: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The cell of each offense row, from its district and the target areas (UNKNOWN without a location)."""
    city = b.city
    lon = offenses["lon"].to_numpy()[rows]
    lat = offenses["lat"].to_numpy()[rows]
    dist = geo.assign([city.districts[d] for d in DISTRICTS], lon, lat)
    cell = dist.astype(np.int64)
    csc = geo.contains(city.corridor, lon, lat)
    cell[csc & (dist == 2)] = 7
    cell[csc & (dist == 4)] = 8
    cell[csc & (dist == 6)] = 9
    cell[geo.contains(city.second_area, lon, lat)] = 10
    return cell


# ---------------------------------------------------------------------------------------------------------------------
_FILES = {"offenses": "demo_offenses.csv", "shootings": "demo_shootings.csv", "calls": "demo_calls_for_service.csv",
          "activity": "demo_partner_activity.csv", "people": "demo_people_links.csv"}


def _areas(b: _Builder) -> list[Area]:
    city = b.city
    note = "Fictional demo geography; no real place."
    areas = [Area(demo_city.CITY_NAME, "city", city.outline, population=POPULATION, source="demo", notes=note)]
    areas += [Area(d, "district", city.districts[d], population=demo_city.DISTRICT_POPULATION[d], source="demo",
                   notes=note) for d in DISTRICTS]
    areas.append(Area(CORRIDOR, "target_area", city.corridor, population=41_250, source="demo",
                      notes="PSP target area from March 2016: an east-west corridor across districts 3, 5 and 7."))
    areas.append(Area(SECOND_AREA, "target_area", city.second_area, population=14_870, source="demo",
                      notes="Second target area (expansion in 2017), inside district 5."))
    return areas


def build_demo(seed: int = DEFAULT_SEED, progress: Callable[[float], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> Workspace:
    """Generate the calibrated demo workspace (in memory). The same seed gives the same records."""
    def step(fraction: float) -> None:
        if should_stop is not None and should_stop():
            raise DemoCancelled("Building the demo workspace was cancelled; nothing was written.")
        if progress is not None:
            progress(fraction)

    step(0.0)
    b = _Builder(int(seed))
    step(0.1)
    offenses, shootings, shot_incidents = _offenses_and_shootings(b)
    step(0.45)
    calls = _calls(b, shot_incidents)
    step(0.6)
    activity = _activity(b)
    step(0.8)
    people = _people(b, offenses, shootings)
    step(0.9)
    ws = Workspace()
    ws.meta.update({"city": CITY_LABEL, "timezone": TIMEZONE, "population": POPULATION, "demo": True,
                    "demo_seed": int(seed), "data_as_of": DATA_AS_OF,
                    # the partnership's own Part I history: 2007-2015 baseline against 2016 (the case study's Table 1)
                    "part1_history": {"baseline": [2007, 2015], "current": 2016},
                    # the partnership's stated goal (case study): a 20 percent reduction in firearm-related violent
                    # crime in the corridor by September 2018, from the strategy of May 2016 against 2015
                    "goals": [{"name": "PSP goal: firearm-related violent crime in the corridor -20% by Sept 2018",
                               "measure": "firearm_violent_crime", "area_key": f"target_area:{CORRIDOR}",
                               "baseline_start": "2015-01-01", "baseline_end": "2015-12-31",
                               "target_change": -0.20, "start": "2016-06-01", "deadline": "2018-09-30"}]})
    for area in _areas(b):
        ws.put_area(area)
    from workstation.demo.context import demo_layers

    for layer in demo_layers(b.city):  # streets, bus routes and stops, premises, vacant properties, census blocks
        ws.put_layer(layer)
    frames = {"offenses": offenses, "shootings": shootings, "calls": calls, "activity": activity, "people": people}
    for load_id, (kind, df) in enumerate(frames.items(), start=1):
        df["load_id"] = load_id
        ws.set_frame(kind, df)
        ws.import_log.append(_log_entry(load_id, kind, ws.frame(kind)))
    ws.dirty = True
    step(1.0)
    return ws


def _log_entry(load_id: int, kind: str, df: pd.DataFrame) -> dict:
    """An import-log entry shaped like the importer's, for a file the demo pretends to have loaded."""
    n = len(df)
    by_category = {str(k): int(v) for k, v in df["category"].value_counts(sort=False).items() if v} \
        if "category" in df else {}
    return {
        "load_id": load_id, "kind": kind, "file_name": _FILES[kind], "file_size": None, "sha256": None,
        "loaded_at": LOADED_AT, "profile": "demo", "rows": n, "rows_read": n, "accepted": n, "rejected": 0,
        "added": n, "replaced": 0, "removed": 0, "records": n, "rejected_by_reason": {}, "by_category": by_category,
        "data_as_of": DATA_AS_OF, "warnings": [], "demo": True,
    }


def write_demo(path, seed: int = DEFAULT_SEED, progress: Callable[[float], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> Path:
    """Build the demo and save it atomically to ``path`` (a .psw file); a cancelled build writes nothing."""
    scaled = (lambda f: progress(0.85 * f)) if progress is not None else None
    ws = build_demo(seed, progress=scaled, should_stop=should_stop)
    out = ws.save(Path(path))
    if progress is not None:
        progress(1.0)
    return out


def cli_demo(args) -> int:
    """`python main.py demo --out demo.psw [--seed N]`: write the demo and say what was written and how fast."""
    seed = DEFAULT_SEED if getattr(args, "seed", None) is None else int(args.seed)
    t0 = time.perf_counter()
    ws = build_demo(seed)
    t1 = time.perf_counter()
    path = ws.save(Path(args.out))
    t2 = time.perf_counter()
    counts = ", ".join(f"{len(ws.frame(k)):,} {k}" for k in schema.DATASET_KINDS)
    print(f"Wrote the demo workspace {path} ({CITY_LABEL}, seed {seed}): {counts}; "
          f"{len(ws.districts)} districts, {len(ws.target_areas)} target areas; data as of {DATA_AS_OF}.")
    print(f"Built in {t1 - t0:.2f} s, saved in {t2 - t1:.2f} s, total {t2 - t0:.2f} s.")
    return 0

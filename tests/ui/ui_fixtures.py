"""Small hand-made workspaces for the UI tests: two square districts, a target area inside district 1, offenses and
shootings over 2016-2019 with known places and dates (deterministic)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from workstation.core import schema
from workstation.core.workspace import Area, Workspace

D1 = shapely.box(-88.0, 43.0, -87.9, 43.1)
D2 = shapely.box(-87.9, 43.0, -87.8, 43.1)
CORRIDOR = shapely.box(-87.98, 43.02, -87.94, 43.06)
AS_OF = pd.Timestamp("2019-09-29")


def small_workspace(seed: int = 11, n: int = 6000) -> Workspace:
    rng = np.random.default_rng(seed)
    ws = Workspace()
    ws.meta.update({"city": "Testville", "population": 100_000})
    ws.areas = [Area("1", "district", D1, population=50_000), Area("2", "district", D2, population=50_000),
                Area("Corridor", "target_area", CORRIDOR, population=8_000)]
    start = pd.Timestamp("2016-01-01").value
    end = (AS_OF + pd.Timedelta(hours=20)).value
    occurred = pd.to_datetime(np.sort(rng.integers(start, end, n))).astype("datetime64[ns]")
    # a third of the records inside the corridor, the rest anywhere in the two districts
    in_corr = rng.random(n) < 0.33
    lon = np.where(in_corr, rng.uniform(-87.98, -87.94, n), rng.uniform(-88.0, -87.8, n))
    lat = np.where(in_corr, rng.uniform(43.02, 43.06, n), rng.uniform(43.0, 43.1, n))
    no_xy = rng.random(n) < 0.03
    lon[no_xy] = np.nan
    lat[no_xy] = np.nan
    district = np.where(lon < -87.9, "1", "2").astype(object)
    district[no_xy] = rng.choice(["1", "2"], int(no_xy.sum()))
    cats = rng.choice(list(schema.PART1), n, p=[0.01, 0.02, 0.1, 0.12, 0.15, 0.45, 0.13, 0.02])
    ids = [f"T{i:06d}" for i in range(n)]
    offenses = pd.DataFrame({
        "record_id": ids, "incident_id": ids, "occurred": occurred, "category": cats,
        "firearm": (rng.random(n) < 0.3) & np.isin(cats, schema.PART1_VIOLENT),
        "lat": lat, "lon": lon, "district": district,
        "address": [f"{100 + i % 900} N TEST ST" for i in range(n)], "load_id": 1,
    })
    ws.frames["offenses"] = schema.conform(offenses, "offenses")
    m = 400
    socc = pd.to_datetime(np.sort(rng.integers(start, end, m))).astype("datetime64[ns]")
    sids = [f"S{i:05d}" for i in range(m)]
    shootings = pd.DataFrame({
        "record_id": sids, "incident_id": sids, "occurred": socc, "fatal": rng.random(m) < 0.2,
        "lat": rng.uniform(43.0, 43.1, m), "lon": rng.uniform(-88.0, -87.8, m), "load_id": 2,
    })
    ws.frames["shootings"] = schema.conform(shootings, "shootings")
    ws.import_log = [
        {"load_id": 1, "kind": "offenses", "file_name": "offenses.csv", "rows_read": n, "accepted": n,
         "rejected": 0, "loaded_at": "2019-09-30T08:00:00", "data_as_of": "2019-09-29"},
        {"load_id": 2, "kind": "shootings", "file_name": "shootings.csv", "rows_read": m, "accepted": m,
         "rejected": 0, "loaded_at": "2019-09-30T08:01:00", "data_as_of": "2019-09-29"},
    ]
    ws.dirty = False
    return ws

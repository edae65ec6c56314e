"""A hand-built workspace for the shoot review: every incident, distance, date and person placed deliberately.

As of 2019-09-29 the review window is 23–29 September 2019. Around point C (inside the Center Street Corridor):
- S-A      review shooting at C, 27 Sep 20:00, two victims (one fatal); its homicide offense shares the incident id
- S-AFTER  review shooting 50 m south of C, 28 Sep 12:00, one victim (inside the corridor too)
- P1       390 m north of C, 1 Jun 2019            (inside the 400 m radius of S-A)
- P2       410 m east of C, 1 Jun 2019             (outside the radius of S-A)
- P3       100 m north of C, 27 Sep 2018 19:00    (in the radius, but 365 days + 1 hour before S-A)
- P4       100 m north of C, 27 Sep 2018 21:00, two victims (in the radius, 365 days − 1 hour before S-A)
- S-OLD    200 m west of C, 22 Sep 2019 23:59     (the day before the window: not a row, but a prior shooting)
Far away: H-1, a homicide offense with no shooting record (24 Sep 03:00, district 1), and S-N, a shooting without
coordinates (28 Sep 09:00, district 3).

Priors (400 m, 365 days): S-A = P1, P4, S-OLD = 3; S-AFTER = S-A, S-OLD = 2 (P1 is 440 m, P2 413 m away, P4 over
a year before);
H-1 = 0; S-N blank.
People: S-A links X1 (also in P1), X2 (also in OTHER, 1 Jan 2019), X3 (only elsewhere after the as-of date), V1;
X1 twice (two roles). H-1 links X1. So S-A: 4 linked, 2 repeat; H-1: 1 linked, 1 repeat.
Default weights 5/2/0.5/1/2 give S-A 14.5, H-1 8, S-AFTER 5, S-N 2.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Geod

from reports_data import CSC, base_workspace, outside_areas

C_LON, C_LAT = CSC.centroid.x, CSC.centroid.y
NASTY_ADDRESS = '=HYPERLINK("http://evil.example","x")'
_GEOD = Geod(ellps="WGS84")


def offset(metres: float, azimuth: float) -> tuple[float, float]:
    lon, lat, _ = _GEOD.fwd(C_LON, C_LAT, azimuth, metres)
    return float(lon), float(lat)


def shoot_review_workspace(address_a: str = "1200 W CENTER ST"):
    ws = base_workspace()
    far_lon, far_lat = outside_areas("1").centroid.x, outside_areas("1").centroid.y
    shootings = []  # (incident, occurred, fatal, lon, lat, district, address)

    def shot(inc, when, lonlat, fatal=(False,), district="5", address="X"):
        for k, f in enumerate(fatal):
            shootings.append({"record_id": f"{inc}-{k + 1}", "incident_id": inc, "occurred": pd.Timestamp(when),
                              "fatal": f, "lon": lonlat[0], "lat": lonlat[1], "district": district,
                              "address": address, "load_id": 1})

    shot("S-A", "2019-09-27 20:00", (C_LON, C_LAT), fatal=(True, False), address=address_a)
    shot("S-AFTER", "2019-09-28 12:00", offset(50, 180), address="1210 W CENTER ST")
    shot("P1", "2019-06-01 10:00", offset(390, 0))
    shot("P2", "2019-06-01 11:00", offset(410, 90))
    shot("P3", "2018-09-27 19:00", offset(100, 0))
    shot("P4", "2018-09-27 21:00", offset(100, 0), fatal=(False, False))
    shot("S-OLD", "2019-09-22 23:59", offset(200, 270))
    shot("S-N", "2019-09-28 09:00", (np.nan, np.nan), district="3", address="UNKNOWN BLOCK")
    ws.set_frame("shootings", pd.DataFrame(shootings))

    offenses = pd.DataFrame([
        {"record_id": "O-1", "incident_id": "S-A", "occurred": pd.Timestamp("2019-09-27 20:00"),
         "category": "homicide", "firearm": True, "lon": C_LON, "lat": C_LAT, "district": "5", "load_id": 1},
        {"record_id": "O-2", "incident_id": "H-1", "occurred": pd.Timestamp("2019-09-24 03:00"),
         "category": "homicide", "firearm": False, "lon": far_lon, "lat": far_lat, "district": "1",
         "address": "100 S FIRST ST", "load_id": 1},
        {"record_id": "O-3", "incident_id": "H-OLD", "occurred": pd.Timestamp("2019-09-01 03:00"),
         "category": "homicide", "firearm": False, "lon": far_lon, "lat": far_lat, "district": "1", "load_id": 1},
        {"record_id": "O-4", "incident_id": "OTHER", "occurred": pd.Timestamp("2019-01-01 12:00"),
         "category": "robbery", "lon": far_lon, "lat": far_lat, "district": "1", "load_id": 1},
    ])
    ws.set_frame("offenses", offenses)

    links = [("S-A", "X1", "suspect", "2019-09-27"), ("S-A", "X1", "arrestee", "2019-09-27"),
             ("S-A", "X2", "suspect", "2019-09-27"), ("S-A", "X3", "suspect", "2019-09-27"),
             ("S-A", "V1", "victim", "2019-09-27"), ("P1", "X1", "suspect", "2019-06-01"),
             ("OTHER", "X2", "arrestee", "2019-01-01"), ("LATER", "X3", "arrestee", "2019-10-05"),
             ("H-1", "X1", "suspect", "2019-09-24")]
    ws.set_frame("people", pd.DataFrame([
        {"record_id": f"L{i}", "incident_id": inc, "person_id": p, "role": role, "occurred": pd.Timestamp(d),
         "load_id": 1} for i, (inc, p, role, d) in enumerate(links)]))
    return ws


EXPECTED = {  # incident: (kind, victims, fatal, prior, linked, repeat, target area, score)
    "S-A": ("Fatal shooting", 2, 1, 3, 4, 2, "Center Street Corridor", 14.5),
    "H-1": ("Homicide", 1, 1, 0, 1, 1, "", 8.0),
    "S-AFTER": ("Shooting", 1, 0, 2, 0, 0, "Center Street Corridor", 5.0),
    "S-N": ("Shooting", 1, 0, None, 0, 0, "", 2.0),
}

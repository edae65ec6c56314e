"""A hand-built people dataset whose co-offending graph is known exactly.

Two triangles joined through a bridge person X, plus a pair, a loner and a victim:

    A - B - C  (I1: A, B, C; I2: A, B again, in 2018)       C - X (I4, a fatal shooting)   X - D (I5, a robbery)
    D - E - F  (I3: D, E, F; I8: E, F again, outside the target area)
    G - P  (I6)        L alone (I7)        V: victim on I1

Unnormalised betweenness: X 9 (every path between the triangles), C 8, D 8, the rest 0. Core numbers: the seven of
the big group 2, G and P 1, L 0.
"""
from __future__ import annotations

import pandas as pd
import shapely

from workstation.core.workspace import Area, Workspace

CITY = shapely.box(-88.0, 43.0, -87.9, 43.1)
TARGET = shapely.box(-88.0, 43.0, -87.95, 43.1)   # the west half
INSIDE = (-87.98, 43.05)
OUTSIDE = (-87.92, 43.05)

# incident: (date, category or "shooting", inside the target area, [(person, role)])
INCIDENTS = {
    "I1": ("2019-03-01", "aggravated_assault", True, [("A", "arrestee"), ("B", "arrestee"), ("C", "suspect"),
                                                      ("V", "victim")]),
    "I2": ("2018-01-05", "robbery", True, [("A", "arrestee"), ("B", "suspect")]),
    "I3": ("2019-04-01", "burglary", True, [("D", "arrestee"), ("E", "arrestee"), ("F", "arrestee")]),
    "I4": ("2019-05-01", "shooting", True, [("C", "suspect"), ("X", "suspect")]),
    "I5": ("2019-05-20", "robbery", True, [("X", "arrestee"), ("D", "arrestee")]),
    "I6": ("2019-06-01", "larceny_theft", True, [("G", "suspect"), ("P", "suspect")]),
    "I7": ("2019-06-02", "robbery", True, [("L", "arrestee")]),
    "I8": ("2019-06-03", "robbery", False, [("E", "arrestee"), ("F", "suspect")]),
}


def network_workspace() -> Workspace:
    ws = Workspace()
    ws.meta["city"] = "Nettown"
    ws.areas.append(Area("Nettown", "city", CITY))
    ws.areas.append(Area("West Side", "target_area", TARGET))
    off, sh, people = [], [], []
    for k, (day, cat, inside, who) in INCIDENTS.items():
        lon, lat = INSIDE if inside else OUTSIDE
        when = pd.Timestamp(day) + pd.Timedelta(hours=21)
        if cat == "shooting":
            sh.append({"record_id": f"S{k}", "incident_id": k, "occurred": when, "fatal": True, "lon": lon,
                       "lat": lat, "district": "1", "load_id": 1})
            off.append({"record_id": f"O{k}", "incident_id": k, "occurred": when, "category": "homicide",
                        "firearm": True, "lon": lon, "lat": lat, "district": "1", "load_id": 1})
        else:
            off.append({"record_id": f"O{k}", "incident_id": k, "occurred": when, "category": cat, "lon": lon,
                        "lat": lat, "district": "1", "load_id": 1})
        for person, role in who:
            # the link's own date is left out on I5 so the incident's date has to stand in
            people.append({"record_id": f"L{k}{person}", "incident_id": k, "person_id": person, "role": role,
                           "occurred": pd.NaT if k == "I5" else when, "load_id": 1})
    ws.set_frame("offenses", pd.DataFrame(off))
    ws.set_frame("shootings", pd.DataFrame(sh))
    ws.set_frame("people", pd.DataFrame(people))
    return ws

"""Geometry of the demo city "Lakeport": outline, seven districts, two target areas and a street-grid of addresses.

The city is drawn in a local Lambert azimuthal equal-area frame (metres) centred in Wisconsin-like coordinates, so
that planar areas are true areas; it is converted to WGS84 lon/lat only at the end. Districts are the faces of the
outline noded together with the district lines (``shapely.polygonize``), so neighbours share exactly the same
vertices and the seven districts tile the city with no gap or overlap. Nothing here is random: the city looks the
same for every seed; only the records vary.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from workstation.engine import geometry as geo

CITY_NAME = "Lakeport"
LON0, LAT0 = -87.95, 43.05
CRS = geo.local_equal_area_crs(LON0, LAT0)

CITY_SQ_MILES = 96.8
CORRIDOR_NAME = "Center Street Corridor"
CORRIDOR_SQ_MILES = 2.30
SECOND_AREA_NAME = "Capitol Drive East"

POPULATION = 594_833
# Resident population by district (fictional; sums to POPULATION).
DISTRICT_POPULATION = {"1": 41_372, "2": 97_118, "3": 88_407, "4": 118_236, "5": 84_960, "6": 86_519, "7": 78_221}
DISTRICTS = tuple(DISTRICT_POPULATION)

# --- the design, in kilometres (x east, y north) before scaling to the exact city area -----------------------------
# Lake shore on the east, annexation jogs on the west.
_OUTLINE_KM = [
    (-4.5, -12.0), (-4.1, -10.2), (-5.2, -8.0), (-4.8, -6.5), (-6.3, -4.0), (-5.7, -2.6), (-6.0, -1.0),
    (-6.8, 2.0), (-7.0, 6.0), (-6.2, 8.0), (-6.4, 10.1), (-6.6, 12.5), (-3.0, 12.8), (-1.0, 11.8), (0.5, 12.3),
    (3.0, 11.5), (3.6, 10.0), (4.0, 8.0), (4.6, 5.0), (4.3, 2.0), (5.2, -0.5), (4.7, -3.0), (5.3, -4.6),
    (5.6, -6.0), (5.0, -9.0), (4.6, -10.6), (4.2, -12.3), (1.0, -11.7), (-2.0, -12.4),
]
# District lines running west-east (y as a function of x) ...
_XS = np.array([-12.0, -6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 12.0])
_H_LINES_KM = {
    "h1": np.array([-7.2, -7.2, -6.8, -7.1, -7.4, -7.0, -6.6, -6.6]),   # river between districts 6 and 2
    "h2": np.array([-2.3, -2.3, -2.6, -2.9, -2.5, -2.2, -2.4, -2.4]),   # the valley north of district 2
    "h3": np.array([1.0, 1.0, 1.0, 0.9, 0.9, 1.1, 1.1, 1.1]),
    "h4": np.array([5.0, 5.0, 5.2, 5.2, 4.9, 4.9, 5.0, 5.0]),
    "h5": np.array([8.6, 8.6, 8.4, 8.4, 8.6, 8.6, 8.5, 8.5]),
}
# ... and lines running south-north inside one band (x as a function of y): (band below, band above, ys, xs).
_V_LINES_KM = {
    "v1": ("h2", "h3", np.array([-4.0, -1.0, 0.0, 3.0]), np.array([1.1, 1.1, 0.8, 0.8])),      # 3 | 1
    "v2": ("h2", "h3", np.array([-4.0, -1.5, -1.5, 3.0]), np.array([-3.0, -3.0, -3.2, -3.2])),  # 7 | 3
    "v3": ("h3", "h4", np.array([0.0, 2.5, 2.5, 7.0]), np.array([-2.4, -2.4, -2.6, -2.6])),     # 7 | 3
    "v4": ("h3", "h4", np.array([0.0, 3.6, 3.6, 7.0]), np.array([1.5, 1.5, 1.3, 1.3])),         # 3 | 5
    "v5": ("h4", "h5", np.array([4.0, 10.0]), np.array([-1.0, -1.0])),                         # 4 | 5
}

# Target areas: bands along a street; offsets (north, south of the street) in km at the given xs.
_CORRIDOR_KM = dict(y=3.0, xs=[-5.0, -3.4, -1.0, 0.6, 2.2, 3.6],
                    north=[0.30, 0.42, 0.36, 0.36, 0.44, 0.30], south=[0.32, 0.32, 0.40, 0.30, 0.30, 0.30])
_SECOND_KM = dict(y=6.9, xs=[-0.3, 1.2, 2.4, 3.4], north=[0.28, 0.30, 0.34, 0.28], south=[0.30, 0.30, 0.26, 0.28])

# Hot spots of violence (km, weight, spread km): the corridor, the north side and the near south side.
HOTSPOTS_KM = [
    (-3.6, 3.0, 1.0, 0.9), (-0.8, 3.1, 1.2, 1.0), (2.4, 3.1, 0.9, 0.8), (1.5, 6.9, 0.8, 0.9), (-4.0, 6.6, 0.6, 1.2),
    (-1.0, -4.5, 0.5, 1.2), (-4.5, 0.0, 0.4, 1.0), (2.5, -0.8, 0.25, 0.6),
]


def _district_of(x_km: np.ndarray, y_km: np.ndarray) -> np.ndarray:
    """The district rule the lines above draw (used only to label the faces)."""
    h = {k: np.interp(x_km, _XS, v) for k, v in _H_LINES_KM.items()}
    v = {k: np.interp(y_km, ys, xs) for k, (_, _, ys, xs) in _V_LINES_KM.items()}
    out = np.full(np.shape(x_km), "4", dtype=object)
    out[y_km < h["h5"]] = np.where(x_km < v["v5"], "4", "5")[y_km < h["h5"]]
    mid = y_km < h["h4"]
    out[mid] = np.where(x_km < v["v3"], "7", np.where(x_km < v["v4"], "3", "5"))[mid]
    low = y_km < h["h3"]
    out[low] = np.where(x_km < v["v2"], "7", np.where(x_km < v["v1"], "3", "1"))[low]
    out[y_km < h["h2"]] = "2"
    out[y_km < h["h1"]] = "6"
    return out


def _band(spec: dict, scale: float):
    """A polygon between the street's north and south offsets; area = integral of (north + south) dx."""
    import shapely

    xs = np.asarray(spec["xs"]) * scale
    y = spec["y"] * scale
    north = y + np.asarray(spec["north"]) * scale
    south = y - np.asarray(spec["south"]) * scale
    ring = list(zip(xs, north)) + list(zip(xs[::-1], south[::-1]))
    return shapely.Polygon(ring)


def _scaled_band(spec: dict, scale: float, target_sq_miles: float):
    """The band with its offsets scaled so that its geodesic area is ``target_sq_miles``."""
    import shapely

    factor = 1.0
    for _ in range(3):  # planar area in an equal-area frame is already within ppm; two rounds settle it
        s = dict(spec, north=np.asarray(spec["north"]) * factor, south=np.asarray(spec["south"]) * factor)
        poly = _band(s, scale)
        wgs = geo.transform_geometry(poly, CRS)
        factor *= target_sq_miles / geo.area_sq_miles(wgs)
    return poly, shapely.normalize(wgs)


@dataclass(frozen=True)
class City:
    outline: object                  # WGS84 polygon
    districts: dict                  # "1".."7" -> WGS84 polygon
    corridor: object                 # WGS84 polygon
    second_area: object              # WGS84 polygon
    projected: dict                  # the same shapes in the local metre frame (for sampling and distances)
    scale: float                     # metres per design km


@lru_cache(maxsize=1)
def build_city() -> City:
    import shapely
    import shapely.affinity

    outline_km = shapely.Polygon(_OUTLINE_KM)
    planar_sq_miles = outline_km.area * 1e6 / geo.SQ_METRES_PER_SQ_MILE
    scale = 1000.0 * np.sqrt(CITY_SQ_MILES / planar_sq_miles)
    outline = shapely.affinity.scale(outline_km, scale, scale, origin=(0, 0))
    # the outline is exactly 96.8 sq mi in the plane; correct the small planar/geodesic difference
    wgs = geo.transform_geometry(outline, CRS)
    k = np.sqrt(CITY_SQ_MILES / geo.area_sq_miles(wgs))
    scale *= k
    outline = shapely.affinity.scale(outline_km, scale, scale, origin=(0, 0))

    lines = [outline.exterior]
    xs = _XS * scale
    for ys in _H_LINES_KM.values():
        lines.append(shapely.LineString(np.column_stack([xs, ys * scale])))
    for _, _, ys, vx in _V_LINES_KM.values():
        ys = ys * scale
        lines.append(shapely.LineString(np.column_stack([vx * scale, ys])))
    noded = shapely.union_all(lines)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = [f for f in faces if outline.contains(f.representative_point())]
    pts = np.array([f.representative_point().coords[0] for f in faces]) / scale
    labels = _district_of(pts[:, 0], pts[:, 1])
    districts_m = {d: shapely.union_all([f for f, lab in zip(faces, labels) if lab == d]) for d in DISTRICTS}
    # the noded outline (with the vertices where district lines meet it) so that the districts tile it exactly
    outline = shapely.union_all(faces)

    corridor_m, corridor = _scaled_band(_CORRIDOR_KM, scale, CORRIDOR_SQ_MILES)
    second_m = _band(_SECOND_KM, scale)
    projected = dict(outline=outline, corridor=corridor_m, second_area=second_m, **{f"d{d}": g for d, g in
                                                                                     districts_m.items()})
    to_wgs = lambda g: shapely.normalize(geo.transform_geometry(g, CRS))  # noqa: E731
    return City(
        outline=to_wgs(outline), districts={d: to_wgs(g) for d, g in districts_m.items()}, corridor=corridor,
        second_area=to_wgs(second_m), projected=projected, scale=scale,
    )


def address_text(x, y, on_ew, scale) -> np.ndarray:
    """Block addresses in the grid city's style: '2418 W CENTER ST', '3350 N 27TH ST'."""
    x0 = 3.4 * scale   # the river: streets west of it are "W", east "E"
    ew_names = _street_names()
    gy = np.round(y / 200.0).astype(int)
    names = np.array([ew_names[i % len(ew_names)] for i in range(gy.min(), gy.max() + 1)], dtype=object)
    names[int(round(3.0 * scale / 200)) - gy.min()] = "CENTER ST"
    names[int(round(6.9 * scale / 200)) - gy.min()] = "CAPITOL DR"
    names[int(round(-0.6 * scale / 200)) - gy.min()] = "WISCONSIN AVE"
    num_ew = (np.abs(x - x0) / 2.0).astype(int)  # 100 numbers per 200 m block
    g0 = int(gy.min())
    ew = [f"{n} {'W' if xx < x0 else 'E'} {names[g - g0]}"
          for n, xx, g in zip(num_ew.tolist(), x.tolist(), gy.tolist())]
    street = np.round((x0 - x) / 200.0).astype(int)
    num_ns = (np.abs(y) / 2.0).astype(int)
    lake = ("HARBOR AVE", "LAKE DR", "BLUFF AVE", "SHORE DR", "BEACON ST", "PIER ST", "DUNE AVE", "GULL ST")

    def ns_name(s: int) -> str:
        if s <= 0:
            return lake[(-s) % len(lake)]
        suffix = "TH" if 10 <= s % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(s % 10, "TH")
        return f"{s}{suffix} ST"

    ns_names = {s: ns_name(s) for s in np.unique(street).tolist()}
    ns = [f"{n} {'N' if yy >= 0 else 'S'} {ns_names[s]}" for n, yy, s in zip(num_ns.tolist(), y.tolist(),
                                                                             street.tolist())]
    return np.where(on_ew, np.array(ew, dtype=object), np.array(ns, dtype=object))


def _street_names() -> list[str]:
    base = ["OAK", "MAPLE", "ELM", "CEDAR", "BIRCH", "WALNUT", "CHESTNUT", "WILLOW", "SPRUCE", "ASPEN", "LINDEN",
            "HICKORY", "POPLAR", "JUNIPER", "SYCAMORE", "ALDER", "LAUREL", "MAGNOLIA", "HAWTHORN", "CYPRESS",
            "ORCHARD", "MEADOW", "PRAIRIE", "RIDGE", "VALLEY", "HILLSIDE", "BROOK", "MILL", "FORGE", "FOUNDRY",
            "CANAL", "RAILWAY", "DEPOT", "MARKET", "CHAPEL", "ACADEMY", "GARDEN", "GROVE", "PARK", "HARMONY",
            "LIBERTY", "UNION", "FRANKLIN", "MONROE", "ADAMS", "HAYES", "GRANT", "TYLER", "POLK", "PIERCE",
            "FILLMORE", "HARRISON", "ARTHUR", "TAFT", "WILSON", "HARDING", "COOLIDGE", "HOOVER", "TRUMAN", "KEYSTONE",
            "SUMMIT", "BEECHER", "LOCKWOOD", "FAIRVIEW"]
    suffixes = ["ST", "AVE", "ST", "AVE", "PL", "ST", "AVE", "BLVD"]
    return [f"{b} {suffixes[i % len(suffixes)]}" for i, b in enumerate(base)]

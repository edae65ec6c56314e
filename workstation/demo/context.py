"""The demo city's reference layers: streets, bus routes and stops, licensed premises, vacant properties, census blocks.

Everything follows the grid the records' addresses lie on (streets every 200 m, named as in ``city.address_text``)
and the same hot-spot surface the incidents are drawn from (``city.HOTSPOTS_KM``), so that taverns line the arterials
where the violence is and vacant lots gather on the north side. Like the city's outline, the layers are the same for
every seed (their own fixed random stream), so a first start always looks like the same city.

Census blocks are the grid's blocks cut by the district lines and by the two target areas (a block never straddles a
district, so the districts keep their populations exactly). Their populations are whole people that sum to each
district's population and so to the city's 594,833; the blocks inside the Center Street Corridor hold its 41,250 and
those inside Capitol Drive East its 14,870, so the areal-weighted census figure of each area equals the figure the
partnership published.
"""
from __future__ import annotations

import json

import numpy as np

from workstation.core.workspace import Layer, layer_frame
from workstation.demo import city as demo_city
from workstation.engine import geometry as geo

GRID_M = 200.0
LOADED_AT = "2019-01-07T08:00:00"
CORRIDOR_POPULATION = 41_250
SECOND_AREA_POPULATION = 14_870
PERSONS_PER_HOUSEHOLD = 2.4
# bus routes: (route, street as named in the addresses, east-west?)
BUS_ROUTES = (("Route 21 Center St", "CENTER ST", True), ("Route 62 Capitol Dr", "CAPITOL DR", True),
              ("Route 30 Wisconsin Ave", "WISCONSIN AVE", True), ("Route 27 27th St", "27TH ST", False),
              ("Route 35 35th St", "35TH ST", False), ("Route 19 11th St", "11TH ST", False))
ARTERIALS_EW = ("CENTER ST", "CAPITOL DR", "WISCONSIN AVE")


def _hot(x, y, scale) -> np.ndarray:
    out = np.zeros(np.shape(x))
    for hx, hy, w, s in demo_city.HOTSPOTS_KM:
        out += w * np.exp(-((x / scale - hx) ** 2 + (y / scale - hy) ** 2) / (2 * s * s))
    return out


def _to_wgs(geoms):
    import shapely

    t = geo._transformer(demo_city.CRS, "EPSG:4326")
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _props(rows) -> list[str]:
    """Each feature's attributes as a JSON object (pandas writes them all at once: a json.dumps per feature costs a
    second for the demo's 23,000 features)."""
    import pandas as pd

    rows = list(rows)
    if not rows:
        return []
    return pd.DataFrame(rows).to_json(orient="records", lines=True, force_ascii=False).splitlines()


def _street_name(x, y, on_ew, scale) -> np.ndarray:
    """The street a point of the grid lies on, as the records' addresses name it ('W CENTER ST', 'N 27TH ST')."""
    return np.array([a.split(" ", 1)[1] for a in demo_city.address_text(x, y, on_ew, scale)], dtype=object)


def _is_arterial(names) -> np.ndarray:
    out = np.zeros(len(names), dtype=bool)
    for i, n in enumerate(names):
        base = n.split(" ", 1)[1] if " " in n else n
        num = base.split(" ", 1)[0][:-2]
        out[i] = base in ARTERIALS_EW or (num.isdigit() and int(num) % 8 == 3)
    return out


def streets(city) -> dict:
    """Street centreline segments from intersection to intersection, clipped to the city."""
    import shapely

    outline = city.projected["outline"]
    minx, miny, maxx, maxy = outline.bounds
    gx = np.arange(np.floor(minx / GRID_M) * GRID_M, maxx + GRID_M, GRID_M)
    gy = np.arange(np.floor(miny / GRID_M) * GRID_M, maxy + GRID_M, GRID_M)
    ex0, ey = np.meshgrid(gx[:-1], gy)          # east-west segments (x0 -> x0 + GRID_M at y)
    nx, ny0 = np.meshgrid(gx, gy[:-1])          # north-south segments
    x0 = np.concatenate([ex0.ravel(), nx.ravel()])
    y0 = np.concatenate([ey.ravel(), ny0.ravel()])
    on_ew = np.concatenate([np.ones(ex0.size, bool), np.zeros(nx.size, bool)])
    x1 = np.where(on_ew, x0 + GRID_M, x0)
    y1 = np.where(on_ew, y0, y0 + GRID_M)
    segs = shapely.linestrings(np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1))
    shapely.prepare(outline)
    keep = shapely.intersects(outline, segs)
    segs, x0, y0, x1, y1, on_ew = segs[keep], x0[keep], y0[keep], x1[keep], y1[keep], on_ew[keep]
    whole = shapely.contains_properly(outline, segs)       # most segments: no clipping needed
    segs = segs.copy()
    segs[~whole] = shapely.intersection(segs[~whole], outline)
    ok = ~shapely.is_empty(segs) & (shapely.length(segs) > 1.0) & np.isin(
        shapely.get_type_id(segs), [1, 5])
    segs, x0, y0, x1, y1, on_ew = segs[ok], x0[ok], y0[ok], x1[ok], y1[ok], on_ew[ok]
    mx, my = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    names = _street_name(mx, my, on_ew, city.scale)
    arterial = _is_arterial(names)
    return dict(geoms=segs, names=names, arterial=arterial, mx=mx, my=my, on_ew=on_ew)


def _bus(city, st: dict) -> tuple[list, list, list, list]:
    import shapely

    routes, route_names, stops, stop_rows = [], [], [], []
    for route, street, ew in BUS_ROUTES:
        base = np.array([n.split(" ", 1)[1] for n in st["names"]], dtype=object)
        m = (base == street) & (st["on_ew"] == ew)
        if not m.any():
            continue
        line = shapely.line_merge(shapely.union_all(st["geoms"][m]))
        routes.append(line)
        route_names.append(route)
        for part in shapely.get_parts(line):
            n = int(part.length // 400) + 1
            for d in np.linspace(0, part.length, n + 1)[1:-1] if n > 1 else [part.length / 2]:
                stops.append(part.interpolate(float(d)))
                stop_rows.append(route)
    return routes, route_names, stops, stop_rows


def _points_on_streets(city, st, rng, n: int, arterial_weight: float, power: float, offset_m: float):
    """``n`` distinct address points on the grid (every 25 m), chosen by hot-spot intensity, set back ``offset_m``
    from the centreline into the block."""
    import shapely

    segs = st["geoms"]
    along = np.linspace(0.1, 0.9, 5)
    pts = shapely.line_interpolate_point(np.repeat(segs, along.size), np.tile(along, segs.size), normalized=True)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    art = np.repeat(st["arterial"], along.size)
    ew = np.repeat(st["on_ew"], along.size)
    w = (0.08 + _hot(x, y, city.scale)) ** power * np.where(art, arterial_weight, 1.0)
    pick = rng.choice(x.size, n, replace=False, p=w / w.sum())
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0) * offset_m
    px = x[pick] + np.where(ew[pick], 0.0, side)
    py = y[pick] + np.where(ew[pick], side, 0.0)
    inside = shapely.contains_xy(city.projected["outline"], px, py)
    return px[inside], py[inside], ew[pick][inside], x[pick][inside], y[pick][inside]


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole numbers in proportion to ``weights`` that sum exactly to ``total``."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(weights.size, dtype=np.int64)
    exact = weights / weights.sum() * total
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    if short:
        base[np.argsort(-(exact - base), kind="stable")[:short]] += 1
    return base


def census_blocks(city, rng) -> dict:
    """Grid blocks cut by districts and target areas, with whole-person populations (see the module docstring).

    The cutting is done in WGS84 lon/lat on the stored district and target-area polygons, so that block edges lie
    exactly on those boundaries (a block cut in the metre frame would bulge past a lon/lat edge by millimetres and
    leak a fraction of a person across it)."""
    import shapely

    outline = city.projected["outline"]
    minx, miny, maxx, maxy = outline.bounds
    gx = np.arange(np.floor(minx / GRID_M) * GRID_M, maxx, GRID_M)
    gy = np.arange(np.floor(miny / GRID_M) * GRID_M, maxy, GRID_M)
    cx, cy = np.meshgrid(gx, gy)
    cx, cy = cx.ravel(), cy.ravel()
    cells = _to_wgs(shapely.box(cx, cy, cx + GRID_M, cy + GRID_M))
    zones = [("corridor", city.corridor), ("second_area", city.second_area)]
    tree = shapely.STRtree(cells)
    geoms, district, zone, cell_of = [], [], [], []

    def add(region, d, label):
        idx = tree.query(region)
        shapely.prepare(region)
        pieces = cells[idx].copy()
        cut = ~shapely.contains_properly(region, pieces)   # blocks wholly inside need no clipping
        pieces[cut] = shapely.intersection(pieces[cut], region)
        geoms.extend(pieces)
        cell_of.extend(idx)
        district.extend([d] * len(pieces))
        zone.extend([label] * len(pieces))

    for d in demo_city.DISTRICTS:
        dpoly = city.districts[d]
        rest = dpoly
        for zname, z in zones:
            zpart = shapely.intersection(dpoly, z)
            rest = shapely.difference(rest, z)
            if not zpart.is_empty and zpart.area > 0:
                add(zpart, d, zname)
        add(rest, d, "")
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    district = np.asarray(district, dtype=object)
    zone = np.asarray(zone, dtype=object)
    cell_of = np.asarray(cell_of, dtype=np.int64)
    present = np.array([g is not None for g in geoms], dtype=bool)
    area = np.zeros(geoms.size)
    area[present] = shapely.area(geoms[present])
    ok = present & (area > 1e-10)  # slivers under ~ 1 m2
    geoms, district, zone, cell_of, area = geoms[ok], district[ok], zone[ok], cell_of[ok], area[ok]
    x, y = cx[cell_of] + GRID_M / 2, cy[cell_of] + GRID_M / 2
    # people per unit area: denser near the hot spots and downtown, thinner at the edges; one block in nine is a
    # park, school ground or industrial land with nobody living there
    density = (0.6 + _hot(x, y, city.scale)) * rng.lognormal(0.0, 0.35, x.size)
    density[rng.random(x.size) < 0.11] = 0.0
    weight = density * area
    pop = np.zeros(x.size, dtype=np.int64)
    zone_totals = {"corridor": CORRIDOR_POPULATION, "second_area": SECOND_AREA_POPULATION}
    for zname, ztotal in zone_totals.items():
        m = zone == zname
        shares = {d: weight[m & (district == d)].sum() for d in demo_city.DISTRICTS}
        ds = [d for d in demo_city.DISTRICTS if shares[d] > 0]
        per_d = _largest_remainder(ztotal, np.array([shares[d] for d in ds]))
        for d, k in zip(ds, per_d):
            mm = m & (district == d)
            pop[mm] = _largest_remainder(int(k), weight[mm])
    for d, total in demo_city.DISTRICT_POPULATION.items():
        done = int(pop[(district == d) & (zone != "")].sum())
        m = (district == d) & (zone == "")
        pop[m] = _largest_remainder(total - done, weight[m])
    housing = np.rint(pop / PERSONS_PER_HOUSEHOLD).astype(np.int64)
    return dict(geoms=geoms, pop=pop, housing=housing, district=district, zone=zone)


def _polygonal(g):
    import shapely

    if g is None or g.is_empty:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    return shapely.MultiPolygon(polys) if len(polys) > 1 else (polys[0] if polys else None)


def demo_layers(city=None) -> list[Layer]:
    """The reference layers of the demo city (WGS84), styled for a first start."""
    city = city or demo_city.build_city()
    rng = np.random.default_rng(20160301)  # the layers' own stream: the same city for every seed
    st = streets(city)
    names = st["names"]
    street_props = _props({"FULL_NAME": n, "CLASS": "arterial" if a else "local", "SEGMENT_ID": f"S{i + 1:05d}"}
                          for i, (n, a) in enumerate(zip(names.tolist(), st["arterial"].tolist())))
    layers = [Layer("Streets", "line", layer_frame(_to_wgs(st["geoms"]), names.tolist(), properties=street_props),
                    source="demo_street_centerlines.geojson", loaded=LOADED_AT, label_field="FULL_NAME",
                    style={"visible": True, "colour": "#9a9a9a", "width": 1.0, "labels": True, "basemap": True},
                    notes="Fictional street centrelines of the demo city, one segment per block face.")]
    routes, route_names, stops, stop_routes = _bus(city, st)
    layers.append(Layer("Bus routes", "line", layer_frame(_to_wgs(routes), route_names,
                                                          properties=_props({"ROUTE": r} for r in route_names)),
                        source="demo_bus_routes.kml", loaded=LOADED_AT, label_field="ROUTE",
                        style={"visible": True, "colour": "#1f618d", "width": 3.0, "labels": True,
                               "basemap": False}))
    stop_labels = [f"{r} stop {i + 1}" for i, r in enumerate(stop_routes)]
    layers.append(Layer("Bus stops", "point", layer_frame(_to_wgs(stops), stop_labels,
                                                          properties=_props({"ROUTE": r} for r in stop_routes)),
                        source="demo_bus_stops.csv", loaded=LOADED_AT, label_field="STOP_NAME",
                        style={"visible": False, "colour": "#1f618d", "width": 1.5, "labels": False,
                               "basemap": False}))
    import shapely

    address_text = demo_city.address_text
    px, py, ew, ax, ay = _points_on_streets(city, st, rng, 1_100, 6.0, 1.3, 12.0)
    addr = address_text(ax, ay, ew, city.scale)
    kinds = rng.choice(["Class B tavern", "Class A liquor store", "Restaurant with liquor licence",
                        "Class B tavern", "Convenience store (beer)"], px.size)
    labels = [f"{k}, {a}" for k, a in zip(kinds.tolist(), addr.tolist())]
    layers.append(Layer("Licensed premises", "point",
                        layer_frame(_to_wgs(shapely.points(px, py)), labels, properties=_props(
                            {"LICENSE_TYPE": k, "ADDRESS": a} for k, a in zip(kinds.tolist(), addr.tolist()))),
                        source="demo_licensed_premises.csv", loaded=LOADED_AT, label_field="ADDRESS",
                        style={"visible": True, "colour": "#0b6e4f", "width": 1.5, "labels": False,
                               "basemap": False}))
    vx, vy, vew, bx, by = _points_on_streets(city, st, rng, 2_400, 0.6, 1.8, 30.0)
    vaddr = address_text(bx, by, vew, city.scale)
    status = rng.choice(["Vacant building", "Vacant lot", "Foreclosed (city-owned)"], vx.size, p=[0.5, 0.3, 0.2])
    layers.append(Layer("Vacant properties", "point",
                        layer_frame(_to_wgs(shapely.points(vx, vy)), vaddr.tolist(), properties=_props(
                            {"STATUS": s, "ADDRESS": a} for s, a in zip(status.tolist(), vaddr.tolist()))),
                        source="demo_vacant_foreclosed.csv", loaded=LOADED_AT, label_field="ADDRESS",
                        style={"visible": False, "colour": "#6c3483", "width": 1.5, "labels": False,
                               "basemap": False}))
    cb = census_blocks(city, rng)
    ids = [f"55079{i + 1:06d}" for i in range(len(cb["pop"]))]
    layers.append(Layer("Census blocks", "polygon",
                        layer_frame(cb["geoms"], ids, cb["pop"].astype(float), cb["housing"].astype(float),
                                    _props({"GEOID20": g, "POP20": int(p), "HOUSING20": int(h)} for g, p, h in
                                           zip(ids, cb["pop"].tolist(), cb["housing"].tolist()))),
                        source="demo_census_blocks_2020.shp", loaded=LOADED_AT, population_field="POP20",
                        housing_field="HOUSING20", label_field="GEOID20",
                        style={"visible": False, "colour": "#7f8c8d", "width": 0.5, "labels": False,
                               "basemap": False},
                        notes="Fictional census blocks: whole people summing to the districts' populations."))
    return layers

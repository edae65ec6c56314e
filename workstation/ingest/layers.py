"""Reference layers: streets, bus routes and stops, licensed premises, vacant properties, schools, parks, census blocks.

`main.py import --workspace W --kind layer --name NAME [--population-field F] [--label-field F] FILE` (and the import
wizard, and a file dropped on the window) read one file into a named layer of points, lines or polygons:

- GeoJSON and ESRI shapefiles through the boundary readers (``boundaries.read_features``; CRS from the GeoJSON 'crs'
  member or the .prj; a shapefile without its .prj is refused: its coordinates could be in any of hundreds of systems);
- KML/KMZ (Google Earth, many portals' "Export → KML") parsed with the standard library's ElementTree: always WGS84;
- CSV/Excel with coordinates, read by the record readers and located by the record importer's own coordinate rules
  (latitude/longitude columns, else projected x/y with ``--epsg``), or with a WKT/WKB geometry column as portals
  export street centrelines ("the_geom"). A table with no coordinates is refused.

Everything is converted to WGS84 lon/lat. Features of another geometry kind than the layer's (a stray point in a
street file) and features with no geometry are rejected and counted by reason; nothing changes in the workspace until
the whole file has been read.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from workstation.core.errors import UserError
from workstation.core.workspace import Layer, Workspace, layer_frame, now_stamp
from workstation.ingest import readers
from workstation.ingest.boundaries import POPULATION_KEYS, read_features
from workstation.ingest.profiles import norm_name

LAYER_SUFFIXES = (".geojson", ".json", ".shp", ".kml", ".kmz", ".csv", ".txt", ".tsv", ".xlsx", ".xls")
EXTRA_POPULATION_KEYS = ("pop20", "pop100", "pop10", "p0010001", "p1_001n", "total_population")
HOUSING_KEYS = ("housing", "housing20", "housing10", "housing_units", "hu", "hu100", "h0010001", "h1_001n",
                "units")
LABEL_KEYS = ("name", "label", "full_name", "fullname", "street", "street_name", "st_name", "stname", "route",
              "route_name", "title", "dba", "business_name", "trade_name", "legal_name", "premises", "address",
              "stop_name", "school_name", "park_name", "geoid", "geoid20", "block", "id")
LAT_KEYS = ("latitude", "lat", "y_lat", "lat_dd", "point_y_lat")
LON_KEYS = ("longitude", "lon", "long", "lng", "x_long", "lon_dd")
X_KEYS = ("x", "x_coordinate", "xcoord", "x_coord", "point_x", "roughx", "easting")
Y_KEYS = ("y", "y_coordinate", "ycoord", "y_coord", "point_y", "roughy", "northing")
WKT_KEYS = ("the_geom", "geometry", "geom", "wkt", "shape", "multilinestring", "linestring")
KINDS = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
         "LinearRing": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}
KML_NS = re.compile(r"^\{[^}]*\}")


# ---------------------------------------------------------------------------------------------------------------------
# KML / KMZ
def _local(tag: str) -> str:
    return KML_NS.sub("", tag)


def _kml_coords(text: str | None) -> list[tuple[float, float]]:
    out = []
    for tup in (text or "").split():
        parts = tup.split(",")
        if len(parts) >= 2:
            try:
                out.append((float(parts[0]), float(parts[1])))
            except ValueError:
                continue
    return out


def _kml_geometry(el):
    """A shapely geometry from a KML geometry element (Point, LineString, LinearRing, Polygon, MultiGeometry)."""
    import shapely

    tag = _local(el.tag)
    if tag == "Point":
        c = _kml_coords(next((e.text for e in el.iter() if _local(e.tag) == "coordinates"), ""))
        return shapely.Point(c[0]) if c else None
    if tag in ("LineString", "LinearRing"):
        c = _kml_coords(next((e.text for e in el.iter() if _local(e.tag) == "coordinates"), ""))
        return shapely.LineString(c) if len(c) >= 2 else None
    if tag == "Polygon":
        shell, holes = None, []
        for child in el:
            which = _local(child.tag)
            if which not in ("outerBoundaryIs", "innerBoundaryIs"):
                continue
            ring = next((e.text for e in child.iter() if _local(e.tag) == "coordinates"), "")
            c = _kml_coords(ring)
            if len(c) < 3:
                continue
            if which == "outerBoundaryIs":
                shell = c
            else:
                holes.append(c)
        return shapely.Polygon(shell, holes or None) if shell else None
    if tag == "MultiGeometry":
        parts = [g for g in (_kml_geometry(c) for c in el) if g is not None]
        if not parts:
            return None
        kinds = {KINDS.get(g.geom_type) for g in parts}
        if kinds == {"point"}:
            return shapely.MultiPoint([p for g in parts for p in shapely.get_parts(g)])
        if kinds == {"line"}:
            return shapely.MultiLineString([p for g in parts for p in shapely.get_parts(g)])
        if kinds == {"polygon"}:
            return shapely.MultiPolygon([p for g in parts for p in shapely.get_parts(g)])
        return shapely.GeometryCollection(parts)
    return None


def read_kml(path: Path, data: bytes) -> list:
    """[(properties, geometry)] of every Placemark: name, description, ExtendedData (Data and SchemaData)."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = [n for n in z.namelist() if n.lower().endswith(".kml")]
                if not names:
                    raise UserError(f"{path.name}: this KMZ archive holds no .kml document.")
                main = "doc.kml" if "doc.kml" in names else names[0]
                data = z.read(main)
        except zipfile.BadZipFile:
            raise UserError(f"{path.name}: this KMZ file is not a readable zip archive (it may be truncated).") \
                from None
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise UserError(f"{path.name}: this is not valid KML ({exc}).") from None
    geometry_tags = {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry"}
    out = []
    for pm in root.iter():
        if _local(pm.tag) != "Placemark":
            continue
        props: dict = {}
        geom = None
        for child in pm:
            tag = _local(child.tag)
            if tag in ("name", "description", "address") and child.text:
                props[tag] = child.text.strip()
            elif tag == "ExtendedData":
                for d in child.iter():
                    dt = _local(d.tag)
                    if dt == "Data" and d.get("name"):
                        val = next((v.text for v in d if _local(v.tag) == "value"), None)
                        props[d.get("name")] = val
                    elif dt == "SimpleData" and d.get("name"):
                        props[d.get("name")] = d.text
            elif tag in geometry_tags and geom is None:
                geom = _kml_geometry(child)
        out.append((props, geom))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Tables with coordinates
def _find(columns, keys) -> str | None:
    by_norm = {}
    for c in columns:
        by_norm.setdefault(norm_name(c), c)
    for k in keys:
        if k in by_norm:
            return by_norm[k]
    return None


def read_table_features(path: Path, data: bytes, epsg=None) -> tuple[list, list]:
    """([(properties, geometry or None)], warnings) from a CSV/Excel table: one point per row from its coordinate
    columns (the record importer's rules), or one geometry per row from a WKT/WKB column."""
    import shapely

    from workstation.ingest.importer import coordinates_of
    from workstation.ingest.profiles import Profile

    raw = readers.read_source(path, data=data)
    df = raw.df
    cols = list(df.columns)
    records = df.where(df.notna(), None).to_dict("records")
    wkt_col = _find(cols, WKT_KEYS)
    if wkt_col is not None:
        text = df[wkt_col].astype("string").fillna("").str.strip()
        geoms = np.full(len(df), None, dtype=object)
        hexwkb = text.str.fullmatch(r"[0-9A-Fa-f]{18,}").fillna(False).to_numpy()
        wkt = text.str.match(r"(?i)^\s*(SRID=\d+;)?\s*(MULTI)?(POINT|LINESTRING|POLYGON)").fillna(False).to_numpy()
        if hexwkb.any():
            geoms[hexwkb] = shapely.from_wkb(text[hexwkb].to_numpy(dtype=object), on_invalid="ignore")
        if wkt.any():
            clean = text[wkt].str.replace(r"^SRID=\d+;", "", regex=True).to_numpy(dtype=object)
            geoms[wkt] = shapely.from_wkt(clean, on_invalid="ignore")
        if (hexwkb | wkt).any():
            props = [{k: v for k, v in r.items() if k != wkt_col} for r in records]
            return list(zip(props, geoms)), []
    lat_c, lon_c = _find(cols, LAT_KEYS), _find(cols, LON_KEYS)
    x_c, y_c = _find(cols, X_KEYS), _find(cols, Y_KEYS)
    columns: dict = {}
    if lat_c and lon_c:
        columns.update(lat=lat_c, lon=lon_c)
    if x_c and y_c:
        xs = pd.to_numeric(df[x_c], errors="coerce")
        ys = pd.to_numeric(df[y_c], errors="coerce")
        lonlat_like = bool(xs.notna().any()) and bool((xs.abs() <= 180).all() and (ys.abs() <= 90).all())
        if lonlat_like and not columns:
            columns.update(lat=y_c, lon=x_c)  # x/y that are plainly longitude/latitude
        elif not lonlat_like:
            if epsg in (None, "") and not columns:
                raise UserError(f"{path.name}: the columns {x_c}/{y_c} hold projected coordinates; say which "
                                "coordinate system they are in with --epsg (e.g. --epsg 32054 for Milwaukee's "
                                "State Plane feet).")
            if epsg not in (None, ""):
                columns.update(x=x_c, y=y_c)
    if not columns:
        raise UserError(f"{path.name}: this table has no coordinate columns (latitude/longitude, x/y, or a WKT "
                        "geometry column such as the_geom), so its rows cannot be placed on the map. Export it "
                        "again with coordinates, or geocode it first.")
    profile = Profile(name="layer", kind="layer", columns=columns, epsg=epsg)
    lat, lon = coordinates_of(df, profile, path.name)
    ok = np.isfinite(lat) & np.isfinite(lon)
    geoms = np.full(len(df), None, dtype=object)
    if ok.any():
        geoms[ok] = shapely.points(lon[ok], lat[ok])
    used = set(columns.values())
    props = [{k: v for k, v in r.items() if k not in used} for r in records]
    return list(zip(props, geoms)), []


# ---------------------------------------------------------------------------------------------------------------------
def read_any(path: Path, epsg=None) -> tuple[list, str | None]:
    """([(properties, geometry)], CRS or None for lon/lat) from any layer file."""
    suffix = path.suffix.lower()
    if suffix in (".shp", ".dbf", ".shx", ".prj"):
        base = path.with_suffix("")
        if not base.with_suffix(".prj").exists() and not base.with_suffix(".PRJ").exists():
            raise UserError(f"{path.name}: the shapefile has no .prj file, so its coordinate system is unknown. "
                            "Copy the .prj that came with it into the same folder (or export the layer as GeoJSON).")
        return read_features(path)
    data = readers.read_bytes(path)
    if not data.strip():
        raise UserError(f"{path.name}: the file is empty.")
    if suffix in (".kml", ".kmz") or data.lstrip()[:200].lstrip(b"\xef\xbb\xbf").startswith(b"<?xml") and \
            b"<kml" in data[:2000]:
        return read_kml(path, data), None
    if suffix in (".geojson", ".json") or data.lstrip()[:1] == b"{":
        return read_features(path)
    feats, _ = read_table_features(path, data, epsg)
    return feats, None


def _number(v):
    if v is None:
        return np.nan
    try:
        f = float(str(v).replace(",", "")) if isinstance(v, str) else float(v)
    except (TypeError, ValueError):
        return np.nan
    return f if np.isfinite(f) else np.nan


def _field(props_list, wanted: str | None, keys, path: Path, what: str) -> str | None:
    """The property holding ``what``: the one named (loosely matched; an unknown name is an error), else a guess."""
    present: dict = {}
    for p in props_list[:500]:
        for k in p:
            present.setdefault(norm_name(k), k)
    if wanted:
        hit = present.get(norm_name(wanted))
        if hit is None:
            names = ", ".join(sorted(set(present.values()))[:30]) or "none"
            raise UserError(f"{path.name}: there is no field '{wanted}' to use as the {what}. Fields: {names}.")
        return hit
    for k in keys:
        if k in present:
            return present[k]
    return None


def read_layer(path, name: str, *, population_field: str | None = None, label_field: str | None = None,
               housing_field: str | None = None, epsg=None) -> tuple[Layer, dict, list, int]:
    """(layer, rejected_by_reason, warnings, features read) from one file; the workspace is not touched."""
    import shapely

    from workstation.engine.geometry import transform_geometry

    path = Path(path)
    name = (name or "").strip()
    if not name:
        raise UserError("A layer needs a name (--name), e.g. \"Streets\" or \"Licensed premises\".")
    feats, crs = read_any(path, epsg)
    if not feats:
        raise UserError(f"{path.name}: the file holds no features.")
    kinds = [KINDS.get(g.geom_type) if g is not None and not g.is_empty else None for _, g in feats]
    present = [k for k in kinds if k]
    if not present:
        raise UserError(f"{path.name}: no feature has a point, line or polygon geometry.")
    gtype = max(("point", "line", "polygon"), key=present.count)
    rejected: dict = {}
    warnings: list = []
    good_props, good_geoms = [], []
    for (props, geom), k in zip(feats, kinds):
        if k is None:
            rejected["no geometry"] = rejected.get("no geometry", 0) + 1
            continue
        if k != gtype:
            reason = f"a {k}, not a {gtype} like the rest of the layer"
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        good_props.append(props)
        good_geoms.append(geom)
    geoms = np.asarray(good_geoms, dtype=object)
    if crs:
        try:
            geoms = np.array([transform_geometry(g, crs, "EPSG:4326") for g in geoms], dtype=object)
        except Exception as exc:  # noqa: BLE001 - pyproj's many errors: say the CRS is unusable
            raise UserError(f"{path.name}: its coordinate system cannot be used ({str(exc)[:120]}).") from None
    if gtype == "polygon":
        bad = ~shapely.is_valid(geoms)
        if bad.any():
            geoms[bad] = shapely.make_valid(geoms[bad])
            warnings.append(f"{path.name}: {int(bad.sum()):,} polygons were not valid (e.g. they crossed "
                            "themselves) and were repaired.")
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise UserError(f"{path.name}: the coordinates are not longitude/latitude and the file does not say which "
                        "coordinate system they are in; add a .prj (shapefile) or a 'crs' member (GeoJSON).")
    pop_key = _field(good_props, population_field, POPULATION_KEYS + EXTRA_POPULATION_KEYS if gtype == "polygon"
                     else (), path, "population")
    if population_field and gtype != "polygon":
        raise UserError(f"{path.name}: a population field needs polygons (census blocks or tracts); this layer "
                        f"holds {gtype}s.")
    housing_key = _field(good_props, housing_field, HOUSING_KEYS if pop_key else (), path, "housing units")
    label_key = _field(good_props, label_field, LABEL_KEYS, path, "label")
    population = [_number(p.get(pop_key)) for p in good_props] if pop_key else None
    if pop_key and population_field is None and not np.isfinite(population).any():
        pop_key, population = None, None  # a guessed field with no numbers in it is not a population
    if pop_key and population_field is not None and not np.isfinite(population).any():
        raise UserError(f"{path.name}: the field '{pop_key}' holds no numbers, so it cannot be the population.")
    housing = [_number(p.get(housing_key)) for p in good_props] if housing_key else None
    labels = None
    if label_key:
        labels = [None if p.get(label_key) in (None, "") else str(p.get(label_key)).strip() for p in good_props]
    props_json = [json.dumps(p, default=str, ensure_ascii=False) for p in good_props]
    frame = layer_frame(geoms, labels, population, housing, props_json)
    layer = Layer(name=name, geometry_type=gtype, features=frame, source=path.name, loaded=now_stamp(),
                  population_field=pop_key, housing_field=housing_key, label_field=label_key)
    if pop_key and population_field is None:
        warnings.append(f"{path.name}: the field '{pop_key}' was taken as the population; name another with "
                        "--population-field.")
    return layer, rejected, warnings, len(feats)


def import_layer(ws: Workspace, path, name: str, *, population_field: str | None = None,
                 label_field: str | None = None, housing_field: str | None = None, epsg=None, progress=None,
                 should_stop=None) -> dict:
    """Read one file into the layer ``name`` (replacing a layer of that name, keeping its style) and log the load.
    Returns the summary printed by ``import --json``."""
    from workstation.ingest.result import stop_import

    path = Path(path)
    if progress:
        progress(0.05)
    data = readers.read_bytes(path)
    layer, rejected, warnings, n = read_layer(path, name, population_field=population_field,
                                              label_field=label_field, housing_field=housing_field, epsg=epsg)
    stop_import(should_stop)
    if progress:
        progress(0.9)
    replaced = ws.layer(layer.name) is not None
    if not layer.style:
        layer.style = default_style(layer, len(ws.layers))
    load_id = ws.next_load_id()
    nrej = sum(rejected.values())
    entry = {
        "load_id": load_id, "kind": "layer", "layer": layer.name, "file_name": path.name, "file_size": len(data),
        "sha256": readers.sha256_of(data), "loaded_at": layer.loaded, "profile": "", "rows_read": n,
        "accepted": layer.count, "rejected": nrej, "rejected_by_reason": rejected, "by_category": {},
        "added": 0 if replaced else 1, "replaced": 1 if replaced else 0, "data_as_of": None, "warnings": warnings,
        "geometry_type": layer.geometry_type,
    }
    ws.import_log.append(entry)
    ws.put_layer(layer)
    if progress:
        progress(1.0)
    return {"kind": "layer", "layer": layer.name, "geometry_type": layer.geometry_type, "features": layer.count,
            "rows_read": n, "rejected": nrej, "rejected_by_reason": rejected, "source": layer.source,
            "loaded": layer.loaded, "population_field": layer.population_field,
            "housing_field": layer.housing_field, "label_field": layer.label_field, "replaced": replaced,
            "warnings": warnings, "load_id": load_id,
            "population": (float(layer.features["population"].sum()) if layer.has_population else None)}


LAYER_COLOURS = ("#5d6d7e", "#b9770e", "#1e8449", "#884ea0", "#a93226", "#2874a6", "#117864", "#7e5109")


def default_style(layer: Layer, i: int = 0) -> dict:
    """How a new layer is first drawn: streets thin grey (a street layer is the basemap), census polygons as faint
    outlines under everything, places as small coloured dots."""
    name = layer.name.lower()
    streety = layer.geometry_type == "line" and re.search(r"street|centre|center|road|roads|segment", name)
    colour = "#8c8c8c" if streety else LAYER_COLOURS[i % len(LAYER_COLOURS)]
    return {"visible": layer.geometry_type != "polygon" or not layer.has_population, "colour": colour,
            "width": 1.0 if layer.geometry_type == "line" else 1.5, "labels": False,
            "basemap": bool(streety)}


def layer_summaries(ws: Workspace) -> list[dict]:
    """The layers as ``info --json`` lists them."""
    out = []
    for lay in ws.layers:
        d = {"name": lay.name, "geometry_type": lay.geometry_type, "features": lay.count, "source": lay.source,
             "loaded": lay.loaded, "label_field": lay.label_field, "population_field": lay.population_field,
             "housing_field": lay.housing_field, "visible": bool(lay.style.get("visible", True)),
             "basemap": bool(lay.style.get("basemap", False))}
        if lay.has_population:
            d["population"] = float(lay.features["population"].sum())
        if lay.has_housing:
            d["housing_units"] = float(lay.features["housing"].sum())
        out.append(d)
    return out


def import_layer_result(ws: Workspace, path, name: str, **kwargs):
    """``import_layer`` with its summary as an ``ImportResult`` (what the import wizard shows for every import)."""
    from workstation.ingest.result import ImportResult

    s = import_layer(ws, path, name, **kwargs)
    r = ImportResult(kind="layer")
    r.rows_read, r.accepted, r.rejected = s["rows_read"], s["features"], s["rejected"]
    r.rejected_by_reason = dict(s["rejected_by_reason"])
    r.warnings = list(s["warnings"])
    r.records = s["features"]
    r.added, r.replaced = (0, 1) if s["replaced"] else (1, 0)
    r.load_id = s["load_id"]
    r.load_ids = [s["load_id"]]
    r.profile = f"layer {s['layer']} ({s['geometry_type']}s)"
    r.files = [{"file_name": Path(path).name, "load_id": s["load_id"], "rows_read": s["rows_read"],
                "accepted": s["features"], "rejected": s["rejected"], "added": r.added, "replaced": r.replaced}]
    return r


def field_names(path) -> list[str]:
    """The attribute names of a layer file (for the wizard's population and label choices)."""
    feats, _ = read_any(Path(path))
    return list(dict.fromkeys(str(k) for p, _ in feats[:500] for k in p))

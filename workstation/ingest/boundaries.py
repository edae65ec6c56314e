"""Districts, target areas and the city outline from GeoJSON or ESRI shapefiles.

Geometry is converted to WGS84 (the GeoJSON 'crs' member or the shapefile's .prj says what it was in); invalid
polygons are repaired with shapely.make_valid and reported, never fatal.

The file is understood, not just read (``name_field``): the field that names each feature is the one whose values
match the district values the workspace's records carry, else a name-like field (DISTRICT, DIST_NUM, POLICE,
PRECINCT, ... for districts; NAME, NEIGHBORHD, ... for other areas), else any text field that tells the features
apart; features sharing a name are dissolved into one (Chicago publishes beats, not districts; Milwaukee's district
4 is two records). Districts vs target areas follows from that field: a match with the records' districts or a
district-like field with a district-sized number of names means districts. The analyst overrides either.
"""
from __future__ import annotations

import logging
import json
import re
from pathlib import Path

import numpy as np

from workstation.core.errors import UserError
from workstation.core.schema import normalise_district
from workstation.core.workspace import Area, Workspace, now_stamp
from workstation.ingest import readers
from workstation.ingest.result import ImportResult, stop_import

log = logging.getLogger(__name__)

# Field names that name a district, most specific first (PHL has DISTRICT_, DIST_NUM and DIST_NUMC; Milwaukee's
# district layer calls it POLICE; NYC's precinct layer Precinct).
DISTRICT_KEYS = ("district", "dist_num", "dist_numc", "district_", "police_district", "police", "district_id",
                 "dist", "dist_no", "district_no", "precinct", "pct", "police_precinct", "division")
# Field names that name other areas (neighbourhoods, zones, beats, wards), most specific first.
TARGET_KEYS = ("name", "area_name", "target_area", "neighborhd", "neighborhood", "neighbourhood", "nbhd", "nbhd_name",
               "hood", "community", "community_area", "zone", "label", "title", "beat", "beat_num", "sector", "ward",
               "tract", "id")
POPULATION_KEYS = ("population", "pop", "pop2020", "pop2010", "total_pop", "totpop", "pop_total")
# Fields that never name a feature: ids of the record, measurements, contact details.
NOT_NAMES = ("objectid", "fid", "ogc_fid", "globalid", "shape_area", "shape_leng", "shape_length", "shape__area",
             "shape__length", "area", "perimeter", "sum_area", "area_sqmi", "acres", "sq_mi", "sqmi", "st_area",
             "st_length", "len", "length", "phone", "location", "address", "socrataid", "created", "modified",
             "last_edited_date", "created_date")
MAX_DISTRICTS = 100  # more names than this is a finer layer (beats, blocks), not districts
MATCH_SHARE = 0.5  # Jaccard overlap with the records' district keys that makes a field the district field
def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def _read_geojson(path: Path, data: bytes):
    import shapely

    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path.name}: this is not valid GeoJSON ({exc}).") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path.name}: this is not GeoJSON (expected a FeatureCollection object).")
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
    elif doc.get("type") == "Feature":
        feats = [doc]
    elif doc.get("type") in ("Polygon", "MultiPolygon"):
        feats = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        raise UserError(f"{path.name}: this is not a GeoJSON FeatureCollection of polygons.")
    crs = None
    name = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if name and not re.search(r"CRS84|EPSG::?4326$", name):
        crs = name
    out = []
    for f in feats:
        g = f.get("geometry") if isinstance(f, dict) else None
        props = (f.get("properties") if isinstance(f, dict) else None) or {}
        geom = None
        if g:
            try:
                geom = shapely.from_geojson(json.dumps(g))
            except Exception:
                log.debug("%s: a feature's geometry could not be read; it is rejected", path, exc_info=True)
                geom = None
        out.append((props, geom))
    return out, crs


def _read_shapefile(path: Path):
    import shapefile
    from shapely.geometry import shape

    base = path.with_suffix("")
    for ext in (".shp", ".dbf"):
        if not base.with_suffix(ext).exists() and not base.with_suffix(ext.upper()).exists():
            raise UserError(f"{path.name}: the shapefile's {ext} part is missing; copy all of its files "
                            "(.shp, .shx, .dbf, .prj) into the same folder.")
    prj = base.with_suffix(".prj")
    crs = None
    if prj.exists():
        crs = prj.read_text(errors="replace").strip() or None
    enc = "utf-8"
    cpg = next((p for p in (base.with_suffix(".cpg"), base.with_suffix(".cst")) if p.exists()), None)
    if cpg is not None:
        enc = cpg.read_text(errors="replace").strip() or "utf-8"
    try:
        reader = shapefile.Reader(str(base), encoding=enc, encodingErrors="replace")
    except LookupError:
        reader = shapefile.Reader(str(base), encodingErrors="replace")
    except Exception as exc:
        raise UserError(f"{path.name}: the shapefile cannot be read ({exc}); it may be truncated.") from None
    out = []
    try:
        with reader:
            names = [f[0] for f in reader.fields[1:]]
            for sr in reader.iterShapeRecords():
                props = dict(zip(names, list(sr.record)))
                geom = None
                try:
                    gi = sr.shape.__geo_interface__
                    geom = shape(gi) if gi and gi.get("coordinates") else None
                except Exception:
                    log.debug("%s: a shape could not be read; it is rejected", path, exc_info=True)
                    geom = None
                out.append((props, geom))
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{path.name}: the shapefile cannot be read ({exc}); it may be truncated.") from None
    if crs is None:
        bounds = [g.bounds for _, g in out if g is not None]
        if bounds and max(max(abs(b[0]), abs(b[2])) for b in bounds) > 180:
            raise UserError(f"{path.name}: the shapefile has no .prj file and its coordinates are projected; "
                            "add the .prj file that came with it.")
    return out, crs


def polygonal(geom):
    """The polygon parts of ``geom`` as one (Multi)Polygon; None when it has none (points, lines, empty)."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon))]
    if not polys:
        return None
    return shapely.union_all(polys)


def _pick(props_list, keys) -> str | None:
    present = {}
    for props in props_list:
        for k in props:
            present.setdefault(_norm(k), k)
    for k in keys:
        if k in present:
            vals = [p.get(present[k]) for p in props_list]
            if sum(v not in (None, "") for v in vals) >= max(1, len(vals) // 2):
                return present[k]
    return None


def _text(v) -> str | None:
    """A property value as a name: whole numbers without '.0', blanks as None."""
    if v is None:
        return None
    if isinstance(v, float):
        if v != v:
            return None
        if v.is_integer():
            return str(int(v))
    t = str(v).strip()
    return t or None


def _fields(props_list) -> list:
    out: dict = {}
    for p in props_list:
        for k in p:
            out.setdefault(k, None)
    return list(out)


def _usable(props_list, field) -> bool:
    """A field that could name features: filled on at least half of them, and not an id or a measurement."""
    if _norm(field).lstrip("_") in NOT_NAMES:
        return False
    vals = [_text(p.get(field)) for p in props_list]
    return sum(v is not None for v in vals) >= max(1, len(vals) // 2)


def name_field(props_list, record_keys=None, wanted: str | None = None, label: str = "") -> tuple[str | None, str]:
    """(the field that names each feature, why): ``wanted`` when given; else the field whose values best match the
    records' district keys (Jaccard >= MATCH_SHARE); else a district-like or name-like field; else the text field
    that tells most features apart. None only when no field can name a feature."""
    fields = _fields(props_list)
    if wanted:
        for f in fields:
            if f == wanted or _norm(f) == _norm(wanted):
                return f, "chosen"
        raise UserError(f"{label}: the boundary file has no field '{wanted}' (its fields: "
                        f"{', '.join(map(str, fields)) or 'none'}); pick one of those with --name-field.")
    usable = [f for f in fields if _usable(props_list, f)]
    if record_keys:
        rk = set(record_keys)
        best, best_score = None, 0.0
        for f in usable:
            vals = {normalise_district(v) for v in (p.get(f) for p in props_list)} - {None}
            hit = len(vals & rk)
            score = hit / len(vals | rk) if hit else 0.0
            if score > best_score:
                best, best_score = f, score
        if best is not None and best_score >= MATCH_SHARE:
            return best, "matches the records' districts"
    by_norm = {_norm(f): f for f in usable}
    for k in DISTRICT_KEYS:
        if k in by_norm:
            return by_norm[k], "district field"
    for k in TARGET_KEYS:
        if k in by_norm:
            return by_norm[k], "name field"
    best, best_n = None, 1
    for f in usable:
        vals = [_text(p.get(f)) for p in props_list]
        if all(v is None or re.fullmatch(r"-?[\d.]+", v) for v in vals):
            continue  # numbers that no name-like field holds are measurements or ids
        n = len({v for v in vals if v is not None})
        if n > best_n:
            best, best_n = f, n
    if best is not None:
        return best, "text field"
    return None, "none"


def decide_kind(props_list, field: str | None, why: str) -> str:
    """Districts when the naming field matches the records' districts, or is district-like and names a
    district-sized number of areas; otherwise target areas."""
    if field is None:
        return "target_areas"
    names = {normalise_district(p.get(field)) for p in props_list} - {None}
    if why == "matches the records' districts":
        return "districts"
    if _norm(field) in DISTRICT_KEYS and len(names) <= MAX_DISTRICTS:
        return "districts"
    return "target_areas"


def guess_area_kind(props_list, record_keys=None) -> str:
    f, why = name_field(props_list, record_keys)
    return decide_kind(props_list, f, why)


def read_features(path) -> tuple[list, str | None]:
    """([(properties, shapely geometry or None)], the file's CRS or None for lon/lat) from a GeoJSON or shapefile."""
    path = Path(path)
    if path.suffix.lower() in (".shp", ".dbf", ".shx", ".prj"):
        return _read_shapefile(path)
    data = readers.read_bytes(path)
    if not data.strip():
        raise UserError(f"{path.name}: the file is empty.")
    return _read_geojson(path, data)


def read_areas(path, area_kind: str | None = None, name_field_wanted: str | None = None, record_keys=None):
    """(areas, warnings, rows_read, rejected_by_reason) from a GeoJSON or shapefile, in WGS84; nothing changes.
    ``record_keys``: the district keys the workspace's records carry (they pick the naming field)."""
    import shapely

    from workstation.engine.geometry import transform_geometry

    path = Path(path)
    warnings: list = []
    feats, crs = read_features(path)
    if not feats:
        raise UserError(f"{path.name}: the file holds no features.")
    if area_kind is not None and area_kind not in ("districts", "target_areas", "city"):
        raise UserError(f"Unknown area kind '{area_kind}'; use districts, target_areas or city.")
    rejected: dict = {}
    good = []
    for i, (props, geom) in enumerate(feats):
        geom = polygonal(geom)
        if geom is None:
            rejected["no polygon geometry"] = rejected.get("no polygon geometry", 0) + 1
            continue
        if crs:
            try:
                geom = transform_geometry(geom, crs, "EPSG:4326")
            except Exception as exc:
                raise UserError(f"{path.name}: its coordinate system cannot be used ({str(exc)[:120]}).") from None
        if not shapely.is_valid(geom):
            reason = shapely.is_valid_reason(geom)
            geom = polygonal(shapely.make_valid(geom))
            warnings.append(f"{path.name}: feature {i + 1} was not a valid polygon ({reason}); it was repaired.")
            if geom is None:
                rejected["invalid polygon"] = rejected.get("invalid polygon", 0) + 1
                continue
        good.append((props, geom))
    if not good:
        raise UserError(f"{path.name}: no feature has a polygon geometry.")
    b = shapely.union_all([g for _, g in good]).bounds
    if not (-180 <= b[0] <= 180 and -90 <= b[1] <= 90 and -180 <= b[2] <= 180 and -90 <= b[3] <= 90):
        raise UserError(f"{path.name}: the coordinates are not longitude/latitude and the file does not say which "
                        "coordinate system they are in; add a .prj (shapefile) or a 'crs' member (GeoJSON).")
    props_list = [p for p, _ in good]
    pop_key = _pick(props_list, POPULATION_KEYS)
    field, why = name_field(props_list, record_keys, name_field_wanted, path.name)
    kind = area_kind or decide_kind(props_list, field, why)
    groups: dict = {}
    if kind == "city":
        groups["City"] = [(p, g) for p, g in good]
    else:
        unnamed = 0
        for i, (p, g) in enumerate(good):
            raw = p.get(field) if field else None
            name = normalise_district(raw) if kind == "districts" else _text(raw)
            if name is None:
                unnamed += 1
                name = f"Area {i + 1}"
            groups.setdefault(name, []).append((p, g))
        if field is None:
            warnings.append(f"{path.name}: no field names the features, so they are called Area 1, Area 2, ...; "
                            "rename them in the workspace or add a name field to the file.")
        elif unnamed:
            warnings.append(f"{path.name}: {unnamed} features have no {field}; they are called 'Area N' by their "
                            "place in the file.")
    areas = []
    one_kind = {"districts": "district", "target_areas": "target_area", "city": "city"}[kind]
    for name, members in groups.items():
        geom = members[0][1] if len(members) == 1 else shapely.union_all([g for _, g in members])
        pop = None
        if pop_key:
            vals = [_num(p.get(pop_key)) for p, _ in members]
            vals = [v for v in vals if v is not None]
            pop = float(np.sum(vals)) if vals else None
        areas.append(Area(name=name, kind=one_kind, geometry=geom, population=pop, source=path.name))
    if kind != "city" and len(groups) < len(good):
        warnings.append(f"{path.name}: {len(good)} features were dissolved into {len(groups)} {kind.replace('_', ' ')}"
                        f" by their {field}.")
    return areas, warnings, len(feats), rejected


OUTSIDE_WARNING = "most points fall outside the city's districts — is the EPSG code right?"


def district_union(ws: Workspace):
    """The union of the district polygons, else the city outline; None when the workspace has neither."""
    import shapely

    geoms = [a.geometry for a in ws.districts if a.geometry is not None] or \
        ([ws.city.geometry] if ws.city is not None and ws.city.geometry is not None else [])
    if not geoms:
        return None
    return shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]


def inside_count(ws: Workspace, lat, lon) -> tuple[int | None, int]:
    """(inside, total) of the points with usable coordinates; inside is None without districts or outline."""
    from workstation.engine.geometry import contains

    lat = np.asarray(lat, dtype="float64")
    lon = np.asarray(lon, dtype="float64")
    have = np.isfinite(lat) & np.isfinite(lon)
    total = int(have.sum())
    g = district_union(ws)
    if g is None:
        return None, total
    return int(contains(g, lon[have], lat[have]).sum()), total


def _recheck_records(ws: Workspace) -> list:
    """The wrong-EPSG check again once boundaries arrive after the records: most points outside the new districts."""
    if district_union(ws) is None:
        return []
    out = []
    for kind, frame in ws.frames.items():
        if "lat" not in frame or not len(frame):
            continue
        inside, total = inside_count(ws, frame["lat"].to_numpy(), frame["lon"].to_numpy())
        if inside is not None and total and inside < total / 2:
            out.append(f"{kind}: {OUTSIDE_WARNING} ({total - inside:,} of {total:,} located records are outside the "
                       "boundaries just loaded; check the EPSG code of the records' profile).")
    return out


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _sort_key(name: str):
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def record_district_keys(ws: Workspace) -> set:
    """Every district key the workspace's records carry (what a boundary file's naming field should match)."""
    keys: set = set()
    for kind, frame in ws.frames.items():
        if "district" in frame and len(frame):
            s = frame["district"]
            vals = s.cat.categories if hasattr(s, "cat") else s.dropna().unique()
            keys |= {normalise_district(v) for v in vals} - {None}
    return keys


def import_areas(ws: Workspace, paths, area_kind: str | None = None, progress=None, should_stop=None,
                 name_field: str | None = None):
    result = ImportResult(kind="areas")
    staged = []
    record_keys = record_district_keys(ws)
    for i, p in enumerate(paths):
        stop_import(should_stop)
        p = Path(p)
        data = readers.read_bytes(p)  # for the log's size and hash (a shapefile: its .shp part)
        areas, warnings, n, rejected = read_areas(p, area_kind, name_field, record_keys)
        staged.append((p, data, areas, warnings, n, rejected))
        if progress:
            progress((i + 1) / len(paths) * 0.9)
    stop_import(should_stop)
    load_id = ws.next_load_id()
    entries = []
    for p, data, areas, warnings, n, rejected in staged:
        nrej = sum(rejected.values())
        by_kind: dict = {}
        for a in areas:
            by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
        entries.append({
            "load_id": load_id, "kind": "areas", "file_name": p.name, "file_size": len(data),
            "sha256": readers.sha256_of(data), "loaded_at": now_stamp(), "profile": "",
            "rows_read": n, "accepted": n - nrej, "rejected": nrej, "rejected_by_reason": rejected,
            "by_category": by_kind, "areas": sorted((a.name for a in areas), key=_sort_key),
            "data_as_of": None, "warnings": warnings,
        })
        result.count_file(entries[-1])
        load_id += 1
    # ---- mutate last ----
    for (p, data, areas, *_), entry in zip(staged, entries):
        added = replaced = 0
        for a in sorted(areas, key=lambda a: _sort_key(a.name)):
            old = ws.area(a.name, a.kind)
            if old is not None:
                import shapely

                replaced += 1
                a.created = old.created
                a.history = list(old.history)
                a.version = old.version
                if old.geometry is not None and not old.geometry.equals(a.geometry):  # None: from the records
                    a.history.append({"version": old.version, "geojson": shapely.to_geojson(old.geometry),
                                      "changed": now_stamp(), "note": f"replaced by {p.name}"})
                    a.version = old.version + 1
                if a.population is None:
                    a.population = old.population
            else:
                added += 1
            ws.put_area(a, notify=False)  # the import announces one change at the end
        entry["added"], entry["replaced"] = added, replaced
        result.added += added
        result.replaced += replaced
        result.records += len(areas)
        result.files.append({k: entry[k] for k in ("file_name", "load_id", "rows_read", "accepted", "rejected",
                                                   "added", "replaced")})
    # polygons take over from districts known only from the records' district column
    polygons = {a.name for _, _, areas, *_ in staged for a in areas if a.kind == "district"}
    if polygons:
        stale = [a for a in ws.districts if a.geometry is None and a.name not in polygons]
        if stale:
            ws.areas = [a for a in ws.areas if not (a.kind == "district" and a.geometry is None
                                                   and a.name not in polygons)]
            result.warnings.append(
                f"District boundaries are now loaded; {len(stale)} districts named only by the records' district "
                f"column have no polygon and were removed ({', '.join(sorted((a.name for a in stale), key=_sort_key))}"
                "); their records count citywide.")
    if polygons or any(a.kind == "city" for _, _, areas, *_ in staged for a in areas):
        result.warnings += _recheck_records(ws)
    ws.import_log.extend(entries)
    ws.changed("areas")  # once for the whole import, not once per polygon
    result.profile = "areas"
    result.load_id = result.load_ids[-1] if result.load_ids else None
    if progress:
        progress(1.0)
    return result

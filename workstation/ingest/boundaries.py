"""Districts, target areas and the city outline from GeoJSON or ESRI shapefiles.

Geometry is converted to WGS84 (the GeoJSON 'crs' member or the shapefile's .prj says what it was in); features
that share a district name are dissolved into one polygon (Chicago publishes beats, not districts); invalid polygons
are repaired with shapely.make_valid and reported, never fatal.
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

# Property names that carry a district key, most specific first (PHL has DISTRICT_, DIST_NUM and DIST_NUMC).
DISTRICT_KEYS = ("district", "dist_num", "dist_numc", "district_", "district_id", "dist", "police_district",
                 "precinct", "pct", "division", "beat_num", "beat", "name")
TARGET_KEYS = ("name", "area_name", "target_area", "zone", "label", "title", "id")
POPULATION_KEYS = ("population", "pop", "pop2020", "pop2010", "total_pop", "totpop", "pop_total")
DISTRICTISH = ("district", "dist_num", "dist_numc", "precinct", "pct", "police_district", "district_")


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


def guess_area_kind(props_list) -> str:
    names = {_norm(k) for p in props_list for k in p}
    return "districts" if any(k in names for k in DISTRICTISH) else "target_areas"


def read_features(path) -> tuple[list, str | None]:
    """([(properties, shapely geometry or None)], the file's CRS or None for lon/lat) from a GeoJSON or shapefile."""
    path = Path(path)
    if path.suffix.lower() in (".shp", ".dbf", ".shx", ".prj"):
        return _read_shapefile(path)
    data = readers.read_bytes(path)
    if not data.strip():
        raise UserError(f"{path.name}: the file is empty.")
    return _read_geojson(path, data)


def read_areas(path, area_kind: str | None = None):
    """(areas, warnings, rows_read, rejected_by_reason) from a GeoJSON or shapefile, in WGS84; nothing changes."""
    import shapely

    from workstation.engine.geometry import transform_geometry

    path = Path(path)
    warnings: list = []
    feats, crs = read_features(path)
    if not feats:
        raise UserError(f"{path.name}: the file holds no features.")
    kind = area_kind or guess_area_kind([p for p, _ in feats])
    if kind not in ("districts", "target_areas", "city"):
        raise UserError(f"Unknown area kind '{kind}'; use districts, target_areas or city.")
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
    groups: dict = {}
    if kind == "city":
        groups["City"] = [(p, g) for p, g in good]
    else:
        key = _pick(props_list, DISTRICT_KEYS if kind == "districts" else TARGET_KEYS)
        for i, (p, g) in enumerate(good):
            raw = p.get(key) if key else None
            name = normalise_district(raw) if kind == "districts" else (str(raw).strip() if raw not in (None, "")
                                                                         else None)
            name = name or f"Area {i + 1}"
            groups.setdefault(name, []).append((p, g))
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
                        " by name.")
    return areas, warnings, len(feats), rejected


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _sort_key(name: str):
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def import_areas(ws: Workspace, paths, area_kind: str | None = None, progress=None, should_stop=None):
    result = ImportResult(kind="areas")
    staged = []
    for i, p in enumerate(paths):
        stop_import(should_stop)
        p = Path(p)
        data = readers.read_bytes(p)  # for the log's size and hash (a shapefile: its .shp part)
        areas, warnings, n, rejected = read_areas(p, area_kind)
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
                if not old.geometry.equals(a.geometry):
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
    ws.import_log.extend(entries)
    ws.changed("areas")  # once for the whole import, not once per polygon
    result.profile = "areas"
    result.load_id = result.load_ids[-1] if result.load_ids else None
    if progress:
        progress(1.0)
    return result

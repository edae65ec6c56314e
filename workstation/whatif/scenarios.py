"""Scenarios: what-if boundaries saved in the workspace, managed and compared without Qt.

A scenario is an ``Area(kind="scenario", base=<the target area it was drawn from>)``: it lives in the workspace (so it
is saved, autosaved and recovered with it) and never changes the official boundary it was drawn from. Here:

- ``rename_scenario`` / ``delete_scenario`` (names unique, case-insensitively; goals and the map's unsaved draft
  follow a rename; a scenario a goal is measured in is not deleted);
- ``export_boundary`` / ``import_scenario``: one boundary as a GeoJSON Feature (WGS84 lon/lat, RFC 7946) and back,
  read by the area importer's readers (its CRS handling included); a shape that crosses itself is refused whole;
- ``compare``: two areas side by side, every count measure of the catalog for year to date, 28 days and week to date,
  with the square miles, shares of city area and of city violent crime, and PAI — from the CompStat engine
  (``Analysis.grid``) and the concentration report, not counted again here.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from workstation.engine import geometry as geo
from workstation.engine.areas import CITYWIDE, area_key, parse_area_key, resolve_area
from workstation.core.errors import UserError
from workstation.core.fileio import write_atomically
from workstation.reports.table import ReportTable
from workstation.core.workspace import Area, now_stamp

SCENARIO = "scenario"
MAX_NAME_LENGTH = 80
SHARE_MEASURE = "part1_violent"      # the measure whose city share and PAI a comparison reports (as the editor does)
WINDOWS = (("ytd", "YTD", "Year to date"), ("28d", "28d", "28 days"), ("wtd", "WTD", "Week to date"))
GEOJSON_SUFFIXES = (".geojson", ".json")
GOALS_META_KEY = "goals"             # reports/goals.py keeps goals there, each naming its area by key


# ---------------------------------------------------------------------------------------------------------------------
# names
def scenario_names(ws) -> list[str]:
    return [a.name for a in ws.scenarios]


def check_name(ws, name, *, renaming: str | None = None) -> str:
    """The name cleaned of surrounding spaces; a UserError saying what to change when it cannot name a scenario.
    ``renaming``: the scenario being renamed (it may keep its own name in another case)."""
    clean = " ".join(str(name or "").split())
    if not clean:
        raise UserError("A scenario needs a name; type one.")
    if len(clean) > MAX_NAME_LENGTH:
        raise UserError(f"The scenario name is {len(clean)} characters long; keep it to {MAX_NAME_LENGTH}.")
    for other in scenario_names(ws):
        if other != renaming and other.casefold() == clean.casefold():
            raise UserError(f"A scenario named '{other}' already exists; choose another name.")
    return clean


def unique_name(ws, wanted: str) -> str:
    """``wanted`` if no scenario has that name, else ``wanted (2)``, ``wanted (3)``, ..."""
    base = " ".join(str(wanted or "").split())[:MAX_NAME_LENGTH - 5] or "Scenario"
    taken = {n.casefold() for n in scenario_names(ws)}
    if base.casefold() not in taken:
        return base
    k = 2
    while f"{base} ({k})".casefold() in taken:
        k += 1
    return f"{base} ({k})"


def _scenario(ws, name: str) -> Area:
    a = ws.area(name, SCENARIO)
    if a is None:
        known = ", ".join(scenario_names(ws)) or "none saved yet"
        raise UserError(f"The workspace has no scenario named '{name}' (scenarios: {known}).")
    return a


# ---------------------------------------------------------------------------------------------------------------------
# rename, delete, add
def goals_using(ws, key: str) -> list[str]:
    """Names of the goals measured in the area ``key``."""
    return [str(g.get("name") or "goal") for g in (ws.meta.get(GOALS_META_KEY) or [])
            if isinstance(g, dict) and g.get("area_key") == key]


def rename_scenario(ws, old: str, new: str) -> Area:
    """Rename a scenario in place (same boundary, same position in the list); goals measured in it and any record of
    it in the workspace's meta (the map's unsaved draft) follow. Returns the renamed area."""
    area = _scenario(ws, old)
    new = check_name(ws, new, renaming=old)
    if new == old:
        return area
    renamed = dataclasses.replace(area, name=new, modified=now_stamp())
    ws.areas[ws.areas.index(area)] = renamed
    old_key, new_key = area_key(area), area_key(renamed)
    for g in ws.meta.get(GOALS_META_KEY) or []:
        if isinstance(g, dict) and g.get("area_key") == old_key:
            g["area_key"] = new_key
    for value in ws.meta.values():
        if isinstance(value, dict) and value.get("area_key") == old_key:
            value["area_key"] = new_key
    ws.changed("areas")
    return renamed


def delete_scenario(ws, name: str) -> Area:
    """Remove a scenario from the workspace (its base target area is untouched). Refused while a goal is measured in
    it. Returns the removed area."""
    area = _scenario(ws, name)
    goals = goals_using(ws, area_key(area))
    if goals:
        listed = ", ".join(f"'{g}'" for g in goals)
        raise UserError(f"The scenario '{name}' is the area of goal {listed}; change the goal's area or delete the "
                        "goal first. The scenario was kept.")
    ws.remove_area(name, SCENARIO)
    return area


def add_scenario(ws, name: str, geometry, *, base: str | None = None, source: str = "", notes: str = "") -> Area:
    """A new scenario; refused (nothing added) when the name is taken or the shape is not a usable polygon."""
    name = check_name(ws, name)
    problem = geo.validity_problem(geometry)
    if problem:
        raise UserError(f"The scenario '{name}' was not added: {problem}")
    if base is not None and ws.area(base, "target_area") is None:
        base = None
    area = Area(name, SCENARIO, geometry, base=base, source=source, notes=notes)
    ws.put_area(area)
    return area


# ---------------------------------------------------------------------------------------------------------------------
# GeoJSON out and in
def boundary_feature(ws, key: str) -> dict:
    """The boundary of a target area or scenario (or district) as a GeoJSON Feature with its name, kind, version,
    base and square miles in its properties. Coordinates are written exactly (shortest round-trip floats)."""
    from shapely.geometry import mapping

    kind, _name = parse_area_key(key)
    if kind == CITYWIDE:
        raise UserError("Choose a target area or a scenario to export; the city has no boundary of its own here.")
    ref = resolve_area(ws, key)
    a = ref.area
    props = {"name": a.name, "kind": a.kind, "version": a.version, "base": a.base,
             "sq_mi": round(ref.sq_miles or 0.0, 4), "source": a.source or "", "notes": a.notes or "",
             "exported": now_stamp()}
    if a.population is not None:
        props["population"] = a.population
    return {"type": "Feature", "properties": props, "geometry": mapping(a.geometry)}


def export_boundary(ws, key: str, path) -> Path:
    """Write the boundary of ``key`` as a GeoJSON Feature to ``path`` (atomically: whole or not at all)."""
    feature = boundary_feature(ws, key)
    text = json.dumps(feature, ensure_ascii=False, indent=1)
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"),
                            what="the boundary")


@dataclass(frozen=True)
class BoundaryFile:
    """One polygon read from a file, in WGS84, not yet in any workspace."""

    path: Path
    geometry: object
    name: str
    kind: str = ""           # the "kind" property, when the file says (our exports do)
    base: str | None = None  # the "base" property, when the file says
    properties: dict = field(default_factory=dict)


def read_boundary(path) -> BoundaryFile:
    """The one polygon of a GeoJSON (or shapefile) as the area importer reads it: its 'crs' member (or .prj) says
    what the coordinates are in, and they are converted to lon/lat. A file of several polygons, or a shape that crosses
    itself, is refused with a message (nothing is repaired: a scenario is a boundary as drawn)."""
    import shapely

    from workstation.ingest.boundaries import polygonal, read_features

    path = Path(path)
    features, crs = read_features(path)
    polys = [(props, polygonal(g)) for props, g in features]
    polys = [(props, g) for props, g in polys if g is not None]
    if not polys:
        raise UserError(f"{path.name}: the file holds no polygon; a scenario is imported from a GeoJSON polygon.")
    if len(polys) > 1:
        raise UserError(f"{path.name}: the file holds {len(polys)} polygons; a scenario is one boundary. Save the "
                        "one you want in a file of its own (or import the file as target areas with Import Data).")
    props, geom = polys[0]
    props = dict(props or {})
    if crs:
        try:
            geom = geo.transform_geometry(geom, crs, "EPSG:4326")
        except Exception as exc:  # noqa: BLE001 - pyproj raises several kinds
            raise UserError(f"{path.name}: its coordinate system cannot be used ({str(exc)[:120]}).") from None
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise UserError(f"{path.name}: the coordinates are not longitude/latitude and the file does not say which "
                        "coordinate system they are in; add a 'crs' member (GeoJSON) or a .prj (shapefile).")
    problem = geo.validity_problem(geom)
    if problem:
        where = ""
        reason = shapely.is_valid_reason(geom)
        if "[" in reason:
            try:
                lon, lat = (float(v) for v in reason.split("[", 1)[1].rstrip("]").split()[:2])
                where = f" near {lat:.5f}, {lon:.5f} (lat, lon)"
            except ValueError:
                where = ""
        if "crosses itself" in problem:
            problem = f"The boundary crosses itself{where}: two of its edges cross."
        raise UserError(f"{path.name}: {problem} Fix the shape in the program that drew it and import it again; "
                        "no scenario was added.")
    name = _first(props, ("name", "NAME", "Name", "area_name", "label", "title")) or path.stem
    return BoundaryFile(path, geom, str(name).strip() or path.stem, str(props.get("kind") or ""),
                        _first(props, ("base",)), props)


def _first(props: dict, keys) -> str | None:
    for k in keys:
        v = props.get(k)
        if v not in (None, ""):
            return str(v)
    return None


def import_scenario(ws, path, name: str | None = None) -> Area:
    """Add the polygon of a GeoJSON file as a new scenario. Its name: ``name``, else the feature's own name (made
    unique with a number). Its base: the file's ``base`` (or, for an exported target area, that area) when the
    workspace has such a target area. Nothing is added when the file is refused."""
    return scenario_from_boundary(ws, read_boundary(path), name)


def scenario_from_boundary(ws, b: BoundaryFile, name: str | None = None) -> Area:
    """Add a boundary read by ``read_boundary`` as a new scenario (see ``import_scenario``)."""
    if name is None:
        name = unique_name(ws, b.name)
    base = b.base
    if base is None and b.kind == "target_area":
        base = b.name
    return add_scenario(ws, name, b.geometry, base=base, source=b.path.name,
                        notes=f"imported from {b.path.name} on {now_stamp()[:10]}")


# ---------------------------------------------------------------------------------------------------------------------
# comparison
def comparison_choices(ws) -> list[tuple[str, str]]:
    """[(key, label)] of the areas a comparison offers: every target area, then every scenario."""
    out = [(area_key(a), a.name) for a in ws.target_areas]
    out += [(area_key(a), f"Scenario: {a.name}") for a in ws.scenarios]
    return out


@dataclass
class ComparisonTable(ReportTable):
    """A ReportTable of two areas side by side. Per window (year to date, 28 days, week to date) four columns: A,
    B, B − A and the % difference (relative to A). The first rows describe the shapes (square miles, share of city
    area, share of city violent crime, PAI); their cells are not counts, so ``cell_kinds`` gives their kinds.
    ``row_directions`` says how a difference is coloured ("crime": more in B is red, "activity": green, "": none)."""

    key_a: str = ""
    key_b: str = ""
    label_a: str = ""
    label_b: str = ""
    as_of: object = None
    shape_rows: int = 0
    cell_kinds: dict = field(default_factory=dict)
    row_directions: list = field(default_factory=list)

    def kind_at(self, row: int, col: int) -> str:
        return self.cell_kinds.get((row, col), self.column_kinds[col])

    def role_of(self, col: int) -> str:
        """'label', 'a', 'b', 'diff' or 'pct' for a column."""
        return "label" if col == 0 else ("a", "b", "diff", "pct")[(col - 1) % 4]

    def window_of(self, col: int) -> str | None:
        return None if col == 0 else WINDOWS[(col - 1) // 4][0]


def comparison_columns() -> tuple[list[str], list[str]]:
    cols, kinds = ["Measure"], ["label"]
    for _kind, short, _long in WINDOWS:
        cols += [f"{short} A", f"{short} B", f"{short} B − A", f"{short} % diff"]
        kinds += ["count", "count", "count", "pct_change"]
    return cols, kinds


def compare(ws, key_a: str, key_b: str, as_of=None, *, counting: str | None = None) -> ComparisonTable:
    """Two areas (target areas, scenarios, or any area key) side by side as of ``as_of`` (default: the newest
    record): every count measure of the catalog whose dataset holds records, for year to date, 28 days and week to
    date, each for A, for B, B − A and B's % difference from A; first the shapes' square miles, shares of the city's
    area and violent crime, and PAI."""
    from workstation.engine.analysis import COUNTING_NOTES, MEMBERSHIP_NOTES, analysis_for, counting_rule
    from workstation.engine.periods import compstat_windows, to_date
    from workstation.reports.concentration import concentration_table
    from workstation.reports.rules import ZERO_BASE_NOTE, pct_change

    if key_a == key_b:
        raise UserError("Choose two different areas to compare.")
    eng = analysis_for(ws)
    ref_a, ref_b = resolve_area(ws, key_a), resolve_area(ws, key_b)
    as_of = eng.default_as_of(as_of)
    counting = counting or counting_rule(ws)
    measures = [m for m in eng.catalog.counts() if len(ws.frames[m.dataset])]
    skipped = [m for m in eng.catalog.counts() if not len(ws.frames[m.dataset])]
    grid_a = eng.grid(ref_a, as_of, measures, years_back=0, counting=counting)
    grid_b = eng.grid(ref_b, as_of, measures, years_back=0, counting=counting)
    wins = compstat_windows(as_of, 0)
    cols, kinds = comparison_columns()
    rows: list[list] = []
    cell_kinds: dict = {}
    directions: list[str] = []

    def col_of(kind: str) -> int:
        return 1 + 4 * [w[0] for w in WINDOWS].index(kind)

    def shape_row(label: str, per_window: dict, kind: str, with_pct: bool) -> None:
        r = len(rows)
        row = [label] + [None] * (len(cols) - 1)
        for wk, (a, b) in per_window.items():
            c = col_of(wk)
            row[c], row[c + 1] = a, b
            row[c + 2] = None if a is None or b is None else b - a
            row[c + 3] = pct_change(b, a) if with_pct else None
            for off in range(3):
                cell_kinds[(r, c + off)] = kind
        rows.append(row)
        directions.append("")

    # ---- the shapes ----
    share = SHARE_MEASURE if SHARE_MEASURE in eng.catalog and len(ws.frames[eng.catalog.get(SHARE_MEASURE).dataset]) \
        else None
    conc = {}
    if share is not None:
        for wk, _s, _l in WINDOWS:
            for which, key in (("a", ref_a.key), ("b", ref_b.key)):
                t = concentration_table(ws, key, wk, as_of, measures=(share,), counting=counting)
                conc[(wk, which)] = t.rows[0] if t.rows else None
    sq_a, sq_b = ref_a.sq_miles, ref_b.sq_miles
    city_sq = resolve_area(ws, CITYWIDE).sq_miles
    shape_row("Area (square miles)", {"ytd": (sq_a, sq_b)}, "rate", True)
    shape_row("Share of city area", {"ytd": (sq_a / city_sq if sq_a is not None and city_sq else None,
                                             sq_b / city_sq if sq_b is not None and city_sq else None)}, "pct", False)
    share_label = eng.catalog.get(share).label if share is not None else "violent crime"
    if share is not None:
        # concentration rows: [label, in area, citywide, share of city, share of city area, PAI]
        shape_row(f"Share of city {share_label}",
                  {wk: (conc[(wk, "a")][3], conc[(wk, "b")][3]) for wk, _s, _l in WINDOWS}, "pct", False)
        shape_row(f"PAI ({share_label})",
                  {wk: (conc[(wk, "a")][5], conc[(wk, "b")][5]) for wk, _s, _l in WINDOWS}, "rate", False)
    n_shape = len(rows)

    # ---- every count measure ----
    cell_keys: dict = {}
    as_of_ts = as_of
    for i, m in enumerate(measures):
        r = len(rows)
        row = [m.label]
        for wk, _s, _l in WINDOWS:
            j = next(k for k, w in enumerate(grid_a.windows) if w.kind == wk and w.years_back == 0)
            whole = m.count != "sum_quantity"
            a = float(grid_a.values[i, j])
            b = float(grid_b.values[i, j])
            if whole:
                a, b = int(round(a)), int(round(b))
            c = len(row)
            row += [a, b, b - a, pct_change(b, a)]
            for off, key in ((0, ref_a.key), (1, ref_b.key)):
                cell_keys[(r, c + off)] = {"measure": m.id, "area": key, "window": wk, "as_of": as_of_ts}
            if not whole:
                for off in range(3):
                    cell_kinds[(r, c + off)] = "decimal1"
        rows.append(row)
        directions.append(m.direction)

    header_groups = [(f"{long}: {wins[(wk, 0)].span()}", col_of(wk), col_of(wk) + 3) for wk, _s, long in WINDOWS]
    d = to_date(as_of)
    notes = [
        f"As of {d:%A, %B %d, %Y}. A: {ref_a.label}; B: {ref_b.label}.",
        "B − A is the second area's figure less the first's; % diff is that difference as a share of A "
        "(blank when A is zero). Shares of the city are differences in percentage points.",
        "The area and the share of city area do not depend on the window; they are shown under year to date.",
        "Share of city = count in the area / citywide count (citywide counts include records without a location); "
        "PAI = share of crime / share of area (above 1: crime is concentrated in the area).",
        ZERO_BASE_NOTE,
    ]
    for kind in dict.fromkeys((ref_a.kind, ref_b.kind)):
        if MEMBERSHIP_NOTES.get(kind):
            notes.append(MEMBERSHIP_NOTES[kind])
    if any(m.dataset == "offenses" for m in measures):
        notes.append(COUNTING_NOTES[counting])
    if skipped:
        notes.append("Not shown (no records loaded): " + ", ".join(m.label for m in skipped) + ".")
    return ComparisonTable(
        title=f"Comparison — {ref_a.label} (A) vs {ref_b.label} (B)", columns=cols, column_kinds=kinds, rows=rows,
        direction="crime", notes=notes, header_groups=header_groups, cell_keys=cell_keys,
        key_a=ref_a.key, key_b=ref_b.key, label_a=ref_a.label, label_b=ref_b.label, as_of=as_of_ts,
        shape_rows=n_shape, cell_kinds=cell_kinds, row_directions=directions)


def difference_text(value, kind: str) -> str:
    """A difference with its sign: '+15', '−3', '0'; '+0.25'; '+0.8 pts' for shares (fractions)."""
    from workstation.formatting import format_value, is_missing, round_half_away

    if is_missing(value):
        return ""
    v = float(value)
    if kind == "pct":
        pts = round_half_away(100.0 * v, 1)
        return "0.0 pts" if pts == 0 else f"{'+' if pts > 0 else '−'}{abs(pts):,.1f} pts"
    text = format_value(abs(v), kind)
    if text.strip("0.,") == "":
        return text
    return ("+" if v > 0 else "−") + text

"""Areas a report can be run for, by key: "citywide", "district:<name>", "target_area:<name>", "scenario:<name>".

The keys are plain strings shared with the UI (ui/state.py). ``resolve_area`` turns a key into an ``AreaRef`` (label,
geometry, population, square miles); ``area_choices`` lists every area of a workspace for a picker.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from workstation.engine import geometry as geo
from workstation.core import schema
from workstation.core.errors import UserError

CITYWIDE = "citywide"
KEY_KINDS = ("district", "target_area", "scenario")


def district_key(name) -> str | None:
    """The key a district is known by in record data: "District 01", "007", "07" and 7 are all "7" (one rule for
    records, boundary files, --area and the area bar: schema.normalise_district)."""
    return schema.normalise_district(name)


def find_district(ws, name):
    """The workspace district that ``name`` names ("7", "007", "District 7" all find district 7), or None."""
    exact = ws.area(name, "district")
    if exact is not None:
        return exact
    want = district_key(name)
    if want is None:
        return None
    for a in ws.districts:
        if district_key(a.name) == want:
            return a
    return None


def canonical_key(key: str) -> str:
    """An area key with its district part normalised: "district:007" and "district:District 7" are "district:7"."""
    kind, sep, name = str(key).partition(":")
    if sep and kind == "district":
        return f"district:{district_key(name) or name}"
    return key


def district_sort_key(key: str):
    """Districts in the order people read them: 1, 2, ..., 10, then names, then Unknown last."""
    if key == schema.UNKNOWN_DISTRICT:
        return (2, 0, "")
    return (0, int(key), "") if str(key).isdigit() else (1, 0, str(key))


def district_label(key: str) -> str:
    return f"District {key}" if str(key).isdigit() else str(key)


def area_key(area) -> str:
    """The key of a workspace ``Area``."""
    if area.kind == "city":
        return CITYWIDE
    return f"{area.kind}:{area.name}"


def parse_area_key(key: str) -> tuple[str, str | None]:
    if key == CITYWIDE or key is None:
        return CITYWIDE, None
    kind, sep, name = str(key).partition(":")
    if not sep or kind not in KEY_KINDS or not name:
        raise UserError(f"'{key}' is not an area key; use 'citywide', 'district:<name>', 'target_area:<name>' or "
                        "'scenario:<name>'.")
    return kind, name


@dataclass(frozen=True)
class AreaRef:
    key: str
    kind: str          # "citywide" | "district" | "target_area" | "scenario"
    name: str
    label: str
    area: object = None  # the workspace Area (None for citywide without a city outline)
    geometry: object = None
    population: float | None = None
    district: str | None = None  # for a district: the key its records carry in their district column
    population_source: str = ""  # how ``population`` was found (engine.population: census layer, boundary file ...)

    @property
    def version(self) -> int | None:
        return getattr(self.area, "version", None)

    @property
    def sq_miles(self) -> float | None:
        if self.geometry is None:
            return None
        return _sq_miles(self.geometry)


@lru_cache(maxsize=256)
def _sq_miles_cached(wkb: bytes) -> float:
    import shapely

    return geo.area_sq_miles(shapely.from_wkb(wkb))


def _sq_miles(geom) -> float:
    import shapely

    return _sq_miles_cached(shapely.to_wkb(geom))


def city_geometry(ws):
    """The city outline, or the union of the districts when the workspace has no outline."""
    if ws.city is not None and ws.city.geometry is not None:
        return ws.city.geometry
    ds = [a.geometry for a in ws.districts if a.geometry is not None]
    if not ds:
        return None
    import shapely

    return shapely.union_all(ds)


def city_population(ws) -> float | None:
    """The city's population by the one population rule (workstation.engine.population)."""
    from workstation.engine.population import area_population

    return area_population(ws, ws.city, city_geometry(ws)).value


def city_name(ws) -> str:
    name = (ws.meta.get("city") if isinstance(ws.meta, dict) else "") or ""
    if not name and ws.city is not None:
        name = ws.city.name
    return name or "City"


def resolve_area(ws, key: str) -> AreaRef:
    """The area behind a key; a UserError names the key when the workspace has no such area."""
    from workstation.engine.population import area_population

    kind, name = parse_area_key(key)
    if kind == CITYWIDE:
        geom = city_geometry(ws)
        pop = area_population(ws, ws.city, geom)
        return AreaRef(CITYWIDE, CITYWIDE, city_name(ws), "Citywide", ws.city, geom, pop.value,
                       population_source=pop.source)
    a = find_district(ws, name) if kind == "district" else ws.area(name, kind)
    if a is None:
        what = kind.replace("_", " ")
        names = ", ".join(x.name for x in ws.areas_of(kind)) or "none"
        raise UserError(f"The workspace has no {what} named '{name}' (area key '{key}'). Known: {names}.")
    pop = area_population(ws, a)
    if kind == "district":
        dk = district_key(a.name)
        return AreaRef(area_key(a), kind, a.name, district_label(dk), a, a.geometry, pop.value, dk, pop.source)
    label = a.name if kind == "target_area" else f"Scenario: {a.name}"
    return AreaRef(key, kind, a.name, label, a, a.geometry, pop.value, population_source=pop.source)


def area_choices(ws) -> list[tuple[str, str]]:
    """[(key, label)]: citywide, the districts in reading order, the target areas, then saved scenarios."""
    out = [(CITYWIDE, "Citywide")]
    ds = sorted(ws.districts, key=lambda a: district_sort_key(district_key(a.name) or a.name))
    out += [(area_key(a), district_label(district_key(a.name) or a.name)) for a in ds]
    out += [(area_key(a), a.name) for a in ws.target_areas]
    out += [(area_key(a), f"Scenario: {a.name}") for a in ws.scenarios]
    return out


GROUP_HEADINGS = {"citywide": "", "district": "Districts", "target_area": "Target areas", "scenario": "Scenarios"}


def area_groups(ws) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group heading, [(area key, label), ...]), ...] in the order the area bar lists them."""
    groups: dict[str, list[tuple[str, str]]] = {k: [] for k in GROUP_HEADINGS}
    for key, label in area_choices(ws):
        kind = key.split(":", 1)[0] if ":" in key else "citywide"
        groups.setdefault(kind, []).append((key, label))
    return [(GROUP_HEADINGS.get(k, k), v) for k, v in groups.items() if v]


def area_label(ws, key: str) -> str:
    """The label the area bar shows for ``key`` (the name after the colon when the area is not in the workspace)."""
    for k, label in area_choices(ws):
        if k == key:
            return label
    return key.split(":", 1)[-1]

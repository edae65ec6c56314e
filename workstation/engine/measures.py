"""The measure catalog: named filters over the record sets, in a JSON file an analyst can edit.

A count measure is a dataset, a filter (categories, true/false flags, agencies) and what is counted (records, distinct
incidents, the sum of ``count`` or of ``quantity``), plus a direction ("crime": a rise is bad; "activity": a rise is
good). A clearance measure names the count measure whose clearance rate it reports. The format and every default
measure are described in docs/measures.md; the default catalog is resources/measures.json.

Every mistake in a catalog is reported as a ``UserError`` naming the entry and the field, e.g.
"measure 'homicides': field 'dataset' must be one of offenses, shootings, calls, activity (got 'offences')."
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.core import schema
from workstation.core.errors import UserError
from workstation.core.paths import RESOURCES

DEFAULT_CATALOG = RESOURCES / "measures.json"
CATALOG_META_KEY = "measure_catalog"  # a workspace may carry its own catalog (the JSON document) in ws.meta

COUNT_DATASETS = ("offenses", "shootings", "calls", "activity")
COUNT_KINDS = ("records", "incidents", "sum_count", "sum_quantity")
DIRECTIONS = ("crime", "activity")
MEASURE_KINDS = ("count", "clearance")
COUNTING_RULES = ("workspace", "offense", "hierarchy")
CATEGORY_VOCABULARY = {
    "offenses": schema.OFFENSE_CATEGORIES,
    "calls": schema.CALL_CATEGORIES,
    "activity": schema.ACTIVITY_CATEGORIES,
    "shootings": (),
}
# The true/false fields a filter may test, per dataset (the canonical bool columns).
FLAG_FIELDS = {kind: tuple(f.name for f in schema.DATASETS[kind] if f.dtype == "bool") for kind in COUNT_DATASETS}
KNOWN_FIELDS = ("id", "label", "kind", "dataset", "categories", "flags", "agencies", "count", "counting", "direction",
                "section", "grid", "description", "of", "unit")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Measure:
    id: str
    label: str
    kind: str = "count"
    dataset: str = "offenses"
    categories: tuple[str, ...] | None = None  # None: every category
    flags: tuple[tuple[str, bool], ...] = ()
    agencies: tuple[str, ...] | None = None
    count: str = "records"
    counting: str = "workspace"
    direction: str = "crime"
    section: str = ""
    grid: bool = True
    description: str = ""
    of: str | None = None  # clearance: the count measure whose clearance is reported
    unit: str = ""

    @property
    def is_count(self) -> bool:
        return self.kind == "count"

    def select(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of a canonical ``df`` this measure's filter keeps (no dates, no area; the
        hierarchy rule is applied by the engine, not here)."""
        keep = np.ones(len(df), dtype=bool)
        if self.categories is not None:
            keep &= df["category"].astype("str").isin(self.categories).to_numpy()
        for name, want in self.flags:
            keep &= df[name].to_numpy(dtype=bool) == want
        if self.agencies is not None:
            keep &= df["agency"].astype("str").isin(self.agencies).to_numpy()
        return keep

    def definition(self) -> str:
        """One sentence saying what is counted (for Notes sheets and tooltips)."""
        if self.kind == "clearance":
            return f"{self.label}: clearance of '{self.of}'. {self.description}".strip()
        what = {"records": "records", "incidents": "distinct incidents", "sum_count": "the sum of 'count'",
                "sum_quantity": f"the sum of 'quantity'{' (' + self.unit + ')' if self.unit else ''}"}[self.count]
        parts = [f"{self.label}: {what} in {self.dataset}"]
        if self.categories is not None:
            parts.append("with category " + ", ".join(self.categories))
        for name, want in self.flags:
            parts.append(f"where {name} is {'true' if want else 'false'}")
        if self.agencies is not None:
            parts.append("by " + ", ".join(self.agencies))
        return " ".join(parts) + "."


@dataclass
class Catalog:
    measures: dict[str, Measure] = field(default_factory=dict)
    source: str = ""
    version: int = 1

    def __iter__(self):
        return iter(self.measures.values())

    def __len__(self) -> int:
        return len(self.measures)

    def __contains__(self, key) -> bool:
        return key in self.measures

    def get(self, measure) -> Measure:
        if isinstance(measure, Measure):
            return measure
        try:
            return self.measures[measure]
        except KeyError:
            known = ", ".join(self.measures)
            raise UserError(f"There is no measure '{measure}' in the measure catalog ({self.source}). "
                            f"Known measures: {known}.") from None

    def counts(self) -> list[Measure]:
        return [m for m in self.measures.values() if m.kind == "count"]

    def clearances(self) -> list[Measure]:
        return [m for m in self.measures.values() if m.kind == "clearance"]

    def sections(self, direction: str | None = None, grid_only: bool = True) -> dict[str, list[Measure]]:
        """Count measures grouped by section, in catalog order."""
        out: dict[str, list[Measure]] = {}
        for m in self.counts():
            if grid_only and not m.grid:
                continue
            if direction and m.direction != direction:
                continue
            out.setdefault(m.section or "Measures", []).append(m)
        return out

    def to_json(self) -> dict:
        rows = []
        for m in self.measures.values():
            d = {"id": m.id, "label": m.label}
            if m.kind != "count":
                d["kind"] = m.kind
                d["of"] = m.of
            else:
                d["dataset"] = m.dataset
                if m.categories is not None:
                    d["categories"] = list(m.categories)
                if m.flags:
                    d["flags"] = dict(m.flags)
                if m.agencies is not None:
                    d["agencies"] = list(m.agencies)
                d["count"] = m.count
                if m.counting != "workspace":
                    d["counting"] = m.counting
                if m.unit:
                    d["unit"] = m.unit
            d["direction"] = m.direction
            if m.section:
                d["section"] = m.section
            if not m.grid:
                d["grid"] = False
            if m.description:
                d["description"] = m.description
            rows.append(d)
        return {"version": self.version, "measures": rows}


# ---------------------------------------------------------------------------------------------------------------------
def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog file (default: resources/measures.json)."""
    p = Path(path) if path is not None else DEFAULT_CATALOG
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Could not read the measure catalog {p}: {exc.strerror or exc}.") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"The measure catalog {p.name} is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                        f"{exc.colno}. Fix the file (or restore it from resources/measures.json).") from exc
    return parse_catalog(doc, source=str(p))


_default: Catalog | None = None


def default_catalog() -> Catalog:
    global _default
    if _default is None:
        _default = load_catalog(DEFAULT_CATALOG)
    return _default


def catalog_for(ws) -> Catalog:
    """The workspace's own catalog when it carries one (``ws.meta['measure_catalog']``), else the default."""
    doc = getattr(ws, "meta", {}).get(CATALOG_META_KEY) if ws is not None else None
    if doc:
        return parse_catalog(doc, source="the workspace's measure catalog")
    return default_catalog()


def parse_catalog(doc, source: str = "measure catalog") -> Catalog:
    """Validate a catalog document (the parsed JSON) and build the Catalog."""
    if isinstance(doc, list):
        doc = {"measures": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("measures"), list):
        raise UserError(f"The {source} must be a JSON object with a 'measures' list.")
    version = doc.get("version", 1)
    measures: dict[str, Measure] = {}
    raw_entries = doc["measures"]
    for pos, entry in enumerate(raw_entries, start=1):
        m = _parse_entry(entry, pos, measures, source)
        measures[m.id] = m
    # clearance entries may name measures defined after them: check once all are known
    for m in measures.values():
        if m.kind == "clearance":
            target = measures.get(m.of)
            if target is None:
                _fail(m.id, "of", f"must name a count measure of this catalog (got '{m.of}')", source)
            if target.kind != "count" or target.dataset not in ("offenses", "shootings") \
                    or target.count not in ("records", "incidents"):
                _fail(m.id, "of", f"must name a measure that counts offense or shooting records or incidents "
                                  f"('{m.of}' does not)", source)
    by_section: dict[str, list[Measure]] = {}
    for m in measures.values():
        if m.kind == "count" and m.grid:
            by_section.setdefault(m.section or "Measures", []).append(m)
    for sec, ms in by_section.items():
        dirs = [m.direction for m in ms]
        usual = max(DIRECTIONS, key=lambda d: (dirs.count(d), -dirs.index(d) if d in dirs else -99))
        odd = next((m for m in ms if m.direction != usual), None)
        if odd is not None:
            _fail(odd.id, "direction", f"must be '{usual}' like the other measures of section '{sec}' (a section "
                                       "is one table, coloured one way); or put it in another section", source)
    if not measures:
        raise UserError(f"The {source} has no measures.")
    return Catalog(measures=measures, source=source, version=int(version) if str(version).isdigit() else 1)


def _fail(mid, fld: str, what: str, source: str):
    raise UserError(f"measure '{mid}': field '{fld}' {what}. Fix it in the {source}.")


def _one_of(mid, fld, value, allowed, source):
    if value not in allowed:
        _fail(mid, fld, f"must be one of {', '.join(allowed)} (got {value!r})", source)
    return value


def _parse_entry(entry, pos: int, seen: dict, source: str) -> Measure:
    if not isinstance(entry, dict):
        raise UserError(f"Entry {pos} of the {source} is not an object; each measure is {{\"id\": ..., ...}}.")
    mid = entry.get("id")
    if not isinstance(mid, str) or not _ID.match(mid):
        raise UserError(f"measure number {pos}: field 'id' must be lower-case letters, digits and '_', starting "
                        f"with a letter (got {mid!r}). Fix it in the {source}.")
    if mid in seen:
        _fail(mid, "id", "is used twice; each measure needs its own id", source)
    unknown = [k for k in entry if k not in KNOWN_FIELDS]
    if unknown:
        _fail(mid, unknown[0], f"is not a catalog field (known fields: {', '.join(KNOWN_FIELDS)})", source)
    label = entry.get("label")
    if not isinstance(label, str) or not label.strip():
        _fail(mid, "label", "must be a non-empty text", source)
    kind = _one_of(mid, "kind", entry.get("kind", "count"), MEASURE_KINDS, source)
    direction = _one_of(mid, "direction", entry.get("direction"), DIRECTIONS, source)
    section = entry.get("section", "")
    if not isinstance(section, str):
        _fail(mid, "section", "must be text", source)
    grid = entry.get("grid", True)
    if not isinstance(grid, bool):
        _fail(mid, "grid", f"must be true or false (got {grid!r})", source)
    description = entry.get("description", "")
    if not isinstance(description, str):
        _fail(mid, "description", "must be text", source)
    common = dict(id=mid, label=label.strip(), kind=kind, direction=direction, section=section, grid=grid,
                  description=description)
    if kind == "clearance":
        of = entry.get("of")
        if not isinstance(of, str) or not of:
            _fail(mid, "of", "must name the count measure whose clearance is reported", source)
        for f in ("dataset", "categories", "flags", "agencies", "count", "counting"):
            if f in entry:
                _fail(mid, f, "does not apply to a clearance measure (it takes its filter from 'of')", source)
        return Measure(of=of, dataset="", grid=False, **{k: v for k, v in common.items() if k != "grid"})

    if "of" in entry:
        _fail(mid, "of", "only applies to clearance measures (\"kind\": \"clearance\")", source)
    dataset = _one_of(mid, "dataset", entry.get("dataset"), COUNT_DATASETS, source)
    categories = entry.get("categories")
    if categories is not None:
        if not isinstance(categories, list) or not categories or not all(isinstance(c, str) for c in categories):
            _fail(mid, "categories", "must be a non-empty list of category names", source)
        vocab = CATEGORY_VOCABULARY[dataset]
        if not vocab:
            _fail(mid, "categories", f"does not apply to {dataset} (they have no category)", source)
        for c in categories:
            if c not in vocab:
                _fail(mid, "categories", f"has '{c}', which is not a {dataset} category; use one of "
                                         f"{', '.join(vocab)}", source)
        categories = tuple(dict.fromkeys(categories))
    flags = entry.get("flags", {})
    if not isinstance(flags, dict):
        _fail(mid, "flags", "must be an object such as {\"firearm\": true}", source)
    for name, want in flags.items():
        if name not in FLAG_FIELDS[dataset]:
            _fail(mid, "flags", f"tests '{name}', which is not a true/false field of {dataset}; use one of "
                                f"{', '.join(FLAG_FIELDS[dataset])}", source)
        if not isinstance(want, bool):
            _fail(mid, "flags", f"must give '{name}' true or false (got {want!r})", source)
    agencies = entry.get("agencies")
    if agencies is not None:
        if dataset != "activity":
            _fail(mid, "agencies", "only applies to the activity dataset", source)
        if not isinstance(agencies, list) or not agencies or not all(isinstance(a, str) and a for a in agencies):
            _fail(mid, "agencies", "must be a non-empty list of agency names such as [\"FBI\", \"ATF\"]", source)
        agencies = tuple(agencies)
    count = _one_of(mid, "count", entry.get("count", "records"), COUNT_KINDS, source)
    if count in ("sum_count", "sum_quantity") and dataset != "activity":
        _fail(mid, "count", f"'{count}' only applies to the activity dataset (it has the count and quantity "
                            "fields); use 'records' or 'incidents'", source)
    counting = _one_of(mid, "counting", entry.get("counting", "workspace"), COUNTING_RULES, source)
    if counting != "workspace" and dataset != "offenses":
        _fail(mid, "counting", "only applies to offenses (the hierarchy rule ranks offense categories)", source)
    unit = entry.get("unit", "")
    if not isinstance(unit, str):
        _fail(mid, "unit", "must be text", source)
    return Measure(dataset=dataset, categories=categories, flags=tuple(sorted(flags.items())), agencies=agencies,
                   count=count, counting=counting, unit=unit, **common)

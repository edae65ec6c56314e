"""The counting engine behind every report: window counts for any measure, area and as-of date, fast.

Per dataset, ``Analysis`` keeps (built once, rebuilt when the dataset changes):
- the int64 day numbers of ``occurred``, sorted, with the permutation back to the frame's rows (the user's frame is
  never reordered);
- each row's *atom*: one small integer encoding everything a measure filter can test (category, every true/false
  field, agency, and for offenses whether the hierarchy rule drops the row). A measure is then a 0/1 vector over
  atoms, and a histogram of atoms answers every measure of the dataset at once;
- longitude/latitude, district key and (activity) credited target area, in the sorted order.

Per area key it keeps the membership (point in polygon on the sorted coordinates; district-column fallback for rows
without coordinates when the area is a district; activity credited to a target area by name when it has no
location; otherwise rows without coordinates are never inside a target area or scenario).

A window is then two ``searchsorted`` positions, and the CompStat grid's 18 windows (WTD, 28 days and YTD, this year
and the five before) are answered by ``bincount`` over the disjoint segments between window boundaries: each row is
looked at once at most. Boolean masks over 1M rows per window per measure are ~50x slower (benchmarks/grid_bench.py).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from workstation.engine import geometry as geo
from workstation.core import schema
from workstation.core.workspace import SavedIndex, register_index_provider
from workstation.engine.areas import AreaRef, district_key, resolve_area
from workstation.engine.measures import Catalog, Measure, catalog_for
from workstation.engine.periods import (NAT_DAY, Window, compstat_windows, date_of_day, day_number, day_numbers,
                                       to_date)

COUNTING_NOTES = {
    "offense": "Offense counting: every offense on a record counts (NIBRS style); an incident with a robbery and an "
               "aggravated assault counts once in each.",
    "hierarchy": "Hierarchy counting (UCR summary rule): an incident counts once, as its highest Part I offense "
                 "(homicide, rape, robbery, aggravated assault, burglary, theft, auto theft); arson is exempt and "
                 "always counts.",
}
MEMBERSHIP_NOTES = {
    "citywide": "Citywide counts include every record, with or without a location.",
    "district": "A record is in a district when its location falls inside the district boundary; records without "
                "coordinates, and every record of a district that has no boundary yet, are placed by their district "
                "column.",
    "target_area": "A record is in a target area when its location falls inside the boundary; records without "
                   "coordinates are never placed in a target area (activity credited to the area by name is "
                   "counted).",
    "scenario": "A record is in a scenario when its location falls inside the scenario boundary; records without "
                "coordinates are never placed in a scenario.",
}

COVERAGE_GRACE_DAYS = 31  # a window starting up to a month before a dataset's first record still counts as covered


def counting_rule(ws) -> str:
    """The workspace's default counting rule: ``ws.meta['counting']`` ("offense" or "hierarchy"); offense if unset."""
    rule = (ws.meta or {}).get("counting", "offense") if ws is not None else "offense"
    return rule if rule in ("offense", "hierarchy") else "offense"


# The layout of the index a workspace file carries (DatasetIndex.saved_form): a saved index of another layout is
# rebuilt, never read. Bump it whenever the meaning of the order, the atoms or the day runs changes.
INDEX_LAYOUT = 1

# The live index of each frame (by the frame object's id, checked by identity): a save stores the index the engine
# already built rather than building it again (the frames of a workspace are never changed in place).
_built: dict[int, "weakref.ref[DatasetIndex]"] = {}


def _remember(ix: "DatasetIndex") -> None:
    key = id(ix.frame)

    def forget(ref, key=key):
        if _built.get(key) is ref:
            del _built[key]
    _built[key] = weakref.ref(ix, forget)


def _live_index(df: pd.DataFrame) -> "DatasetIndex | None":
    ref = _built.get(id(df))
    ix = ref() if ref is not None else None
    return ix if ix is not None and ix.frame is df else None


def _text_or_none(v):
    return None if v is None else str(v)


def _position_dtype(n: int):
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def _day_order(days: np.ndarray) -> np.ndarray:
    """The stable sort order of day numbers (undated rows, ``NAT_DAY``, first). Records span at most a few decades,
    so the days fit 16 bits as offsets from the first one, and numpy sorts 16-bit keys by radix: a fifth of the time
    of sorting the int64 days at 10M records, with the same order."""
    if days.size:
        undated = days == NAT_DAY
        any_undated = bool(undated.any())
        hi = int(days.max())
        if hi != NAT_DAY:
            lo = int(np.min(days, where=~undated, initial=hi)) if any_undated else int(days.min())
            if hi - lo < np.iinfo(np.uint16).max - 1:
                key = (days - (lo - 1)).astype(np.uint16)  # undated rows wrap around: set to 0 below
                if any_undated:
                    key[undated] = 0
                return np.argsort(key, kind="stable")
    return np.argsort(days, kind="stable")


class DatasetIndex:
    """One dataset, sorted by day once, with the atom of each row. All arrays are in sorted order.

    A first grid needs only the sorted days and the atoms; everything else (coordinates, district and credited-area
    codes, category and agency codes per row) is gathered on first use: at 10M records those gathers were about a
    third of the build, and a citywide grid never looks at them. ``saved`` is the index a workspace file carried for
    exactly this frame (``saved_form``); it is taken instead of sorting and hashing again when its recipe is this
    program's, else the index is built as usual."""

    def __init__(self, kind: str, df: pd.DataFrame, saved=None):
        self.kind = kind
        self.frame = df
        self.n = len(df)
        self._incident_codes_frame: np.ndarray | None = None
        self.category_names, self._category_lookup = self._label_table("category", _text_or_none)
        self.agency_names, self._agency_lookup = self._label_table("agency", _text_or_none)
        ncat = len(self.category_names) + 1  # last slot: missing
        nag = len(self.agency_names) + 1
        self.flag_names = tuple(f.name for f in schema.DATASETS[kind] if f.dtype == "bool")
        self.n_atoms = ncat * nag * (2 ** len(self.flag_names)) * 2
        self.from_saved = saved is not None and self._take_saved(saved)
        self._saved = saved if self.from_saved else None  # saved again as it was read (no re-encoding)
        if not self.from_saved:
            days_all = day_numbers(df["occurred"].to_numpy()) if self.n else np.zeros(0, dtype=np.int64)
            # int32 positions and codes where they fit: the index is kept for the whole session, next to the data
            # (issue 14: resident memory per million records)
            self.order = _day_order(days_all).astype(_position_dtype(self.n), copy=False)
            self.days = np.ascontiguousarray(days_all[self.order])
            self.atoms = np.ascontiguousarray(self._frame_atoms(ncat, nag)[self.order], dtype=np.intp)
        first_dated = int(np.searchsorted(self.days, NAT_DAY, "right"))  # undated rows sort first
        self.first_day = int(self.days[first_dated]) if first_dated < self.n else None
        self.last_day = int(self.days[-1]) if first_dated < self.n else None
        # decode tables: for atom a, its category / agency / flags / hierarchy-drop
        a = np.arange(self.n_atoms)
        self.atom_hdrop = (a % 2).astype(bool)
        rest = a // 2
        self.atom_flags = {}
        for name in reversed(self.flag_names):
            self.atom_flags[name] = (rest % 2).astype(bool)
            rest = rest // 2
        self.atom_agency = rest % nag
        self.atom_category = rest // nag
        self._weights: dict[str, np.ndarray | None] = {"records": None, "incidents": None}
        self._incidents: np.ndarray | None = None
        self._sel: dict = {}
        _remember(self)

    def _frame_atoms(self, ncat: int, nag: int) -> np.ndarray:
        """Each row's atom, in the frame's order: category x agency x flags x hierarchy-drop, mixed radix.
        (Computed on small integers and put in sorted order with one gather: a gather per flag in int64 cost about
        1 s at 10M records.)"""
        df = self.frame
        atom_type = np.int32 if self.n_atoms < np.iinfo(np.int32).max else np.int64
        cat = self._frame_codes("category", self._category_lookup)
        ag = self._frame_codes("agency", self._agency_lookup)
        cat = np.where(cat < 0, ncat - 1, cat).astype(atom_type) if cat is not None else np.zeros(self.n, atom_type)
        atoms = cat * nag
        if ag is not None:
            atoms += np.where(ag < 0, nag - 1, ag)
        for name in self.flag_names:
            atoms *= 2
            atoms += df[name].to_numpy(dtype=bool)
        atoms *= 2
        if self.kind == "offenses":
            atoms += self._hierarchy_drop()
        return atoms

    # ---- what a saved workspace carries (workstation.core.workspace: SavedIndex) ----
    def recipe(self) -> dict:
        """What the saved arrays mean and what they were derived from, beyond the source columns' bytes (which the
        workspace file checks): a saved index is taken only when this equals the reading program's own recipe."""
        return {"layout": INDEX_LAYOUT, "kind": self.kind, "rows": self.n, "flags": list(self.flag_names),
                "categories": list(self.category_names), "agencies": list(self.agency_names),
                "hierarchy": list(schema.HIERARCHY), "n_atoms": self.n_atoms}

    def saved_form(self) -> SavedIndex:
        """The index as a workspace file stores it: the day order (int32), the atoms in that order in the fewest
        bytes that hold them, and the sorted days as runs (a few thousand distinct days, not one per record)."""
        if self._saved is not None:
            return SavedIndex(self._saved.recipe, self._saved.arrays, self._saved.sources)
        runs = np.flatnonzero(np.diff(self.days)) + 1 if self.n else np.zeros(0, dtype=np.intp)
        starts = np.concatenate([[0], runs]) if self.n else runs
        counts = np.diff(np.concatenate([starts, [self.n]])) if self.n else runs
        atom_type = np.uint8 if self.n_atoms <= 256 else np.uint16 if self.n_atoms <= 65_536 else np.int64
        arrays = {"order": np.ascontiguousarray(self.order), "atoms": self.atoms.astype(atom_type),
                  "day_values": self.days[starts].astype(np.int64), "day_counts": counts.astype(np.int64)}
        sources = ["occurred", "category", "agency", *self.flag_names] + (["incident_id"] if self.kind == "offenses"
                                                                        else [])
        return SavedIndex(self.recipe(), arrays, tuple(c for c in sources if c in self.frame))

    def _take_saved(self, saved) -> bool:
        """Take a saved index when it is this program's kind of index for this frame; False (build it) otherwise.
        The file has already matched the source columns' checksums; this checks the meaning and the shapes."""
        a = saved.arrays
        if saved.recipe != self.recipe() or set(a) != {"order", "atoms", "day_values", "day_counts"}:
            return False
        order, atoms, values, counts = a["order"], a["atoms"], a["day_values"], a["day_counts"]
        shapes = order.shape == atoms.shape == (self.n,) and values.ndim == 1 and values.shape == counts.shape
        types = order.dtype == _position_dtype(self.n) and atoms.dtype.kind in "iu" \
            and values.dtype == counts.dtype == np.int64
        if not (shapes and types):
            return False
        runs = int(counts.sum()) == self.n and (not counts.size or int(counts.min()) >= 1) \
            and bool(np.all(values[1:] > values[:-1]))
        if not runs:
            return False
        if self.n and (int(atoms.max()) >= self.n_atoms or int(order.min()) < 0 or int(order.max()) >= self.n):
            return False
        self.order = order
        self.days = np.repeat(values, counts)
        self.atoms = np.ascontiguousarray(atoms, dtype=np.intp)
        return True

    # ---- per-row columns in sorted order, gathered on first use ----
    @cached_property
    def _xy(self):
        if "lon" not in self.frame:
            return None, None, np.zeros(self.n, dtype=bool)
        lon = self.frame["lon"].to_numpy(dtype="float64")[self.order]
        lat = self.frame["lat"].to_numpy(dtype="float64")[self.order]
        return lon, lat, np.isfinite(lon) & np.isfinite(lat)

    @property
    def lon(self) -> np.ndarray | None:
        return self._xy[0]

    @property
    def lat(self) -> np.ndarray | None:
        return self._xy[1]

    @property
    def has_xy(self) -> np.ndarray:
        return self._xy[2]

    @cached_property
    def _district(self):
        return self._labels("district", district_key)

    @property
    def district_names(self) -> list:
        return self._district[0]

    @property
    def district_codes(self) -> np.ndarray | None:
        return self._district[1]

    @cached_property
    def _credit(self):
        return self._labels("target_area", _text_or_none)

    @property
    def credit_names(self) -> list:
        return self._credit[0]

    @property
    def credit_codes(self) -> np.ndarray | None:
        return self._credit[1]

    @cached_property
    def category_codes(self) -> np.ndarray | None:
        """Category code of each row (sorted order); -1 where missing; None: the dataset has no category column."""
        codes = self._frame_codes("category", self._category_lookup)
        return None if codes is None else codes[self.order]

    @cached_property
    def agency_codes(self) -> np.ndarray | None:
        codes = self._frame_codes("agency", self._agency_lookup)
        return None if codes is None else codes[self.order]

    # ----
    def _categorical(self, col: str) -> pd.Series:
        s = self.frame[col]
        return s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype("category")

    def _label_table(self, col: str, norm):
        """(names, lookup from the column's category codes to name codes, the trailing entry -1 for missing) of a
        text/categorical column; ([], None) when the column is absent. Only the categories are looked at."""
        if col not in self.frame:
            return [], None
        cats = [norm(c) for c in self._categorical(col).cat.categories]
        names = list(dict.fromkeys(c for c in cats if c is not None))
        lookup = np.array([names.index(c) if c is not None else -1 for c in cats] + [-1], dtype=np.int32)
        return names, lookup

    def _frame_codes(self, col: str, lookup) -> np.ndarray | None:
        """Name codes of a column in the frame's order (-1 where missing), through its lookup table."""
        if lookup is None:
            return None
        return lookup[self._categorical(col).cat.codes.to_numpy()]  # code -1 (missing) picks the trailing -1

    def _labels(self, col: str, norm):
        """(names, codes) for a text/categorical column, codes in sorted order; codes -1 where missing; None when
        the column is absent."""
        names, lookup = self._label_table(col, norm)
        if lookup is None:
            return names, None
        raw = self._categorical(col).cat.codes.to_numpy()  # int8 for most columns: gathered before the lookup widens
        return names, lookup[raw[self.order]]

    def _hierarchy_drop(self) -> np.ndarray:
        """True (in the frame's order) for the offense rows the UCR hierarchy rule does not count: all but the highest
        Part I offense of each incident; arson and non-Part I rows are never dropped."""
        drop = np.zeros(self.n, dtype=bool)
        if not self.n:
            return drop
        s = self._categorical("category")
        rank_of = {c: i for i, c in enumerate(schema.HIERARCHY)}
        cat_rank = np.array([rank_of.get(str(c), -1) for c in s.cat.categories] + [-1], dtype=np.int64)
        rank = cat_rank[s.cat.codes.to_numpy()]  # code -1 (missing) picks the trailing -1
        ranked = np.flatnonzero(rank >= 0)
        if ranked.size < 2:
            return drop
        # only the ranked rows' incidents matter: hashing their ids alone is about half the work
        inc = self.incident_codes()[ranked] if self._incident_codes_frame is not None else \
            pd.factorize(self.frame["incident_id"].take(ranked))[0]
        if int(inc.max()) + 1 == ranked.size:
            return drop  # one ranked record per incident (the common layout): nothing to drop
        order = np.lexsort((ranked, rank[ranked], inc))  # per incident: best rank first, then first row
        inc_sorted = inc[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = inc_sorted[1:] != inc_sorted[:-1]
        drop[ranked[order[~first]]] = True
        return drop

    def incident_codes(self) -> np.ndarray:
        """Incident id codes in frame order (factorised once; shared by hierarchy and distinct-incident counting)."""
        if getattr(self, "_incident_codes_frame", None) is None:
            # the Series, not .to_numpy(): Arrow hashes its text without the GIL, while an object array of 1M Python
            # strings is built in one call that holds it (a 120 ms UI stall as a big import is taken in)
            self._incident_codes_frame = pd.factorize(self.frame["incident_id"])[0]
        return self._incident_codes_frame

    def weights(self, count: str) -> np.ndarray | None:
        if count not in self._weights:
            col = {"sum_count": "count", "sum_quantity": "quantity"}[count]
            w = self.frame[col].to_numpy(dtype="float64")[self.order] if col in self.frame else np.zeros(self.n)
            self._weights[count] = np.ascontiguousarray(np.nan_to_num(w, nan=0.0))
        return self._weights[count]

    @property
    def incidents(self) -> np.ndarray:
        if self._incidents is None:
            self._incidents = self.incident_codes()[self.order]
        return self._incidents

    def selector(self, m: Measure, counting: str) -> np.ndarray:
        """0/1 float vector over atoms: which atoms measure ``m`` counts under ``counting``."""
        rule = m.counting if m.counting != "workspace" else counting
        key = (m, rule)
        sel = self._sel.get(key)
        if sel is None:
            keep = np.ones(self.n_atoms, dtype=bool)
            if m.categories is not None:
                codes = [self.category_names.index(c) for c in m.categories if c in self.category_names]
                keep &= np.isin(self.atom_category, codes)
            for name, want in m.flags:
                keep &= self.atom_flags[name] == want
            if m.agencies is not None:
                codes = [self.agency_names.index(a) for a in m.agencies if a in self.agency_names]
                keep &= np.isin(self.atom_agency, codes)
            if rule == "hierarchy":
                keep &= ~self.atom_hdrop
            sel = keep.astype("float64")
            self._sel[key] = sel
        return sel

    def bounds(self, w: Window, days: np.ndarray | None = None) -> tuple[int, int]:
        d = self.days if days is None else days
        return int(np.searchsorted(d, w.start_day, "left")), int(np.searchsorted(d, w.end_day, "right"))


@dataclass
class Member:
    """Rows of one dataset inside one area, in one of two forms: ``idx``, positions into the sorted arrays, with the
    days and atoms of those rows gathered (cached areas: a new as-of date then only touches the area's rows); or
    ``mask``, a boolean mask over the sorted arrays applied segment by segment (a membership seen once, as in a
    what-if drag: no global gather). Neither: every row."""

    idx: np.ndarray | None
    days: np.ndarray
    atoms: np.ndarray
    geometry: object = None
    _weights: dict = field(default_factory=dict)
    mask: np.ndarray | None = None

    def weights(self, ix: DatasetIndex, count: str) -> np.ndarray | None:
        if count in ("records", "incidents"):
            return None
        if count not in self._weights:
            w = ix.weights(count)
            self._weights[count] = w if self.idx is None else w[self.idx]
        return self._weights[count]

    @property
    def size(self) -> int:
        return len(self.days)


@dataclass
class GridCounts:
    """Counts of measures over windows: ``values[i, j]`` for ``measures[i]`` and ``windows[j]``."""

    measures: list[Measure]
    windows: list[Window]
    values: np.ndarray
    as_of: object = None
    counting: str = "offense"
    # available[i, j] is False when measures[i]'s dataset has no records from before windows[j] began (+ a month
    # of grace): the window predates the data, so its count is unknown rather than zero
    available: np.ndarray | None = None
    # Datasets whose newest record is older than the as-of date: {dataset: its last day}. Their week-to-date and
    # 28-day cells count only up to that day, in both years (``trimmed``: (i, j) -> the window actually counted), so
    # the two windows stay the same length; ``Analysis.trim_to_data`` fills both.
    data_end: dict = field(default_factory=dict)
    trimmed: dict = field(default_factory=dict)

    def value(self, measure_id: str, kind: str, years_back: int = 0) -> float:
        i = next(k for k, m in enumerate(self.measures) if m.id == measure_id)
        j = next(k for k, w in enumerate(self.windows) if w.kind == kind and w.years_back == years_back)
        return float(self.values[i, j])

    def window(self, kind: str, years_back: int = 0) -> Window:
        return next(w for w in self.windows if w.kind == kind and w.years_back == years_back)


TRIMMED_WINDOWS = ("wtd", "28d")


class Analysis:
    """Counting engine of one workspace. Caches per dataset and per area; invalidated by the workspace's change
    callbacks (and, defensively, whenever a frame or an area geometry is no longer the object it indexed)."""

    def __init__(self, ws, catalog: Catalog | None = None):
        self._ws = weakref.ref(ws)
        self._catalog = catalog
        self._index: dict[str, DatasetIndex] = {}
        self._members: dict[tuple[str, str], Member] = {}
        self._placed: dict[str, tuple] = {}  # dataset -> (its index, district polygons, district of each row)
        self._callback = _make_listener(weakref.ref(self))
        ws.subscribe(self._callback)

    @property
    def ws(self):
        ws = self._ws()
        if ws is None:
            raise RuntimeError("the workspace of this Analysis no longer exists")
        return ws

    @property
    def catalog(self) -> Catalog:
        return self._catalog if self._catalog is not None else catalog_for(self.ws)

    def close(self) -> None:
        ws = self._ws()
        if ws is not None:
            ws.unsubscribe(self._callback)

    def invalidate(self, what: str | None = None) -> None:
        """Forget cached indexes: ``what`` is a dataset kind, "areas", or None for everything."""
        if what in schema.DATASETS:
            self._index.pop(what, None)
            self._members = {k: v for k, v in self._members.items() if k[0] != what}
        elif what == "areas":
            self._members = {k: v for k, v in self._members.items() if k[1] == "citywide"}
        elif what is None:
            self._index.clear()
            self._members.clear()

    # ---- coverage ----
    def covers(self, kind: str, start) -> bool:
        """Whether the dataset's records reach back to ``start`` (a Window, a date or a day number), within a month
        of grace. A window the data do not reach is unknown, not zero: every report leaves its cells blank."""
        first = self.index(kind).first_day
        if first is None:
            return False
        day = start.start_day if isinstance(start, Window) else start if isinstance(start, (int, np.integer)) \
            else day_number(start)
        return int(day) >= first - COVERAGE_GRACE_DAYS

    # ---- indexes ----
    def index(self, kind: str) -> DatasetIndex:
        df = self.ws.frames[kind]
        ix = self._index.get(kind)
        if ix is None or ix.frame is not df:
            ix = _live_index(df)  # e.g. built for a detached copy that shares the frame
            if ix is None:
                saved = self.ws.saved_indexes.get(kind)
                ix = DatasetIndex(kind, df, saved if saved is not None and saved.frame is df else None)
            self._index[kind] = ix
            self._members = {k: v for k, v in self._members.items() if k[0] != kind}
        return ix

    def coords(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """(lon, lat) of ``kind`` in the engine's sorted order — the order ``grid_for_mask`` masks are given in."""
        ix = self.index(kind)
        return ix.lon, ix.lat

    def frame_rows(self, kind: str, positions: np.ndarray) -> np.ndarray:
        """Row positions in the workspace frame of positions in the sorted order."""
        return self.index(kind).order[positions]

    def membership_mask(self, kind: str, area: AreaRef | str) -> np.ndarray:
        """Boolean mask (sorted order) of the rows of ``kind`` inside ``area``."""
        ref = area if isinstance(area, AreaRef) else resolve_area(self.ws, area)
        ix = self.index(kind)
        if ref.kind == "citywide":
            return np.ones(ix.n, dtype=bool)
        return self._mask_for(ix, ref.kind, ref.geometry, ref.district, ref.name)

    def mask_for_geometry(self, kind: str, geometry, area_kind: str = "scenario", name: str | None = None,
                          district: str | None = None) -> np.ndarray:
        """Membership mask (sorted order) for a shape that is not (yet) a workspace area, e.g. a what-if edit."""
        return self._mask_for(self.index(kind), area_kind, geometry, district, name)

    def _district_labels(self, ix: DatasetIndex):
        """(district polygons, which of them holds each row of ``ix`` (-1: none)) when the workspace's districts do
        not overlap, else None. Placing every row among all districts at once is one pass over the points instead
        of one per district (the export asks for all of them; at 10M records a pass is about 0.1 s of CPU). With
        interiors that do not meet, "the first polygon holding the point" is "the polygon holding it", so each
        district's mask is exactly its own point-in-polygon test."""
        geoms = [a.geometry for a in self.ws.districts if a.geometry is not None and not a.geometry.is_empty]
        got = self._placed.get(ix.kind)
        if got is not None and got[0] is ix and len(got[1]) == len(geoms) and all(
                a is b for a, b in zip(got[1], geoms)):
            return (got[1], got[2]) if got[2] is not None else None
        labels = None
        if len(geoms) > 1 and ix.lon is not None and ix.n >= geo.GRID_INDEX_FROM and geo.interiors_disjoint(geoms):
            placed = geo.assign(geoms, ix.lon, ix.lat)
            labels = placed.astype(np.int8 if len(geoms) < 127 else np.int16)  # 1 byte per record kept
        self._placed[ix.kind] = (ix, geoms, labels)
        return (geoms, labels) if labels is not None else None

    def _mask_for(self, ix: DatasetIndex, area_kind, geometry, district, name) -> np.ndarray:
        shared = self._district_labels(ix) if area_kind == "district" and geometry is not None else None
        k = next((i for i, g in enumerate(shared[0]) if g is geometry), None) if shared is not None else None
        if k is not None:
            inside = shared[1] == k
        elif ix.lon is not None and geometry is not None:
            inside = geo.contains(geometry, ix.lon, ix.lat)
        else:
            inside = np.zeros(ix.n, dtype=bool)
        if area_kind == "district" and district is not None and ix.district_codes is not None \
                and district in ix.district_names:
            by_column = ix.district_codes == ix.district_names.index(district)
            # a district known only from the records' district column (no polygon yet) holds every record that
            # names it; with a polygon, the column places only the records without coordinates
            inside |= by_column if geometry is None else (~ix.has_xy & by_column)
        if area_kind == "target_area" and name is not None and ix.credit_codes is not None \
                and name in ix.credit_names:
            inside |= ~ix.has_xy & (ix.credit_codes == ix.credit_names.index(name))
        return inside

    def member(self, kind: str, area: AreaRef | str) -> Member:
        ref = area if isinstance(area, AreaRef) else resolve_area(self.ws, area)
        ix = self.index(kind)
        key = (kind, ref.key)
        m = self._members.get(key)
        if m is not None and (ref.kind == "citywide" or m.geometry is ref.geometry):
            return m
        if ref.kind == "citywide":
            m = Member(None, ix.days, ix.atoms, ref.geometry)
        else:
            m = self.member_from_mask(kind, self.membership_mask(kind, ref), gather=True)
            m.geometry = ref.geometry
        self._members[key] = m
        return m

    def member_from_mask(self, kind: str, mask: np.ndarray | None, gather: bool = False) -> Member:
        """A Member from a boolean mask in sorted order. ``gather=True`` copies the area's rows out (worth it when
        the same membership is asked about many times); otherwise the mask is applied per window segment."""
        ix = self.index(kind)
        if mask is None:
            return Member(None, ix.days, ix.atoms)
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (ix.n,):
            raise ValueError(f"{kind}: membership mask has {mask.shape[0]} rows, the dataset {ix.n}")
        if not gather:
            return Member(None, ix.days, ix.atoms, mask=mask)
        idx = np.flatnonzero(mask)
        return Member(idx, ix.days[idx], ix.atoms[idx])

    # ---- counting ----
    def histograms(self, kind: str, member: Member, windows: list[Window], count: str = "records") -> np.ndarray:
        """(len(windows), n_atoms) weighted atom histograms, each row of the member looked at once at most."""
        ix = self.index(kind)
        out = np.zeros((len(windows), ix.n_atoms))
        if member.size == 0 or not windows:
            return out
        spans = [ix.bounds(w, member.days) for w in windows]
        cuts = np.unique(np.array([p for s in spans for p in s], dtype=np.int64))
        covered = np.zeros(len(cuts) - 1, dtype=bool)
        pos = {int(c): i for i, c in enumerate(cuts)}
        for lo, hi in spans:
            covered[pos[lo]:pos[hi]] = True
        weights = member.weights(ix, count)
        seg = np.zeros((len(cuts), ix.n_atoms))  # seg[i+1] = histogram of segment i; cumulative after the loop
        for i in np.flatnonzero(covered):
            a, b = int(cuts[i]), int(cuts[i + 1])
            atoms = member.atoms[a:b]
            wts = None if weights is None else weights[a:b]
            if member.mask is not None:
                inside = member.mask[a:b]
                atoms = atoms[inside]
                wts = None if wts is None else wts[inside]
            seg[i + 1] = np.bincount(atoms, weights=wts, minlength=ix.n_atoms)
        cum = np.cumsum(seg, axis=0)
        for j, (lo, hi) in enumerate(spans):
            out[j] = cum[pos[hi]] - cum[pos[lo]]
        return out

    def _incident_count(self, kind: str, member: Member, w: Window, sel: np.ndarray) -> int:
        ix = self.index(kind)
        lo, hi = ix.bounds(w, member.days)
        rows = np.arange(lo, hi)
        rows = rows[sel[member.atoms[lo:hi]] > 0]
        if member.mask is not None:
            rows = rows[member.mask[rows]]
        if member.idx is not None:
            rows = member.idx[rows]
        return int(np.unique(ix.incidents[rows]).size)

    def counts_for_members(self, members: dict[str, Member], measures: list[Measure], windows: list[Window],
                           counting: str | None = None, as_of=None) -> GridCounts:
        counting = counting or counting_rule(self.ws)
        values = np.zeros((len(measures), len(windows)))
        by_dataset: dict[tuple[str, str], list[int]] = {}
        for i, m in enumerate(measures):
            if m.kind != "count":
                raise ValueError(f"measure '{m.id}' is a {m.kind} measure, not a count")
            by_dataset.setdefault((m.dataset, "incidents" if m.count == "incidents" else m.count), []).append(i)
        for (kind, count), rows in by_dataset.items():
            member = members[kind]
            ix = self.index(kind)
            if count == "incidents":
                for i in rows:
                    sel = ix.selector(measures[i], counting)
                    for j, w in enumerate(windows):
                        values[i, j] = self._incident_count(kind, member, w, sel)
                continue
            hist = self.histograms(kind, member, windows, count)
            sel = np.stack([ix.selector(measures[i], counting) for i in rows], axis=1)  # (atoms, measures)
            values[rows, :] = (hist @ sel).T
        available = np.ones(values.shape, dtype=bool)
        for i, m in enumerate(measures):
            for j, w in enumerate(windows):
                # the as-of windows are always shown; earlier ones only when the data reach back to them
                available[i, j] = w.years_back == 0 or self.covers(m.dataset, w)
        return GridCounts(list(measures), list(windows), np.rint(values) if _all_integral(measures) else values,
                          as_of, counting, available)

    def grid(self, area: AreaRef | str, as_of=None, measures: list[Measure] | None = None, years_back: int = 5,
             counting: str | None = None) -> GridCounts:
        """Every CompStat window (WTD, 28 days, YTD; this year and ``years_back`` before) for every grid measure."""
        ref = area if isinstance(area, AreaRef) else resolve_area(self.ws, area)
        as_of = self.default_as_of(as_of)
        measures = measures if measures is not None else [m for m in self.catalog.counts() if m.grid]
        windows = list(compstat_windows(as_of, years_back).values())
        members = {k: self.member(k, ref) for k in {m.dataset for m in measures}}
        return self.trim_to_data(self.counts_for_members(members, measures, windows, counting, as_of), members,
                                 counting)

    def grid_for_mask(self, masks: dict[str, np.ndarray | None], as_of=None,
                      measures: list[Measure] | None = None, years_back: int = 5,
                      counting: str | None = None) -> GridCounts:
        """All grid figures for membership masks given per dataset in the engine's sorted order (see ``coords``):
        the what-if editor's entry point. A dataset missing from ``masks`` counts nothing; ``None`` counts all."""
        as_of = self.default_as_of(as_of)
        measures = measures if measures is not None else [m for m in self.catalog.counts() if m.grid]
        windows = list(compstat_windows(as_of, years_back).values())
        members = {}
        for kind in {m.dataset for m in measures}:
            if kind in masks:
                members[kind] = self.member_from_mask(kind, masks[kind])
            else:
                members[kind] = Member(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64),
                                       np.zeros(0, dtype=np.intp))
        return self.trim_to_data(self.counts_for_members(members, measures, windows, counting, as_of), members,
                                 counting)

    def trim_to_data(self, g: GridCounts, members: dict[str, Member], counting: str | None = None) -> GridCounts:
        """Week-to-date and 28-day counts of a dataset that ends before the as-of date, recounted over the days it
        covers in both years: a week whose data stop on Saturday is compared with Monday-Saturday a year earlier,
        not with a full week. Year to date keeps the January 1 - as-of span (a day or two in nine months). A
        window that starts after the dataset's last record is unknown (not available), not zero."""
        as_of_day = day_number(to_date(g.as_of))
        for kind in sorted({m.dataset for m in g.measures}):
            last = self.index(kind).last_day
            if last is None or last >= as_of_day:
                continue
            end = date_of_day(last)
            g.data_end[kind] = end
            rows = [i for i, m in enumerate(g.measures) if m.dataset == kind]
            cols, wins = [], []
            for j, w in enumerate(g.windows):
                if w.kind not in TRIMMED_WINDOWS:
                    continue
                current = g.window(w.kind, 0)
                if end < current.start:
                    g.available[rows, j] = False
                    continue
                cut = Window(w.kind, current.start, end, 0)
                cols.append(j)
                wins.append(cut.shifted(w.years_back) if w.years_back else cut)
            if not cols:
                continue
            sub = self.counts_for_members({kind: members[kind]}, [g.measures[i] for i in rows], wins, counting,
                                          g.as_of)
            for a, i in enumerate(rows):
                for b, j in enumerate(cols):
                    g.values[i, j] = sub.values[a, b]
                    g.trimmed[(i, j)] = wins[b]
        return g

    def count(self, measure: Measure | str, area: AreaRef | str, window: Window,
              counting: str | None = None) -> int | float:
        """One figure: ``measure`` in ``area`` over ``window``."""
        m = self.catalog.get(measure)
        g = self.counts_for_members({m.dataset: self.member(m.dataset, area)}, [m], [window], counting)
        v = float(g.values[0, 0])
        return v if m.count == "sum_quantity" else int(round(v))

    def rows(self, measure: Measure | str, area: AreaRef | str, window: Window | None,
             counting: str | None = None) -> np.ndarray:
        """Positions (sorted order) of the rows ``measure`` counts in ``area`` over ``window`` (None: all time)."""
        m = self.catalog.get(measure)
        ix = self.index(m.dataset)
        member = self.member(m.dataset, area)
        sel = ix.selector(m, counting or counting_rule(self.ws))
        if window is None:
            lo, hi = int(np.searchsorted(member.days, NAT_DAY, "right")), member.size
        else:
            lo, hi = ix.bounds(window, member.days)
        rows = np.arange(lo, hi)[sel[member.atoms[lo:hi]] > 0]
        if member.mask is not None:
            rows = rows[member.mask[rows]]
        return rows if member.idx is None else member.idx[rows]

    def breakdown(self, measure: Measure | str, area: AreaRef | str, windows: list[Window], by: str = "district",
                  counting: str | None = None) -> tuple[list[str], np.ndarray]:
        """Counts of ``measure`` in ``area`` per value of ``by`` ("district": the records' own district column,
        "agency", "category") and window: (names, array[len(names), len(windows)]). The last name is
        "Unknown" (records without a value)."""
        m = self.catalog.get(measure)
        ix = self.index(m.dataset)
        names, codes = {"district": (ix.district_names, ix.district_codes),
                        "agency": (ix.agency_names, ix.agency_codes),
                        "category": (ix.category_names, ix.category_codes)}[by]
        names = list(names) + [schema.UNKNOWN_DISTRICT]
        out = np.zeros((len(names), len(windows)))
        if not windows:
            return names, out
        span = Window("custom", min(w.start for w in windows), max(w.end for w in windows))
        pos = self.rows(m, area, span, counting)
        days = ix.days[pos]
        g = np.full(pos.size, len(names) - 1, dtype=np.intp) if codes is None else codes[pos]
        g = np.where(g < 0, len(names) - 1, g)
        weights = ix.weights(m.count)
        weights = None if weights is None else weights[pos]
        for j, w in enumerate(windows):
            sel = (days >= w.start_day) & (days <= w.end_day)
            if m.count == "incidents":
                pairs = np.unique(np.stack([g[sel], ix.incidents[pos][sel]]), axis=1)
                out[:, j] = np.bincount(pairs[0], minlength=len(names))
            else:
                out[:, j] = np.bincount(g[sel], weights=None if weights is None else weights[sel],
                                        minlength=len(names))
        return names, out

    def daily(self, measure: Measure | str, area: AreaRef | str, start, end,
              counting: str | None = None) -> np.ndarray:
        """Per-day figures of ``measure`` in ``area`` from ``start`` to ``end`` inclusive (distinct-incident measures
        count each incident on the day of its first record)."""
        m = self.catalog.get(measure)
        ix = self.index(m.dataset)
        w = Window("custom", to_date(start), to_date(end))
        pos = self.rows(m, area, w, counting)
        days = ix.days[pos] - w.start_day
        weights = ix.weights(m.count)
        weights = None if weights is None else weights[pos]
        if m.count == "incidents" and pos.size:
            _, first = np.unique(ix.incidents[pos], return_index=True)
            days = days[first]
        return np.bincount(days, weights=weights, minlength=w.days).astype("float64")

    def default_as_of(self, as_of=None):
        if as_of is not None:
            return pd.Timestamp(to_date(as_of))
        found = self.ws.as_of()
        if found is None:
            from workstation.core.errors import UserError

            raise UserError("The workspace has no dated records yet, so there is no as-of date: import data first.")
        return found


def _all_integral(measures: list[Measure]) -> bool:
    return all(m.count != "sum_quantity" for m in measures)


def _make_listener(ref):
    def on_change(what: str) -> None:
        eng = ref()
        if eng is not None:
            # other events (meta, import log, ...) leave the indexes valid; frames and geometries are also
            # checked by identity on every use, so a missed event cannot serve stale counts
            if what in schema.DATASETS or what == "areas":
                eng.invalidate(what)
            elif what in ("all", "workspace", "*"):
                eng.invalidate(None)
    return on_change


_engines: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def index_to_save(ws, kind: str, df: pd.DataFrame) -> SavedIndex | None:
    """The index a save writes beside the dataset's columns (registered with the workspace file): the one the engine
    built for this very frame, or the one the file was opened with, or else built now, so that the next open of the
    file counts its first grid without sorting or hashing (about 2 s of CPU at 10M records)."""
    if not len(df):
        return None
    ix = _live_index(df)
    if ix is None:
        saved = ws.saved_indexes.get(kind)
        if saved is not None and saved.frame is df:
            ix = DatasetIndex(kind, df, saved)  # a check of the saved arrays, no build when they are this program's
        else:
            ix = DatasetIndex(kind, df)
    return ix.saved_form()


register_index_provider(index_to_save)


def analysis_for(ws) -> Analysis:
    """The shared engine of a workspace (created on first use; lives as long as the workspace)."""
    eng = _engines.get(ws)
    if eng is None:
        eng = Analysis(ws)
        _engines[ws] = eng
    return eng

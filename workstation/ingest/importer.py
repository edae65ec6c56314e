"""Turning a source file into canonical records and merging them into the workspace.

Everything is computed first (read, map, check, merge into new frames) and the workspace is changed last, in one
step, so an error or a cancel at any point leaves it exactly as it was. Every input row ends accepted or rejected
with a reason: rows_read == accepted + rejected.
"""
from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from workstation.core import schema
from workstation.core.memory import give_back_pages, release_unused_memory
from workstation.core.errors import UserError
from workstation.core.workspace import Workspace, now_stamp
from workstation.ingest import readers
from workstation.ingest.boundaries import OUTSIDE_WARNING, district_union, import_areas, inside_count
from workstation.ingest.dates import parse_dates
from workstation.ingest.profiles import (Profile, detect_headerless, detect_profile, is_optional, norm_name, norm_value,
                                        resolve_column)
from workstation.ingest.result import ImportResult, stop_import

DUPLICATE_REASON = "exact duplicate of an earlier row"
FUTURE_REASON = "date in the future"
TRUE_VALUES = ("Y", "YES", "TRUE", "T", "1", "X", "1.0")

# Arrow's hashing and hashlib run without the GIL: the file hash and the id hashing run beside the parse.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ingest")

# The canonical fields each kind needs from a profile (or a constant, or a wide layout) to make a record at all.
_NEEDS = {
    "offenses": ("incident_id", "occurred", "category"),
    "shootings": ("incident_id", "occurred"),
    "calls": ("incident_id", "occurred", "category"),
    "activity": ("occurred", "category"),
    "people": ("incident_id", "person_id", "role"),
}


# ---------------------------------------------------------------------------------------------------------------------
# value helpers (each works on distinct values, so a 1M-row column costs one factorize)
def rows_text(n: int) -> str:
    """'1 row', '2,345 rows': counts in warnings read as sentences."""
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _map_unique(s: pd.Series, fn, out_dtype=object):
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [fn(None)], dtype=out_dtype)
    return mapped[codes]  # code -1 picks the last entry: fn(None)


def _categorical(s: pd.Series, fn) -> pd.Categorical:
    """Categorical of fn(value) for every distinct value; fn returning None gives a missing value."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels = [fn(u) for u in uniques]
    cats = sorted({x for x in labels if x is not None})
    where = {c: i for i, c in enumerate(cats)}
    lut = np.array([where[x] if x is not None else -1 for x in labels] + [-1], dtype=np.int32)
    return pd.Categorical.from_codes(lut[codes], categories=pd.Index(cats, dtype="str"))


def _blank(s: pd.Series) -> np.ndarray:
    if s.dtype == object or s.dtype == "str":
        return (s.isna() | (s.astype("str").str.strip() == "")).to_numpy()
    return s.isna().to_numpy()


def _as_text(s: pd.Series, strip: bool = True) -> pd.Series:
    """Text with surrounding blanks removed, whole numbers without '.0', blank as missing (``strip=False``: kept
    as written, only empty cells missing; one pass fewer over a 1M-row column)."""
    if pd.api.types.is_float_dtype(s.dtype):
        # beyond 2**53 a float is no exact integer (and 2**70 cannot become an Int64): keep its own text
        isint = s.notna() & (s == np.round(s)) & (s.abs() < 2**53)
        t = s.astype("str")
        if isint.any():
            t = t.where(~isint, s.where(isint).round().astype("Int64").astype("str"))
        return t.where(s.notna())
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("str").where(s.notna())
    if s.dtype == object:
        # workbook cells: floats that are whole numbers become integers
        def cell(v):
            if v is None or (isinstance(v, float) and v != v):
                return None
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return str(v)
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        lut = np.array([cell(u) for u in uniques] + [None], dtype=object)
        s = pd.Series(lut[codes], index=s.index, dtype="str")
    t = s.astype("str")
    if strip:
        t = t.str.strip()
    elif not (t == "").any():
        return t
    return t.where(t != "")


def _numeric(s: pd.Series) -> np.ndarray:
    """Numbers parsed on purpose from text: ' 43.05 ', '1,234' and '-87.9' are numbers, anything else is missing."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype="float64", na_value=np.nan)
    if s.dtype == "str":
        import pyarrow as pa
        import pyarrow.compute as pc

        try:  # a clean column (the usual case) casts in one Arrow pass; anything odd takes the careful path
            return pc.cast(pa.array(s.array), pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    t = s.astype("str").str.strip().str.replace(",", "", regex=False)
    return pd.to_numeric(t, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _truthy(s: pd.Series, true_values=None, pattern: str | None = None) -> np.ndarray:
    if pattern:
        rx = re.compile(pattern, re.IGNORECASE)
        return _map_unique(s, lambda v: v is not None and v == v and bool(rx.search(str(v))), bool)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).to_numpy(dtype=bool)
    tv = {norm_value(v) for v in (true_values or TRUE_VALUES)}

    def f(v):
        if v is None or (isinstance(v, float) and v != v):
            return False
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return v != 0 if not true_values else norm_value(_num_text(v)) in tv
        return norm_value(v) in tv
    return _map_unique(s, f, bool)


def _num_text(v) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _counts(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts from a flag/count column: numbers as they are, Y/TRUE/X as 1, blank/N/FALSE as 0.

    Returns (counts, bad) where bad marks text that is neither."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).to_numpy(dtype=np.int64), np.zeros(len(s), bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isfinite(v) & ((v < 0) | (v != np.round(v)))
        return np.where(np.isfinite(v) & ~bad, v, 0).astype(np.int64), bad

    def f(u):
        if u is None or (isinstance(u, float) and u != u):
            return 0
        t = norm_value(u)
        if t in ("", "N", "NO", "FALSE", "F", "0", "0.0"):
            return 0
        if t in TRUE_VALUES:
            return 1
        try:
            x = float(t.replace(",", ""))
        except ValueError:
            return -1
        return int(x) if x >= 0 and x.is_integer() else -1
    v = _map_unique(s, f, np.int64)
    bad = v < 0
    return np.where(bad, 0, v), bad


def stable_ids(frame: pd.DataFrame) -> pd.Series:
    """A stable id from a row's values (activity without an id): the same row always gets the same id."""
    text = None
    for c in frame.columns:
        t = frame[c].astype("str").fillna("")
        text = t if text is None else text + "\x1f" + t
    return pd.Series([hashlib.sha1(v.encode("utf-8")).hexdigest()[:16] for v in text.to_numpy()],
                     index=frame.index, dtype="str")


# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class Mapped:
    """A file mapped through a profile: canonical records, which input rows were rejected and why."""

    records: pd.DataFrame
    reason_code: np.ndarray  # per input row: 0 accepted, else 1 + the index of its reason in ``reasons``
    reasons: list            # the reason texts, in the order they were first given
    warnings: list
    no_location: int = 0
    duplicates: int = 0  # exact duplicate rows (rejected as such: listed, never silently lost)
    merged: int = 0  # status rows of a call folded into the call's one record


class _Resolver:
    def __init__(self, df: pd.DataFrame, profile: Profile, label: str):
        self.df, self.profile, self.label = df, profile, label

    def spec_present(self, fld: str) -> bool:
        return fld in self.profile.columns

    def get(self, fld: str, required: bool | None = None) -> pd.Series | None:
        spec = self.profile.columns.get(fld)
        if spec is None:
            return None
        cols = resolve_column(self.df.columns, spec)
        optional = is_optional(fld, spec)
        if cols is None:
            if required is False or (required is None and optional):
                return None
            want = spec if not isinstance(spec, dict) else " or ".join(map(str, spec.get("one_of", [])))
            raise UserError(f"{self.label}: the column '{want}' that profile '{self.profile.name}' reads as "
                            f"{fld} is missing. Check that this is the right export, or edit the profile.")
        return self.column(cols)

    def column(self, cols) -> pd.Series:
        if len(cols) == 1:
            return self.df[cols[0]]
        parts = [_as_text(self.df[c]).fillna("") for c in cols]
        joined = parts[0]
        for p in parts[1:]:
            joined = joined + " " + p
        joined = joined.str.strip()
        return joined.where(joined != "")

    def raw(self, name) -> pd.Series | None:
        cols = resolve_column(self.df.columns, name)
        return None if cols is None else self.column(cols)


_LEADING_ZEROS = re.compile(r"^0+(?=\d)")


def code_key(value: str) -> str:
    """A code compared without its leading zeros: '03' and '3', '01A' and '1A', '007' and '7' are one code. A
    spreadsheet that stored the code as a number has already lost the zeros; the mapping must not depend on it."""
    return _LEADING_ZEROS.sub("", value)


def _category_fn(profile: Profile):
    vmap = {norm_value(k): v for k, v in profile.categories.items()}
    by_code: dict = {}
    for k, v in vmap.items():
        by_code.setdefault(code_key(k), set()).add(v)
    by_code = {k: next(iter(v)) for k, v in by_code.items() if len(v) == 1}  # only where it is unambiguous
    pats = [(re.compile(p, re.IGNORECASE), c) for p, c in profile.category_patterns]

    def fn(v):
        if v is None or (isinstance(v, float) and v != v):
            return None
        key = norm_value(_num_text(v) if isinstance(v, (float, np.floating)) and float(v).is_integer() else v)
        if not key:
            return None  # a blank cell is "no category value", never the default
        if key in vmap:
            return vmap[key]
        if code_key(key) in by_code:
            return by_code[code_key(key)]
        for rx, c in pats:
            if rx.search(key):
                return c
        return profile.category_default
    return fn


def check_profile(profile: Profile, label: str = "") -> None:
    """Refuse a profile whose categories are not canonical (a typo would silently drop records)."""
    allowed = _allowed_categories(profile.kind)
    targets = list(profile.categories.values()) + [c for _, c in profile.category_patterns]
    if profile.category_default:
        targets.append(profile.category_default)
    for spec in list(profile.flag_columns.values()) + list(profile.count_columns.values()):
        if isinstance(spec, dict):
            targets += [spec.get("category"), spec.get("else")]
        else:
            targets.append(spec)
    where = f"{label}: profile '{profile.name}'" if label else f"Profile '{profile.name}'"
    bad = sorted({t for t in targets if t is not None and t not in allowed})
    if bad:
        raise UserError(f"{where} maps values to unknown categories {', '.join(bad)}; use one of "
                        f"{', '.join(allowed)}.")
    patterns = [p for p, _ in profile.category_patterns]
    patterns += [f.get("pattern") for f in profile.flags.values() if isinstance(f, dict)]
    patterns += [(spec.get("if") or {}).get("pattern") for spec in profile.flag_columns.values()
                 if isinstance(spec, dict)]
    for pat in patterns:
        if pat is None:
            continue
        try:
            re.compile(pat)
        except (re.error, TypeError) as exc:
            raise UserError(f"{where} has a pattern that is not a valid regular expression ({pat!r}: {exc}).") \
                from None
    for key in ("source", "local"):
        zone = (profile.timezone or {}).get(key)
        if zone and str(zone).upper() != "UTC":
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(zone)
            except Exception:
                raise UserError(f"{where} names the time zone '{zone}', which is not known; use a name such as "
                                "'America/Chicago'.") from None


def _allowed_categories(kind: str) -> tuple:
    return {"offenses": schema.OFFENSE_CATEGORIES, "calls": schema.CALL_CATEGORIES,
            "activity": schema.ACTIVITY_CATEGORIES, "people": schema.PEOPLE_ROLES}.get(kind, ())


def _coordinates(r: _Resolver, profile: Profile, ok: np.ndarray | None = None):
    """lat, lon (WGS84) for every row: lat/lon columns where usable, else x/y through the profile's EPSG code."""
    n = len(r.df)
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    la, lo = r.get("lat"), r.get("lon")
    if la is not None and lo is not None:
        lat, lon = _numeric(la), _numeric(lo)
        good = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & \
            ~((lat == 0) & (lon == 0))
        lat = np.where(good, lat, np.nan)
        lon = np.where(good, lon, np.nan)
    xs, ys = r.get("x"), r.get("y")
    if xs is not None and ys is not None:
        if profile.epsg in (None, ""):
            raise UserError(f"{r.label}: profile '{profile.name}' reads projected x/y coordinates but names no "
                            "EPSG code; add \"epsg\" to the profile.")
        x, y = _numeric(xs), _numeric(ys)
        need = ~np.isfinite(lat) & np.isfinite(x) & np.isfinite(y) & (x != 0) & (y != 0)
        if need.any():
            from workstation.engine.geometry import to_wgs84

            try:
                plon, plat = to_wgs84(x[need], y[need], profile.epsg)
            except Exception as exc:
                raise UserError(f"{r.label}: profile '{profile.name}' names coordinate system "
                                f"'{profile.epsg}', which cannot be used ({exc}).") from None
            okp = np.isfinite(plat) & np.isfinite(plon) & (np.abs(plat) <= 90) & (np.abs(plon) <= 180)
            idx = np.flatnonzero(need)
            lat[idx[okp]] = plat[okp]
            lon[idx[okp]] = plon[okp]
    return lat, lon


def coordinates_of(df: pd.DataFrame, profile: Profile, label: str = ""):
    """lat, lon (WGS84) of every row of a raw table by the profile's coordinate columns, with the record importer's
    rules (reference layers read tables with coordinates through this)."""
    return _coordinates(_Resolver(df, profile, label), profile)


class _Rows:
    """The rows of one file while ``map_frame`` maps them: which are still accepted, why the others were rejected,
    and the canonical columns made so far. Each step below reads the profile through ``r`` and adds to ``cols``."""

    def __init__(self, df: pd.DataFrame, profile: Profile, label: str, should_stop):
        self.df, self.profile, self.label, self.kind = df, profile, label, profile.kind
        self.r = _Resolver(df, profile, label)
        self.n = len(df)
        self.ok = np.ones(self.n, dtype=bool)
        # a small code per row, not an object array of texts: at 10M rows filling, comparing and testing an object
        # array each held the GIL for 100-300 ms (UI stalls while the import runs in its worker)
        self.reason_code = np.zeros(self.n, dtype=np.int16)
        self.reasons: list[str] = []
        self.warnings: list = []
        self.cols: dict = {}
        self.should_stop = should_stop
        self.wide_flags = bool(profile.flag_columns)
        self.wide_counts = bool(profile.count_columns)

    def reject(self, mask, text):
        """Reject the rows of ``mask`` that are still accepted, with ``text`` as their reason (the first reason
        found is the one listed)."""
        m = np.asarray(mask, dtype=bool) & self.ok
        if m.any():
            if text not in self.reasons:
                self.reasons.append(text)
            self.reason_code[m] = 1 + self.reasons.index(text)
            self.ok[m] = False

    def rejected_for(self, text: str) -> int:
        """How many rows were rejected with the reason ``text``."""
        return int((self.reason_code == 1 + self.reasons.index(text)).sum()) if text in self.reasons else 0

    def stop(self):
        stop_import(self.should_stop)


@dataclass
class _Background:
    """Column work started before the ids (Arrow parses and hashes mostly without the GIL), collected later."""

    dates: object = None
    district: object = None
    flags: dict = field(default_factory=dict)


@dataclass
class _Categories:
    """What the category step found: one category per row, or several listed in a cell, or counted columns."""

    per_row: pd.Categorical | None = None
    listed: tuple | None = None  # (row of each listed offense, its category, its text) when a cell lists several
    counted: list | None = None  # (source column, counts, condition hit, category, else-category) per wide column


def map_frame(df: pd.DataFrame, profile: Profile, label: str = "", should_stop=None) -> Mapped:
    """Map raw rows through ``profile`` into canonical records of ``profile.kind`` (not yet conformed)."""
    check_profile(profile, label)
    _check_needed_fields(profile, label)
    rows = _Rows(df, profile, label, should_stop)
    background = _start_background(rows)
    ids, id_codes = _map_ids(rows)
    rows.stop()
    _map_dates(rows, background.dates)
    rows.stop()
    categories = _map_categories(rows)
    rows.stop()
    _map_places(rows, background.district)
    _map_other_fields(rows, background.flags)
    rows.stop()
    ids = _ids_without_source_id(rows, ids)
    rows.cols["category"] = categories.per_row if rows.kind != "people" else None
    if rows.kind == "people":
        rows.cols["role"] = categories.per_row
    rec = _records(rows, categories, ids, id_codes)
    return _finish(rows, rec)


def _check_needed_fields(profile: Profile, label: str) -> None:
    """Refuse a profile that names no column (or constant, or wide layout) for a field its kind needs."""
    wide = bool(profile.flag_columns) or bool(profile.count_columns)
    for need in _NEEDS[profile.kind]:
        if need == "category" and (wide or "category" in profile.constants):
            continue
        if need == "incident_id" and profile.kind == "activity":
            continue
        if need not in profile.columns and need not in profile.constants:
            if need == "incident_id" and profile.id_from:
                continue
            raise UserError(f"{label}: profile '{profile.name}' does not say which column holds {need}; "
                            "add it to the profile's \"columns\".")


def _start_background(rows: _Rows) -> _Background:
    # dates parse in Arrow (mostly without the GIL): start them now, use them after the ids; the district keys
    # and the flag columns (one hashing pass each) go beside them too
    r, profile, label = rows.r, rows.profile, rows.label
    utc = bool((profile.timezone or {}).get("local"))
    occ_col = r.get("occurred") if "occurred" in profile.columns else None
    jobs = _Background()
    if occ_col is not None:
        jobs.dates = _POOL.submit(parse_dates, occ_col, profile.date_formats, profile.dayfirst, utc)
    d_src = r.get("district")
    if d_src is not None:
        jobs.district = _POOL.submit(_categorical, d_src, schema.normalise_district)
    for fname, spec in profile.flags.items():
        fs = r.raw(spec["column"]) if spec.get("column") is not None else None
        if fs is None:
            if spec.get("optional"):
                continue
            raise UserError(f"{label}: the column '{spec.get('column')}' that profile '{profile.name}' reads for "
                            f"{fname} is missing.")
        jobs.flags[fname] = _POOL.submit(_truthy, fs, spec.get("true_values"), spec.get("pattern"))
    return jobs


def _map_ids(rows: _Rows):
    """The incident ids (rows without one rejected) and, running in the pool, their codes; then exact duplicate
    rows are rejected. Returns (ids or None, the codes' future or None)."""
    ids = None
    id_codes = None
    if "incident_id" in rows.profile.columns:
        ids = _as_text(rows.r.get("incident_id"))
        if ids.str.endswith(".0").any():  # ids that went through a spreadsheet as numbers
            ids = ids.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
        rows.reject(ids.isna().to_numpy(), "no incident id")
        # hashing 1M ids is the costliest single step; Arrow does it without the GIL, so it runs beside the rest
        id_codes = _POOL.submit(_factorize_codes, ids)
    duplicate = _exact_duplicates(rows.df, id_codes.result() if id_codes is not None else None)
    rows.reject(duplicate, DUPLICATE_REASON)
    return ids, id_codes


def _map_dates(rows: _Rows, dates_job) -> None:
    """occurred (in the profile's local zone when it names one) and reported; rows without a usable date, or dated
    after today, are rejected."""
    profile, n = rows.profile, rows.n
    tzinfo = profile.timezone or {}
    if dates_job is not None:
        occurred, missing, bad = dates_job.result()
        if tzinfo.get("local"):
            src = tzinfo.get("source", "UTC")
            if src and src.upper() != "UTC":  # naive values were taken as UTC; reinterpret in the source zone
                # the repeated hour of a DST change is read as standard time rather than lost
                occurred = occurred.dt.tz_localize(None).dt.tz_localize(src, ambiguous=np.zeros(n, dtype=bool),
                                                                          nonexistent="shift_forward")
            occurred = occurred.dt.tz_convert(tzinfo["local"]).dt.tz_localize(None).astype("datetime64[ns]")
        if rows.kind != "people":
            rows.reject(missing, "no date")
            rows.reject(bad, "date not understood")
        rows.cols["occurred"] = occurred
        # a date after the import day is a typo or a placeholder ("2031"): accepted, it would move the as-of date
        # and every default figure with it
        tomorrow = pd.Timestamp.now().normalize() + pd.Timedelta(days=1)
        rows.reject((occurred >= tomorrow).to_numpy(dtype=bool, na_value=False), FUTURE_REASON)
    if (src := rows.r.get("reported")) is not None:
        rows.cols["reported"], _, _ = parse_dates(src, profile.date_formats, profile.dayfirst)


def _map_categories(rows: _Rows) -> _Categories:
    """The category (or a person's role) of each row, the offenses listed in one cell, or the wide layout's
    counted columns; rows whose value is blank or not mapped are rejected."""
    profile, kind, n = rows.profile, rows.kind, rows.n
    found = _Categories()
    if kind in ("offenses", "calls", "activity", "people") and not rows.wide_flags and not rows.wide_counts:
        fld = "role" if kind == "people" else "category"
        if fld in profile.columns and profile.category_separator and kind == "offenses":
            found.listed = _listed_categories(rows, fld)
            found.per_row = pd.Categorical([None] * n, categories=found.listed[1].categories)  # set per record
        elif fld in profile.columns:
            found.per_row = _categories_per_row(rows, fld)
        else:
            value = profile.constants.get(fld)
            found.per_row = pd.Categorical([value] * n, categories=pd.Index([value], dtype="str"))
    if rows.wide_flags or rows.wide_counts:
        found.counted = _counted_columns(rows)
    return found


def _listed_categories(rows: _Rows, fld: str) -> tuple:
    # one cell lists every offense of the incident ("Burglary; Theft"): one record per listed offense
    n = rows.n
    src = rows.r.get(fld)
    parts = _as_text(src).str.split(rows.profile.category_separator, regex=True).explode()
    part_rows = np.asarray(parts.index, dtype=np.int64)  # the frame's RangeIndex: row positions
    parts = parts.astype("str").str.strip()
    parts = parts.where(parts != "").reset_index(drop=True)
    part_cat = _categorical(parts, _category_fn(rows.profile))
    has_value = np.zeros(n, dtype=bool)
    has_value[part_rows[parts.notna().to_numpy()]] = True
    mapped = np.zeros(n, dtype=bool)
    mapped[part_rows[np.asarray(pd.notna(part_cat))]] = True
    rows.reject(~has_value, "no category value")
    rows.reject(~mapped, "category not mapped")
    if "offense_code" not in rows.profile.columns:
        rows.cols["offense_code"] = _as_text(src, strip=False)
    return part_rows, part_cat, parts


def _categories_per_row(rows: _Rows, fld: str) -> pd.Categorical:
    kind = rows.kind
    src = rows.r.get(fld)
    cat = _categorical(src, _category_fn(rows.profile))
    word = "role" if kind == "people" else "category"
    unmapped = np.asarray(pd.isna(cat))
    if unmapped.any():  # blank cells map to nothing too: tell the two apart on those rows only
        pos = np.flatnonzero(unmapped)
        blank = np.zeros(rows.n, dtype=bool)
        blank[pos] = _blank(src.iloc[pos])
        rows.reject(blank, f"no {word} value")
        rows.reject(unmapped, f"{word} not mapped")
    code_field = {"offenses": "offense_code", "calls": "call_type"}.get(kind)
    if code_field and code_field not in rows.profile.columns:
        rows.cols[code_field] = _as_text(src, strip=False)
    return cat


def _counted_columns(rows: _Rows) -> list:
    """The wide layout: one column per offense (a flag or a count), each with the rows its condition holds on."""
    r, profile, label, n = rows.r, rows.profile, rows.label, rows.n
    spec_map = profile.flag_columns or profile.count_columns
    counted = []
    for src_name, spec in spec_map.items():
        s = r.raw(src_name)
        if s is None:
            raise UserError(f"{label}: the column '{src_name}' that profile '{profile.name}' counts is "
                            "missing. Check that this is the right export, or edit the profile.")
        c, badc = _counts(s)
        rows.reject(badc, f"'{src_name}' is not a count")
        if isinstance(spec, dict):
            cond = spec.get("if")
            if cond:
                cs = r.raw(cond["column"])
                if cs is None:
                    raise UserError(f"{label}: the column '{cond['column']}' that profile '{profile.name}' "
                                    f"needs to classify '{src_name}' is missing.")
                hit = _truthy(cs, cond.get("true_values"), cond.get("pattern"))
            else:
                hit = np.ones(n, dtype=bool)
            counted.append((src_name, c, hit, spec.get("category"), spec.get("else")))
        else:
            counted.append((src_name, c, np.ones(n, bool), spec, None))
    if rows.wide_flags:
        total = np.sum([m[1] for m in counted], axis=0) if counted else np.zeros(n, np.int64)
        rows.reject(total == 0, "no offense flag set")
    return counted


def _map_places(rows: _Rows, district_job) -> None:
    """Location (WGS84), district and address."""
    cols = rows.cols
    cols["lat"], cols["lon"] = _coordinates(rows.r, rows.profile)
    if district_job is not None:
        cols["district"] = district_job.result()
    for fld in ("address", "target_area"):
        if (src := rows.r.get(fld)) is not None:
            cols[fld] = _as_text(src, strip=fld != "address")  # addresses are kept as the source wrote them


def _map_other_fields(rows: _Rows, flag_jobs: dict) -> None:
    """Flags, codes, clearance, quantities and counts, and the profile's constants."""
    r, profile, kind, n, cols = rows.r, rows.profile, rows.kind, rows.n, rows.cols
    for fname, job in flag_jobs.items():
        cols[fname] = job.result()
    if "cleared" in cols and kind == "offenses" and "clearance_type" not in profile.columns:
        cols["clearance_type"] = pd.Categorical(np.where(cols["cleared"], "arrest", None),
                                                categories=pd.Index(["arrest"], dtype="str"))
    for fld in ("offense_code", "call_type", "priority", "agency", "unit", "person_id", "exceptional_code",
                "clearance_type", "status"):
        if (src := r.get(fld)) is not None:
            cols[fld] = _as_text(src)
    if (src := r.get("cleared_date")) is not None:
        cols["cleared_date"], _, _ = parse_dates(src, profile.date_formats, profile.dayfirst)
    if (src := r.get("quantity")) is not None:
        cols["quantity"] = _numeric(src)
    if (src := r.get("count")) is not None:
        cnt, badn = _counts(src)
        rows.reject(badn, "count is not a whole number")
        cols["count"] = cnt
    for fld, value in profile.constants.items():
        if fld not in cols and fld != "category":
            cols[fld] = np.full(n, value, dtype=object)
    if kind == "shootings" and "fatal" not in cols:
        cols["fatal"] = np.zeros(n, dtype=bool)


def _ids_without_source_id(rows: _Rows, ids):
    """For sources without an id (activity): a hash of the row, or of the profile's id_from fields. A wide count
    layout makes its ids per (row, count column) in ``_records_from_columns`` instead (None here)."""
    if ids is not None:
        return ids
    if rows.profile.id_from:
        parts = pd.DataFrame({f: (rows.cols[f] if f in rows.cols else rows.r.get(f)) for f in rows.profile.id_from})
    else:
        parts = rows.df
    return None if rows.wide_counts else stable_ids(parts)


def _records(rows: _Rows, categories: _Categories, ids, id_codes) -> pd.DataFrame:
    """The records: one per accepted row, or per set flag / per counted column / per listed offense / per victim."""
    keep = np.flatnonzero(rows.ok)
    base = {k: v for k, v in rows.cols.items() if v is not None}
    if rows.wide_flags or rows.wide_counts:
        rec = _records_from_columns(rows, categories.counted, keep, base, ids)
    elif categories.listed is not None:
        rec = _records_from_listed(rows, categories.listed, base, ids)
    else:
        rec = _records_per_row(rows, keep, base, ids, id_codes)
    if rows.wide_flags:
        rec["record_id"] = _suffix_duplicates(rec["record_id"].astype("str"))
    if rows.wide_counts:
        rec["record_id"] = _suffix_duplicates(rec["record_id"].astype("str"))
    return rec


def _records_from_columns(rows: _Rows, counted: list, keep: np.ndarray, base: dict, ids) -> pd.DataFrame:
    """The wide layouts: a record per offense flagged (a count of 2 is two) or per counted column with a count."""
    kind, n, cols = rows.kind, rows.n, rows.cols
    frames = []
    day_key = None
    if rows.wide_counts and ids is None:
        key_src = cols["occurred"] if "occurred" in cols else None
        day_key = (pd.Series(key_src).dt.strftime("%Y-%m-%d").to_numpy() if key_src is not None
                   else np.arange(n).astype(str))
    for src_name, c, hit, c_yes, c_no in counted:
        rows_yes = keep[(c[keep] > 0) & hit[keep]]
        rows_no = keep[(c[keep] > 0) & ~hit[keep]] if c_no else np.zeros(0, np.int64)
        for at, category in ((rows_yes, c_yes), (rows_no, c_no)):
            if not len(at):
                continue
            if rows.wide_flags:
                take = np.repeat(at, c[at])  # a count of 2 is two offenses
                inc = ids.to_numpy()[take]
                # ':2', ':3' are added in _records across all columns (two columns may share a category)
                rid = pd.Series(inc, dtype="str") + f":{category}"
                part = _take(base, take)
                part["incident_id"] = inc
                part["record_id"] = rid.to_numpy()
            else:
                take = at
                part = _take(base, take)
                if ids is None:
                    inc = np.char.add(np.char.add(day_key[take].astype(str), ":"), norm_name(src_name))
                else:
                    inc = np.char.add(np.char.add(ids.to_numpy()[take].astype(str), ":"), norm_name(src_name))
                part["incident_id"] = inc
                part["record_id"] = inc
                part["count"] = c[take]
            part["category"] = np.full(len(take), category, dtype=object)
            part["offense_code" if kind == "offenses" else "_src"] = np.full(len(take), src_name, dtype=object)
            part["_row"] = take
            frames.append(pd.DataFrame(part))
    if frames:
        rec = pd.concat(frames, ignore_index=True).sort_values("_row", kind="stable").reset_index(drop=True)
    else:
        rec = pd.DataFrame({"_row": np.zeros(0, np.int64)})
    return rec.drop(columns=[c for c in ("_src",) if c in rec])


def _records_from_listed(rows: _Rows, listed: tuple, base: dict, ids) -> pd.DataFrame:
    """A record per mapped offense listed in a row's cell, '<incident>:<category>' (':2' for a repeat)."""
    part_rows, part_cat, parts = listed
    sel = np.flatnonzero(rows.ok[part_rows] & np.asarray(pd.notna(part_cat)))
    take = part_rows[sel]
    part = _take(base, take)
    part["category"] = part_cat.take(sel)
    part["offense_code"] = parts.to_numpy(dtype=object)[sel]
    inc = ids.iloc[take].reset_index(drop=True)
    part["incident_id"] = inc
    part["_row"] = take
    rec = pd.DataFrame(part)
    rec["record_id"] = _suffix_duplicates(inc.astype("str") + ":" + rec["category"].astype("str"))
    return rec


def _records_per_row(rows: _Rows, keep: np.ndarray, base: dict, ids, id_codes) -> pd.DataFrame:
    """A record per accepted row (per victim for a shootings file with a victim count)."""
    take = keep
    if rows.kind == "shootings" and "victims" in rows.profile.columns:
        v, badv = _counts(rows.r.get("victims"))
        rows.reject(badv | (v == 0), "victim count is not a positive number")
        keep = np.flatnonzero(rows.ok)
        take = np.repeat(keep, v[keep])
    every_row = len(take) == rows.n and bool((take == np.arange(rows.n)).all())  # nothing rejected or repeated
    part = _take(base, take, every_row)
    inc = ids.reset_index(drop=True) if every_row else ids.iloc[take].reset_index(drop=True)
    part["incident_id"] = inc
    part["_row"] = take
    rec = pd.DataFrame(part)
    if id_codes is not None:
        codes = id_codes.result()
        rec["record_id"] = _suffix_by_codes(inc, codes if every_row else codes[take])
    else:
        rec["record_id"] = _suffix_duplicates(inc)
    if rows.kind == "people":
        rec["record_id"] = (rec["incident_id"].astype("str") + ":" + rec["person_id"].astype("str") + ":"
                            + rec["role"].astype("str"))
        rec["record_id"] = _suffix_duplicates(rec["record_id"])
    return rec


def _finish(rows: _Rows, rec: pd.DataFrame) -> Mapped:
    """Fold a call's status rows into one record, and warn about what was folded and what has no location."""
    kind, profile, label = rows.kind, rows.profile, rows.label
    merged = 0
    if kind == "calls" and "incident_id" in profile.columns and len(rec):
        rec, merged = _merge_call_rows(rec)
        if merged:
            were = "was a further status update" if merged == 1 else "were further status updates"
            rows.warnings.append(f"{label}: {rows_text(merged)} {were} of calls already in the file (same call "
                                 f"number); each call is one record ({len(rec):,} calls), with its first time, its "
                                 "last status and every status in order.")
    keep = np.flatnonzero(rows.ok)  # no row is rejected once the records are made
    lat = rows.cols["lat"]
    no_loc = int((~np.isfinite(lat[keep])).sum()) if kind != "people" and len(keep) else 0
    if no_loc and kind != "people" and ("lat" in profile.columns or "x" in profile.columns):
        rows.warnings.append(f"{no_loc:,} accepted rows have no usable coordinates; they still count citywide and "
                             "by their district column.")
    return Mapped(records=rec, reason_code=rows.reason_code, reasons=rows.reasons, warnings=rows.warnings,
                  no_location=no_loc, duplicates=rows.rejected_for(DUPLICATE_REASON), merged=merged)


def _carry_call_history(new: pd.DataFrame, old: pd.DataFrame, known: np.ndarray) -> pd.DataFrame:
    """A call already in the workspace (an earlier feed) stays one record when a later feed lists it again: its first
    time is the earlier of the two and its statuses run on from the earlier ones. Returns ``new`` conformed."""
    new = new.copy()
    prev = old.drop_duplicates("incident_id").set_index("incident_id")
    pos = np.flatnonzero(known)
    ids = new["incident_id"].to_numpy(dtype=object)[pos]
    before = prev["occurred"].reindex(ids).to_numpy(dtype="datetime64[ns]")
    occ = new["occurred"].to_numpy(dtype="datetime64[ns]").copy()
    now = occ[pos]
    occ[pos] = np.where(np.isnat(before) | (now <= before), now, before)
    new["occurred"] = occ
    if "statuses" in new and "statuses" in prev:
        earlier = prev["statuses"].reindex(ids).to_numpy(dtype=object)
        later = new["statuses"].to_numpy(dtype=object)
        for i, a in zip(pos, earlier):
            b = later[i]
            parts = [p for t in (a, b) if isinstance(t, str) for p in t.split(STATUS_SEPARATOR)]
            later[i] = STATUS_SEPARATOR.join(dict.fromkeys(parts)) or None
        new["statuses"] = pd.Series(later, dtype="str")
    return schema.conform(new, "calls")


def _exact_duplicates(df: pd.DataFrame, id_codes: np.ndarray | None) -> np.ndarray:
    """True for every row that repeats an earlier row cell for cell (scraped feeds repeat rows). Two equal rows
    share their id, so with ids only the rows of a repeated id are compared (a 1M-row file of unique ids costs one
    bincount)."""
    n = len(df)
    out = np.zeros(n, dtype=bool)
    if n < 2 or not df.shape[1]:
        return out
    if id_codes is not None:
        counts = np.bincount(id_codes[id_codes >= 0]) if (id_codes >= 0).any() else np.zeros(0, np.int64)
        repeated = np.zeros(n, dtype=bool)
        has = id_codes >= 0
        repeated[has] = counts[id_codes[has]] > 1
        pos = np.flatnonzero(repeated)
        if not len(pos):
            return out
        out[pos] = df.iloc[pos].duplicated(keep="first").to_numpy()
        return out
    return df.duplicated(keep="first").to_numpy()


STATUS_SEPARATOR = " > "


def _merge_call_rows(rec: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One record per call number: a dispatch feed lists a call once per status it passed through. The record keeps
    the first row's fields and time (earliest), the last status (latest time; file order breaks ties) and every
    distinct status in that order in ``statuses``. Returns (records, rows folded away)."""
    ids = rec["incident_id"].astype("str")
    codes, uniques = pd.factorize(ids)
    if len(uniques) == len(rec):
        if "status" in rec:
            rec["statuses"] = rec["status"]
        return rec, 0
    occ = pd.to_datetime(rec["occurred"]).to_numpy(dtype="datetime64[ns]") if "occurred" in rec else \
        np.zeros(len(rec), "datetime64[ns]")
    occ_key = np.where(np.isnat(occ), np.iinfo(np.int64).max, occ.astype("int64"))
    order = np.lexsort((rec["_row"].to_numpy(), occ_key, codes))
    sc = codes[order]
    first = order[np.r_[True, sc[1:] != sc[:-1]]]
    last = order[np.r_[sc[1:] != sc[:-1], True]]
    out = rec.iloc[first].reset_index(drop=True)
    if "status" in rec:
        st = rec["status"].astype("str").to_numpy(dtype=object)[order]
        joined: list = []
        cur, seen, parts = None, None, None
        for c, v in zip(sc, st):
            if c != cur:
                if parts is not None:
                    joined.append(STATUS_SEPARATOR.join(parts) or None)
                cur, seen, parts = c, set(), []
            if isinstance(v, str) and v and v not in seen:
                seen.add(v)
                parts.append(v)
        joined.append(STATUS_SEPARATOR.join(parts) or None)
        out["status"] = rec["status"].to_numpy(dtype=object)[last]
        out["statuses"] = pd.Series(joined, dtype="str")
    # a call's record id is its call number (the ':2' suffixes of status rows are gone with the rows)
    out["record_id"] = out["incident_id"].astype("str").to_numpy()
    return out, len(rec) - len(out)


def _take(base: dict, take: np.ndarray, everything: bool = False) -> dict:
    """The rows ``take`` of every column; ``everything`` (take is 0..n-1) avoids the copy."""
    out = {}
    for k, v in base.items():
        if isinstance(v, pd.Series):
            out[k] = v.reset_index(drop=True) if everything else v.iloc[take].reset_index(drop=True)
        elif isinstance(v, pd.Categorical):
            out[k] = v if everything else v.take(take)
        else:
            out[k] = np.asarray(v) if everything else np.asarray(v)[take]
    return out


def _text_in(s: pd.Series, values: pd.Series) -> np.ndarray:
    """``s.isin(values)`` for text columns, hashed by Arrow without the GIL. pandas' isin on Arrow-backed text makes a
    Python object of every value first: with 1M incident ids that held the GIL for 5-12 s of the merge, and its one
    long conversion call stalled the UI thread for 400 ms (benchmarks/stall_bench.py)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(x: pd.Series):
        a = pa.array((x if x.dtype == "str" else x.astype("str")).array)
        a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
        return a.cast(pa.large_string())

    # a missing id matches a missing id, as in pandas' isin
    return pc.is_in(arrow(s), value_set=arrow(values)).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _factorize_codes(s: pd.Series) -> np.ndarray:
    return pd.factorize(s, use_na_sentinel=True)[0]


def _suffix_by_codes(ids: pd.Series, codes: np.ndarray) -> pd.Series:
    """As _suffix_duplicates, from precomputed factorize codes (same value, same code)."""
    ids = ids.reset_index(drop=True)
    if not len(codes):
        return ids
    counts = np.bincount(codes[codes >= 0])
    if not len(counts) or counts.max() <= 1:
        return ids
    dup = np.flatnonzero(counts[codes] > 1)
    sub = codes[dup]
    order = np.argsort(sub, kind="stable")
    srt = sub[order]
    starts = np.r_[0, np.flatnonzero(np.diff(srt)) + 1]
    sizes = np.diff(np.r_[starts, len(srt)])
    rank = np.arange(len(srt)) - np.repeat(starts, sizes)
    k = np.empty(len(sub), dtype=np.int64)
    k[order] = rank + 1
    out = ids.to_numpy(dtype=object).copy()
    labels = out[dup]
    out[dup] = [f"{a}:{b}" if b > 1 else a for a, b in zip(labels, k)]
    return pd.Series(out, dtype="str")


def _suffix_duplicates(ids) -> pd.Series:
    """record ids unique within the load: the second row of an incident gets ':2', the third ':3', ..."""
    ids = pd.Series(ids, dtype="str").reset_index(drop=True)
    codes, uniques = pd.factorize(ids)
    if len(uniques) == len(ids):
        return ids
    dup = np.bincount(codes[codes >= 0], minlength=len(uniques))[codes] > 1
    out = ids.to_numpy(dtype=object).copy()
    sub = ids[dup]
    k = sub.groupby(sub, sort=False).cumcount().to_numpy() + 1
    labels = sub.to_numpy(dtype=object)
    out[np.flatnonzero(dup)] = [f"{a}:{b}" if b > 1 else a for a, b in zip(labels, k)]
    return pd.Series(out, dtype="str")


# ---------------------------------------------------------------------------------------------------------------------
def _without_unused(cat: pd.Categorical) -> pd.Categorical:
    """``cat`` without the categories no row uses, by counting codes: pandas' remove_unused_categories sorts every
    code (np.unique) with the GIL held, 160 ms at 3M rows while the UI thread waits."""
    codes = cat.codes
    used = np.bincount(codes[codes >= 0], minlength=len(cat.categories)) > 0
    if used.all():
        return cat
    remap = np.full(len(used), -1, dtype=codes.dtype)
    remap[used] = np.arange(int(used.sum()))
    return pd.Categorical.from_codes(np.where(codes >= 0, remap[codes], -1).astype(codes.dtype),
                                     categories=cat.categories[used], ordered=cat.ordered)


def concat_conformed(frames: list[pd.DataFrame], kind: str) -> pd.DataFrame:
    """Concatenate conformed frames keeping categoricals categorical (a plain concat turns them into text)."""
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    from pandas.api.types import union_categoricals

    out = {}
    for f in schema.DATASETS[kind]:
        parts = [fr[f.name] for fr in frames]
        if f.dtype == "category":
            u = union_categoricals([p.array for p in parts], ignore_order=True)
            out[f.name] = pd.Series(_without_unused(u))  # a replaced record's category may be gone
        else:
            out[f.name] = pd.concat(parts, ignore_index=True)
    return schema.conform(pd.DataFrame(out), kind)


def by_category(records: pd.DataFrame, kind: str) -> dict:
    if not len(records):
        return {}
    if kind == "shootings":
        fatal = int(records["fatal"].sum())
        return {"fatal": fatal, "non_fatal": int(len(records) - fatal)}
    if kind == "people":
        vc = records["role"].value_counts()
    elif kind == "activity":
        vc = records.groupby("category", observed=True)["count"].sum()
    else:
        vc = records["category"].value_counts()
    return {str(k): int(v) for k, v in vc.items() if v}


@dataclass
class _Prepared:
    path: Path
    kind: str
    profile: Profile
    records: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    accepted: int
    rejected_by_reason: dict
    warnings: list
    size: int
    sha256: str
    duplicates: int = 0
    merged: int = 0
    label: str = ""   # what the import log and messages call the source (default: the file's name)

    @property
    def name(self) -> str:
        return self.label or self.path.name


def _rejects_frame(raw: readers.RawTable, reason_code: np.ndarray, reasons: list) -> pd.DataFrame:
    bad = np.flatnonzero(reason_code)
    reason = np.array([None] + list(reasons), dtype=object)[reason_code[bad]]
    cols = [str(c) for c in raw.df.columns]
    if len(bad):
        body = readers.cells_to_text(raw.df.iloc[bad]) if raw.df.shape[1] else pd.DataFrame(index=bad)
        body.columns = [c if c not in ("row", "reason") else f"source_{c}" for c in cols]
        out = pd.concat([pd.DataFrame({"row": bad + raw.first_row, "reason": reason}, index=body.index), body],
                        axis=1)
    else:
        out = pd.DataFrame({"row": pd.Series([], dtype="int64"), "reason": pd.Series([], dtype="str")})
    if raw.bad_lines:
        extra = pd.DataFrame({"row": [r if r is not None else -1 for r, _ in raw.bad_lines],
                              "reason": "row has more fields than the header",
                              "raw_line": [t for _, t in raw.bad_lines]})
        out = pd.concat([out, extra], ignore_index=True)
    return out.reset_index(drop=True)


def _aggregate_problem(columns) -> str | None:
    """Say so when a table is aggregate statistics (counts per place and year), not one row per incident."""
    names = [norm_name(c) for c in columns]
    years = sum(bool(re.fullmatch(r"(19|20)\d\d", n)) for n in names)
    periods = sum(bool(re.fullmatch(r"(total|ytd|year|yr)_?\d{2,4}", n)) for n in names)
    if years >= 3 or periods >= 3:
        return ("it holds aggregate statistics (counts by area and year), not one row per incident, so it cannot "
                "be imported as records; import the agency's incident-level export instead.")
    return None


def prepare_file(path, kind: str, profile: Profile | None = None, should_stop=None,
                 progress: Callable[[float], None] | None = None) -> _Prepared:
    """Read and map one file (no workspace involved)."""
    path = Path(path)
    data = readers.read_bytes(path)
    sha_future = _POOL.submit(readers.sha256_of, data)  # hashlib releases the GIL: hash while parsing
    is_workbook = readers.file_format(path, data[:8]) != "text"
    raw = None
    if profile is None:
        if is_workbook:  # a workbook is read whole either way: read it once, detect from its header
            raw = readers.read_source(path, data=data)
            columns = list(raw.df.columns)
        else:
            columns = list(readers.read_source(path, nrows=5, data=data).df.columns)
        profile = detect_profile(columns, kind)
        if profile is None:
            profile = detect_headerless(readers.read_source(path, header=False, nrows=50, data=data).df, kind)
        if profile is None:
            other = detect_profile(columns, None)
            agg = _aggregate_problem(columns)
            if agg:
                raise UserError(f"{path.name}: {agg}")
            if other is not None:
                raise UserError(f"{path.name}: the columns match the '{other.name}' profile, which imports "
                                f"{other.kind}, not {kind}; use --kind {other.kind}.")
            shown = ", ".join(str(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
            raise UserError(f"{path.name}: no import profile recognises its columns ({shown}); make one in the "
                            "import wizard or pass --profile P.json (see docs/import_profiles.md).")
    elif profile.kind != kind:
        raise UserError(f"{path.name}: profile '{profile.name}' imports {profile.kind}, not {kind}.")
    stop_import(should_stop)

    # every column arrives as text (readers.read_source): codes keep their zeros, numbers and dates are parsed by
    # map_frame field by field
    if raw is None or not profile.header or profile.sheet is not None:
        raw = readers.read_source(path, header=profile.header, sheet=profile.sheet, data=data)
    if progress:
        progress(0.4)
    size, sha256 = len(data), sha_future.result()
    give_back_pages(data)  # the file's bytes are done with: freed piece by piece, not in one GIL-holding unmap
    del data
    return prepare_table(raw, path, kind, profile, should_stop, progress, size=size, sha256=sha256)


def prepare_table(raw: readers.RawTable, path: Path, kind: str, profile: Profile, should_stop=None,
                  progress: Callable[[float], None] | None = None, *, size: int = 0, sha256: str = "",
                  label: str = "") -> _Prepared:
    """Map a source table read as text (a file, or a database query's rows) through ``profile``: the same
    validation, rejection reasons and bookkeeping whatever the source."""
    name = label or path.name
    if not len(raw.df) and not raw.bad_lines:
        raise UserError(f"{name}: the file has a header but no rows of data." if not label else
                        f"{name}: the query returned no rows.")
    if profile.header:
        missing = [c for c in profile.match.get("required", []) if resolve_column(raw.df.columns, c) is None]
        if missing:
            raise UserError(f"{name}: the required column '{missing[0]}' of profile '{profile.name}' is "
                            "missing. Check that this is the right export, or edit the profile.")
    mapped = map_frame(raw.df, profile, name, should_stop)
    if progress:
        progress(0.8)
    rec = mapped.records
    rec = rec.drop(columns=[c for c in rec.columns if c.startswith("_")])
    rec = schema.conform(rec, kind)
    rejects = _rejects_frame(raw, mapped.reason_code, mapped.reasons)
    rows_read = len(raw.df) + len(raw.bad_lines)
    reasons = pd.Series(rejects["reason"]).value_counts()
    return _Prepared(path=path, kind=kind, profile=profile, records=rec, rejects=rejects, rows_read=rows_read,
                     accepted=int((mapped.reason_code == 0).sum()), rejected_by_reason={str(k): int(v) for k, v in
                                                                                      reasons.items()},
                     warnings=list(mapped.warnings), size=size, sha256=sha256,
                     duplicates=mapped.duplicates, merged=mapped.merged, label=label)


# Codes a district column carries that name no district: outside the city, the city as a whole, other agencies
# (Milwaukee's calls feed: SPD = school police, OCOE = the county's office of emergency management).
NOT_DISTRICT_CODES = frozenset({"OUT", "OUTSIDE", "CITY", "CITYWIDE", "SPD", "OCOE", "OOJ", "OOC", "OTHER", "NONE",
                                "HQ", "COUNTY", "STATE", "MCSO", "UNASSIGNED"})
RARE_CODE_SHARE = 0.001  # a short numeric code on fewer than 0.1% of the rows is a typo, not a district ...
RARE_CODE_OF_TYPICAL = 50  # ... when it is also under 1/50 of the median district's rows (see districts_in_records)
_SHORT_NUMBER = re.compile(r"^\d{1,3}$")


def districts_in_records(district: pd.Series, rows: int) -> tuple[list, list]:
    """(district keys, [(code, rows)] that are not districts) from a normalised district column. Not districts:
    the codes in NOT_DISTRICT_CODES, and, when most rows carry a short numeric code, any other code and any numeric
    code on fewer than RARE_CODE_SHARE of the rows and under 1/RARE_CODE_OF_TYPICAL of the median code's rows."""
    # counted by category when it is one (the importer's district column): astype("str") first would make 1M Python
    # strings in one call that holds the GIL (a 70 ms UI stall during a big import)
    vc = district.value_counts(dropna=True) if isinstance(district.dtype, pd.CategoricalDtype) else \
        district.astype("str").value_counts(dropna=True)
    vc = vc[vc > 0]
    if not len(vc):
        return [], []
    numeric = np.array([bool(_SHORT_NUMBER.match(str(k))) for k in vc.index])
    mostly_numeric = vc[numeric].sum() > 0.5 * vc.sum()
    # Rare means rare for this file: with 77 precincts (NYPD) a real precinct can hold under 0.1% of the rows (Central
    # Park, 10 of 23,585 shootings), while a typo sits far below the typical district's share. So a code is rare under
    # 0.1% of the rows AND under a fiftieth of the median district's share; with 7 districts that is the 0.1% rule.
    typical = float(np.median(vc[numeric].to_numpy())) if numeric.any() else 0.0
    rare_below = min(RARE_CODE_SHARE * rows, typical / RARE_CODE_OF_TYPICAL)
    keys, nots = [], []
    for (k, n), is_num in zip(vc.items(), numeric):
        k = str(k)
        if k.upper() in NOT_DISTRICT_CODES or (mostly_numeric and (not is_num or n < rare_below)):
            nots.append((k, int(n)))
        else:
            keys.append(k)
    from workstation.engine.areas import district_sort_key

    return sorted(keys, key=district_sort_key), sorted(nots, key=lambda kv: -kv[1])


def areas_from_district_column(ws: Workspace, keys: dict) -> list:
    """New district areas (no polygon) for district keys the records name, when the workspace has no district
    polygons: analysts often have the records long before anyone sends them boundaries."""
    from workstation.core.workspace import Area
    from workstation.engine.areas import district_key

    if not keys or any(a.geometry is not None for a in ws.districts):
        return []
    have = {district_key(a.name) for a in ws.districts}
    return [Area(name=k, kind="district", geometry=None, source=f"{src}: district column")
            for k, src in keys.items() if district_key(k) not in have]


FAR_KM = 80.0  # without an outline: this far from the median point of the file is not in the city
FAR_MARGIN_DEG = 0.25  # with an outline: this far (about 25 km) beyond its bounding box


def _km(lat, lon, clat: float, clon: float) -> np.ndarray:
    """Distance in km from (clat, clon), equirectangular: within a city's reach (tens of km) it is within a fraction
    of a percent of the great circle, and a point on another continent is far by either measure."""
    dx = (np.asarray(lon) - clon) * np.cos(np.radians(clat)) * 111.32
    dy = (np.asarray(lat) - clat) * 110.57
    return np.hypot(dx, dy)


def check_places(records: pd.DataFrame, outline, label: str) -> list[str]:
    """Plausible places before acceptance (changes ``records`` in place): a point whose latitude and longitude were
    swapped and that falls in the city when swapped back is swapped back; points far outside the city are counted
    in a warning. The city is ``outline`` (districts or city outline) when there is one, else the file's own median
    point."""
    lat = records["lat"].to_numpy(dtype="float64", copy=True)
    lon = records["lon"].to_numpy(dtype="float64", copy=True)
    have = np.isfinite(lat) & np.isfinite(lon)
    if not have.any():
        return []
    out = []
    if outline is not None:
        from workstation.engine.geometry import contains

        idx = np.flatnonzero(have)
        outside = idx[~contains(outline, lon[idx], lat[idx])]
        ok_swap = outside[np.abs(lon[outside]) <= 90]
        fix = ok_swap[contains(outline, lat[ok_swap], lon[ok_swap])] if len(ok_swap) else ok_swap
    else:
        clat, clon = float(np.median(lat[have])), float(np.median(lon[have]))
        dist = np.where(have, _km(lat, lon, clat, clon), 0.0)
        cand = np.flatnonzero((dist > FAR_KM) & (np.abs(lon) <= 90))
        fix = cand[_km(lon[cand], lat[cand], clat, clon) <= FAR_KM] if len(cand) else cand
    if len(fix):
        lat[fix], lon[fix] = lon[fix].copy(), lat[fix].copy()
        records["lat"], records["lon"] = lat, lon
        if outline is None:
            dist[fix] = _km(lat[fix], lon[fix], clat, clon)
        out.append(f"{label}: {len(fix):,} points had latitude and longitude swapped; they were swapped back "
                   "(they fall inside the city that way).")
    if outline is not None:
        x0, y0, x1, y1 = outline.bounds
        m = FAR_MARGIN_DEG
        far = have & ((lon < x0 - m) | (lon > x1 + m) | (lat < y0 - m) | (lat > y1 + m))
        where = "more than about 25 km beyond the city's boundaries"
    else:
        far = have & (dist > FAR_KM)
        where = f"more than {FAR_KM:.0f} km from the middle of the file's points (no boundaries are loaded)"
    if far.any():
        out.append(f"{label}: {int(far.sum()):,} of {int(have.sum()):,} located records lie far outside the city "
                   f"({where}); check their coordinates.")
    return out


def points_inside_city(ws: Workspace, df: pd.DataFrame, profile: Profile) -> tuple[int | None, int]:
    """(inside, total): of the rows of ``df`` with usable coordinates under ``profile``, how many fall inside the
    workspace's districts (or city outline). ``inside`` is None when the workspace has no geography to check."""
    r = _Resolver(df, profile, "preview")
    lat, lon = _coordinates(r, profile)
    return inside_count(ws, lat, lon)


def category_value_counts(df: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Each distinct source value of the category column (or each flag/count column), how often it occurs, and the
    canonical category it maps to (missing when unmapped)."""
    if profile.flag_columns or profile.count_columns:
        rows = []
        for src, spec in (profile.flag_columns or profile.count_columns).items():
            s = _Resolver(df, profile, "preview").raw(src)
            c = _counts(s)[0].sum() if s is not None else 0
            target = spec if not isinstance(spec, dict) else spec.get("category")
            if isinstance(spec, dict) and spec.get("else"):
                target = f"{spec.get('category')} / {spec.get('else')}"
            rows.append({"source_value": src, "count": int(c), "category": target})
        return pd.DataFrame(rows, columns=["source_value", "count", "category"])
    counts = source_value_counts(df, profile)
    if not len(counts):
        return counts.assign(category=pd.Series([], dtype="str"))
    return mapped_value_counts(counts, profile)


def source_value_counts(df: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Each distinct value of the profile's category (or role) column, as the import reads it, and how often it
    occurs: the slow half of category_value_counts (a text pass over every row: 0.2 s at 10M rows), which the
    import wizard runs in a worker. Only for profiles with one category column (not flag or count columns)."""
    fld = "role" if profile.kind == "people" else "category"
    src = _Resolver(df, profile, "preview").get(fld, required=False)
    if src is None:
        return pd.DataFrame({"source_value": pd.Series([], dtype="str"), "count": pd.Series([], dtype="int64")})
    vc = _as_text(src).value_counts(dropna=False)
    return pd.DataFrame({"source_value": [None if pd.isna(v) else v for v in vc.index],
                         "count": vc.to_numpy(dtype="int64")})


def mapped_value_counts(counts: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """``counts`` (from source_value_counts) with the canonical category each value maps to under ``profile``
    (missing when unmapped): quick, so the wizard redoes it at each change of a mapping."""
    fn = _category_fn(profile)
    return counts.assign(category=[None if v is None else fn(v) for v in counts["source_value"]])


def import_files(ws: Workspace, kind: str, paths, profile: Profile | None = None,
                 progress: Callable[[float], None] | None = None, should_stop: Callable[[], bool] | None = None,
                 area_kind: str | None = None, name_field: str | None = None) -> ImportResult:
    """Import files into ``ws`` (see the module doc). ``kind`` 'areas' imports GeoJSON/shapefiles as areas."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise UserError("No files were given to import.")
    if kind == "areas":
        return import_areas(ws, paths, area_kind=area_kind, progress=progress, should_stop=should_stop,
                            name_field=name_field)
    if kind not in schema.DATASETS:
        raise UserError(f"Unknown kind '{kind}'; use one of {', '.join(schema.DATASET_KINDS)} or areas.")

    def stop():
        stop_import(should_stop)

    prepared = []
    for i, p in enumerate(paths):
        stop()
        sub = (lambda f, i=i: progress((i + f * 0.9) / len(paths))) if progress else None
        prepared.append(prepare_file(p, kind, profile, should_stop, sub))
    stop()
    return merge_prepared(ws, kind, prepared, progress, should_stop)


def merge_prepared(ws: Workspace, kind: str, prepared: list, progress: Callable[[float], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> ImportResult:
    """Merge mapped sources into ``ws``: a newer load replaces every record of the same incident id. Everything is
    computed on copies; the workspace changes only at the end, when nothing failed."""

    def stop():
        stop_import(should_stop)


    # ---- merge (still on copies) ----
    frame = ws.frames[kind]
    next_id = ws.next_load_id()
    log_entries, rejects, result = [], {}, ImportResult(kind=kind)
    record_districts: dict = {}  # district key -> the file whose district column named it first
    union = district_union(ws) if kind != "people" else None
    for prep in prepared:
        load_id = next_id
        next_id += 1
        new = prep.records
        new["load_id"] = load_id
        warnings = list(prep.warnings)
        if prep.duplicates:
            warnings.insert(0, f"{prep.name}: {rows_text(prep.duplicates)} "
                               f"{'was an exact duplicate' if prep.duplicates == 1 else 'were exact duplicates'} of "
                               "earlier rows and dropped (listed with the rejected rows).")
        if kind != "people" and len(new) and "lat" in new:  # before the merge: a swapped point is fixed in place
            warnings += check_places(new, union, prep.name)
        if kind != "people" and "district" in new:
            keys, not_districts = districts_in_records(new["district"], len(new))
            if not_districts:
                shown = ", ".join(f"'{k}' ({rows_text(n)})" for k, n in not_districts)
                warnings.append(f"{prep.name}: {shown} in the district column "
                                f"{'is' if len(not_districts) == 1 else 'are'} not a district; those records count "
                                "citywide but make no district.")
            for k in keys:
                record_districts.setdefault(k, prep.name)
        if len(frame):
            old_hit = _text_in(frame["incident_id"], new["incident_id"])
            removed = int(old_hit.sum())
            known = _text_in(new["incident_id"], frame["incident_id"][old_hit]) if removed else \
                np.zeros(len(new), bool)
            if kind == "calls" and removed:
                new = _carry_call_history(new, frame[old_hit], known)
            frame = concat_conformed([frame[~old_hit], new], kind) if removed else concat_conformed([frame, new], kind)
        else:
            removed, known = 0, np.zeros(len(new), bool)
            frame = new
        replaced = int(known.sum())
        added = len(new) - replaced
        if union is not None and len(new) and "lat" in new:
            from workstation.engine.geometry import contains

            have = new["lat"].notna().to_numpy()
            total = int(have.sum())
            if total:
                inside = int(contains(union, new["lon"].to_numpy()[have], new["lat"].to_numpy()[have]).sum())
                if inside < total / 2:
                    warnings.append(f"{prep.name}: {OUTSIDE_WARNING} ({total - inside:,} of {total:,} "
                                    f"located records are outside; profile EPSG {prep.profile.epsg}).")
        occ = new["occurred"] if "occurred" in new and len(new) else None
        as_of = occ.max() if occ is not None else None
        cats = by_category(new, kind)
        rej = len(prep.rejects)
        entry = {
            "load_id": load_id, "kind": kind, "file_name": prep.name, "file_size": prep.size,
            "sha256": prep.sha256, "loaded_at": now_stamp(), "profile": prep.profile.name,
            "rows_read": prep.rows_read, "accepted": prep.accepted, "rejected": rej, "added": added,
            "replaced": replaced, "removed": removed, "records": len(new),
            "rejected_by_reason": prep.rejected_by_reason, "by_category": cats,
            "data_as_of": None if as_of is None or pd.isna(as_of) else f"{as_of:%Y-%m-%d}",
            "warnings": warnings,
        }
        if prep.rows_read != prep.accepted + rej:  # the invariant the whole importer is built around
            raise AssertionError(f"{prep.name}: rows_read {prep.rows_read} != {prep.accepted} + {rej}")
        log_entries.append(entry)
        rejects[load_id] = prep.rejects
        result.count_file(entry)
        result.added += added
        result.replaced += replaced
        result.removed += removed
        result.records += len(new)
        result.duplicates_dropped += prep.duplicates
        result.merged += prep.merged
        result.files.append({k: entry[k] for k in ("file_name", "load_id", "profile", "rows_read", "accepted",
                                                   "rejected", "added", "replaced", "data_as_of")})
    result.profile = ", ".join(dict.fromkeys(p.profile.name for p in prepared))
    result.load_id = result.load_ids[0] if len(result.load_ids) == 1 else result.load_ids[-1]
    result.rejects = pd.concat([rejects[i].assign(load_id=i) for i in result.load_ids], ignore_index=True) \
        if rejects else None
    stop()

    new_areas = areas_from_district_column(ws, record_districts)
    if new_areas:
        result.warnings.append(f"No district boundaries are loaded: {len(new_areas)} districts were made from the "
                               "records' district column (records are placed by that column; boundaries imported "
                               "later take over).")

    # ---- the only mutation: everything above succeeded ----
    ws.frames[kind] = frame.reset_index(drop=True)
    ws.import_log.extend(log_entries)
    ws.rejects.update(rejects)
    ws.changed(kind)
    if new_areas:
        for a in new_areas:
            a.created = a.modified = now_stamp()
            ws.areas.append(a)
        ws.changed("areas")
    release_unused_memory()  # the parsed file and its copies are gone: give their pages back
    if progress:
        progress(1.0)
    return result

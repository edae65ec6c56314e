"""Import profiles: plain JSON that maps a source's columns to canonical fields and its values to categories.

A profile is what an analyst saves once per source ("our RMS weekly export") and what the importer recognises again
from the header alone. The format is documented in docs/import_profiles.md; built-in profiles live in
resources/profiles/*.json.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from workstation.core.errors import UserError
from workstation.core.fileio import write_text_atomically
from workstation.core.paths import RESOURCES

BUILTIN_DIR = RESOURCES / "profiles"

_NON_WORD = re.compile(r"[^0-9a-z]+")


def norm_name(name) -> str:
    """Column names compared loosely: 'Case Number', 'case_number' and ' CASE-NUMBER ' are the same column."""
    return _NON_WORD.sub("_", str(name).replace("\ufeff", "").strip().lower()).strip("_")


def norm_value(value) -> str:
    """Category values compared loosely: case, surrounding blanks and runs of inner blanks do not matter."""
    return " ".join(str(value).split()).upper()


@dataclass
class Profile:
    """One source's mapping. See docs/import_profiles.md for every field.

    ``columns`` maps a canonical field to a source column name, a 0-based position (headerless files), a list of
    columns joined with a space (a date and a time column), or ``{"one_of": [...]}`` (the first that exists).
    """

    name: str
    kind: str
    description: str = ""
    match: dict = field(default_factory=dict)  # {"required": [...], "any": [...], "min_any": 1}
    header: bool = True
    sheet: str | int | None = None
    columns: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)  # source value -> canonical category
    category_patterns: list = field(default_factory=list)  # [[regex, category], ...] tried on unmapped values
    category_default: str | None = None  # unmapped values get this; None: the row is rejected
    category_separator: str | None = None  # the category cell lists several offenses: a regex that splits them
    flag_columns: dict = field(default_factory=dict)  # WIBR layout: source column -> category or rule dict
    count_columns: dict = field(default_factory=dict)  # wide activity layout: source column -> category
    flags: dict = field(default_factory=dict)  # firearm / carjacking / cleared / fatal: {"column", "pattern"|"true_values"}
    date_formats: list = field(default_factory=list)
    dayfirst: bool = False
    timezone: dict = field(default_factory=dict)  # {"source": "UTC", "local": "America/New_York"}
    epsg: int | str | None = None  # CRS of the x/y columns
    constants: dict = field(default_factory=dict)  # canonical field -> fixed value (e.g. agency)
    id_from: list = field(default_factory=list)  # activity without an id: fields hashed into a stable id
    path: str | None = field(default=None, compare=False)

    # ---- persistence ----
    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path", None)
        return d

    def save(self, path) -> Path:
        return write_text_atomically(Path(path), json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                                     what="the import profile")

    @classmethod
    def from_dict(cls, d: dict, path: str | None = None) -> "Profile":
        known = set(cls.__dataclass_fields__) - {"path"}
        where = f"Profile {path}" if path else "The profile"
        unknown = sorted(set(d) - known - {"$comment", "notes"})
        if unknown:
            raise UserError(f"{where} has unknown field(s) {', '.join(unknown)}; see docs/import_profiles.md.")
        for req in ("name", "kind"):
            if not d.get(req):
                raise UserError(f"{where} has no '{req}'.")
        from workstation.core.schema import DATASET_KINDS

        if d["kind"] not in DATASET_KINDS:
            raise UserError(f"{where}: kind '{d['kind']}' is not one of {', '.join(DATASET_KINDS)}.")
        for k, v in d.items():
            want = _FIELD_TYPES.get(k)
            if want is not None and v is not None and not isinstance(v, want):
                json_names = {dict: "object", list: "array", str: "string", bool: "true/false", int: "number"}
                names = " or ".join(json_names[t] for t in (want if isinstance(want, tuple) else (want,)))
                raise UserError(f"{where}: '{k}' must be a JSON {names}.")
        p = cls(**{k: v for k, v in d.items() if k in known})
        p.path = path
        return p

    @classmethod
    def load(cls, path) -> "Profile":
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise UserError(f"{path.name}: the profile file does not exist.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{path.name}: the profile is not valid JSON ({exc}).") from None
        if not isinstance(d, dict):
            raise UserError(f"{path.name}: the profile must be a JSON object.")
        return cls.from_dict(d, str(path))

    # ---- matching ----
    def match_score(self, columns) -> float:
        """0 when the header does not fit this profile; otherwise higher for a more specific fit."""
        if not self.header:
            return 0.0
        names = {norm_name(c) for c in columns}
        required = [norm_name(c) for c in self.match.get("required", [])]
        if not required and not self.match.get("any"):
            return 0.0
        if not all(r in names for r in required):
            return 0.0
        for fld, spec in self.columns.items():
            optional = is_optional(fld, spec)
            if not optional and not isinstance(spec, int) and resolve_column(columns, spec) is None:
                return 0.0
        anys = [norm_name(c) for c in self.match.get("any", [])]
        hit_any = sum(a in names for a in anys)
        if anys and hit_any < int(self.match.get("min_any", 1)):
            return 0.0
        # more matched names win; "priority" only breaks ties (generic profiles set it below zero)
        return 1.0 + len(required) + hit_any + 0.1 * float(self.match.get("priority", 0))

    def with_header(self, columns) -> "Profile":
        """Make this profile recognise ``columns`` (a header): every named source column it reads that the header
        has becomes required. The wizard calls this before saving a profile it built."""
        names = [c for c in self.source_columns() if isinstance(c, str) and resolve_column(columns, c)]
        self.match = {"required": names}
        self.header = True
        return self

    def source_columns(self) -> list:
        """Every source column this profile reads (names or positions), for previews."""
        out = []
        for spec in self.columns.values():
            out.extend(_spec_names(spec))
        for spec in self.flags.values():
            out.extend(_spec_names(spec.get("column")))
            if isinstance(spec.get("if"), dict):
                out.extend(_spec_names(spec["if"].get("column")))
        out.extend(self.flag_columns)
        out.extend(self.count_columns)
        seen, res = set(), []
        for c in out:
            if c is not None and c not in seen:
                seen.add(c)
                res.append(c)
        return res


# Fields a source may lack without making the file unusable: rows then have no location / no address. A profile
# can still make any field optional with {"one_of": [...], "optional": true}.
OPTIONAL_FIELDS = frozenset({"lat", "lon", "x", "y", "address", "district", "reported", "offense_code", "priority",
                             "call_type", "quantity", "unit", "target_area", "cleared_date", "exceptional_code",
                             "clearance_type", "status"})


def is_optional(fld: str, spec) -> bool:
    if isinstance(spec, dict) and "optional" in spec:
        return bool(spec["optional"])
    return fld in OPTIONAL_FIELDS


_FIELD_TYPES = {
    "name": str, "kind": str, "description": str, "match": dict, "header": bool, "sheet": (str, int),
    "columns": dict, "categories": dict, "category_patterns": list, "category_default": str, "flag_columns": dict,
    "category_separator": str,
    "count_columns": dict, "flags": dict, "date_formats": list, "dayfirst": bool, "timezone": dict,
    "epsg": (int, str), "constants": dict, "id_from": list,
}


def _spec_names(spec) -> list:
    if spec is None:
        return []
    if isinstance(spec, (str, int)):
        return [spec]
    if isinstance(spec, list):
        return list(spec)
    if isinstance(spec, dict):
        return list(spec.get("one_of", []))
    return []


def resolve_column(columns, spec):
    """The actual source column(s) for a column spec, or None when the file does not have it.

    Returns a list of column labels (several for a joined spec).
    """
    cols = list(columns)
    by_norm = {}
    for c in cols:
        by_norm.setdefault(norm_name(c), c)

    def one(name):
        if isinstance(name, int) and not isinstance(name, bool):
            if name in cols:
                return name
            return cols[name] if 0 <= name < len(cols) else None
        if name in cols:
            return name
        return by_norm.get(norm_name(name))

    if spec is None:
        return None
    if isinstance(spec, dict):
        for name in spec.get("one_of", []):
            c = one(name)
            if c is not None:
                return [c]
        return None
    if isinstance(spec, list):
        found = [one(n) for n in spec]
        return None if any(f is None for f in found) else found
    c = one(spec)
    return None if c is None else [c]


@lru_cache(maxsize=1)
def _builtin_cached(stamp: tuple) -> tuple:
    out = []
    for p in sorted(BUILTIN_DIR.glob("*.json")):
        out.append(Profile.load(p))
    return tuple(out)


def builtin_profiles() -> list[Profile]:
    """The profiles shipped in resources/profiles (re-read when a file there changes)."""
    if not BUILTIN_DIR.is_dir():
        return []
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(BUILTIN_DIR.glob("*.json")))
    # copies: a caller (the wizard) may edit the profile it was given without changing the shipped one
    return [copy.deepcopy(p) for p in _builtin_cached(stamp)]


HEADERLESS_SHARE = 0.9  # of the sampled rows that must fit a header-less profile's row patterns


def detect_headerless(rows, kind: str | None = None, profiles: list[Profile] | None = None) -> Profile | None:
    """The header-less profile whose ``match.row_patterns`` (one regular expression per column) the first rows of a
    file fit, for a file saved without its header row. ``rows`` is the file read without a header (text). The first
    row must fit (it is data, not a header) and at least HEADERLESS_SHARE of the rows."""
    if rows is None or not len(rows):
        return None
    best, best_share = None, 0.0
    for p in profiles if profiles is not None else builtin_profiles():
        pats = p.match.get("row_patterns") if not p.header else None
        if not pats or (kind is not None and p.kind != kind) or len(pats) != rows.shape[1]:
            continue
        fits = None
        for j, pat in enumerate(pats):
            col = rows.iloc[:, j].astype("str").fillna("").str.strip()
            ok = col.str.fullmatch(pat).fillna(False).to_numpy(dtype=bool)
            fits = ok if fits is None else fits & ok
        share = float(fits.mean())
        if fits[0] and share >= HEADERLESS_SHARE and share > best_share:
            best, best_share = p, share
    return best


def detect_profile(columns, kind: str | None = None, profiles: list[Profile] | None = None) -> Profile | None:
    """The best-fitting profile for a header (from the header alone), restricted to ``kind`` when given."""
    best, best_score = None, 0.0
    for p in profiles if profiles is not None else builtin_profiles():
        if kind is not None and p.kind != kind:
            continue
        s = p.match_score(columns)
        if s > best_score:
            best, best_score = p, s
    return best

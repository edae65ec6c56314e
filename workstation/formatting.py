"""How values look: one Qt-free place, so views, tooltips, clipboard copies, workbooks and the packet agree.

A floor of its own, just above core (it imports nothing else of the workstation): the UI, the exports, the what-if
summaries and the reports' rules all show values through it. Three families:
- display rounding: half away from zero (``round_half_away``, ``whole_percent``: the case study's % changes);
- report cells, formatted by their ``ReportTable`` column kind (``format_value``);
- record cells, formatted by the column's dtype (``format_block``), a block of rows at a time because a 1M-row
  table asks for a page of cells per repaint and per-cell pandas access is far too slow.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
# Columns whose floats are coordinates: five decimals is ~1 m, enough to tell two addresses apart.
COORDINATE_COLUMNS = ("lat", "lon", "x", "y")


def round_half_away(x: float, ndigits: int = 0) -> float:
    """Round half away from zero at ``ndigits`` decimals.

    Decimal on the shortest repr avoids binary noise: 100 * (17 - 8) / 8 is exactly 112.5 and becomes 113, and
    -1.25 becomes -1.3 (Python's round gives 112 and -1.2).
    """
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return x
    q = Decimal(1).scaleb(-ndigits)
    out = float(Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP))
    return 0.0 if out == 0 else out  # never -0


def whole_percent(fraction) -> int | None:
    """A fraction as the case study prints it: whole percent, half away from zero (−0.1803 -> −18)."""
    if fraction is None:
        return None
    f = float(fraction)
    if math.isnan(f) or math.isinf(f):
        return None
    # round(…, 12) first: 100 * 0.145 is 14.499999999999998 in floats; the fraction meant 14.5
    return int(round_half_away(round(100.0 * f, 10)))


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def pct_change_text(fraction) -> str:
    """A % change given as a fraction (-0.18) as whole percent ("-18%"); blank when undefined (zero base)."""
    if is_missing(fraction):
        return ""
    pct = whole_percent(fraction)
    return "" if pct is None else f"{pct:,d}%"


def format_value(value, kind: str) -> str:
    """Format one report cell by its ``ReportTable`` column kind (see reports/table.py COLUMN_KINDS)."""
    if is_missing(value):
        return ""
    if kind in ("label", "text"):
        return str(value)
    if kind == "count":
        try:
            return f"{int(round(float(value))):,d}"
        except (TypeError, ValueError):
            return str(value)
    if kind == "decimal1":
        return f"{round_half_away(float(value), 1):,.1f}"
    if kind == "rate":
        return f"{round_half_away(float(value), 2):,.2f}"
    if kind == "pct":
        return f"{round_half_away(100.0 * float(value), 1):,.1f}%"
    if kind == "pct_change":
        return pct_change_text(value)
    if kind == "z":
        z = round_half_away(float(value), 1)
        return "0.0" if z == 0 else f"{z:+.1f}"
    if kind == "date":
        return pd.Timestamp(value).strftime(DATE_FORMAT)
    return str(value)


def change_class(value, kind: str, direction: str = "crime") -> str:
    """'bad', 'good' or '' for a change cell: for crime a rise is bad; for activity ("activity") a rise is good."""
    if kind not in ("pct_change", "z") or is_missing(value):
        return ""
    v = float(value)
    if kind == "pct_change":
        v = whole_percent(v) or 0
    if v == 0:
        return ""
    up_is_bad = direction != "activity"
    return "bad" if (v > 0) == up_is_bad else "good"


# ---- record cells ---------------------------------------------------------------------------------------------------
def column_style(series: pd.Series, name: str = "") -> str:
    """How a records column is shown: 'datetime', 'float', 'coord', 'int', 'bool', 'category' or 'text'."""
    dt = series.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "coord" if str(name).lower() in COORDINATE_COLUMNS else "float"
    return "text"


def is_numeric_style(style: str) -> bool:
    return style in ("float", "coord", "int")


class ColumnFormatter:
    """Formats blocks of one records column. Built once per column so each block pays no set-up.

    Reads the column positionally (never reorders or copies it): categories through their codes, numbers and dates
    through the NumPy view of the column, text through Arrow's ``take``.
    """

    def __init__(self, series: pd.Series, style: str | None = None, labels: dict | None = None) -> None:
        self.series = series
        self.style = style or column_style(series, series.name or "")
        if self.style == "category":
            self.codes = series.array.codes
            labels = labels or {}
            self.labels = [str(labels.get(c, c)) for c in series.array.categories]
        elif self.style in ("datetime", "bool", "int", "coord", "float"):
            self.values = series.to_numpy(copy=False)
        else:
            self.array = series.array

    def block(self, positions: np.ndarray) -> list[str]:
        style = self.style
        if style == "category":
            labels = self.labels
            return ["" if c < 0 else labels[c] for c in self.codes[positions].tolist()]
        if style == "text":
            return ["" if is_missing(v) else str(v) for v in self.array.take(positions).tolist()]
        values = self.values[positions]
        if style == "datetime":
            # numpy's vectorised ISO text; exactly midnight is shown as the date alone (date-only sources)
            v = values.astype("datetime64[m]")
            text = np.datetime_as_string(v, unit="m").tolist()
            midnight = ((v - v.astype("datetime64[D]")) == np.timedelta64(0, "m")).tolist()
            return ["" if t == "NaT" else (t[:10] if m else t[:10] + " " + t[11:]) for t, m in zip(text, midnight)]
        if style == "bool":
            return ["Yes" if v else "No" for v in values.tolist()]
        if style == "int":
            return [f"{v:,d}" for v in values.tolist()]
        if style == "coord":
            return ["" if v != v else f"{v:.5f}" for v in values.tolist()]
        return ["" if v != v else (f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}") for v in values.tolist()]


def format_block(series: pd.Series, positions: np.ndarray, style: str | None = None) -> list[str]:
    """Format ``series`` at the integer ``positions`` as display strings (see ColumnFormatter)."""
    return ColumnFormatter(series, style).block(np.asarray(positions, dtype=np.int64))


def sort_key(series: pd.Series, labels: dict | None = None) -> np.ndarray:
    """A NumPy array that sorts like the column as shown (categories by label, missing values last).

    Returns float64 for numbers/dates (NaN for missing) or an int rank for text/categories (-1 for missing).
    """
    style = column_style(series)
    if style == "category":
        arr = series.array
        labels = np.asarray([str((labels or {}).get(c, c)) for c in arr.categories], dtype=object)
        rank_of_cat = np.empty(len(labels), dtype=np.int64)
        rank_of_cat[np.argsort(labels, kind="stable")] = np.arange(len(labels))
        codes = arr.codes
        return np.where(codes >= 0, rank_of_cat[np.maximum(codes, 0)], -1)
    if style == "datetime":
        v = series.to_numpy(copy=False)
        key = v.view("int64").astype("float64")
        key[np.isnat(v)] = np.nan
        return key
    if style in ("float", "coord", "int", "bool"):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.int64)


def argsort_rows(series: pd.Series, ascending: bool = True, labels: dict | None = None) -> np.ndarray:
    """Row positions in display order; missing values stay last in both directions; ties keep their order."""
    key = sort_key(series, labels)
    if key.dtype.kind == "f":
        missing = np.isnan(key)
    else:
        missing = key < 0
    if not missing.any():
        # the usual case (every record dated): no gather and concatenate of millions of positions, which hold the
        # GIL while the sort itself does not, so a worker sorting 7M records froze the window for ~100 ms
        return np.argsort(key if ascending else -key, kind="stable").astype(np.int64, copy=False)
    present = np.flatnonzero(~missing)
    k = key[present]
    order = np.argsort(k if ascending else -k, kind="stable")
    return np.concatenate([present[order], np.flatnonzero(missing)]).astype(np.int64, copy=False)


def match_rows(df: pd.DataFrame, columns: list[str], text: str, value_labels: dict | None = None) -> np.ndarray:
    """Boolean mask of the rows where any of ``columns`` contains ``text`` as shown (case-insensitive).

    Vectorised through Arrow's string kernels so that a 1M-row frame filters in well under a second.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    needle = (text or "").strip().lower()
    mask = np.zeros(len(df), dtype=bool)
    if not needle:
        return ~mask
    for name in columns:
        s = df[name]
        style = column_style(s, name)
        if style == "category":
            shown = (value_labels or {}).get(name) or {}
            cats = pd.Index([str(shown.get(c, c)) for c in s.array.categories], dtype=object)
            hit = np.flatnonzero(cats.str.lower().str.contains(needle, regex=False))
            mask |= np.isin(s.array.codes, hit)
            continue
        if style == "bool":
            shown = np.where(s.to_numpy(dtype=bool), "yes", "no")
            mask |= np.char.find(shown, needle) >= 0
            continue
        if style == "datetime":
            v = s.to_numpy(copy=False)
            if ":" not in needle and " " not in needle:
                # a date needle: match each distinct day once (a few thousand) instead of every timestamp
                days, inverse = np.unique(v.astype("datetime64[D]"), return_inverse=True)
                text_days = np.datetime_as_string(days, unit="D")
                hit_days = (np.char.find(np.char.lower(text_days), needle) >= 0) & ~np.isnat(days)
                mask |= hit_days[inverse.ravel()]
                continue
            strs = pc.strftime(pa.array(v, from_pandas=True), format="%Y-%m-%d %H:%M")
        elif style == "coord":
            strs = pc.cast(pc.round(pa.array(s.to_numpy(copy=False), from_pandas=True), 5), pa.string())
        elif style in ("int", "float"):
            strs = pc.cast(pa.array(s.to_numpy(copy=False), from_pandas=True), pa.string())
        else:
            strs = pc.cast(pa.array(s.astype(object).to_numpy(), from_pandas=True) if s.dtype == object
                           else pa.array(s.array), pa.string())
        hit = pc.match_substring(strs, needle, ignore_case=True)
        mask |= np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
    return mask

"""Vectorised date parsing for columns that mix formats.

Each format is tried with one vectorised ``pandas.to_datetime`` call on the values still unparsed, so a clean column
costs one pass and a mixed one a pass per format present. Years outside 1900-2100 count as not understood: that is
how a two-digit year read with ``%Y`` ("8/27/06" as year 6) is caught and left for ``%y``.
"""
from __future__ import annotations

import logging
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

US_FORMATS = [
    "ISO8601",
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%m/%d/%y %I:%M:%S %p", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%y",
    "%m-%d-%Y %H:%M:%S", "%m-%d-%Y", "%d-%b-%y", "%d-%b-%Y", "%d-%b-%Y %H:%M:%S", "%b %d %Y", "%B %d, %Y",
    "%Y%m%d%H%M%S", "%Y%m%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
]
DAYFIRST_FORMATS = [f.replace("%m/%d", "%d/%m").replace("%m-%d", "%d-%m") for f in US_FORMATS]

_MIN = pd.Timestamp("1900-01-01")
_MAX = pd.Timestamp("2100-12-31")
# Excel stores dates as days since 1899-12-30; a bare number in a date column of a workbook is one of those.
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


# pandas' strptime path is slow for some formats (2 s per 1M values with %p); Arrow's is ~30x faster and just as
# strict (the whole value must match), so explicit formats go through Arrow and ISO 8601 tries the common
# fixed layouts there before pandas' general ISO parser (fractions, offsets).
_ISO_FAST = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _expand(formats):
    out = []
    for f in formats:
        if f == "ISO8601":
            out.extend(_ISO_FAST)
        out.append(f)
    return out


def _arrow_can(fmt: str) -> bool:
    return fmt != "ISO8601" and not any(d in fmt for d in ("%z", "%Z", "%f", "%j", "%U", "%W"))


def _arrow_strptime(sub: pd.Series, fmt: str):
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(sub.array) if sub.dtype == "str" else pa.array(sub.astype("str").array)
        res = pc.strptime(arr, format=fmt, unit="ns", error_is_null=True)
        return res.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    except Exception:  # an Arrow build without this format: let pandas do it
        log.debug("Arrow cannot parse the format %r; pandas will", fmt, exc_info=True)
        return None


def _plausible(dt: pd.Series) -> pd.Series:
    if getattr(dt.dt, "tz", None) is not None:
        naive = dt.dt.tz_localize(None)
    else:
        naive = dt
    return dt.notna() & (naive >= _MIN) & (naive <= _MAX)


def _to_ns(dt: pd.Series, utc: bool) -> pd.Series:
    tz = getattr(dt.dt, "tz", None)
    if utc:
        dt = dt.dt.tz_localize("UTC") if tz is None else dt.dt.tz_convert("UTC")
        return dt.where((dt >= _MIN.tz_localize("UTC")) & (dt <= _MAX.tz_localize("UTC"))).astype(
            "datetime64[ns, UTC]")
    if tz is not None:
        dt = dt.dt.tz_localize(None)  # keep the wall-clock time the source wrote
    return _in_range(dt).astype("datetime64[ns]")


def _in_range(dt: pd.Series) -> pd.Series:
    """NaT outside 1900-2100 before any cast to nanoseconds: 9999-12-31 (a common "no date" placeholder) or year 1
    would overflow datetime64[ns] and crash the import instead of being reported as a date not understood."""
    return dt.where((dt >= _MIN) & (dt <= _MAX))


def parse_dates(values: pd.Series, formats=(), dayfirst: bool = False, utc: bool = False):
    """Parse a column to datetimes.

    Returns ``(dt, missing, bad)``: ``dt`` is datetime64[ns] (tz-aware UTC when ``utc``: naive values are taken as
    UTC), ``missing`` marks blank cells, ``bad`` cells that no format understood.
    """
    s = values
    idx = s.index
    n = len(s)
    empty = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]" if utc else "datetime64[ns]")
    if n == 0:
        z = np.zeros(0, dtype=bool)
        return empty, z, z
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = _to_ns(s, utc)
        ok = _plausible(out).to_numpy()
        missing = s.isna().to_numpy()
        return out.where(ok), missing, ~ok & ~missing
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        num = pd.to_numeric(s, errors="coerce")
        missing = num.isna().to_numpy()
        # yyyymmdd integers are far larger than any Excel serial day number
        if num.dropna().between(19000101, 21001231).all() and num.notna().any():
            whole = num.where(num == np.floor(num))  # 20200101.5 is no date (and cannot become an integer)
            dt = pd.to_datetime(whole.astype("Int64").astype("str"), format="%Y%m%d", errors="coerce")
        else:
            # serial days outside 1900-2100 are not dates and would overflow the timedelta
            dt = _EXCEL_EPOCH + pd.to_timedelta(num.where(num.between(0, 74_000)), unit="D")
        out = _to_ns(dt, utc)
        ok = _plausible(out).to_numpy()
        return out.where(ok), missing, ~ok & ~missing
    if s.dtype == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("datetime", "datetime64", "date"):
            out = _to_ns(pd.to_datetime(s, errors="coerce"), utc)
            ok = _plausible(out).to_numpy()
            missing = s.isna().to_numpy()
            return out.where(ok), missing, ~ok & ~missing
        if kind not in ("string", "empty"):
            # a workbook column with dates, numbers and text mixed: real datetimes first, the rest as text
            is_dt = np.fromiter((isinstance(v, (pd.Timestamp,)) or hasattr(v, "year") for v in s.to_numpy()),
                                bool, n)
            first = parse_dates(s[is_dt].astype("datetime64[us]") if is_dt.any() else s[is_dt], formats,
                                dayfirst, utc)  # [us]: years 1-9999 fit, the range check follows
            rest_vals = s[~is_dt]
            nums = pd.to_numeric(rest_vals, errors="coerce")
            rest_text = rest_vals.where(nums.isna(), None)
            second = parse_dates(rest_text.astype("str").where(rest_text.notna()), formats, dayfirst, utc)
            third = parse_dates(nums, formats, dayfirst, utc)
            out = empty.copy()
            out[is_dt] = first[0]
            out[~is_dt] = second[0].where(second[0].notna(), third[0])
            missing = s.isna().to_numpy()
            ok = out.notna().to_numpy()
            return out, missing, ~ok & ~missing
    text = s if s.dtype == "str" else s.astype("str")
    vals = np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")  # UTC wall clock when utc, else local
    missing = np.array(text.isna().to_numpy(), dtype=bool)  # a writable copy
    todo = ~missing
    fmts = _expand(list(formats) + (DAYFIRST_FORMATS if dayfirst else US_FORMATS))
    _parse_into(text, todo, vals, fmts, utc, first_pass_full=True)
    if todo.any():
        # what no format took may be blank or padded: blanks are missing, padded values get another try
        pos = np.flatnonzero(todo)
        stripped = text.iloc[pos].str.strip()
        blank = (stripped.isna() | (stripped == "")).to_numpy()
        missing[pos[blank]] = True
        todo[pos[blank]] = False
        changed = np.zeros(n, dtype=bool)
        changed[pos[~blank]] = (stripped[~blank] != text.iloc[pos[~blank]]).to_numpy()
        if changed.any():
            retry = pd.Series(text.to_numpy(dtype=object), index=idx, dtype="str")
            retry.iloc[pos] = stripped.to_numpy(dtype=object)
            _parse_into(retry, changed, vals, fmts, utc)
            todo &= ~(changed & ~np.isnat(vals))
    if todo.any():
        # a bare number no format took: a workbook's date cell stored as Excel serial days (every cell reaches the
        # importer as text, so 43831.5 arrives as "43831.5"); 20000-74000 days is 1954-2102
        pos = np.flatnonzero(todo)
        num = pd.to_numeric(text.iloc[pos].str.strip(), errors="coerce").to_numpy(dtype="float64")
        serial = np.isfinite(num) & (num >= 20_000) & (num <= 74_000)
        if serial.any():
            days = (np.datetime64(_EXCEL_EPOCH.to_datetime64(), "ns")
                    + np.round(num[serial] * 86_400_000_000).astype("int64").astype("timedelta64[us]"))
            vals[pos[serial]] = days
            todo[pos[serial]] = False
    out = pd.Series(vals, index=idx)
    if utc:
        out = out.dt.tz_localize("UTC")
    return out, missing, todo


def _parse_into(text: pd.Series, todo: np.ndarray, vals: np.ndarray, fmts, utc: bool, first_pass_full=False):
    """Try each format on the values still marked ``todo``; write what parses into ``vals`` and clear ``todo``."""
    tried = set()
    first = first_pass_full
    for fmt in fmts:
        if fmt in tried:
            continue
        tried.add(fmt)
        if not todo.any():
            break
        # the first pass runs on the whole column (missing cells simply stay NaT): no 1M-row copy
        whole = first or todo.all()
        sub = text if whole else text[todo]
        first = False
        if _arrow_can(fmt):
            arr = _arrow_strptime(sub, fmt)
            if arr is None:
                arr = _pandas_parse(sub, fmt, utc)
        else:
            arr = _pandas_parse(sub, fmt, utc)
        good = (arr >= np.datetime64(_MIN)) & (arr <= np.datetime64(_MAX))  # NaT compares False
        if whole:
            good &= todo
            pos = np.flatnonzero(good)
        else:
            pos = np.flatnonzero(todo)[good]
        if len(pos):
            vals[pos] = arr[good]
            todo[pos] = False


def _pandas_parse(sub: pd.Series, fmt: str, utc: bool) -> np.ndarray:
    try:
        dt = pd.to_datetime(sub, format=fmt, errors="coerce", utc=utc)
    except (ValueError, TypeError):
        # mixed UTC offsets without utc=True: read them as UTC and keep the UTC wall clock
        dt = pd.to_datetime(sub, format=fmt, errors="coerce", utc=True)
        if not utc:
            dt = dt.dt.tz_localize(None)
    if getattr(dt.dt, "tz", None) is not None:
        dt = dt.dt.tz_convert("UTC").dt.tz_localize(None) if utc else dt.dt.tz_localize(None)
    return _in_range(dt).to_numpy(dtype="datetime64[ns]")

"""CSV files that analysts open in Excel: input text never becomes a formula, and the file is written atomically.

A cell that starts with = + - @ (or a tab / carriage return) is run as a formula when Excel or LibreOffice opens a
CSV ("CSV injection": ``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)``). Such text gets a leading apostrophe, the
convention spreadsheets themselves use for "this is text"; numbers such as -87.95 are left as they are.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from workstation.core.fileio import write_atomically

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
# a lead character, also behind blanks or line breaks (a spreadsheet may trim them on import)
_LEAD = re.compile(r"^(?:[\s]*[=+\-@]|[\t\r])")
_NUMBER = re.compile(r"^\s*[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def safe_text(value):
    """``value`` as it may go into a CSV cell (text that would run as a formula gets a leading apostrophe)."""
    if isinstance(value, str) and _LEAD.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as formulas (vectorised: one pass per text column)."""
    out = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            text = s.astype("str").where(s.notna())
            risky = text.str.match(_LEAD.pattern, na=False) & ~text.str.match(_NUMBER.pattern, na=False)
            if risky.any():
                s = text.where(~risky, "'" + text)
        out[c] = s
    return pd.DataFrame(out, index=df.index)


def write_csv(df: pd.DataFrame, path) -> Path:
    """Write ``df`` (no index) as UTF-8 CSV with a BOM (so Excel reads accents right), formula-safe, atomically."""
    safe = neutralise(df)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            safe.to_csv(fh, index=False)

    return write_atomically(path, write, what="the CSV file")


__all__ = ["FORMULA_LEADS", "safe_text", "neutralise", "write_csv"]

"""How report values become workbook cells: stored value, number format, fonts, fills, and safe text.

One rule for every number (written on the Notes sheet too): **a cell stores the value it shows**. Counts are whole
numbers; averages are rounded to one decimal, rates to two, shares to a tenth of a percent and % changes to a whole
percent, always half away from zero (the case study's rule: 8 -> 17 is 112.5% -> 113%, 40 -> 39 is -2.5% -> -3%).
So a figure copied out of the workbook, or read by a program, is the printed figure; and Excel and LibreOffice never
disagree about how a half is displayed. A % change with a zero base is undefined: the cell is left blank and the table
carries a note (never "inf", never 0%).

Text that came from input files (names, addresses, categories) is always written as a string cell: openpyxl turns any
string starting with "=" into a formula, so every str is forced back to the string type, and text that a spreadsheet
would read as a formula when retyped (= + - @) also gets Excel's quote prefix.
"""
from __future__ import annotations

import datetime as dt
import math
import re

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from workstation.formatting import format_value, is_missing, round_half_away

FONT_NAME = "Calibri"  # Carlito (metric-compatible) stands in for it under LibreOffice
FONT_SIZE = 10

# Number formats by ReportTable column kind.
NUMBER_FORMATS = {
    "label": "@",
    "text": "@",
    "count": "#,##0",
    "decimal1": "#,##0.0",
    "rate": "#,##0.00",
    "pct": "0.0%",
    "pct_change": "0%",
    "z": "+0.0;-0.0;0.0",
    "date": "yyyy-mm-dd",
}
NUMERIC_KINDS = ("count", "decimal1", "rate", "pct", "pct_change", "z")

# Decimal places of the stored value, per kind (pct and pct_change are fractions: 0.01 is one percent).
_STORED_DIGITS = {"decimal1": 1, "rate": 2, "pct": 3, "pct_change": 2, "z": 1}

# Excel cells hold at most 32,767 characters; a longer string makes Excel "repair" the file.
MAX_CELL_CHARS = 32_767
# Control characters that XML 1.0 forbids (openpyxl refuses them): dropped, they never carry meaning in a report.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMULA_LEADS = ("=", "+", "-", "@")

# ---- styles ---------------------------------------------------------------------------------------------------------
BLUE_DARK = "1F3864"
GREY_TEXT = "595959"
HEADER_FILL = PatternFill("solid", start_color="DCE6F1", end_color="DCE6F1")
GROUP_FILL = PatternFill("solid", start_color="B8CCE4", end_color="B8CCE4")
TOTAL_FILL = PatternFill("solid", start_color="F2F2F2", end_color="F2F2F2")
SECTION_FILL = PatternFill("solid", start_color="EEF3F8", end_color="EEF3F8")

_thin = Side(style="thin", color="A6A6A6")
_medium = Side(style="thin", color="404040")
BORDER_CELL = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
BORDER_TOTAL = Border(left=_thin, right=_thin, top=_medium, bottom=_thin)


def font(bold: bool = False, size: float = FONT_SIZE, color: str | None = None, italic: bool = False) -> Font:
    return Font(name=FONT_NAME, size=size, bold=bold, italic=italic, color=color)


FONT_BODY = font()
FONT_BOLD = font(bold=True)
FONT_HEADER = font(bold=True, color=BLUE_DARK)
FONT_SHEET_TITLE = font(bold=True, size=14, color=BLUE_DARK)
FONT_TABLE_TITLE = font(bold=True, size=11, color=BLUE_DARK)
# notes print as body text: at the 80% a wide sheet may print at, 10 pt is 8 pt on paper (9 pt would be 7.2)
FONT_NOTE = font(italic=True, size=10, color=GREY_TEXT)
FONT_SUBTITLE = font(size=10, color=GREY_TEXT)

ALIGN_HEADER = Alignment(horizontal="center", vertical="center", wrap_text=True)
ALIGN_LABEL = Alignment(horizontal="left", vertical="top")
ALIGN_TEXT_WRAP = Alignment(horizontal="left", vertical="top", wrap_text=True)
ALIGN_NUMBER = Alignment(horizontal="right", vertical="top")
ALIGN_NOTE = Alignment(horizontal="left", vertical="top", wrap_text=True)

# Conditional colours: Excel's own "Good" and "Bad" cell styles, so they read as usual to analysts.
GOOD_FILL = PatternFill("solid", start_color="C6EFCE", end_color="C6EFCE")
GOOD_FONT = Font(name=FONT_NAME, color="006100")
BAD_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
BAD_FONT = Font(name=FONT_NAME, color="9C0006")
STRONG_GOOD_FONT = Font(name=FONT_NAME, color="006100", bold=True)
STRONG_BAD_FONT = Font(name=FONT_NAME, color="9C0006", bold=True)
# the same colours as cell styles (flagged cells are styled directly, not by a rule): a cell font needs its size
CELL_FONTS = {("bad", False): font(color="9C0006"), ("bad", True): font(color="9C0006", bold=True),
              ("good", False): font(color="006100"), ("good", True): font(color="006100", bold=True)}


def marked_format(number_format: str, mark: str) -> str:
    """A number format that shows ``mark`` (e.g. "†") after the number in every section: '#,##0' -> '#,##0"†"'."""
    quoted = '"' + mark.replace('"', "") + '"'
    return ";".join(sec + quoted for sec in number_format.split(";"))


# ---- values ---------------------------------------------------------------------------------------------------------
def clean_text(value) -> str:
    """Text as it may go into a cell: XML-illegal control characters dropped, cut to Excel's cell limit."""
    s = _ILLEGAL_XML.sub("", str(value))
    if len(s) > MAX_CELL_CHARS:
        s = s[: MAX_CELL_CHARS - 1] + "…"
    return s


def stored_value(value, kind: str):
    """The value a cell of this column kind stores (see the module docstring): None for missing or undefined."""
    if is_missing(value):
        return None
    if kind in ("label", "text"):
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and kind == "label":
            f = float(value)
            if math.isfinite(f):
                return int(f) if f.is_integer() else f
        if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar label
            return stored_value(value.item(), kind)
        return clean_text(value)
    if kind == "date":
        import pandas as pd

        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        if ts.hour == ts.minute == ts.second == ts.microsecond == 0:
            return dt.date(ts.year, ts.month, ts.day)
        return ts.to_pydatetime().replace(microsecond=0)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return clean_text(value)  # a report put text in a number column (e.g. "n/a"): keep it, as text
    if not math.isfinite(f):
        return None
    if kind == "count":
        return int(round_half_away(f, 0))
    if kind in ("pct_change", "pct"):
        f = round(f, 12)  # binary noise (0.1 + 0.2) must not decide a half; the same rule as reports/rules.py
    r = round_half_away(f, _STORED_DIGITS[kind]) + 0.0  # + 0.0 turns -0.0 into 0.0: never "-0%"
    return r


def display_text(value, kind: str) -> str:
    """What a stored value shows under its kind's number format (for fitting column widths): the screen's text
    (workstation.formatting.format_value), which the number formats above reproduce."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return format_value(value, kind)


def needs_quote_prefix(text: str) -> bool:
    return text.startswith(FORMULA_LEADS)

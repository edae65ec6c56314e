"""Counting and change rules shared by every report (definitions.md, "Periods and change").

- % change = (C − P) / P, as a fraction; with P = 0 it is undefined: ``None`` (shown blank with a note), never inf
  and never 0%.
- Display rounding is half away from zero (the case study prints 40 -> 39 as −3% and 8 -> 17 as 113%; Python's
  ``round`` rounds half to even and gets both wrong).
- Chance-aware flag: Poisson z = 2(√C − √P); |z| ≥ 2 is "notable", |z| ≥ 3 "significant".
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

ZERO_BASE_NOTE = "A % change from a zero base is undefined and is left blank."
Z_NOTE = ("Flag: Poisson z = 2(√C − √P) compares the two counts allowing for chance; |z| ≥ 2 is notable, |z| ≥ 3 "
          "significant. A year-to-date comparison early in the year whose counts are both under 10 is marked "
          "'small counts early in the year' instead: such comparisons mislead.")
EARLY_YTD_DAYS = 56  # before the 57th day of the year a year-to-date comparison of small counts misleads
SMALL_COUNT = 10


def pct_change(current, previous) -> float | None:
    """(current − previous) / previous as a fraction (−0.18 for −18%); None when previous is 0 or missing."""
    if previous is None or current is None:
        return None
    try:
        c, p = float(current), float(previous)
    except (TypeError, ValueError):
        return None
    if p == 0 or math.isnan(p) or math.isnan(c):
        return None
    return (c - p) / p


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


def poisson_z(current, previous) -> float:
    """z = 2(√C − √P): the variance-stabilised difference of two Poisson counts (≈ N(0, 1) when nothing changed)."""
    c = max(float(current or 0), 0.0)
    p = max(float(previous or 0), 0.0)
    return 2.0 * (math.sqrt(c) - math.sqrt(p))


def z_flag(z) -> str:
    """'' (chance), 'notable' (|z| ≥ 2) or 'significant' (|z| ≥ 3)."""
    if z is None:
        return ""
    a = abs(float(z))
    if a >= 3:
        return "significant"
    if a >= 2:
        return "notable"
    return ""


def change_flag(current, previous, *, early_ytd: bool = False) -> str:
    """A short word for a comparison: 'significant rise', 'notable fall', '' — and, for year-to-date comparisons
    early in the year with small counts, 'small counts early in the year' instead of a direction."""
    if early_ytd and max(float(current or 0), float(previous or 0)) < SMALL_COUNT:
        return "small counts early in the year"
    z = poisson_z(current, previous)
    level = z_flag(z)
    if not level:
        return ""
    return f"{level} {'rise' if z > 0 else 'fall'}"

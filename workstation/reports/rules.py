"""Counting and change rules shared by every report (docs/definitions.md, "Periods and change").

- % change = (C − P) / P, as a fraction; with P = 0 it is undefined: ``None`` (shown blank with a note), never inf
  and never 0%.
- Display rounding is half away from zero (the case study prints 40 -> 39 as −3% and 8 -> 17 as 113%; Python's
  ``round`` rounds half to even and gets both wrong): ``round_half_away`` and ``whole_percent`` in
  workstation/formatting.py, the floor every product and view shows values through.
- Chance-aware flag (docs/definitions.md, corrected): the exact conditional binomial test of two equal-length windows —
  given C + P events in all, is C out of C + P consistent with p = ½? Two-sided; "notable" at p < 0.05,
  "significant" at p < 0.01. 1, 2 or 3 vs 0 can never reach p < 0.05 (3 vs 0 has p = 0.25), so single incidents are
  never flagged. The z shown beside it is √2·(√C − √P): 2√X has variance ≈ 1 for one Poisson count, so the
  difference of two has variance 2 (the old 2(√C − √P) overstated z by √2).
"""
from __future__ import annotations

import math

from workstation.formatting import round_half_away, whole_percent

ZERO_BASE_NOTE = "A % change from a zero base is undefined and is left blank."
FLAG_RULE = ("Flags come from an exact test: given C + P events in the two equal-length windows, the conditional "
             "binomial test of C out of C + P at p = ½ (two-sided); 'notable' when p < 0.05, 'significant' when "
             "p < 0.01. So 1, 2 or 3 vs 0 is never flagged. The z shown is √2·(√C − √P), about N(0, 1) when nothing "
             "changed.")
Z_NOTE = (FLAG_RULE + " A year-to-date comparison early in the year whose counts are both under 10 is marked "
          "'small counts early in the year' instead: such comparisons mislead.")
NOTABLE_P = 0.05
SIGNIFICANT_P = 0.01
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


def poisson_z(current, previous) -> float:
    """z = √2·(√C − √P): the variance-stabilised difference of two Poisson counts (≈ N(0, 1) when nothing changed).

    2√X has variance ≈ 1 for one Poisson count X, so 2√C − 2√P has variance 2; dividing by √2 gives √2·(√C − √P)."""
    c = max(float(current or 0), 0.0)
    p = max(float(previous or 0), 0.0)
    return math.sqrt(2.0) * (math.sqrt(c) - math.sqrt(p))


def _whole(x) -> int:
    return max(int(round_half_away(float(x or 0))), 0)


def exact_p(current, previous) -> float:
    """Two-sided p of the conditional binomial test: C out of n = C + P at p = ½.

    With p = ½ the distribution is symmetric, so the two-sided p (the probability of an outcome no likelier than the
    one seen, scipy's ``binomtest`` rule) is 2·P(X ≤ min(C, P)), capped at 1. Counts are whole numbers (a summed
    quantity is rounded first). Exact integer arithmetic for n ≤ 300; beyond that the regularised incomplete beta
    (scipy.special.bdtr), accurate to about 1e-15.
    """
    c, p = _whole(current), _whole(previous)
    n, k = c + p, min(c, p)
    if n == 0 or c == p:
        return 1.0
    if n <= 300:
        tail = sum(math.comb(n, i) for i in range(k + 1))
        return min(1.0, float(2 * tail / 2 ** n)) if tail < 2 ** (n - 1) else 1.0
    from scipy.special import bdtr

    return min(1.0, 2.0 * float(bdtr(k, n, 0.5)))


def flag_strength(current, previous) -> str:
    """'' (within chance), 'notable' (exact p < 0.05) or 'significant' (p < 0.01) for two equal-length windows."""
    if current is None or previous is None:
        return ""
    p = exact_p(current, previous)
    if p < SIGNIFICANT_P:
        return "significant"
    if p < NOTABLE_P:
        return "notable"
    return ""


def change_flag(current, previous, *, early_ytd: bool = False) -> str:
    """A short word for a comparison: 'significant rise', 'notable fall', '' — and, for year-to-date comparisons
    early in the year with small counts, 'small counts early in the year' instead of a direction."""
    if early_ytd and max(float(current or 0), float(previous or 0)) < SMALL_COUNT:
        return "small counts early in the year"
    level = flag_strength(current, previous)
    if not level:
        return ""
    return f"{level} {'rise' if float(current) > float(previous) else 'fall'}"

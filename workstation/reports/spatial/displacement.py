"""Did crime just move next door? Bowers & Johnson's weighted displacement quotient (WDQ) and Guerette's total net
effect, for a target area A, a buffer ring B around it and a control area C, before and after an intervention.

    success measure  = A₁/C₁ − A₀/C₀      (negative: the target improved relative to the control)
    buffer measure   = B₁/C₁ − B₀/C₀      (positive: the buffer got worse relative to the control)
    WDQ              = buffer measure / success measure
    total net effect = (A₀·C₁/C₀ − A₁) + (B₀·C₁/C₀ − B₁)   (events prevented in A and B together, control-adjusted)

The WDQ only speaks when the target improved (success measure < 0): then WDQ > 0 is a diffusion of benefits into the
buffer, WDQ < 0 displacement, and WDQ < −1 displacement larger than the gain. The zones are disjoint: the buffer is
the ring of ``buffer_ft`` around A (outside A), the control is the city (or the chosen area) outside A and B. Counts
are the measure's located events inside each zone, the target's exactly the CompStat count for the area whenever
the measure's records all have coordinates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from workstation.core.errors import UserError
from workstation.engine import geometry as geo
from workstation.engine.areas import CITYWIDE, city_geometry, resolve_area
from workstation.reports.spatial import events as ev_mod

DEFAULT_BUFFER_FT = 1320.0  # a quarter mile
SMALL_COUNT = 20
WDQ_NOTE = ("Weighted displacement quotient (Bowers & Johnson 2003): WDQ = (B₁/C₁ − B₀/C₀) / (A₁/C₁ − A₀/C₀) for "
            "target area A, buffer ring B and control area C, before (0) and after (1). Total net effect (Guerette "
            "2009) = (A₀·C₁/C₀ − A₁) + (B₀·C₁/C₀ − B₁): events prevented in the target and buffer together, "
            "adjusted for the control area's trend.")


@dataclass
class DisplacementResult:
    target: dict                 # {"before": n, "after": n}
    buffer: dict
    control: dict
    wdq: float | None
    success_measure: float | None
    buffer_measure: float | None
    total_net_effect: float | None
    interpretation: str
    before: tuple
    after: tuple
    buffer_ft: float
    target_label: str
    control_label: str
    target_geometry: object = None     # lon/lat
    buffer_geometry: object = None     # lon/lat ring (A buffered by buffer_ft, minus A)
    control_geometry: object = None    # lon/lat (control minus A and B)
    verdict: str = ""                  # "displacement" | "diffusion" | "no effect" | "no success" | "undefined"
    params: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"target": self.target, "buffer": self.buffer, "control": self.control, "wdq": _opt(self.wdq),
                "success_measure": _opt(self.success_measure), "buffer_measure": _opt(self.buffer_measure),
                "total_net_effect": _opt(self.total_net_effect), "interpretation": self.interpretation,
                "verdict": self.verdict, "before": [str(d) for d in self.before],
                "after": [str(d) for d in self.after], "buffer_ft": self.buffer_ft, "target_label": self.target_label,
                "control_label": self.control_label, "params": self.params, "notes": list(self.notes)}

    def buffer_geojson(self) -> dict:
        import shapely

        return {"type": "Feature", "geometry": json_geometry(shapely.to_geojson(self.buffer_geometry)),
                "properties": {"name": f"{self.target_label} buffer ({self.buffer_ft:,.0f} ft)"}}


def json_geometry(text: str) -> dict:
    import json

    return json.loads(text)


def _opt(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _num(v: float):
    v = float(v)
    return int(v) if v.is_integer() else v


def wdq_figures(a0, a1, b0, b1, c0, c1) -> dict:
    """The WDQ's parts from the six counts; None where a denominator is zero."""
    out = {"success_measure": None, "buffer_measure": None, "wdq": None, "total_net_effect": None,
           "target_effect": None, "buffer_effect": None}
    if c0 > 0 and c1 > 0:
        out["success_measure"] = a1 / c1 - a0 / c0
        out["buffer_measure"] = b1 / c1 - b0 / c0
        if out["success_measure"] != 0:
            out["wdq"] = out["buffer_measure"] / out["success_measure"]
    if c0 > 0:
        trend = c1 / c0
        out["target_effect"] = a0 * trend - a1
        out["buffer_effect"] = b0 * trend - b1
        out["total_net_effect"] = out["target_effect"] + out["buffer_effect"]
    return out


def interpret(a0, a1, b0, b1, c0, c1, figures: dict, target: str = "the target area",
              buffer: str = "the buffer") -> tuple[str, str]:
    """(verdict, sentences) in an analyst's words, including the cases where the WDQ says nothing."""
    sm, bm, wdq, tne = figures["success_measure"], figures["buffer_measure"], figures["wdq"], \
        figures["total_net_effect"]
    parts = []
    if c0 == 0 or c1 == 0:
        which = "before" if c0 == 0 else "after"
        return "undefined", (f"The control area had no events in the {which} period, so the ratios to the control "
                             "cannot be formed and the WDQ is undefined. Choose a larger control area or longer "
                             "periods.")
    if sm >= 0:
        verdict = "no success"
        change = "rose" if sm > 0 else "did not change"
        parts.append(f"Relative to the control area, crime in {target} {change} (success measure {sm:+.4f}), so "
                     "there is no success to be displaced or diffused and the WDQ says nothing about displacement.")
        if bm > 0:
            parts.append(f"{buffer.capitalize()} also worsened relative to the control (buffer measure {bm:+.4f}).")
        elif bm < 0:
            parts.append(f"{buffer.capitalize()} improved relative to the control (buffer measure {bm:+.4f}), "
                         "which the target area's result does not explain.")
    else:
        parts.append(f"Relative to the control area, {target} improved (success measure {sm:+.4f}).")
        if bm > 0:
            verdict = "displacement"
            if wdq < -1:
                parts.append(f"The buffer worsened by more than the target improved (WDQ {wdq:.2f} < −1): more crime "
                             "appears to have moved into the buffer than was prevented, so the net effect is harmful.")
            else:
                parts.append(f"Some crime appears to have moved into the buffer (WDQ {wdq:.2f}, between −1 and 0), "
                             "but less than was prevented in the target area: a net benefit.")
        elif bm < 0:
            verdict = "diffusion"
            if wdq > 1:
                parts.append(f"The buffer improved even more than the target area (WDQ {wdq:.2f} > 1): a diffusion "
                             "of benefits larger than the direct effect.")
            else:
                parts.append(f"The buffer improved too (WDQ {wdq:.2f} > 0): a diffusion of benefits, not "
                             "displacement.")
        else:
            verdict = "no effect"
            parts.append("The buffer did not change relative to the control (WDQ 0): no displacement and no "
                         "diffusion.")
    if tne is not None:
        if tne > 0:
            parts.append(f"Total net effect: about {tne:,.1f} fewer events in the target area and buffer together "
                         "than the control area's trend predicts.")
        elif tne < 0:
            parts.append(f"Total net effect: about {-tne:,.1f} more events in the target area and buffer together "
                         "than the control area's trend predicts.")
        else:
            parts.append("Total net effect: none (the target area and buffer together followed the control "
                         "area's trend).")
    if min(a0 + a1, b0 + b1) < SMALL_COUNT:
        parts.append(f"Counts are small (fewer than {SMALL_COUNT} events in the target area or buffer over both "
                     "periods); treat the result with caution.")
    return verdict, " ".join(parts)


def _period(p, what: str) -> ev_mod.Window:
    try:
        d0, d1 = p
    except (TypeError, ValueError):
        raise UserError(f"The {what} period must be a pair of dates (from, to).") from None
    return ev_mod.period_window(d0, d1, f"{what} period")


def leap_days(w) -> int:
    """February 29ths inside a window: a calendar year is as long as another though one has 366 days."""
    import datetime as dt

    return sum(1 for y in range(w.start.year, w.end.year + 1)
               if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) and w.start <= dt.date(y, 2, 29) <= w.end)


def displacement(ws, area_key: str | None, measure_id: str, before, after, buffer_ft: float = DEFAULT_BUFFER_FT,
                 control_key: str | None = None, geometry=None, progress=None, cancelled=None,
                 catalog=None) -> DisplacementResult:
    """WDQ for the area ``area_key`` (a saved target area, scenario or district) or the drawn ``geometry`` (the live
    draft; ``area_key`` then only names it), around which a ring of ``buffer_ft`` is the buffer. ``control_key``:
    None for the city outside A and B, else an area key (its part outside A and B is used)."""
    ev_mod.report(progress, 0.0)
    w0, w1 = _period(before, "before"), _period(after, "after")
    if w0.days - leap_days(w0) != w1.days - leap_days(w1):
        raise UserError(f"The before period has {w0.days} days and the after period {w1.days}; the WDQ compares "
                        "periods of equal length, so make them the same number of days.")
    if not w0.end < w1.start:
        raise UserError(f"The before period ({w0.start:%Y-%m-%d} to {w0.end:%Y-%m-%d}) must end before the after "
                        f"period starts ({w1.start:%Y-%m-%d}).")
    if buffer_ft is None or not math.isfinite(buffer_ft) or buffer_ft <= 0:
        raise UserError(f"The buffer width must be a positive number of feet (got {buffer_ft}).")
    if geometry is not None:
        problem = geo.validity_problem(geometry)
        if problem:
            raise UserError(f"The drawn boundary cannot be analysed: {problem}")
        target_geom = geometry
        target_label = "Drawn boundary" if not area_key else f"Drawn boundary ({resolve_area(ws, area_key).label})"
    else:
        if not area_key or area_key == CITYWIDE:
            raise UserError("Displacement needs a target area (a target area, scenario or district), not the whole "
                            "city: there would be no buffer or control around it.")
        ref = resolve_area(ws, area_key)
        if ref.geometry is None:
            raise UserError(f"{ref.label} has no boundary, so it has no buffer ring; import its boundary first.")
        target_geom, target_label = ref.geometry, ref.label
    crs = ev_mod.local_crs(ws)
    a_ft = ev_mod.geometry_to_feet(target_geom, crs)
    outer_ft = a_ft.buffer(buffer_ft, quad_segs=16)
    ring_ft = outer_ft.difference(a_ft)
    ring = ev_mod.geometry_to_lonlat(ring_ft, crs)
    if control_key is None or control_key == CITYWIDE:
        c_geom = city_geometry(ws)
        control_label = "Rest of the city (outside the target area and buffer)"
        if c_geom is None:
            raise UserError("The workspace has no city outline or districts, so there is no control area; import "
                            "the district boundaries or choose a control area.")
    else:
        cref = resolve_area(ws, control_key)
        if cref.geometry is None:
            raise UserError(f"The control area {cref.label} has no boundary; choose another control area.")
        c_geom = cref.geometry
        control_label = f"{cref.label} (outside the target area and buffer)"
    c_ft = ev_mod.geometry_to_feet(c_geom, crs).difference(outer_ft)
    control_geom = ev_mod.geometry_to_lonlat(c_ft, crs) if not c_ft.is_empty else None
    if control_geom is None or geo.area_sq_miles(control_geom) < 1e-6:
        raise UserError(f"The control area lies entirely inside the target area and its {buffer_ft:,.0f} ft buffer; "
                        "choose a control area farther away.")
    ev_mod.check_cancel(cancelled)
    counts = {}
    for k, (label, w) in enumerate((("before", w0), ("after", w1))):
        ev = ev_mod.select_events(ws, measure_id, w.start, w.end, catalog=catalog)
        # zones are disjoint by construction: a point is in A, else in B, else in C (or none)
        in_a = geo.contains(target_geom, ev.lon, ev.lat)
        in_b = ~in_a & geo.contains(ring, ev.lon, ev.lat)
        in_c = ~in_a & ~in_b & geo.contains(control_geom, ev.lon, ev.lat)
        counts[label] = tuple(float(ev.weights[m].sum()) for m in (in_a, in_b, in_c))
        counts[label + "_missing"] = ev.missing_xy
        ev_mod.check_cancel(cancelled)
        ev_mod.report(progress, 0.2 + 0.35 * (k + 1))
    a0, b0, c0 = counts["before"]
    a1, b1, c1 = counts["after"]
    fig = wdq_figures(a0, a1, b0, b1, c0, c1)
    verdict, text = interpret(a0, a1, b0, b1, c0, c1, fig, target_label if geometry is None else "the drawn area",
                              f"the {buffer_ft:,.0f} ft buffer")
    notes = []
    if w0.days != w1.days:
        notes.append(f"The periods differ only by February 29 ({w0.days} and {w1.days} days); they cover the same "
                     "calendar span.")
    missing = counts["before_missing"] + counts["after_missing"]
    if missing:
        notes.append(f"{missing:,} record(s) have no coordinates and are in no zone.")
    m = ev_mod.count_measure(ws, measure_id, catalog)[1]
    params = {"measure": m.id, "measure_label": m.label, "before": [str(w0.start), str(w0.end)],
              "after": [str(w1.start), str(w1.end)], "period_days": w0.days, "buffer_ft": float(buffer_ft),
              "target": target_label, "control": control_label, "target_key": area_key,
              "control_key": control_key or CITYWIDE, "method": WDQ_NOTE,
              "target_effect": fig["target_effect"], "buffer_effect": fig["buffer_effect"],
              "target_sq_mi": geo.area_sq_miles(target_geom), "buffer_sq_mi": geo.area_sq_miles(ring),
              "control_sq_mi": geo.area_sq_miles(control_geom)}
    ev_mod.report(progress, 1.0)
    return DisplacementResult(
        {"before": _num(a0), "after": _num(a1)}, {"before": _num(b0), "after": _num(b1)},
        {"before": _num(c0), "after": _num(c1)}, fig["wdq"], fig["success_measure"], fig["buffer_measure"],
        fig["total_net_effect"], text, (w0.start, w0.end), (w1.start, w1.end), float(buffer_ft), target_label,
        control_label, target_geom, ring, control_geom, verdict, params, notes)


def equal_periods_around(date, days: int) -> tuple[tuple, tuple]:
    """The ``days`` days before ``date`` and the ``days`` days from it: the usual before/after pair."""
    import datetime as dt

    d = ev_mod.to_date(date)
    return (d - dt.timedelta(days=days), d - dt.timedelta(days=1)), (d, d + dt.timedelta(days=days - 1))


__all__ = ["DisplacementResult", "displacement", "wdq_figures", "interpret", "equal_periods_around",
           "DEFAULT_BUFFER_FT", "WDQ_NOTE"]

"""Goal tracking: "a 20 percent reduction in firearm-related violent crime in the CSC by September 2018".

A goal is a measure, an area, a baseline window, a target % change and a deadline. Progress compares the rate since
the goal started (per day, so windows of different lengths compare) with the baseline's rate; the projection fits a
straight line through the monthly rates since the start and reads it at the deadline.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass

import numpy as np

from workstation.engine.analysis import analysis_for
from workstation.engine.areas import resolve_area
from workstation.core.errors import UserError
from workstation.engine.periods import Window, to_date
from workstation.formatting import whole_percent
from workstation.reports.rules import pct_change
from workstation.reports.table import ReportTable

GOALS_META_KEY = "goals"


@dataclass(frozen=True)
class Goal:
    name: str
    measure: str
    area_key: str
    baseline_start: _dt.date
    baseline_end: _dt.date
    target_change: float          # a fraction: -0.20 for a 20% reduction
    deadline: _dt.date
    start: _dt.date | None = None  # when the effort began; default: the day after the baseline ends

    @property
    def effective_start(self) -> _dt.date:
        return self.start or (self.baseline_end + _dt.timedelta(days=1))

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("baseline_start", "baseline_end", "deadline", "start"):
            d[k] = None if d[k] is None else d[k].isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Goal":
        name = d.get("name") or "goal"
        try:
            g = cls(name=name, measure=str(d["measure"]), area_key=str(d.get("area_key", "citywide")),
                    baseline_start=to_date(d["baseline_start"]), baseline_end=to_date(d["baseline_end"]),
                    target_change=float(d["target_change"]), deadline=to_date(d["deadline"]),
                    start=to_date(d["start"]) if d.get("start") else None)
        except KeyError as exc:
            raise UserError(f"goal '{name}': field '{exc.args[0]}' is missing.") from None
        except (TypeError, ValueError) as exc:
            raise UserError(f"goal '{name}': {exc}.") from None
        if g.baseline_end < g.baseline_start:
            raise UserError(f"goal '{name}': field 'baseline_end' is before 'baseline_start'.")
        if g.deadline < g.effective_start:
            raise UserError(f"goal '{name}': field 'deadline' is before the goal starts ({g.effective_start}).")
        return g


def goals_of(ws) -> list[Goal]:
    """Goals saved in the workspace (``ws.meta['goals']``: a list of Goal.to_json() dicts)."""
    return [Goal.from_json(d) for d in (ws.meta.get(GOALS_META_KEY) or [])]


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    baseline_count: float | None  # None: the baseline predates the records
    baseline_days: int
    count_since_start: float | None
    days_since_start: int
    change_so_far: float | None     # rate since start vs baseline rate, as a fraction
    progress: float | None          # change_so_far / target_change (1.0 = target met)
    projected_change: float | None  # straight-line projection of the rate at the deadline vs the baseline rate
    status: str
    # the level reached: the rate over the latest baseline-length window (a year for a one-year baseline) ending at the
    # as-of date or the deadline, vs the baseline rate. "A 20% reduction by September 2018" is judged on this.
    latest_change: float | None = None
    latest_days: int = 0
    # the status in words, with the figures it was judged on: "met at deadline (−27% vs −20% target)"
    status_text: str = ""


def _pct_text(fraction) -> str:
    p = whole_percent(fraction)
    return "–" if p is None else f"{p:+d}%".replace("-", "−").replace("+0%", "0%")


def goal_progress(ws, goal: Goal, as_of=None) -> GoalProgress:
    eng = analysis_for(ws)
    m = eng.catalog.get(goal.measure)
    ref = resolve_area(ws, goal.area_key)
    as_of = to_date(eng.default_as_of(as_of))
    base = Window("custom", goal.baseline_start, goal.baseline_end)
    if not eng.covers(m.dataset, base):
        # a baseline before the records begin is unknown, not zero: no change can be measured against it
        return GoalProgress(goal, None, base.days, None, 0, None, None, None, "baseline before the records begin")
    b = eng.count(m, ref, base)
    start = goal.effective_start
    end = min(as_of, goal.deadline)
    if end < start:
        return GoalProgress(goal, b, base.days, 0.0, 0, None, None, None, "not started")
    daily = eng.daily(m, ref, start, end)
    c = float(daily.sum())
    days = daily.size
    b_rate = b / base.days
    c_rate = c / days
    change = pct_change(c_rate, b_rate)
    latest_days = min(base.days, days)
    latest = pct_change(float(daily[-latest_days:].sum()) / latest_days, b_rate)
    # progress is the level reached (the latest change) over the target: the same figure the status is judged on
    # after the deadline, so "met" always comes with progress >= 100% and "missed" with less
    progress = None if latest is None or goal.target_change == 0 else latest / goal.target_change
    projected = _projected_change(daily, start, goal.deadline, b_rate)
    reduce = goal.target_change < 0

    def reaches(x: float) -> bool:
        return x <= goal.target_change if reduce else x >= goal.target_change

    target = _pct_text(goal.target_change)
    if change is None:
        status = text = "no baseline (zero count)"
    elif as_of >= goal.deadline:
        status = "met" if reaches(latest) else "missed"
        text = f"{status} at deadline ({_pct_text(latest)} vs {target} target)"
    else:
        judged = projected if projected is not None else latest
        status = "on track" if reaches(judged) else "behind"
        text = (f"{status} (projected {_pct_text(projected)} by {goal.deadline:%d %b %Y} vs {target} target)"
                if projected is not None else f"{status} ({_pct_text(latest)} so far vs {target} target)")
    return GoalProgress(goal, b, base.days, c, days, change, progress, projected, status, latest, latest_days, text)


def _projected_change(daily: np.ndarray, start: _dt.date, deadline: _dt.date, b_rate: float) -> float | None:
    """Least-squares line through the daily rate of each month since the start (partial months weighted by their
    days), read at the deadline; None with fewer than three months or a zero baseline."""
    if b_rate == 0:
        return None
    xs, ys, ws_ = [], [], []
    d0 = np.datetime64(start, "D")
    days = d0 + np.arange(daily.size)
    months = days.astype("datetime64[M]")
    for mth in np.unique(months):
        sel = months == mth
        mid = (days[sel][0] - d0).astype(int) + sel.sum() / 2.0
        xs.append(float(mid))
        ys.append(float(daily[sel].mean()))
        ws_.append(float(sel.sum()))
    if len(xs) < 3:
        return None
    slope, icpt = np.polyfit(np.array(xs), np.array(ys), 1, w=np.sqrt(np.array(ws_)))
    at = (np.datetime64(deadline, "D") - d0).astype(int)
    projected_rate = max(icpt + slope * float(at), 0.0)
    return projected_rate / b_rate - 1.0


def goal_table(ws, goals: list[Goal] | None = None, as_of=None) -> ReportTable:
    eng = analysis_for(ws)
    goals = goals_of(ws) if goals is None else goals
    as_of = to_date(eng.default_as_of(as_of))
    rows = []
    for g in goals:
        m = eng.catalog.get(g.measure)
        try:
            resolve_area(ws, g.area_key)
        except UserError:
            # the goal's area was removed or renamed since the goal was set: say so on its row rather than fail the
            # whole table (and with it the workbook's Summary)
            rows.append([g.name, m.label, g.area_key.split(":", 1)[-1],
                         f"{g.baseline_start:%Y-%m-%d} to {g.baseline_end:%Y-%m-%d}", None, g.target_change,
                         g.deadline, g.effective_start, None, None, None, None, None,
                         "area not in this workspace"])
            continue
        p = goal_progress(ws, g, as_of)
        rows.append([
            g.name, m.label, resolve_area(ws, g.area_key).label,
            f"{g.baseline_start:%Y-%m-%d} to {g.baseline_end:%Y-%m-%d}", p.baseline_count, g.target_change,
            g.deadline, g.effective_start, p.count_since_start, p.change_so_far, p.progress, p.latest_change,
            p.projected_change, p.status_text,
        ])
    notes = [
        f"As of {as_of:%B %d, %Y}. Change so far = (count since start / its days) against (baseline count / "
        "baseline days) − 1, so windows of different lengths compare.",
        "Progress = latest change / target change (100% = target reached): after the deadline a goal is met exactly "
        "when its progress is 100% or more. Projection: a straight line through the monthly daily rates since the "
        "start, read at the deadline (needs three months).",
        "Latest change: the rate over the last baseline-length window (e.g. the 12 months) ending at the as-of date or "
        "the deadline, against the baseline rate. After the deadline the goal is met when this latest change reaches "
        "the target; before it, 'on track' follows the projection.",
    ]
    return ReportTable(
        title="Goal tracking",
        columns=["Goal", "Measure", "Area", "Baseline", "Baseline count", "Target change", "Deadline", "Since",
                 "Count since start", "Change so far", "Progress to target", "Latest change",
                 "Projected change at deadline", "Status"],
        column_kinds=["label", "text", "text", "text", "count", "pct_change", "date", "date", "count", "pct_change",
                      "pct", "pct_change", "pct_change", "text"],
        rows=rows, direction="crime", notes=notes)

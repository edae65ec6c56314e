"""Near repeat: the Knox test as the Near Repeat Calculator (NRC) runs it, and this week's near-repeat risk.

Every unordered pair of events is put in one cell of a distance x time table:
- distance rows: "same location" (0 ft), then (0, s], (s, 2s], ..., ((k−1)s, ks], then "more than" ks;
- time columns (whole days between the two dates): [0, t], (t, 2t], ..., ((k−1)t, kt], then "more than" kt.
Distances are Euclidean (or Manhattan) in feet in the workspace's local projected CRS. The expected count of a cell is
the mean over Monte Carlo permutations of the dates among the events (the places stay put), and its p-value is
(1 + permutations with a count ≥ the observed) / (1 + permutations). A cell is highlighted, as in the NRC, when the
Knox ratio (observed / expected) is at least 1.2 and p ≤ 0.05.

Speed: the pairs within the largest distance band do not change under permutation, so they are found once (a KD-tree)
and sorted by distance row; a permutation then only re-bins their time differences, 32 permutations per vectorised
numpy pass on worker threads (PairCounter).
The "more than" distance row comes from the all-pairs table of time differences (an autocorrelation of the daily
histogram), which a permutation of the dates cannot change: more-than = all pairs − pairs within ks. 21,000 events
(1.3M pairs within 5 bands) with 999 permutations take about 7 s on 2 busy cores, a year of burglary with the Hot Spots
tab's 99 permutations well under a second (docs/spatial.md); the NRC struggles past 5–10k events.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workstation.core.errors import UserError
from workstation.reports.spatial import events as ev_mod

RATIO_FLAG = 1.2
P_FLAG = 0.05
DEFAULT_DISTANCE_FT = 400.0
DEFAULT_DISTANCE_BANDS = 5
DEFAULT_TIME_DAYS = 7
DEFAULT_TIME_BANDS = 4
DEFAULT_PERMUTATIONS = 999
DEFAULT_SEED = 2016
MAX_PAIRS = 25_000_000  # pairs within the largest band held at once (~0.5 GB while they are found)
CHUNK = 32  # permutations per counting pass over the pairs (cancel and progress are checked between passes)
KNOX_NOTE = ("Knox test (Near Repeat Calculator conventions): every pair of events is placed by its distance (same "
             "location, then distance bands, then 'more than') and the whole days between its two dates (time bands, "
             "then 'more than'); expected = mean over Monte Carlo permutations of the dates; p = (1 + permutations "
             "with a count ≥ observed) / (1 + permutations); highlighted where the Knox ratio ≥ 1.2 and p ≤ 0.05.")


# ----------------------------------------------------------------------------------------------- pair counting
PAIR_BLOCK = 1 << 16  # pairs per block of a counting pass: B permutations x 64k pairs of int16 = 4 MB per array


class PairCounter:
    """Counts, for B permutations of the dates at once, the pairs of each distance row whose dates are at most
    ``edges[c]`` days apart (the time columns' upper edges), as (B, rows, columns) tables of the pairs within the
    time bands; the caller derives the "more than" column from each row's pair total.

    The pairs are held sorted by distance row (then by their first event), so each row is one slice; a block of
    pairs is two gathers of the B rows of dates (events in spatial order, so partners' dates sit close in memory),
    one subtraction and one comparison per time band, each over a (B, block) int16 array. numpy releases the GIL in
    all of them, so chunks of permutations count in parallel on worker threads. Measured against the numba-compiled
    loop this replaced (docs/spatial.md): the same counts, as fast or faster, without a 170 MB compiler in the laptop
    build and without compiling on first use."""

    def __init__(self, first: np.ndarray, second: np.ndarray, row: np.ndarray, rows: int, edges: np.ndarray):
        by_row = np.lexsort((second, first, row))
        self.first = np.ascontiguousarray(first[by_row], dtype=np.int32)
        self.second = np.ascontiguousarray(second[by_row], dtype=np.int32)
        self.bounds = np.searchsorted(row[by_row], np.arange(rows + 1))
        self.rows = rows
        self.edges = [int(e) for e in edges]

    @property
    def pairs(self) -> int:
        return int(self.first.size)

    def count(self, days_rows: np.ndarray) -> np.ndarray:
        """(B, rows, columns) counts for the B sets of dates in the rows of ``days_rows`` (B, events)."""
        d = np.ascontiguousarray(days_rows)
        nb, ncol = d.shape[0], len(self.edges)
        within = np.zeros((nb, self.rows, ncol), dtype=np.int64)  # pairs at most edges[c] days apart
        close = np.empty((nb, min(PAIR_BLOCK, max(self.pairs, 1))), dtype=bool)
        for r in range(self.rows):
            for s in range(int(self.bounds[r]), int(self.bounds[r + 1]), PAIR_BLOCK):
                e = min(s + PAIR_BLOCK, int(self.bounds[r + 1]))
                diff = np.take(d, self.first[s:e], axis=1)
                np.subtract(diff, np.take(d, self.second[s:e], axis=1), out=diff)
                np.abs(diff, out=diff)
                c = close[:, : e - s]
                for k, edge in enumerate(self.edges):
                    np.less_equal(diff, edge, out=c)
                    within[:, r, k] += np.count_nonzero(c, axis=1)
        within[:, :, 1:] -= within[:, :, :-1].copy()  # cumulative "at most edge" counts -> one column per band
        return within


# ------------------------------------------------------------------------------------------------------ bands
def time_column_lut(max_diff: int, time_days: int, time_bands: int) -> np.ndarray:
    """Time column of every whole-day difference 0..max_diff: [0, t] → 0, (t, 2t] → 1, ..., > kt → k."""
    d = np.arange(max_diff + 1, dtype=np.int64)
    col = np.maximum(-(-d // time_days) - 1, 0)  # ceil(d / t) − 1, and 0 for d = 0
    return np.minimum(col, time_bands).astype(np.int32)


def distance_rows(dist: np.ndarray, distance_ft: float, distance_bands: int) -> np.ndarray:
    """Distance row of each distance: 0 for 0 ft, r for ((r−1)s, rs], k+1 beyond ks."""
    edges = distance_ft * np.arange(distance_bands + 1, dtype="float64")
    return np.searchsorted(edges, dist, side="left")


def _fmt_ft(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def distance_labels(distance_ft: float, distance_bands: int) -> list[str]:
    out = ["Same location"]
    for r in range(1, distance_bands + 1):
        out.append(f"{_fmt_ft((r - 1) * distance_ft)} to {_fmt_ft(r * distance_ft)} ft")
    out.append(f"More than {_fmt_ft(distance_bands * distance_ft)} ft")
    return out


def time_labels(time_days: int, time_bands: int) -> list[str]:
    out = [f"0 to {time_days} days"]
    for c in range(1, time_bands):
        out.append(f"{c * time_days + 1} to {(c + 1) * time_days} days")
    out.append(f"More than {time_bands * time_days} days")
    return out


def all_pairs_by_time(days: np.ndarray, lut: np.ndarray, ncol: int) -> np.ndarray:
    """Number of unordered pairs of events in each time column, over all pairs (no distance limit): the
    autocorrelation of the daily histogram, binned. Permuting the dates among the events does not change it."""
    from scipy import fft

    d = np.asarray(days, dtype=np.int64)
    if d.size < 2:
        return np.zeros(ncol, dtype=np.int64)
    h = np.bincount(d - d.min()).astype("float64")
    size = fft.next_fast_len(2 * h.size, real=True)
    spec = fft.rfft(h, size)
    ac = np.rint(fft.irfft(spec * np.conj(spec), size)[: h.size]).astype(np.int64)  # ac[k] = Σ h[x] h[x+k]
    ac[0] = (ac[0] - d.size) // 2  # same-day pairs: Σ h(h−1)/2
    return np.bincount(lut[: ac.size], weights=ac, minlength=ncol).astype(np.int64)


def spatial_pairs(x, y, max_ft: float, manhattan: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) of every unordered pair of events at most ``max_ft`` apart (KD-tree)."""
    from scipy.spatial import cKDTree

    pts = np.column_stack([np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")])
    if len(pts) < 2:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    tree = cKDTree(pts)
    # a hair over the limit so pairs exactly at it are not lost to the tree's rounding; bands are assigned below
    reach, p = max_ft * (1 + 1e-9) + 1e-9, 1.0 if manhattan else 2.0
    pairs_n = (int(tree.count_neighbors(tree, reach, p=p)) - len(pts)) // 2  # cheap count before listing them
    if pairs_n > MAX_PAIRS:
        _, same = np.unique(pts, axis=0, return_counts=True)
        where = (f"; {int(same.max()):,} of them share one location (a default geocode?)" if same.max() > 100
                 else "")
        raise UserError(f"{len(pts):,} events make {pairs_n:,} pairs within {max_ft:,.0f} ft, more than "
                        f"{MAX_PAIRS:,} can be tested at once{where}. Shorten the period, narrow the distance bands "
                        "or choose a smaller area.")
    pairs = tree.query_pairs(reach, p=p, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    dx = pts[i, 0] - pts[j, 0]
    dy = pts[i, 1] - pts[j, 1]
    dist = (np.abs(dx) + np.abs(dy)) if manhattan else np.hypot(dx, dy)
    return i, j, dist


def permuted_days(days: np.ndarray, permutations: int, seed: int, chunk: int = CHUNK):
    """The Monte Carlo permutations of the dates, ``chunk`` at a time, as (b, n) int32 arrays: permutation k is
    row k of the stream ``np.random.default_rng(seed).permutation(n)`` applied to the dates, in order."""
    rng = np.random.default_rng(seed)
    d = np.asarray(days, dtype=np.int32)
    done = 0
    while done < permutations:
        b = min(chunk, permutations - done)
        yield np.stack([d[rng.permutation(d.size)] for _ in range(b)])
        done += b


# -------------------------------------------------------------------------------------------------- the test
@dataclass
class KnoxResult:
    events: int
    permutations: int
    seed: int
    distance_ft: float
    distance_bands_n: int
    time_days: int
    time_bands_n: int
    manhattan: bool
    distance_bands: list[str]      # row labels (k + 2)
    time_bands: list[str]          # column labels (k + 1)
    observed: np.ndarray           # (rows, cols) int
    expected: np.ndarray           # (rows, cols) float
    knox_ratio: np.ndarray         # observed / expected, NaN where expected is 0
    p_value: np.ndarray
    pairs_within: int = 0          # spatial pairs within the largest distance band
    seconds: float = 0.0
    params: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def highlight(self) -> np.ndarray:
        """The NRC's highlighted cells: Knox ratio ≥ 1.2 and p ≤ 0.05."""
        with np.errstate(invalid="ignore"):
            return (np.nan_to_num(self.knox_ratio, nan=0.0) >= RATIO_FLAG) & (self.p_value <= P_FLAG)

    def risk_window(self) -> tuple[float | None, int | None]:
        """(distance ft, days) of the near-repeat risk: the outer edge of the farthest distance row and the latest
        time column with a highlighted cell (the "more than" row and column excluded); (None, None) when no cell
        within the bands is highlighted."""
        h = self.highlight[:-1, :-1]
        if not h.any():
            return None, None
        rows = np.flatnonzero(h.any(axis=1))
        cols = np.flatnonzero(h.any(axis=0))
        return float(rows.max() * self.distance_ft), int((cols.max() + 1) * self.time_days)

    def summary(self) -> str:
        dist, days = self.risk_window()
        if dist is None:
            return (f"No near-repeat pattern: no cell within {_fmt_ft(self.distance_bands_n * self.distance_ft)} ft "
                    f"and {self.time_bands_n * self.time_days} days has a Knox ratio ≥ {RATIO_FLAG} with "
                    f"p ≤ {P_FLAG} ({self.events:,} events, {self.permutations} permutations).")
        where = "at the same location" if dist == 0 else f"within {_fmt_ft(dist)} ft"
        return (f"Near-repeat pattern: after an event, more events than chance would give follow {where} for up to "
                f"{days} days ({self.events:,} events, {self.permutations} permutations).")

    def table(self) -> pd.DataFrame:
        """The Knox table as the NRC prints it: one row per distance band, observed / expected / ratio / p."""
        rows = []
        for r, dl in enumerate(self.distance_bands):
            for c, tl in enumerate(self.time_bands):
                rows.append({"distance": dl, "time": tl, "observed": int(self.observed[r, c]),
                             "expected": float(self.expected[r, c]), "knox_ratio": _opt(self.knox_ratio[r, c]),
                             "p_value": float(self.p_value[r, c]), "highlight": bool(self.highlight[r, c])})
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        dist, days = self.risk_window()
        return {
            "events": int(self.events), "permutations": int(self.permutations), "seed": int(self.seed),
            "distance_ft": float(self.distance_ft), "time_days": int(self.time_days), "manhattan": self.manhattan,
            "distance_bands": list(self.distance_bands), "time_bands": list(self.time_bands),
            "observed": [[int(v) for v in row] for row in self.observed],
            "expected": [[float(v) for v in row] for row in self.expected],
            "knox_ratio": [[_opt(v) for v in row] for row in self.knox_ratio],
            "p_value": [[float(v) for v in row] for row in self.p_value],
            "highlight": [[bool(v) for v in row] for row in self.highlight],
            "risk_distance_ft": dist, "risk_days": days, "summary": self.summary(),
            "pairs_within": int(self.pairs_within), "params": self.params, "notes": list(self.notes),
        }


def _opt(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _check_bands(distance_ft, distance_bands, time_days, time_bands, permutations) -> None:
    if not (distance_ft and math.isfinite(distance_ft) and distance_ft > 0):
        raise UserError(f"The distance band must be a positive number of feet (got {distance_ft}).")
    if int(distance_bands) != distance_bands or not 1 <= distance_bands <= 50:
        raise UserError(f"The number of distance bands must be a whole number from 1 to 50 (got {distance_bands}).")
    if int(time_days) != time_days or time_days < 1:
        raise UserError(f"The time band must be a whole number of days, at least 1 (got {time_days}).")
    if int(time_bands) != time_bands or not 1 <= time_bands <= 100:
        raise UserError(f"The number of time bands must be a whole number from 1 to 100 (got {time_bands}).")
    if int(permutations) != permutations or not 1 <= permutations <= 100_000:
        raise UserError(f"The number of permutations must be a whole number from 1 to 100,000 (got {permutations}); "
                        "the NRC's usual choices are 99, 999 and 9999.")


def knox_test(x, y, days, distance_ft: float = DEFAULT_DISTANCE_FT, distance_bands: int = DEFAULT_DISTANCE_BANDS,
              time_days: int = DEFAULT_TIME_DAYS, time_bands: int = DEFAULT_TIME_BANDS,
              permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED, manhattan: bool = False,
              progress=None, cancelled=None) -> KnoxResult:
    """The Knox table of events at (x, y) feet on day numbers ``days``."""
    t0 = time.perf_counter()
    _check_bands(distance_ft, distance_bands, time_days, time_bands, permutations)
    distance_bands, time_bands, permutations = int(distance_bands), int(time_bands), int(permutations)
    time_days = int(time_days)
    days = np.asarray(days, dtype=np.int64)
    n = days.size
    nrow, ncol = distance_bands + 2, time_bands + 1
    ev_mod.report(progress, 0.0)
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    reach = distance_bands * distance_ft
    # number the events in spatial order (by squares of the largest band): partners then have nearby numbers, so
    # their dates sit close together in memory during the counting passes
    if n:
        order = np.lexsort((np.floor((x - x.min()) / reach), np.floor((y - y.min()) / reach)))
    else:
        order = np.zeros(0, dtype=np.int64)
    i, j, dist = spatial_pairs(x[order], y[order], reach, manhattan)
    row = distance_rows(dist, distance_ft, distance_bands)
    keep = row <= distance_bands
    i, j, row = i[keep], j[keep], row[keep]
    counter = PairCounter(np.minimum(i, j), np.maximum(i, j), row, distance_bands + 1,
                          time_days * np.arange(1, time_bands + 1))
    row_pairs = np.bincount(row, minlength=distance_bands + 1).astype(np.int64)  # pairs per distance row: fixed
    days_in_order = days[order]
    base = int(days.min()) if n else 0
    span = int(days.max()) - base if n else 0
    totals = all_pairs_by_time(days, time_column_lut(span, time_days, time_bands), ncol)
    day_type = np.int16 if span <= np.iinfo(np.int16).max else np.int32
    ev_mod.check_cancel(cancelled)
    ev_mod.report(progress, 0.05)

    def table(days_rows: np.ndarray) -> np.ndarray:
        """(B, rows, cols) Knox tables of B sets of dates (one per row of ``days_rows``, events in spatial order)."""
        near = counter.count(np.asarray(days_rows, dtype=day_type))
        more_time = row_pairs[None, :] - near.sum(axis=2)
        near = np.concatenate([near, more_time[:, :, None]], axis=2)
        more_dist = totals[None, :] - near.sum(axis=1)
        return np.concatenate([near, more_dist[:, None, :]], axis=1)

    observed = table((days_in_order - base)[None, :])[0]
    total = np.zeros((nrow, ncol))
    ge = np.zeros((nrow, ncol), dtype=np.int64)
    done = 0
    # numpy releases the GIL while it counts: chunks count on worker threads while the next permutations are drawn
    workers = max(1, min(4, os.cpu_count() or 1))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        chunks = permuted_days(days - base, permutations, seed)
        while True:
            ev_mod.check_cancel(cancelled)
            while len(pending) < 2 * workers:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                pending.append(pool.submit(table, chunk[:, order]))
            if not pending:
                break
            t = pending.pop(0).result()
            total += t.sum(axis=0)
            ge += (t >= observed[None]).sum(axis=0)
            done += t.shape[0]
            ev_mod.report(progress, 0.05 + 0.95 * done / permutations)
    expected = total / permutations
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    p = (1.0 + ge) / (1.0 + permutations)
    res = KnoxResult(n, permutations, int(seed), float(distance_ft), distance_bands, time_days, time_bands,
                     bool(manhattan), distance_labels(distance_ft, distance_bands),
                     time_labels(time_days, time_bands), observed, expected, ratio, p, counter.pairs,
                     time.perf_counter() - t0)
    res.params = {"distance_ft": float(distance_ft), "distance_bands": distance_bands, "time_days": time_days,
                  "time_bands": time_bands, "permutations": permutations, "seed": int(seed),
                  "distance": "Manhattan" if manhattan else "Euclidean", "method": KNOX_NOTE}
    if n < 2:
        res.notes.append("Fewer than two events: there are no pairs to test.")
    ev_mod.report(progress, 1.0)
    return res


# ------------------------------------------------------------------------------------------- on a workspace
def near_repeat_analysis(ws, measure_id: str, start, end, area_key: str | None = None,
                         distance_ft: float = DEFAULT_DISTANCE_FT, distance_bands: int = DEFAULT_DISTANCE_BANDS,
                         time_days: int = DEFAULT_TIME_DAYS, time_bands: int = DEFAULT_TIME_BANDS,
                         permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED,
                         manhattan: bool = False, geometry=None, progress=None, cancelled=None,
                         catalog=None) -> KnoxResult:
    """The Knox test on the located events of ``measure_id`` from ``start`` to ``end`` in an area (or drawn
    boundary)."""
    _check_bands(distance_ft, distance_bands, time_days, time_bands, permutations)
    events = ev_mod.select_events(ws, measure_id, start, end, area_key, geometry, catalog)
    ev_mod.check_cancel(cancelled)
    res = knox_test(events.x_ft, events.y_ft, events.days, distance_ft, distance_bands, time_days, time_bands,
                    permutations, seed, manhattan, ev_mod.scaled(progress, 0.02, 1.0), cancelled)
    res.params.update({"measure": events.measure_id, "measure_label": events.measure_label,
                       "from": str(events.start), "to": str(events.end),
                       "area": area_key or ("drawn boundary" if geometry is not None else "citywide"),
                       "area_label": events.area_label, "missing_xy": int(events.missing_xy), "crs": events.crs})
    if events.missing_xy:
        res.notes.append(f"{events.missing_xy:,} record(s) have no coordinates and are not in the test.")
    return res


@dataclass
class NearRepeatRisk:
    as_of: dt.date
    days: int
    knox: KnoxResult
    risk_distance_ft: float | None
    risk_days: int | None
    events: pd.DataFrame       # id, date, address, district, lon, lat, window_end, days_left, nearby, nearby_count
    summary: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        ev = self.events.copy()
        for c in ("date", "window_end"):
            ev[c] = ev[c].astype(str)
        return {"as_of": str(self.as_of), "days": self.days, "risk_distance_ft": self.risk_distance_ft,
                "risk_days": self.risk_days, "summary": self.summary, "events": ev.to_dict(orient="records"),
                "knox": self.knox.to_json(), "params": self.params}


def address_points(ws, dataset: str, crs: str) -> pd.DataFrame:
    """Distinct addresses of the dataset's located records, each at the mean of its records' positions (feet)."""
    df = ws.frames.get(dataset)
    if df is None or "address" not in df or "lon" not in df:
        return pd.DataFrame({"address": [], "x_ft": [], "y_ft": []})
    sub = df.loc[df["address"].notna() & df["lon"].notna() & df["lat"].notna(), ["address", "lon", "lat"]]
    if sub.empty:
        return pd.DataFrame({"address": [], "x_ft": [], "y_ft": []})
    g = sub.groupby(sub["address"].astype(str), sort=True, observed=True)[["lon", "lat"]].mean()
    x, y = ev_mod.to_feet(crs, g["lon"].to_numpy(), g["lat"].to_numpy())
    return pd.DataFrame({"address": g.index.to_numpy(), "x_ft": x, "y_ft": y})


def near_repeat_risk(ws, measure_id: str, as_of=None, days: int = 7, area_key: str | None = None,
                     history_days: int = 365, distance_ft: float = DEFAULT_DISTANCE_FT,
                     distance_bands: int = DEFAULT_DISTANCE_BANDS, time_days: int = DEFAULT_TIME_DAYS,
                     time_bands: int = DEFAULT_TIME_BANDS, permutations: int = DEFAULT_PERMUTATIONS,
                     seed: int = DEFAULT_SEED, manhattan: bool = False, knox: KnoxResult | None = None,
                     geometry=None, max_nearby: int = 12, progress=None, cancelled=None,
                     catalog=None) -> NearRepeatRisk:
    """This week's near-repeat risk: the events of the last ``days`` days up to ``as_of`` whose near-repeat window
    is still open on ``as_of``. The window (distance and days) comes from the Knox test on the ``history_days``
    before ``as_of`` (or from ``knox``); each open event lists the addresses within the risky distance."""
    from workstation.engine.analysis import analysis_for
    from workstation.engine.periods import to_date

    if int(days) != days or days < 1:
        raise UserError(f"The number of recent days must be a whole number, at least 1 (got {days}).")
    as_of = to_date(analysis_for(ws).default_as_of(as_of))
    if knox is None:
        start = as_of - dt.timedelta(days=int(history_days) - 1)
        knox = near_repeat_analysis(ws, measure_id, start, as_of, area_key, distance_ft, distance_bands, time_days,
                                    time_bands, permutations, seed, manhattan, geometry,
                                    ev_mod.scaled(progress, 0.0, 0.9), cancelled, catalog)
    dist, window = knox.risk_window()
    recent = ev_mod.select_events(ws, measure_id, as_of - dt.timedelta(days=int(days) - 1), as_of, area_key,
                                  geometry, catalog)
    ev_mod.check_cancel(cancelled)
    cols = ["id", "date", "address", "district", "lon", "lat", "window_end", "days_left", "nearby", "nearby_count"]
    params = {"measure": recent.measure_id, "measure_label": recent.measure_label, "as_of": str(as_of),
              "recent_days": int(days), "history_days": int(history_days), "area_label": recent.area_label}
    if dist is None:
        ev_mod.report(progress, 1.0)
        summary = (f"No near-repeat window: the Knox test found no significant near-repeat pattern for "
                   f"{recent.measure_label.lower()}, so no event of the last {days} days raises its neighbours' risk.")
        return NearRepeatRisk(as_of, int(days), knox, None, None, pd.DataFrame(columns=cols), summary, params)
    base = ev_mod.days_since_epoch(as_of)
    end_day = recent.days + window
    open_ = end_day >= base
    sub = recent.subset(open_)
    addrs = address_points(ws, recent.dataset, recent.crs)
    nearby, counts = [], []
    radius = max(dist, 1.0)  # "same location": the block itself (addresses geocoded to the same point)
    if len(addrs) and len(sub):
        from scipy.spatial import cKDTree

        tree = cKDTree(addrs[["x_ft", "y_ft"]].to_numpy())
        for x, y in zip(sub.x_ft, sub.y_ft):
            hits = tree.query_ball_point([x, y], radius * (1 + 1e-9), p=1.0 if knox.manhattan else 2.0)
            hits = np.asarray(hits, dtype=np.int64)
            d = np.hypot(addrs["x_ft"].to_numpy()[hits] - x, addrs["y_ft"].to_numpy()[hits] - y)
            hits = hits[np.argsort(d, kind="stable")]
            counts.append(int(hits.size))
            nearby.append([str(a) for a in addrs["address"].to_numpy()[hits[:max_nearby]]])
    else:
        nearby = [[] for _ in range(len(sub))]
        counts = [0] * len(sub)
    ends = (sub.days + window).astype("datetime64[D]")
    out = pd.DataFrame({"id": sub.ids, "date": sub.dates, "address": sub.address if sub.address is not None
                        else [None] * len(sub), "district": sub.district if sub.district is not None
                        else [None] * len(sub), "lon": sub.lon, "lat": sub.lat, "window_end": ends,
                        "days_left": (sub.days + window - base).astype(int), "nearby": nearby,
                        "nearby_count": counts}, columns=cols)
    out = out.sort_values(["window_end", "date"], ascending=[False, False]).reset_index(drop=True)
    where = "at the same address" if dist == 0 else f"within {_fmt_ft(dist)} ft"
    events = "event" if len(recent) == 1 else "events"
    summary = (f"{len(out)} of the {len(recent)} {events} ({recent.measure_label}) of the last {days} days "
               f"(to {as_of:%b %d, %Y}) still have an open near-repeat window: the Knox test shows more events than "
               f"chance {where} for up to {window} days after each.")
    params.update({"risk_distance_ft": dist, "risk_days": window})
    ev_mod.report(progress, 1.0)
    return NearRepeatRisk(as_of, int(days), knox, dist, window, out, summary, params)

"""The weekly shoot review (the case study: Milwaukee's review of every shooting and homicide of the past seven days).

One row per shooting incident (the shootings dataset holds one row per victim: victims and fatal victims are counted
per incident) and per homicide offense whose incident is not already a shooting incident, in the ``days`` days ending
on the as-of date. Each row carries when and where, district, target area, victims, the shooting incidents within
``radius_m`` metres in the ``prior_days`` days before it, the people linked to it, and an impact score

    score = fatal × w_fatal + victims × w_victims + prior shootings × w_prior_shootings
            + repeat people × w_repeat_people + in a target area × w_target_area

whose weights come from the call, else the workspace (``meta['shoot_review_weights']``, saved from the Shoot Review
tab), else ``resources/shoot_review.json``. Distances are measured in a local equal-area projection (metres) with a
KD-tree over every shooting incident.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.engine import geometry as geo
from workstation.core.errors import UserError
from workstation.reports.table import ReportTable
from workstation.core.paths import RESOURCES

DEFAULTS_FILE = RESOURCES / "shoot_review.json"
META_KEY = "shoot_review_weights"
WEIGHT_FIELDS = ("fatal", "victims", "prior_shootings", "repeat_people", "target_area")
WEIGHT_LABELS = {"fatal": "fatal victims", "victims": "victims", "prior_shootings": "prior shootings",
                 "repeat_people": "repeat people", "target_area": "in a target area"}

COLUMNS = ["Incident", "Kind", "Date", "Time", "Address", "District", "Target area", "Victims", "Fatal", "Non-fatal",
           "Prior shootings", "People linked", "Repeat people", "Impact score"]
KINDS = ["label", "text", "date", "text", "text", "text", "text", "count", "count", "count", "count", "count", "count",
         "rate"]
NEAREST = "Nearest places"  # a column of its own when the workspace has place layers (reports.places)


# ---- weights --------------------------------------------------------------------------------------------------------
def check_weights(weights, source: str = "the shoot-review weights") -> dict[str, float]:
    """The five weights as floats; a UserError names the field when one is unknown, missing, not a number or
    negative."""
    if not isinstance(weights, dict):
        raise UserError(f"{_cap(source)} must be a set of named weights ({', '.join(WEIGHT_FIELDS)}).")
    unknown = [k for k in weights if k not in WEIGHT_FIELDS]
    if unknown:
        raise UserError(f"{_cap(source)}: '{unknown[0]}' is not a weight; the weights are "
                        f"{', '.join(WEIGHT_FIELDS)}.")
    out = {}
    for k in WEIGHT_FIELDS:
        if k not in weights:
            raise UserError(f"{_cap(source)}: the weight '{k}' is missing; give a number zero or more.")
        v = weights[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)) or v < 0:
            raise UserError(f"{_cap(source)}: the weight '{k}' must be a number zero or more (got {v!r}).")
        out[k] = float(v)
    return out


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def load_defaults(path: str | Path | None = None) -> dict:
    """The settings file (weights, radius_m, prior_days, days), checked; errors name the file and field."""
    p = Path(path) if path is not None else DEFAULTS_FILE
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"Could not read the shoot-review settings {p}: {exc.strerror or exc}.") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"The shoot-review settings {p.name} are not valid JSON: {exc.msg} at line "
                        f"{exc.lineno}.") from exc
    if not isinstance(doc, dict):
        raise UserError(f"The shoot-review settings {p.name} must be an object with a 'weights' entry.")
    out = {"weights": check_weights(doc.get("weights"), f"the weights in {p.name}")}
    for fld, default in (("radius_m", 400), ("prior_days", 365), ("days", 7)):
        v = doc.get(fld, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise UserError(f"The shoot-review settings {p.name}: '{fld}' must be a positive number (got {v!r}).")
        out[fld] = v
    return out


def default_weights(ws=None) -> dict[str, float]:
    """The workspace's saved weights when it has them, else the settings file's."""
    saved = (getattr(ws, "meta", None) or {}).get(META_KEY) if ws is not None else None
    if saved:
        return check_weights(saved, f"the workspace setting '{META_KEY}'")
    return load_defaults()["weights"]


def save_weights(ws, weights) -> dict[str, float]:
    """Keep ``weights`` as the workspace's own defaults (saved with the workspace)."""
    w = check_weights(weights)
    ws.meta[META_KEY] = w
    ws.changed("meta")
    return w


def formula_text(weights: dict[str, float]) -> str:
    parts = [f"{_num(weights[k])} × {WEIGHT_LABELS[k]}" for k in WEIGHT_FIELDS]
    return "Impact score = " + " + ".join(parts) + "."


def _num(v: float) -> str:
    return f"{v:g}"


# ---- the review -----------------------------------------------------------------------------------------------------
def review_window(ws, as_of=None, days: int = 7) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the ``days`` days ending on the as-of date (default: the newest record's date)."""
    if as_of is None:
        as_of = ws.as_of()
        if as_of is None:
            raise UserError("The workspace has no records yet: import shootings or offenses for a shoot review.")
    try:
        day = pd.Timestamp(as_of).normalize()
    except (TypeError, ValueError):
        raise UserError(f"The as-of date '{as_of}' is not a date; write it as YYYY-MM-DD.") from None
    days = int(days)
    if days < 1:
        raise UserError(f"The shoot review needs at least one day (got {days}).")
    end = day + pd.Timedelta(days=1)
    return end - pd.Timedelta(days=days), end


def _no_incidents() -> pd.DataFrame:
    """No incidents, with the column types real ones have: an untyped empty frame (object columns) cannot be
    compared with the review window's Timestamps (a workspace without shootings or homicides crashed the export)."""
    return pd.DataFrame({
        "incident_id": pd.Series([], dtype=object), "occurred": pd.Series([], dtype="datetime64[ns]"),
        "lat": pd.Series([], dtype="float64"), "lon": pd.Series([], dtype="float64"),
        "district": pd.Series([], dtype=object), "address": pd.Series([], dtype=object),
        "victims": pd.Series([], dtype="int64"), "fatal": pd.Series([], dtype="int64")})


def shooting_incidents(ws) -> pd.DataFrame:
    """The shootings dataset, one row per incident: first time, first known location, victims and fatal victims."""
    s = ws.frames["shootings"]
    if not len(s):
        return _no_incidents()
    g = s.assign(fatal=s["fatal"].astype(bool)).groupby("incident_id", sort=False, observed=True)
    out = g.agg(occurred=("occurred", "min"), lat=("lat", "first"), lon=("lon", "first"),
                district=("district", "first"), address=("address", "first"), victims=("record_id", "size"),
                fatal=("fatal", "sum")).reset_index()
    out["district"] = out["district"].astype(object)
    return out


def _homicide_incidents(ws, shooting_ids: set) -> pd.DataFrame:
    o = ws.frames["offenses"]
    h = o[o["category"] == "homicide"] if len(o) else o
    h = h[~h["incident_id"].isin(shooting_ids)] if len(h) else h
    if not len(h):
        return _no_incidents()
    # one homicide offense per victim (UCR counts homicides by victim)
    g = h.groupby("incident_id", sort=False, observed=True)
    out = g.agg(occurred=("occurred", "min"), lat=("lat", "first"), lon=("lon", "first"),
                district=("district", "first"), address=("address", "first"),
                victims=("record_id", "size")).reset_index()
    out["fatal"] = out["victims"]
    out["district"] = out["district"].astype(object)
    return out


def prior_shooting_counts(points_lon, points_lat, points_time, ref_lon, ref_lat, ref_time, ref_ids, point_ids,
                          radius_m: float, prior_days: float) -> np.ndarray:
    """For each reference point: shooting incidents within ``radius_m`` metres that happened in the ``prior_days``
    days before it (strictly earlier, never itself). NaN where the reference point has no coordinates."""
    from scipy.spatial import cKDTree

    ref_lon = np.asarray(ref_lon, dtype="float64")
    ref_lat = np.asarray(ref_lat, dtype="float64")
    out = np.full(ref_lon.shape, np.nan)
    ok_ref = np.isfinite(ref_lon) & np.isfinite(ref_lat)
    p_lon = np.asarray(points_lon, dtype="float64")
    p_lat = np.asarray(points_lat, dtype="float64")
    ok_pts = np.isfinite(p_lon) & np.isfinite(p_lat)
    if not ok_ref.any():
        return out
    out[ok_ref] = 0
    if not ok_pts.any():
        return out
    crs = geo.local_equal_area_crs(float(np.mean(ref_lon[ok_ref])), float(np.mean(ref_lat[ok_ref])))
    px, py = geo.from_wgs84(p_lon[ok_pts], p_lat[ok_pts], crs)
    rx, ry = geo.from_wgs84(ref_lon[ok_ref], ref_lat[ok_ref], crs)
    p_time = np.asarray(points_time, dtype="datetime64[ns]")[ok_pts]
    p_ids = np.asarray(point_ids, dtype=object)[ok_pts]
    r_time = np.asarray(ref_time, dtype="datetime64[ns]")[ok_ref]
    r_ids = np.asarray(ref_ids, dtype=object)[ok_ref]
    tree = cKDTree(np.column_stack([px, py]))
    # a hair over the radius: a point placed exactly on the circle must not fall out through rounding
    neighbours = tree.query_ball_point(np.column_stack([rx, ry]), r=float(radius_m) * (1 + 1e-9))
    span = np.timedelta64(int(round(float(prior_days) * 86400)), "s")
    counts = np.zeros(len(rx), dtype=np.int64)
    for i, idx in enumerate(neighbours):
        if not idx:
            continue
        idx = np.asarray(idx, dtype=np.intp)
        t = p_time[idx]
        hit = (t < r_time[i]) & (t >= r_time[i] - span) & (p_ids[idx] != r_ids[i])
        counts[i] = int(hit.sum())
    out[ok_ref] = counts
    return out


def shoot_review_frame(ws, as_of=None, days: int = 7, radius_m: float = 400, prior_days: float = 365,
                       weights=None) -> pd.DataFrame:
    """The review as a DataFrame (columns as the report's, plus lat/lon), highest impact score first."""
    w = check_weights(weights) if weights is not None else default_weights(ws)
    if not (isinstance(radius_m, (int, float)) and radius_m > 0):
        raise UserError(f"The shoot-review radius must be a positive number of metres (got {radius_m!r}).")
    if not (isinstance(prior_days, (int, float)) and prior_days > 0):
        raise UserError(f"The shoot-review prior period must be a positive number of days (got {prior_days!r}).")
    start, end = review_window(ws, as_of, days)
    shots = shooting_incidents(ws)
    shots["kind"] = "Shooting"
    homs = _homicide_incidents(ws, set(shots["incident_id"]))
    homs["kind"] = "Homicide"
    parts = [f for f in (shots, homs) if len(f)]
    inc = pd.concat(parts, ignore_index=True) if parts else shots
    inc = inc[(inc["occurred"] >= start) & (inc["occurred"] < end)].reset_index(drop=True)
    inc.loc[(inc["kind"] == "Shooting") & (inc["fatal"] > 0), "kind"] = "Fatal shooting"

    prior = prior_shooting_counts(shots["lon"], shots["lat"], shots["occurred"], inc["lon"], inc["lat"],
                                  inc["occurred"], inc["incident_id"], shots["incident_id"], radius_m, prior_days)
    ta = ws.target_areas
    where = geo.assign([a.geometry for a in ta], inc["lon"], inc["lat"]) if ta else np.full(len(inc), -1)
    target = [ta[i].name if i >= 0 else "" for i in where]

    linked, repeat = _people_counts(ws, inc["incident_id"], end)
    victims = inc["victims"].to_numpy(dtype="int64")
    fatal = inc["fatal"].to_numpy(dtype="int64")
    in_ta = (where >= 0).astype("int64")
    score = (w["fatal"] * fatal + w["victims"] * victims + w["prior_shootings"] * np.nan_to_num(prior)
             + w["repeat_people"] * repeat + w["target_area"] * in_ta)
    occurred = pd.to_datetime(inc["occurred"])
    out = pd.DataFrame({
        "Incident": inc["incident_id"].astype(str).to_numpy(),
        "Kind": inc["kind"].to_numpy(),
        "Date": occurred.dt.normalize().to_numpy(),
        "Time": occurred.dt.strftime("%H:%M").to_numpy(),
        "Address": inc["address"].astype(object).where(inc["address"].notna(), "").to_numpy(),
        "District": [_district_text(d) for d in inc["district"]],
        "Target area": target,
        "Victims": victims,
        "Fatal": fatal,
        "Non-fatal": victims - fatal,
        "Prior shootings": pd.array([None if np.isnan(p) else int(p) for p in prior], dtype="Int64"),
        "People linked": linked,
        "Repeat people": repeat,
        "Impact score": np.round(score, 6),
        "lat": inc["lat"].to_numpy(dtype="float64"),
        "lon": inc["lon"].to_numpy(dtype="float64"),
        "occurred": occurred.to_numpy(),
    })
    from workstation.reports.places import nearest_places_text, place_layers

    if place_layers(ws):  # reference layers loaded: each incident's nearest premises, stop, ... with distances
        out.insert(out.columns.get_loc("Impact score") + 1, NEAREST,
                   nearest_places_text(ws, out["lon"].to_numpy(), out["lat"].to_numpy()))
    out = out.sort_values(["Impact score", "occurred"], ascending=[False, False], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(weights=w, start=start, end=end, days=int(days), radius_m=radius_m, prior_days=prior_days)
    return out


def _district_text(d) -> str:
    if d is None or (isinstance(d, float) and math.isnan(d)) or d is pd.NA:
        return ""
    from workstation.engine.areas import district_key, district_label

    key = district_key(d)
    return district_label(key) if key else str(d)


def _people_counts(ws, incident_ids, end) -> tuple[np.ndarray, np.ndarray]:
    """Per incident: distinct people linked, and how many of them are linked to another incident dated before the
    review's end (or undated)."""
    p = ws.frames["people"]
    n = len(incident_ids)
    if not len(p) or not n:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    if "occurred" in p:
        p = p[p["occurred"].isna() | (p["occurred"] < end)]
    links = p[["incident_id", "person_id"]].astype(str).drop_duplicates()
    per_person = links.groupby("person_id")["incident_id"].nunique()
    repeaters = set(per_person.index[per_person.to_numpy() > 1])
    ids = pd.Series(incident_ids, dtype=object).astype(str)
    mine = links[links["incident_id"].isin(set(ids))]
    mine = mine.assign(repeat=mine["person_id"].isin(repeaters))
    g = mine.groupby("incident_id")
    linked = g["person_id"].nunique().reindex(ids).fillna(0).to_numpy(dtype="int64")
    repeat = g["repeat"].sum().reindex(ids).fillna(0).to_numpy(dtype="int64")
    return linked, repeat


def shoot_review(ws, as_of=None, days: int = 7, radius_m: float = 400, prior_days: float = 365,
                 weights=None) -> ReportTable:
    """The shoot review as a ReportTable, highest impact score first; its notes state the formula with the weights
    used, the window, the radius and period of prior shootings, and what a blank means."""
    df = shoot_review_frame(ws, as_of, days, radius_m, prior_days, weights)
    a = df.attrs
    last = a["end"] - pd.Timedelta(days=1)
    columns, kinds = list(COLUMNS), list(KINDS)
    if NEAREST in df:
        columns.append(NEAREST)
        kinds.append("text")
    rows = []
    for rec in df[columns].itertuples(index=False):
        r = list(rec)
        r[2] = pd.Timestamp(r[2]).date()
        r[10] = None if pd.isna(r[10]) else int(r[10])
        r[7:10] = [int(x) for x in r[7:10]]
        r[11], r[12] = int(r[11]), int(r[12])
        r[13] = float(r[13])
        rows.append(r)
    notes = [
        formula_text(a["weights"]),
        f"Every shooting incident and every homicide not already a shooting incident from {a['start']:%Y-%m-%d} "
        f"through {last:%Y-%m-%d} ({a['days']} days), highest score first. Victims are counted per incident "
        "(the shootings dataset has one row per victim; a homicide incident counts one victim per homicide offense).",
        f"Prior shootings: shooting incidents within {_num(float(a['radius_m']))} m in the "
        f"{_num(float(a['prior_days']))} days before each incident (measured in a local equal-area projection).",
        "People linked: distinct people linked to the incident in the people dataset; repeat people: those of them "
        "also linked to another incident.",
        "Target area: the official target area the location falls in (blank when outside every target area).",
    ]
    if df["Prior shootings"].isna().any():
        notes.append("Prior shootings are blank for incidents without coordinates (they cannot be placed); such "
                     "incidents score nothing for prior shootings or a target area.")
    if not len(df):
        notes.append("No shootings or homicides in these days.")
    if NEAREST in df:
        notes.append("Nearest places: the nearest feature of each place layer (points such as premises and bus stops, "
                     "and lines such as bus routes) and its distance, in a local equal-area projection.")
    return ReportTable(f"Shoot review — {a['start']:%d %b} – {last:%d %b %Y}", columns, kinds, rows,
                       notes=notes)


__all__ = ["shoot_review", "shoot_review_frame", "shooting_incidents", "prior_shooting_counts", "check_weights",
           "load_defaults", "default_weights", "save_weights", "formula_text", "review_window", "WEIGHT_FIELDS",
           "META_KEY"]

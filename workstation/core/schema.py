"""Canonical record sets and categories: the one vocabulary every other module speaks.

Every dataset shares the columns ``record_id`` (unique within the dataset), ``incident_id`` (the source system's
id; the merge key: a newer load replaces every record of the same incident), ``occurred`` (local naive datetime),
``lat``/``lon`` (WGS84 degrees, NaN when unknown), ``district`` (normalised key such as "1", missing when unknown)
and ``load_id`` (the import-log entry that brought the record in).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# --- UCR Part I, in hierarchy order (summary counting keeps the first one an incident has; arson is exempt) ---------
PART1_VIOLENT = ("homicide", "rape", "robbery", "aggravated_assault")
PART1_PROPERTY = ("burglary", "larceny_theft", "motor_vehicle_theft", "arson")
PART1 = PART1_VIOLENT + PART1_PROPERTY
HIERARCHY = ("homicide", "rape", "robbery", "aggravated_assault", "burglary", "larceny_theft", "motor_vehicle_theft")
HIERARCHY_EXEMPT = ("arson",)

# Offense categories outside Part I that real exports carry; they are kept (never dropped) but are not Part I.
NON_PART1 = (
    "negligent_manslaughter", "simple_assault", "sex_offense_other", "criminal_damage", "fraud", "drug",
    "weapons", "disorder", "other",
)
OFFENSE_CATEGORIES = PART1 + NON_PART1

CATEGORY_LABELS = {
    "homicide": "Homicide",
    "rape": "Rape",
    "robbery": "Robbery",
    "aggravated_assault": "Aggravated Assault",
    "burglary": "Burglary",
    "larceny_theft": "Theft",
    "motor_vehicle_theft": "Auto Theft",
    "arson": "Arson",
    "negligent_manslaughter": "Negligent Manslaughter",
    "simple_assault": "Simple Assault",
    "sex_offense_other": "Other Sex Offense",
    "criminal_damage": "Criminal Damage",
    "fraud": "Fraud",
    "drug": "Drug Offense",
    "weapons": "Weapons Offense",
    "disorder": "Disorder",
    "other": "Other",
}

# Calls for service / sensor events.
CALL_CATEGORIES = ("shotspotter", "disorder", "priority", "other")

# Activity types (agency work) in the case study's words.
ACTIVITY_CATEGORIES = (
    "arrest", "firearm_arrest", "gun_recovery", "search_warrant", "drug_seizure", "nibin_lead", "traffic_stop",
    "subject_stop", "business_check", "probation_parole_check", "park_and_walk", "citizen_contact",
    "community_event", "community_meeting", "citizen_complaint", "use_of_force", "other",
)
AGENCIES = ("MPD", "FBI", "ATF", "DEA", "USMS", "DA", "USAO")

PEOPLE_ROLES = ("arrestee", "suspect", "victim", "witness", "other")

CLEARANCE_TYPES = ("arrest", "exceptional")
EXCEPTIONAL_CODES = {
    "A": "Death of offender",
    "B": "Prosecution declined",
    "C": "In custody of other jurisdiction",
    "D": "Victim refused to cooperate",
    "E": "Juvenile, no custody",
}

UNKNOWN_DISTRICT = "Unknown"


# Text fields with few distinct values (source codes, call types, priorities, statuses, units) are categoricals: one
# small integer per row instead of the text (issue 14: ~35 MB less per million calls). Ids and addresses stay text.
@dataclass(frozen=True)
class Field:
    name: str
    dtype: str  # "str" | "category" | "datetime" | "float" | "int" | "bool"
    required: bool = False
    description: str = ""


_COMMON_HEAD = (
    Field("record_id", "str", True, "unique key of the record within its dataset"),
    Field("incident_id", "str", True, "source system's incident/case id; the merge key across loads"),
    Field("occurred", "datetime", True, "when it happened (local time)"),
)
_LOCATION = (
    Field("lat", "float", False, "latitude, WGS84 degrees"),
    Field("lon", "float", False, "longitude, WGS84 degrees"),
    Field("district", "category", False, "district key as the source reports it, normalised ('01' -> '1')"),
    Field("address", "str", False, "block address or location text"),
)
_TAIL = (Field("load_id", "int", True, "import-log entry that brought the record in"),)

DATASETS: dict[str, tuple[Field, ...]] = {
    "offenses": _COMMON_HEAD + (
        Field("reported", "datetime", False, "when it was reported"),
        Field("category", "category", True, "canonical offense category (see OFFENSE_CATEGORIES)"),
        Field("offense_code", "category", False, "the source's own offense value, kept for audit"),
        Field("firearm", "bool", False, "a firearm was used"),
        Field("carjacking", "bool", False, "robbery of a motor vehicle from a person"),
    ) + _LOCATION + (
        Field("cleared", "bool", False, "cleared by arrest or exceptional means"),
        Field("cleared_date", "datetime", False, "date of clearance"),
        Field("clearance_type", "category", False, "'arrest' or 'exceptional'"),
        Field("exceptional_code", "category", False, "NIBRS exceptional clearance code A-E"),
    ) + _TAIL,
    # One row per victim (the NPF definition counts victims and incidents separately: incidents = unique ids).
    "shootings": _COMMON_HEAD + (
        Field("fatal", "bool", True, "the victim died"),
    ) + _LOCATION + (
        Field("cleared", "bool", False, "the case is cleared"),
        Field("cleared_date", "datetime", False, "date of clearance"),
    ) + _TAIL,
    "calls": _COMMON_HEAD + (
        Field("category", "category", True, "shotspotter | disorder | priority | other"),
        Field("call_type", "category", False, "the source's own call type"),
        Field("priority", "category", False, "dispatch priority as the source gives it"),
        Field("status", "category", False, "the last status the call reached (a feed lists a call once per status)"),
        Field("statuses", "category", False, "every status the call passed through, in order, joined with ' > '"),
    ) + _LOCATION + _TAIL,
    "activity": _COMMON_HEAD + (
        Field("agency", "category", True, "MPD, FBI, ATF, DEA, USMS, DA, USAO, ..."),
        Field("category", "category", True, "activity type (see ACTIVITY_CATEGORIES)"),
        Field("count", "int", False, "how many (default 1)"),
        Field("quantity", "float", False, "drug seizure quantity"),
        Field("unit", "category", False, "unit of quantity"),
        Field("target_area", "str", False, "target area the activity was credited to, when it has no location"),
    ) + _LOCATION + _TAIL,
    "people": (
        Field("record_id", "str", True, "unique key of the link"),
        Field("incident_id", "str", True, "incident the person is linked to"),
        Field("person_id", "str", True, "stable pseudonymous person id"),
        Field("role", "category", True, "arrestee | suspect | victim | witness | other"),
        Field("occurred", "datetime", False, "date of the incident, when known"),
        Field("load_id", "int", True, "import-log entry that brought the record in"),
    ),
}

DATASET_KINDS = tuple(DATASETS)
AREA_KINDS = ("districts", "target_areas", "city")


def columns(kind: str) -> list[str]:
    return [f.name for f in DATASETS[kind]]


def empty_frame(kind: str):
    """An empty DataFrame with the canonical columns and dtypes of ``kind``."""
    import pandas as pd

    return conform(pd.DataFrame({f.name: [] for f in DATASETS[kind]}), kind)


_EMPTY_DTYPES = {"datetime": "datetime64[ns]", "float": "float64", "bool": bool}
_EMPTY_VALUES = {"datetime": "NaT", "float": float("nan"), "bool": False}


def conform(df, kind: str):
    """Return ``df`` with exactly the canonical columns of ``kind``, in order, with canonical dtypes.

    Missing optional columns are added empty. Bool columns hold False for unknown; datetime columns are
    datetime64[ns] (NaT for missing); category columns are pandas Categoricals of strings; str columns are pandas'
    string dtype; missing stays missing (NaN).
    """
    import numpy as np
    import pandas as pd

    out = {}
    n = len(df)
    for f in DATASETS[kind]:
        if f.name in df.columns:
            s = df[f.name]
        elif f.dtype in _EMPTY_DTYPES:
            # a missing optional column: build it already typed (converting a column of Nones costs ~0.1 s per 1M)
            s = pd.Series(np.full(n, _EMPTY_VALUES[f.dtype], dtype=_EMPTY_DTYPES[f.dtype]), index=df.index)
        elif f.dtype == "category":
            s = pd.Series(pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), pd.Index([], dtype="str")),
                          index=df.index)
        elif f.dtype == "str":
            s = pd.Series(np.full(n, np.nan), index=df.index).astype("str")
        elif f.dtype == "int":
            s = pd.Series(np.full(n, 1 if f.name == "count" else 0, dtype="int64"), index=df.index)
        else:
            s = pd.Series([None] * n, index=df.index, dtype=object)
        if f.dtype == "datetime":
            s = pd.to_datetime(s, errors="coerce")
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_localize(None)
            if s.dtype != "datetime64[ns]":
                s = s.astype("datetime64[ns]")
        elif f.dtype == "float":
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif f.dtype == "int":
            s = pd.to_numeric(s, errors="coerce")
            default = 1 if f.name == "count" else 0
            s = s.fillna(default).astype("int64")
        elif f.dtype == "bool":
            if s.dtype != bool:
                # importers parse flags ("Y", "1", "TRUE") themselves; here only missing becomes False
                s = s.astype(object).where(s.notna(), False).astype(bool)
        elif f.dtype == "category":
            if not isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype("str").astype("category")
            elif s.cat.categories.dtype != "str":  # e.g. an empty categorical read back from Parquet
                s = pd.Series(pd.Categorical.from_codes(s.cat.codes, s.cat.categories.astype("str")), index=s.index)
        else:  # str: pandas' string dtype, missing stays missing (NaN)
            if s.dtype != "str":
                s = s.astype("str")
        out[f.name] = s.to_numpy() if f.dtype in ("float", "int") else s
    res = pd.DataFrame(out, index=df.index).reset_index(drop=True)
    if n and "lat" in res:
        bad = ~(np.isfinite(res["lat"]) & np.isfinite(res["lon"]))
        if bad.any():
            res.loc[bad, ["lat", "lon"]] = np.nan
    return res


# "District 7", "Dist. 07", "D-7", "Precinct 007", "7th District" and "#7" all name district 7: real files write a
# district code every one of these ways (records, boundary files, what an analyst types after --area).
_DISTRICT_WORDS = re.compile(
    r"^(?:(?:police\s+)?(?:district|dist|precinct|pct|d)\.?\s*(?:no\.?|number|#)?\s*[-#:]?\s*|#\s*)?"
    r"0*(\d+)(?:\s*(?:st|nd|rd|th))?(?:\s+(?:police\s+)?(?:district|precinct))?$", re.IGNORECASE)


def normalise_district(value) -> str | None:
    """'01', '1', '001', 1.0, ' 1 ', 'District 1' and 'Precinct 001' are all district '1'; blank or 'unknown' is None;
    other text is kept as written (stripped)."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
    s = str(value).strip()
    if not s or s.lower() in ("nan", "none", "null", "unknown", "unk", "n/a", "na"):
        return None
    if s.isdigit():
        return str(int(s))
    m = _DISTRICT_WORDS.match(s)
    if m:
        return str(int(m.group(1)))
    try:
        f = float(s)
        if f.is_integer():
            return str(int(f))
    except ValueError:
        pass
    return s

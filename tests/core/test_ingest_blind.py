"""Blind check (issue 9): a real export changed only in ways real exports vary must give the same figures.

Chicago, Philadelphia and NYPD shootings are each imported as published, then again with the columns in another
order, the header in another case, the district codes padded or unpadded, CRLF against LF, as an xlsx workbook
(text cells, and the cells typed as Excel types them), and as a copy without its header row (imported with the
positional profile an analyst builds in the wizard). Every variant must give the same fingerprint: rows read,
accepted and rejected (by reason), records, incidents, records by category, by district (through the counting engine,
as the reports see them), located records, first and last dates and the flags.
"""
import numpy as np
import pandas as pd
import pytest

from tests.conftest import REAL_DATA
from workstation.core.workspace import Workspace
from workstation.engine.analysis import analysis_for
from workstation.ingest import Profile, detect_profile, import_files
from workstation.ingest.profiles import resolve_column

pytestmark = pytest.mark.skipif(not REAL_DATA.is_dir(), reason="shared real data not present")

CASES = {  # file -> (kind, its district column)
    "chi_crimes_2014-02-28_2014-03-15.csv": ("offenses", "District"),
    # the extract an analyst downloads for robbery, burglary, theft, vehicle theft, damage and drugs: FBI codes
    # that are digits only (03, 05, 06, 07, 14, 18), so a reader that guesses types takes them for numbers
    "chi_crimes_2014-02-28_2014-03-15.csv|digit codes": ("offenses", "District"),
    "phl_incidents_2024-12-31_2025-01-21.csv": ("offenses", "dc_dist"),
    "nyc_shootings_2006-2020.csv": ("shootings", "PRECINCT"),
}


def read_raw(path) -> pd.DataFrame:
    """The file exactly as text (blank cells stay blank strings), BOM removed."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def source(tmp_path, name):
    """The real file, or the real file's digit-code extract written as the portal writes it."""
    file, _, extract = name.partition("|")
    if not extract:
        return REAL_DATA / file
    raw = read_raw(REAL_DATA / file)
    sub = raw[raw["FBI Code"].isin(["03", "05", "06", "07", "14", "18"])]
    return write_csv(sub, tmp_path / "extract.csv", crlf=True)


def write_csv(df, path, header=True, crlf=False):
    df.to_csv(path, index=False, header=header, lineterminator="\r\n" if crlf else "\n")
    return path


def write_xlsx(df, path, typed: bool):
    """A workbook of the same rows: all text cells, or typed as Excel types a CSV it opens (numbers become numbers,
    leading zeros gone)."""
    out = df.copy()
    if typed:
        for c in out.columns:
            nums = pd.to_numeric(out[c].where(out[c] != ""), errors="coerce")
            filled = out[c] != ""
            if filled.any() and nums[filled].notna().all() and (nums[filled].abs() < 2**53).all():
                out[c] = nums.astype(object).where(filled, None)
                out[c] = [None if v is None else (int(v) if float(v).is_integer() else float(v)) for v in out[c]]
        out = out.replace("", None)
    out.to_excel(path, index=False)
    return path


def positional(profile: Profile, header: list) -> Profile:
    """The same profile reading columns by position, for a copy saved without its header row."""
    def pos(spec):
        got = resolve_column(header, spec)
        if got is None:
            return None
        idx = [header.index(g) for g in got]
        return idx if isinstance(spec, list) else idx[0]

    cols = {k: pos(v) for k, v in profile.columns.items()}
    flags = {k: {**v, "column": pos(v["column"])} for k, v in profile.flags.items()}
    return Profile.from_dict({**profile.to_dict(), "name": profile.name, "header": False, "match": {},
                              "columns": {k: v for k, v in cols.items() if v is not None},
                              "flags": {k: v for k, v in flags.items() if v["column"] is not None}})


def fingerprint(path, kind, profile=None) -> dict:
    ws = Workspace()
    res = import_files(ws, kind, [path], profile=profile)
    f = ws.frame(kind)
    an = analysis_for(ws)
    by_district = {a.name: int(an.membership_mask(kind, f"district:{a.name}").sum()) for a in ws.districts}
    flags = {c: int(f[c].sum()) for c in ("firearm", "carjacking", "cleared", "fatal") if c in f}
    return {
        "rows_read": res.rows_read, "accepted": res.accepted, "rejected_by_reason": res.rejected_by_reason,
        "duplicates": res.duplicates_dropped, "records": len(f), "incidents": int(f["incident_id"].nunique()),
        "by_category": res.by_category, "district_column": f["district"].astype(str).value_counts().to_dict(),
        "by_district": by_district, "located": int(f["lat"].notna().sum()),
        "lat_sum": round(float(np.nansum(f["lat"])), 6), "first": f["occurred"].min(), "last": f["occurred"].max(),
        "flags": flags,
    }


@pytest.mark.parametrize("name", list(CASES))
def test_counts_do_not_move_with_what_exports_vary(tmp_path, name):
    kind, dcol = CASES[name]
    src = source(tmp_path, name)
    base = fingerprint(src, kind)
    raw = read_raw(src)
    assert base["rows_read"] == len(raw) and base["records"] > 0 and len(base["by_district"]) > 5
    prof = detect_profile(list(raw.columns), kind)
    codes = raw[dcol]
    numeric = codes.str.fullmatch(r"\d+")
    variants = {
        "reordered": raw[list(reversed(raw.columns))],
        "upper_header": raw.rename(columns=str.upper),
        "lower_header": raw.rename(columns=str.lower),
        "unpadded_codes": raw.assign(**{dcol: codes.where(~numeric, codes.str.lstrip("0").replace("", "0"))}),
        "padded_codes": raw.assign(**{dcol: codes.where(~numeric, codes.str.zfill(3))}),
    }
    for label, df in variants.items():
        for crlf in (False, True):
            got = fingerprint(write_csv(df, tmp_path / f"{label}_{crlf}.csv", crlf=crlf), kind)
            assert got == base, (label, crlf)
    for typed in (False, True):
        got = fingerprint(write_xlsx(raw, tmp_path / f"book_{typed}.xlsx", typed), kind)
        assert got == base, ("xlsx", typed)
    headerless = write_csv(raw, tmp_path / "no_header.csv", header=False, crlf=True)
    assert fingerprint(headerless, kind, positional(prof, list(raw.columns))) == base

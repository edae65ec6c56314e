"""`python main.py export --workspace W.psw --as-of YYYY-MM-DD [--area NAME]... [--scenario NAME] --out OUT.xlsx
[--pdf OUT.pdf]`: the workbook, the meeting packet or both (--out, --pdf or both; at least one)."""
from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

from workstation.engine import areas as area_mod
from workstation.core.errors import UserError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str, flag: str, example: str = "2019-09-29") -> dt.date:
    """A calendar date written YYYY-MM-DD, for the option ``flag``; anything else is a sentence naming the option."""
    s = str(text).strip()
    try:
        if not _ISO_DATE.match(s):
            raise ValueError(s)
        return dt.date.fromisoformat(s)
    except ValueError:
        raise UserError(f"{flag} '{text}' is not a date: write it as YYYY-MM-DD, for example {example}.") from None


def parse_as_of(text: str | None) -> dt.date | None:
    """--as-of: a calendar date written YYYY-MM-DD, or nothing (the newest record's date)."""
    if text is None or not str(text).strip():
        return None
    return parse_date(text, "--as-of")


_HISTORY = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*:\s*(\d{4})\s*$")


def parse_history(text: str | None) -> tuple[int, int, int] | None:
    """--history FIRST-LAST:CURRENT, e.g. 2007-2015:2016 (baseline years, then the year compared with them)."""
    if text is None or not str(text).strip():
        return None
    m = _HISTORY.match(str(text))
    if not m:
        raise UserError(f"--history '{text}' should look like 2007-2015:2016 (baseline first-last years, then the "
                        "current year).")
    return int(m[1]), int(m[2]), int(m[3])


def area_key_for(ws, name: str) -> str:
    """The area key for what an analyst typed: a key ("district:3", "target_area:Center Street Corridor"),
    "citywide" (or the city's name), a target area's, district's or scenario's name, or a district number."""
    text = str(name).strip()
    if not text:
        raise UserError("--area was given an empty name.")
    low = text.lower()
    if low in ("citywide", "city", area_mod.city_name(ws).lower()):
        return area_mod.CITYWIDE
    kind, sep, rest = text.partition(":")
    if sep and kind in area_mod.KEY_KINDS:
        # raises a UserError naming the key when there is no such area; "district:007" comes back "district:7"
        return area_mod.resolve_area(ws, text).key
    found = []
    for a in ws.target_areas:
        if a.name.lower() == low:
            found.append(area_mod.area_key(a))
    wanted = area_mod.district_key(text)
    for a in ws.districts:
        if a.name.lower() == low or (wanted is not None and area_mod.district_key(a.name) == wanted):
            found.append(area_mod.area_key(a))
    for a in ws.scenarios:
        if a.name.lower() == low:
            found.append(area_mod.area_key(a))
    found = list(dict.fromkeys(found))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise UserError(f"--area '{text}' could mean {' or '.join(found)}; give the key instead "
                        f"(for example --area '{found[0]}').")
    choices = ", ".join(label if key == area_mod.CITYWIDE else key.split(":", 1)[1]
                        for key, label in area_mod.area_choices(ws))
    raise UserError(f"The workspace has no area named '{text}'. Choose one of: {choices}.")


def cli_export(args) -> int:
    from workstation.core.workspace import Workspace
    from workstation.exports.packet import export_outputs

    out = Path(args.out) if getattr(args, "out", None) else None
    pdf = Path(args.pdf) if getattr(args, "pdf", None) else None
    if out is None and pdf is None:
        raise UserError("Name what to write: --out OUT.xlsx (the workbook), --pdf OUT.pdf (the meeting packet), or "
                        "both.")
    if out is not None and out.suffix.lower() != ".xlsx":
        raise UserError(f"--out {out} must name an .xlsx file.")
    if pdf is not None and pdf.suffix.lower() != ".pdf":
        raise UserError(f"--pdf {pdf} must name a .pdf file.")
    as_of = parse_as_of(getattr(args, "as_of", None))
    ws = Workspace.open(args.workspace)
    keys = [area_key_for(ws, a) for a in (getattr(args, "area", None) or [])]
    scenario = getattr(args, "scenario", None)
    if scenario is not None:
        name = scenario.split(":", 1)[1] if scenario.startswith("scenario:") else scenario
        if ws.area(name, "scenario") is None:
            known = ", ".join(a.name for a in ws.scenarios) or "none saved yet"
            raise UserError(f"--scenario '{scenario}': the workspace has no scenario of that name "
                            f"(scenarios: {known}).")
    history = parse_history(getattr(args, "history", None))
    # one analysis for both files: the packet shows exactly the workbook's figures
    for path in export_outputs(ws, xlsx=out, pdf=pdf, as_of=as_of, area_keys=keys or None, scenario=scenario,
                               history_years=history):
        print(f"Wrote {path}.", file=sys.stdout)
    return 0

"""Checks on a saved workbook for the faults that make Excel offer to "repair" a file (LibreOffice opens such files
without a word, so converting with it proves little; docs/platform.md "Workbooks").

Reads the saved .xlsx package itself (zip + XML), not openpyxl's model of it, so it sees what Excel will see.
"""
from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

log = logging.getLogger(__name__)

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
_BAD_SHEET_CHARS = set("[]:*?/\\")


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _box(ref: str) -> tuple[int, int, int, int]:
    m = _REF.match(ref)
    if not m:
        raise ValueError(ref)
    c0, r0 = _col_number(m.group(1)), int(m.group(2))
    c1, r1 = (_col_number(m.group(3)), int(m.group(4))) if m.group(3) else (c0, r0)
    return min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)


def _formula_parses(text: str) -> bool:
    from openpyxl.formula.tokenizer import Tokenizer

    try:
        Tokenizer("=" + text)
    except Exception:  # noqa: BLE001 - any tokenizer failure is a broken formula
        log.debug("formula check: the tokenizer failed on %r", text, exc_info=True)
        return False
    return text.count("(") == text.count(")") and text.strip() != ""


def audit_workbook(path: str | Path, allow_formulas: bool = False) -> list[str]:
    """Problems Excel would repair or that break our promises; an empty list when the file is clean.

    - sheet names: 1–31 characters, none of []:*?/\\, unique ignoring case;
    - merged ranges that overlap one another;
    - conditional-format rules whose formula does not parse, or that have none where one is needed;
    - Excel tables (ListObjects): duplicate names, header cells that are not text;
    - cell values that are not finite numbers (NaN/inf written as text into a number cell);
    - any cell formula (unless ``allow_formulas``): every value we write is a value, never a formula;
    - fonts without a name (LibreOffice falls back to a serif face).
    """
    problems: list[str] = []
    path = Path(path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        seen_sheets: set[str] = set()
        table_names: set[str] = set()
        for sh in wb.find("m:sheets", NS):
            name = sh.get("name") or ""
            if not (1 <= len(name) <= 31):
                problems.append(f"sheet name {name!r} has {len(name)} characters (Excel allows 1 to 31)")
            if set(name) & _BAD_SHEET_CHARS:
                problems.append(f"sheet name {name!r} has a character Excel forbids")
            if name.lower() in seen_sheets:
                problems.append(f"sheet name {name!r} is used twice")
            seen_sheets.add(name.lower())
            target = targets.get(sh.get(f"{{{NS['r']}}}id"), "")
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            if part not in names:
                problems.append(f"sheet {name!r}: part {part} is missing")
                continue
            problems += [f"sheet {name!r}: {p}" for p in _audit_sheet(z, part, names, table_names, allow_formulas)]
        if "xl/styles.xml" in names:
            styles = ET.fromstring(z.read("xl/styles.xml"))
            fonts = styles.find("m:fonts", NS)
            for i, f in enumerate(fonts if fonts is not None else []):
                if f.find("m:name", NS) is None:
                    problems.append(f"styles: font {i} has no name")
    return problems


def _audit_sheet(z: zipfile.ZipFile, part: str, names: set, table_names: set, allow_formulas: bool) -> list[str]:
    out: list[str] = []
    root = ET.fromstring(z.read(part))
    merges = [_box(m.get("ref")) for m in root.iterfind("m:mergeCells/m:mergeCell", NS)]
    merges.sort()
    for i, a in enumerate(merges):
        for b in merges[i + 1:]:
            if b[0] > a[2]:
                break
            if not (b[1] > a[3] or b[3] < a[1] or b[0] > a[2] or b[2] < a[0]):
                out.append(f"merged ranges overlap: {a} and {b}")
    for c in root.iterfind("m:sheetData/m:row/m:c", NS):
        if c.find("m:f", NS) is not None and not allow_formulas:
            out.append(f"cell {c.get('r')} holds a formula")
        t = c.get("t", "n")
        v = c.find("m:v", NS)
        if t == "n" and v is not None and v.text is not None:
            try:
                x = float(v.text)
            except ValueError:
                out.append(f"cell {c.get('r')} has a non-numeric value {v.text!r} in a number cell")
            else:
                if x != x or x in (float("inf"), float("-inf")):
                    out.append(f"cell {c.get('r')} holds {v.text}")
    for cf in root.iterfind("m:conditionalFormatting", NS):
        for rule in cf.iterfind("m:cfRule", NS):
            formulas = [f.text or "" for f in rule.iterfind("m:formula", NS)]
            if rule.get("type") in ("cellIs", "expression") and not formulas:
                out.append(f"conditional format on {cf.get('sqref')} has no formula")
            for f in formulas:
                if not _formula_parses(f):
                    out.append(f"conditional format on {cf.get('sqref')} has a broken formula {f!r}")
            if rule.get("type") == "cellIs" and not rule.get("operator"):
                out.append(f"conditional format on {cf.get('sqref')} has no operator")
    # Excel tables (ListObjects), through the sheet's relationships
    rel_part = part.rsplit("/", 1)[0] + "/_rels/" + part.rsplit("/", 1)[1] + ".rels"
    if rel_part in names:
        rels = ET.fromstring(z.read(rel_part))
        for r in rels:
            if not r.get("Type", "").endswith("/table"):
                continue
            tpart = "xl/" + r.get("Target").replace("../", "")
            t = ET.fromstring(z.read(tpart))
            tname = (t.get("displayName") or t.get("name") or "").lower()
            if tname in table_names:
                out.append(f"table name {tname!r} is used twice")
            table_names.add(tname)
            for col in t.iterfind("m:tableColumns/m:tableColumn", NS):
                if not (col.get("name") or "").strip():
                    out.append(f"table {tname!r} has a column without a text header")
    return out

"""Reading spreadsheets and delimited text exactly as records systems write them.

Real exports arrive with byte-order marks, CR-only / CRLF / LF line endings, Windows-1252 text, quoted fields with
embedded commas, title rows above the header in workbooks, and now and then a row with too many fields. Every
reader here turns a file into a DataFrame or raises a UserError that names the file and the problem.

Every column is read as text: a reader that guesses types turns district "007", FBI code "03" or ZIP "02134" into a
number and loses the zeros. Numbers and dates are parsed on purpose by the importer, field by field, and the import
wizard's preview reads through the very same function (``read_table``), so the two cannot disagree.

CSV goes through pandas' pyarrow engine (multi-threaded) and falls back to the python engine only when a file needs
it (ragged rows); xlsx/xls/ods go through python-calamine, whose typed cells are turned into the text the workbook
shows (whole numbers without '.0', dates as ISO).
"""
from __future__ import annotations

import logging
import codecs
import csv
import datetime as _dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.core.errors import UserError

log = logging.getLogger(__name__)

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class RawTable:
    """A file as read: ``df`` (one row per input row), the 1-based row number of its first data row as a
    spreadsheet would show it, and rows the parser could not split (``(row_number, text)``)."""

    df: pd.DataFrame
    first_row: int
    bad_lines: list = field(default_factory=list)
    file_format: str = "csv"
    sheet: str | None = None
    sha256: str = ""
    size: int = 0


def _fail(path: Path, problem: str) -> UserError:
    return UserError(f"{path.name}: {problem}")


def file_format(path: Path, head: bytes) -> str:
    """'xlsx' (any zip container), 'xls' (OLE2) or 'text', from the first bytes rather than the name."""
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    return "text"


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    ctrl = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return ctrl > max(2, len(sample) // 100)


# The file is read in a worker while the UI thread paints: a whole-file scan of a 1 GB export in one call holds the GIL
# for 50-100 ms (a visible stall); piece by piece, the UI thread gets its turn between pieces.
_SCAN_PIECE = 1 << 22


def _is_utf8(data: bytes) -> bool:
    if int(np.frombuffer(data, dtype=np.uint8).max(initial=0)) < 0x80:  # ASCII (numpy scans without the GIL)
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for i in range(0, len(data), _SCAN_PIECE):
            decoder.decode(data[i:i + _SCAN_PIECE], final=i + _SCAN_PIECE >= len(data))
    except UnicodeDecodeError:
        return False
    return True


def _holds(data: bytes, what: bytes) -> bool:
    return any(data.find(what, i, i + _SCAN_PIECE) >= 0 for i in range(0, len(data), _SCAN_PIECE))


def _decode_to_utf8(path: Path, data: bytes) -> bytes:
    """UTF-8 bytes with LF or CRLF line ends, whatever the file had (BOM, UTF-16, cp1252, CR-only)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise _fail(path, "the file says it is UTF-16 text but cannot be decoded; save it again as CSV.") from None
    if _looks_binary(data[:8192]):
        raise _fail(path, "this is not a spreadsheet or CSV file (it holds binary data); export the records as "
                          "xlsx or csv and try again.")
    if not _is_utf8(data):
        # Excel on Windows saves "CSV" as Windows-1252; its five undefined bytes are replaced rather than fatal.
        data = data.decode("cp1252", errors="replace").encode("utf-8")
    if _holds(data, b"\r"):
        crlf = data.count(b"\r\n")
        if crlf == 0:  # classic Mac / some RMS exports: CR alone ends a line (LF may still sit inside quotes)
            data = data.replace(b"\r", b"\n")
        elif data.count(b"\r") != crlf:  # CRLF and lone CRs mixed
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _first_line(data: bytes) -> str:
    end = data.find(b"\n")
    line = data[: end if end >= 0 else min(len(data), 1 << 20)]
    return line.decode("utf-8", errors="replace").rstrip("\r")


def text_header(data: bytes, sep: str) -> list[str]:
    head = data[: 1 << 16].decode("utf-8", errors="replace")
    try:
        row = next(csv.reader(io.StringIO(head, newline=""), delimiter=sep), [])
    except csv.Error:
        row = next(csv.reader([_first_line(data)], delimiter=sep, strict=False), [])
    return [c.strip() for c in row]


def _dedupe(names: list) -> list:
    seen: dict = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}.{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


def _read_text(path: Path, data: bytes, *, header: bool, nrows: int | None) -> RawTable:
    if nrows is not None and len(data) > (1 << 20) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # a preview needs the first rows only: decode a prefix cut at a line end
        cut = data.rfind(b"\n", 0, 1 << 20)
        if cut > 0 and data[:cut].count(b"\n") > nrows + 1:
            data = data[: cut + 1]
    data = _decode_to_utf8(path, data)
    if not data or data.isspace():
        raise _fail(path, "the file is empty.")
    sep = _sniff_delimiter(_first_line(data))
    names = text_header(data, sep) if header else None
    if header and (not names or not any(names)):
        raise _fail(path, "the first line is blank; it should hold the column names.")
    if names is not None:
        names = _dedupe([n if n else f"column_{i + 1}" for i, n in enumerate(names)])
    # every column as text, always: no type inference anywhere (see the module doc)
    common = dict(sep=sep, header=None, skiprows=1 if header else 0, names=names, dtype=str,
                  skip_blank_lines=True)
    if names is None:
        common.pop("names")
    bad: list = []
    if nrows is None:
        try:
            df = pd.read_csv(io.BytesIO(data), engine="pyarrow", **common)
            return RawTable(df=_finish(df, header), first_row=2 if header else 1)
        except Exception as exc:  # pyarrow is strict about ragged rows: the python engine lists them instead
            log.debug("%s: the fast CSV reader failed (%s); trying the python engine", path, exc)

    def on_bad(fields):
        bad.append(sep.join(str(f) for f in fields))
        return None

    # a narrative pasted into one cell can pass the csv module's 128 KB field limit: read it, never refuse the file
    csv.field_size_limit(max(csv.field_size_limit(), min(len(data) + 1, 2**31 - 1)))
    try:
        df = pd.read_csv(io.BytesIO(data), engine="python", on_bad_lines=on_bad, nrows=nrows, **common)
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise _fail(path, f"the text cannot be split into columns ({exc}); check that it is a CSV export.") from None
    # The python engine does not report where a bad line was; they are listed after the good rows.
    bad_lines = [(None, text) for text in bad]
    return RawTable(df=_finish(df, header), first_row=2 if header else 1, bad_lines=bad_lines)


def _finish(df: pd.DataFrame, header: bool) -> pd.DataFrame:
    if not header:
        df.columns = list(range(df.shape[1]))
    return df.reset_index(drop=True)


# ---- workbooks -------------------------------------------------------------------------------------------------
def _cell_name(v, i: int) -> str:
    if v is None or v == "":
        return f"column_{i + 1}"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip() or f"column_{i + 1}"


def _header_index(rows: list) -> int:
    """The first row that looks like a header: at least half the table's width filled (title rows are not)."""
    width = max((len(r) for r in rows[:50]), default=0)
    for i, r in enumerate(rows[:50]):
        filled = sum(1 for v in r if v is not None and v != "")
        if filled >= max(2, (width + 1) // 2) or (width == 1 and filled == 1):
            return i
    return 0


def _read_workbook(path: Path, data: bytes, *, header: bool, nrows: int | None, sheet) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:
        raise _fail(path, f"the workbook cannot be opened ({type(exc).__name__}: {str(exc)[:120]}); it may be "
                          "truncated or damaged — export it again.") from None
    try:
        names = list(wb.sheet_names)
        if sheet is not None:
            if isinstance(sheet, int):
                if not 0 <= sheet < len(names):
                    raise _fail(path, f"the workbook has no sheet number {sheet + 1}.")
                chosen = names[sheet]
            elif sheet in names:
                chosen = sheet
            else:
                raise _fail(path, f"the workbook has no sheet named '{sheet}' (it has {', '.join(names)}).")
            rows = wb.get_sheet_by_name(chosen).to_python(skip_empty_area=True)
        else:
            chosen, rows = None, []
            for nm in names:
                rows = wb.get_sheet_by_name(nm).to_python(skip_empty_area=True)
                if any(any(v not in (None, "") for v in r) for r in rows[:20]):
                    chosen = nm
                    break
    except UserError:
        raise
    except Exception as exc:
        raise _fail(path, f"the workbook cannot be read ({type(exc).__name__}: {str(exc)[:120]}); it may be "
                          "truncated or damaged — export it again.") from None
    if chosen is None or not rows:
        raise _fail(path, "the workbook has no data in any sheet.")
    h = _header_index(rows) if header else -1
    width = max(map(len, rows))
    if header:
        head = list(rows[h]) + [None] * (width - len(rows[h]))
        cols = _dedupe([_cell_name(v, i) for i, v in enumerate(head)])
    else:
        cols = list(range(width))
    body = rows[h + 1:]
    if nrows is not None:
        body = body[:nrows]
    last = len(body)  # rows left empty below the data (formatting) are not rows
    while last and all(v is None or v == "" for v in body[last - 1]):
        last -= 1
    body = body[:last]
    if len(set(map(len, body))) > 1:  # calamine pads rows to the sheet's width; pad anyway for ragged sheets
        body = [list(r) + [""] * (width - len(r)) for r in body]
    grid = _object_grid(body, width)
    df = _type_columns(grid, cols)
    return RawTable(df=df.reset_index(drop=True), first_row=h + 2, file_format="xlsx", sheet=chosen)


def _type_columns(grid: np.ndarray, cols: list) -> pd.DataFrame:
    """Workbook cells arrive as Python objects; give each column one dtype where its cells agree (text, numbers,
    dates) so that the importer works on them as it does on a CSV. Empty cells ('') become missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    n = grid.shape[0]
    for j, c in enumerate(cols):
        arr = np.ascontiguousarray(grid[:, j])
        try:  # text only ('' included): straight to Arrow, '' -> null there; a number cell stops it at once
            a = pa.array(arr, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            a = None
        if a is not None:
            a = pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.large_string()), a)
            out[c] = pd.Series(pd.array(a, dtype=_STR), copy=False)
            continue
        kind = pd.api.types.infer_dtype(arr, skipna=True)
        empty = arr == ""
        if empty.any():
            arr = arr.copy()
            arr[empty] = None
            kind = pd.api.types.infer_dtype(arr, skipna=True)
        if kind in ("floating", "integer", "mixed-integer-float"):
            out[c] = pd.Series(arr).astype("float64")
        elif kind in ("datetime", "datetime64"):
            out[c] = pd.to_datetime(pd.Series(arr), errors="coerce")
        elif kind == "empty":
            out[c] = pd.Series(np.full(n, np.nan))
        else:
            out[c] = pd.Series(arr, dtype=object)
    return pd.DataFrame(out) if out else pd.DataFrame(index=range(n))


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" dtype


def _object_grid(body: list, width: int) -> np.ndarray:
    """Rows of cells as a 2-D object array (rows already padded to ``width``)."""
    if not body:
        return np.empty((0, width), dtype=object)
    try:  # pandas' own C routine is about twice as fast as np.array on lists of lists
        from pandas._libs.lib import to_object_array

        grid = to_object_array(body, min_width=width)
    except (ImportError, TypeError, ValueError):
        grid = np.array(body, dtype=object)
    if grid.ndim != 2 or grid.shape[1] != width:
        grid = np.empty((len(body), width), dtype=object)
        for i, r in enumerate(body):
            grid[i, : len(r)] = r
    return grid


def cells_to_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text (whole numbers without '.0', dates as ISO), missing stays missing."""
    out = {}
    for c in df.columns:
        s = df[c]
        if s.dtype == object:
            def fmt(v):
                if v is None or (isinstance(v, float) and v != v):
                    return None
                if isinstance(v, float) and v.is_integer():
                    return str(int(v))
                if isinstance(v, _dt.datetime):
                    return v.isoformat(sep=" ")
                if isinstance(v, (_dt.date, _dt.time)):
                    return v.isoformat()
                return str(v)
            out[c] = pd.Series([fmt(v) for v in s.to_numpy()], index=s.index, dtype="str")
        elif pd.api.types.is_float_dtype(s.dtype):
            out[c] = pd.Series(pd.array(_float_text(s.to_numpy(dtype="float64")), dtype=_STR), index=s.index)
        else:
            out[c] = s.astype("str").where(s.notna())
    return pd.DataFrame(out, index=df.index)


def _float_text(v: np.ndarray):
    """Numbers as the text a workbook shows, in Arrow (pandas' float-to-text is ~1 s per 200k cells): whole numbers
    without '.0' (ids and codes typed as numbers; exact below 2**53), others in their shortest round-trip form; NaN
    becomes missing. inf ("1e999") and floats beyond 2**53 keep their own text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    with np.errstate(invalid="ignore"):
        isint = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2**53)
    ints = pa.array(np.where(isint, v, 0).astype(np.int64)).cast(pa.large_string())
    floats = pa.array(v, from_pandas=True).cast(pa.large_string())
    return pc.if_else(pa.array(isint), ints, floats)


# ---- public ------------------------------------------------------------------------------------------------------
PREVIEW_HEAD_BYTES = 1 << 22  # the first rows of a text file come from its first 4 MB (tens of thousands of rows)


def read_bytes(path, head: int | None = None) -> bytes:
    """The file's bytes; with ``head``, at most its first ``head`` bytes."""
    path = Path(path)
    try:
        if head is None:
            return path.read_bytes()
        with path.open("rb") as f:
            return f.read(head)
    except FileNotFoundError:
        raise _fail(path, "the file does not exist.") from None
    except IsADirectoryError:
        raise _fail(path, "this is a folder, not a file.") from None
    except OSError as exc:
        raise _fail(path, f"the file cannot be read ({exc.strerror or exc}).") from None


def read_source(path, *, header: bool = True, nrows: int | None = None, sheet=None,
                data: bytes | None = None) -> RawTable:
    """Read any supported file, every column as text (missing cells NaN): the one reader behind both the import and
    the wizard's preview."""
    path = Path(path)
    if data is None:
        data = _first_rows_bytes(path) if nrows is not None else read_bytes(path)
    if not data or data.isspace():
        raise _fail(path, "the file is empty.")
    fmt = file_format(path, data[:8])
    if fmt in ("xlsx", "xls"):
        if fmt == "xlsx" and path.suffix.lower() not in EXCEL_SUFFIXES and not _zip_is_workbook(data):
            raise _fail(path, "this is a zip archive, not a spreadsheet; unpack it and import the file inside.")
        raw = _read_workbook(path, data, header=header, nrows=nrows, sheet=sheet)
        raw.file_format = fmt
        raw.df = cells_to_text(raw.df)
    else:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            raise _fail(path, f"the file is named {path.suffix} but is not a workbook (it may be truncated or "
                              "renamed); export it again.")
        raw = _read_text(path, data, header=header, nrows=nrows)
        raw.file_format = "csv"
    raw.size = len(data)
    return raw


def _zip_is_workbook(data: bytes) -> bool:
    head = data[:4096]
    return b"xl/" in head or b"[Content_Types].xml" in head or b"mimetype" in head


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _first_rows_bytes(path: Path) -> bytes:
    """Enough of a file for its first rows: the wizard's preview reads a big CSV's head on the UI thread, where the
    whole of a 1 GB export took over a second. Cut after the head's last line end; a workbook (a zip or OLE2
    container) or UTF-16 text is read whole."""
    head = read_bytes(path, PREVIEW_HEAD_BYTES + 1)
    if len(head) <= PREVIEW_HEAD_BYTES or file_format(path, head[:8]) != "text" \
            or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head if len(head) <= PREVIEW_HEAD_BYTES else read_bytes(path)
    cut = head.rfind(b"\n", 0, PREVIEW_HEAD_BYTES)
    return head[:cut + 1] if cut > 0 else read_bytes(path)


def read_table(path, nrows: int | None = None, header: bool = True, sheet=None) -> pd.DataFrame:
    """The file as a DataFrame of text (missing cells are NaN): what the import wizard previews and maps."""
    return read_source(path, header=header, nrows=nrows, sheet=sheet).df

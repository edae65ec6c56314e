"""ReportTable -> formatted worksheet: the one writer every sheet of the CompStat workbook goes through.

A ``SheetWriter`` stacks blocks down a sheet (a heading, tables, free text) and, in ``finish()``, does what can only be
done once the whole sheet is known: column widths fitted to the widest shown value, row heights for wrapped text,
merged title/note rows across the sheet's width, frozen header, and the print setup (landscape, fit to one page wide,
repeated header rows, page footer).
"""
from __future__ import annotations

import math
import re
import textwrap
import weakref
from copy import copy
from dataclasses import dataclass, field

from openpyxl.formatting.rule import CellIsRule
from openpyxl.utils import get_column_letter

from workstation.reports.table import ReportTable
from workstation.exports import excel_style as st

MIN_WIDTH = 5.0
LABEL_MAX_WIDTH = 36.0  # a row label column is at least this wide when its labels need it (labels do not wrap)
DEFAULT_WIDTH = 8.43  # a column nobody sized (Excel's and LibreOffice's default)
MAX_NUMBER_WIDTH = 18.0
LINE_HEIGHT = 13.0  # points per line of 10-pt text
IMAGE_ROW_HEIGHT = 15.0  # points: the rows a picture covers are set to this height
# Print: body text is 10 pt and must print at 8 pt or more (issue 11: a median word height of 9.5 pt on every page of
# the PDF). A sheet prints one page wide on Letter landscape when that keeps 80%; else on Tabloid (11 x 17 in)
# landscape, as CompStat books commonly are; a sheet too wide even for that prints at 80% across pages, its first
# column repeated on each. Narrower sheets get their spare width spread over their columns (up to half as wide again),
# so tables fill the page instead of a third of it.
MIN_PRINT_SCALE = 0.8
MAX_FILL = 1.5
PAPERS = (("letter", 11.0, 8.5, 1), ("tabloid", 17.0, 11.0, 3))  # landscape width, height (in); OOXML paperSize
BAND_LINES = 2  # a header band's label may wrap onto two lines
ORPHAN_ROWS = 5  # a table too long for one page starts on a new page unless its title, header and a few rows fit
# Excel sheet names: at most 31 characters, none of these.
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# Columns of kind "count" that hold a difference get the change colours as well.
_DIFF_HEADER = re.compile(r"\b(diff|difference|change|chg)\b|\+/-|±", re.IGNORECASE)
ZERO_BASE_NOTE = ("A blank % change means the earlier period had no cases (zero base): the change is undefined, "
                  "so it is left blank rather than shown as 0% or infinite.")


def safe_sheet_title(title: str, taken: set[str] | None = None) -> str:
    """A sheet name Excel accepts without repair: no []:*?/\\, at most 31 characters, unique (case-insensitive)."""
    name = _BAD_SHEET_CHARS.sub("-", st.clean_text(title)).strip("'").strip() or "Sheet"
    name = name[:31]
    taken_lower = {t.lower() for t in (taken or ())}
    base, n = name, 2
    while name.lower() in taken_lower:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    return name


_STYLE_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def apply_style(cell, font=None, border=None, fill=None, alignment=None, number_format=None,
                quote_prefix: bool = False) -> None:
    """Style a cell through a per-workbook cache of finished style records.

    Setting font, border, fill, ... one by one makes openpyxl hash and look up each style object per cell (most of
    the time of a plain write); a combination seen before is copied as one small array instead."""
    wb = cell.parent.parent
    cache = _STYLE_CACHE.get(wb)
    if cache is None:
        cache = _STYLE_CACHE[wb] = {}
    key = (id(font), id(border), id(fill), id(alignment), number_format, quote_prefix)
    arr = cache.get(key)
    if arr is not None:
        cell._style = copy(arr[0])
        return
    if font is not None:
        cell.font = font
    if border is not None:
        cell.border = border
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    if number_format is not None:
        cell.number_format = number_format
    if quote_prefix:
        cell.quotePrefix = True
    # keep the style objects alive with the record: their ids are the key
    cache[key] = (copy(cell._style), font, border, fill, alignment)


def write_text(cell, text, font=None, alignment=None) -> None:
    """Write text that must stay text, whatever it looks like (a formula, a number, an @-mention)."""
    s = st.clean_text(text)
    cell.value = s
    cell.data_type = "s"  # openpyxl made it a formula if it starts with "="; a string it stays
    if st.needs_quote_prefix(s):
        cell.quotePrefix = True  # and Excel keeps it text if someone retypes the cell
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment


@dataclass
class Placement:
    """Where a table landed on its sheet (1-based rows and columns)."""

    table: ReportTable
    title_row: int
    header_row: int
    first_row: int  # first data row
    last_row: int  # last data row (first_row - 1 when the table has no rows)
    first_col: int
    last_col: int

    def cell_ref(self, row_index: int, col_index: int) -> str:
        return f"{get_column_letter(self.first_col + col_index)}{self.first_row + row_index}"


@dataclass
class _Span:
    row: int
    first_col: int
    last_col: int | None  # None: across the whole sheet width (known at finish)
    text: str
    size: float


@dataclass
class SheetWriter:
    ws: object  # openpyxl Worksheet
    footer_text: str = ""
    max_text_width: float = 40.0  # text wider than this wraps inside its cell
    row: int = 1
    placements: list[Placement] = field(default_factory=list)
    heading_rows: int = 0
    _widths: dict[int, float] = field(default_factory=dict)
    _spans: list[_Span] = field(default_factory=list)
    _stretched: list[tuple[int, int, int, int]] = field(default_factory=list)  # header row, first, last row, column
    _wrapped: list[tuple[int, int, str, float]] = field(default_factory=list)  # row, col, text, font size
    _fixed_heights: dict[int, float] = field(default_factory=dict)
    _max_col: int = 1
    _headers: list[tuple[int, int, int]] = field(default_factory=list)  # (top row, header row, first col)
    _group_widths: list[tuple[int, int, float]] = field(default_factory=list)
    _notes_written: set[str] = field(default_factory=set)
    _blocks: list[tuple[int, int]] = field(default_factory=list)  # rows a table occupies: kept on one page
    _images: list[tuple[int, float]] = field(default_factory=list)  # (first column, width in points) of pictures
    _page_starts: set[int] = field(default_factory=set)  # rows that begin a printed page (a map under its title)

    @classmethod
    def new(cls, wb, title: str, footer_text: str = "", max_text_width: float = 40.0) -> "SheetWriter":
        name = safe_sheet_title(title, set(wb.sheetnames))
        return cls(ws=wb.create_sheet(name), footer_text=footer_text, max_text_width=max_text_width)

    # ---- blocks -----------------------------------------------------------------------------------------------------
    def heading(self, title: str, lines: list[str] = ()) -> None:
        """The sheet's title and a few subtitle lines (area, as-of, boundary version); frozen with the header."""
        c = self.ws.cell(row=self.row, column=1)
        write_text(c, title, st.FONT_SHEET_TITLE, st.ALIGN_LABEL)
        self._fixed_heights[self.row] = 20
        self._spans.append(_Span(self.row, 1, None, title, 14))
        self.row += 1
        for line in lines:
            c = self.ws.cell(row=self.row, column=1)
            write_text(c, line, st.FONT_SUBTITLE, st.ALIGN_NOTE)
            self._spans.append(_Span(self.row, 1, None, line, 10))
            self.row += 1
        self.heading_rows = self.row - 1
        self.row += 1

    def paragraph(self, text: str, font=None, last_col: int | None = None) -> int:
        """A line of free text across the sheet (or to ``last_col``), wrapped; returns its row."""
        r = self.row
        c = self.ws.cell(row=r, column=1)
        write_text(c, text, font or st.FONT_BODY, st.ALIGN_NOTE)
        self._spans.append(_Span(r, 1, last_col, text, (font or st.FONT_BODY).sz or st.FONT_SIZE))
        self.row += 1
        return r

    def skip(self, n: int = 1) -> None:
        self.row += n

    def extend_to(self, col: int, width: float = DEFAULT_WIDTH) -> None:
        """Make the sheet (widths, print scale) reach column ``col``, e.g. for charts right of the tables."""
        for c in range(self._max_col + 1, col + 1):
            self._want_width(c, width)
        self._max_col = max(self._max_col, col)

    def column_points(self, col: int) -> float:
        """A column's printed width in points at 100% (Calibri 11 digit width 7 px, plus 5 px of padding)."""
        return (7 * self.width(col) + 5) * 0.75

    def keep_together(self, first_row: int, last_row: int) -> None:
        """Rows (a chart's rows, say) that print on one page when they fit on one."""
        self._blocks.append((first_row, last_row))

    def image(self, png: bytes, width_in: float, height_in: float, title: str | None = None,
              first_col: int = 1) -> tuple[int, int]:
        """A picture (a map) at its print size under a title row; its rows print on one page with the title, and the
        sheet's printed width grows to hold it. Returns (first, last) row it covers."""
        import io

        from openpyxl.drawing.image import Image

        start = self.row
        # a map fills most of a page: it starts one (with its title), unless the sheet's heading is all above it
        if start > self.heading_rows + 2:
            self._page_starts.add(start)
        if title:
            write_text(self.ws.cell(row=self.row, column=first_col), title, st.FONT_TABLE_TITLE, st.ALIGN_NOTE)
            self._spans.append(_Span(self.row, first_col, None, title, 11))
            self.row += 1
        pic = Image(io.BytesIO(png))
        pic.width, pic.height = round(width_in * 96), round(height_in * 96)   # drawing units: 96 per inch
        self.ws.add_image(pic, f"{get_column_letter(first_col)}{self.row}")
        # rows of a fixed height under the picture, so the page-break simulation knows how tall it prints
        n = math.ceil(height_in * 72 / IMAGE_ROW_HEIGHT)
        for r in range(self.row, self.row + n):
            self._fixed_heights[r] = IMAGE_ROW_HEIGHT
        self.row += n
        self._blocks.append((start, self.row - 1))
        self._images.append((first_col, width_in * 72))
        self.row += 1
        return start, self.row - 2

    def table(self, t: ReportTable, first_col: int = 1, blank_after: int = 1, stretch: bool = False) -> Placement:
        """Write one ReportTable: title, optional header band, header, rows, notes; colours on change columns.
        ``stretch``: the last column (long text) spans to the sheet's last printed column, so a two-column table of
        rules fills the page that a wider table set."""
        start = self.row
        title_row = self._title(t.title, first_col, first_col + len(t.columns) - 1, section=False)
        header_row = self._header(t, first_col)
        p = self._body(t, first_col, title_row, header_row, blank_after)
        if stretch:
            self._stretched.append((header_row, p.first_row, p.last_row, p.last_col))
        self._blocks.append((start, max(p.last_row, header_row)))  # its notes may flow onto the next page
        return p

    def tables(self, tables: list[ReportTable], first_col: int = 1) -> list[Placement]:
        """Several tables; when they share their columns (one per area, one per measure) they share one header
        (frozen at the top of the sheet) and each table's title becomes a section row above its rows."""
        if len(tables) < 2 or not _same_shape(tables):
            return [self.table(t, first_col) for t in tables]
        start = self.row
        header_row = self._header(tables[0], first_col)
        out = []
        pending: list[str] = []
        for t in tables:
            title_row = self._title(t.title, first_col, first_col + len(t.columns) - 1, section=True)
            out.append(self._body(t, first_col, title_row, header_row, blank_after=0, notes_out=pending))
            self._blocks.append((start if t is tables[0] else title_row, self.row - 1))
        # the sections' notes once, under the last one (they mostly repeat: same windows, same rules)
        self._write_notes(pending, first_col, first_col + len(tables[0].columns) - 1)
        self.row += 1
        return out

    def _title(self, title: str, first_col: int, last_col: int, section: bool) -> int:
        r = self.row
        cell = self.ws.cell(row=r, column=first_col)
        write_text(cell, title, st.FONT_TABLE_TITLE, st.ALIGN_NOTE)
        if section:
            for c in range(first_col, last_col + 1):
                self.ws.cell(row=r, column=c).fill = st.SECTION_FILL
        self._spans.append(_Span(r, first_col, last_col, title, 11))
        self._max_col = max(self._max_col, last_col)
        self.row += 1
        return r

    def _header(self, t: ReportTable, first_col: int) -> int:
        ws = self.ws
        ncols = len(t.columns)
        self._max_col = max(self._max_col, first_col + ncols - 1)
        groups = _valid_groups(t.header_groups, ncols)
        top = self.row
        if groups:
            r = self.row
            for label, c0, c1 in groups:
                a, b = first_col + c0, first_col + c1
                for c in range(a, b + 1):
                    cell = ws.cell(row=r, column=c)
                    cell.fill = st.GROUP_FILL
                    cell.border = st.BORDER_CELL
                write_text(ws.cell(row=r, column=a), label, st.FONT_HEADER, st.ALIGN_HEADER)
                if b > a:
                    ws.merge_cells(start_row=r, start_column=a, end_row=r, end_column=b)
                self._group_widths.append((a, b, _wrapped_width(label, BAND_LINES)))
                if len(label) * 1.1 + 2 > sum(self.width(c) for c in range(a, b + 1)):
                    self._fixed_heights[r] = max(self._fixed_heights.get(r, 0.0), BAND_LINES * LINE_HEIGHT + 3)
            self.row += 1
        header_row = self.row
        for j, name in enumerate(t.columns):
            cell = ws.cell(row=header_row, column=first_col + j)
            write_text(cell, name, st.FONT_HEADER, st.ALIGN_HEADER)
            cell.fill = st.HEADER_FILL
            cell.border = st.BORDER_CELL
            self._want_width(first_col + j, _header_width(str(name)))
            self._wrapped.append((header_row, first_col + j, str(name), st.FONT_SIZE))
        self.row += 1
        self._headers.append((top, header_row, first_col))
        return header_row

    def _body(self, t: ReportTable, first_col: int, title_row: int, header_row: int, blank_after: int,
              notes_out: list[str] | None = None) -> Placement:
        ws = self.ws
        last_col = first_col + len(t.columns) - 1
        first_row = self.row
        kinds = t.column_kinds
        formats = [st.NUMBER_FORMATS[k] for k in kinds]
        row_kinds = t.row_kinds or ["data"] * len(t.rows)
        zero_base = False
        for i, values in enumerate(t.rows):
            r = first_row + i
            rk = row_kinds[i] if i < len(row_kinds) else "data"
            strong = rk in ("total", "subtotal")
            fnt = st.FONT_BOLD if strong else st.FONT_BODY
            border = st.BORDER_TOTAL if rk == "total" else st.BORDER_CELL
            fill = st.TOTAL_FILL if strong else None
            for j, raw in enumerate(values):
                kind = kinds[j]
                col = first_col + j
                cell = ws.cell(row=r, column=col)
                v = st.stored_value(raw, kind)
                if isinstance(v, str):
                    cell.value = v
                    cell.data_type = "s"  # never a formula, whatever the text looks like
                    wrap = kind == "text" and len(v) > self.max_text_width
                    if wrap:
                        self._wrapped.append((r, col, v, st.FONT_SIZE))
                    # free text wraps at max_text_width; a row label does not wrap, so it keeps its width (up to
                    # LABEL_MAX_WIDTH): "Search warrants executed" must not print as "Search warrants exec"
                    cap = self.max_text_width if kind == "text" else max(self.max_text_width, LABEL_MAX_WIDTH)
                    self._want_width(col, min(len(v) * (1.1 if strong else 1.0) + 2, cap))
                    apply_style(cell, fnt, border, fill, st.ALIGN_TEXT_WRAP if wrap else st.ALIGN_LABEL,
                                None if kind in ("label", "text") else "@", st.needs_quote_prefix(v))
                else:
                    cell.value = v
                    if v is None and kind == "pct_change":
                        zero_base = True
                    mark = t.cell_marks.get((i, j)) if v is not None else None
                    if kind in ("label", "text"):
                        apply_style(cell, fnt, border, fill, st.ALIGN_LABEL, "General")
                    else:
                        # a mark (†) is part of the number format: the cell still stores the plain number
                        apply_style(cell, fnt, border, fill, st.ALIGN_NUMBER,
                                    st.marked_format(formats[j], mark) if mark else formats[j])
                    shown = st.display_text(v, kind) + (mark or "")
                    self._want_width(col, min(len(shown) * (1.1 if strong else 1.0) + 2.5, MAX_NUMBER_WIDTH))
        last_row = first_row + len(t.rows) - 1
        self.row = last_row + 1

        if t.rows:
            self._colour_changes(t, first_col, first_row, last_row)

        notes = list(t.notes)
        if zero_base and not any("zero base" in n.lower() for n in notes):
            notes.append(ZERO_BASE_NOTE)
        if notes_out is not None:
            notes_out.extend(n for n in notes if n not in notes_out)
        else:
            self._write_notes(notes, first_col, last_col)
        self.row += blank_after

        p = Placement(t, title_row, header_row, first_row, last_row, first_col, last_col)
        self.placements.append(p)
        return p

    def _write_notes(self, notes: list[str], first_col: int, last_col: int) -> None:
        """Notes under a table, each once per sheet (tables of one report repeat their rules)."""
        for n in notes:
            if n in self._notes_written:
                continue
            self._notes_written.add(n)
            r = self.row
            write_text(self.ws.cell(row=r, column=first_col), n, st.FONT_NOTE, st.ALIGN_NOTE)
            self._spans.append(_Span(r, first_col, last_col, n, st.FONT_NOTE.sz))
            self.row += 1

    # ---- change colours ---------------------------------------------------------------------------------------------
    def _colour_changes(self, t: ReportTable, first_col: int, first_row: int, last_row: int) -> None:
        up_is_bad = t.direction != "activity"
        up_fill, up_font = (st.BAD_FILL, st.BAD_FONT) if up_is_bad else (st.GOOD_FILL, st.GOOD_FONT)
        down_fill, down_font = (st.GOOD_FILL, st.GOOD_FONT) if up_is_bad else (st.BAD_FILL, st.BAD_FONT)
        up_strong = st.STRONG_BAD_FONT if up_is_bad else st.STRONG_GOOD_FONT
        down_strong = st.STRONG_GOOD_FONT if up_is_bad else st.STRONG_BAD_FONT
        cf = self.ws.conditional_formatting
        for j, kind in enumerate(t.column_kinds):
            is_diff = kind == "count" and _DIFF_HEADER.search(str(t.columns[j]))
            if kind not in ("pct_change", "z") and not is_diff:
                continue
            letter = get_column_letter(first_col + j)
            rng = f"{letter}{first_row}:{letter}{last_row}"
            if kind == "z":
                # Only flagged windows are coloured (the exact test the report ran, not a z threshold): see below.
                continue
            else:
                cf.add(rng, CellIsRule(operator="greaterThan", formula=["0"], fill=up_fill, font=up_font))
                cf.add(rng, CellIsRule(operator="lessThan", formula=["0"], fill=down_fill, font=down_font))

        # Chance-aware flags (reports/rules.py: exact binomial test): the flagged z and % change cells get the strong
        # colours, bold when significant. Static styles: the strength cannot be computed from the z in a formula.
        for (i, j), strength in t.cell_flags.items():
            if not (0 <= i < len(t.rows) and 0 <= j < len(t.column_kinds)) or t.column_kinds[j] not in (
                    "pct_change", "z"):
                continue
            v = t.rows[i][j]
            if v is None or not float(v):
                continue
            up = float(v) > 0
            cell = self.ws.cell(row=first_row + i, column=first_col + j)
            bad = up == up_is_bad
            apply_style(cell, st.CELL_FONTS[("bad" if bad else "good", strength == "significant")], copy(cell.border),
                        st.BAD_FILL if bad else st.GOOD_FILL, copy(cell.alignment), cell.number_format)

    # ---- widths and heights -----------------------------------------------------------------------------------------
    def want_width(self, col: int, width: float) -> None:
        self._want_width(col, width)

    def _want_width(self, col: int, width: float) -> None:
        if width > self._widths.get(col, 0.0):
            self._widths[col] = width

    def _note_width_span(self, a: int, b: int, width: float) -> None:
        # A merged band only needs the sum of its columns to be wide enough: spread any shortfall over them.
        have = sum(max(self._widths.get(c, MIN_WIDTH), MIN_WIDTH) for c in range(a, b + 1))
        if width > have:
            extra = (width - have) / (b - a + 1)
            for c in range(a, b + 1):
                self._widths[c] = max(self._widths.get(c, MIN_WIDTH), MIN_WIDTH) + extra

    def width(self, col: int) -> float:
        return max(self._widths.get(col, 0.0), MIN_WIDTH)

    @property
    def max_col(self) -> int:
        return self._max_col

    def finish(self, freeze: str | None = "auto", print_area: str | None = None, landscape: bool = True,
               fill: bool = True) -> None:
        ws = self.ws
        for a, b, w in self._group_widths:
            self._note_width_span(a, b, w)
        for first, width_pt in self._images:  # the printed width reaches the picture's right edge
            col, total = first, 0.0
            while total + 1 < width_pt:
                if col > self._max_col:
                    self.extend_to(col)
                total += self.column_points(col)
                col += 1
        self._landscape = landscape
        self.paper, self.print_scale = self._fit_paper(fill)
        for col in range(1, self._max_col + 1):
            ws.column_dimensions[get_column_letter(col)].width = round(self.width(col), 1)

        stretched = {}  # (row, col) -> the last column its merged cell reaches
        for header_row, first, last, col in self._stretched:
            if col >= self._max_col:
                continue
            for r in [header_row, *range(first, last + 1)]:
                cell = ws.cell(row=r, column=col)
                for c in range(col + 1, self._max_col + 1):  # the merged cell's border and fill run to its end
                    other = ws.cell(row=r, column=c)
                    other.border, other.fill = copy(cell.border), copy(cell.fill)
                ws.merge_cells(start_row=r, start_column=col, end_row=r, end_column=self._max_col)
                stretched[(r, col)] = self._max_col
        heights: dict[int, float] = {}
        for r, c, text, size in self._wrapped:
            span = range(c, stretched.get((r, c), c) + 1)
            lines = _line_count(text, sum(self.width(k) for k in span), size)
            heights[r] = max(heights.get(r, 0.0), lines * LINE_HEIGHT * size / st.FONT_SIZE + 2)
        for sp in self._spans:
            last = sp.last_col if sp.last_col is not None else max(self._max_col, 1)
            if last > sp.first_col:
                ws.merge_cells(start_row=sp.row, start_column=sp.first_col, end_row=sp.row, end_column=last)
            total = sum(self.width(c) for c in range(sp.first_col, last + 1))
            lines = _line_count(sp.text, total, sp.size)
            heights[sp.row] = max(heights.get(sp.row, 0.0), lines * LINE_HEIGHT * sp.size / st.FONT_SIZE + 3)
        for r, h in heights.items():
            h = max(h, self._fixed_heights.get(r, 0.0))
            if h > 16:  # the default height fits one line: leave those rows alone
                ws.row_dimensions[r].height = round(h, 1)
        for r, h in self._fixed_heights.items():
            if r not in heights:
                ws.row_dimensions[r].height = h

        # Frozen header: when the sheet has one header (one table, or tables sharing their columns) it stays in view
        # with the label column, and prints on every page; otherwise the sheet heading does.
        header_rows = None
        if freeze == "auto":
            if len(self._headers) == 1:
                top, header_row, fc = self._headers[0]
                freeze = f"{get_column_letter(fc + 1)}{header_row + 1}"
                header_rows = (top, header_row)
            elif self.heading_rows:
                freeze = f"A{self.heading_rows + 1}"
            else:
                freeze = None
        if freeze:
            ws.freeze_panes = freeze
        if self._images and header_rows and self.heading_rows:
            header_rows = None  # a table header repeated above a map page would head nothing: repeat the heading
        if header_rows:
            ws.print_title_rows = f"{header_rows[0]}:{header_rows[1]}"
        elif self.heading_rows:
            ws.print_title_rows = f"1:{self.heading_rows}"

        setup_print(ws, self.footer_text, landscape=landscape, paper=self.paper[3],
                    scale=None if self.print_scale >= MIN_PRINT_SCALE - 1e-9 and self._fits_width() else
                    round(100 * MIN_PRINT_SCALE))
        if not self._fits_width():
            ws.print_title_cols = "A:A"  # too wide for one page even on Tabloid: the row labels on every page
        ws.print_area = print_area or f"A1:{get_column_letter(self._max_col)}{max(self.row - 1, 1)}"
        self._page_breaks(landscape, header_rows or ((1, self.heading_rows) if self.heading_rows else None))

    def printed_width(self) -> float:
        """The sheet's columns' width in points at 100%."""
        return sum(self.column_points(c) for c in range(1, self._max_col + 1))

    def _fits_width(self) -> bool:
        return self.printed_width() * MIN_PRINT_SCALE <= self._avail_width(self.paper) + 0.5

    def _avail_width(self, paper) -> float:
        """Printable width in points of ``paper`` in this sheet's orientation."""
        width = paper[1] if getattr(self, "_landscape", True) else paper[2]
        return (width - PRINT_MARGIN_LR * 2) * 72

    def _fit_paper(self, fill: bool = True):
        """(paper, scale): the smallest paper on which the sheet prints one page wide at MIN_PRINT_SCALE or more;
        spare width is spread over the columns (at most MAX_FILL times their width) so the tables fill it."""
        total = self.printed_width()
        paper = next((p for p in PAPERS if total * MIN_PRINT_SCALE <= self._avail_width(p)), PAPERS[-1])
        avail = self._avail_width(paper)
        if fill and total and total < avail:
            # column points are 0.75 * (7 w + 5): widen the widths so the columns add up to the page (or MAX_FILL)
            factor = min(MAX_FILL, avail / total)
            target = total * factor * 0.985  # a hair under: the print engines round column widths up
            cols = range(1, self._max_col + 1)
            pad = sum(0.75 * 5 for _ in cols)
            k = (target - pad) / max(total - pad, 1.0)
            for c in cols:
                self._widths[c] = self.width(c) * k
            total = self.printed_width()
        return paper, min(1.0, avail / total) if total else 1.0

    def _page_breaks(self, landscape: bool, title_rows) -> None:
        """Start a table on a new page when it would be cut and fits on one page by itself.

        Simulates the printout: fit to one page wide sets the scale from the columns' total width; rows then fill
        pages of the printable height (less the repeated title rows)."""
        from openpyxl.worksheet.pagebreak import Break

        ws = self.ws
        paper = getattr(self, "paper", PAPERS[0])
        page_w, page_h = (paper[1], paper[2]) if landscape else (paper[2], paper[1])
        m = ws.page_margins
        avail_w = (page_w - m.left - m.right) * 72
        avail_h = (page_h - m.top - m.bottom) * 72 * 0.97  # a little slack for rounding in the print engines
        total_w = sum(self.column_points(c) for c in range(1, self._max_col + 1))
        scale = min(1.0, avail_w / total_w) if total_w else 1.0
        scale = max(scale, MIN_PRINT_SCALE)  # a sheet too wide for the paper prints at the minimum across pages

        def height(r: int) -> float:
            h = ws.row_dimensions[r].height if r in ws.row_dimensions else None
            return (h or 15.0) * scale

        titles = sum(height(r) for r in range(title_rows[0], title_rows[1] + 1)) if title_rows else 0.0
        starts: dict[int, int] = {}
        for a, b in self._blocks:
            starts[a] = max(b, starts.get(a, a))
        y, first_page = 0.0, True
        last = self.row
        r = 1
        while r <= last:
            cap = avail_h - (0.0 if first_page else titles)
            if r in self._page_starts and y > 0:
                ws.row_breaks.append(Break(id=r - 1))
                y, first_page = 0.0, False
                cap = avail_h - titles
            elif r in starts and y > 0:
                block = sum(height(k) for k in range(r, starts[r] + 1))
                # a block that fits on a page starts a new one rather than be cut; a longer one at least brings
                # its title, header and a few rows (never a heading alone at the foot of a page)
                head = sum(height(k) for k in range(r, min(r + ORPHAN_ROWS, starts[r]) + 1))
                if (y + block > cap and block <= avail_h - titles) or (block > avail_h - titles and y + head > cap):
                    ws.row_breaks.append(Break(id=r - 1))
                    y, first_page = 0.0, False
                    cap = avail_h - titles
            h = height(r)
            if y + h > cap:
                y, first_page = 0.0, False
            y += h
            r += 1


PRINT_MARGIN_LR = 0.4  # inches, left and right


def setup_print(ws, footer_text: str = "", landscape: bool = True, paper: int = 1, scale: int | None = None) -> None:
    """Landscape (or portrait) on ``paper`` (OOXML paperSize: 1 Letter, 3 Tabloid), one page wide and as many
    tall as needed (or, with ``scale``, at that percentage across pages), narrow margins, a page footer."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = paper
    if scale is None:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    else:
        ws.page_setup.scale = scale
        ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = PRINT_MARGIN_LR
    ws.page_margins.top = 0.5
    ws.page_margins.bottom = 0.6
    ws.page_margins.header = 0.2
    ws.page_margins.footer = 0.25
    # Header/footer codes: &A sheet name, &P page, &N pages. "&" in our own text must be doubled.
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.left.size = 8
    ws.oddFooter.center.text = "Page &P of &N"
    ws.oddFooter.center.size = 8
    if footer_text:
        ws.oddFooter.right.text = st.clean_text(footer_text).replace("&", "&&")[:200]
        ws.oddFooter.right.size = 8


# ---- helpers --------------------------------------------------------------------------------------------------------
def _wrapped_width(text: str, lines: int) -> float:
    """The width a label needs to fit on ``lines`` lines without breaking a word."""
    words = str(text).split() or [""]
    return max(max(len(w) for w in words), math.ceil(len(str(text)) / lines)) * 1.1 + 2


def _header_width(name: str) -> float:
    """A header may wrap onto up to three lines, but never break inside a word."""
    words = name.split() or [""]
    longest = max(len(w) for w in words)
    return max(longest * 1.1 + 2, math.ceil(len(name) / 3) * 1.1 + 2, MIN_WIDTH)


def _line_count(text: str, width_chars: float, size: float) -> int:
    # Column widths count the default font's digit widths; 10-pt proportional text fits ~1.35 characters per unit
    # (measured on LibreOffice output with Carlito).
    chars = max(int((width_chars - 1) * 1.35 * st.FONT_SIZE / size), 4)
    n = 0
    for para in str(text).split("\n"):
        n += max(1, len(textwrap.wrap(para, chars, break_long_words=True)))
    return n


def _valid_groups(groups, ncols: int) -> list[tuple[str, int, int]]:
    """Header bands that can be merged without overlapping (overlaps make Excel repair the file)."""
    out, used = [], set()
    for g in groups or ():
        label, c0, c1 = str(g[0]), int(g[1]), int(g[2])
        if not (0 <= c0 <= c1 < ncols):
            continue
        span = set(range(c0, c1 + 1))
        if span & used:
            continue
        used |= span
        out.append((label, c0, c1))
    return out


def _same_shape(tables: list[ReportTable]) -> bool:
    def sig(t: ReportTable):
        return tuple(map(str, t.columns)), tuple(t.column_kinds), tuple(tuple(g) for g in t.header_groups)

    first = sig(tables[0])
    return all(sig(t) == first for t in tables[1:])

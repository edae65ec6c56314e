"""The meeting packet: one PDF of the Summary, the CompStat grid, the district and target-area tables with their maps,
the hot spots (Gi* map and cells, near repeat, displacement), the trend charts and the shoot review, for a meeting
printed on Letter paper or projected.

It is made from the workbook's own plan (``workbook.plan_workbook``): the same ReportTables, the same maps and the
same trend series, so no figure is computed twice or differently. Cells are shown with ``workstation.formatting``
(the rounding rules the workbook stores under), the chance flags colour the cells the exact test flagged, and † marks
follow the numbers they qualify.

Layout: Letter landscape, reportlab's Platypus. Tables wider than the page are split into column bands (the
grid's week-to-date and 28-day bands, then the year-to-date and long-run bands), the row label repeated in each;
a table longer than a page continues with its header repeated. Body text is 9 pt DejaVu Sans (matplotlib's own font
file, embedded as a subset: no system font is needed and every character of the notes — √, ≥, †, – — prints).
Each page carries the area(s) and the as-of date in its header and "Page n of N" in its footer.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.errors import UserError
from workstation.core.fileio import check_target, write_atomically
from workstation.formatting import change_class, format_value
from workstation.reports.table import ReportTable

PACKET_SECTIONS = ("Summary", "CompStat", "Districts", "Target Areas", "Hot Spots & Displacement", "Trends",
                   "Shoot Review")
FONT, FONT_BOLD, FONT_ITALIC = "PSPSans", "PSPSans-Bold", "PSPSans-Oblique"
BODY_PT = 9.5          # table cells and notes: poppler measures DejaVu words at their point size, and the
HEAD_PT = 9.5          # packet's readability rule is a median word height of 9.5 pt on every page
TITLE_PT = 11.5
SECTION_PT = 15.0
CELL_PAD = 3.0         # points either side of a cell's text
MAX_TEXT_COL = 190.0   # a text column wider than this wraps (points)
BLUE_DARK = "#1F3864"
HEADER_BG = "#DCE6F1"
GROUP_BG = "#B8CCE4"
TOTAL_BG = "#F2F2F2"
GRID_LINE = "#A6A6A6"
# the workbook's change colours (exports/excel_style.py): fill and text of flagged cells
GOOD_BG, GOOD_FG = "#C6EFCE", "#006100"
BAD_BG, BAD_FG = "#FFC7CE", "#9C0006"
CHART_STYLE = (("#1F3864", 2.2, "-"), ("#A6A6A6", 1.6, "-"), ("#C55A11", 1.6, "--"))  # the workbook's SERIES_STYLE


@dataclass
class PacketResult:
    path: Path
    pages: int
    sections: list[tuple[str, int]] = field(default_factory=list)  # (section title, first page)


# ---------------------------------------------------------------------------------------------------------------------
def _register_fonts() -> None:
    """DejaVu Sans from matplotlib's data folder (bundled with the app), registered once."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    files = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf", FONT_ITALIC: "DejaVuSans-Oblique.ttf"}
    missing = [f for f in files.values() if not (folder / f).is_file()]
    if missing:
        raise UserError(f"The packet's font {missing[0]} is missing from {folder}; reinstall the application.")
    for name, f in files.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / f)))
    from reportlab.pdfbase.pdfmetrics import registerFontFamily

    registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD)


def _styles():
    from reportlab.lib.colors import HexColor
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=BODY_PT, leading=BODY_PT * 1.22, alignment=TA_LEFT)
    return {
        "body": base,
        "cell": ParagraphStyle("cell", parent=base),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=FONT_BOLD),
        "num": ParagraphStyle("num", parent=base, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=HEAD_PT, leading=HEAD_PT * 1.2,
                               alignment=TA_CENTER, textColor=HexColor(BLUE_DARK)),
        "note": ParagraphStyle("note", parent=base, fontName=FONT_ITALIC, textColor=HexColor("#404040"),
                               spaceBefore=1, spaceAfter=1),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=TITLE_PT, leading=TITLE_PT * 1.25,
                                textColor=HexColor(BLUE_DARK), spaceBefore=8, spaceAfter=4),
        "section": ParagraphStyle("section", parent=base, fontName=FONT_BOLD, fontSize=SECTION_PT,
                                  leading=SECTION_PT * 1.25, textColor=HexColor(BLUE_DARK), spaceAfter=3),
        "sub": ParagraphStyle("sub", parent=base, fontSize=10, leading=12.5, textColor=HexColor("#404040"),
                              spaceAfter=4),
        "cover": ParagraphStyle("cover", parent=base, fontName=FONT_BOLD, fontSize=22, leading=27,
                                textColor=HexColor(BLUE_DARK), spaceAfter=8),
    }


def _esc(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---- tables ---------------------------------------------------------------------------------------------------------
def _cell_text(t: ReportTable, i: int, j: int) -> str:
    v = t.rows[i][j]
    s = format_value(v, t.column_kinds[j])
    mark = t.cell_marks.get((i, j)) if s else None
    return s + (mark or "")


def _width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)


def _column_widths(t: ReportTable) -> list[float]:
    """Each column's width: its widest cell (text columns capped and wrapped), and its header's longest word (a
    header wraps onto up to three lines, never inside a word)."""
    out = []
    for j, (name, kind) in enumerate(zip(t.columns, t.column_kinds)):
        words = str(name).split() or [""]
        head = max(max(_width(w, FONT_BOLD, HEAD_PT) for w in words), _width(str(name), FONT_BOLD, HEAD_PT) / 3)
        cells = [_cell_text(t, i, j) for i in range(len(t.rows))]
        bold = [t.row_kinds and i < len(t.row_kinds) and t.row_kinds[i] in ("total", "subtotal")
                for i in range(len(t.rows))]
        widest = max([_width(c, FONT_BOLD if b else FONT, BODY_PT) for c, b in zip(cells, bold)] or [0.0])
        w = max(head, widest) + 2 * CELL_PAD + 1
        if kind in ("label", "text"):
            w = min(w, MAX_TEXT_COL)
        out.append(max(w, 24.0))
    return out


def _bands(t: ReportTable) -> list[list[int]]:
    """Runs of columns that belong together (a header group, else one column), the label column excluded."""
    cover = {}
    for label, c0, c1 in t.header_groups or ():
        for c in range(int(c0), int(c1) + 1):
            cover.setdefault(c, (int(c0), int(c1)))
    bands, j = [], 1
    while j < len(t.columns):
        if j in cover:
            c0, c1 = cover[j]
            bands.append(list(range(j, c1 + 1)))
            j = c1 + 1
        else:
            bands.append([j])
            j += 1
    return bands


def split_columns(t: ReportTable, widths: list[float], frame_width: float) -> list[list[int]]:
    """Column index lists, each starting with the label column, that fit ``frame_width``: whole bands (header
    groups) in order, as few parts as possible and as even as possible (the grid's week-to-date and 28-day bands,
    then its year-to-date and long-run bands with the flags); a band is split only when it alone is too wide."""
    if sum(widths) <= frame_width or len(t.columns) < 2:
        return [list(range(len(t.columns)))]
    room = frame_width - widths[0]
    units = []  # bands, or single columns of a band too wide by itself
    for band in _bands(t):
        if sum(widths[c] for c in band) > room:
            units += [[c] for c in band]
        else:
            units.append(band)

    def pack(cap: float) -> list[list[int]]:
        chunks, cur, used = [], [], 0.0
        for u in units:
            w = sum(widths[c] for c in u)
            if cur and used + w > cap:
                chunks.append(cur)
                cur, used = [], 0.0
            cur += u
            used += w
        return chunks + ([cur] if cur else [])

    fewest = len(pack(room))
    lo = max(sum(widths[c] for c in u) for u in units)
    hi = room
    for _ in range(30):  # the smallest capacity that still needs no more parts: the most even split
        mid = (lo + hi) / 2
        if len(pack(mid)) <= fewest:
            hi = mid
        else:
            lo = mid
    return [[0] + c for c in pack(hi)]


def fit_text_columns(t: ReportTable, widths: list[float], frame_width: float) -> list[float]:
    """Narrow the text columns (which wrap) towards their longest word before a table is split into parts."""
    over = sum(widths) - frame_width
    if over <= 0:
        return widths
    out = list(widths)
    slack = {}
    for j, kind in enumerate(t.column_kinds):
        if kind in ("label", "text"):
            words = [w for i in range(len(t.rows)) for w in _cell_text(t, i, j).split()] + str(t.columns[j]).split()
            floor = max([_width(w, FONT_BOLD, BODY_PT) + 2 * CELL_PAD + 1 for w in words] + [56.0])
            if out[j] > floor:
                slack[j] = out[j] - floor
    total = sum(slack.values())
    if not total:
        return out
    take = min(1.0, over / total)
    for j, sl in slack.items():
        out[j] -= sl * take
    return out


def table_flowables(t: ReportTable, styles, frame_width: float, notes_seen: set[str]) -> list:
    """A ReportTable as one or more reportlab tables (column bands when too wide), its title and its notes."""
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

    # text columns wrap narrower before the table is split: a wrapped address beats a second part
    widths = _column_widths(t)
    fitted = fit_text_columns(t, widths, frame_width)
    if sum(fitted) <= frame_width + 0.5:
        widths = fitted
    chunks = split_columns(t, widths, frame_width)
    out = []
    total = len(chunks)
    for k, cols in enumerate(chunks):
        title = t.title + (f" (part {k + 1} of {total})" if total > 1 else "")
        groups = [(lab, max(c0, 0), c1) for lab, c0, c1 in (t.header_groups or ())]
        in_chunk = [(lab, [cols.index(c) for c in range(c0, c1 + 1) if c in cols]) for lab, c0, c1 in groups]
        in_chunk = [(lab, idx) for lab, idx in in_chunk if idx]
        data, style = [], [
            ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), BODY_PT),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("GRID", (0, 0), (-1, -1), 0.4, HexColor(GRID_LINE)),
        ]
        head_rows = 0
        if in_chunk:
            row = [""] * len(cols)
            for lab, idx in in_chunk:
                row[idx[0]] = Paragraph(_esc(lab), styles["head"])
                if len(idx) > 1:
                    style.append(("SPAN", (idx[0], 0), (idx[-1], 0)))
                style.append(("BACKGROUND", (idx[0], 0), (idx[-1], 0), HexColor(GROUP_BG)))
            data.append(row)
            head_rows += 1
        data.append([Paragraph(_esc(t.columns[c]), styles["head"]) for c in cols])
        style.append(("BACKGROUND", (0, head_rows), (-1, head_rows), HexColor(HEADER_BG)))
        head_rows += 1
        row_kinds = t.row_kinds or []
        for i in range(len(t.rows)):
            strong = i < len(row_kinds) and row_kinds[i] in ("total", "subtotal")
            r = len(data)
            cells = []
            for jj, c in enumerate(cols):
                text = _cell_text(t, i, c)
                kind = t.column_kinds[c]
                if kind in ("label", "text"):
                    cells.append(Paragraph(_esc(text), styles["cell_bold" if strong or (
                        c == len(t.columns) - 1 and t.columns[c] == "Flag" and text) else "cell"]))
                else:
                    cells.append(text)
                    style.append(("ALIGN", (jj, r), (jj, r), "RIGHT"))
                    flag = t.cell_flags.get((i, c))
                    cls = change_class(t.rows[i][c], kind, t.direction) if flag else ""
                    if cls:
                        style += [("BACKGROUND", (jj, r), (jj, r), HexColor(BAD_BG if cls == "bad" else GOOD_BG)),
                                  ("TEXTCOLOR", (jj, r), (jj, r), HexColor(BAD_FG if cls == "bad" else GOOD_FG))]
                        if flag == "significant":
                            style.append(("FONTNAME", (jj, r), (jj, r), FONT_BOLD))
            data.append(cells)
            if strong:
                style += [("FONTNAME", (0, r), (-1, r), FONT_BOLD), ("BACKGROUND", (0, r), (-1, r), HexColor(TOTAL_BG)),
                          ("LINEABOVE", (0, r), (-1, r), 0.9, HexColor("#404040"))]
        col_w = [widths[c] for c in cols]
        if total > 1:  # the parts of a split table fill the page's width, so they line up one under the other
            col_w = [w * frame_width / sum(col_w) for w in col_w]
        tbl = Table(data, colWidths=col_w, repeatRows=head_rows, hAlign="LEFT", splitByRow=1)
        tbl.setStyle(TableStyle(style))
        out.append([Paragraph(_esc(title), styles["title"]), tbl])
    notes = [n for n in t.notes if n not in notes_seen]
    if any(format_value(r[j], k) == "" and k == "pct_change" for r in t.rows for j, k in enumerate(t.column_kinds)) \
            and not any("zero base" in n.lower() for n in t.notes + list(notes_seen)):
        notes.append("A blank % change means the earlier period had no cases (zero base): it is undefined.")
    notes_seen.update(notes)
    # the last part keeps its notes with it (a page that starts with a table's footnotes reads as orphaned)
    out[-1] += [Paragraph(_esc(n), styles["note"]) for n in notes]
    flow = []
    for part in out:
        flow += [KeepTogether(part)] if len(t.rows) <= 25 else part
    return flow + [Spacer(1, 4)]


# ---- maps and charts ------------------------------------------------------------------------------------------------
def map_flowables(title: str, img, styles, frame_w: float, frame_h: float) -> list:
    """A map under its title, at its print size or shrunk to the frame (never enlarged: it is drawn for that size)."""
    from reportlab.platypus import CondPageBreak, Image, KeepTogether, Paragraph

    w, h = img.width_in * 72, img.height_in * 72
    room_h = frame_h - 30
    scale = min(1.0, frame_w / w, room_h / h)
    pic = Image(io.BytesIO(img.png), width=w * scale, height=h * scale)
    pic.hAlign = "CENTER"
    return [CondPageBreak(h * scale + 30), KeepTogether([Paragraph(_esc(title), styles["title"]), pic])]


def trend_chart(table: ReportTable, measure_index: int, title: str, width_in: float, height_in: float,
                dpi: int = 200) -> bytes:
    """A line chart of one measure's band of the Trends table (this year, last year, the previous years' mean),
    styled as the workbook's chart; PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    # "Sep 2019 (1–29)" -> "Sep" over "(1–29)": the year is in the legend, and twelve labels must not collide
    months = [str(r[0]).split()[0] + ("\n" + str(r[0])[str(r[0]).index("("):] if "(" in str(r[0]) else "")
              for r in table.rows]
    x = list(range(len(months)))
    c0 = 1 + 3 * measure_index
    for off, (colour, lw, ls) in enumerate(CHART_STYLE):
        ys = [float(r[c0 + off]) if r[c0 + off] is not None else float("nan") for r in table.rows]
        ax.plot(x, ys, color=colour, linewidth=lw, linestyle=ls, label=str(table.columns[c0 + off]),
                marker="o" if off == 0 else None, markersize=3)
    ax.set_xticks(x)
    ax.set_xticklabels(months, fontsize=8.5)
    ax.tick_params(axis="y", labelsize=8.5)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=10.5, fontweight="bold", loc="left")
    ax.legend(fontsize=8.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.27)
    from workstation.maps.static import figure_png

    return figure_png(fig, dpi)


def trends_flowables(plan, styles, frame_w: float, frame_h: float, check=None) -> list:
    """Per area, the workbook's trend charts (one per measure) two by two on a page."""
    from reportlab.platypus import Image, PageBreak, Paragraph, Table, TableStyle

    measures, tables = plan.trends
    out = []
    if not tables:
        return [Paragraph("No records are loaded for the trend measures.", styles["body"])]
    w_in = (frame_w / 2 - 8) / 72
    h_in = min(3.1, (frame_h - 110) / 2 / 72)  # two rows under the section and area titles
    for n, (ref, t) in enumerate(tables):
        if check is not None:
            check(n / max(len(tables), 1))
        pics = []
        for j, m in enumerate(measures):
            png = trend_chart(t, j, f"{m.label} — {ref.label}", w_in, h_in)
            pics.append(Image(io.BytesIO(png), width=w_in * 72, height=h_in * 72))
        rows = [pics[i:i + 2] + [""] * (2 - len(pics[i:i + 2])) for i in range(0, len(pics), 2)]
        grid = Table(rows, colWidths=[frame_w / 2] * 2, hAlign="CENTER")
        grid.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT),   # else empty cells set Helvetica
                                  ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                  ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
        if n:
            out.append(PageBreak())
        out += [Paragraph(_esc(f"Monthly trends — {ref.label}"), styles["title"]), grid]
    seen = set()
    for _ref, t in tables:
        for note in t.notes:
            if note not in seen:
                seen.add(note)
                out.append(Paragraph(_esc(note), styles["note"]))
    return out


# ---- the document ---------------------------------------------------------------------------------------------------
def _doc(out_path, ctx, on_page_sections):
    from reportlab.lib.pagesizes import landscape, letter
    from reportlab.lib.units import inch
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

    page = landscape(letter)
    margin = 0.5 * inch
    doc = BaseDocTemplate(str(out_path), pagesize=page, leftMargin=margin, rightMargin=margin,
                          topMargin=0.75 * inch, bottomMargin=0.7 * inch,
                          title=f"{ctx.footer} — meeting packet", author="PSP Analyst Workstation",
                          subject="CompStat meeting packet", creator="PSP Analyst Workstation")
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", leftPadding=0,
                  rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page_sections)])
    return doc


def _numbered_canvas(header_left: str, header_right: str, footer_right: str, sections: list):
    """A canvas that learns the page count before drawing "Page n of N" (pages are kept and drawn at the end)."""
    from reportlab.lib.colors import HexColor
    from reportlab.pdfgen import canvas as canvas_mod

    class NumberedCanvas(canvas_mod.Canvas):
        def __init__(self, *a, **kw):
            # reportlab starts every page in Helvetica: a font the PDF would leave to the printer, unembedded
            kw["initialFontName"] = FONT
            super().__init__(*a, **kw)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            n = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(n)
                super().showPage()
            super().save()

        def _decorate(self, total: int):
            w, h = self._pagesize
            page = self._pageNumber
            section = ""
            for name, first in sections:
                if first <= page:
                    section = name
            self.saveState()
            self.setFillColor(HexColor("#404040"))
            self.setFont(FONT_BOLD, 9.5)
            self.drawString(36, h - 30, header_left)
            self.setFont(FONT, 9.5)
            right = header_right
            while right and self.stringWidth(right, FONT, 9.5) > w / 2 - 40:
                right = right[:-2].rstrip() + "…" if len(right) > 2 else ""
                right = right.replace("……", "…")
            self.drawRightString(w - 36, h - 30, right)
            self.setStrokeColor(HexColor(GRID_LINE))
            self.setLineWidth(0.5)
            self.line(36, h - 36, w - 36, h - 36)
            self.line(36, 40, w - 36, 40)
            self.setFont(FONT, 9.5)
            self.drawString(36, 27, section)
            self.drawCentredString(w / 2, 27, f"Page {page} of {total}")
            self.drawRightString(w - 36, 27, footer_right)
            self.restoreState()

    return NumberedCanvas


def build_packet(ctx, plans, out_path, progress=None) -> PacketResult:
    """Write the meeting packet of ``plans`` (from ``workbook.plan_workbook(ctx)``) to ``out_path`` (not
    atomically: ``export_packet`` renames it into place)."""
    from reportlab.platypus import PageBreak, Paragraph, Spacer

    from workstation.engine.areas import city_name

    _register_fonts()
    styles = _styles()
    by_name = {p.name: p for p in plans}
    city = city_name(ctx.ws)
    areas = ", ".join(r.label for r in ctx.areas)
    as_of_long = f"{ctx.as_of:%A, %B} {ctx.as_of.day}, {ctx.as_of.year}"
    sections: list[tuple[str, int]] = []
    story = []
    doc = None

    def mark_section(name):
        def at(flowable):
            sections.append((name, flowable.canv.getPageNumber()))
        return at

    from reportlab.platypus.flowables import CallerMacro

    frame_w = 10.0 * 72
    frame_h = 8.5 * 72 - 0.75 * 72 - 0.7 * 72
    wanted = [n for n in PACKET_SECTIONS if n in by_name]
    for k, name in enumerate(wanted):
        plan = by_name[name]
        if progress is not None:
            progress(k / len(wanted) * 0.8)
        if k:
            story.append(PageBreak())
        story.append(CallerMacro(drawCallable=mark_section(name)))
        if name == "Summary":
            story.append(Paragraph(_esc(f"{city} CompStat — meeting packet"), styles["cover"]))
        story.append(Paragraph(_esc(plan.title if name != "Summary" else "Summary"), styles["section"]))
        story.append(Paragraph(_esc(f"As of {as_of_long}. Areas: {areas}."), styles["sub"]))
        if ctx.scenario is not None:
            base = ctx.scenario_base.name if ctx.scenario_base is not None else "no base area"
            story.append(Paragraph(_esc(f"What-if scenario '{ctx.scenario.name}' replaces {base}."), styles["sub"]))
        seen: set[str] = set()
        if plan.trends is not None:
            story += trends_flowables(plan, styles, frame_w, frame_h)
            continue
        for kind, v in plan.blocks:
            if kind == "tables":
                for t in v:
                    story += table_flowables(t, styles, frame_w, seen)
            elif kind == "table":
                story += table_flowables(v, styles, frame_w, seen)
            elif kind == "map":
                story += map_flowables(v[0], v[1], styles, frame_w, frame_h)
            elif kind == "heading":
                story.append(Paragraph(_esc(v), styles["title"]))
            else:
                story += [Paragraph(_esc(v), styles["body"]), Spacer(1, 4)]
    doc = _doc(out_path, ctx, lambda c, d: None)
    canvas_cls = _numbered_canvas(f"{city} CompStat — meeting packet", f"Areas: {areas}",
                                  f"As of {ctx.as_of:%Y-%m-%d}", sections)
    doc.build(story, canvasmaker=canvas_cls)
    if progress is not None:
        progress(1.0)
    return PacketResult(Path(out_path), doc.page, sections)


def export_packet(ctx, plans, out_path, progress=None) -> PacketResult:
    """Write the packet atomically (a failed write leaves any earlier file in place)."""
    out = Path(out_path)
    if out.suffix.lower() != ".pdf":
        raise UserError(f"The meeting packet's name {out.name} must end in .pdf.")
    check_target(out, "the meeting packet")
    result: list[PacketResult] = []

    def write(tmp: Path) -> None:
        result.append(build_packet(ctx, plans, tmp, progress))

    write_atomically(out, write, what="the meeting packet")
    r = result[0]
    return PacketResult(out, r.pages, r.sections)


def export_outputs(ws, xlsx=None, pdf=None, as_of=None, area_keys=None, scenario=None, progress=None,
                   should_stop=None, *, history_years=None) -> list[Path]:
    """The workbook (``xlsx``), the meeting packet (``pdf``) or both, from one analysis: both show the same
    figures. Each file is written atomically; returns the paths written."""
    from workstation.exports.workbook import export_context, plan_workbook, save_atomic, write_workbook

    if xlsx is None and pdf is None:
        raise UserError("Name a workbook (.xlsx), a meeting packet (.pdf) or both to export.")
    if xlsx is not None:
        xlsx = Path(xlsx)
        if xlsx.suffix.lower() != ".xlsx":
            raise UserError(f"The workbook name {xlsx.name} must end in .xlsx.")
        check_target(xlsx, "the workbook")
    if pdf is not None:
        pdf = Path(pdf)
        if pdf.suffix.lower() != ".pdf":
            raise UserError(f"The meeting packet's name {pdf.name} must end in .pdf.")
        check_target(pdf, "the meeting packet")
    # the analysis takes the first 70% of the bar, the files the rest
    share = 0.3 if (xlsx is not None and pdf is not None) else 0.0

    def scaled(lo, hi):
        return None if progress is None else (lambda f: progress(lo + (hi - lo) * max(0.0, min(1.0, f))))

    ctx = export_context(ws, as_of, area_keys, scenario, scaled(0.0, 1.0 - share), should_stop,
                         history_years=history_years)
    ctx.check(0.0)
    plans = plan_workbook(ctx)
    written = []
    if xlsx is not None:
        wb = write_workbook(ctx, plans)
        ctx.check(0.95)
        save_atomic(wb, xlsx)
        written.append(xlsx)
    if pdf is not None:
        ctx.progress = scaled(0.7 if xlsx is None else 1.0 - share, 1.0)
        ctx.check(0.0)
        export_packet(ctx, plans, pdf, progress=lambda f: ctx.check(f))
        written.append(pdf)
    if progress is not None:
        progress(1.0)
    return written


__all__ = ["export_packet", "export_outputs", "build_packet", "PacketResult", "PACKET_SECTIONS", "split_columns",
           "trend_chart"]

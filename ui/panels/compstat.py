"""CompStat panel: the grid for the selected area and as-of date, coloured by change, with drill-through."""
from __future__ import annotations

import logging
import html

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea,
                               QTableView, QToolTip, QVBoxLayout, QWidget)

from workstation import formatting
from workstation.reports.rules import exact_p
from workstation.core.errors import UserError
from ui.models.report_model import ReportModel, cell_texts
from ui.panels.base import StatePanel
from ui.widgets.wrapping_label import WrappingLabel
from ui.widgets.grouped_header import GroupedHeader
from ui.workers import TaskRunner

log = logging.getLogger(__name__)

WINDOW_NAMES = {"WTD": "Week to date", "28d": "28 days", "YTD": "Year to date"}


def compstat_tables(ws, area_key: str, as_of):
    from workstation.reports.compstat import compstat_grid

    return compstat_grid(ws, area_key, as_of)


def records_behind(ws, key: dict):
    from workstation.reports.compstat import records_behind as behind

    return behind(ws, key["measure"], key["area"], key["window"], key["as_of"])


def measure_definition(ws, measure_id: str) -> str:
    try:
        from workstation.engine.analysis import analysis_for

        return analysis_for(ws).catalog.get(measure_id).definition()
    except Exception:  # noqa: BLE001 - a tooltip must never break the grid
        log.warning("The definition of %s could not be made for its tooltip", measure_id, exc_info=True)
        return ""


def boundary_text(ws, key: str) -> str:
    """' · boundary version 3, 1.25 sq mi' for an area with a boundary ('' citywide): the grid's subtitle."""
    if ":" not in key:
        return ""
    kind, name = key.split(":", 1)
    a = ws.area(name, kind)
    if a is None:
        return ""
    try:
        from workstation.engine.areas import resolve_area

        sq = resolve_area(ws, key).sq_miles
    except Exception:  # noqa: BLE001
        log.warning("The area %s has no size to show", key, exc_info=True)
        sq = None
    bits = [f"boundary version {a.version}"]
    if sq:
        bits.append(f"{sq:,.2f} sq mi")
    return " · " + ", ".join(bits)


class CompStatPanel(StatePanel):
    def __init__(self, state, parent=None) -> None:
        super().__init__(state, parent)
        self.model = ReportModel(self)
        self.model.display["Flag"] = compact_flag

        self._make_heading()
        self.copy_button = QPushButton("Copy grid")
        self.copy_button.setToolTip("Copy the whole grid as shown, for a spreadsheet or an e-mail")
        self.copy_button.clicked.connect(self.copy_grid)
        self.legend = WrappingLabel(
            "<span style='background:#f6c9c3'>&nbsp;up&nbsp;</span> "
            "<span style='background:#c6e5c3'>&nbsp;down&nbsp;</span> for crime "
            "(reversed for activity); stronger colour and ▲ ▼ flags from the exact binomial test of the two counts "
            "(C of C + P at ½, two-sided): p < 0.05 notable, p < 0.01 significant (▲▲ ▼▼); 1–3 vs 0 is never "
            "flagged. z = √2·(√C − √P). † a dataset ends before the as-of date (see notes). "
            "Double-click a count to see its records.")
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: palette(placeholder-text);")

        self.table = QTableView(self)
        self.header = GroupedHeader(self.table)
        self.table.setHorizontalHeader(self.header)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setShowGrid(True)
        self.table.setMouseTracking(True)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.viewport().installEventFilter(self)

        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        notes_area = QScrollArea()
        notes_area.setWidget(self.notes)
        notes_area.setWidgetResizable(True)
        notes_area.setFrameShape(QScrollArea.Shape.NoFrame)
        notes_area.setMaximumHeight(5 * self.fontMetrics().height() + 8)
        notes_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.notes_area = notes_area

        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        top.addLayout(titles, 1)
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignBottom)
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.setContentsMargins(8, 8, 8, 6)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.legend)
        lay.addWidget(notes_area)
        self._stack_states(content, "No records yet", "The CompStat grid appears here once the workspace holds "
                           "offenses, shootings, calls or activity. Import this week's exports, or look around the "
                           "demo workspace first.")

        self.drill_dialog = None
        self.drills = TaskRunner(self)     # a big workspace's records behind a count, found off the UI thread
        self.drills.finished.connect(self._drill_done)
        self.drills.failed.connect(lambda message, _details: self._drill_failed(message))
        state.workspace_changed.connect(self.mark_stale)
        state.selection_changed.connect(self.mark_stale)
        state.data_changed.connect(lambda _w: self.mark_stale())

    def refresh(self) -> None:
        if not self._begin_refresh():
            return
        ws = self.state.workspace
        if ws is None or self.state.as_of is None:
            self.model.set_tables([])
            self.title.setText("CompStat")
            self.subtitle.setText("No records yet: import data (Ctrl+I) to see the grid.")
            self.notes.setText("")
            self.stack.setCurrentWidget(self.empty)
            return
        area_key, as_of, display = self.state.area_key, self.state.as_of, dict(self.model.display)

        def figures():
            tables = compstat_tables(ws, area_key, as_of)
            return tables, cell_texts(tables, display), boundary_text(ws, area_key)

        self.compute(figures, self._show_tables, self._show_problem)

    def _show_problem(self, message: str) -> None:
        self.stack.setCurrentIndex(0)
        self.model.set_tables([])
        self.title.setText("CompStat")
        self.subtitle.setText(message)
        self.notes.setText("")

    def _show_tables(self, figures) -> None:
        """The model swap (on the UI thread); the tables were computed for the state's current area and date."""
        tables, texts, boundary = figures
        ws = self.state.workspace
        self.stack.setCurrentIndex(0)
        self.model.set_tables(tables, texts=texts)
        self._layout_grid()
        from workstation.engine.areas import area_label

        self.title.setText(f"CompStat — {area_label(ws, self.state.area_key)}")
        self.subtitle.setText(f"As of {self.state.as_of:%A %d %B %Y}" + boundary)
        notes = []
        for t in tables:
            for n in t.notes:
                if n not in notes:
                    notes.append(n)
        self.notes.setText("<br>".join(html.escape(n) for n in notes))

    def _layout_grid(self) -> None:
        m = self.model
        self.table.clearSpans()
        for row in m.section_rows():
            self.table.setSpan(row, 0, 1, m.columnCount())
        groups, labels = [], {}
        as_of = self.state.as_of
        year = as_of.year if as_of is not None else None
        if m.tables:
            spans = window_spans(as_of)
            for text, first, last in m.tables[0].header_groups:
                name, _sep, rest = text.partition(":")
                short = next((k for k, v in WINDOW_NAMES.items() if v == name.strip()), None)
                sub = spans.get(short, rest.strip())
                if name.strip().lower().startswith("long run") and year:
                    sub = f"YTD {year - 2} · 5-yr avg {year - 5}–{year - 1}"
                groups.append((name.strip(), sub, first, last))
            for c, col in enumerate(m.columns):
                labels[c] = _short_label(col, year)
        self.header.set_groups(groups, labels)
        hh = self.header
        fm = self.fontMetrics()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        label_w = max([fm.horizontalAdvance(str(m.value(r, 0) or "")) for r in range(m.rowCount())
                       if not m.is_section(r)] + [120]) + 20
        self.table.setColumnWidth(0, min(label_w, 260))
        for c in range(1, m.columnCount()):
            widest = max([fm.horizontalAdvance(m.data(m.index(r, c)) or "") for r in range(m.rowCount())] + [0])
            words = (labels.get(c) or "").split()
            head = max((fm.horizontalAdvance(w) for w in words), default=0)
            self.table.setColumnWidth(c, max(widest + 14, head + 14, 44))
        if m.columns and m.kinds[-1] == "text":
            hh.setSectionResizeMode(m.columnCount() - 1, QHeaderView.ResizeMode.Stretch)
        hh.setMinimumHeight(hh.sizeHint().height())

    # ---- tooltips: the counts, z and the rule for blanks ----
    def eventFilter(self, obj, e) -> bool:
        if obj is self.table.viewport() and e.type() == QEvent.Type.ToolTip:
            idx = self.table.indexAt(e.pos())
            text = self.tooltip_for(idx.row(), idx.column()) if idx.isValid() else ""
            if text:
                QToolTip.showText(e.globalPos(), text, self.table.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(obj, e)

    def tooltip_for(self, row: int, col: int) -> str:
        m = self.model
        if m.is_section(row):
            return ""
        t, r = m.locate(row)
        vals = t.rows[r]
        label = vals[0]
        if col == 0:
            key = next((k for (rr, _c), k in t.cell_keys.items() if rr == r), None)
            text = f"<b>{html.escape(str(label))}</b>"
            if key:
                d = measure_definition(self.state.workspace, key["measure"])
                if d:
                    text += f"<br>{html.escape(d)}"
            flag = vals[-1] if t.column_kinds[-1] == "text" else ""
            if flag:
                text += f"<br>Flag: {html.escape(str(flag))}"
            return text
        for title, sub, first, last in self.header.groups:
            if first <= col <= last:
                return self._window_tooltip(t, r, title, sub, first, last, col)
        return f"<b>{html.escape(str(label))}</b><br>{html.escape(m.columns[col])}: " \
               f"{html.escape(formatting.format_value(vals[col], t.column_kinds[col]))}"

    def _window_tooltip(self, t, r, title, sub, first, last, col) -> str:
        vals = t.rows[r]
        kinds = t.column_kinds
        lines = [f"<b>{html.escape(str(vals[0]))}</b> — {html.escape(title)}"]
        if sub:
            lines.append(html.escape(sub))
        for c in range(first, last + 1):
            name = t.columns[c]
            shown = formatting.format_value(vals[c], kinds[c]) or "blank"
            lines.append(f"{html.escape(name)}: <b>{html.escape(shown)}</b>")
        cur, prev = vals[first], vals[first + 1]
        pct_cols = [c for c in range(first, last + 1) if kinds[c] == "pct_change"]
        z_cols = [c for c in range(first, last + 1) if kinds[c] == "z"]
        if z_cols and vals[z_cols[0]] is not None and cur is not None and prev is not None:
            z = vals[z_cols[0]]
            p = exact_p(cur, prev)
            strength = t.cell_flags.get((r, z_cols[0]), "")
            lines.append(f"z = √2·(√C − √P) = {formatting.format_value(z, 'z')}; exact binomial test "
                         f"({_num(cur)} of {_num(cur + prev)} at ½, two-sided): p = {_p_text(p)}"
                         + (f": {strength} (p < {0.01 if strength == 'significant' else 0.05})" if strength
                            else ": within what chance alone would give (p ≥ 0.05)"))
        marks = {t.cell_marks.get((r, c)) for c in range(first, last + 1)} - {None}
        if marks:
            lines += [html.escape(n) for n in t.notes if any(n.startswith(mk) for mk in marks)]
        for c in pct_cols:
            if vals[c] is None:
                base = vals[c - 1] if kinds[c - 1] in ("count", "decimal1") and c - 1 > first else prev
                if prev is None or cur is None:
                    lines.append(f"{html.escape(t.columns[c])} is blank: the earlier window predates the first "
                                 "record of this dataset (unknown, not zero).")
                elif base == 0 or prev == 0:
                    lines.append(f"{html.escape(t.columns[c])} is blank: a % change from a zero base is undefined.")
                else:
                    lines.append(f"{html.escape(t.columns[c])} is blank: its base is unknown.")
        key = t.cell_keys.get((r, col))
        if key:
            lines.append("<i>Double-click to see the records behind this number.</i>")
        return "<br>".join(lines)

    # ---- drill-through ----
    def _double_clicked(self, index) -> None:
        self.drill(index.row(), index.column())

    def drill(self, row: int, col: int, exec_dialog: bool = True):
        """The records behind a count, in a dialog. On a big workspace they are found in a worker (a citywide YTD
        count of 10M calls is a million records to take out) with a busy cursor meanwhile; the dialog opens when they
        arrive, unless the analyst has drilled into another cell since. Returns the dialog when ``exec_dialog`` is
        False and it was made at once (tests); else None (``drill_dialog`` then holds it when it opens)."""
        key = self.model.cell_key(row, col)
        ws = self.state.workspace
        if not key or ws is None:
            self.status_message.emit("Double-click a count (not a change or an average) to see its records.")
            return None
        t, r = self.model.locate(row)
        measure, cell_text = t.rows[r][0], self.model.data(self.model.index(row, col))
        self.drill_dialog = None
        if self.state.big:
            def find(progress, should_stop):
                try:
                    return records_behind(ws, key), measure, key, cell_text, exec_dialog
                except ValueError as exc:  # not a count: the sentence, as at once below
                    raise UserError(str(exc)) from exc

            self.drills.start(find, "finding the records behind the count")
            self.table.viewport().setCursor(Qt.CursorShape.BusyCursor)
            self.status_message.emit("Finding the records behind the count…")
            return None
        try:
            df = records_behind(ws, key)
        except (UserError, ValueError) as exc:
            self.status_message.emit(str(exc))
            return None
        return self._show_drill(df, measure, key, cell_text, exec_dialog)

    def _show_drill(self, df, measure, key: dict, cell_text, exec_dialog: bool):
        from workstation.engine.areas import area_label
        from ui.dialogs.drill import show_records_behind

        dlg = show_records_behind(self, df, measure, area_label(self.state.workspace, key["area"]), cell_text,
                                  exec_dialog)
        self.drill_dialog = dlg
        return dlg

    def _drill_done(self, result) -> None:
        self.table.viewport().unsetCursor()
        self.status_message.emit("")
        self._show_drill(*result)

    def _drill_failed(self, message: str) -> None:
        self.table.viewport().unsetCursor()
        self.status_message.emit(message)

    def shutdown(self) -> None:
        self.drills.cancel()
        self.drills.wait()
        super().shutdown()

    def copy_grid(self) -> str:
        from ui.dialogs.drill import copy_table

        return copy_table(self.model, ["\t".join(self.model.columns)])


def _num(x) -> str:
    return formatting.format_value(x, "count")


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


FLAG_SHORT = {"notable rise": "▲", "significant rise": "▲▲", "notable fall": "▼", "significant fall": "▼▼",
              "small counts early in the year": "small n"}


def compact_flag(text) -> str:
    """'28d: notable fall; YTD: significant fall' -> '28d ▼  YTD ▼▼' (the full words are in the tooltip)."""
    if not text:
        return ""
    out = []
    for part in str(text).split(";"):
        window, _sep, word = part.strip().partition(":")
        short = FLAG_SHORT.get(word.strip())
        if short is None:
            return str(text)
        out.append(f"{window.strip()} {short}")
    return "  ".join(out)


def _day_month(d) -> str:
    return f"{d.day} {d:%b}"


def window_spans(as_of) -> dict[str, str]:
    """Short band subtitles: '23–29 Sep 2019 vs 2018' (the prior window is the same month-day span)."""
    if as_of is None:
        return {}
    from workstation.engine.periods import window

    out = {}
    for short, kind in (("WTD", "wtd"), ("28d", "28d"), ("YTD", "ytd")):
        w = window(kind, as_of)
        if w.start.month == w.end.month:
            span = f"{w.start.day}–{_day_month(w.end)}"
        else:
            span = f"{_day_month(w.start)}–{_day_month(w.end)}"
        if w.start.year != w.end.year:
            span = f"{_day_month(w.start)} {w.start.year}–{_day_month(w.end)}"
        out[short] = f"{span} {w.end.year} vs {w.end.year - 1}"
    return out


def _short_label(col: str, year: int | None) -> str:
    """Column labels under a group band: the window name is in the band, so 'YTD prior' becomes '2018'."""
    if col.startswith("YTD ") and "ago" in col and year:
        return f"YTD {year - 2}"
    if col.startswith("YTD ") and col[4:].isdigit():  # a long-run column already named by its year
        return col
    for short in ("WTD", "28d", "YTD"):
        if col == short:
            return str(year) if year else "Now"
        if col.startswith(short + " "):
            rest = col[len(short) + 1:]
            if rest == "prior":
                return str(year - 1) if year else "Prior"
            return {"diff": "Diff", "% chg": "% chg", "z": "z"}.get(rest, rest)
    if col.startswith("YTD ") and "ago" in col and year:
        return f"YTD {year - 2}"
    if col.endswith("avg YTD"):
        return col.replace(" YTD", "")
    if col.endswith("% chg"):
        return "% chg"
    return col

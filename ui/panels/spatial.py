"""Hot Spots tab: the spatial analyses of issue 10 in the app — Gi* hot spots (with kernel density), emerging hot
spots, near repeat (Knox test) and displacement (weighted displacement quotient).

The area follows the area bar; "Drawn boundary" analyses the unsaved shape being edited on the map (kept in the
workspace as the map's draft). Every analysis runs in a worker with progress and Cancel. The Knox table is coloured
as the Near Repeat Calculator colours it: cells with a Knox ratio of at least 1.2 and p ≤ 0.05 stand out. "Show on
map" puts the result on the Map tab (Gi* cells, density, emerging categories, or the buffer ring).
"""
from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDoubleSpinBox, QFormLayout, QFrame, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QProgressBar, QPushButton, QScrollArea, QSpinBox, QStackedWidget,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from workstation.core.errors import UserError
from workstation.exports.spatial_sheet import displacement_periods
from workstation.maps.spatial import GI_BIN_COLOURS
from ui.panels.base import StatePanel
from ui.workers import TaskRunner

DRAFT_KEY = "map_boundary_draft"      # where the map keeps the unsaved boundary being edited (ui/map/panel.py)
DRAWN = "__drawn__"
ANALYSES = (("hotspots", "Hot spots (Gi*)"), ("emerging", "Emerging hot spots"), ("near_repeat", "Near repeat (Knox)"),
            ("displacement", "Displacement (WDQ)"), ("risk", "This week's near-repeat risk"))
HIGHLIGHT = QColor("#f4a582")         # NRC: ratio >= 1.2 and p <= 0.05
KNOX_VIEWS = (("knox_ratio", "Knox ratio"), ("observed", "Observed pairs"), ("expected", "Expected pairs"),
              ("p_value", "p-value"))


def _qdate(d) -> QDate:
    d = pd.Timestamp(d)
    return QDate(d.year, d.month, d.day)


def _date(q: QDateEdit) -> str:
    return q.date().toString("yyyy-MM-dd")


def _spin(lo, hi, value, step=1, suffix="") -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setSingleStep(step)
    if suffix:
        s.setSuffix(suffix)
    s.setGroupSeparatorShown(True)
    return s


def _item(text, align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setTextAlignment(align)
    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return it


def _num(v, fmt="{:,.2f}") -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return fmt.format(v) if math.isfinite(v) else "n/a"


def _day(d) -> str:
    try:
        return pd.Timestamp(d).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        return str(d)


def _p(v) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    return "< 0.0001" if v < 0.0001 else f"{v:.4f}" if v < 0.01 else f"{v:.3f}"


class SpatialResults(QWidget):
    """The Hot Spots tab's right side: a summary line, the result table (the Knox table in NRC colours, the hottest
    Gi* cells, ...), the interpretation and the notes of one analysis result."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.knox_view = QComboBox()
        for key, label in KNOX_VIEWS:
            self.knox_view.addItem(label, key)
        self.knox_view.setVisible(False)
        self.table = QTableWidget()
        self.table.setAlternatingRowColors(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.interpretation = QLabel()
        self.interpretation.setWordWrap(True)
        self.interpretation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right = QVBoxLayout(self)
        right.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.knox_view, 0, Qt.AlignmentFlag.AlignBottom)
        right.addLayout(head)
        right.addWidget(self.table, 1)
        right.addWidget(self.interpretation)
        right.addWidget(self.notes)

    def clear(self) -> None:
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.summary.setText("Choose an analysis and press Run.")
        self.interpretation.setText("")
        self.notes.setText("")
        self.knox_view.setVisible(False)

    def show_result(self, r, kind: str) -> None:
        self.knox_view.setVisible(kind == "near_repeat")
        self.interpretation.setText("")
        getattr(self, f"show_{kind}")(r)
        self.table.resizeColumnsToContents()
        for j in range(self.table.columnCount()):   # a long list of addresses: a readable width, all in the tooltip
            if self.table.columnWidth(j) > 420:
                self.table.setColumnWidth(j, 420)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

    def set_table(self, headers, rows, vheaders=None) -> None:
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(headers)
        if vheaders is not None:
            self.table.setVerticalHeaderLabels(vheaders)
            self.table.verticalHeader().show()
        else:
            self.table.verticalHeader().hide()
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                it = _item(text)
                if len(text) > 50:
                    it.setToolTip(text)
                self.table.setItem(i, j, it)

    def show_hotspots(self, r) -> None:
        p = r.params
        bins = r.bin_counts()
        hot = sum(v for k, v in bins.items() if k > 0)
        cold = sum(v for k, v in bins.items() if k < 0)
        self.summary.setText(
            f"<b>{html.escape(p['measure_label'])}</b>, {p['from']} to {p['to']}, {html.escape(p['area_label'])}: "
            f"{r.n_events:,} events on {p['study_cells']:,} cells of {p['cell_ft']:,.0f} ft; distance band "
            f"{p['distance_ft']:,.0f} ft{', FDR' if p.get('fdr') else ''}. <b>{hot:,}</b> hot-spot cells "
            f"({bins[3]:,} at 99%), <b>{cold:,}</b> cold-spot cells. The hottest cells:")
        top = r.top_cells(25)
        headers = ["Rank", "Events", "Gi* z", "p-value", "Confidence", "Density /sq mi", "Centre lat", "Centre lon",
                   "District"]
        rows = [[str(int(t.rank)), f"{t.count:,.0f}", _num(t.gi_z), _p(t.gi_p), BIN_TEXT.get(int(t.gi_bin), ""),
                 _num(t.density, "{:,.0f}"), f"{t.lat:.5f}", f"{t.lon:.5f}", str(t.district)]
                for t in top.itertuples(index=False)]
        self.set_table(headers, rows)
        for i, t in enumerate(top.itertuples(index=False)):
            colour = QColor(BIN_COLOUR.get(int(t.gi_bin), "#ffffff"))
            self.table.item(i, 4).setBackground(QBrush(colour))
            if int(t.gi_bin) == 3:
                self.table.item(i, 4).setForeground(QBrush(QColor("#ffffff")))
        self.notes.setText("<br>".join(html.escape(n) for n in r.notes))

    def show_emerging(self, r) -> None:
        counts = r.category_counts()
        p = r.params
        shown = [(k, v) for k, v in counts.items() if v]
        self.summary.setText(
            f"<b>Emerging hot spots</b>: {html.escape(str(p.get('measure_label', '')))}, {len(r.slices)} time slices "
            f"({r.slices[0]} to {r.slices[-1]}), {len(r.cells):,} cells. Cells per pattern:")
        self.set_table(["Pattern", "Cells", "Definition"],
                        [[k, f"{v:,}", r.definitions.get(k, "")] for k, v in shown])
        for i in range(len(shown)):
            for j in (0, 2):
                self.table.item(i, j).setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.notes.setText("")

    def show_near_repeat(self, r) -> None:
        view = self.knox_view.currentData() or "knox_ratio"
        values = np.asarray(getattr(r, view), dtype="float64")
        ratio = np.asarray(r.knox_ratio, dtype="float64")
        pv = np.asarray(r.p_value, dtype="float64")
        hl = np.asarray(r.highlight, dtype=bool) if getattr(r, "highlight", None) is not None else \
            (ratio >= 1.2) & (pv <= 0.05)
        fmt = {"knox_ratio": lambda v: _num(v), "observed": lambda v: _num(v, "{:,.0f}"),
               "expected": lambda v: _num(v, "{:,.1f}"), "p_value": _p}[view]
        rows = [[fmt(v) for v in line] for line in values]
        self.set_table(list(r.time_bands), rows, list(r.distance_bands))
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if hl[i, j]:
                    it = self.table.item(i, j)
                    it.setBackground(QBrush(HIGHLIGHT))
                    f = it.font()
                    f.setBold(True)
                    it.setFont(f)
        p = r.params
        n_hl = int(hl.sum())
        self.summary.setText(
            f"<b>Near repeat (Knox test)</b>: {html.escape(str(p.get('measure_label', '')))}, {p.get('from')} to "
            f"{p.get('to')}, {html.escape(str(p.get('area_label', '')))}: {r.events:,} events, "
            f"{r.permutations:,} permutations. Rows: distance between the two events of a pair; columns: days "
            f"between them. Shown: {html.escape(self.knox_view.currentText())}. "
            f"<span style='background:{HIGHLIGHT.name()}'>"
            f"&nbsp;Highlighted&nbsp;</span>: Knox ratio ≥ 1.2 and p ≤ 0.05 ({n_hl} cell{'s' if n_hl != 1 else ''}).")
        self.interpretation.setText("<b>Finding:</b> " + html.escape(r.summary()))
        self.notes.setText(html.escape(" ".join(str(n) for n in getattr(r, "notes", []) or [])))

    def show_risk(self, r) -> None:
        ev = r.events
        self.summary.setText(f"<b>This week's near-repeat risk</b>, as of {r.as_of:%Y-%m-%d}: "
                             + html.escape(r.summary))
        rows = []
        for t in ev.itertuples(index=False):
            nearby = t.nearby if isinstance(t.nearby, str) else "; ".join(map(str, t.nearby or []))
            rows.append([_day(t.date), str(t.address or ""), str(t.district or ""), _day(t.window_end),
                         f"{int(t.days_left):,}", f"{int(t.nearby_count):,}", nearby])
        self.set_table(["Date", "Address", "District", "Window open until", "Days left", "Addresses nearby",
                         "Nearby addresses"], rows)
        for i in range(len(rows)):
            for j in (1, 2, 6):
                self.table.item(i, j).setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.knox_view.setVisible(False)
        self.notes.setText(html.escape(r.knox.summary()))

    def show_displacement(self, r) -> None:
        rows, heads = [], []
        for key, name in (("target", "Target area (A)"), ("buffer", "Buffer ring (B)"), ("control", "Control (C)")):
            c = getattr(r, key)
            b, a = c["before"], c["after"]
            ch = f"{(a - b) / b:+.1%}" if b else "n/a"
            heads.append(name)
            rows.append([f"{b:,.0f}", f"{a:,.0f}", ch])
        for name, v in (("Success measure (A₁/C₁ − A₀/C₀)", r.success_measure),
                        ("Buffer measure (B₁/C₁ − B₀/C₀)", r.buffer_measure),
                        ("Weighted displacement quotient", r.wdq), ("Total net effect", r.total_net_effect)):
            heads.append(name)
            rows.append([_num(v, "{:,.4f}") if "measure" in name else _num(v, "{:,.2f}"), "", ""])
        self.set_table(["Before", "After", "Change"], rows, heads)
        p = r.params
        self.summary.setText(
            f"<b>Displacement</b>: {html.escape(str(p.get('measure_label', '')))} in {html.escape(r.target_label)}, "
            f"before {r.before[0]} to {r.before[1]}, after {r.after[0]} to {r.after[1]}; buffer ring "
            f"{r.buffer_ft:,.0f} ft; control: {html.escape(r.control_label)}.")
        self.interpretation.setText("<b>Interpretation:</b> " + html.escape(str(r.interpretation)))
        self.notes.setText(html.escape(" ".join(str(n) for n in getattr(r, "notes", []) or [])))


class SpatialPanel(StatePanel):
    show_on_map = Signal(object)          # a workstation.maps.spatial.SpatialOverlay (or None to take it off)

    def __init__(self, state, parent=None) -> None:
        super().__init__(state, parent)
        self.result = None
        self.result_kind = None
        self.runner = TaskRunner(self)
        self._make_heading("Hot spots, near repeat and displacement")

        # ---- what to analyse ----
        self.analysis_box = QComboBox()
        for key, label in ANALYSES:
            self.analysis_box.addItem(label, key)
        self.measure_box = QComboBox()
        self.measure_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.area_box = QComboBox()
        self.area_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.area_box.setToolTip("The area bar's area, or the unsaved boundary being drawn on the map")
        self.from_edit = QDateEdit()
        self.to_edit = QDateEdit()
        for e in (self.from_edit, self.to_edit):
            e.setCalendarPopup(True)
            e.setDisplayFormat("yyyy-MM-dd")
        # hot spots
        self.cell_spin = _spin(50, 10_000, 500, 50, " ft")
        self.distance_spin = _spin(50, 50_000, 1500, 100, " ft")
        self.bandwidth_spin = _spin(0, 50_000, 0, 100, " ft")
        self.bandwidth_spin.setSpecialValueText("default (ArcGIS rule)")
        self.fdr_box = QCheckBox("False Discovery Rate correction")
        # near repeat
        self.nr_distance_spin = _spin(1, 20_000, 400, 50, " ft")
        self.nr_dbands_spin = _spin(1, 20, 3)
        self.nr_days_spin = _spin(1, 365, 7)
        self.nr_tbands_spin = _spin(1, 20, 4)
        self.nr_perm_spin = _spin(9, 9999, 99, 10)
        self.nr_seed_spin = _spin(0, 2_000_000_000, 1)
        self.nr_manhattan = QCheckBox("Manhattan distance")
        self.recent_spin = _spin(1, 60, 7, 1, " days")
        self.recent_spin.setToolTip("Events of these last days (to the as-of date) whose near-repeat window is open")
        # displacement
        self.before_from, self.before_to, self.after_from, self.after_to = (QDateEdit() for _ in range(4))
        for e in (self.before_from, self.before_to, self.after_from, self.after_to):
            e.setCalendarPopup(True)
            e.setDisplayFormat("yyyy-MM-dd")
        self.buffer_spin = _spin(50, 20_000, 1320, 60, " ft")
        self.control_box = QComboBox()

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.rows: dict[str, list[QWidget]] = {}

        def row(label, widget, *kinds):
            self.form.addRow(label, widget)
            for k in kinds:
                self.rows.setdefault(k, []).append(widget)
            widget.setProperty("formLabel", label)

        row("Analysis:", self.analysis_box)
        row("Measure:", self.measure_box)
        row("Area:", self.area_box)
        period = QWidget()
        pl = QHBoxLayout(period)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.from_edit)
        pl.addWidget(QLabel("to"))
        pl.addWidget(self.to_edit)
        row("Period:", period, "hotspots", "emerging", "near_repeat")
        row("Recent events:", self.recent_spin, "risk")
        row("Cell size:", self.cell_spin, "hotspots", "emerging")
        row("Distance band:", self.distance_spin, "hotspots", "emerging")
        row("Density bandwidth:", self.bandwidth_spin, "hotspots")
        row("", self.fdr_box, "hotspots")
        row("Distance band size:", self.nr_distance_spin, "near_repeat", "risk")
        row("Distance bands:", self.nr_dbands_spin, "near_repeat", "risk")
        row("Time band (days):", self.nr_days_spin, "near_repeat", "risk")
        row("Time bands:", self.nr_tbands_spin, "near_repeat", "risk")
        row("Permutations:", self.nr_perm_spin, "near_repeat", "risk")
        row("Random seed:", self.nr_seed_spin, "near_repeat", "risk")
        row("", self.nr_manhattan, "near_repeat", "risk")
        for label, a, b, key in (("Before:", self.before_from, self.before_to, "b"),
                                 ("After:", self.after_from, self.after_to, "a")):
            w = QWidget()
            wl = QHBoxLayout(w)
            wl.setContentsMargins(0, 0, 0, 0)
            wl.addWidget(a)
            wl.addWidget(QLabel("to"))
            wl.addWidget(b)
            row(label, w, "displacement")
        row("Buffer ring:", self.buffer_spin, "displacement")
        row("Control area:", self.control_box, "displacement")

        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.map_button = QPushButton("Show on map")
        self.map_button.setEnabled(False)
        self.map_button.setToolTip("Put this result on the Map tab")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        buttons = QHBoxLayout()
        for b in (self.run_button, self.cancel_button, self.map_button):
            buttons.addWidget(b)
        box = QGroupBox("Analysis")
        bl = QVBoxLayout(box)
        bl.addLayout(self.form)
        bl.addLayout(buttons)
        bl.addWidget(self.progress)
        bl.addStretch(1)
        box.setMaximumWidth(430)

        # ---- results (SpatialResults: the summary, the table, the interpretation and notes) ----
        self.results = SpatialResults()
        self.summary, self.knox_view, self.table = self.results.summary, self.results.knox_view, self.results.table
        self.interpretation, self.notes = self.results.interpretation, self.results.notes

        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        # the form scrolls rather than setting the window's height: at 150% scaling on a 1080p laptop screen all its
        # rows are taller than the screen, and the whole window would be cut off at the bottom
        form_scroll = QScrollArea()
        form_scroll.setWidget(box)
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        form_scroll.setMaximumWidth(box.maximumWidth() + form_scroll.verticalScrollBar().sizeHint().width())
        form_scroll.setMinimumWidth(box.minimumSizeHint().width() + form_scroll.verticalScrollBar().sizeHint().width())
        body = QHBoxLayout()
        body.addWidget(form_scroll)
        body.addWidget(self.results, 1)
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.setContentsMargins(8, 8, 8, 6)
        lay.addLayout(titles)
        lay.addLayout(body, 1)
        self._stack_states(content, "No records to analyse", "Hot spots, near repeat and displacement work on "
                           "offenses, shootings or calls with coordinates. Import them, or try the demo workspace.")

        # ---- wiring ----
        self.analysis_box.currentIndexChanged.connect(self._analysis_changed)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.map_button.clicked.connect(self._show_on_map)
        self.knox_view.currentIndexChanged.connect(lambda _i: self._show_result())
        self.runner.progress.connect(lambda f: self.progress.setValue(int(1000 * f)))
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)
        self.runner.running_changed.connect(self._running_changed)
        state.workspace_changed.connect(self._workspace_changed)
        state.selection_changed.connect(self._selection_changed)
        state.data_changed.connect(self._data_changed)
        self._filled_for = None
        self._analysis_changed()

    # ------------------------------------------------------------------------------------------------------------
    # choices
    def _workspace_changed(self) -> None:
        self._filled_for = None
        self.result = None
        self._clear_result()
        self.mark_stale()

    def _selection_changed(self) -> None:
        self._fill_areas()
        self._default_dates()

    def _data_changed(self, what: str) -> None:
        if what in ("areas", DRAFT_KEY):
            self._fill_areas()
        elif what in ("offenses", "shootings", "calls", "activity"):
            self._filled_for = None
            self.mark_stale()

    def refresh(self) -> None:
        if not self._begin_refresh():
            return
        ws = self.state.workspace
        if ws is None or not any(len(ws.frames[k]) for k in ("offenses", "shootings", "calls")):
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentIndex(0)
        if self._filled_for is not ws:
            self._filled_for = ws
            self._fill_measures()
            self._fill_areas()
            self._default_dates(force=True)

    def _fill_measures(self) -> None:
        from workstation.engine.measures import catalog_for

        ws = self.state.workspace
        cur = self.measure_box.currentData()
        self.measure_box.blockSignals(True)
        self.measure_box.clear()
        for m in catalog_for(ws).counts():
            if m.dataset in ("offenses", "shootings", "calls") and len(ws.frames[m.dataset]):
                self.measure_box.addItem(m.label, m.id)
        self.measure_box.blockSignals(False)
        self._pick_default_measure(cur)

    def _pick_default_measure(self, current=None) -> None:
        kind = self.analysis_box.currentData()
        want = current or ("burglary" if kind in ("near_repeat", "risk") else "part1_violent")
        i = self.measure_box.findData(want)
        self.measure_box.setCurrentIndex(max(i, 0))

    def _fill_areas(self) -> None:
        from workstation.engine.areas import resolve_area

        ws = self.state.workspace
        cur = self.area_box.currentData()
        self.area_box.blockSignals(True)
        self.area_box.clear()
        if ws is not None:
            key = self.state.area_key or "citywide"
            try:
                label = resolve_area(ws, key).label
            except UserError:
                key, label = "citywide", "Citywide"
            self.area_box.addItem(label, key)
            if self.drawn_geometry() is not None:
                self.area_box.addItem("Drawn boundary (unsaved, on the map)", DRAWN)
        i = self.area_box.findData(cur) if cur == DRAWN else 0
        self.area_box.setCurrentIndex(max(i, 0))
        self.area_box.blockSignals(False)
        self._fill_controls()

    def _fill_controls(self) -> None:
        ws = self.state.workspace
        cur = self.control_box.currentData()
        self.control_box.clear()
        self.control_box.addItem("The rest of the city (minus target and buffer)", "")
        if ws is not None:
            for d in ws.districts:
                self.control_box.addItem(f"District {d.name}" if str(d.name).isdigit() else d.name,
                                         f"district:{d.name}")
            for a in ws.target_areas:
                self.control_box.addItem(f"Target area: {a.name}", f"target_area:{a.name}")
            for a in ws.scenarios:
                self.control_box.addItem(f"Scenario: {a.name}", f"scenario:{a.name}")
        self.control_box.setCurrentIndex(max(self.control_box.findData(cur or ""), 0))

    def _default_dates(self, force: bool = False) -> None:
        """The year to the as-of date; displacement: the year before and the year after the start of the strategy
        (the area's goal start when it has one), else the two years around the as-of date."""
        as_of = self.state.as_of
        if as_of is None:
            return
        as_of = pd.Timestamp(as_of)
        if force or not self._dates_set:
            self.from_edit.setDate(_qdate(as_of - pd.DateOffset(years=1) + pd.Timedelta(days=1)))
            self.to_edit.setDate(_qdate(as_of))
        (b0, b1), (a0, a1), _rule = displacement_periods(self.state.workspace, self.area_key(), as_of.date())
        self.before_from.setDate(_qdate(b0))
        self.before_to.setDate(_qdate(b1))
        self.after_from.setDate(_qdate(a0))
        self.after_to.setDate(_qdate(a1))
        self._dates_set = True

    _dates_set = False

    def _analysis_changed(self, _i=None) -> None:
        kind = self.analysis_box.currentData()
        kinds_of: dict = {}
        for k, widgets in self.rows.items():
            for w in widgets:
                kinds_of.setdefault(w, set()).add(k)
        for w, kinds in kinds_of.items():          # a widget shared by several analyses shows for any of them
            w.setVisible(kind in kinds)
            label = self.form.labelForField(w)
            if label is not None:
                label.setVisible(kind in kinds)
        if self.measure_box.count():
            self._pick_default_measure()

    # ------------------------------------------------------------------------------------------------------------
    # the area
    def area_key(self) -> str | None:
        key = self.area_box.currentData()
        return None if key in (None, "", DRAWN) else key

    def drawn_geometry(self):
        """The unsaved boundary being edited on the map (the map's draft in the workspace), or None."""
        from workstation.core.commands import freeze_shape, shape_to_geometry

        ws = self.state.workspace
        draft = ws.meta.get(DRAFT_KEY) if ws is not None else None
        if not isinstance(draft, dict) or not draft.get("shape"):
            return None
        try:
            return shape_to_geometry(freeze_shape(draft["shape"]))
        except (ValueError, TypeError, UserError):
            return None

    # ------------------------------------------------------------------------------------------------------------
    # running
    def job(self):
        """The analysis as the controls describe it: a callable(progress, should_stop) for the worker."""
        ws = self.state.workspace
        kind = self.analysis_box.currentData()
        measure = self.measure_box.currentData()
        drawn = self.area_box.currentData() == DRAWN
        geometry = self.drawn_geometry() if drawn else None
        if drawn and geometry is None:
            raise UserError("The drawn boundary is gone from the map; choose the area again.")
        area = self.area_key()
        start, end = _date(self.from_edit), _date(self.to_edit)
        if kind == "hotspots":
            bw = self.bandwidth_spin.value() or None
            args = dict(area_key=area, cell_ft=float(self.cell_spin.value()),
                        distance_ft=float(self.distance_spin.value()), bandwidth_ft=None if bw is None else float(bw),
                        fdr=self.fdr_box.isChecked(), geometry=geometry)
            from workstation.reports.spatial.hotspots import hotspot_analysis

            return kind, lambda progress, should_stop: hotspot_analysis(
                ws, measure, start, end, progress=progress, cancelled=should_stop, **args)
        if kind == "emerging":
            args = dict(area_key=area, cell_ft=float(self.cell_spin.value()),
                        distance_ft=float(self.distance_spin.value()), geometry=geometry)
            from workstation.reports.spatial.hotspots import emerging_hotspots

            return kind, lambda progress, should_stop: emerging_hotspots(
                ws, measure, start, end, progress=progress, cancelled=should_stop, **args)
        if kind == "near_repeat":
            args = dict(area_key=area, distance_ft=float(self.nr_distance_spin.value()),
                        distance_bands=self.nr_dbands_spin.value(), time_days=self.nr_days_spin.value(),
                        time_bands=self.nr_tbands_spin.value(), permutations=self.nr_perm_spin.value(),
                        seed=self.nr_seed_spin.value(), manhattan=self.nr_manhattan.isChecked())
            if geometry is not None:
                args["geometry"] = geometry
            from workstation.reports.spatial.near_repeat import near_repeat_analysis

            return kind, lambda progress, should_stop: near_repeat_analysis(
                ws, measure, start, end, progress=progress, cancelled=should_stop, **args)
        if kind == "risk":
            from workstation.reports.spatial.near_repeat import near_repeat_risk

            args = dict(as_of=self.state.as_of, days=self.recent_spin.value(), area_key=area,
                        distance_ft=float(self.nr_distance_spin.value()), distance_bands=self.nr_dbands_spin.value(),
                        time_days=self.nr_days_spin.value(), time_bands=self.nr_tbands_spin.value(),
                        permutations=self.nr_perm_spin.value(), seed=self.nr_seed_spin.value(),
                        manhattan=self.nr_manhattan.isChecked(), geometry=geometry)
            return kind, lambda progress, should_stop: near_repeat_risk(
                ws, measure, progress=progress, cancelled=should_stop, **args)
        target = area
        if target is None and geometry is None:
            raise UserError("Displacement needs a target area: choose a target area or scenario in the area bar, or "
                            "draw a boundary on the map.")
        before = (_date(self.before_from), _date(self.before_to))
        after = (_date(self.after_from), _date(self.after_to))
        args = dict(before=before, after=after, buffer_ft=float(self.buffer_spin.value()),
                    control_key=self.control_box.currentData() or None, geometry=geometry)

        from workstation.reports.spatial.displacement import displacement as wdq
        from workstation.reports.spatial.events import AnalysisCancelled

        def displacement(progress, should_stop):
            if should_stop():
                raise AnalysisCancelled("The spatial analysis was cancelled; nothing was changed.")
            progress(0.1)
            out = wdq(ws, target, measure, **args)
            progress(1.0)
            return out

        return kind, displacement

    def run(self) -> None:
        if self.state.workspace is None:
            return
        try:
            kind, fn = self.job()
        except UserError as exc:
            self._error(str(exc))
            return
        self._pending_kind = kind
        self.summary.setText("Running…")
        self.progress.setValue(0)
        self.runner.start(fn, f"the {dict(ANALYSES)[kind].lower()} analysis")

    def _running_changed(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)

    def _finished(self, result) -> None:
        self.result = result
        self.result_kind = self._pending_kind
        self.map_button.setEnabled(self.result_kind in ("hotspots", "emerging", "displacement"))
        self._show_result()
        self.status_message.emit("Analysis done.")

    def _failed(self, message: str, details: str) -> None:
        self._error(message)

    def _cancelled(self) -> None:
        self.summary.setText("Cancelled; nothing was changed.")

    def _error(self, message: str) -> None:
        self.summary.setText(html.escape(message))
        self.status_message.emit(message)

    # ------------------------------------------------------------------------------------------------------------
    # showing
    def _clear_result(self) -> None:
        self.results.clear()
        self.map_button.setEnabled(False)

    def _show_result(self) -> None:
        if self.result is None:
            self._clear_result()
            return
        self.results.show_result(self.result, self.result_kind)

    # ------------------------------------------------------------------------------------------------------------
    # the map
    def overlay(self):
        """The current result as a map overlay (workstation.maps.spatial)."""
        from workstation.maps import spatial as sp

        r, kind = self.result, self.result_kind
        if r is None:
            return None
        if kind == "hotspots":
            from workstation.reports.places import cell_place_counts

            # reference places near each cell (licensed premises within 500 ft ...) in the cell's popup
            ws = self.state.workspace
            extra = cell_place_counts(ws, r.grid, r.cells["row"], r.cells["col"]) if ws is not None else {}
            return sp.hotspot_overlay(r, title=f"Gi* hot spots: {r.params['measure_label']}", extra_fields=extra)
        if kind == "emerging":
            return sp.emerging_overlay(r)
        if kind == "displacement":
            return sp.displacement_overlay(r.target_geometry, r.buffer_geometry, target_label=r.target_label,
                                           buffer_ft=r.buffer_ft, control_label=r.control_label)
        return None

    def _show_on_map(self) -> None:
        ov = self.overlay()
        if ov is not None:
            self.show_on_map.emit(ov)


BIN_TEXT = {3: "Hot 99%", 2: "Hot 95%", 1: "Hot 90%", 0: "Not significant", -1: "Cold 90%", -2: "Cold 95%",
            -3: "Cold 99%"}
BIN_COLOUR = GI_BIN_COLOURS

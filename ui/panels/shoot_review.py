"""Shoot Review tab: every shooting and homicide of the seven days ending on the area bar's as-of date, scored.

The weights of the impact score are edited in spin boxes (a change recomputes and re-sorts at once); "Save as
default" keeps them in the workspace (saved with it) so the next review starts from them. The table saves as a
formula-safe CSV for the meeting's packet.
"""
from __future__ import annotations

import html

import pandas as pd
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QMessageBox, QPushButton, QTableView, QVBoxLayout, QWidget)

from workstation.core.errors import UserError
from workstation.reports import shoot_review as sr
from ui.models.report_model import ReportModel
from ui.panels.base import StatePanel

WEIGHT_TIPS = {
    "fatal": "Points per fatal victim",
    "victims": "Points per victim (fatal or not)",
    "prior_shootings": "Points per shooting incident nearby in the prior period",
    "repeat_people": "Points per linked person who also appears in other incidents",
    "target_area": "Points when the incident is inside a target area",
}


class _ReviewModel(ReportModel):
    """Headers of number columns on two lines ("Prior" over "shootings"): fourteen columns fit a laptop screen."""

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        text = super().headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole and isinstance(text, str) and self.kinds[section] in ("count", "rate"):
            return text.replace(" ", "\n", 1)
        return text


class ShootReviewPanel(StatePanel):
    def __init__(self, state, parent=None) -> None:
        super().__init__(state, parent)
        self.table_report = None
        self.model = _ReviewModel(self)

        self._make_heading("Shoot review")
        self.csv_button = QPushButton("Save as CSV…")
        self.csv_button.setToolTip("Save the review as shown, for the meeting's packet (text never runs as a formula)")
        self.csv_button.clicked.connect(self.save_csv)

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)

        # ---- the weights editor ----
        self.spins: dict[str, QDoubleSpinBox] = {}
        box = QGroupBox("Impact score weights")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for k in sr.WEIGHT_FIELDS:
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 1000.0)
            spin.setDecimals(2)
            spin.setSingleStep(0.5)
            spin.setToolTip(WEIGHT_TIPS[k])
            spin.valueChanged.connect(self._weights_edited)
            self.spins[k] = spin
            form.addRow(sr.WEIGHT_LABELS[k].capitalize() + ":", spin)
        self.save_default_button = QPushButton("Save as default")
        self.save_default_button.setToolTip("Keep these weights in the workspace: the next review starts from them")
        self.save_default_button.clicked.connect(self.save_default)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the workspace's default weights")
        self.reset_button.clicked.connect(self.reset_weights)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_default_button)
        buttons.addWidget(self.reset_button)
        form.addRow(buttons)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.formula)
        box.setMaximumWidth(300)

        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.notes.setStyleSheet("color: palette(placeholder-text);")

        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        top.addLayout(titles, 1)
        top.addWidget(self.csv_button, 0, Qt.AlignmentFlag.AlignBottom)
        left = QVBoxLayout()
        left.addWidget(self.table, 1)
        left.addWidget(self.notes)
        side = QVBoxLayout()
        side.addWidget(box)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(side)
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.setContentsMargins(8, 8, 8, 6)
        lay.addLayout(top)
        lay.addLayout(body, 1)
        self._stack_states(content, "No shootings yet", "The shoot review lists every shooting and homicide of the "
                           "past seven days once the workspace holds shootings or offenses. Import this week's "
                           "exports, or look around the demo workspace first.")

        # a spin box's arrows held down fire many changes: recompute once they settle
        self._recompute = QTimer(self)
        self._recompute.setSingleShot(True)
        self._recompute.setInterval(120)
        self._recompute.timeout.connect(self.refresh)
        self._loaded_for = None  # the workspace whose default weights are in the spin boxes
        state.workspace_changed.connect(self.mark_stale)
        state.selection_changed.connect(self.mark_stale)
        state.data_changed.connect(lambda w: self.mark_stale() if w != "meta" else None)

    # ---- weights ----
    def weights(self) -> dict[str, float]:
        return {k: float(s.value()) for k, s in self.spins.items()}

    def set_weights(self, weights: dict) -> None:
        for k, s in self.spins.items():
            s.blockSignals(True)
            s.setValue(float(weights[k]))
            s.blockSignals(False)
        self.formula.setText(html.escape(sr.formula_text(self.weights())))

    def _weights_edited(self, _v=None) -> None:
        self.formula.setText(html.escape(sr.formula_text(self.weights())))
        self._recompute.start()

    def reset_weights(self) -> None:
        ws = self.state.workspace
        try:
            self.set_weights(sr.default_weights(ws))
        except UserError as exc:
            self.status_message.emit(str(exc))
            self.set_weights(sr.load_defaults()["weights"])
        self.refresh()

    def save_default(self) -> None:
        ws = self.state.workspace
        if ws is None:
            return
        sr.save_weights(ws, self.weights())
        self.status_message.emit("Shoot-review weights saved with the workspace: " + sr.formula_text(self.weights()))

    def _load_weights_for(self, ws) -> None:
        if self._loaded_for is ws:
            return
        self._loaded_for = ws
        try:
            self.set_weights(sr.default_weights(ws))
        except UserError as exc:  # a damaged saved setting: say so, start from the resource file
            self.status_message.emit(str(exc))
            self.set_weights(sr.load_defaults()["weights"])

    # ---- content ----
    def refresh(self) -> None:
        self._recompute.stop()
        if not self._begin_refresh():
            return
        ws = self.state.workspace
        if ws is None or self.state.as_of is None or not (len(ws.frames["shootings"]) or len(ws.frames["offenses"])):
            self.model.set_tables([])
            self.table_report = None
            self.stack.setCurrentWidget(self.empty)
            return
        self._load_weights_for(ws)
        as_of, weights = self.state.as_of, self.weights()     # read on the UI thread; the worker reads the workspace
        self.compute(lambda: sr.shoot_review(ws, as_of, weights=weights), self._show_review, self._show_problem)

    def _show_problem(self, message: str) -> None:
        self.stack.setCurrentIndex(0)
        self.model.set_tables([])
        self.table_report = None
        self.subtitle.setText(message)
        self.notes.setText("")

    def _show_review(self, t) -> None:
        """The model swap (on the UI thread)."""
        self.stack.setCurrentIndex(0)
        self.table_report = t
        self.model.set_tables([t])
        self._fit_columns()
        last = self.state.as_of
        first = last - pd.Timedelta(days=6)
        n = len(t.rows)
        self.title.setText(f"Shoot review — {first:%a %d %b} to {last:%a %d %b %Y}")
        victims = sum(t.column("Victims"))
        fatal = sum(t.column("Fatal"))
        self.subtitle.setText(f"{n} incident{'s' if n != 1 else ''}, {victims} victim{'s' if victims != 1 else ''} "
                              f"({fatal} fatal), citywide, highest impact score first")
        self.notes.setText("<br>".join(html.escape(x) for x in t.notes[1:]))

    def _fit_columns(self) -> None:
        m = self.model
        fm = self.fontMetrics()
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for c in range(m.columnCount()):
            widest = max([fm.horizontalAdvance(m.data(m.index(r, c)) or "") for r in range(m.rowCount())] + [0])
            words = str(m.headerData(c, Qt.Orientation.Horizontal)).split("\n")
            head = max(fm.horizontalAdvance(w) for w in words)
            self.table.setColumnWidth(c, min(max(widest, head) + 18, 280))
        hh.setStretchLastSection(False)
        # the score orders the list: show it beside the incident, where it is never scrolled off a laptop screen
        if m.columns and "Impact score" in m.columns:
            score = m.columns.index("Impact score")
            if hh.visualIndex(score) != 1:
                hh.moveSection(hh.visualIndex(score), 1)

    # ---- CSV ----
    def review_frame(self):
        """The review as shown (the report's values, dates as YYYY-MM-DD)."""
        t = self.table_report
        df = t.to_frame() if t is not None else pd.DataFrame(columns=sr.COLUMNS)
        if len(df):
            df["Date"] = [d.isoformat() for d in df["Date"]]
        return df

    def save_csv(self) -> None:
        as_of = self.state.as_of
        name = f"shoot_review_{as_of:%Y-%m-%d}.csv" if as_of is not None else "shoot_review.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Save the shoot review as CSV", name, "CSV files (*.csv)")
        if path:
            self.write_csv(path)

    def write_csv(self, path) -> None:
        from workstation.exports.csv_file import write_csv

        try:
            write_csv(self.review_frame(), path)  # addresses from input files never run as formulas; atomic
        except UserError as exc:
            QMessageBox.warning(self, "Could not save", str(exc))
            return
        self.status_message.emit(f"Shoot review saved to {path}.")

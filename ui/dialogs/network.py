"""Tools → Co-offending Network: the ranked candidates for the high-value-target list, and for the chosen person
their incidents and co-offenders.

The figures come from workstation.reports.network (computed in a worker: citywide over years takes a few seconds);
the tables are RecordsViews, so filtering, copying and Save as CSV (formula-safe) work as everywhere else.
"""
from __future__ import annotations

import html

import pandas as pd
from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QHBoxLayout, QLabel,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from workstation.engine.areas import area_choices
from workstation.reports import network
from ui.widgets.records_view import RecordsView
from ui.workers import TaskRunner

DEFAULT_DAYS = 365   # a year of links: who offends together now, not five years ago

INCIDENT_HEADERS = {"incident_id": "Incident", "occurred": "Occurred", "role": "Role", "what": "What",
                    "district": "District", "co_offenders": "With"}
CO_HEADERS = {"person_id": "Co-offender", "shared": "Shared incidents", "incident_ids": "Incidents"}


def _qdate(ts) -> QDate:
    ts = pd.Timestamp(ts)
    return QDate(ts.year, ts.month, ts.day)


def _ts(d: QDate) -> pd.Timestamp:
    return pd.Timestamp(d.year(), d.month(), d.day())


class NetworkDialog(QDialog):
    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Co-offending Network")
        self.state = state
        self.ws = state.workspace
        self.graph = None
        self.table = None
        self.params = None

        self.area_combo = QComboBox(self)
        for key, label in area_choices(self.ws):
            self.area_combo.addItem(label, key)
        i = self.area_combo.findData(state.area_key)
        self.area_combo.setCurrentIndex(max(i, 0))
        as_of = state.as_of if state.as_of is not None else (self.ws.as_of() or pd.Timestamp.today().normalize())
        self.since_edit = QDateEdit(_qdate(as_of - pd.Timedelta(days=DEFAULT_DAYS - 1)), self)
        self.as_of_edit = QDateEdit(_qdate(as_of), self)
        for e in (self.since_edit, self.as_of_edit):
            e.setCalendarPopup(True)
            e.setDisplayFormat("yyyy-MM-dd")
        self.victims_check = QCheckBox("Include victims", self)
        self.victims_check.setToolTip("Also link people who were victims on the same incidents")
        self.top_spin = QSpinBox(self)
        self.top_spin.setRange(5, 500)
        self.top_spin.setValue(25)
        self.top_spin.setPrefix("Top ")
        self.status = QLabel(self)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Area:"))
        bar.addWidget(self.area_combo)
        bar.addWidget(QLabel("From:"))
        bar.addWidget(self.since_edit)
        bar.addWidget(QLabel("to:"))
        bar.addWidget(self.as_of_edit)
        bar.addWidget(self.victims_check)
        bar.addWidget(self.top_spin)
        bar.addWidget(self.status, 1)

        self.candidates_view = RecordsView(self, noun="people", csv_name="co_offending_candidates.csv")
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setStyleSheet("color: palette(dark);")
        self.person_label = QLabel("Choose a person above to see their incidents and co-offenders.", self)
        self.person_label.setWordWrap(True)
        self.incidents_view = RecordsView(self, noun="incidents", csv_name="person_incidents.csv")
        self.co_view = RecordsView(self, noun="co-offenders", csv_name="co_offenders.csv")

        top = QWidget(self)
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.candidates_view, 1)
        tl.addWidget(self.notes)
        bottom = QWidget(self)
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.person_label)
        pair = QSplitter(Qt.Orientation.Horizontal, bottom)
        pair.addWidget(self.incidents_view)
        pair.addWidget(self.co_view)
        pair.setSizes([640, 420])
        bl.addWidget(pair, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([360, 220])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        lay.addWidget(buttons)
        self.resize(1240, 680)   # inside a 1366x768 screen with the taskbar and title bar

        self._runner = TaskRunner(self)
        self._runner.finished.connect(self._done)
        self._runner.failed.connect(lambda msg, _d: self.status.setText(msg))
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.recompute)
        self.area_combo.currentIndexChanged.connect(lambda _i: self._debounce.start())
        self.since_edit.dateChanged.connect(lambda _d: self._debounce.start())
        self.as_of_edit.dateChanged.connect(lambda _d: self._debounce.start())
        self.victims_check.toggled.connect(lambda _b: self._debounce.start())
        self.top_spin.valueChanged.connect(lambda _v: self._debounce.start())
        self.candidates_view.table.selectionModel().currentRowChanged.connect(lambda cur, _p: self._chose(cur))
        self.recompute()

    # ---- computing ----
    def current_params(self) -> dict:
        roles = network.DEFAULT_ROLES + (("victim",) if self.victims_check.isChecked() else ())
        return {"area_key": self.area_combo.currentData(), "since": _ts(self.since_edit.date()),
                "as_of": _ts(self.as_of_edit.date()), "roles": roles}

    def recompute(self) -> None:
        self._debounce.stop()
        params = self.current_params()
        top = self.top_spin.value()
        ws = self.ws
        self.status.setText("Working out the network…")

        def work(progress, should_stop):
            G = network.co_offending_graph(ws, **params)
            return params, G, network.candidates(ws, top=top, G=G, **params)

        self._runner.start(work, "building the co-offending network")

    def is_busy(self) -> bool:
        return self._runner.is_running() or self._debounce.isActive()

    def _done(self, result) -> None:
        self.params, self.graph, self.table = result
        df = self.table.to_frame()
        for c in ("Score", "Eigenvector"):
            df[c] = df[c].round(3)
        # the reasons first: an analyst reads the Why before the figures behind it
        cols = ["Rank", "Person", "Score", "Why"] + [c for c in df.columns if c not in ("Rank", "Person", "Score", "Why")]
        self.candidates_view.set_frame(df, cols)
        self._fit_why()
        self.notes.setText(" ".join(self.table.notes))
        self.status.setText(f"{self.graph.number_of_nodes():,d} people, {self.graph.number_of_edges():,d} links")
        self._show_person(None)
        if len(df):
            self.candidates_view.table.selectRow(0)

    def _fit_why(self) -> None:
        """The Why column takes what the count columns leave of the table's width (at least a readable 220 px):
        on a scaled laptop screen (125-150%) the counts stay in view; the full reasons are shown below the table."""
        table = self.candidates_view.table
        model = table.model()
        if model is None or model.columnCount() < 4:
            return
        others = sum(table.columnWidth(c) for c in range(model.columnCount()) if c != 3)
        room = table.viewport().width() - others - 4
        table.setColumnWidth(3, max(220, min(table.sizeHintForColumn(3) + 16, room)))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.table is not None:
            self._fit_why()

    # ---- one person ----
    def _chose(self, index) -> None:
        if not index.isValid() or self.table is None:
            return
        person = self.candidates_view.model.view_frame([index.row()])["Person"].iloc[0]
        self._show_person(person)

    def _show_person(self, person: str | None) -> None:
        self.person = person
        if person is None:
            self.person_label.setText("Choose a person above to see their incidents and co-offenders.")
            self.incidents_view.set_frame(pd.DataFrame(columns=list(INCIDENT_HEADERS)))
            self.co_view.set_frame(pd.DataFrame(columns=list(CO_HEADERS)))
            return
        inc = network.person_incidents(self.ws, person, **self.params)
        co = network.co_offenders(self.graph, person)
        why = next((r[-1] for r in self.table.rows if r[1] == person), "")
        # the Why column is cut off in the table; the chosen person's reasons are read in full here
        self.person_label.setText(f"<b>{html.escape(person)}</b>: {html.escape(why)}. {len(inc):,d} incidents in "
                                  f"the window, {len(co):,d} co-offenders.")
        self.incidents_view.set_frame(inc, headers=INCIDENT_HEADERS)
        self.co_view.set_frame(co, headers=CO_HEADERS)

    def done(self, result: int) -> None:
        self._debounce.stop()
        self._runner.cancel()
        self._runner.wait()
        for v in (self.candidates_view, self.incidents_view, self.co_view):
            v.shutdown()
        super().done(result)

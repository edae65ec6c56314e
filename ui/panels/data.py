"""Data panel: the datasets with their source files, row counts, as-of stamps and import log; a records table."""
from __future__ import annotations

import logging
import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
import numpy as np
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from workstation.core import schema
from ui.widgets.records_view import RecordsView
from ui.workers import TaskRunner

log = logging.getLogger(__name__)

DATASET_LABELS = {"offenses": "Offenses", "shootings": "Shootings", "calls": "Calls for service",
                  "activity": "Activity", "people": "People links"}
SPECIAL_HEADERS = {"lat": "Latitude", "lon": "Longitude", "load_id": "Load", "record_id": "Record ID",
                   "incident_id": "Incident ID", "offense_code": "Source offense", "cleared_date": "Cleared on",
                   "exceptional_code": "Exceptional code", "person_id": "Person ID"}


def column_header(name: str) -> str:
    return SPECIAL_HEADERS.get(name, name.replace("_", " ").capitalize())


def headers_for(kind: str) -> dict[str, str]:
    return {c: column_header(c) for c in schema.columns(kind)}


def _words(key: str) -> str:
    return key.replace("_", " ").capitalize()


def value_labels_for(kind: str) -> dict[str, dict]:
    """How category values read on screen: offenses use the case study's names ("Theft", "Auto Theft")."""
    if kind == "offenses":
        cats = dict(schema.CATEGORY_LABELS)
    else:
        vocab = {"calls": schema.CALL_CATEGORIES, "activity": schema.ACTIVITY_CATEGORIES}.get(kind, ())
        cats = {c: _words(c) for c in vocab}
    out = {"category": cats} if cats else {}
    if kind == "people":
        out["role"] = {r: _words(r) for r in schema.PEOPLE_ROLES}
    if kind == "offenses":
        out["clearance_type"] = {c: _words(c) for c in schema.CLEARANCE_TYPES}
    return out


def _item(text, align_right: bool = False, tip: str = "") -> QTableWidgetItem:
    it = QTableWidgetItem("" if text is None else str(text))
    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if align_right:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        it.setToolTip(tip)
    return it


def _small_table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 8)
    hh = t.horizontalHeader()
    hh.setHighlightSections(False)
    hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return t


def _section_label(text: str) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setBold(True)
    lab.setFont(f)
    return lab


REJECT_HEADERS = {"row": "Row in file", "reason": "Reason", "load_id": "Load", "raw_line": "Line as read"}


def show_rejects_in(view, frame) -> None:
    """Rejected rows in a RecordsView: the row number and the reason first, then the row as it was in the file."""
    first = [c for c in ("row", "reason") if c in frame.columns]
    cols = first + [c for c in frame.columns if c not in first and c != "load_id"]
    view.set_frame(frame, cols, REJECT_HEADERS)


def area_scope_mask(ws, kind: str, key: str) -> np.ndarray:
    """A mask over ``kind``'s frame rows: True inside the area ``key`` (by the counting engine's membership, so the
    records listed are the ones counted). Only reads the workspace: a worker may run it."""
    from workstation.engine.analysis import analysis_for

    eng = analysis_for(ws)
    inside = np.flatnonzero(eng.membership_mask(kind, key))
    mask = np.zeros(len(ws.frames[kind]), dtype=bool)
    mask[eng.frame_rows(kind, inside)] = True
    return mask


class RejectsDialog(QDialog):
    """The rejected rows of one load, with the reason per row; copy or save as CSV."""

    def __init__(self, frame, title: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.view = RecordsView(self, noun="rejected rows", csv_name="rejected_rows.csv")
        show_rejects_in(self.view, frame)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addWidget(buttons)
        self.resize(1000, 560)


class DataPanel(QWidget):
    import_requested = Signal()

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.kind = "offenses"
        self._stale = True

        self.datasets = _small_table(["Dataset", "Records", "As of"])
        self.datasets.setToolTip("Every record set in the workspace; pick one to see its records")
        hh = self.datasets.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.datasets.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)
        self.datasets.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.log = _small_table(["Load", "File", "Rows", "Rejected"])
        self.log.setToolTip("The import log of this dataset: every file loaded, newest first")
        lh = self.log.horizontalHeader()
        lh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c in (0, 2, 3):
            lh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.log_detail = QLabel()
        self.log_detail.setWordWrap(True)
        self.log_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.rejects_button = QPushButton("Rejected rows…")
        self.rejects_button.setToolTip("The rows of the selected load that were not imported, with the reason")
        self.import_button = QPushButton("Import data…")
        self.import_button.setToolTip("Import spreadsheets into the workspace (Ctrl+I)")

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        ll.addWidget(_section_label("Datasets"))
        ll.addWidget(self.datasets)
        ll.addSpacing(6)
        ll.addWidget(_section_label("Import log"))
        ll.addWidget(self.log, 1)
        ll.addWidget(self.log_detail)
        row = QHBoxLayout()
        row.addWidget(self.rejects_button)
        row.addStretch(1)
        row.addWidget(self.import_button)
        ll.addLayout(row)

        self.title = QLabel()
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        f.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(f)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.subtitle.setStyleSheet("color: palette(placeholder-text);")
        self.records = RecordsView(self, noun="records")
        self.in_area = QCheckBox("Only records in the selected area")
        self.in_area.setChecked(True)
        self.in_area.setToolTip("Follow the area bar: show the records located inside the selected area "
                                "(records without coordinates are placed by their district column)")
        self.in_area.toggled.connect(lambda _b: self._apply_scope())
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.in_area)
        rl.addLayout(head)
        rl.addWidget(self.subtitle)
        rl.addWidget(self.records, 1)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 1000])
        split.setChildrenCollapsible(False)
        self.splitter = split
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(split)

        self.datasets.itemSelectionChanged.connect(self._dataset_picked)
        self.log.itemSelectionChanged.connect(self._log_picked)
        self.rejects_button.clicked.connect(self.show_rejects)
        self.import_button.clicked.connect(self.import_requested)
        state.workspace_changed.connect(self.mark_stale)
        state.data_changed.connect(lambda _what: self.mark_stale())
        state.selection_changed.connect(self._selection_changed)
        state.ready_changed.connect(lambda ready: self._apply_scope() if ready and self.isVisible() else None)
        self._scoped_key = None
        self._scope_request = 0             # the newest area asked for; older ones are dropped
        self._scope_size: int | None = None   # records in the area shown (None: the whole dataset)
        self.scoper = TaskRunner(self)         # a big workspace's area rows, found off the UI thread
        self.scoper.finished.connect(self._scope_done)
        self.scoper.failed.connect(lambda message, _details: self._scope_failed(message))

    # ---- refresh only when visible (a 1M-row table should not be rebuilt behind another tab) ----
    def mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        ws = self.state.workspace
        self.datasets.blockSignals(True)
        self.datasets.setRowCount(0)
        if ws is not None:
            for kind in schema.DATASET_KINDS:
                df = ws.frames[kind]
                r = self.datasets.rowCount()
                self.datasets.insertRow(r)
                as_of = ws.as_of(kind) if kind != "people" else None
                self.datasets.setItem(r, 0, _item(DATASET_LABELS.get(kind, kind)))
                self.datasets.setItem(r, 1, _item(f"{len(df):,d}", True))
                self.datasets.setItem(r, 2, _item("" if as_of is None else f"{as_of:%Y-%m-%d}", True,
                                                  "the newest record's date"))
                self.datasets.item(r, 0).setData(Qt.ItemDataRole.UserRole, kind)
                if kind == self.kind:
                    self.datasets.selectRow(r)
        self.datasets.blockSignals(False)
        self._fit_datasets_height()
        self._show_kind()

    def _selection_changed(self) -> None:
        if self.state.area_key != self._scoped_key:
            if self.isVisible():
                self._apply_scope()
            else:
                self._stale = True

    def area_scope(self):
        """Frame rows of the current dataset inside the selected area (None: every row)."""
        if not self._scope_needed():
            return None
        return area_scope_mask(self.state.workspace, self.kind, self.state.area_key)

    def _scope_needed(self) -> bool:
        ws = self.state.workspace
        return not (ws is None or self.state.area_key == "citywide" or not self.in_area.isChecked()
                    or self.kind == "people" or not len(ws.frames[self.kind]) or not self.state.ready)

    def _apply_scope(self) -> None:
        """Narrow the records to the selected area. On a big workspace the area's rows are found in a worker (1.5 s
        of the UI thread for a district of 7M calls otherwise): the title says so meanwhile, and an area the analyst
        has already left is dropped when its rows arrive."""
        key, kind = self.state.area_key, self.kind
        self._scoped_key = key
        self._scope_request += 1
        request = self._scope_request
        if not self.state.big or not self._scope_needed():
            self.scoper.cancel()
            try:
                scope = self.area_scope()
            except Exception:  # noqa: BLE001 - an unknown area shows every record rather than none
                log.warning("The area %s could not be resolved; every record is shown", key, exc_info=True)
                scope = None
            self._show_scope(scope)
            return
        ws = self.state.workspace
        self._update_title(finding=True)
        self.records.show_busy("Finding the records…")
        self.scoper.start(lambda progress, should_stop: (request, area_scope_mask(ws, kind, key)),
                          "finding the records in the area")

    def _scope_done(self, result) -> None:
        request, scope = result
        if request == self._scope_request:
            self._show_scope(scope)

    def _scope_failed(self, message: str) -> None:
        # the worker logged it with its traceback; an unknown area shows every record rather than none
        log.warning("The area %s could not be resolved (%s); every record is shown", self.state.area_key, message)
        self._show_scope(None)

    def _show_scope(self, scope) -> None:
        self._scope_size = None if scope is None else int(scope.sum())
        self.records.set_scope(scope)
        self.records.show_busy("")      # the count again, unless the table's own worker now says what it does
        self._update_title()

    @property
    def busy(self) -> bool:
        """The area's records are being found, or the table sorted or filtered, in a worker."""
        return self.scoper.is_running() or self.records.busy

    def _update_title(self, finding: bool = False) -> None:
        ws = self.state.workspace
        if ws is None:
            return
        label = DATASET_LABELS.get(self.kind, self.kind)
        if finding:
            from workstation.engine.areas import area_label

            self.title.setText(f"{label}: finding the records in {area_label(ws, self.state.area_key)}…")
            return
        n = len(ws.frames[self.kind]) if self._scope_size is None else self._scope_size
        where = ""
        if self._scope_size is not None:
            from workstation.engine.areas import area_label

            where = f" in {area_label(ws, self.state.area_key)}"
        self.title.setText(f"{label}{where}: {n:,d} records")

    def _fit_datasets_height(self) -> None:
        t = self.datasets
        h = t.horizontalHeader().height() + sum(t.rowHeight(r) for r in range(t.rowCount())) + 2 * t.frameWidth()
        t.setFixedHeight(h)

    def _dataset_picked(self) -> None:
        rows = self.datasets.selectionModel().selectedRows()
        if rows:
            kind = self.datasets.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
            if kind != self.kind:
                self.kind = kind
                self._show_kind()

    def select_dataset(self, kind: str) -> None:
        for r in range(self.datasets.rowCount()):
            if self.datasets.item(r, 0).data(Qt.ItemDataRole.UserRole) == kind:
                self.datasets.selectRow(r)
                return
        self.kind = kind
        self._show_kind()

    def _show_kind(self) -> None:
        ws = self.state.workspace
        kind = self.kind
        label = DATASET_LABELS.get(kind, kind)
        if ws is None:
            self.title.setText(label)
            self.subtitle.setText("No workspace is open.")
            return
        df = ws.frames[kind]
        self.records.set_frame(df, schema.columns(kind), headers_for(kind), value_labels_for(kind))
        self.in_area.setEnabled(kind != "people")
        self._apply_scope()
        entries = [e for e in ws.import_log if e.get("kind", kind) == kind]
        files = list(dict.fromkeys(e.get("file_name", "") for e in entries if e.get("file_name")))
        as_of = ws.as_of(kind) if kind != "people" else None
        bits = []
        if as_of is not None:
            bits.append(f"data as of {as_of:%A %d %B %Y}")
        if files:
            shown = ", ".join(files[-3:]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            bits.append(f"from {shown}")
        elif len(df):
            bits.append("no import log entry (generated or imported before logging)")
        else:
            bits.append("nothing imported yet: use Import data… (Ctrl+I) or drop files on the window")
        text = "; ".join(bits)
        self.subtitle.setText(text[:1].upper() + text[1:] + ".")
        self._fill_log(entries)

    def _fill_log(self, entries: list[dict]) -> None:
        self.log.blockSignals(True)
        self.log.setRowCount(0)
        for e in reversed(entries):
            r = self.log.rowCount()
            self.log.insertRow(r)
            loaded = str(e.get("loaded_at", "")).replace("T", " ")[:16]
            self.log.setItem(r, 0, _item(e.get("load_id", ""), True))
            self.log.setItem(r, 1, _item(e.get("file_name", ""), tip=str(e.get("file_name", ""))))
            self.log.setItem(r, 2, _item(f"{int(e.get('accepted', 0) or 0):,d}", True))
            self.log.setItem(r, 3, _item(f"{int(e.get('rejected', 0) or 0):,d}", True))
            self.log.item(r, 1).setToolTip(f"{e.get('file_name', '')}, loaded {loaded}")
            self.log.item(r, 0).setData(Qt.ItemDataRole.UserRole, e.get("load_id"))
        self.log.blockSignals(False)
        if self.log.rowCount():
            self.log.selectRow(0)
        self._log_picked()

    def selected_load(self) -> dict | None:
        ws = self.state.workspace
        rows = self.log.selectionModel().selectedRows()
        if ws is None or not rows:
            return None
        load_id = self.log.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((e for e in ws.import_log if e.get("load_id") == load_id), None)

    def _log_picked(self) -> None:
        e = self.selected_load()
        ws = self.state.workspace
        has_rejects = bool(e and ws is not None and e.get("load_id") in ws.rejects and len(ws.rejects[e["load_id"]]))
        self.rejects_button.setEnabled(has_rejects)
        if not e:
            self.log_detail.setText("")
            return
        loaded = str(e.get("loaded_at", "")).replace("T", " ")[:16]
        parts = [f"<b>{html.escape(str(e.get('file_name', '')))}</b>" + (f", loaded {loaded}" if loaded else "")]
        if e.get("profile"):
            parts.append(f"Profile: {html.escape(str(e['profile']))}")
        parts.append(f"{int(e.get('rows_read', 0) or 0):,d} rows read, {int(e.get('accepted', 0) or 0):,d} accepted, "
                     f"{int(e.get('rejected', 0) or 0):,d} rejected")
        if e.get("added") is not None:
            parts.append(f"{int(e.get('added') or 0):,d} new, {int(e.get('replaced') or 0):,d} updated records")
        if e.get("data_as_of"):
            parts.append(f"Data as of {e['data_as_of']}")
        reasons = e.get("rejected_by_reason") or {}
        if reasons:
            parts.append("Rejected: " + "; ".join(f"{k} ({v:,d})" for k, v in sorted(reasons.items(),
                                                                                     key=lambda kv: -kv[1])[:4]))
        for w in e.get("warnings") or []:
            parts.append(f"<span style='color:#a15c00'>⚠ {html.escape(str(w))}</span>")
        self.log_detail.setText("<br>".join(parts))

    def show_rejects(self) -> None:
        e = self.selected_load()
        ws = self.state.workspace
        if not e or ws is None or e.get("load_id") not in ws.rejects:
            return
        dlg = RejectsDialog(ws.rejects[e["load_id"]], f"Rejected rows of {e.get('file_name', 'the load')}", self)
        dlg.exec()
        dlg.view.shutdown()
        dlg.deleteLater()

    def shutdown(self) -> None:
        self.scoper.cancel()
        self.scoper.wait()
        self.records.shutdown()

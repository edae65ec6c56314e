"""A records table with a filter box, a row count, copy to clipboard and save as CSV.

Used for the data panel (up to millions of rows), the drill-through dialog and the import wizard's rejected rows.
Sorting and filtering go through DataFrameModel's permutation; a big frame is sorted, filtered and scoped (to an
area) in a worker, and the UI thread only swaps the rows in view.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QTableView, QVBoxLayout, QWidget)

from workstation import formatting
from workstation.exports.csv_file import safe_text
from ui.models.dataframe_model import DataFrameModel, rows_in_view
from ui.workers import TaskRunner

ASYNC_FILTER_ROWS = 200_000   # above this, filtering runs in a worker so typing never freezes the window
WIDTH_SAMPLE_ROWS = 200       # column widths come from the header and a sample, never from every row
MAX_COLUMN_WIDTH = 320
WIDTH_MEASURED_TEXTS = 8      # of the sample, the longest texts (by characters) are measured in pixels


class RecordsTable(QTableView):
    """A QTableView tuned for big models: fixed row heights, sampled column widths, copy as TSV."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vh.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setHighlightSections(False)
        hh.setStretchLastSection(True)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        copy = QAction("Copy", self)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        copy.triggered.connect(self.copy_selection)
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def fit_columns(self) -> None:
        model = self.model()
        if model is None:
            return
        fm = self.fontMetrics()
        n = min(model.rowCount(), WIDTH_SAMPLE_ROWS)
        for c in range(model.columnCount()):
            head = str(model.headerData(c, Qt.Orientation.Horizontal) or "")
            w = fm.horizontalAdvance(head) + 28  # room for the sort arrow
            if hasattr(model, "column_texts"):
                # the sample's longest texts only: measuring all 200 x columns cells took ~100 ms of the UI thread
                # as an import's rejected rows were shown
                texts = sorted(set(model.column_texts(c, n)), key=len)[-WIDTH_MEASURED_TEXTS:]
            else:
                texts = [str(model.data(model.index(r, c)) or "") for r in range(n)]
            w = max([w] + [fm.horizontalAdvance(t) + 16 for t in texts])
            self.setColumnWidth(c, min(w, MAX_COLUMN_WIDTH))

    def selected_frame(self) -> pd.DataFrame:
        """The selected block (rows x columns) as shown; the whole table when nothing is selected."""
        model: DataFrameModel = self.model()
        sel = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        if not sel:
            return model.view_frame()
        rows = sorted({i.row() for i in sel})
        cols = sorted({i.column() for i in sel})
        return model.view_frame(rows, cols)

    def copy_selection(self) -> int:
        """Copy the selection (or everything) as tab-separated text with a header row; returns the rows copied."""
        model: DataFrameModel = self.model()
        sel = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        rows = sorted({i.row() for i in sel}) if sel else list(range(model.rowCount()))
        cols = sorted({i.column() for i in sel}) if sel else list(range(model.columnCount()))
        lines = ["\t".join(str(model.headerData(c, Qt.Orientation.Horizontal)) for c in cols)]
        for r in rows:
            # records are input text: pasted into Excel, "=HYPERLINK(...)" would run; safe_text keeps it text
            lines.append("\t".join(_clip_cell(model.data(model.index(r, c))) for c in cols))
        QGuiApplication.clipboard().setText("\n".join(lines) + "\n")
        return len(rows)


def _clip_cell(value) -> str:
    text = " ".join(str(value or "").replace("\t", " ").splitlines())  # one cell stays one cell
    return safe_text(text)


class RecordsView(QWidget):
    """Filter box + table + 'n of m records' + Copy and Save CSV buttons."""

    filtered = Signal(int)  # rows in view after a filter

    def __init__(self, parent=None, noun: str = "records", csv_name: str = "records.csv") -> None:
        super().__init__(parent)
        self.noun = noun
        self.csv_name = csv_name
        self.model = DataFrameModel(parent=self)
        self.table = RecordsTable(self)
        self.table.setModel(self.model)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(f"Filter {noun}: type text found in any column")
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the selected cells (or the whole table) to the clipboard (Ctrl+C)")
        self.save_button = QPushButton("Save as CSV…", self)
        self.copy_button.clicked.connect(self.table.copy_selection)
        self.save_button.clicked.connect(self.save_csv)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        top.addWidget(self.copy_button)
        top.addWidget(self.save_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(lambda _t: self._debounce.start())
        self.filter_edit.returnPressed.connect(self._apply_filter)
        self._runner = TaskRunner(self)
        self._runner.finished.connect(self._filter_done)
        # a big frame's sort and scope: the permutation and the rows in view computed in a worker
        self._viewer = TaskRunner(self)
        self._viewer.finished.connect(self._view_done)
        self._viewer.failed.connect(lambda message, _details: self._view_failed(message))
        self._wanted: dict | None = None      # the view asked for while a worker computes it
        self._orders: dict[tuple, np.ndarray] = {}   # sort permutations of this frame, by (column, ascending)
        self.model.sort_elsewhere = self._sort_elsewhere
        self.model.rows_changed.connect(self._update_count)
        self._update_count(0, 0)

    def set_frame(self, df: pd.DataFrame, columns: list[str] | None = None, headers: dict | None = None,
                  value_labels: dict | None = None) -> None:
        self._runner.cancel()
        self._viewer.cancel()
        self._wanted = None
        self._orders = {}
        self._set_busy("")
        if headers is not None:
            self.model._headers = dict(headers)
        self.model.set_frame(df, columns, value_labels)
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.fit_columns()

    def _apply_filter(self) -> None:
        self._debounce.stop()
        text = self.filter_edit.text().strip()
        df = self.model.frame()
        if not self.is_big():
            self.model.set_filter(text)
            self.filtered.emit(self.model.rowCount())
            return
        if not text:  # every row back: still 10M rows to index, in the worker
            self._runner.cancel()
            self._change_view(text="", mask=None)
            return
        cols = self.model.columns()
        labels = self.model.value_labels()
        self.count_label.setText("Filtering…")
        self._runner.start(lambda progress, should_stop: (text, formatting.match_rows(df, cols, text, labels)),
                           "filtering the records")

    def _filter_done(self, result) -> None:
        text, mask = result
        if text == self.filter_edit.text().strip():
            # the rows of a big frame narrowed in the worker too: set_mask would index 10M rows on the UI thread
            self._change_view(text=text, mask=mask)

    # ---- sort and scope: at once for a small frame, in a worker for a big one ----
    def is_big(self) -> bool:
        return len(self.model.frame()) > ASYNC_FILTER_ROWS

    @property
    def busy(self) -> bool:
        """A filter, sort or area is being computed in a worker (the count label says which)."""
        return self._runner.is_running() or self._viewer.is_running()

    def set_scope(self, scope: np.ndarray | None) -> None:
        """Show only the frame rows where ``scope`` is True (None: every row), e.g. those inside the selected area."""
        if self.is_big():
            if scope is None and (self._wanted or self.model.view_state())["scope"] is None:
                return  # every row already: no worker, no busy flash
            self._change_view(scope=None if scope is None else np.asarray(scope, dtype=bool))
        else:
            self.model.set_scope(scope)

    def _sort_elsewhere(self, column: int, order) -> bool:
        if not self.is_big():
            return False
        self._change_view(sort=(column, order))
        return True

    def _change_view(self, **change) -> None:
        """Compute the view with ``change`` (sort, scope, text + mask) in a worker, from the newest view asked for;
        a newer change abandons an older one, whose result never lands."""
        view = dict(self._wanted or self.model.view_state())
        view.update(change)
        if "text" in change:
            view["filtered"] = True  # filtered is emitted when the view lands
            if not view["text"]:
                view["mask"] = None
        self._wanted = view
        df, cols, labels, orders = self.model.frame(), self.model.columns(), self.model.value_labels(), self._orders
        sort = view["sort"]

        def compute(progress, should_stop):
            order = view["order"]
            if "sort" in change and sort is not None:
                column, qt_order = sort
                key = (cols[column], qt_order == Qt.SortOrder.AscendingOrder)
                if key not in orders:  # kept: an abandoned sort's permutation is not computed twice
                    orders[key] = formatting.argsort_rows(df[key[0]], ascending=key[1], labels=labels.get(key[0]))
                order = orders[key]
            if should_stop():
                return None
            return df, dict(view, order=order), rows_in_view(len(df), order, view["scope"], view["mask"])

        what = ("Sorting…" if "sort" in change else "Filtering…" if "text" in change else "Finding the records…")
        self._set_busy(what)
        self._viewer.start(compute, "sorting and filtering the records")

    def _view_done(self, result) -> None:
        self._wanted = None
        self._set_busy("")
        # a view of a frame no longer shown (set_frame while the worker ran) is dropped
        if result is not None and result[0] is self.model.frame():
            _df, view, rows = result
            self.model.set_view(view, rows)
            if view.get("filtered"):
                self.filtered.emit(self.model.rowCount())

    def _view_failed(self, message: str) -> None:
        self._wanted = None
        self._set_busy("")
        self.count_label.setText(message)

    def show_busy(self, what: str) -> None:
        """Say in the count label what is being computed for this table elsewhere ("" : the count again)."""
        if not self.busy:
            self._set_busy(what)

    def _set_busy(self, what: str) -> None:
        if what:
            self.count_label.setText(what)
            self.table.viewport().setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.table.viewport().unsetCursor()
            self._update_count(self.model.rowCount(), self.model.scope_size())

    def _update_count(self, shown: int, total: int) -> None:
        if shown == total:
            self.count_label.setText(f"{total:,d} {self.noun}")
        else:
            self.count_label.setText(f"{shown:,d} of {total:,d} {self.noun}")

    def save_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save as CSV", self.csv_name, "CSV files (*.csv)")
        if path:
            self.write_csv(path)

    def write_csv(self, path) -> None:
        from workstation.core.errors import UserError
        from workstation.exports.csv_file import write_csv

        try:
            write_csv(self.model.view_frame(), path)  # input text never runs as a formula in Excel; atomic
        except UserError as exc:
            QMessageBox.warning(self, "Could not save", str(exc))

    def shutdown(self) -> None:
        self._runner.cancel()
        self._viewer.cancel()
        self._runner.wait()
        self._viewer.wait()

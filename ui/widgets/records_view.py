"""A records table with a filter box, a row count, copy to clipboard and save as CSV.

Used for the data panel (up to millions of rows), the drill-through dialog and the import wizard's rejected rows.
Sorting and filtering go through DataFrameModel's permutation; big frames are filtered in a worker.
"""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QTableView, QVBoxLayout, QWidget)

from workstation import formatting
from workstation.exports.csv_file import safe_text
from ui.models.dataframe_model import DataFrameModel
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
        self.model.rows_changed.connect(self._update_count)
        self._update_count(0, 0)

    def set_frame(self, df: pd.DataFrame, columns: list[str] | None = None, headers: dict | None = None,
                  value_labels: dict | None = None) -> None:
        self._runner.cancel()
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
        if len(df) <= ASYNC_FILTER_ROWS or not text:
            self.model.set_filter(text)
            self.filtered.emit(self.model.rowCount())
            return
        cols = self.model.columns()
        labels = self.model.value_labels()
        self.count_label.setText("Filtering…")
        self._runner.start(lambda progress, should_stop: (text, formatting.match_rows(df, cols, text, labels)),
                           "filtering the records")

    def _filter_done(self, result) -> None:
        text, mask = result
        if text == self.filter_edit.text().strip():
            self.model.set_mask(text, mask)
            self.filtered.emit(self.model.rowCount())

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
        self._runner.wait()

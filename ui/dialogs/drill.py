"""Drill-through: the records behind one number, sortable, filterable and copyable."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from workstation.core import schema
from ui.panels.data import headers_for, value_labels_for
from ui.widgets.records_view import RecordsView

# The columns an analyst reads first; the rest follow.
FIRST_COLUMNS = ("incident_id", "occurred", "category", "fatal", "agency", "count", "firearm", "carjacking",
                 "district", "address", "cleared", "cleared_date", "lat", "lon", "record_id")


class DrillDialog(QDialog):
    def __init__(self, frame, title: str, summary: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.frame = frame
        head = QLabel(summary)
        head.setWordWrap(True)
        head.setTextFormat(Qt.TextFormat.RichText)
        self.view = RecordsView(self, noun="records", csv_name="records_behind.csv")
        kind = _kind_of(frame)
        cols = [c for c in FIRST_COLUMNS if c in frame.columns]
        cols += [c for c in frame.columns if c not in cols and c != "load_id"]
        self.view.set_frame(frame, cols, headers_for(kind) if kind else None,
                            value_labels_for(kind) if kind else None)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.view, 1)
        lay.addWidget(buttons)
        self.resize(1040, 560)

    def done(self, result: int) -> None:
        self.view.shutdown()
        super().done(result)


def _kind_of(frame) -> str | None:
    for kind in schema.DATASET_KINDS:
        if list(frame.columns) == schema.columns(kind):
            return kind
    return None

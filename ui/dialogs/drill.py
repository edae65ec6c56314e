"""Drill-through: the records behind one number, sortable, filterable and copyable."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from workstation.core import schema
from workstation import formatting
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


def drill_summary(measure, area: str, frame, cell_text: str | None = None) -> str:
    """The line above the records: measure, area, the window's dates, the figure (and the cell as shown), how many
    records are listed."""
    w = frame.attrs.get("window")
    span = f"{w.start:%d %b %Y} – {w.end:%d %b %Y}" if w is not None and hasattr(w, "start") else ""
    figure = formatting.format_value(frame.attrs.get("figure", len(frame)), "count")
    cell = f" (cell: {html.escape(cell_text)})" if cell_text else ""
    n = len(frame)
    return (f"<b>{html.escape(str(measure))}</b> in <b>{html.escape(area)}</b>, {html.escape(span)}: {figure}{cell}; "
            f"{n:,d} record{'s' if n != 1 else ''} listed.")


def show_records_behind(parent, frame, measure, area: str, cell_text: str | None = None, exec_dialog: bool = True):
    """The drill-through dialog of one cell (CompStat grid, scenario comparison). ``exec_dialog=False`` returns it
    unshown (tests)."""
    dlg = DrillDialog(frame, f"Records behind: {measure} — {area}", drill_summary(measure, area, frame, cell_text),
                      parent)
    if exec_dialog:
        dlg.exec()
        dlg.deleteLater()
        return None
    return dlg


def copy_table(model, head_lines: list[str]) -> str:
    """The model's shown text as tab-separated lines under ``head_lines`` (pastes into Excel), put on the
    clipboard; returned for tests."""
    lines = list(head_lines)
    for r in range(model.rowCount()):
        lines.append("\t".join((model.data(model.index(r, c)) or "") for c in range(model.columnCount())))
    text = "\n".join(lines) + "\n"
    QGuiApplication.clipboard().setText(text)
    return text

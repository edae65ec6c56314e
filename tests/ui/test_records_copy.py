"""Copying records to the clipboard: input text pasted into Excel must stay text, and one cell stays one cell."""
import pandas as pd
from PySide6.QtWidgets import QApplication

from ui.widgets.records_view import RecordsView


def test_copied_records_cannot_run_as_formulas(qtbot):
    view = RecordsView()
    qtbot.addWidget(view)
    view.set_frame(pd.DataFrame({
        "address": ['=HYPERLINK("http://x","y")', "@SUM(A1)", "100 N MAIN ST"],
        "note": ["two\nlines", "tab\there", "+1"],
        "lon": [-87.95, -87.9, -88.0],
    }))
    assert view.table.copy_selection() == 3
    lines = QApplication.clipboard().text().splitlines()
    assert len(lines) == 4
    cells = [ln.split("\t") for ln in lines[1:]]
    assert cells[0][:2] == ["'=HYPERLINK(\"http://x\",\"y\")", "two lines"]
    assert cells[1][:2] == ["'@SUM(A1)", "tab here"]
    assert cells[2][:2] == ["100 N MAIN ST", "+1"]  # a number, not a formula: Excel reads it as 1
    assert all(c[2].startswith("-8") for c in cells)  # negative coordinates stay numbers (no apostrophe)

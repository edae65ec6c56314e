"""The CompStat grid's two-row header: every column label is shown whole, however narrow its column."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QTableView

from ui.models.dataframe_model import DataFrameModel
from ui.widgets.grouped_header import GroupedHeader


def _label_band_needed(header: GroupedHeader, text: str, width: int) -> int:
    fm = header.fontMetrics()
    return fm.boundingRect(QRect(0, 0, width - 6, 10_000), Qt.TextFlag.TextWordWrap, text).height() + 4


def test_long_labels_get_a_taller_band_and_short_ones_keep_two_lines(qtbot):
    labels = ["Measure", "2019", "% chg vs 5-yr avg"]
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(DataFrameModel(pd.DataFrame({c: [1] for c in labels})))
    header = GroupedHeader(view)
    view.setHorizontalHeader(header)
    header.set_groups([("Long run", "YTD 2017 · 5-yr avg 2014–2018", 1, 2)], {i: t for i, t in enumerate(labels)})
    fm = header.fontMetrics()
    narrow = max(max(fm.horizontalAdvance(w) for w in labels[2].split()) + 14, 44)   # as the CompStat panel sizes it
    for c in range(3):
        view.setColumnWidth(c, narrow)
    band = header._band_height()
    label_band = header.sizeHint().height() - band
    needed = _label_band_needed(header, labels[2], narrow)
    assert needed > 2 * fm.height() + 4, "the test needs a label that wraps to three lines"
    assert label_band >= needed

    view.setColumnWidth(2, fm.horizontalAdvance(labels[2]) + 40)               # room for one line
    assert header.sizeHint().height() - band == 2 * fm.height() + 8

"""The area and as-of date bar every panel follows."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QDate, QSignalBlocker, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QToolButton, QWidget

from workstation.engine import areas as area_keys
from workstation.engine.areas import canonical_key

KEY_ROLE = Qt.ItemDataRole.UserRole + 1


def to_qdate(ts) -> QDate:
    ts = pd.Timestamp(ts)
    return QDate(ts.year, ts.month, ts.day)


def from_qdate(d: QDate) -> pd.Timestamp:
    return pd.Timestamp(d.year(), d.month(), d.day())


class AreaBar(QWidget):
    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.area_combo = QComboBox(self)
        self.area_combo.setMinimumContentsLength(26)
        self.area_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.area_combo.setToolTip("The area every panel shows (Ctrl+L)")
        self._model = QStandardItemModel(self)
        self.area_combo.setModel(self._model)
        self.date_edit = QDateEdit(self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.date_edit.setToolTip("The report's last day (as-of date); by default the newest record's date")
        self.newest_button = QToolButton(self)
        self.newest_button.setText("Newest")
        self.newest_button.setToolTip("Set the as-of date to the newest record's date")
        area_label = QLabel("&Area:", self)
        area_label.setBuddy(self.area_combo)
        date_label = QLabel("As &of:", self)
        date_label.setBuddy(self.date_edit)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(6)
        lay.addWidget(area_label)
        lay.addWidget(self.area_combo)
        lay.addSpacing(12)
        lay.addWidget(date_label)
        lay.addWidget(self.date_edit)
        lay.addWidget(self.newest_button)
        lay.addStretch(1)

        self.area_combo.currentIndexChanged.connect(self._area_picked)
        self.date_edit.dateChanged.connect(self._date_picked)
        self.newest_button.clicked.connect(self.reset_as_of)
        state.workspace_changed.connect(self.rebuild)
        state.selection_changed.connect(self.sync_from_state)
        state.data_changed.connect(self._on_data_changed)
        self.rebuild()

    # ---- from the state to the widgets ----
    def rebuild(self) -> None:
        with QSignalBlocker(self.area_combo):
            self._model.clear()
            ws = self.state.workspace
            if ws is not None:
                for group, entries in area_keys.area_groups(ws):
                    if group:
                        head = QStandardItem(group)
                        head.setFlags(Qt.ItemFlag.NoItemFlags)
                        f = head.font()
                        f.setBold(True)
                        head.setFont(f)
                        self._model.appendRow(head)
                    for key, label in entries:
                        item = QStandardItem(("    " if group else "") + label)
                        item.setData(key, KEY_ROLE)
                        item.setToolTip(label)
                        self._model.appendRow(item)
        self._update_date_range()
        self.sync_from_state()

    def _on_data_changed(self, what: str) -> None:
        if what == "areas":
            self.rebuild()
        else:
            self._update_date_range()

    def _update_date_range(self) -> None:
        ws = self.state.workspace
        newest = ws.as_of() if ws is not None else None
        self.newest_button.setEnabled(newest is not None)
        self.date_edit.setEnabled(newest is not None)
        with QSignalBlocker(self.date_edit):
            if newest is None:
                # no records, no date: the special text stands in for the minimum date
                self.date_edit.setMinimumDate(QDate(1900, 1, 1))
                self.date_edit.setSpecialValueText("no records")
                self.date_edit.setDate(self.date_edit.minimumDate())
            else:
                self.date_edit.setSpecialValueText("")
                self.date_edit.setMinimumDate(QDate(1900, 1, 2))
                self.date_edit.setMaximumDate(to_qdate(newest))

    def sync_from_state(self) -> None:
        with QSignalBlocker(self.area_combo):
            # "district:007", "district:District 7" and "district:7" are one district (areas.canonical_key)
            wanted = canonical_key(self.state.area_key) if self.state.area_key else None
            for row in range(self._model.rowCount()):
                key = self._model.item(row).data(KEY_ROLE)
                if key and canonical_key(key) == wanted:
                    self.area_combo.setCurrentIndex(row)
                    break
        with QSignalBlocker(self.date_edit):
            if self.state.as_of is not None:
                self.date_edit.setDate(to_qdate(self.state.as_of))

    def keys(self) -> list[str]:
        return [self._model.item(r).data(KEY_ROLE) for r in range(self._model.rowCount())
                if self._model.item(r).data(KEY_ROLE)]

    # ---- from the widgets to the state ----
    def _area_picked(self, row: int) -> None:
        item = self._model.item(row) if row >= 0 else None
        key = item.data(KEY_ROLE) if item is not None else None
        if key:
            self.state.set_area(key)
        else:
            self.sync_from_state()  # a group heading: stay where we were

    def _date_picked(self, d: QDate) -> None:
        self.state.set_as_of(from_qdate(d))

    # ---- keyboard navigation (View menu) ----
    def focus_area(self) -> None:
        self.area_combo.setFocus()
        self.area_combo.showPopup()

    def step_area(self, step: int) -> None:
        """The next (``step`` 1) or previous (-1) area of the list, wrapping around."""
        keys = self.keys()
        if not keys:
            return
        i = keys.index(self.state.area_key) if self.state.area_key in keys else 0
        self.state.set_area(keys[(i + step) % len(keys)])

    def step_day(self, days: int) -> None:
        """Move the as-of date by ``days``, never past the newest record."""
        if self.state.as_of is None:
            return
        new = self.state.as_of + pd.Timedelta(days=days)
        newest = self.state.workspace.as_of() if self.state.workspace is not None else None
        if newest is not None and new > newest:
            new = newest
        self.state.set_as_of(new)

    def reset_as_of(self) -> None:
        ws = self.state.workspace
        if ws is not None:
            self.state.set_as_of(ws.as_of())

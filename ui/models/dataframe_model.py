"""A table model over a pandas DataFrame that stays fluid at a million rows.

The model keeps a reference to the frame and an index array of the rows in view order (an argsort permutation,
narrowed by a filter); the frame itself is never copied, sorted or reordered (Orange's AbstractSortTableModel, glue's
table viewer). Cells are formatted a block of rows at a time by the Qt-free workstation.formatting and cached, so a
repaint of a visible page costs a few dictionary look-ups.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from workstation import formatting

BLOCK = 32            # rows formatted together; a visible page touches one or two blocks per column
CACHE_BLOCKS = 8192   # ~260k cells of text; cleared (not evicted piecemeal) when full

# Plain ints: data() runs for every role of every visible cell, so enum look-ups there are measurable.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
RAW_ROLE = Qt.ItemDataRole.UserRole + 1      # the value itself (for tests and copying numbers)
SOURCE_ROW_ROLE = Qt.ItemDataRole.UserRole + 2


def rows_in_view(n: int, order: np.ndarray | None, scope: np.ndarray | None,
                 mask: np.ndarray | None) -> np.ndarray | None:
    """Frame positions in view order: the sort permutation (or the frame's order) narrowed by the scope and the
    filter. Numpy on numbers only, so a worker computing it leaves the UI thread free (it releases the GIL)."""
    keep = scope if mask is None else mask if scope is None else scope & mask
    if order is None:
        # None: the frame's own rows in its order, never materialised (7M positions are 56 MB of fresh memory,
        # 100+ ms of page faults on the UI thread when a big dataset is picked)
        return None if keep is None else np.flatnonzero(keep)
    return order if keep is None else order[keep[order]]


class DataFrameModel(QAbstractTableModel):
    rows_changed = Signal(int, int)  # rows in view, rows in the frame

    def __init__(self, df: pd.DataFrame | None = None, columns: list[str] | None = None,
                 headers: dict[str, str] | None = None, parent=None) -> None:
        super().__init__(parent)
        self._df = pd.DataFrame()
        self._cols: list[str] = []
        self._headers = dict(headers or {})
        self._styles: list[str] = []
        self._numeric: list[bool] = []
        self._formatters: list[formatting.ColumnFormatter] = []
        self._rows: np.ndarray | None = None   # frame positions in view order; None: all, in the frame's order
        self._order: np.ndarray | None = None   # permutation of all rows, or None for the frame's own order
        self._mask: np.ndarray | None = None    # filter over frame rows, or None
        self._scope: np.ndarray | None = None   # rows in scope (e.g. inside the selected area), or None for all
        self._filter_text = ""
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._cache: dict[tuple[int, int], list[str]] = {}
        self._value_labels: dict[str, dict] = {}
        # RecordsView's hook: returns True when it takes a sort to a worker (a big frame)
        self.sort_elsewhere: Callable[[int, Qt.SortOrder], bool] | None = None
        if df is not None:
            self.set_frame(df, columns)

    # ---- content ----
    def set_frame(self, df: pd.DataFrame, columns: list[str] | None = None,
                  value_labels: dict[str, dict] | None = None) -> None:
        """Show ``df`` (never copied). ``value_labels``: per category column, how its values read on screen
        ("larceny_theft" -> "Theft"); sorting and filtering follow what is shown."""
        self.beginResetModel()
        self._df = df
        self._value_labels = dict(value_labels or {})
        self._cols = [c for c in (columns if columns is not None else list(df.columns)) if c in df.columns]
        self._styles = [formatting.column_style(df[c], c) for c in self._cols]
        self._numeric = [formatting.is_numeric_style(st) for st in self._styles]
        self._formatters = [formatting.ColumnFormatter(df[c], st, self._value_labels.get(c))
                            for c, st in zip(self._cols, self._styles)]
        self._order = None
        self._mask = None
        self._scope = None
        self._sort = None
        self._filter_text = ""
        self._cache.clear()
        self._rows = None
        self.endResetModel()
        self.rows_changed.emit(len(df), len(df))

    def frame(self) -> pd.DataFrame:
        return self._df

    def columns(self) -> list[str]:
        return list(self._cols)

    def column_style(self, col: int) -> str:
        return self._styles[col]

    def source_row(self, row: int) -> int:
        return row if self._rows is None else int(self._rows[row])

    def _positions(self, start: int, stop: int) -> np.ndarray:
        """Frame positions of the view rows start..stop."""
        if self._rows is None:
            return np.arange(start, min(stop, len(self._df)), dtype=np.int64)
        return self._rows[start:stop]

    def source_rows(self) -> np.ndarray:
        """Frame positions of the rows in view order (read-only view)."""
        v = (np.arange(len(self._df), dtype=np.int64) if self._rows is None else self._rows).view()
        v.flags.writeable = False
        return v

    def column_texts(self, col: int, rows: int) -> list[str]:
        """The text shown in column ``col`` for the first ``rows`` rows in view (formatted a block at a time)."""
        out: list[str] = []
        for b in range(0, (min(rows, self.rowCount()) + BLOCK - 1) // BLOCK):
            out += self._cache.get((col, b)) or self._format_block(col, b)
        return out[:rows]

    def view_frame(self, rows: list[int] | None = None, cols: list[int] | None = None) -> pd.DataFrame:
        """A new frame of the rows (in view order) and columns shown; for copying and saving, never for display."""
        every = self.source_rows()
        pos = every if rows is None else every[np.asarray(rows, dtype=np.int64)]
        names = self._cols if cols is None else [self._cols[c] for c in cols]
        return self._df.iloc[pos][names]

    # ---- Qt model contract ----
    def rowCount(self, parent=QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return len(self._df) if self._rows is None else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._cols)

    def data(self, index, role=_DISPLAY):
        if role == _DISPLAY:
            r = index.row()
            c = index.column()
            b = r // BLOCK
            block = self._cache.get((c, b))
            if block is None:
                block = self._format_block(c, b)
            return block[r - b * BLOCK]
        if role == _ALIGN:
            return _RIGHT if self._numeric[index.column()] else _LEFT
        if role == RAW_ROLE:
            v = self._df[self._cols[index.column()]].iloc[self.source_row(index.row())]
            return None if formatting.is_missing(v) else (v.item() if hasattr(v, "item") else v)
        if role == SOURCE_ROW_ROLE:
            return self.source_row(index.row())
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                if 0 <= section < len(self._cols):
                    name = self._cols[section]
                    return self._headers.get(name, name)
                return None
            return f"{section + 1:,d}"
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            if 0 <= section < len(self._cols):
                return f"{self._cols[section]} — click to sort"
        return None

    def flags(self, index):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def _format_block(self, c: int, b: int) -> list[str]:
        if len(self._cache) >= CACHE_BLOCKS:
            self._cache.clear()
        positions = self._positions(b * BLOCK, (b + 1) * BLOCK)
        block = self._formatters[c].block(positions)
        self._cache[(c, b)] = block
        return block

    # ---- sorting and filtering: by permutation and mask, never by touching the frame ----
    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._cols):
            return
        if self.sort_elsewhere is not None and self.sort_elsewhere(column, order):
            return  # a big frame: sorted in a worker, then swapped in with set_view
        self.layoutAboutToBeChanged.emit()
        name = self._cols[column]
        self._order = formatting.argsort_rows(self._df[name], ascending=order == Qt.SortOrder.AscendingOrder,
                                              labels=self._value_labels.get(name))
        self._sort = (column, order)
        self._apply()
        self._remap_persistent()
        self.layoutChanged.emit()

    def sort_state(self):
        return self._sort

    def set_filter(self, text: str) -> None:
        """Keep the rows where any shown column contains ``text`` (as shown, case-insensitive)."""
        text = (text or "").strip()
        if text == self._filter_text:
            return
        self.beginResetModel()
        self._filter_text = text
        self._mask = self._match(text) if text else None
        self._apply()
        self.endResetModel()

    def filter_text(self) -> str:
        return self._filter_text

    def set_mask(self, text: str, mask: np.ndarray | None) -> None:
        """Apply a filter computed elsewhere (a worker, for big frames) with ``formatting.match_rows``."""
        self.beginResetModel()
        self._filter_text = (text or "").strip()
        self._mask = mask if self._filter_text else None
        self._apply()
        self.endResetModel()

    def _match(self, text: str) -> np.ndarray:
        return formatting.match_rows(self._df, self._cols, text, self._value_labels)

    def value_labels(self) -> dict:
        return dict(self._value_labels)

    def set_scope(self, scope: np.ndarray | None) -> None:
        """Limit the view to the frame rows where ``scope`` is True (None: every row); filter and sort still apply."""
        self.beginResetModel()
        self._scope = None if scope is None else np.asarray(scope, dtype=bool)
        self._apply()
        self.endResetModel()

    def scope_size(self) -> int:
        return len(self._df) if self._scope is None else int(self._scope.sum())

    def _apply(self) -> None:
        self._cache.clear()
        self._rows = rows_in_view(len(self._df), self._order, self._scope, self._mask)
        self.rows_changed.emit(self.rowCount(), self.scope_size())

    # ---- a view computed elsewhere (a worker, for big frames): the UI thread only swaps it in ----
    def view_state(self) -> dict:
        """What decides the rows in view, for a worker to compute them (``rows_in_view``) from a changed copy."""
        return {"sort": self._sort, "order": self._order, "scope": self._scope, "text": self._filter_text,
                "mask": self._mask}

    def set_view(self, view: dict, rows: np.ndarray) -> None:
        """Swap in a view (``view_state`` keys) and its ``rows`` computed off the UI thread: no work on the rows
        here, so a 10M-row frame's sort or area lands in a few milliseconds."""
        self.layoutAboutToBeChanged.emit()
        self._sort, self._order, self._scope = view["sort"], view["order"], view["scope"]
        self._filter_text, self._mask = view["text"], view["mask"]
        self._cache.clear()
        self._rows = rows
        self._remap_persistent()
        self.layoutChanged.emit()
        self.rows_changed.emit(self.rowCount(), self.scope_size())

    def _remap_persistent(self) -> None:
        # Selections are cleared on sort (they would point at other records otherwise).
        old = self.persistentIndexList()
        if old:
            self.changePersistentIndexList(old, [QModelIndex()] * len(old))

"""A table model over one or more ReportTables of the same columns (the CompStat grid's sections).

Values stay as the report gives them; text comes from workstation.formatting, colours from the change class and the
chance-aware flag. Section tables are stacked with a heading row each (shown spanning the whole width).
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from workstation import formatting
from workstation.reports.table import ReportTable

RAW_ROLE = Qt.ItemDataRole.UserRole + 1
CELL_KEY_ROLE = Qt.ItemDataRole.UserRole + 2
ROW_KIND_ROLE = Qt.ItemDataRole.UserRole + 3   # "section" | "data" | "subtotal" | "total"
CHANGE_ROLE = Qt.ItemDataRole.UserRole + 4     # "bad" | "good" | ""

# Fills for change cells: pale when the change is within chance, stronger when notable/significant.
FILL = {
    ("bad", ""): QColor("#fbecea"), ("bad", "notable"): QColor("#f6c9c3"), ("bad", "significant"): QColor("#ee9f95"),
    ("good", ""): QColor("#eaf5e9"), ("good", "notable"): QColor("#c6e5c3"),
    ("good", "significant"): QColor("#98cf93"),
}
TEXT = {"bad": QColor("#8f1d12"), "good": QColor("#1d6a1a")}
SECTION_FILL = QColor("#e6ebf2")
SECTION_TEXT = QColor("#1f3550")
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)  # a plain int: data() runs for every role of every visible cell


def cell_texts(tables: list[ReportTable], display: dict) -> list[list[list[str]]]:
    """The text of every data cell of every table, as the grid shows it (``display``: column name -> short form;
    marks such as † appended). Qt-free: a panel computes it with the tables, in its worker on a big workspace, so
    that painting the grid formats nothing on the UI thread."""
    out = []
    for t in tables:
        fns = [display.get(c) for c in t.columns]
        rows = []
        for r, values in enumerate(t.rows):
            row = []
            for col, value in enumerate(values):
                fn = fns[col]
                text = fn(value) if fn is not None else formatting.format_value(value, t.column_kinds[col])
                mark = t.cell_marks.get((r, col))
                row.append(f"{text}{mark}" if mark and text else text)
            rows.append(row)
        out.append(rows)
    return out


_ROLES = frozenset(int(r) for r in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.FontRole, Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole, RAW_ROLE,
    CELL_KEY_ROLE, ROW_KIND_ROLE, CHANGE_ROLE))


class ReportModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tables: list[ReportTable] = []
        self._rows: list[tuple[int, int]] = []   # (table index, row index or -1 for the section heading)
        self.columns: list[str] = []
        self.kinds: list[str] = []
        self.show_sections = True
        self.display: dict[str, object] = {}   # column name -> fn(value) -> text, for screen-only short forms
        self._bold = QFont()
        self._bold.setBold(True)
        self._texts: list = []
        self._brushes = {"fill": {k: QBrush(v) for k, v in FILL.items()}, "text": {k: QBrush(v) for k, v in TEXT.items()}}

    def set_tables(self, tables: list[ReportTable], show_sections: bool = True, texts: list | None = None) -> None:
        """Show ``tables``; ``texts`` (from ``cell_texts`` with this model's ``display``) when computed already."""
        self.beginResetModel()
        self._texts = texts if texts is not None else cell_texts(tables, self.display)
        self.tables = list(tables)
        self.show_sections = show_sections
        self.columns = list(tables[0].columns) if tables else []
        self.kinds = list(tables[0].column_kinds) if tables else []
        rows = []
        for t_i, t in enumerate(self.tables):
            if show_sections and len(self.tables) > 1:
                rows.append((t_i, -1))
            rows += [(t_i, r) for r in range(len(t.rows))]
        self._rows = rows
        self.endResetModel()

    # ---- lookups ----
    def locate(self, row: int) -> tuple[ReportTable, int]:
        t_i, r = self._rows[row]
        return self.tables[t_i], r

    def is_section(self, row: int) -> bool:
        return self._rows[row][1] < 0

    def section_rows(self) -> list[int]:
        return [i for i, (_t, r) in enumerate(self._rows) if r < 0]

    def find(self, label: str, table_title_contains: str | None = None) -> int:
        """The model row of the data row labelled ``label`` (in the first table whose title matches)."""
        for i, (t_i, r) in enumerate(self._rows):
            t = self.tables[t_i]
            if r >= 0 and t.rows[r][0] == label and (table_title_contains is None or table_title_contains in t.title):
                return i
        raise KeyError(label)

    def value(self, row: int, col: int):
        t, r = self.locate(row)
        return None if r < 0 else t.rows[r][col]

    def cell_key(self, row: int, col: int):
        t, r = self.locate(row)
        return None if r < 0 else t.cell_keys.get((r, col))

    # ---- Qt contract ----
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter if section else
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        t_i, r = self._rows[row]
        if role == _DISPLAY and r >= 0:
            return self._texts[t_i][r][col]
        if role not in _ROLES:  # decoration, check state, size hint...: asked for every cell at every paint
            return None
        t = self.tables[t_i]
        if r < 0:  # section heading
            if role == Qt.ItemDataRole.DisplayRole and col == 0:
                return _section_name(t.title)
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(SECTION_FILL)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(SECTION_TEXT)
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
            if role == ROW_KIND_ROLE:
                return "section"
            return None
        value = t.rows[r][col]
        kind = t.column_kinds[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if t.columns[col] in self.display and value:
                return str(value)
            return None
        if role == RAW_ROLE:
            return value
        if role == CELL_KEY_ROLE:
            return t.cell_keys.get((r, col))
        if role == ROW_KIND_ROLE:
            return (t.row_kinds[r] if t.row_kinds else "data") or "data"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if kind in ("label", "text"):
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole:
            if t.row_kinds and t.row_kinds[r] in ("total", "subtotal"):
                return self._bold
            return None
        change = self._change(t, r, col)
        if role == CHANGE_ROLE:
            return change[0]
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._brushes["fill"][change] if change[0] else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._brushes["text"][change[0]] if change[0] else None
        return None

    def _change(self, t: ReportTable, r: int, col: int) -> tuple[str, str]:
        """(class, strength) of a change cell: its own sign/direction, and the exact-test flag the report gave it."""
        kind = t.column_kinds[col]
        if kind not in ("pct_change", "z"):
            return ("", "")
        value = t.rows[r][col]
        cls = formatting.change_class(value, kind, t.direction)
        if not cls:
            return ("", "")
        return (cls, t.cell_flags.get((r, col), ""))

    def flags(self, index):
        if index.isValid() and self.is_section(index.row()):
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def _section_name(title: str) -> str:
    # "CompStat — Outcomes — Citywide" -> "Outcomes"
    parts = [p.strip() for p in title.split("—")]
    return parts[1] if len(parts) >= 3 else title


def window_groups(t: ReportTable) -> list[tuple[str, int, int]]:
    return list(t.header_groups or [])

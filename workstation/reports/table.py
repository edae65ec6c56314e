"""The shape every report takes on its way to a view or an export.

A report function returns one or more ``ReportTable``s: plain values (no formatting, no Qt, no openpyxl), with enough
description for a view or the workbook writer to format and colour them the same way everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# How a column's values are to be shown. Values stay raw; formatting is the consumer's job:
#   "label"      text row label                        "text"     free text (from input files: never a formula)
#   "count"      integer count                         "decimal1" number to one decimal (baseline averages)
#   "rate"       number to two decimals                "pct"      a share, as a fraction (0.104 -> 10%)
#   "pct_change" % change as a fraction (-0.18 -> -18%), None when undefined (zero base): blank plus a note
#   "z"          z = √2·(√C − √P), one decimal           "date"     a date (pandas Timestamp or datetime.date)
COLUMN_KINDS = ("label", "text", "count", "decimal1", "rate", "pct", "pct_change", "z", "date")


@dataclass
class ReportTable:
    title: str
    columns: list[str]
    column_kinds: list[str]
    rows: list[list]
    # "crime": a rise is bad (up = red, down = green); "activity": the reverse.
    direction: str = "crime"
    # Optional per-row kind: "data" (default), "subtotal", "total" — totals are shown bold.
    row_kinds: list[str] | None = None
    # Sentences shown under the table and on the Notes sheet (counting rule, blanks, sources...).
    notes: list[str] = field(default_factory=list)
    # Optional header band above the column headers: [(label, first_col, last_col)], e.g. area names.
    header_groups: list[tuple[str, int, int]] = field(default_factory=list)
    # Free-form key for drill-through: per (row, col) -> a description of the records behind the number, set by
    # the report; consumers that do not drill through ignore it.
    cell_keys: dict = field(default_factory=dict)
    # Chance-aware flags of change cells, per (row, col) -> "notable" | "significant" (reports/rules.py: the exact
    # binomial test of the two counts). A change cell not listed is within chance. Views and the workbook colour
    # strongly only the cells listed here: the strength cannot be read off the z alone.
    cell_flags: dict = field(default_factory=dict)
    # Marks shown after a cell's value, per (row, col) -> "†" and the like; the notes say what each mark means
    # (e.g. a window cut short because a dataset ends before the as-of date).
    cell_marks: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.columns) != len(self.column_kinds):
            raise ValueError(f"{self.title}: {len(self.columns)} columns but {len(self.column_kinds)} kinds")
        for k in self.column_kinds:
            if k not in COLUMN_KINDS:
                raise ValueError(f"{self.title}: unknown column kind {k!r}")
        for r in self.rows:
            if len(r) != len(self.columns):
                raise ValueError(f"{self.title}: row {r[:1]} has {len(r)} cells, expected {len(self.columns)}")

    def column(self, name: str) -> list:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def row(self, label) -> list:
        for r in self.rows:
            if r[0] == label:
                return r
        raise KeyError(label)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)

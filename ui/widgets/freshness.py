"""The status bar's data freshness: how new each dataset's newest record is ("Offenses as of 29 Sep 2019 · calls
28 Sep 2019"), with the record counts in the tooltip."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

FRESHNESS_KINDS = (("offenses", "Offenses"), ("shootings", "Shootings"), ("calls", "Calls"),
                   ("activity", "Activity"))


class FreshnessLabel(QLabel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def update_from(self, ws) -> None:
        if ws is None:
            self.setText("")
            return
        parts, tips = [], []
        for kind, label in FRESHNESS_KINDS:
            n = len(ws.frames[kind])
            if not n:
                continue
            as_of = ws.as_of(kind)
            if as_of is None:
                continue
            parts.append(f"{label} as of {as_of:%d %b %Y}" if not parts else f"{label.lower()} {as_of:%d %b %Y}")
            tips.append(f"{label}: {n:,d} records, the newest dated {as_of:%A %d %B %Y}")
        if not parts:
            self.setText("No records loaded")
            self.setToolTip("Import data with Ctrl+I or drop files on the window")
            return
        self.setText(" · ".join(parts))
        self.setToolTip("\n".join(tips))

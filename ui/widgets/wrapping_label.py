"""A word-wrapped label that asks its layout for the height of all its lines.

Qt does not carry a label's height-for-width through a QStackedWidget (every panel sits in one), so a wrapped
QLabel gets the height of its unwrapped size hint and its last lines are cut off when the window is narrow (a
1366-pixel screen, or 125-150% scaling). This label sets its minimum height to what its current width needs."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel


class WrappingLabel(QLabel):
    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        need = self.heightForWidth(self.width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)

"""What every analysis tab shares: it follows AppState, refreshes only when visible (a hidden tab never recomputes
behind another), and shows its content, an empty state (with Import / Open demo) or a busy state while the engine
of a large workspace is prepared in a worker."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from ui.widgets.empty_state import BusyState, EmptyState


class StatePanel(QWidget):
    status_message = Signal(str)
    import_requested = Signal()
    demo_requested = Signal()

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self._stale = True

    def _make_heading(self, text: str = "") -> None:
        """The panel's title (larger, semibold) and a muted subtitle line under it."""
        self.title = QLabel(text)
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.2)
        f.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(f)
        self.subtitle = QLabel()
        self.subtitle.setStyleSheet("color: palette(placeholder-text);")

    def _stack_states(self, content: QWidget, empty_title: str, empty_text: str) -> None:
        """Put ``content``, the empty state and the busy state in one stack on this panel."""
        self.empty = EmptyState(empty_title, empty_text)
        self.empty.import_requested.connect(self.import_requested)
        self.empty.demo_requested.connect(self.demo_requested)
        self.stack = QStackedLayout(self)
        self.stack.addWidget(content)
        self.stack.addWidget(self.empty)
        self.busy = BusyState("Preparing the figures of a large workspace…")
        self.stack.addWidget(self.busy)
        self.state.ready_changed.connect(lambda ready: self.mark_stale() if ready else None)

    def mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _begin_refresh(self) -> bool:
        """False (and the busy state shown) while the engine is still being warmed in a worker: the panel comes back
        through ready_changed."""
        if not self.state.ready:
            self._stale = True
            self.stack.setCurrentWidget(self.busy)
            return False
        self._stale = False
        return True

    def refresh(self) -> None:  # pragma: no cover - every panel defines its own
        raise NotImplementedError

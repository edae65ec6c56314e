"""What every analysis tab shares: it follows AppState, refreshes only when visible (a hidden tab never recomputes
behind another), and shows its content, an empty state (with Import / Open demo) or a busy state while the engine
of a large workspace is prepared in a worker. On a large workspace (AppState.big) a panel's figures are computed in a
worker too, and only the model swap runs on the UI thread (``compute``)."""
from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from workstation.core.errors import UserError
from ui.widgets.empty_state import BusyState, EmptyState
from ui.workers import TaskRunner

log = logging.getLogger(__name__)


class StatePanel(QWidget):
    status_message = Signal(str)
    import_requested = Signal()
    demo_requested = Signal()

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self._stale = True
        self.figures = TaskRunner(self)       # a big workspace's figures, computed off the UI thread
        self.figures.finished.connect(self._figures_done)
        self.figures.failed.connect(lambda message, _details: self._figures_failed(message))
        self._on_figures: tuple | None = None

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

    # ---- the panel's figures: in a worker on a big workspace, the model swap on the UI thread ----
    def compute(self, fn: Callable[[], object], show: Callable[[object], None], fail: Callable[[str], None]) -> None:
        """Compute the figures with ``fn`` (workstation code that only reads the workspace) and ``show`` them; a
        UserError goes to ``fail`` as its sentence. On a big workspace ``fn`` runs in a worker, the panel keeps what it
        shows (or its busy state) until ``show`` swaps the new figures in, and a newer request drops an older one.
        A small workspace computes at once (tens of milliseconds), as before."""
        if not self.state.big:
            self.figures.cancel()
            self._on_figures = None
            try:
                result = fn()
            except UserError as exc:
                fail(str(exc))
                return
            show(result)
            return
        self._on_figures = (show, fail)
        self.figures.start(lambda progress, should_stop: fn(), "computing the figures")

    @property
    def computing(self) -> bool:
        """Figures are being computed in a worker (a big workspace)."""
        return self.figures.is_running()

    def _figures_done(self, result) -> None:
        handlers, self._on_figures = self._on_figures, None
        if handlers is not None:
            handlers[0](result)

    def _figures_failed(self, message: str) -> None:
        # an unexpected error was logged by the worker with its traceback; the panel says it in a sentence
        handlers, self._on_figures = self._on_figures, None
        if handlers is not None:
            handlers[1](message)

    def shutdown(self) -> None:
        self.figures.cancel()
        self.figures.wait()

"""AppState: the one object every panel listens to — the open workspace, the selected area and the as-of date.

Area keys are plain strings shared with workstation/ reports: "citywide", "district:<name>",
"target_area:<name>", "scenario:<name>".
"""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QObject, Signal


class AppState(QObject):
    workspace_changed = Signal()          # a different workspace was opened (or created)
    data_changed = Signal(str)            # the open workspace changed: "offenses", "areas", ... (from its callbacks)
    selection_changed = Signal()          # area or as-of date changed
    ready_changed = Signal(bool)          # False while the figures of a big workspace are prepared off the UI thread

    def __init__(self, workspace=None, parent=None) -> None:
        super().__init__(parent)
        self.workspace = None
        self.area_key = "citywide"
        self.as_of: pd.Timestamp | None = None
        self.ready = True  # panels that count (grid, trends) wait for True before asking the engine
        # a big workspace (the controller decides, with the warm-up): the panels compute their figures in workers
        # and only swap their models on the UI thread
        self.big = False
        if workspace is not None:
            self.set_workspace(workspace)

    def set_workspace(self, workspace) -> None:
        if self.workspace is not None:
            self.workspace.unsubscribe(self._on_workspace_change)
        self.workspace = workspace
        workspace.subscribe(self._on_workspace_change)
        self.area_key = "citywide"
        self.as_of = workspace.as_of()
        self.workspace_changed.emit()
        self.selection_changed.emit()

    def set_area(self, key: str) -> None:
        if key != self.area_key:
            self.area_key = key
            self.selection_changed.emit()

    def set_as_of(self, as_of) -> None:
        as_of = None if as_of is None else pd.Timestamp(as_of).normalize()
        if as_of != self.as_of:
            self.as_of = as_of
            self.selection_changed.emit()

    def set_ready(self, ready: bool) -> None:
        if ready != self.ready:
            self.ready = ready
            self.ready_changed.emit(ready)

    def _on_workspace_change(self, what: str) -> None:
        self.data_changed.emit(what)

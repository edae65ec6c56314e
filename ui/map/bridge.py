"""The QWebChannel object the map page talks to (``PSP.bridge`` in resources/map_local/psp_map.js).

The page keeps one message in flight and replaces any unsent shape with the newest, so a slow answer never builds a
queue; each slot answers synchronously (the engine needs well under a millisecond) and the JavaScript callback sends
the next message. The real work is done by plain Python callables (``on_shape``, ``on_record``) set by the panel.
"""
from __future__ import annotations

import json
import time
from typing import Callable

from PySide6.QtCore import QObject, Signal, Slot


class MapBridge(QObject):
    page_ready = Signal()
    shape_handled = Signal(dict, dict)   # the message from the page, the answer sent back

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_shape: Callable[[dict], dict] | None = None
        self.on_record: Callable[[str, str], dict] | None = None
        self.messages = 0
        self.busy_s = 0.0                 # time spent answering shape messages (for the status line and tests)

    @Slot(str, result=str)
    def shapeChanged(self, text: str) -> str:  # noqa: N802 (called from JavaScript)
        t0 = time.perf_counter()
        try:
            msg = json.loads(text)
        except ValueError:
            return json.dumps({"ok": False, "message": "unreadable message"})
        answer = self.on_shape(msg) if self.on_shape is not None else {"ok": False, "message": "not editing"}
        self.messages += 1
        self.busy_s += time.perf_counter() - t0
        self.shape_handled.emit(msg, answer)
        return json.dumps(answer, default=str)

    @Slot()
    def pageReady(self) -> None:  # noqa: N802
        self.page_ready.emit()

    @Slot(str, str, result=str)
    def recordDetails(self, dataset: str, record_id: str) -> str:  # noqa: N802
        if self.on_record is None:
            return "{}"
        return json.dumps(self.on_record(dataset, record_id), default=str)

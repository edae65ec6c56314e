"""MapPanel: the map tab. Follows the area and date bar (AppState); edits target-area boundaries with live figures.

The page is built by ``workstation.maps.page`` (Qt-free) and shown by ``MapView``. Editing is driven by
``workstation.whatif.engine.BoundaryEditor``: the page's editor sends each shape over the QWebChannel (one message in
flight), the editor answers with the figures, and the side panel shows them (repainted at most ~30 times a second).
One drag is one undo step; undo/redo put the shape back on the map without it being echoed as a new edit.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QMessageBox, QSizePolicy,
    QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from workstation.maps import page as maps
from workstation.core.errors import UserError
from workstation.formatting import whole_percent
from workstation.reports.rules import change_flag, exact_p
from ui.image_file import save_png
from ui.workers import TaskRunner

from . import basemaps
from .controls import CHOROPLETH_CHOICES, CONTROL_NAMES, WINDOW_CHOICES, MapControls  # noqa: F401
from .session import DRAFT_KEY, EditSession
from .view import MapView

DRAWING = "Drawing the map…"
DRAWING_NOTICE_MS = 300  # a redraw quicker than this keeps the old map without a flicker of words

PANEL_REFRESH_MS = 33
# An unfinished boundary edit is kept in the workspace's meta (and so in its recovery file): it survives a crash.


def _pct(fraction) -> str:
    p = whole_percent(fraction)
    return "" if p is None else f"{p:+d}%"


# the CompStat grid's flags: the exact binomial test of the two counts (reports/rules.py)
_FLAG_MARK = {"notable rise": " ▲", "significant rise": " ▲▲", "notable fall": " ▼", "significant fall": " ▼▼"}
FLAG_TIP = ("▲ ▼: the exact binomial test of the two counts (C of C + P at ½, two-sided) gives p < 0.05 (notable); "
            "▲▲ ▼▼: p < 0.01 (significant). No mark: within chance.")


def _flag_cell(current, prior) -> tuple[str, str]:
    """The change cell's flag mark and its tooltip, as in the CompStat grid."""
    if prior is None:
        return "", "The records do not reach back a year: the earlier count is unknown."
    word = change_flag(current, prior)
    p = exact_p(current, prior)
    tip = f"{_num(current)} vs {_num(prior)}: exact p = {'< 0.001' if p < 0.001 else f'{p:.3f}'}"
    return _FLAG_MARK.get(word, ""), tip + (f" — {word}" if word else " — within chance") + "\n" + FLAG_TIP


def _num(x) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


class FiguresPanel(QWidget):
    """The live figures of the edited area."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.title = QLabel("No boundary selected")
        self.title.setStyleSheet("font-weight: bold; font-size: 13px;")
        self.title.setWordWrap(True)
        self.hint = QLabel("Pick a target area or scenario under Edit boundary (or in the Area bar) to see its figures "
                           "and drag its corners; or Draw new.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b03a2e;")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.values: dict[str, QLabel] = {}
        for key, label in (("area", "Area"), ("area_share", "Share of city area"), ("crime_share", "Share of city"),
                           ("pai", "PAI"), ("population", "Population inside"), ("vertices", "Corners")):
            v = QLabel("–")
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setWordWrap(True)
            self.values[key] = v
            lab = QLabel(label)
            lab.setWordWrap(True)
            if key == "pai":
                lab.setToolTip("Prospective accuracy index: the area's share of city crime divided by its share of "
                               "city area (1 = crime as dense as the city's average)")
            if key == "crime_share":
                self.crime_share_label = lab
            form.addRow(lab, v)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Measure", "YTD", "Last YTD", "Change"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            self.table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.window_box = QComboBox()
        for key, label in (("ytd", "Year to date"), ("28d", "28 days"), ("wtd", "Week to date")):
            self.window_box.addItem(label, key)
        self.window_box.currentIndexChanged.connect(lambda _i: self.show_figures(self.figures))
        self.status = QLabel("")
        self.status.setStyleSheet("color: #666; font-size: 11px;")
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.hint)
        lay.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(QLabel("Counts for"))
        row.addWidget(self.window_box, 1)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.message)
        lay.addWidget(self.status)
        self.figures = None
        self.setMinimumWidth(300)

    def clear(self, text: str = "No boundary selected") -> None:
        self.figures = None
        self.title.setText(text)
        self.hint.setVisible(True)
        self.crime_share_label.setText("Share of city")
        self.status.setText("")
        for v in self.values.values():
            v.setText("–")
        self.table.setRowCount(0)
        self.message.setText("")

    def show_figures(self, fig, title: str | None = None) -> None:
        if title is not None:
            self.title.setText(title)
        self.figures = fig
        if fig is None:
            return
        self.hint.setVisible(False)
        v = self.values
        v["area"].setText(f"{fig.area_sq_mi:,.2f} sq mi")
        v["area_share"].setText("–" if fig.share_of_city_area is None else f"{100 * fig.share_of_city_area:.1f}%")
        win = {"ytd": "year to date", "28d": "28 days", "wtd": "week to date"}.get(fig.share_window, fig.share_window)
        self.crime_share_label.setText(f"Share of city {fig.share_label or 'crime'}, {win}")
        v["crime_share"].setText("–" if fig.share_of_city_crime is None else
                                 f"{100 * fig.share_of_city_crime:.1f}% ({_num(fig.n_area)} of {_num(fig.n_city)})")
        v["pai"].setText("–" if fig.pai is None else f"{fig.pai:.2f}")
        v["population"].setText("no population data" if fig.population is None else
                                f"{fig.population:,.0f} ({fig.population_note})")
        v["vertices"].setText(str(fig.vertices))
        kind = self.window_box.currentData() or "ytd"
        label = {"ytd": ("YTD", "Last YTD"), "28d": ("28 days", "Year before"), "wtd": ("WTD", "Year before")}[kind]
        self.table.setHorizontalHeaderLabels(["Measure", label[0], label[1], "Change"])
        self.table.setRowCount(len(fig.measures))
        for r, m in enumerate(fig.measures):
            w = m.window(kind)
            mark, tip = _flag_cell(w.current, w.prior)
            cells = [m.label, _num(w.current), "" if w.prior is None else _num(w.prior), _pct(w.change) + mark]
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    if c:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.table.setItem(r, c, item)
                item.setText(text)
                if c == 3:
                    item.setToolTip(tip)


class MapPanel(QWidget):
    """The map tab: ``MapPanel(state)`` with ``state`` a ``ui.state.AppState``."""

    figures_shown = Signal()        # the side panel was repainted (tests wait for it)
    page_ready = Signal(bool)       # a page finished loading (and its editor shape, if any, was put back)

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self._stale = True
        self._tiles: maps.TileSource | None = None
        self._tile_no = 0
        self.last_page: maps.MapPage | None = None
        self.build_seconds = 0.0
        self._pending_figures = None
        self._last_paint = 0.0                   # perf_counter of the last repaint of the side panel
        self.overlay = None                      # a spatial analysis drawn over the map (ui/panels/spatial.py)

        # ---- controls: the two bars above the map (ui/map/controls.py) ----
        controls = MapControls(state, self)
        for name in CONTROL_NAMES:
            setattr(self, name, getattr(controls, name))
        for a in (self.undo_action, self.redo_action):
            self.addAction(a)                    # their shortcuts work anywhere in the panel
        bar1, bar2 = controls.bar1, controls.bar2

        self.view = MapView(self)
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        self.figures_panel = FiguresPanel()
        # the boundary being edited, its draft and saving it as a scenario (no widgets: ui/map/session.py)
        self.session = EditSession(state, self.view, self)
        self.session.changed.connect(self._session_changed)
        self.session.figures.connect(self._on_figures)
        self.session.message.connect(self.figures_panel.message.setText)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.notice)
        ll.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.figures_panel)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([900, 320])               # the web view's size hint is tiny: give the map the room
        self.view.setMinimumWidth(320)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(bar1)
        lay.addLayout(bar2)
        lay.addWidget(self.splitter, 1)

        # ---- timers: rebuilding is debounced; the side panel repaints at most every PANEL_REFRESH_MS ----
        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(120)
        self._rebuild_timer.timeout.connect(self.rebuild)
        self._figures_timer = QTimer(self)
        self._figures_timer.setSingleShot(True)
        self._figures_timer.setInterval(PANEL_REFRESH_MS)
        self._figures_timer.timeout.connect(self._paint_figures)
        # the page (HTML with every point) is built off the UI thread; a newer state abandons an older build
        self._builder = TaskRunner(self)
        self._builder.finished.connect(self._page_built)
        self._builder.failed.connect(self._build_failed)
        self.drawing_label = QLabel(DRAWING, self.view)
        self.drawing_label.setStyleSheet("QLabel { background: rgba(255, 255, 255, 230); color: #333; "
                                         "border: 1px solid #bbb; border-radius: 4px; padding: 8px 14px; }")
        self.drawing_label.hide()
        self._build_started = 0.0

        # ---- wiring ----
        self.view.bridge.on_shape = self.session.on_shape_message
        self.view.bridge.on_record = self._record_details
        self.view.page_loaded.connect(self._on_page_loaded)
        self.view.bridge.page_ready.connect(self._on_bridge_ready)
        for w in (self.measure_box, self.window_box, self.shade_box):
            w.currentIndexChanged.connect(self._schedule)
        self.points_box.toggled.connect(self._schedule)
        self.heat_box.toggled.connect(self._schedule)
        self.boundary_box.activated.connect(self._boundary_chosen)
        self.draw_button.clicked.connect(self.start_drawing)
        self.save_button.clicked.connect(self.save_scenario)
        self.undo_action.triggered.connect(self.undo)
        self.redo_action.triggered.connect(self.redo)
        self.export_html_button.clicked.connect(self._export_html_clicked)
        self.export_png_button.clicked.connect(self._export_png_clicked)
        self.tiles_button.clicked.connect(self._tiles_clicked)
        self.clear_overlay_button.clicked.connect(lambda: self.set_overlay(None))
        state.workspace_changed.connect(self._workspace_changed)
        state.selection_changed.connect(self._selection_changed)
        state.data_changed.connect(self._data_changed)
        state.ready_changed.connect(self._ready_changed)
        self._fill_choices()
        self._update_undo()
        if state.workspace is not None:
            self.session.restore_draft()

    # ------------------------------------------------------------------------------------------------------------
    # choices
    def _fill_choices(self) -> None:
        ws = self.state.workspace
        cur = self.measure_box.currentData()
        self.measure_box.blockSignals(True)
        self.measure_box.clear()
        if ws is not None:
            from workstation.engine.measures import catalog_for

            for m in catalog_for(ws).counts():
                if len(ws.frames[m.dataset]):
                    self.measure_box.addItem(m.label, m.id)
        i = self.measure_box.findData(cur if cur else "part1_violent")
        self.measure_box.setCurrentIndex(max(i, 0))
        self.measure_box.blockSignals(False)
        self._fill_boundaries()

    def _fill_boundaries(self) -> None:
        ws = self.state.workspace
        self.boundary_box.blockSignals(True)
        self.boundary_box.clear()
        self.boundary_box.addItem("— none —", "")
        if ws is not None:
            for a in ws.target_areas:
                self.boundary_box.addItem(f"Target area: {a.name}", f"target_area:{a.name}")
            for a in ws.scenarios:
                self.boundary_box.addItem(f"Scenario: {a.name}", f"scenario:{a.name}")
        if self.editing_key == "new":
            self.boundary_box.addItem("New shape (unsaved)", "new")
        i = self.boundary_box.findData(self.editing_key or "")
        self.boundary_box.setCurrentIndex(max(i, 0))
        self.boundary_box.blockSignals(False)

    def options(self) -> maps.MapOptions:
        return maps.MapOptions(
            area_key=self.state.area_key or "citywide", as_of=self.state.as_of,
            measure=self.measure_box.currentData() or "part1_violent",
            window=self.window_box.currentData() or "ytd", points=self.points_box.isChecked(),
            heat=self.heat_box.isChecked(), choropleth=self.shade_box.currentData() or None,
            editor=True, bridge=True, tiles=self._tiles, overlay=self.overlay)

    def set_overlay(self, overlay) -> None:
        """Draw a spatial analysis result (workstation.maps.spatial.SpatialOverlay) over the map; None takes it off.
        The records and the district shading go off with a new layer, so it reads clearly: the map's records are of
        its own window, not the analysis period (the analyst can turn them back on)."""
        self.overlay = overlay
        if overlay is not None:
            for w in (self.points_box, self.shade_box):
                w.blockSignals(True)
            self.points_box.setChecked(False)
            self.shade_box.setCurrentIndex(max(self.shade_box.findData(""), 0))
            for w in (self.points_box, self.shade_box):
                w.blockSignals(False)
        self.clear_overlay_button.setVisible(overlay is not None)
        self.clear_overlay_button.setToolTip(f"Take '{overlay.title}' off the map" if overlay is not None else "")
        self._schedule()

    # ------------------------------------------------------------------------------------------------------------
    # following the state
    def _schedule(self, *_args) -> None:
        self._stale = True
        if self.isVisible():
            self._rebuild_timer.start()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self._rebuild_timer.start(0)

    def _workspace_changed(self) -> None:
        self.overlay = None                      # another workspace's analysis does not belong on this map
        self.clear_overlay_button.setVisible(False)
        self.stop_editing(keep_draft=True)
        self.session.forget_engine()
        self._fill_choices()
        self.session.restore_draft()
        self._schedule()

    def _data_changed(self, what: str) -> None:
        if what == DRAFT_KEY:
            return                                   # our own bookkeeping: nothing on the map changes
        if what == "areas":
            self._fill_boundaries()
        elif what in ("offenses", "shootings", "calls", "activity", "layers"):
            self.session.forget_engine()    # a census layer changes every population figure too
            self._fill_choices()
            self.session.restart()
        self._schedule()

    def _selection_changed(self) -> None:
        key = self.state.area_key or ""
        if key.startswith(("target_area:", "scenario:")) and key != self.editing_key and not self.has_unsaved_edit():
            self.start_editing(key)
        elif self.editor is not None and not self.session.engine_is_current():
            self.session.restart()
        self._schedule()

    def _ready(self) -> bool:
        return self.state.ready

    def _ready_changed(self, ready: bool) -> None:
        if ready:
            self.session.take_pending()
            self._schedule()

    # ------------------------------------------------------------------------------------------------------------
    # the page
    def rebuild(self, wait: bool = False) -> None:
        """Build the page for the current state in a worker and load it when it is done (the editor's shape is put
        back once it has loaded); ``wait`` returns only once the page is built (a PNG export)."""
        self._stale = False
        ws = self.state.workspace
        missing = maps.missing_assets()
        if missing:
            self._show_notice(f"The map's web assets are not installed ({len(missing)} files). Run: python "
                              "scripts/fetch_map_assets.py")
            return
        if ws is None:
            self._show_notice("Open or import a workspace to see the map.")
            return
        if not self._ready():
            # the counting engine's indexes are being built off the UI thread: wait for them (ready_changed)
            self._stale = True
            self._show_notice("Preparing the figures…")
            return
        options = self.options()            # read on the UI thread; the worker only reads the workspace
        self._build_started = time.perf_counter()
        if self.last_page is None:
            self._show_drawing()                  # the first page: words instead of a white pane
        else:                                     # a redraw: the old map stays; say so only when it takes a while
            QTimer.singleShot(DRAWING_NOTICE_MS, self, lambda: self.building and self._show_drawing())
        self._builder.start(lambda progress, should_stop: maps.build_map(ws, options), "drawing the map")
        if wait:
            self._wait_built()

    def _wait_built(self) -> None:
        """Until the page being built has been taken in (the worker's result is delivered by the event loop)."""
        self._builder.wait()
        while self._builder.is_running():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    @property
    def building(self) -> bool:
        """A page is being built in the worker (the pane says "Drawing the map…")."""
        return self._builder.is_running()

    def _show_drawing(self) -> None:
        """"Drawing the map…" over the middle of the map pane; floating, so the map never moves under the mouse."""
        lab = self.drawing_label
        lab.adjustSize()
        lab.move(max(0, (self.view.width() - lab.width()) // 2), max(0, (self.view.height() - lab.height()) // 2))
        lab.show()
        lab.raise_()

    def _page_built(self, page) -> None:
        self.build_seconds = time.perf_counter() - self._build_started
        self.drawing_label.hide()
        self.notice.setVisible(False)
        self.last_page = page
        self.view.show_html(page.html)

    def _build_failed(self, message: str, _details: str) -> None:
        self.drawing_label.hide()
        self._show_notice(message)

    def _show_notice(self, text: str) -> None:
        self.drawing_label.hide()
        self.notice.setText(text)
        self.notice.setVisible(True)

    def _on_page_loaded(self, ok: bool) -> None:
        self.page_ready.emit(ok)

    def _on_bridge_ready(self) -> None:
        # The page itself says it is connected: the shape goes to the right document (a script run at
        # loadFinished can still land in the page being replaced).
        if self.editor is not None:
            self.view.set_editor_shape(self.editor.shape, True)

    # ------------------------------------------------------------------------------------------------------------
    # editing
    @property
    def editor(self):
        """workstation.whatif.engine.BoundaryEditor while a boundary is edited (the session's)."""
        return self.session.editor

    @property
    def editing_key(self) -> str | None:
        return self.session.editing_key

    def _session_changed(self) -> None:
        self._fill_boundaries()
        self._update_undo()

    def _boundary_chosen(self, _index: int) -> None:
        key = self.boundary_box.currentData()
        if key == self.editing_key:
            return
        if self.has_unsaved_edit() and not self._confirm_discard():
            self._fill_boundaries()
            return
        if key:
            self.start_editing(key)
        else:
            self.stop_editing()

    def has_unsaved_edit(self) -> bool:
        return self.session.has_unsaved_edit()

    def _confirm_discard(self) -> bool:
        r = QMessageBox.question(self, "Unsaved boundary edits",
                                 "The boundary you are editing has changes that are not saved as a scenario. "
                                 "Discard them?")
        return r == QMessageBox.StandardButton.Yes

    def start_editing(self, key: str, shape=None) -> bool:
        """Edit the boundary of a target area or scenario (``key``), or a new ``shape`` (key "new")."""
        return self.session.start(key, shape)

    def stop_editing(self, keep_draft: bool = False) -> None:
        self.session.stop(keep_draft)
        self.view.bridge.on_shape = self.session.on_shape_message
        self.figures_panel.clear()

    def start_drawing(self) -> None:
        """Let the analyst draw a new polygon on the map (leaflet.draw); it becomes the edited shape."""
        self.view.run_js("PSP.editor.enableDrawing(); new L.Draw.Polygon(PSP.map, "
                         "PSP.editor.drawControl.options.draw.polygon).enable();")

    def _on_figures(self, figures, message) -> None:
        self._pending_figures = (figures, message)
        if not self._figures_timer.isActive():
            # at most one repaint per PANEL_REFRESH_MS, the first at once: waiting a full period after each new
            # message (a plain debounce) paced a 60 Hz drag at ~20 repaints a second (benchmarks/drag_rate_bench.py)
            since_ms = 1000 * (time.perf_counter() - self._last_paint)
            self._figures_timer.start(max(0, math.ceil(PANEL_REFRESH_MS - since_ms)))

    def _paint_figures(self) -> None:
        if self._pending_figures is None:
            return
        fig, message = self._pending_figures
        self._pending_figures = None
        self._last_paint = time.perf_counter()
        self.figures_panel.show_figures(fig, self.session.title())
        self.figures_panel.message.setText(message or self.session.sticky_message)
        b = self.view.bridge
        self.figures_panel.status.setText(f"{b.messages} live updates; {1000 * b.busy_s / max(b.messages, 1):.2f} "
                                          "ms each on average")
        self.figures_shown.emit()

    def undo(self) -> None:
        self.session.undo()

    def redo(self) -> None:
        self.session.redo()

    def _update_undo(self) -> None:
        st = self.editor.stack if self.editor is not None else None   # (an empty stack is falsy: test for None)
        self.undo_action.setEnabled(st is not None and st.can_undo)
        self.redo_action.setEnabled(st is not None and st.can_redo)
        self.undo_action.setText(st.undo_label if st is not None else "Undo")
        self.redo_action.setText(st.redo_label if st is not None else "Redo")
        self.save_button.setEnabled(self.editor is not None)

    def save_scenario(self, name: str | None = None) -> str | None:
        """Save the edited shape as a named scenario in the workspace (asks for the name when none is given)."""
        def ask_name(suggestion: str) -> str | None:
            text, ok = QInputDialog.getText(self, "Save as scenario", "Scenario name:", text=suggestion)
            return text if ok else None

        return self.session.save_scenario(name if isinstance(name, str) else None, ask_name,
                                          lambda n: self._confirm_replace(n),
                                          lambda text: QMessageBox.warning(self, "Save as scenario", text))

    def _confirm_replace(self, name: str) -> bool:
        r = QMessageBox.question(self, "Replace scenario",
                                 f"A scenario named '{name}' exists. Replace its boundary with this one?")
        return r == QMessageBox.StandardButton.Yes

    def area_renamed(self, old_key: str, new_key: str) -> None:
        """A scenario was renamed (Scenarios menu): keep editing it under its new name."""
        self.session.area_renamed(old_key, new_key)
        self._schedule()

    def area_removed(self, key: str, keep_edit: bool = False) -> None:
        """A scenario was deleted: see EditSession.area_removed."""
        if self.session.editing_key == key and not (keep_edit and self.editor is not None):
            self.stop_editing()
        self.session.area_removed(key, keep_edit)
        self._schedule()

    # ------------------------------------------------------------------------------------------------------------
    # popups, exports, basemap
    def _record_details(self, dataset: str, record_id: str) -> dict:
        return record_details(self.state.workspace, dataset, record_id)

    def export_html(self, path) -> maps.MapPage:
        return maps.export_standalone(self.state.workspace, path, self.options())

    def export_png(self, path):
        """A PNG of the map as it is on screen (a rebuild still pending is done first; waits for the page); written
        atomically, a UserError when it cannot be."""
        if self._rebuild_timer.isActive():
            self._rebuild_timer.stop()
            self.rebuild(wait=True)
        elif self.building:
            self._wait_built()
        self.view.wait_loaded()
        return save_png(self.view.grab(), path, "the map picture")

    def _export_html_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export map as HTML", "map.html", "Web page (*.html)")
        if path:
            try:
                self.export_html(path)
            except UserError as exc:
                QMessageBox.warning(self, "Export map", str(exc))

    def _export_png_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export map as PNG", "map.png", "PNG image (*.png)")
        if path:
            try:
                self.export_png(path)
            except UserError as exc:
                QMessageBox.warning(self, "Export map", str(exc))

    def add_mbtiles(self, path) -> maps.TileSource:
        return basemaps.add_mbtiles(self, path)

    def _tiles_clicked(self) -> None:
        basemaps.choose_basemap(self)

    def load_street_basemap(self, path: Path, name: str = "Streets"):
        """Import a street centreline file as the workspace's basemap layer (see ui/map/basemaps.py)."""
        return basemaps.load_street_basemap(self, path, name)

    # ------------------------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self._rebuild_timer.stop()
        self._builder.cancel()
        self._builder.wait()
        self._figures_timer.stop()
        self.view.bridge.on_shape = None
        self.view.bridge.on_record = None
        self.view.dispose()


def record_details(ws, dataset: str, record_id: str) -> dict:
    """A record's fields for its popup on the map, in words (empty and bookkeeping fields left out)."""
    if ws is None or dataset not in ws.frames:
        return {}
    df = ws.frames[dataset]
    hit = df.index[df["record_id"].astype("str") == record_id]
    if not len(hit):
        return {}
    row = df.loc[hit[0]]
    out = {}
    for col, val in row.items():
        if col == "load_id" or val is None or (isinstance(val, float) and val != val):
            continue
        text = str(val)
        if text in ("", "nan", "NaT", "False") and col not in ("fatal",):
            continue
        out[col.replace("_", " ").capitalize()] = text
    return out

"""The Scenarios menu: compare two areas side by side, rename and delete scenarios, a boundary out to GeoJSON and in
as a scenario, and the CompStat workbook for a scenario. The logic is ``workstation.whatif.scenarios`` (Qt-free); this
module asks, confirms and shows.

``CompareDialog`` puts the comparison table (coloured and explained like the CompStat grid) beside a map of both
outlines (A solid orange, B dashed blue, built by ``workstation.maps.page.build_map`` and served by the map's scheme).
"""
from __future__ import annotations

import logging
import html
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout,
                               QHeaderView, QInputDialog, QLabel, QMessageBox, QScrollArea, QSplitter,
                               QTableView, QToolButton, QVBoxLayout, QWidget)

from workstation import formatting
from workstation.whatif import scenarios as core
from workstation.core.errors import UserError
from ui.models.report_model import CHANGE_ROLE, FILL, TEXT, ReportModel
from ui.widgets.grouped_header import GroupedHeader

log = logging.getLogger(__name__)

SHAPE_FILL = QColor("#f2f5f9")
GEOJSON_FILTER = "GeoJSON (*.geojson *.json);;Shapefile (*.shp);;All files (*)"


class ComparisonModel(ReportModel):
    """ReportModel for a ``ComparisonTable``: differences shown with their sign, cells of the shape rows in their own
    kinds, differences coloured by the row's direction (more crime in B: red; more activity in B: green), and a
    tooltip on every cell."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.definitions: dict[str, str] = {}    # measure id -> definition (tooltips of the first column)

    def table(self) -> core.ComparisonTable | None:
        return self.tables[0] if self.tables else None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        t = self.table()
        if not index.isValid() or t is None:
            return super().data(index, role)
        r, c = index.row(), index.column()
        value = t.rows[r][c]
        kind = t.kind_at(r, c)
        part = t.role_of(c)
        if role == Qt.ItemDataRole.DisplayRole:
            return core.difference_text(value, kind) if part == "diff" else formatting.format_value(value, kind)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(r, c)
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole, CHANGE_ROLE):
            cls = self.change(r, c)
            if role == CHANGE_ROLE:
                return cls
            if role == Qt.ItemDataRole.BackgroundRole:
                if cls:
                    return QBrush(FILL[(cls, "")])
                return QBrush(SHAPE_FILL) if r < t.shape_rows else None
            return QBrush(TEXT[cls]) if cls else None
        return super().data(index, role)

    def change(self, r: int, c: int) -> str:
        """'bad', 'good' or '' for a difference cell (B − A or % diff) of a measure row."""
        t = self.table()
        if t.role_of(c) not in ("diff", "pct"):
            return ""
        direction = t.row_directions[r] if r < len(t.row_directions) else ""
        if not direction:
            return ""
        first = 1 + 4 * ((c - 1) // 4)
        diff = t.rows[r][first + 2]
        if formatting.is_missing(diff) or float(diff) == 0:
            return ""
        up_is_bad = direction != "activity"
        return "bad" if (float(diff) > 0) == up_is_bad else "good"

    def tooltip(self, r: int, c: int) -> str:
        t = self.table()
        row = t.rows[r]
        label = html.escape(str(row[0]))
        if c == 0:
            key = t.cell_keys.get((r, 1))
            text = f"<b>{label}</b>"
            d = self.definitions.get(key["measure"]) if key else None
            if d:
                text += f"<br>{html.escape(d)}"
            elif r < t.shape_rows:
                text += "<br>" + html.escape(SHAPE_TIPS.get(str(row[0]).split(" (")[0], ""))
            return text
        first = 1 + 4 * ((c - 1) // 4)
        group = next((g for g in t.header_groups if g[1] == first), None)
        a, b, diff, pct = row[first:first + 4]
        if a is None and b is None:
            return f"<b>{label}</b><br>Shown under year to date: it does not depend on the window."
        kinds = [t.kind_at(r, k) for k in range(first, first + 4)]
        lines = [f"<b>{label}</b>" + (f" — {html.escape(group[0])}" if group else ""),
                 f"A, {html.escape(t.label_a)}: <b>{html.escape(formatting.format_value(a, kinds[0]))}</b>",
                 f"B, {html.escape(t.label_b)}: <b>{html.escape(formatting.format_value(b, kinds[1]))}</b>",
                 f"B − A: <b>{html.escape(core.difference_text(diff, kinds[2]))}</b>"
                 + (f" ({html.escape(formatting.format_value(pct, 'pct_change'))} of A)" if pct is not None else "")]
        if pct is None and r >= t.shape_rows and not formatting.is_missing(a) and float(a) == 0:
            lines.append("% diff is blank: A is zero, and a % difference from zero is undefined.")
        if (r, c) in t.cell_keys:
            lines.append("<i>Double-click to see the records behind this number.</i>")
        return "<br>".join(lines)


SHAPE_TIPS = {
    "Area": "Square miles inside the boundary, measured on the ellipsoid (equal-area).",
    "Share of city area": "The area's square miles as a share of the city's.",
    "Share of city Part I violent crime": "Violent crime in the area as a share of the city's (citywide counts "
                                          "include records without a location); B − A in percentage points.",
    "PAI": "Prospective accuracy index: share of city crime / share of city area (1 = as dense as the city).",
}


class CompareDialog(QDialog):
    """Two areas side by side: ``CompareDialog(state, parent, key_a, key_b)``."""

    def __init__(self, state, parent=None, key_a: str | None = None, key_b: str | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setWindowTitle("Compare two areas")
        self.table_data: core.ComparisonTable | None = None
        self.map_view = None
        self.last_page = None
        ws = state.workspace
        choices = core.comparison_choices(ws)
        self.combo_a, self.combo_b = QComboBox(), QComboBox()
        for combo in (self.combo_a, self.combo_b):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            for key, label in choices:
                combo.addItem(label, key)
        ka, kb = default_pair(ws, state.area_key) if key_a is None or key_b is None else (key_a, key_b)
        self.combo_a.setCurrentIndex(max(self.combo_a.findData(ka), 0))
        self.combo_b.setCurrentIndex(max(self.combo_b.findData(kb), 0))
        self.swap_button = QToolButton()
        self.swap_button.setText("⇄ Swap")
        self.swap_button.setToolTip("Swap A and B")
        self.swap_button.clicked.connect(self.swap)
        self.as_of_label = QLabel()
        self.as_of_label.setStyleSheet("color: palette(placeholder-text);")
        top = QHBoxLayout()
        a_label = QLabel("<b style='color:#d35400'>A</b>")
        b_label = QLabel("<b style='color:#1f4e99'>B</b>")
        for w in (a_label, self.combo_a, QLabel("with"), b_label, self.combo_b, self.swap_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.as_of_label)

        self.model = ComparisonModel(self)
        self.view = QTableView()
        self.header = GroupedHeader(self.view)
        self.view.setHorizontalHeader(self.header)
        self.view.setModel(self.model)
        self.view.verticalHeader().hide()
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.doubleClicked.connect(lambda ix: self.drill(ix.row(), ix.column()))
        self.legend = QLabel(
            "B − A and % diff: <span style='background:#fbecea;color:#8f1d12'>&nbsp;more crime in B&nbsp;</span> "
            "<span style='background:#eaf5e9;color:#1d6a1a'>&nbsp;less crime in B&nbsp;</span> "
            "(the reverse for activity). Double-click a count to see its records.")
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: palette(placeholder-text);")
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")
        notes_area = QScrollArea()
        notes_area.setWidget(self.notes)
        notes_area.setWidgetResizable(True)
        notes_area.setFrameShape(QScrollArea.Shape.NoFrame)
        notes_area.setMaximumHeight(4 * self.fontMetrics().height() + 8)
        notes_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.view, 1)
        ll.addWidget(self.legend)
        ll.addWidget(notes_area)
        self.map_box = QWidget()
        self.map_layout = QVBoxLayout(self.map_box)
        self.map_layout.setContentsMargins(0, 0, 0, 0)
        self.map_notice = QLabel("")
        self.map_notice.setWordWrap(True)
        self.map_layout.addWidget(self.map_notice)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.map_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = self.buttons.addButton("Copy table", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setToolTip("Copy the table as shown, for a spreadsheet or an e-mail")
        self.copy_button.clicked.connect(self.copy_table)
        self.buttons.rejected.connect(self.reject)
        self.title = QLabel()
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        f.setBold(True)
        self.title.setFont(f)
        self.title.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.title)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.buttons)
        self.combo_a.currentIndexChanged.connect(lambda _i: self.refresh())
        self.combo_b.currentIndexChanged.connect(lambda _i: self.refresh())
        avail = self.screen().availableGeometry() if self.screen() is not None else None
        w = min(1340, avail.width() - 20) if avail else 1340
        h = min(740, avail.height() - 30) if avail else 740
        self.resize(w, h)
        self.splitter.setSizes([int(w * 0.64), int(w * 0.36)])
        self.refresh()

    def keys(self) -> tuple[str, str]:
        return self.combo_a.currentData(), self.combo_b.currentData()

    def set_keys(self, key_a: str, key_b: str) -> None:
        for combo, key in ((self.combo_a, key_a), (self.combo_b, key_b)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(key), 0))
            combo.blockSignals(False)
        self.refresh()

    def swap(self) -> None:
        a, b = self.keys()
        self.set_keys(b, a)

    def refresh(self) -> None:
        ws = self.state.workspace
        key_a, key_b = self.keys()
        if ws is None or key_a is None or key_b is None:
            return
        try:
            t = core.compare(ws, key_a, key_b, self.state.as_of)
        except UserError as exc:
            self.table_data = None
            self.model.set_tables([])
            self.title.setText(str(exc))
            self.notes.setText("")
            self._show_map(None, None)
            return
        self.table_data = t
        self.model.definitions = self._definitions(ws)
        self.model.set_tables([t])
        self._layout_table(t)
        self.title.setText(f"<span style='color:#d35400'>A: {html.escape(t.label_a)}</span> &nbsp;vs&nbsp; "
                           f"<span style='color:#1f4e99'>B: {html.escape(t.label_b)}</span>")
        self.as_of_label.setText(f"As of {t.as_of:%A %d %B %Y}")
        self.notes.setText("<br>".join(html.escape(n) for n in t.notes))
        self._show_map(key_a, key_b)

    @staticmethod
    def _definitions(ws) -> dict[str, str]:
        from workstation.engine.measures import catalog_for

        out = {}
        for m in catalog_for(ws).counts():
            try:
                out[m.id] = m.definition()
            except Exception:  # noqa: BLE001 - a tooltip must never break the table
                log.warning("The definition of %s could not be made for its tooltip", m.id, exc_info=True)
                pass
        return out

    def _layout_table(self, t) -> None:
        groups = []
        for text, first, last in t.header_groups:
            name, _sep, span = text.partition(":")
            groups.append((name.strip(), span.strip(), first, last))
        labels = {c: {"a": "A", "b": "B", "diff": "B − A", "pct": "% diff"}.get(t.role_of(c), "")
                  for c in range(len(t.columns))}
        labels[0] = ""
        self.header.set_groups(groups, labels)
        hh = self.header
        fm = self.fontMetrics()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        m = self.model
        self.view.setColumnWidth(0, min(max([fm.horizontalAdvance(str(r[0])) for r in t.rows] + [120]) + 16, 250))
        for c in range(1, m.columnCount()):
            widest = max([fm.horizontalAdvance(m.data(m.index(r, c)) or "") for r in range(m.rowCount())] + [0])
            self.view.setColumnWidth(c, max(widest + 12, fm.horizontalAdvance(labels[c]) + 12, 40))
        hh.setMinimumHeight(hh.sizeHint().height())

    def _show_map(self, key_a, key_b) -> None:
        from workstation.maps import page as maps

        self.map_notice.setVisible(False)
        if key_a is None:
            return
        missing = maps.missing_assets()
        if missing:
            self._map_message("The map's web assets are not installed; run python scripts/fetch_map_assets.py.")
            return
        ws = self.state.workspace
        measure = "part1_violent" if len(ws.frames["offenses"]) else None
        opts = maps.MapOptions(area_key=key_a, as_of=self.state.as_of, measure=measure or "part1_violent",
                               window="ytd", points=measure is not None, choropleth=None, target_areas=False,
                               scenarios=False, outlines=maps.compare_outlines(ws, key_a, key_b), point_radius=2)
        try:
            page = maps.build_map(ws, opts)
        except UserError as exc:
            self._map_message(str(exc))
            return
        if self.map_view is None:
            from ui.map.view import MapView

            self.map_view = MapView(self.map_box)
            self.map_view.setMinimumWidth(280)
            self.map_layout.addWidget(self.map_view, 1)
        self.last_page = page
        self.map_view.show_html(page.html)

    def _map_message(self, text: str) -> None:
        self.map_notice.setText(text)
        self.map_notice.setVisible(True)

    # ---- drill-through and copy ----
    def drill(self, row: int, col: int, exec_dialog: bool = True):
        t = self.table_data
        key = t.cell_keys.get((row, col)) if t is not None else None
        if key is None:
            return None
        from workstation.reports.compstat import records_behind

        from ui.dialogs.drill import show_records_behind

        df = records_behind(self.state.workspace, key["measure"], key["area"], key["window"], key["as_of"])
        which = t.label_a if key["area"] == t.key_a else t.label_b
        return show_records_behind(self, df, t.rows[row][0], which, exec_dialog=exec_dialog)

    def copy_table(self) -> str:
        from ui.dialogs.drill import copy_table

        t = self.table_data
        if t is None:
            return ""
        heads = ["Measure"] + [f"{g[0].split(':')[0]} {lab}" for g in t.header_groups
                               for lab in ("A", "B", "B − A", "% diff")]
        return copy_table(self.model, [f"A: {t.label_a}", f"B: {t.label_b}", "\t".join(heads)])


def default_pair(ws, current: str | None) -> tuple[str | None, str | None]:
    """What to compare first: the selected scenario with its target area; the selected target area with a scenario
    drawn from it; else the first two areas on offer."""
    choices = [k for k, _ in core.comparison_choices(ws)]
    kind, _, name = (current or "").partition(":")
    if kind == "scenario" and ws.area(name, "scenario") is not None:
        base = ws.area(name, "scenario").base
        if base and ws.area(base, "target_area") is not None:
            return f"target_area:{base}", current
        other = next((k for k in choices if k != current), None)
        return other, current
    if kind == "target_area" and ws.area(name, "target_area") is not None:
        drawn = [f"scenario:{s.name}" for s in ws.scenarios if s.base == name]
        other = drawn[0] if drawn else next((k for k in choices if k != current), None)
        return current, other
    drawn = [(f"target_area:{s.base}", f"scenario:{s.name}") for s in ws.scenarios
             if s.base and ws.area(s.base, "target_area") is not None]
    if drawn:
        return drawn[0]
    return (choices[0] if choices else None), (choices[1] if len(choices) > 1 else None)


# ---------------------------------------------------------------------------------------------------------------------
class ScenarioActions(QObject):
    """The Scenarios menu of the main window. Every operation takes its answers as arguments (tests, scripts) and
    asks for the missing ones through the ``ask_*`` methods (which tests replace)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state

        def act(text, slot, tip):
            a = QAction(text, window)
            a.setStatusTip(tip)
            a.setToolTip(tip)
            a.triggered.connect(lambda _checked=False: slot())
            return a

        self.act_compare = act("&Compare Two Areas…", self.compare,
                               "A target area and a scenario (or any two) side by side: figures and map")
        self.act_rename = act("&Rename Scenario…", self.rename, "Give a saved scenario another name")
        self.act_delete = act("&Delete Scenario…", self.delete,
                              "Remove a saved scenario (its target area is not changed)")
        self.act_export_geojson = act("E&xport Boundary as GeoJSON…", self.export_geojson,
                                      "Write the selected target area's or scenario's boundary to a GeoJSON file")
        self.act_import_geojson = act("&Import Boundary as Scenario…", self.import_geojson,
                                      "Add a polygon from a GeoJSON file (or shapefile) as a new scenario")
        self.act_export_compstat = act("Export CompStat for this &Scenario…", self.export_compstat,
                                       "The CompStat workbook with a scenario in place of its target area")
        self.actions = [self.act_compare, self.act_rename, self.act_delete, self.act_export_geojson,
                        self.act_import_geojson, self.act_export_compstat]
        self.state.workspace_changed.connect(self.update_enabled)
        self.state.data_changed.connect(lambda _w: self.update_enabled())
        self.update_enabled()

    def fill_menu(self, menu) -> None:
        menu.addAction(self.act_compare)
        menu.addSeparator()
        menu.addAction(self.act_rename)
        menu.addAction(self.act_delete)
        menu.addSeparator()
        menu.addAction(self.act_export_geojson)
        menu.addAction(self.act_import_geojson)
        menu.addSeparator()
        menu.addAction(self.act_export_compstat)

    def update_enabled(self) -> None:
        ws = self.state.workspace
        n_scen = len(ws.scenarios) if ws is not None else 0
        n_areas = len(core.comparison_choices(ws)) if ws is not None else 0
        self.act_compare.setEnabled(n_areas >= 2)
        self.act_rename.setEnabled(n_scen > 0)
        self.act_delete.setEnabled(n_scen > 0)
        self.act_export_geojson.setEnabled(n_areas > 0)
        self.act_import_geojson.setEnabled(ws is not None)
        self.act_export_compstat.setEnabled(n_scen > 0 and ws.as_of() is not None)

    # ---- what "this scenario" is ----
    def _map_panel(self):
        return getattr(self.window, "map_panel", None)

    def current_key(self, kinds=("scenario",)) -> str | None:
        """The area selected in the area bar when it is of ``kinds``, else the boundary edited on the map."""
        ws = self.state.workspace
        for key in (self.state.area_key, getattr(self._map_panel(), "editing_key", None)):
            kind, _, name = (key or "").partition(":")
            if kind in kinds and ws is not None and ws.area(name, kind) is not None:
                return key
        return None

    def _which_scenario(self, verb: str) -> str | None:
        ws = self.state.workspace
        names = core.scenario_names(ws) if ws is not None else []
        if not names:
            self.show_error("No scenarios", "The workspace has no saved scenario yet: draw one on the Map tab "
                            "(Save as scenario) or import a boundary.")
            return None
        cur = self.current_key()
        if cur is not None:
            return cur.partition(":")[2]
        if len(names) == 1:
            return names[0]
        return self.ask_item(f"{verb} scenario", f"Which scenario do you want to {verb.lower()}?", names, 0)

    # ---- dialogs that tests replace ----
    def ask_item(self, title: str, label: str, items: list[str], current: int = 0) -> str | None:
        item, ok = QInputDialog.getItem(self.window, title, label, items, current, False)
        return item if ok else None

    def ask_text(self, title: str, label: str, text: str) -> str | None:
        value, ok = QInputDialog.getText(self.window, title, label, text=text)
        return value if ok else None

    def confirm(self, title: str, text: str) -> bool:
        r = QMessageBox.question(self.window, title, text,
                                 QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                 QMessageBox.StandardButton.No)
        return r == QMessageBox.StandardButton.Yes

    def ask_save_path(self, title: str, suggestion: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.window, title, suggestion, "GeoJSON (*.geojson)")
        return path or None

    def ask_open_path(self, title: str) -> str | None:
        start = self.window.settings.get("export/last_folder") if hasattr(self.window, "settings") else ""
        path, _ = QFileDialog.getOpenFileName(self.window, title, start or str(Path.home()), GEOJSON_FILTER)
        return path or None

    def show_error(self, title: str, message: str) -> None:
        if hasattr(self.window, "show_error"):
            self.window.show_error(title, message)
        else:
            QMessageBox.warning(self.window, title, message)

    def status(self, message: str) -> None:
        if hasattr(self.window, "statusBar"):
            self.window.statusBar().showMessage(message, 8000)

    # ---- operations ----
    def rename(self, name: str | None = None, new_name: str | None = None) -> str | None:
        """Rename a scenario (asks which and the new name when not given). Returns the new name, None if nothing
        changed."""
        ws = self.state.workspace
        name = name or self._which_scenario("Rename")
        if ws is None or name is None:
            return None
        while True:
            new = new_name if new_name is not None else self.ask_text("Rename scenario",
                                                                      f"New name for the scenario '{name}':", name)
            if new is None:
                return None
            try:
                area = core.rename_scenario(ws, name, new)
            except UserError as exc:
                self.show_error("The scenario was not renamed", str(exc))
                if new_name is not None:
                    return None
                continue
            break
        old_key, new_key = f"scenario:{name}", f"scenario:{area.name}"
        if old_key != new_key:
            mp = self._map_panel()
            if mp is not None:
                mp.area_renamed(old_key, new_key)
            if self.state.area_key == old_key:
                self.state.set_area(new_key)
            self.status(f"Scenario '{name}' renamed to '{area.name}'.")
        return area.name

    def delete(self, name: str | None = None) -> bool:
        """Delete a scenario after confirmation. True when it was deleted."""
        ws = self.state.workspace
        name = name or self._which_scenario("Delete")
        if ws is None or name is None:
            return False
        area = ws.area(name, "scenario")
        if area is None:
            self.show_error("The scenario was not deleted", f"The workspace has no scenario named '{name}'.")
            return False
        key = f"scenario:{name}"
        kept = f" The target area '{area.base}' is not changed." if area.base else ""
        if not self.confirm("Delete scenario", f"Delete the scenario '{name}'?{kept} There is no undo: export it "
                            "as GeoJSON first if you may want it back."):
            return False
        mp = self._map_panel()
        keep_edit = mp is not None and mp.editing_key == key and mp.has_unsaved_edit()
        try:
            core.delete_scenario(ws, name)
        except UserError as exc:
            self.show_error("The scenario was not deleted", str(exc))
            return False
        if mp is not None:
            mp.area_removed(key, keep_edit=keep_edit)
        if self.state.area_key == key:
            self.state.set_area(f"target_area:{area.base}" if area.base and ws.area(area.base, "target_area")
                                else "citywide")
        self.status(f"Scenario '{name}' deleted.")
        return True

    def export_geojson(self, key: str | None = None, path=None) -> Path | None:
        """Write a target area's or scenario's boundary as a GeoJSON Feature. Returns the file written."""
        ws = self.state.workspace
        if ws is None:
            return None
        if key is None:
            key = self.current_key(("target_area", "scenario"))
        if key is None:
            choices = core.comparison_choices(ws)
            if not choices:
                self.show_error("No boundary", "The workspace has no target area or scenario to export.")
                return None
            label = self.ask_item("Export boundary", "Which boundary do you want to export?",
                                  [lab for _k, lab in choices], 0)
            key = next((k for k, lab in choices if lab == label), None)
            if key is None:
                return None
        name = key.partition(":")[2]
        if path is None:
            folder = self.window.settings.get("export/last_folder") if hasattr(self.window, "settings") else ""
            safe = "".join(ch if ch.isalnum() or ch in " -_()" else "_" for ch in name).strip() or "boundary"
            path = self.ask_save_path("Export boundary as GeoJSON", str(Path(folder or Path.home()) /
                                                                       f"{safe}.geojson"))
            if path is None:
                return None
        path = Path(path)
        if path.suffix.lower() not in core.GEOJSON_SUFFIXES:
            path = path.with_name(path.name + ".geojson")
        try:
            out = core.export_boundary(ws, key, path)
        except UserError as exc:
            self.show_error("The boundary was not exported", str(exc))
            return None
        self.status(f"Boundary of {name} written to {out}.")
        return out

    def import_geojson(self, path=None, name: str | None = None):
        """Add the polygon of a GeoJSON file as a new scenario (asks for the file and the name when not given)."""
        ws = self.state.workspace
        if ws is None:
            return None
        path = path or self.ask_open_path("Import a boundary as a scenario")
        if path is None:
            return None
        try:
            boundary = core.read_boundary(path)
        except UserError as exc:
            self.show_error("The boundary was not imported", str(exc))
            return None
        while True:
            wanted = name if name is not None else self.ask_text(
                "Import boundary as scenario", f"Name of the new scenario (from {Path(path).name}):",
                core.unique_name(ws, boundary.name))
            if wanted is None:
                return None
            try:
                area = core.scenario_from_boundary(ws, boundary, wanted)
            except UserError as exc:
                self.show_error("The boundary was not imported", str(exc))
                if name is not None:
                    return None
                continue
            break
        self.state.set_area(f"scenario:{area.name}")
        self.status(f"Scenario '{area.name}' added from {Path(path).name}.")
        return area

    def compare(self, key_a: str | None = None, key_b: str | None = None, exec_dialog: bool = True):
        ws = self.state.workspace
        if ws is None or len(core.comparison_choices(ws)) < 2:
            self.show_error("Nothing to compare", "Comparing needs two areas: a target area and a scenario saved "
                            "from the Map tab (or imported), or two target areas.")
            return None
        if ws.as_of() is None:
            self.show_error("Nothing to compare", "The workspace has no records yet: import data first (Ctrl+I).")
            return None
        dlg = CompareDialog(self.state, self.window, key_a, key_b)
        if exec_dialog:
            dlg.exec()
            _delete_dialog(dlg)
            return None
        return dlg

    def export_compstat(self, name: str | None = None, exec_dialog: bool = True):
        """The export dialog with the scenario chosen in place of its target area."""
        ws = self.state.workspace
        if ws is None or ws.as_of() is None:
            self.show_error("Nothing to export", "The workspace has no records yet: import data first (Ctrl+I).")
            return None
        name = name or self._which_scenario("Export")
        if name is None:
            return None
        from ui.dialogs.export import ExportDialog

        dlg = ExportDialog(self.state, self.window.settings, self.window)
        i = dlg.scenario_combo.findData(name)
        if i >= 0:
            dlg.scenario_combo.setCurrentIndex(i)
        dlg.setWindowTitle(f"Export CompStat workbook — scenario {name}")
        if exec_dialog:
            dlg.exec()
            dlg.shutdown()
            dlg.deleteLater()
            return None
        return dlg


def _delete_dialog(dlg) -> None:
    from ui.map.view import delete_now

    delete_now(dlg)

"""The import wizard: files and preview -> column mapping -> category values -> locations -> import with progress.

Everything it shows comes from workstation.ingest (read_table, detect_profile, category_value_counts,
points_inside_city, import_files). The import runs in a worker on a detached copy of the workspace; only when it
finishes does the open workspace take the result, so Cancel (or a failure) leaves it exactly as it was.
"""
from __future__ import annotations

import logging
import copy
import html
import re
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QFormLayout, QFrame,
                               QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QTextEdit, QVBoxLayout,
                               QWidget, QWizard, QWizardPage)

from workstation.core import schema
from workstation.ingest import (ImportResult, Profile, builtin_profiles, category_value_counts, detect_profile,
                                import_files, mapped_value_counts, points_inside_city, read_table,
                                source_value_counts)
from ui import paths
from ui.panels.data import DATASET_LABELS, column_header, show_rejects_in
from ui.widgets.records_view import RecordsTable, RecordsView
from ui.models.dataframe_model import DataFrameModel
from ui.workers import TaskRunner

log = logging.getLogger(__name__)

PREVIEW_ROWS = 200
CHECK_ROWS = 50_000            # the live location check runs on at most this many rows
AREA_SUFFIXES = {".geojson", ".json", ".shp", ".zip"}
TRUE_VALUES = ["Y", "YES", "TRUE", "T", "1", "X", "1.0"]
NONE_TEXT = "(not in this file)"
KIND_CHOICES = [("offenses", "Offenses"), ("shootings", "Shootings (one row per victim)"),
                ("calls", "Calls for service / ShotSpotter"), ("activity", "Activity (arrests, gun recoveries, …)"),
                ("people", "People links (co-offending)"), ("areas", "Boundaries (districts, target areas, city)"),
                ("layer", "Reference layer (streets, bus routes, premises, census blocks…)")]
AREA_KIND_CHOICES = [("", "Work it out from the file"), ("districts", "Districts"),
                     ("target_areas", "Target areas"), ("city", "City outline")]
EPSG_CHOICES = [("", "None: the file has latitude/longitude only"),
                ("32054", "EPSG:32054 NAD27 Wisconsin South (ft) — Milwaukee RoughX/RoughY"),
                ("2289", "EPSG:2289 NAD83 Wisconsin South (ftUS)"),
                ("3435", "EPSG:3435 NAD83 Illinois East (ftUS) — Chicago"),
                ("2263", "EPSG:2263 NAD83 New York Long Island (ftUS) — NYPD"),
                ("2272", "EPSG:2272 NAD83 Pennsylvania South (ftUS) — Philadelphia"),
                ("3857", "EPSG:3857 Web Mercator (m)"),
                ("4326", "EPSG:4326 WGS84 degrees")]

# What an analyst can map, per dataset: (field, where it lives in a profile: "column" | "flag").
FIELDS = {
    "offenses": [("incident_id", "column"), ("occurred", "column"), ("category", "column"),
                 ("offense_code", "column"), ("reported", "column"), ("district", "column"), ("address", "column"),
                 ("lat", "column"), ("lon", "column"), ("x", "column"), ("y", "column"), ("firearm", "flag"),
                 ("carjacking", "flag"), ("cleared", "flag"), ("cleared_date", "column"),
                 ("clearance_type", "column"), ("exceptional_code", "column")],
    "shootings": [("incident_id", "column"), ("occurred", "column"), ("fatal", "flag"), ("victims", "column"),
                  ("district", "column"), ("address", "column"), ("lat", "column"), ("lon", "column"),
                  ("x", "column"), ("y", "column"), ("cleared", "flag"), ("cleared_date", "column")],
    "calls": [("incident_id", "column"), ("occurred", "column"), ("category", "column"), ("call_type", "column"),
              ("priority", "column"), ("district", "column"), ("address", "column"), ("lat", "column"),
              ("lon", "column"), ("x", "column"), ("y", "column")],
    "activity": [("occurred", "column"), ("category", "column"), ("agency", "column"), ("count", "column"),
                 ("quantity", "column"), ("unit", "column"), ("target_area", "column"), ("incident_id", "column"),
                 ("district", "column"), ("address", "column"), ("lat", "column"), ("lon", "column"),
                 ("x", "column"), ("y", "column")],
    "people": [("incident_id", "column"), ("person_id", "column"), ("role", "column"), ("occurred", "column")],
}
NEEDED = {"offenses": ("incident_id", "occurred", "category"), "shootings": ("incident_id", "occurred"),
          "calls": ("incident_id", "occurred", "category"), "activity": ("occurred", "category"),
          "people": ("incident_id", "person_id", "role")}
FIELD_LABELS = {"x": "X (projected)", "y": "Y (projected)", "lat": "Latitude", "lon": "Longitude",
                "victims": "Victims", "occurred": "Occurred (date/time)", "reported": "Reported (date/time)",
                "firearm": "Firearm (yes/no)", "carjacking": "Carjacking (yes/no)", "cleared": "Cleared (yes/no)",
                "fatal": "Fatal (yes/no)", "category": "Category", "role": "Role"}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, column_header(name))


def field_tip(kind: str, name: str) -> str:
    for f in schema.DATASETS.get(kind, ()):
        if f.name == name:
            return f.description
    return {"x": "projected easting (e.g. State Plane feet); converted with the coordinate system on the "
                 "Locations page", "y": "projected northing", "victims": "number of victims on the row"}.get(name, "")


def category_choices(kind: str) -> list[tuple[str, str]]:
    if kind == "offenses":
        return [(c, schema.CATEGORY_LABELS.get(c, c)) for c in schema.OFFENSE_CATEGORIES]
    vocab = {"calls": schema.CALL_CATEGORIES, "activity": schema.ACTIVITY_CATEGORIES,
             "people": schema.PEOPLE_ROLES}.get(kind, ())
    return [(c, c.replace("_", " ").capitalize()) for c in vocab]


def user_profile_dir() -> Path:
    d = paths.data_dir() / "profiles"
    d.mkdir(parents=True, exist_ok=True)
    return d


def all_profiles() -> list[Profile]:
    out = list(builtin_profiles())
    for p in sorted(user_profile_dir().glob("*.json")):
        try:
            out.append(Profile.load(p))
        except Exception:  # noqa: BLE001 - a broken user profile must not stop the wizard
            log.warning("The user import profile %s could not be read; it is left out", p, exc_info=True)
            continue
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "profile"


def _bold(text: str) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setBold(True)
    lab.setFont(f)
    return lab


def _hint(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setStyleSheet("color: palette(placeholder-text);")
    return lab


# =====================================================================================================================
class FilesPage(QWizardPage):
    def __init__(self, wiz: "ImportWizard") -> None:
        super().__init__(wiz)
        self.wiz = wiz
        self.setTitle("Files to import")
        self.setSubTitle("Choose the spreadsheets (xlsx, xls, csv) or boundary files (GeoJSON, shapefile) and what "
                         "they hold. The first rows are shown below.")
        self.files = QListWidget()
        self.files.setMaximumHeight(4 * self.fontMetrics().height() + 12)
        add = QPushButton("Add files…")
        remove = QPushButton("Remove")
        add.clicked.connect(self._add)
        remove.clicked.connect(self._remove)
        self.kind_combo = QComboBox()
        for k, label in KIND_CHOICES:
            self.kind_combo.addItem(label, k)
        self.area_kind_combo = QComboBox()
        for k, label in AREA_KIND_CHOICES:
            self.area_kind_combo.addItem(label, k)
        self.name_field_combo = QComboBox()
        self.name_field_combo.addItem("Work it out from the file", "")
        from ui.dialogs.layer_fields import LayerFields

        self.layer_fields = LayerFields()
        self.layer_fields.name_edit.textChanged.connect(lambda _t: self.completeChanged.emit())
        self.preview_label = QLabel()
        self.preview_label.setWordWrap(True)
        self.preview = RecordsTable()
        self.preview_model = DataFrameModel(parent=self)
        self.preview.setModel(self.preview_model)
        self.preview.setSortingEnabled(False)

        buttons = QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.files, 1)
        top.addLayout(buttons)
        form = QFormLayout()
        form.addRow("The files hold:", self.kind_combo)
        self.area_kind_row = QLabel("The shapes are:")
        form.addRow(self.area_kind_row, self.area_kind_combo)
        self.name_field_row = QLabel("Each shape is named by:")
        form.addRow(self.name_field_row, self.name_field_combo)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(form)
        lay.addWidget(self.layer_fields)
        lay.addWidget(self.preview_label)
        lay.addWidget(self.preview, 1)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)

    def initializePage(self) -> None:
        self.files.clear()
        self.files.addItems(self.wiz.files)
        self._select_kind(self.wiz.kind)
        self._load_preview(guess_kind=True)

    def _select_kind(self, kind: str) -> None:
        i = self.kind_combo.findData(kind)
        self.kind_combo.blockSignals(True)
        self.kind_combo.setCurrentIndex(max(i, 0))
        self.kind_combo.blockSignals(False)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind_combo.currentData()
        self.wiz.kind = kind
        self.area_kind_row.setVisible(kind == "areas")
        self.area_kind_combo.setVisible(kind == "areas")
        self.name_field_row.setVisible(kind == "areas")
        self.name_field_combo.setVisible(kind == "areas")
        self.layer_fields.setVisible(kind == "layer")
        if kind == "layer" and self.wiz.files:
            self.layer_fields.fill(self.wiz.files[0])
        self.completeChanged.emit()

    def _add(self) -> None:
        start = self.wiz.settings.get("import/last_folder") or str(Path.home())
        files, _ = QFileDialog.getOpenFileNames(
            self, "Files to import", start,
            "Spreadsheets and boundaries (*.csv *.txt *.xlsx *.xlsm *.xls *.geojson *.json *.shp *.zip *.kml *.kmz);;"
            "All files (*)")
        if files:
            self.wiz.settings.set("import/last_folder", str(Path(files[0]).parent))
            self.set_files(self.wiz.files + [f for f in files if f not in self.wiz.files])

    def _remove(self) -> None:
        rows = sorted((i.row() for i in self.files.selectedIndexes()), reverse=True)
        files = list(self.wiz.files)
        for r in rows:
            files.pop(r)
        self.set_files(files)

    def set_files(self, files: list[str]) -> None:
        self.wiz.files = list(files)
        self.files.clear()
        self.files.addItems(self.wiz.files)
        self._load_preview(guess_kind=True)

    def _load_preview(self, guess_kind: bool) -> None:
        self.wiz.preview = None
        self.wiz.sample = None
        self.preview_model.set_frame(pd.DataFrame())
        files = self.wiz.files
        if not files:
            self.preview_label.setText("No files yet: add some, or drop them on the main window.")
            self.completeChanged.emit()
            return
        first = Path(files[0])
        from ui.dialogs.layer_fields import LAYER_SUFFIXES

        if first.suffix.lower() in LAYER_SUFFIXES or (self.wiz.kind == "layer" and not guess_kind):
            self._select_kind("layer")
            self.preview_label.setText(f"<b>{html.escape(first.name)}</b> becomes one reference layer: name it, "
                                       "and say which fields hold a population (census) and the labels.")
            self.completeChanged.emit()
            return
        if all(Path(f).suffix.lower() in AREA_SUFFIXES for f in files) and first.suffix.lower() != ".json" \
                or first.suffix.lower() in (".geojson", ".shp"):
            self._select_kind("areas")
            self.preview_label.setText(self._describe_boundaries(first, len(files)))
            self.completeChanged.emit()
            return
        try:
            df = read_table(first, nrows=PREVIEW_ROWS)
        except Exception as exc:  # noqa: BLE001 - shown as a sentence, the analyst picks another file
            log.warning("The preview of the chosen file failed", exc_info=True)
            self.preview_label.setText(f"<span style='color:#a11'>{html.escape(str(exc))}</span>")
            self.completeChanged.emit()
            return
        self.wiz.preview = df
        if guess_kind:
            found = detect_profile(list(df.columns), None, all_profiles())
            if found is not None:
                self._select_kind(found.kind)
            elif self.kind_combo.currentData() == "areas":
                self._select_kind("offenses")
        self.preview_model.set_frame(df)
        self.preview.fit_columns()
        more = f" (and {len(files) - 1} more file(s) with the same layout)" if len(files) > 1 else ""
        self.preview_label.setText(f"First {min(len(df), PREVIEW_ROWS):,d} rows of <b>{html.escape(first.name)}</b>"
                                   f", {len(df.columns)} columns{html.escape(more)}.")
        self.completeChanged.emit()

    def _describe_boundaries(self, first: Path, n_files: int) -> str:
        """What the importer will make of the first boundary file (the same functions the import runs): its naming
        field and why, and districts or target areas; the analyst can override both above."""
        from workstation.ingest.boundaries import decide_kind, name_field, read_features, record_district_keys

        head = f"{n_files} boundary file(s)."
        self.name_field_combo.blockSignals(True)
        self.name_field_combo.clear()
        self.name_field_combo.addItem("Work it out from the file", "")
        self.name_field_combo.blockSignals(False)
        try:
            feats, _crs = read_features(first)
        except Exception as exc:  # noqa: BLE001 - shown as a sentence; the import reports it again
            log.info("boundary preview of %s failed: %s", first, exc)
            return f"{head} <span style='color:#a11'>{html.escape(str(exc))}</span>"
        props = [p for p, _ in feats]
        fields = list(dict.fromkeys(k for p in props for k in p))
        # the attribute table, so the analyst sees what each field holds before choosing one to name the shapes
        self.preview_model.set_frame(pd.DataFrame(props[:PREVIEW_ROWS], columns=fields).astype("str"))
        self.preview.fit_columns()
        for f in fields:
            self.name_field_combo.addItem(str(f), str(f))
        ws = self.wiz.state.workspace
        field, why = name_field(props, record_district_keys(ws) if ws is not None else None)
        kind = decide_kind(props, field, why)
        if field is None:
            return (f"{head} No field of <b>{html.escape(first.name)}</b> names its {len(feats):,} shapes; choose "
                    "one above, or they will be called Area 1, Area 2, …")
        names = {str(p.get(field)).strip() for p in props if p.get(field) not in (None, "")}
        what = "districts" if kind == "districts" else "target areas"
        return (f"{head} <b>{html.escape(first.name)}</b>: {len(feats):,} shapes named by "
                f"<b>{html.escape(str(field))}</b> ({html.escape(why)}) → {len(names):,} {what}; shapes sharing a "
                "name become one.")

    def isComplete(self) -> bool:
        if not self.wiz.files:
            return False
        if self.wiz.kind == "layer":
            return len(self.wiz.files) == 1 and bool(self.layer_fields.values()["name"])
        return self.wiz.kind == "areas" or self.wiz.preview is not None

    def validatePage(self) -> bool:
        self.wiz.area_kind = self.area_kind_combo.currentData() or None
        self.wiz.name_field = self.name_field_combo.currentData() or None
        self.wiz.layer_options = self.layer_fields.values()
        return True

    def nextId(self) -> int:
        return ImportWizard.RUN if self.wiz.kind in ("areas", "layer") else ImportWizard.COLUMNS


# =====================================================================================================================
class ColumnsPage(QWizardPage):
    CUSTOM = "__custom__"

    def __init__(self, wiz: "ImportWizard") -> None:
        super().__init__(wiz)
        self.wiz = wiz
        self.setTitle("Columns")
        self.setSubTitle("Which column of the file holds each field. A saved profile fills this in when it "
                         "recognises the header; change any drop-down to remap a column. * is required.")
        self.profile_combo = QComboBox()
        self.profile_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.profile_combo.setMinimumContentsLength(40)
        self.profile_note = _hint("")
        self.profile_note.setTextFormat(Qt.TextFormat.PlainText)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(4)
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(3, 1)
        self.combos: dict[str, QComboBox] = {}
        self.status = QLabel()
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Profile:"))
        row.addWidget(self.profile_combo, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.profile_note)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        lay.addWidget(line)
        lay.addWidget(self.grid_host)
        lay.addStretch(1)
        lay.addWidget(self.status)
        self.profile_combo.currentIndexChanged.connect(self._profile_picked)

    def initializePage(self) -> None:
        wiz = self.wiz
        kind = wiz.kind
        cols = list(wiz.preview.columns)
        profiles = [p for p in all_profiles() if p.kind == kind]
        detected = detect_profile(cols, kind, profiles)
        wiz.detected = detected
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        for p in profiles:
            label = p.name + ("  (recognised from the header)" if detected is not None and p is detected else "")
            self.profile_combo.addItem(label, p)
        self.profile_combo.addItem("Custom mapping (start from scratch)", self.CUSTOM)
        if detected is not None:
            self.profile_combo.setCurrentIndex(profiles.index(detected))
        else:
            self.profile_combo.setCurrentIndex(self.profile_combo.count() - 1)
        self.profile_combo.blockSignals(False)
        self._build_grid(cols)
        self._profile_picked()
        wiz.start_sample_load()

    def _build_grid(self, cols: list) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.combos.clear()
        kind = self.wiz.kind
        fields = FIELDS[kind]
        half = (len(fields) + 1) // 2
        for i, (name, _where) in enumerate(fields):
            r, c = (i, 0) if i < half else (i - half, 2)
            label = QLabel(field_label(name) + (" *" if name in NEEDED[kind] else ""))
            label.setToolTip(field_tip(kind, name))
            combo = QComboBox()
            combo.addItem(NONE_TEXT, None)
            for col in cols:
                combo.addItem(str(col), col)
            combo.setToolTip(field_tip(kind, name))
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
            combo.currentIndexChanged.connect(lambda _i, name=name: self._field_changed(name))
            label.setBuddy(combo)
            self.grid.addWidget(label, r, c)
            self.grid.addWidget(combo, r, c + 1)
            self.combos[name] = combo

    def _profile_picked(self) -> None:
        data = self.profile_combo.currentData()
        kind = self.wiz.kind
        if data == self.CUSTOM or data is None:
            prof = Profile(name="Custom mapping", kind=kind, columns={}, category_default=None)
            self.profile_note.setText("No profile: map the columns yourself. On the Locations page you can save "
                                      "the mapping as a profile, so the next file like this is recognised.")
        else:
            prof = copy.deepcopy(data)
            self.profile_note.setText(prof.description or "A saved profile.")
        self.wiz.profile = prof
        self.wiz.edited = False
        self._fill_from_profile()

    def _fill_from_profile(self) -> None:
        from workstation.ingest.profiles import resolve_column

        prof = self.wiz.profile
        cols = list(self.wiz.preview.columns)
        for name, where in FIELDS[self.wiz.kind]:
            combo = self.combos[name]
            combo.blockSignals(True)
            # drop a "joined" entry left by an earlier profile
            for i in range(combo.count() - 1, 0, -1):
                if combo.itemData(i, Qt.ItemDataRole.UserRole + 1) == "joined":
                    combo.removeItem(i)
            spec = prof.columns.get(name) if where == "column" else (prof.flags.get(name) or {}).get("column")
            found = resolve_column(cols, spec) if spec is not None else None
            if found is None:
                combo.setCurrentIndex(0)
            elif len(found) == 1:
                combo.setCurrentIndex(max(combo.findData(found[0]), 0))
            else:
                combo.addItem(" + ".join(map(str, found)), spec)
                combo.setItemData(combo.count() - 1, "joined", Qt.ItemDataRole.UserRole + 1)
                combo.setCurrentIndex(combo.count() - 1)
            combo.blockSignals(False)
        self._update_status()

    def _field_changed(self, name: str) -> None:
        prof = self.wiz.profile
        combo = self.combos[name]
        col = combo.currentData()
        where = dict(FIELDS[self.wiz.kind])[name]
        if where == "flag":
            if col is None:
                prof.flags.pop(name, None)
            else:
                old = prof.flags.get(name) or {}
                if old.get("column") != col:
                    prof.flags[name] = {"column": col, "true_values": list(TRUE_VALUES)}
        else:
            if col is None:
                prof.columns.pop(name, None)
            else:
                prof.columns[name] = col
            if name in ("category", "role") and col is not None:
                # a remapped category column: its values are mapped on the next page
                prof.flag_columns = {}
                prof.count_columns = {}
        self.wiz.edited = True
        if not prof.name.endswith("(edited)") and prof.name != "Custom mapping":
            prof.name = f"{prof.name} (edited)"
        self._update_status()

    def missing(self) -> list[str]:
        prof = self.wiz.profile
        kind = self.wiz.kind
        out = []
        for need in NEEDED[kind]:
            if need in ("category", "role") and (prof.flag_columns or prof.count_columns or need in prof.constants):
                continue
            if need == "incident_id" and (prof.id_from or kind == "activity"):
                continue
            if need not in prof.columns and need not in prof.constants:
                out.append(field_label(need))
        return out

    def _update_status(self) -> None:
        prof = self.wiz.profile
        miss = self.missing()
        bits = []
        if prof.flag_columns:
            bits.append(f"This layout has one column per offense type ({len(prof.flag_columns)} columns); "
                        "they are listed on the next page.")
        if prof.count_columns:
            bits.append(f"This layout has one count column per type ({len(prof.count_columns)} columns).")
        if prof.constants:
            bits.append("Fixed values: " + ", ".join(f"{k} = {v}" for k, v in prof.constants.items()) + ".")
        if miss:
            bits.append(f"<span style='color:#a11'>Still needed: {', '.join(miss)}.</span>")
        self.status.setText(" ".join(bits))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.wiz.profile is not None and not self.missing()


# =====================================================================================================================
class CategoriesPage(QWizardPage):
    def __init__(self, wiz: "ImportWizard") -> None:
        super().__init__(wiz)
        self.wiz = wiz
        self.setTitle("Category values")
        self.setSubTitle("Each value found in the file, how many rows have it, and the canonical category it "
                         "becomes. Change a drop-down to map a value differently.")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Value in the file", "Rows", "Becomes"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 12)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        hh.resizeSection(2, 240)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        lay = QVBoxLayout(self)
        lay.addWidget(self.progress)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        self.combos: list[tuple[object, QComboBox]] = []
        # the source values are counted over the whole file in a worker (0.2 s at 10M rows); mapping them to
        # categories, again at every change of a drop-down, is quick and stays on the UI thread
        self.counter = TaskRunner(self)
        self.counter.finished.connect(self._counted)
        self.counter.failed.connect(lambda message, _details: self._show_problem(message))
        self._source_counts: pd.DataFrame | None = None

    def initializePage(self) -> None:
        if self.wiz.sample is None:
            self.progress.show()
            self.status.setText("Reading the whole file to count its values…")
            self.table.setRowCount(0)
            self.wiz.sample_ready_callbacks.append(self._fill)
        else:
            self._fill()

    def _fill(self) -> None:
        wiz = self.wiz
        self._source_counts = None
        if wiz.sample is None:
            self.progress.hide()
            self.status.setText(f"<span style='color:#a11'>{html.escape(wiz.sample_error or '')}</span>")
            self.completeChanged.emit()
            return
        prof = wiz.profile
        if prof.flag_columns or prof.count_columns:  # one count per column: no pass over a text column
            try:
                counts = category_value_counts(wiz.sample, prof)
            except Exception as exc:  # noqa: BLE001 - a sentence for the analyst
                log.warning("The profile step failed", exc_info=True)
                self._show_problem(str(exc))
                return
            self._show(counts)
            return
        self.progress.show()
        self.status.setText("Counting the values of the file…")
        self.table.setRowCount(0)
        self.combos = []
        sample, reading = wiz.sample, copy.deepcopy(prof)   # the worker reads the column the profile names now
        self.counter.start(lambda progress, should_stop: source_value_counts(sample, reading),
                           "counting the category values")

    def _counted(self, source_counts: pd.DataFrame) -> None:
        self._source_counts = source_counts
        try:
            counts = mapped_value_counts(source_counts, self.wiz.profile)
        except Exception as exc:  # noqa: BLE001 - a sentence for the analyst
            log.warning("The profile step failed", exc_info=True)
            self._show_problem(str(exc))
            return
        self._show(counts)

    def _show_problem(self, message: str) -> None:
        self.progress.hide()
        self.status.setText(f"<span style='color:#a11'>{html.escape(message)}</span>")
        self.table.setRowCount(0)
        self.completeChanged.emit()

    def _show(self, counts: pd.DataFrame) -> None:
        self.progress.hide()
        wiz = self.wiz
        prof = wiz.profile
        wide = bool(prof.flag_columns or prof.count_columns)
        choices = category_choices(wiz.kind)
        self.table.setRowCount(0)
        self.combos = []
        for _, row in counts.sort_values("count", ascending=False, kind="stable").iterrows():
            r = self.table.rowCount()
            self.table.insertRow(r)
            value = row["source_value"]
            shown = "(blank)" if value is None or (isinstance(value, float) and value != value) else str(value)
            it = QTableWidgetItem(shown)
            self.table.setItem(r, 0, it)
            n = QTableWidgetItem(f"{int(row['count']):,d}")
            n.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(r, 1, n)
            target = row["category"]
            target = None if target is None or (isinstance(target, float) and target != target) else str(target)
            editable = shown != "(blank)" and (not wide or isinstance((prof.flag_columns or prof.count_columns)
                                                                      .get(value), str))
            if not editable:
                text = "rejected: no value" if shown == "(blank)" else (target or "")
                self.table.setItem(r, 2, QTableWidgetItem(text))
                continue
            combo = QComboBox()
            default = None if wide else prof.category_default
            combo.addItem(f"— unmapped: becomes {dict(choices).get(default, default)} —" if default
                          else "— not mapped: rows rejected —", None)
            for key, label in choices:
                combo.addItem(label, key)
            explicit = str(value) in prof.categories or wide
            falls_to_default = bool(default) and not explicit and target == default
            combo.setCurrentIndex(0 if target is None or falls_to_default else max(combo.findData(target), 0))
            combo.currentIndexChanged.connect(lambda _i, v=value, c=combo: self._mapped(v, c))
            self.table.setCellWidget(r, 2, combo)
            self.combos.append((value, combo))
        self._update_status(counts)
        self.completeChanged.emit()

    def _mapped(self, value, combo: QComboBox) -> None:
        prof = self.wiz.profile
        target = combo.currentData()
        if prof.flag_columns or prof.count_columns:
            spec_map = prof.flag_columns or prof.count_columns
            if target is None:
                spec_map.pop(value, None)
            else:
                spec_map[value] = target
        elif target is None:
            prof.categories.pop(str(value), None)
        else:
            prof.categories[str(value)] = target
        self.wiz.edited = True
        try:
            wide = prof.flag_columns or prof.count_columns
            self._update_status(mapped_value_counts(self._source_counts, prof)
                                if self._source_counts is not None and not wide
                                else category_value_counts(self.wiz.sample, prof))
        except Exception:  # noqa: BLE001
            log.warning("Counting the category values of the sample failed", exc_info=True)
            pass

    def _update_status(self, counts: pd.DataFrame) -> None:
        unmapped = counts[counts["category"].isna()]
        n = int(unmapped["count"].sum())
        total = int(counts["count"].sum())
        if n:
            self.status.setText(f"{n:,d} of {total:,d} rows have a value that is not mapped; they will be "
                                "rejected and listed with the reason.")
        else:
            self.status.setText(f"Every one of the {total:,d} rows maps to a category.")

    def isComplete(self) -> bool:
        return self.wiz.sample is not None


# =====================================================================================================================
class LocationPage(QWizardPage):
    def __init__(self, wiz: "ImportWizard") -> None:
        super().__init__(wiz)
        self.wiz = wiz
        self.setTitle("Locations and profile")
        self.setSubTitle("The coordinate system of projected X/Y columns, checked live against the city's "
                         "boundaries; then save the mapping as a profile if you will import files like this again.")
        self.setButtonText(QWizard.WizardButton.NextButton, "&Import")
        self.epsg_combo = QComboBox()
        self.epsg_combo.setEditable(True)
        self.epsg_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for code, label in EPSG_CHOICES:
            self.epsg_combo.addItem(label, code)
        self.epsg_combo.setToolTip("Type an EPSG code (e.g. 2272) or pick a common one")
        self.mapping = QLabel()
        self.mapping.setWordWrap(True)
        self.check = QLabel()
        self.check.setWordWrap(True)
        self.check.setTextFormat(Qt.TextFormat.RichText)
        self.save_box = QCheckBox("Save this mapping as a profile")
        self.save_box.setToolTip("The next file with the same columns is recognised and mapped the same way")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Profile name, e.g. 'Our RMS weekly export'")

        loc = QGroupBox("Coordinates")
        fl = QFormLayout(loc)
        fl.addRow("Columns:", self.mapping)
        fl.addRow("X/Y coordinate system:", self.epsg_combo)
        fl.addRow("Check:", self.check)
        prof = QGroupBox("Profile")
        pl = QVBoxLayout(prof)
        pl.addWidget(self.save_box)
        pl.addWidget(self.name_edit)
        lay = QVBoxLayout(self)
        lay.addWidget(loc)
        lay.addWidget(prof)
        lay.addStretch(1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.run_check)
        self.epsg_combo.currentIndexChanged.connect(lambda _i: self._epsg_changed())
        self.epsg_combo.editTextChanged.connect(lambda _t: self._timer.start())
        self.save_box.toggled.connect(self.name_edit.setEnabled)
        self.save_box.toggled.connect(lambda _b: self.completeChanged.emit())
        self.name_edit.textChanged.connect(lambda _t: self.completeChanged.emit())

    def initializePage(self) -> None:
        prof = self.wiz.profile
        c = prof.columns
        parts = []
        if "lat" in c and "lon" in c:
            parts.append(f"latitude/longitude from {c['lat']} / {c['lon']}")
        if "x" in c and "y" in c:
            parts.append(f"projected X/Y from {c['x']} / {c['y']}" + (" where latitude/longitude is missing"
                                                                       if parts else ""))
        self.mapping.setText("; ".join(parts) if parts else "No location columns: records count citywide and by "
                                                            "their district column only.")
        self.epsg_combo.blockSignals(True)
        code = "" if prof.epsg in (None, "") else str(prof.epsg)
        i = self.epsg_combo.findData(code)
        if i < 0:
            self.epsg_combo.setEditText(code)
        else:
            self.epsg_combo.setCurrentIndex(i)
        self.epsg_combo.setEnabled("x" in c and "y" in c)
        self.epsg_combo.blockSignals(False)
        self.save_box.setChecked(self.wiz.edited)
        self.name_edit.setEnabled(self.save_box.isChecked())
        if not self.name_edit.text():
            base = prof.name.replace(" (edited)", "")
            # never the built-in profile's own name: the saved copy must be told apart from it
            self.name_edit.setText(f"{base} — my mapping" if base != "Custom mapping" else "")
        self.run_check()

    def _epsg_changed(self) -> None:
        self.run_check()

    def epsg_value(self):
        data = self.epsg_combo.currentData()
        text = self.epsg_combo.currentText().strip()
        if self.epsg_combo.currentIndex() >= 0 and self.epsg_combo.itemText(self.epsg_combo.currentIndex()) == text:
            return data or None
        m = re.search(r"(\d{4,6})", text)
        return m.group(1) if m else None

    def run_check(self) -> None:
        wiz = self.wiz
        prof = wiz.profile
        code = self.epsg_value()
        prof.epsg = int(code) if code and str(code).isdigit() else (code or None)
        ws = wiz.state.workspace
        sample = wiz.sample if wiz.sample is not None else wiz.preview
        if sample is None or ws is None:
            self.check.setText("")
            return
        if len(sample) > CHECK_ROWS:
            sample = sample.iloc[:CHECK_ROWS]
        try:
            inside, total = points_inside_city(ws, sample, prof)
        except Exception as exc:  # noqa: BLE001 - a sentence for the analyst
            log.warning("The import check failed", exc_info=True)
            self.check.setText(f"<span style='color:#a11'>{html.escape(str(exc))}</span>")
            wiz.location_check = None
            return
        wiz.location_check = (inside, total)
        if total == 0:
            self.check.setText("No row has usable coordinates in the columns mapped.")
        elif inside is None:
            self.check.setText(f"{total:,d} rows have coordinates. The workspace has no district boundaries to "
                               "check them against; import boundaries first to check.")
        else:
            share = inside / total
            colour = "#1d6a1a" if share >= 0.9 else "#a15c00" if share >= 0.5 else "#a11"
            advice = "" if share >= 0.5 else " Most points are outside: is the coordinate system right?"
            self.check.setText(f"<span style='color:{colour}'><b>{inside:,d} of {total:,d}</b> located points "
                               f"({share:.0%}) fall inside the city.{advice}</span>")

    def isComplete(self) -> bool:
        return not self.save_box.isChecked() or bool(self.name_edit.text().strip())

    def validatePage(self) -> bool:
        self.run_check()
        if self.save_box.isChecked():
            self.wiz.save_profile(self.name_edit.text().strip())
        return True


# =====================================================================================================================
class RunPage(QWizardPage):
    def __init__(self, wiz: "ImportWizard") -> None:
        super().__init__(wiz)
        self.wiz = wiz
        self.setTitle("Import")
        self.setSubTitle("The files are read, checked and merged with what the workspace already holds (the same "
                         "incident id: the newer record wins).")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.clicked.connect(self.wiz.cancel_import)
        self.details = QTextEdit()
        self.details.setReadOnly(True)
        self.details.hide()
        self.details_button = QPushButton("Show details")
        self.details_button.setCheckable(True)
        self.details_button.hide()
        self.details_button.toggled.connect(self.details.setVisible)
        self.rejects = RecordsView(self, noun="rejected rows", csv_name="rejected_rows.csv")
        self.rejects.hide()
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.details)
        self.rejects_title = _bold("Rejected rows, with the reason for each (copy them, or save them as CSV "
                                   "to fix at the source):")
        self.rejects_title.hide()
        lay.addWidget(self.rejects_title)
        lay.addWidget(self.rejects, 1)
        self.filler = QWidget()
        lay.addWidget(self.filler, 1)
        self.state = "idle"

    def initializePage(self) -> None:
        self.rejects.hide()
        self.rejects_title.hide()
        self.filler.show()
        self.details.hide()
        self.details_button.hide()
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.status.setText("Importing " + ", ".join(html.escape(Path(f).name) for f in self.wiz.files) + "…")
        self.state = "running"
        self.completeChanged.emit()
        self.wiz.start_import()

    def isComplete(self) -> bool:
        return self.state in ("done", "cancelled", "failed")

    def on_progress(self, f: float) -> None:
        self.progress.setValue(int(round(f * 100)))

    def on_done(self, result: ImportResult) -> None:
        self.state = "done"
        self.progress.setValue(100)
        self.cancel_button.hide()
        s = result.summary()
        kind = s.get("kind") or self.wiz.kind
        lines = [f"<b>Imported {html.escape(DATASET_LABELS.get(kind, kind).lower())}</b>: "
                 f"{s['rows_read']:,d} rows read, <b>{s['accepted']:,d} accepted</b>, "
                 f"<b>{s['rejected']:,d} rejected</b>."]
        if kind == "layer":
            lines[0] = (f"<b>Imported the layer</b> ({html.escape(s.get('profile') or '')}): {s['rows_read']:,d} "
                        f"features read, <b>{s['accepted']:,d} on the map</b>, <b>{s['rejected']:,d} rejected</b>.")
        elif kind != "areas":
            lines.append(f"{s['added']:,d} new records, {s['replaced']:,d} records replaced a previous version "
                         f"(same incident id).")
        if s.get("profile"):
            lines.append(f"Profile: {html.escape(s['profile'])}.")
        reasons = s.get("rejected_by_reason") or {}
        if reasons:
            lines.append("Rejected because: " + "; ".join(f"{html.escape(k)} ({v:,d})" for k, v in
                                                         sorted(reasons.items(), key=lambda kv: -kv[1])) + ".")
        for w in s.get("warnings") or []:
            lines.append(f"<span style='color:#a15c00'>⚠ {html.escape(str(w))}</span>")
        self.status.setText("<br>".join(lines))
        rej = result.rejects
        if rej is not None and len(rej):
            show_rejects_in(self.rejects, rej)
            self.rejects.show()
            self.rejects_title.show()
            self.filler.hide()
        self.completeChanged.emit()

    def on_cancelled(self) -> None:
        self.state = "cancelled"
        self.cancel_button.hide()
        self.status.setText("<b>Import cancelled.</b> The workspace is unchanged.")
        self.completeChanged.emit()

    def on_failed(self, message: str, details: str) -> None:
        self.state = "failed"
        self.cancel_button.hide()
        self.status.setText(f"<span style='color:#a11'><b>Nothing was imported.</b> {html.escape(message)}</span>"
                            "<br>The workspace is unchanged. Go back to change the mapping, or pick other files.")
        if details:
            self.details.setPlainText(details)
            self.details_button.show()
        self.completeChanged.emit()


# =====================================================================================================================
class ImportWizard(QWizard):
    FILES, COLUMNS, CATEGORIES, LOCATION, RUN = range(5)

    def __init__(self, state, settings, files: list[str] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.files = list(files or [])
        self.kind = settings.get("import/kind") or "offenses"
        self.area_kind: str | None = None
        self.name_field: str | None = None
        self.preview: pd.DataFrame | None = None
        self.sample: pd.DataFrame | None = None
        self.sample_error: str | None = None
        self.sample_ready_callbacks: list = []
        self.detected: Profile | None = None
        self.profile: Profile | None = None
        self.edited = False
        self.location_check = None
        self.result: ImportResult | None = None
        self.imported_kind: str | None = None
        self.saved_profile: Path | None = None
        self._work = None
        self._sample_for: tuple | None = None

        self.setWindowTitle("Import data")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.files_page = FilesPage(self)
        self.columns_page = ColumnsPage(self)
        self.categories_page = CategoriesPage(self)
        self.location_page = LocationPage(self)
        self.run_page = RunPage(self)
        self.setPage(self.FILES, self.files_page)
        self.setPage(self.COLUMNS, self.columns_page)
        self.setPage(self.CATEGORIES, self.categories_page)
        self.setPage(self.LOCATION, self.location_page)
        self.setPage(self.RUN, self.run_page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Close")

        self.sampler = TaskRunner(self)
        self.sampler.finished.connect(self._sample_loaded)
        self.sampler.failed.connect(self._sample_failed)
        self.importer = TaskRunner(self)
        self.importer.progress.connect(self.run_page.on_progress)
        self.importer.finished.connect(self._import_done)
        self.importer.cancelled.connect(self.run_page.on_cancelled)
        self.importer.failed.connect(self.run_page.on_failed)
        self.resize(1040, 660)

    # ---- the whole first file, read once in a worker (value counts and the location check use it) ----
    def start_sample_load(self) -> None:
        key = (tuple(self.files), self.kind)
        if self._sample_for == key and (self.sample is not None or self.sampler.is_running()):
            return
        self._sample_for = key
        self.sample = None
        self.sample_error = None
        first = self.files[0]
        self.sampler.start(lambda progress, should_stop: read_table(first), "reading the file")

    def _sample_loaded(self, df) -> None:
        self.sample = df
        self._run_sample_callbacks()

    def _sample_failed(self, message: str, _details: str) -> None:
        self.sample = None
        self.sample_error = message
        self._run_sample_callbacks()

    def _run_sample_callbacks(self) -> None:
        cbs, self.sample_ready_callbacks = self.sample_ready_callbacks, []
        for cb in cbs:
            cb()

    # ---- profile ----
    def save_profile(self, name: str) -> Path:
        prof = copy.deepcopy(self.profile)
        prof.name = name
        used = [c for c in prof.source_columns() if isinstance(c, str)]
        # a profile the analyst saved wins over a built-in one that fits the same header
        prof.match = {"required": used, "priority": 1}
        prof.description = prof.description or f"Saved from the import wizard for {Path(self.files[0]).name}."
        path = user_profile_dir() / f"{_slug(name)}.json"
        prof.save(path)
        self.profile.name = name
        self.saved_profile = path
        return path

    # ---- the import ----
    def start_import(self) -> None:
        ws = self.state.workspace
        work = ws.detached()
        self._work = work
        kind = self.kind
        files = list(self.files)
        profile = None if kind in ("areas", "layer") else copy.deepcopy(self.profile)
        layer_options = dict(getattr(self, "layer_options", None) or {})
        area_kind = self.area_kind
        name_field = self.name_field
        self.settings.set("import/kind", kind)
        self.settings.set("import/last_folder", str(Path(files[0]).parent))

        def job(progress, should_stop):
            if kind == "layer":
                from workstation.ingest.layers import import_layer_result

                opts = dict(layer_options)
                return import_layer_result(work, files[0], opts.pop("name"), progress=progress,
                                           should_stop=should_stop, **opts)
            return import_files(work, kind, files, profile=profile, progress=progress, should_stop=should_stop,
                                area_kind=area_kind, name_field=name_field)

        self.importer.start(job, "the import")

    def cancel_import(self) -> None:
        if self.importer.is_running():
            self.run_page.cancel_button.setEnabled(False)
            self.run_page.status.setText("Cancelling…")
            self.importer.cancel()

    def _import_done(self, result: ImportResult) -> None:
        ws = self.state.workspace
        what = {"areas": "areas", "layer": "layers"}.get(self.kind, self.kind)
        ws.adopt(self._work, what)
        self._work = None
        self.result = result
        self.imported_kind = self.kind
        # the summary and the rejected rows on the next turn of the event loop: the window repaints between the two
        # (the panels' reaction to the new data, then the table of rejected rows) instead of freezing for both
        QTimer.singleShot(0, self, lambda: self.run_page.on_done(result))

    def reject(self) -> None:
        if self.importer.is_running():
            self.cancel_import()
            return
        super().reject()

    def shutdown(self) -> None:
        self.sampler.cancel()
        self.importer.cancel()
        self.categories_page.counter.cancel()
        self.sampler.wait()
        self.importer.wait()
        self.categories_page.counter.wait()
        self.run_page.rejects.shutdown()

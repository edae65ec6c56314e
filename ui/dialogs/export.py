"""Export the CompStat workbook: areas, as-of date, scenario, file; progress and Cancel; shows the file when done."""
from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QToolButton, QVBoxLayout, QWidget)

from workstation.engine import areas as area_keys
from ui.widgets.area_bar import from_qdate, to_qdate
from ui.workers import TaskRunner

KEY_ROLE = Qt.ItemDataRole.UserRole + 1


def run_export(ws, out, as_of, area_keys, scenario, progress, should_stop, history_years=None, pdf=None):
    """The workbook, and the meeting packet when ``pdf`` names one (both from one analysis); returns the workbook's
    path."""
    from workstation.exports.packet import export_outputs

    return export_outputs(ws, xlsx=out, pdf=pdf, as_of=as_of, area_keys=area_keys, scenario=scenario,
                          progress=progress, should_stop=should_stop, history_years=history_years)[0]


def packet_path(out: Path) -> Path:
    """The meeting packet's file: the workbook's name with .pdf."""
    return Path(out).with_suffix(".pdf")


def default_name(ws, as_of) -> str:
    from workstation.engine.areas import city_name

    city = re.sub(r"[^0-9A-Za-z]+", "_", city_name(ws)).strip("_") or "City"
    return f"CompStat_{city}_{as_of:%Y-%m-%d}.xlsx"


class ExportDialog(QDialog):
    def __init__(self, state, settings, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.written: Path | None = None
        self.packet: Path | None = None   # the meeting packet asked for with the running (or last) export
        self.opened: list[str] = []
        self.setWindowTitle("Export CompStat workbook")
        ws = state.workspace

        self.areas = QListWidget()
        self.areas.setAlternatingRowColors(True)
        self.areas.setSpacing(1)
        wanted = {"citywide", state.area_key} | {f"target_area:{a.name}" for a in ws.target_areas}
        for key, label in area_keys.area_choices(ws):
            if key.startswith("scenario:"):
                continue
            it = QListWidgetItem(label)
            it.setData(KEY_ROLE, key)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Checked if key in wanted else Qt.CheckState.Unchecked)
            self.areas.addItem(it)
        self.areas.setMinimumHeight(7 * self.fontMetrics().height())
        self.areas.itemChanged.connect(lambda _i: self._update_buttons())

        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        newest = ws.as_of()
        if newest is not None:
            self.date_edit.setMaximumDate(to_qdate(newest))
        self.date_edit.setDate(to_qdate(state.as_of or newest))
        newest_button = QToolButton()
        newest_button.setText("Newest")
        newest_button.clicked.connect(lambda: self.date_edit.setDate(to_qdate(ws.as_of())))
        self.scenario_combo = QComboBox()
        self.scenario_combo.addItem("Official boundaries", None)
        for a in ws.scenarios:
            base = f" (in place of {a.base})" if a.base else ""
            self.scenario_combo.addItem(f"Scenario: {a.name}{base}", a.name)
        if self.scenario_combo.count() == 1:
            self.scenario_combo.setItemText(0, "Official boundaries (no what-if scenario saved yet)")
        self.scenario_combo.setEnabled(self.scenario_combo.count() > 1)
        self.scenario_combo.setToolTip("A saved what-if scenario replaces its target area in every sheet")

        # Part I History's years, as --history takes them; blank: the workspace's setting or the default
        self.history_edit = QLineEdit()
        self.history_edit.setPlaceholderText("e.g. 2007-2015:2016 (blank: the workspace's choice or the last "
                                             "complete year against the nine before it)")
        self.history_edit.setToolTip("Part I History compares one calendar year with the average of earlier years: "
                                     "FIRST-LAST:CURRENT, the same as main.py export --history")

        folder = settings.get("export/last_folder") or str(Path.home())
        self.path_edit = QLineEdit(str(Path(folder) / default_name(ws, from_qdate(self.date_edit.date()))))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.open_box = QCheckBox("Open the workbook when it is written")
        self.open_box.setChecked(settings.get("export/open_when_done"))
        self.packet_box = QCheckBox("Also write the meeting packet (a PDF of the same name)")
        self.packet_box.setToolTip("One PDF for the meeting, Letter landscape: the Summary, the CompStat grid, the "
                                   "district and target-area tables with their maps, the hot-spot map, the trend "
                                   "charts and the shoot review")
        self.packet_box.setChecked(bool(settings.get("export/packet")))

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setOpenExternalLinks(False)
        self.status.linkActivated.connect(self._open_link)

        date_row = QHBoxLayout()
        date_row.addWidget(self.date_edit)
        date_row.addWidget(newest_button)
        date_row.addStretch(1)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Areas:", self.areas)
        form.addRow("As of:", _wrap(date_row))
        form.addRow("Boundaries:", self.scenario_combo)
        form.addRow("Part I history years:", self.history_edit)
        form.addRow("Save as:", _wrap(path_row))
        form.addRow("", self.packet_box)
        form.addRow("", self.open_box)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.show_button = self.buttons.addButton("Show in folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.show_button.hide()
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.show_button.clicked.connect(lambda: self._open_link("folder"))

        intro = QLabel("The workbook has the Summary, CompStat, Part I History, Districts, Target Areas, Rates & "
                       "Clearance, Activity & Partners, Shoot Review, Trends and Notes sheets, print-ready, for Excel or "
                       "LibreOffice, with maps. The meeting packet is one PDF for the meeting, printed on Letter paper "
                       "or projected, with the same figures.")
        intro.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addStretch(1)
        lay.addWidget(self.buttons)
        self.runner = TaskRunner(self)
        self.runner.progress.connect(lambda f: self.progress.setValue(int(round(f * 100))))
        self.runner.finished.connect(self._done)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)
        self.resize(600, 520)
        self._update_buttons()

    # ---- choices ----
    def area_keys(self) -> list[str]:
        return [self.areas.item(i).data(KEY_ROLE) for i in range(self.areas.count())
                if self.areas.item(i).checkState() == Qt.CheckState.Checked]

    def set_area_keys(self, keys: list[str]) -> None:
        for i in range(self.areas.count()):
            it = self.areas.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.data(KEY_ROLE) in keys else Qt.CheckState.Unchecked)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the workbook as", self.path_edit.text(),
                                              "Excel workbooks (*.xlsx)")
        if path:
            if not path.lower().endswith(".xlsx"):
                path += ".xlsx"
            self.path_edit.setText(path)

    def _update_buttons(self) -> None:
        self.export_button.setEnabled(bool(self.area_keys()) and not self.runner.is_running())

    # ---- the export ----
    def start_export(self) -> None:
        ws = self.state.workspace
        out = Path(self.path_edit.text().strip()).expanduser()
        keys = self.area_keys()
        as_of = from_qdate(self.date_edit.date())
        scenario = self.scenario_combo.currentData()
        from workstation.core.errors import UserError
        from workstation.exports.cli import parse_history

        try:
            history = parse_history(self.history_edit.text().strip() or None)
        except UserError as exc:
            self.status.setText(f"<span style='color:#a11'>{html.escape(str(exc).replace('--history', 'Part I '
                                                                                         'history years'))}</span>")
            return
        self.settings.set("export/last_folder", str(out.parent))
        self.settings.set("export/open_when_done", self.open_box.isChecked())
        self.settings.set("export/packet", self.packet_box.isChecked())
        pdf = packet_path(out) if self.packet_box.isChecked() else None
        self.packet = pdf
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText(f"Writing {html.escape(out.name)}…")
        self.export_button.setEnabled(False)
        self.show_button.hide()
        self.runner.start(lambda progress, should_stop: run_export(ws, out, as_of, keys, scenario, progress,
                                                                   should_stop, history_years=history, pdf=pdf),
                          "the export")
        self._update_buttons()

    def _done(self, path) -> None:
        self.written = Path(path)
        self.progress.setValue(100)
        packet = (f" and the meeting packet <a href='packet'>{html.escape(self.packet.name)}</a>"
                  if self.packet is not None else "")
        self.status.setText(f"Saved <a href='file'>{html.escape(str(self.written))}</a>{packet} "
                            f"(<a href='folder'>show in folder</a>).")
        self.cancel_button.setText("Close")
        self.show_button.show()
        self._update_buttons()
        if self.open_box.isChecked():
            self._open_link("file")

    def _failed(self, message: str, details: str) -> None:
        self.progress.hide()
        self.status.setText(f"<span style='color:#a11'><b>No workbook was written.</b> {html.escape(message)}"
                            "</span>")
        self._update_buttons()

    def _cancelled(self) -> None:
        self.progress.hide()
        self.status.setText("Export cancelled; no workbook was written.")
        self._update_buttons()

    def _cancel_or_close(self) -> None:
        if self.runner.is_running():
            self.status.setText("Cancelling…")
            self.runner.cancel()
            return
        self.reject()

    def reject(self) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            return
        super().reject()

    def _open_link(self, which: str) -> None:
        if self.written is None:
            return
        target = {"file": self.written, "packet": self.packet}.get(which) or self.written.parent
        self.opened.append(str(target))
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(target)))

    def shutdown(self) -> None:
        self.runner.cancel()
        self.runner.wait()


def _wrap(layout) -> QWidget:
    w = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    w.setLayout(layout)
    return w




"""Help -> About: what this is, and the versions of the libraries in use (for support requests)."""
from __future__ import annotations

import platform
import sys
from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

LIBRARIES = ("PySide6", "pandas", "numpy", "pyarrow", "pyqtgraph", "shapely", "pyproj", "folium", "openpyxl",
             "python-calamine", "networkx", "scipy")


def versions() -> list[tuple[str, str]]:
    out = [("Python", platform.python_version())]
    for name in LIBRARIES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    try:
        from PySide6 import QtCore

        out.append(("Qt", QtCore.qVersion()))
    except ImportError:
        pass
    return out


def app_version() -> str:
    try:
        return metadata.version("psp-workstation")
    except metadata.PackageNotFoundError:
        return "development"


class AboutDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About PSP Analyst Workstation")
        title = QLabel(f"<h2 style='margin:0'>PSP Analyst Workstation</h2>"
                       f"<p>Version {app_version()} · Python {platform.python_version()} on {platform.system()}</p>"
                       "<p>CompStat grids, trends, maps and what-if boundaries for crime analysts in "
                       "violence-reduction partnerships. Everything works offline: no data leaves this computer."
                       "</p>")
        title.setWordWrap(True)
        title.setTextFormat(Qt.TextFormat.RichText)
        rows = versions()
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Library", "Version"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        for r, (name, ver) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(name))
            self.table.setItem(r, 1, QTableWidgetItem(ver))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = QPushButton("Copy versions", self)
        copy.setToolTip("Copy this list to the clipboard, for a support request")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_versions)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)
        self.resize(460, 520)

    def copy_versions(self) -> str:
        text = "\n".join(f"{n} {v}" for n, v in versions()) + f"\nPSP Analyst Workstation {app_version()}\n" \
               + f"{sys.platform}\n"
        QApplication.clipboard().setText(text)
        return text

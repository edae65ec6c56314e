"""The status bar's busy indicator: what the workstation is doing ("Saving city.psw…"), its progress, and Cancel
for a job the analyst may stop (creating the demo). Open and save are not cancellable: they finish or fail whole."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class JobStatus(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFlat(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.label, self.progress, self.cancel_button):
            lay.addWidget(w)
        self.show_job("", cancellable=False)

    def show_job(self, label: str, cancellable: bool) -> None:
        """Show ``label`` with an empty progress bar (and Cancel when ``cancellable``); "" hides it all."""
        self.label.setText(label)
        self.progress.setValue(0)
        for w in (self.label, self.progress):
            w.setVisible(bool(label))
        self.cancel_button.setVisible(bool(label) and cancellable)

    def set_fraction(self, fraction: float) -> None:
        self.progress.setValue(int(round(fraction * 100)))

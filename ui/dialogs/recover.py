"""After a crash: offer the unsaved work found in recovery files."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from workstation.core.recovery import Candidate


class RecoverDialog(QDialog):
    """Result: ``choice`` is "recover" (with ``candidate``), "discard" (all listed) or "later"."""

    def __init__(self, candidates: list[Candidate], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved work")
        self.candidates = candidates
        self.choice = "later"
        self.candidate: Candidate | None = None
        intro = QLabel("The workstation did not close normally last time. Unsaved changes were kept in a recovery "
                       "file. Recover them now, or discard them. Recovering opens the changes unsaved: save to keep "
                       "them.")
        intro.setWordWrap(True)
        self.list = QListWidget(self)
        for c in candidates:
            where = c.source or "never saved"
            it = QListWidgetItem(f"{c.title} — changes from {c.saved_text}\n{where}")
            it.setToolTip(where)
            self.list.addItem(it)
        self.list.setCurrentRow(0)
        self.list.setAlternatingRowColors(True)
        buttons = QDialogButtonBox(self)
        self.recover_button = buttons.addButton("Recover", QDialogButtonBox.ButtonRole.AcceptRole)
        self.discard_button = buttons.addButton("Discard all", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.later_button = buttons.addButton("Decide later", QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.setDefault(True)
        self.recover_button.clicked.connect(self._recover)
        self.discard_button.clicked.connect(self._discard)
        self.later_button.clicked.connect(self.reject)
        self.list.itemDoubleClicked.connect(lambda _i: self._recover())
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.list, 1)
        lay.addWidget(buttons)
        self.resize(560, 300)

    def _recover(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.choice = "recover"
            self.candidate = self.candidates[row]
            self.accept()

    def _discard(self) -> None:
        self.choice = "discard"
        self.accept()

"""What a panel shows when there is nothing to show yet: a sentence and the next step, not an empty grid."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    import_requested = Signal()
    demo_requested = Signal()

    def __init__(self, title: str, text: str, parent=None) -> None:
        super().__init__(parent)
        self.title = QLabel(title)
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        self.title.setFont(f)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel(text)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setFixedWidth(560)  # a fixed width lets the wrapped label compute its height
        self.text.setMinimumHeight(self.text.heightForWidth(560))
        self.text.setStyleSheet("color: palette(placeholder-text);")
        self.import_button = QPushButton("Import data…")
        self.import_button.setToolTip("Import spreadsheets of offenses, shootings, calls or activity (Ctrl+I)")
        self.demo_button = QPushButton("Open the demo workspace")
        self.demo_button.setToolTip("A fictional city with everything filled in, to look around")
        self.import_button.clicked.connect(self.import_requested)
        self.demo_button.clicked.connect(self.demo_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        lay.addWidget(self.title)
        row = QHBoxLayout()  # centred by stretches: an alignment flag would stop the label growing to its text
        row.addStretch(1)
        row.addWidget(self.text)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addSpacing(12)
        lay.addLayout(buttons)
        lay.addStretch(3)

    def set_text(self, text: str) -> None:
        self.text.setText(text)
        self.text.setMinimumHeight(self.text.heightForWidth(self.text.width()))


class BusyState(QWidget):
    """Shown while the figures of a big workspace are being prepared off the UI thread."""

    def __init__(self, text: str = "Preparing the figures…", parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel(text)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setFixedWidth(260)
        self.bar.setTextVisible(False)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.bar)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        lay.addWidget(self.label)
        lay.addLayout(row)
        lay.addStretch(3)

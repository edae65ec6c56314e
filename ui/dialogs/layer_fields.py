"""The import wizard's fields for a reference layer: its name, and which fields hold the population and the labels."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

log = logging.getLogger(__name__)

LAYER_SUFFIXES = {".kml", ".kmz"}   # always a layer; GeoJSON/shapefiles/CSV may be a layer when chosen


class LayerFields(QWidget):
    """Name, population field and label field of the layer being imported (filled from the first file)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Streets, Licensed premises, Census blocks")
        self.population_combo = QComboBox()
        self.label_combo = QComboBox()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Layer name:", self.name_edit)
        form.addRow("Population field (census blocks or tracts):", self.population_combo)
        form.addRow("Label features with:", self.label_combo)
        form.addRow(self.note)
        self._path = None

    def fill(self, path: str) -> None:
        """Offer the file's fields; the name defaults to the file's name."""
        from workstation.ingest.layers import field_names

        p = Path(path)
        if self._path == p:
            return
        self._path = p
        if not self.name_edit.text().strip():
            self.name_edit.setText(p.stem.replace("_", " ").strip().capitalize())
        self.population_combo.clear()
        self.population_combo.addItem("None (or work it out from the file)", "")
        self.label_combo.clear()
        self.label_combo.addItem("Work it out from the file", "")
        try:
            fields = field_names(p)
            self.note.setText(f"{len(fields)} fields in {p.name}.")
        except Exception as exc:  # noqa: BLE001 - shown as a sentence; the import reports it again
            log.info("layer preview of %s failed: %s", p, exc)
            fields = []
            self.note.setText(str(exc))
        for f in fields:
            self.population_combo.addItem(f, f)
            self.label_combo.addItem(f, f)

    def values(self) -> dict:
        return {"name": self.name_edit.text().strip(),
                "population_field": self.population_combo.currentData() or None,
                "label_field": self.label_combo.currentData() or None}

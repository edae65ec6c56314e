"""The map tab's controls: what to draw (measure, window, points, heat, district shading, analysis layer, reference
layers, basemap, exports) and the boundary editing bar (which boundary, draw, undo/redo, save as scenario).
MapPanel lays out the two bars and wires the controls."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QToolButton

from .layers_menu import LayersButton

WINDOW_CHOICES = (("ytd", "Year to date"), ("28d", "28 days"), ("wtd", "Week to date"),
                  ("ytd-1", "Year to date, a year earlier"), ("all", "All dates"))
CHOROPLETH_CHOICES = (("counts", "District counts"), ("per_100k", "Districts per 100,000 people"),
                      ("per_sq_mi", "Districts per square mile"), ("", "No district shading"))

CONTROL_NAMES = ("measure_box", "window_box", "points_box", "heat_box", "shade_box", "boundary_box", "draw_button",
                 "save_button", "undo_action", "redo_action", "undo_button", "redo_button", "export_html_button",
                 "export_png_button", "tiles_button", "clear_overlay_button", "layers_button")


class MapControls(QObject):
    """The controls and the two bars (``bar1``: drawing, ``bar2``: boundary editing) of a MapPanel (``parent``)."""

    def __init__(self, state, parent) -> None:
        super().__init__(parent)
        self.measure_box = QComboBox()
        self.measure_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.window_box = QComboBox()
        for key, label in WINDOW_CHOICES:
            self.window_box.addItem(label, key)
        self.points_box = QCheckBox("Points")
        self.points_box.setChecked(True)
        self.heat_box = QCheckBox("Heat")
        self.shade_box = QComboBox()
        for key, label in CHOROPLETH_CHOICES:
            self.shade_box.addItem(label, key)
        self.boundary_box = QComboBox()
        self.boundary_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.boundary_box.setToolTip("The target area or scenario whose boundary you edit on the map")
        self.draw_button = QPushButton("Draw new")
        self.draw_button.setToolTip("Draw a new boundary: click its corners on the map, then its first corner")
        self.save_button = QPushButton("Save as scenario…")
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        for a in (self.undo_action, self.redo_action):
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_button = QToolButton()
        self.undo_button.setDefaultAction(self.undo_action)
        self.redo_button = QToolButton()
        self.redo_button.setDefaultAction(self.redo_action)
        self.export_html_button = QPushButton("Export HTML…")
        self.export_png_button = QPushButton("Export PNG…")
        self.tiles_button = QPushButton("Basemap…")
        self.clear_overlay_button = QPushButton("Remove analysis layer")
        self.clear_overlay_button.setVisible(False)
        self.tiles_button.setToolTip("Add a basemap from files on this computer: an MBTiles file (raster tiles) or a "
                                     "street centreline file (GeoJSON, shapefile, KML or CSV), kept in the workspace")

        self.bar1 = bar1 = QHBoxLayout()
        for w in (QLabel("Map"), self.measure_box, self.window_box, self.points_box, self.heat_box, self.shade_box,
                  self.clear_overlay_button):
            bar1.addWidget(w)
        bar1.addStretch(1)
        self.layers_button = LayersButton(state, parent)
        for w in (self.layers_button, self.tiles_button, self.export_html_button, self.export_png_button):
            bar1.addWidget(w)
        self.bar2 = bar2 = QHBoxLayout()
        for w in (QLabel("Edit boundary"), self.boundary_box, self.draw_button, self.undo_button, self.redo_button,
                  self.save_button):
            bar2.addWidget(w)
        bar2.addStretch(1)

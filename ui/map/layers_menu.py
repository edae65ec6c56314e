"""The map's Layers button: show or hide each reference layer, label it, draw it as the basemap, restyle or remove it.

Every choice is kept in the workspace (``Layer.style``), so the map, its exports and the next session draw the layer
the same way; the change reaches the map through the workspace's change notice ("layer_style"), like any other.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QColorDialog, QMenu, QMessageBox, QToolButton

WIDTHS = ((0.5, "Hairline"), (1.0, "Thin"), (1.5, "Medium"), (2.5, "Wide"), (4.0, "Extra wide"))


class LayersButton(QToolButton):
    """A tool button whose menu is rebuilt from the open workspace's layers each time it opens."""

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.setText("Layers")
        self.setToolTip("Reference layers (streets, bus routes, premises, census blocks): show, label, style; "
                        "import more with File → Import (choose \"Reference layer\")")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_ = QMenu(self)
        self.setMenu(self.menu_)
        self.menu_.aboutToShow.connect(self.rebuild_menu)

    def _ws(self):
        return self.state.workspace

    def rebuild_menu(self) -> None:
        m = self.menu_
        m.clear()
        ws = self._ws()
        layers = list(getattr(ws, "layers", []) or []) if ws is not None else []
        if not layers:
            a = m.addAction("No layers yet: File → Import a street, premises or census file as a reference layer")
            a.setEnabled(False)
            return
        for lay in layers:
            style = lay.style or {}
            sub = m.addMenu(f"{lay.name} ({lay.count:,} {lay.geometry_type}s)")
            self._check(sub, "Show on the map", bool(style.get("visible", True)) or bool(style.get("basemap")),
                        lambda on, n=lay.name: self.set_style(n, visible=on))
            self._check(sub, "Labels (zoomed in)", bool(style.get("labels")),
                        lambda on, n=lay.name: self.set_style(n, labels=on))
            if lay.geometry_type == "line":
                self._check(sub, "Basemap (drawn under everything, always shown)", bool(style.get("basemap")),
                            lambda on, n=lay.name: self.set_style(n, basemap=on))
            colour = sub.addAction("Colour…")
            colour.triggered.connect(lambda _=False, n=lay.name: self.choose_colour(n))
            widths = sub.addMenu("Line width" if lay.geometry_type != "point" else "Dot size")
            for w, label in WIDTHS:
                a = widths.addAction(label)
                a.setCheckable(True)
                a.setChecked(abs(float(style.get("width") or 1.5) - w) < 1e-9)
                a.triggered.connect(lambda _=False, n=lay.name, w=w: self.set_style(n, width=w))
            sub.addSeparator()
            info = sub.addAction(f"From {lay.source or 'unknown'}, loaded {lay.loaded or 'unknown'}")
            info.setEnabled(False)
            remove = sub.addAction("Remove layer…")
            remove.triggered.connect(lambda _=False, n=lay.name: self.remove(n))

    @staticmethod
    def _check(menu, text, on, slot) -> QAction:
        a = menu.addAction(text)
        a.setCheckable(True)
        a.setChecked(on)
        a.toggled.connect(slot)
        return a

    def set_style(self, name: str, **style) -> None:
        ws = self._ws()
        if ws is not None:
            ws.set_layer_style(name, **style)

    def choose_colour(self, name: str) -> None:
        ws = self._ws()
        lay = ws.layer(name) if ws is not None else None
        if lay is None:
            return
        c = QColorDialog.getColor(QColor(lay.style.get("colour") or "#5d6d7e"), self, f"Colour of {name}")
        if c.isValid():
            self.set_style(name, colour=c.name())

    def remove(self, name: str) -> None:
        ws = self._ws()
        if ws is None:
            return
        r = QMessageBox.question(self, "Remove layer", f"Remove the layer '{name}' from the workspace? Its file is "
                                 "not touched; import it again to bring it back.")
        if r == QMessageBox.StandardButton.Yes:
            ws.remove_layer(name)

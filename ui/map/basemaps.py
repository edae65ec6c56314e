"""Basemaps under the map: an MBTiles file of raster tiles served to the page, or a street centreline file imported
once as the workspace's basemap layer (in a worker; the map redraws when the layer arrives)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from workstation.core.errors import UserError
from workstation.maps import page as maps
from ui.workers import TaskRunner


def add_mbtiles(panel, path) -> maps.TileSource:
    """Serve an MBTiles file's raster tiles to the page and draw them under the map."""
    reader = maps.MBTilesReader(path)
    panel._tile_no += 1
    key = f"t{panel._tile_no}"
    panel.view.handler.add_tiles(key, reader)
    panel._tiles = maps.TileSource.from_mbtiles(key, reader.info)
    panel._schedule()
    return panel._tiles


def choose_basemap(panel) -> None:
    """Basemap…: an MBTiles file, or a street centreline file imported as a layer."""
    path, _ = QFileDialog.getOpenFileName(
        panel, "Add a basemap", "", "Basemaps (*.mbtiles *.geojson *.json *.shp *.kml *.kmz *.csv);;"
        "MBTiles raster tiles (*.mbtiles);;Street centrelines (*.geojson *.json *.shp *.kml *.kmz *.csv)")
    if not path:
        return
    if Path(path).suffix.lower() != ".mbtiles":
        load_street_basemap(panel, Path(path))
        return
    try:
        add_mbtiles(panel, Path(path))
    except UserError as exc:
        QMessageBox.warning(panel, "Basemap", str(exc))


def load_street_basemap(panel, path: Path, name: str = "Streets"):
    """Import a street centreline file once as the workspace's basemap layer (in a worker; the map redraws when
    the layer arrives). Returns the TaskRunner (tests wait on it)."""
    from ui.workers import TaskRunner
    from workstation.ingest.layers import import_layer_result

    ws = panel.state.workspace
    if ws is None:
        return None
    work = ws.detached()
    runner = TaskRunner(panel)
    panel._basemap_runner = runner

    def job(progress, should_stop):
        r = import_layer_result(work, path, name, progress=progress, should_stop=should_stop)
        work.layer(name).style.update(basemap=True, visible=True, colour="#9a9a9a", width=1.0, labels=True)
        return r

    def done(_result):
        ws.adopt(work, "layers")

    runner.finished.connect(done)
    runner.failed.connect(lambda msg, _d: QMessageBox.warning(panel, "Basemap", msg))
    panel._show_notice(f"Loading the street basemap from {path.name}…")
    runner.start(job, "loading the street basemap")
    return runner

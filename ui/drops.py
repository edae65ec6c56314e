"""Files dropped on the main window: workspaces to open, spreadsheets and boundary files to import."""
from __future__ import annotations

from pathlib import Path

from workstation.core.workspace import FILE_SUFFIX

IMPORT_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".geojson", ".json", ".shp", ".zip"}


def dropped_files(mime) -> list[str]:
    """The local files of a drag that the workstation can open or import (others are ignored)."""
    if not mime.hasUrls():
        return []
    out = []
    for u in mime.urls():
        if u.isLocalFile():
            p = u.toLocalFile()
            suffix = Path(p).suffix.lower()
            if suffix in IMPORT_SUFFIXES or suffix == FILE_SUFFIX:
                out.append(p)
    return out

"""PNG files the app writes (a chart, the map as shown), through the one atomic writer: whole or not at all."""
from __future__ import annotations

import errno
from pathlib import Path

from PySide6.QtGui import QPixmap

from workstation.core.fileio import write_atomically


def save_png(pixmap: QPixmap, path, what: str = "the picture") -> Path:
    """Write ``pixmap`` as a PNG at ``path``; a UserError naming the file when it cannot be written."""
    def write(tmp: Path) -> None:
        # the temporary name ends in .part: the format is given, not guessed from the name
        if not pixmap.save(str(tmp), "PNG"):
            raise OSError(errno.EIO, "the image could not be encoded")

    return write_atomically(path, write, what=what)

"""Atomic file writes: every file the workstation writes appears whole or not at all.

The content is written to a hidden temporary file in the target's own folder (so the final rename never crosses
file systems), flushed to disk, and renamed over the target. A crash, a kill or an error at any moment leaves the
previous file untouched; the temporary file is removed on error.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from workstation.core.errors import UserError


def check_target(path, what: str = "the file") -> Path:
    """The folder ``path`` will be written into; a UserError naming the problem when it cannot be."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"Cannot write {what} {path}: the folder {folder} does not exist. Choose an existing folder.")
    if path.is_dir():
        raise UserError(f"Cannot write {what} {path}: a folder of that name is in the way. Choose another file name.")
    return folder


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (``os.umask`` can only be read by
    setting it, which would briefly give files created by other threads the wrong mode)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path) -> int:
    """The permission bits a file written at ``path`` should get: those of the file it replaces, else what any
    program gets for a new file (0666 less the umask). ``mkstemp`` makes its files 0600, so without this every
    workbook, CSV, map page and workspace would be readable by its owner only."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def fsync_folder(folder) -> None:
    """Make a rename inside ``folder`` durable: without it a power cut can lose the new name though the data is on
    disk. Windows cannot open a folder for fsync (and its renames are journaled), so it is skipped there."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(str(folder), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, write: Callable[[Path], None], what: str = "the file", fsync: bool = True,
                     suffix: str = ".part", advice: str | None = None, error: type[UserError] = UserError) -> Path:
    """Call ``write(tmp_path)`` to produce the content, then rename it over ``path``.

    ``fsync`` flushes the file and then its folder (so the rename survives a power cut); recovery snapshots skip it.
    ``suffix`` names the temporary file (``.<name>.<random><suffix>``); ``advice`` replaces the sentence that says
    what to do when the write fails, and ``error`` is the UserError subclass raised then."""
    path = Path(path)
    folder = check_target(path, what)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=str(folder))
    except OSError as exc:
        raise error(f"Cannot write {what} {path}: {exc.strerror or exc}. Choose a folder you can write to.") \
            from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, new_file_mode(path))
        os.replace(tmp, path)
        if fsync:
            fsync_folder(folder)
    except OSError as exc:
        raise error(f"Cannot write {what} {path}: {exc.strerror or exc}. " + (
            advice or "If it is open in another program (Excel), close it; otherwise choose another folder.")) \
            from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text_atomically(path, text: str, what: str = "the file", encoding: str = "utf-8", **kw) -> Path:
    """``write_atomically`` for a text file (JSON, HTML, GeoJSON)."""
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding=encoding), what, **kw)


def sqlite_read_only(path, **kwargs):
    """Open an SQLite file read-only, whatever its name. The URI is built by ``Path.as_uri()``, which percent-encodes
    the name: pasting the path into ``file:{path}?mode=ro`` made ``Dist%41.psw`` open ``DistA.psw`` and cut
    ``Case #12?.psw`` at the ``#`` (then created an empty file named ``Case ``)."""
    import sqlite3

    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, **kwargs)

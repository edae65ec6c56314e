"""Recovery files: the unsaved state of the open workspace, written on a timer, offered back after a crash.

In the recovery ``folder`` (the app passes ``<data dir>/recovery`` from ui/paths.py: the data folder comes from Qt's
standard locations, so the UI names it), ``<key>.psw`` is a complete workspace file (written atomically, like any
save) and ``<key>.json`` says which workspace it belongs to. A clean close or a save deletes both; so a pair still
there on start means the app did not close cleanly, and it is offered back when it is newer than its workspace file
(or the workspace was never saved). A worker writes a detached copy (Workspace.detached), never the open workspace.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from workstation.core.fileio import write_text_atomically
from workstation.core.workspace import Workspace, write_atomic

UNTITLED = "untitled"


@dataclass
class Candidate:
    recovery: Path           # the .psw written by autosave
    source: str              # the workspace it belongs to ("" for a never-saved workspace)
    saved: float             # when it was written (epoch seconds)
    title: str

    @property
    def saved_text(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved))


def recovery_key(source) -> str:
    if not source:
        return UNTITLED
    p = str(Path(source).resolve())
    return f"{Path(p).stem}-{hashlib.sha1(p.encode('utf-8')).hexdigest()[:10]}"


def recovery_files(folder: Path, source) -> tuple[Path, Path]:
    """The recovery file of the workspace ``source`` (None or "" for a never-saved one) and its note, in ``folder``."""
    key = recovery_key(source)
    folder = Path(folder)
    return folder / f"{key}.psw", folder / f"{key}.json"


def write_recovery(folder: Path, snapshot: Workspace, source, title: str) -> Path:
    """Write the snapshot as the recovery file of ``source`` in ``folder``; never touches ``source`` itself."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    psw, meta = recovery_files(folder, source)
    write_atomic(snapshot, psw, fsync=False)
    write_text_atomically(meta, json.dumps({"source": str(Path(source).resolve()) if source else "", "title": title,
                                            "saved": time.time()}), what="the recovery note", fsync=False)
    return psw


def clear_recovery(folder: Path, source) -> None:
    """Delete the recovery file of ``source`` and its note (a save or a clean close)."""
    for p in recovery_files(folder, source):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def find_candidates(folder: Path) -> list[Candidate]:
    """Recovery files in ``folder`` worth offering, newest first; stale ones (older than their saved workspace) and
    broken pairs are removed."""
    out = []
    for meta in sorted(Path(folder).glob("*.json")):
        psw = meta.with_suffix(".psw")
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = None
        if not psw.exists() or not isinstance(info, dict):
            for p in (psw, meta):
                p.unlink(missing_ok=True)
            continue
        source = info.get("source") or ""
        saved = psw.stat().st_mtime
        src = Path(source) if source else None
        if src is not None and src.exists() and src.stat().st_mtime >= saved:
            for p in (psw, meta):  # the workspace was saved after this recovery file: nothing to recover
                p.unlink(missing_ok=True)
            continue
        out.append(Candidate(psw, source, saved, info.get("title") or (src.name if src else "Untitled workspace")))
    return sorted(out, key=lambda c: -c.saved)


def open_candidate(c: Candidate) -> Workspace:
    """The recovered workspace, pointing at its original file (or none) and marked unsaved."""
    ws = Workspace.open(c.recovery)
    ws.path = Path(c.source) if c.source else None
    ws.dirty = True
    return ws


def discard(c: Candidate) -> None:
    for p in (c.recovery, c.recovery.with_suffix(".json")):
        p.unlink(missing_ok=True)

"""Where the app keeps its own files: the first-start demo, the recovery (autosave) files and the log.

PSP_WORKSTATION_DATA_DIR overrides the platform's per-user data folder (tests send it to a temporary folder).
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "PSP_WORKSTATION_DATA_DIR"
DEMO_NAME = "demo.psw"


def data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        d = Path(env)
    else:
        from PySide6.QtCore import QStandardPaths

        loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        d = Path(loc) if loc else Path.home() / ".psp-workstation"
    d.mkdir(parents=True, exist_ok=True)
    return d


def demo_path() -> Path:
    return data_dir() / DEMO_NAME


def log_dir() -> Path:
    """The log files' folder (workstation.log and its rotated copies)."""
    d = data_dir() / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def recovery_dir() -> Path:
    d = data_dir() / "recovery"
    d.mkdir(parents=True, exist_ok=True)
    return d

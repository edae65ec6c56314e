"""The application's remembered choices: keys, defaults, version and migration (no Qt here).

Rules for SETTINGS_VERSION (as Spyder documents beside its CONF_VERSION): adding a key with a default needs no bump;
renaming or removing a key, or changing what a value means, bumps the version and adds a step to ``MIGRATIONS`` that
turns the old values into the new. The Qt wrapper (ui/settings.py) stores these values as primitives only.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

SETTINGS_VERSION = 2
RECENT_MAX = 8

DEFAULTS: dict[str, object] = {
    "workspace/recent": [],            # newest first, absolute paths
    "workspace/last": "",              # reopened on start
    "workspace/reopen_last": True,
    "workspace/autosave_seconds": 60,  # recovery file interval while there are unsaved changes
    "window/geometry": "",             # base64 of QWidget.saveGeometry()
    "window/state": "",                # base64 of QMainWindow.saveState()
    "window/tab": 0,
    "selection/area": "citywide",
    "trends/measure": "",
    "trends/interval": "week",         # "week" | "month"
    "trends/last_year": True,
    "trends/moving_average": True,
    "trends/baseline": True,
    "trends/rest_of_city": False,
    "data/dataset": "offenses",
    "data/splitter": "",               # base64 of the data panel's QSplitter.saveState()
    "import/last_folder": "",
    "import/kind": "offenses",
    # Import from Database: the address without its password (never stored), the query file, the since-column
    "database/source": "",
    "database/query": "",
    "database/since_column": "",
    "database/kind": "offenses",
    "export/last_folder": "",
    "export/open_when_done": True,
    "export/packet": True,                # also write the meeting packet (PDF) beside the workbook
}


def _v1_to_v2(values: dict) -> dict:
    # Version 1 kept the recent list under "recent_files" and the reopen switch under "general/reopen_last".
    out = dict(values)
    if "recent_files" in out:
        out["workspace/recent"] = out.pop("recent_files")
    if "general/reopen_last" in out:
        out["workspace/reopen_last"] = out.pop("general/reopen_last")
    return out


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


def migrate(values: dict, version: int) -> dict:
    """Bring stored values from ``version`` up to SETTINGS_VERSION; unknown future versions are left alone."""
    v = int(version or SETTINGS_VERSION)
    out = dict(values)
    while v < SETTINGS_VERSION:
        step = MIGRATIONS.get(v)
        if step is not None:
            out = step(out)
        v += 1
    return out


def coerce(key: str, value):
    """Turn a stored primitive back into the type of the key's default (QSettings INI gives strings back)."""
    default = DEFAULTS.get(key)
    if value is None:
        return _copy(default)
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            return default
    if isinstance(default, list):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value else []
            except ValueError:
                return []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else []
    return value if isinstance(value, str) else str(value)


def encode(key: str, value):
    """The primitive actually stored: lists as JSON text (QSettings mangles empty and one-item lists)."""
    if isinstance(DEFAULTS.get(key), list):
        return json.dumps(list(value))
    return value


def _copy(v):
    return list(v) if isinstance(v, list) else v


def add_recent(recent: list[str], path, limit: int = RECENT_MAX) -> list[str]:
    """Put ``path`` first in the recent list (no duplicates, newest first, at most ``limit``)."""
    p = str(Path(path).resolve())
    return ([p] + [r for r in recent if r != p])[:limit]


def prune_recent(recent: list[str]) -> list[str]:
    """Drop entries whose file no longer exists (a moved USB stick, a deleted workspace)."""
    return [r for r in recent if Path(r).exists()]

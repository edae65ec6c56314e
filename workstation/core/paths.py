"""Where the application's own files are: the repository root (or the frozen bundle) and its resources/ folder.

One place for this, so that moving a module between packages cannot break a resource path.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"

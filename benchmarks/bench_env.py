"""Imported first by every benchmark, so each runs as plain ``.venv/bin/python benchmarks/X.py`` from a fresh shell:
this checkout first on sys.path, and Qt set up as the tests set it (offscreen, and QtWebEngine's sandbox off when
running as root, where it refuses to start otherwise)."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Qt must be told before any QApplication exists; harmless for core tests that never import Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

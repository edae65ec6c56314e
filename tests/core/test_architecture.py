"""The domain package must stay importable and usable without Qt."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "ui")


def test_workstation_imports_without_qt():
    # Import every module of workstation/ in a fresh interpreter and check no Qt module got loaded.
    code = (
        "import importlib, pkgutil, sys, workstation\n"
        "for m in pkgutil.walk_packages(workstation.__path__, 'workstation.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"workstation/ pulled in Qt/ui modules: {out.stdout}"


def test_import_linter_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        import pytest

        pytest.skip("import-linter is not installed")
    # PYTHONPATH: lint this checkout (a git worktree), not whichever one the editable install points at
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout + out.stderr

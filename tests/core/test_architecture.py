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


def _import_graph():
    import importlib.util

    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_import_cycle_in_workstation():
    ig = _import_graph()
    g = ig.graph("workstation")
    assert "workstation.ingest.result" in g["workstation.ingest.boundaries"]
    assert ig.cycles(g) == []
    # the checker does find a cycle when there is one
    g["workstation.core.errors"].add("workstation.ingest.result")
    assert ig.cycles(g) == [["workstation.core.errors", "workstation.ingest.result"]]


def test_no_private_names_imported_across_modules():
    assert _import_graph().private_imports("workstation", "ui") == []


def test_every_cancel_type_is_a_cancelled():
    """Cancellation has one base class: the UI tells a cancel from a failure with isinstance, never by name."""
    code = (
        "import importlib, inspect, pkgutil, workstation\n"
        "from workstation.core.errors import Cancelled\n"
        "names = []\n"
        "for m in pkgutil.walk_packages(workstation.__path__, 'workstation.'):\n"
        "    mod = importlib.import_module(m.name)\n"
        "    for n, c in inspect.getmembers(mod, inspect.isclass):\n"
        "        if c.__module__ == mod.__name__ and 'ancel' in n and issubclass(c, Exception):\n"
        "            assert issubclass(c, Cancelled), n\n"
        "            names.append(n)\n"
        "print(','.join(sorted(names)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert {"ImportCancelled", "DemoCancelled", "ExportCancelled"} <= set(out.stdout.strip().split(","))
    strings = [f for f in (ROOT / "ui").rglob("*.py") if '"ImportCancelled"' in f.read_text(encoding="utf-8")]
    assert strings == [], "cancel types matched by name"


def test_docs_the_code_cites_are_in_the_repository():
    """Comments cite docs/definitions.md, docs/platform.md ...: each must exist here, and no comment may cite a
    design file that is not in the repository (a bare definitions.md or platform.md, or product.md)."""
    import re

    cited, bare = set(), []
    for folder in ("workstation", "ui", "tests", "benchmarks", "scripts"):
        for f in (ROOT / folder).rglob("*.py"):
            if f.resolve() == Path(__file__).resolve():
                continue
            text = f.read_text(encoding="utf-8")
            cited.update(re.findall(r"docs/([\w.-]+\.md)", text))
            bare += [f"{f.relative_to(ROOT)}: {m}" for m in re.findall(r"(?<![/\w])(?:definitions|platform|product)\.md",
                                                                          text)]
    assert {"definitions.md", "platform.md"} <= cited
    assert [c for c in sorted(cited) if not (ROOT / "docs" / c).is_file()] == []
    assert bare == []


def test_no_class_in_ui_is_over_450_lines():
    """A class that grows past this does several jobs: split it (as MainWindow -> WorkspaceController, MapPanel ->
    EditSession, MapControls, basemaps)."""
    import ast

    big = []
    for f in sorted((ROOT / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 450:
                big.append(f"{f.relative_to(ROOT)}: {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert big == []

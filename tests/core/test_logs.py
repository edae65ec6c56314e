"""The log: a rotating file in the folder given, uncaught exceptions of any thread in it, and no broad ``except``
that swallows an error without a log line."""
import ast
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

from workstation.core import logs

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_log_file_rotates_in_the_folder_given(tmp_path):
    out = _run(f"""
        import logging
        from workstation.core import logs
        logs.MAX_BYTES = 2000
        path = logs.setup_logging({str(tmp_path / 'logs')!r})
        again = logs.setup_logging({str(tmp_path / 'logs')!r})  # a second call must not double every line
        for i in range(100):
            logging.getLogger('workstation.test').info('line %03d of the test', i)
        print(path)
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "logs"
    assert Path(out.stdout.strip()) == folder / "workstation.log"
    files = sorted(p.name for p in folder.iterdir())
    assert files[0] == "workstation.log" and "workstation.log.1" in files and len(files) <= 1 + logs.BACKUPS
    text = "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
    assert text.count("line 099 of the test") == 1            # written once, not once per setup call
    assert (folder / "workstation.log").stat().st_size <= 2000 + 200


def test_uncaught_exceptions_of_any_thread_are_logged(tmp_path):
    out = _run(f"""
        import threading
        from workstation.core import logs
        logs.setup_logging({str(tmp_path)!r})
        seen = []
        logs.install_excepthooks(on_error=lambda t, v, tb: seen.append(t.__name__))
        t = threading.Thread(target=lambda: 1 / 0, name="worker-7")
        t.start(); t.join()
        import sys
        sys.excepthook(KeyError, KeyError("district"), None)
        print(",".join(seen))
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ZeroDivisionError,KeyError"
    text = (tmp_path / "workstation.log").read_text(encoding="utf-8")
    assert "CRITICAL worker-7 workstation: Uncaught ZeroDivisionError: division by zero" in text
    assert "Traceback (most recent call last)" in text and "1 / 0" in text
    assert "Uncaught KeyError: 'district'" in text


def test_error_tally_keeps_errors_only():
    tally = logs.ErrorTally()
    lg = logging.getLogger("workstation.tally_test")
    lg.addHandler(tally)
    try:
        lg.warning("a warning is not an error")
        lg.error("the map page failed: %s", "boom")
    finally:
        lg.removeHandler(tally)
    assert [r.getMessage() for r in tally.records] == ["the map page failed: boom"]
    assert tally.first() == "ERROR workstation.tally_test: the map page failed: boom"
    lg.addHandler(tally)
    try:
        try:
            {}["district"]
        except KeyError:
            lg.error("the grid failed", exc_info=True)
    finally:
        lg.removeHandler(tally)
    tally.records = tally.records[1:]
    assert tally.first() == "ERROR workstation.tally_test: the grid failed (KeyError: 'district')"


LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _swallows(handler: ast.ExceptHandler) -> bool:
    """A broad handler (bare, Exception, BaseException) that neither raises nor writes a log line."""
    t = handler.type
    names = [t] if t is None or not isinstance(t, ast.Tuple) else t.elts
    broad = any(n is None or (isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")) for n in names)
    if not broad:
        return False
    for node in ast.walk(ast.Module(body=handler.body, type_ignores=[])):
        if isinstance(node, ast.Raise):
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_CALLS:
            return False
    return True


def test_no_broad_except_without_a_log_line():
    bad = []
    for folder in ("workstation", "ui"):
        for f in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ExceptHandler) and _swallows(node):
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert bad == []

"""Set-up shared by every test folder: the checkout first on sys.path, offscreen Qt, the map's URL scheme registered
before any QApplication exists, the app's settings and data folder in each test's own tmp folder, the import wizard
driven to the end of its import (``import_with_wizard``), and the crash harness (``kill_mid_write``) the atomic-write
tests use."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Qt must be told before any QApplication exists; harmless for core tests that never import Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # QtWebEngine refuses to start as root otherwise


def pytest_configure(config):
    # QWebEngineUrlScheme.registerScheme must run before the QApplication is created (docs/platform.md)
    from ui.map.scheme import register_scheme

    register_scheme()


@pytest.fixture(autouse=True)
def _app_files_in_tmp(tmp_path, monkeypatch):
    """Every test gets fresh QSettings and its own app data folder (demo, recovery files, log); the user's real
    settings and files are never touched."""
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("PSP_WORKSTATION_DATA_DIR", str(tmp_path / "appdata"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture
def app_dirs(tmp_path):
    """The folder holding this test's settings (settings/) and app data (appdata/), set up by the autouse fixture."""
    return tmp_path


@pytest.fixture
def import_with_wizard(qtbot):
    """``import_with_wizard(wiz)``: show an ImportWizard and click Next through it with what it proposes (the location
    page's "save as a profile" unticked, so nothing is written outside the test) until its import has run; returns
    the run page's state ("done" when it succeeded). The wizard is the caller's to shut down."""
    def run(wiz) -> str:
        qtbot.addWidget(wiz)
        wiz.show()
        wiz.next()
        qtbot.waitUntil(lambda: wiz.sample is not None or wiz.sample_error is not None, timeout=30000)
        for _ in range(6):
            if wiz.currentId() == wiz.RUN:
                break
            if wiz.currentId() == wiz.LOCATION:
                wiz.location_page.save_box.setChecked(False)
            wiz.next()
        assert wiz.currentId() == wiz.RUN
        qtbot.waitUntil(lambda: wiz.run_page.state != "running", timeout=60000)
        return wiz.run_page.state

    return run


# ---------------------------------------------------------------------------------------------------------------------
# the calibrated demo workspace, built once per session. Tests that reproduce the case study's tables use ``demo_ws``
# (the in-memory Workspace) or ``demo_path`` (the same workspace saved to a .psw file). Treat both as read-only: copy a
# frame before changing it.
@pytest.fixture(scope="session")
def demo_ws():
    from workstation.demo.records import build_demo

    return build_demo()


@pytest.fixture(scope="session")
def demo_path(demo_ws, tmp_path_factory):
    from workstation.core.workspace import write_atomic

    path = tmp_path_factory.mktemp("demo") / "demo.psw"
    write_atomic(demo_ws, path, fsync=False)  # not ws.save(): that would give the shared workspace a path
    return path


# ---------------------------------------------------------------------------------------------------------------------
# the crash harness: a writer in a child process is killed (kill -9) while its temporary file is being written

# The frame every crash writer saves: 300,000 offenses, big enough that a write takes a while.
FRAME_PRELUDE = textwrap.dedent("""
    import sys, numpy as np, pandas as pd
    from workstation.core.workspace import Workspace
    n = 300_000
    rng = np.random.default_rng(1)
    base = pd.DataFrame({"record_id": np.arange(n).astype(str), "incident_id": np.arange(n).astype(str),
        "occurred": pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
        "category": rng.choice(["robbery", "burglary"], n), "lat": rng.uniform(43, 43.1, n),
        "lon": rng.uniform(-88, -87.9, n), "load_id": 1})
""")


def child_env(**extra) -> dict:
    """The environment of a writer child: this checkout on its path, offscreen Qt."""
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), **extra)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    return env


def kill_mid_write(script: Path, args: list[str], folder: Path, partial_glob: str, env: dict, attempts: int,
                   rng: random.Random, check) -> int:
    """Run the writer ``attempts`` times; each time, once it has finished a write (it prints ``done N``), kill it while
    its next temporary file (``partial_glob`` in ``folder``) exists. ``check(last_done)`` verifies the target after
    each kill. Returns how many kills hit a write. The writer prints ``start N`` before and ``done N`` after write N."""
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs POSIX kill -9")
    hits = 0
    for attempt in range(attempts):
        proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, env=env,
                                cwd=ROOT)
        last_done = 0
        try:
            while True:
                line = proc.stdout.readline()
                assert line, f"the writer died on its own (exit {proc.poll()})"
                word, num = line.split()[:2]
                if word == "done":
                    last_done = int(num)
                elif word == "start" and last_done >= 1:
                    break
            deadline = time.monotonic() + 60
            while not list(folder.glob(partial_glob)):          # the next write has opened its temporary file
                assert time.monotonic() < deadline, "the writer never started its next write"
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.02 * (attempt + 1)))     # somewhere inside the write
            hit = bool(list(folder.glob(partial_glob)))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        hits += hit
        check(last_done)
        for p in folder.glob(partial_glob):     # what a crash leaves behind; the next save cleans old ones itself
            p.unlink()
    return hits

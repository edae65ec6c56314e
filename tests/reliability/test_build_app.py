"""The laptop build: PyInstaller one-folder bundle, then the built app's own --smoke-test.

Slow (a build is ~2 minutes on 2 cores and writes ~0.7 GB): it runs only with PSP_RUN_BUILD=1. The smoke test of the
source tree (same steps, no build) runs in the default suite.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = "psp-workstation"
MAX_BUNDLE_MB = 1000   # measured 970 MB with numba/llvmlite (docs/building.md); the 650 MB goal needs them out


def _env():
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    return env


def _smoke(cmd, timeout=600):
    p = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("smoke")]
    return p.returncode, lines, p.stdout + p.stderr


def test_smoke_test_from_source_passes():
    rc, lines, out = _smoke([sys.executable, "main.py", "--smoke-test"])
    assert rc == 0, out[-3000:]
    steps = [ln.split(":")[1].strip() for ln in lines if ln.startswith("smoke: ")]
    assert steps == ["open the main window", "find the resources", "create the demo workspace",
                     "render the map offline", "export the workbook", "reopen the workbook", "close", "check the log"]
    assert any("0 non-local" in ln for ln in lines)
    assert lines[-1].startswith("smoke test: ok")


def test_smoke_test_fails_with_the_reason(tmp_path):
    # the map assets "missing" (an empty asset folder): exit 1 and a line naming the step and the missing file
    code = ("import sys; from pathlib import Path; from workstation.maps import page as maps; "
            f"maps.ASSET_DIR = Path({str(tmp_path)!r}); "
            "from ui.smoke import run_smoke_test; sys.exit(run_smoke_test())")
    rc, lines, out = _smoke([sys.executable, "-c", code], timeout=120)
    assert rc == 1, out[-3000:]
    assert lines[-1].startswith("smoke test FAILED at 'find the resources':"), lines
    assert "map assets are missing" in lines[-1] and "leaflet" in lines[-1]


def test_smoke_test_fails_when_an_error_was_logged():
    # an error logged anywhere (here: planted while the resources are checked) fails the self-check at its last step
    code = ("import logging, sys; import ui.smoke as s; check = s._check_resources\n"
            "def planted():\n"
            "    logging.getLogger('workstation.planted').error('the planted error for the test')\n"
            "    return check()\n"
            "s._check_resources = planted; sys.exit(s.run_smoke_test())")
    rc, lines, out = _smoke([sys.executable, "-c", code])
    assert rc == 1, out[-3000:]
    assert lines[-1].startswith("smoke test FAILED at 'check the log': 1 error(s) were logged, the first: ERROR "
                                "workstation.planted: the planted error for the test"), lines


@pytest.mark.build
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("PSP_RUN_BUILD") != "1", reason="set PSP_RUN_BUILD=1 to build the app (~2 min)")
@pytest.mark.skipif(shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None
                    and not Path(sys.executable).with_name("pyinstaller").exists(),
                    reason="PyInstaller is not installed (pip install -e '.[dev]')")
def test_build_and_smoke_test(tmp_path):
    dist, work = tmp_path / "dist", tmp_path / "work"
    subprocess.run([sys.executable, "scripts/fetch_map_assets.py", "--quiet"], cwd=ROOT, check=True)
    b = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                        "--distpath", str(dist), "--workpath", str(work), "pyinstaller.spec"],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert b.returncode == 0, b.stderr[-5000:]
    app_dir = dist / APP
    exe = app_dir / (APP + (".exe" if sys.platform == "win32" else ""))
    assert exe.is_file()

    size_mb = sum(f.stat().st_size for f in app_dir.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20
    print(f"bundle: {size_mb:,.0f} MB")
    assert size_mb < MAX_BUNDLE_MB
    internal = app_dir / "_internal"
    assert (internal / "resources" / "measures.json").is_file()
    assert (internal / "resources" / "map_local" / "psp_map.js").is_file()
    assert any((internal / "resources" / "map_assets").glob("leaflet@*/dist/leaflet.js"))
    assert any((internal / "folium" / "templates").glob("*.js")) or (internal / "folium" / "templates").is_dir()
    assert (internal / "branca").is_dir()
    names = {p.name for p in internal.rglob("*")}
    for unused in ("tkinter", "qml", "libQt6Quick3D.so.6", "libarrow_flight.so.2600", "sample_data",
                   "_tkagg.cpython-313-x86_64-linux-gnu.so", "DejaVuSerif.ttf", "STIXGeneral.ttf"):
        assert unused not in names, f"{unused} is in the bundle"
    # matplotlib draws the printed maps with Agg only; the packet embeds its DejaVu Sans
    assert (internal / "matplotlib" / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf").is_file()

    rc, lines, out = _smoke([str(exe), "--smoke-test"])
    print("\n".join(lines))
    assert rc == 0, out[-5000:]
    assert lines[-1].startswith("smoke test: ok")
    assert any("0 non-local" in ln for ln in lines)

    # a broken bundle fails with the reason, not a traceback dialog
    shutil.rmtree(next((internal / "resources" / "map_assets").glob("leaflet@*")))
    rc, lines, out = _smoke([str(exe), "--smoke-test"])
    assert rc == 1
    assert lines[-1].startswith("smoke test FAILED at 'find the resources':") and "leaflet" in lines[-1]

"""Peak memory with 1M offenses loaded and the map shown: the main window on a 1M-offense workspace (the demo with
its offenses resampled up to --rows, saved and opened as an analyst would), the CompStat grid, then the map tab with
its points drawn.

Measured on Linux from /proc: the app process's peak resident set (VmHWM), and the whole app - the process plus its
QtWebEngine helpers (zygote, renderer, GPU/utility) - as the largest sum of proportional set sizes (Pss, which splits
shared libraries fairly instead of counting them once per process) sampled every 100 ms. Target (issue 6): <= 1.5 GB.
Usage: .venv/bin/python benchmarks/memory_bench.py [--rows 1000000]
The map is shown as it opens (year to date), then with every record of every year ("All dates", the worst case).
Last line: JSON {"rows", "main_peak_mb", "app_peak_pss_mb", "processes", "after_open_mb", "after_map_mb",
"map_points", "map_s", "all_dates_points", "after_all_dates_mb", ...}.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import bench_env  # noqa: E402 - this checkout on sys.path, Qt offscreen (see bench_env.py)

LIMIT_MB = 1536


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return _status_kb(pid, "VmRSS")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


class Sampler:
    """The largest Pss sum over this process and its descendants, sampled from a QTimer."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.peak_kb = 0
        self.processes = 1
        self.timer = QTimer()
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.sample)

    def sample(self) -> int:
        pids = [os.getpid(), *_descendants(os.getpid())]
        total = sum(_pss_kb(p) for p in pids)
        if total > self.peak_kb:
            self.peak_kb, self.processes = total, len(pids)
        return total


def run(rows: int) -> dict:
    from PySide6.QtCore import QSettings

    from ui.app import make_application
    from ui.main_window import MainWindow
    from ui.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="psp-mem-"))
    os.environ["PSP_WORKSTATION_DATA_DIR"] = str(tmp / "appdata")
    path = Path(tempfile.gettempdir()) / "psp_memory_bench" / f"city_{rows}.psw"
    if not path.exists():
        # built in another process, so this one's peak is the app's alone (opening the file as an analyst would)
        path.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, __file__, "--make", str(path), "--rows", str(rows)], check=True)

    app = make_application([])

    spin = bench_env.spinner(app, slice_ms=50)

    sampler = Sampler()
    sampler.timer.start()
    win = MainWindow(settings=Settings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)))
    win.resize(1366, 768)
    win.show()
    assert win.open_path(path)
    spin(lambda: not win.tasks.is_running(), 120, "opening")
    end = time.monotonic() + 2
    spin(lambda: time.monotonic() > end, 10, "")
    after_open = sampler.sample()

    t0 = time.perf_counter()
    win.tabs.setCurrentWidget(win.map_tab)
    spin(lambda: win.map_panel is not None, 60, "the map panel")
    panel = win.map_panel
    spin(lambda: panel.last_page is not None, 300, "the map page")
    spin(lambda: not panel.view.loading, 300, "the map page to load")
    spin(lambda: panel.view.eval_js("window.PSP && PSP.ready === true") is True, 300, "the map to draw")
    map_s = time.perf_counter() - t0
    points = panel.last_page.n_points
    end = time.monotonic() + 3                       # let the renderer finish painting
    spin(lambda: time.monotonic() > end, 10, "")
    after_map = sampler.sample()
    # the worst case: every record of every year on the map ("All dates")
    first_page = panel.last_page
    panel.window_box.setCurrentIndex(panel.window_box.findData("all"))
    spin(lambda: panel.last_page is not first_page, 600, "the all-dates page")
    spin(lambda: not panel.view.loading, 600, "the all-dates page to load")
    spin(lambda: panel.view.eval_js("window.PSP && PSP.ready === true") is True, 300, "the all-dates map to draw")
    end = time.monotonic() + 3
    spin(lambda: time.monotonic() > end, 10, "")
    after_all = sampler.sample()
    sampler.timer.stop()
    if panel.view.interceptor.blocked:
        raise SystemExit(f"the map tried the network: {panel.view.interceptor.blocked[:3]}")

    n_off = len(win.state.workspace.frame("offenses"))
    result = {
        "rows": n_off,
        "main_peak_mb": round(_status_kb(os.getpid(), "VmHWM") / 1024),
        "app_peak_pss_mb": round(sampler.peak_kb / 1024),
        "processes": sampler.processes,
        "after_open_mb": round(after_open / 1024),
        "after_map_mb": round(after_map / 1024),
        "map_points": points, "page_mb": round(first_page.size_bytes / 2**20, 1),
        "map_s": round(map_s, 1),
        "all_dates_points": panel.last_page.n_points, "all_dates_page_mb": round(panel.last_page.size_bytes / 2**20, 1),
        "after_all_dates_mb": round(after_all / 1024),
        "limit_mb": LIMIT_MB,
    }
    print(f"{n_off:,} offenses open and the map shown: app process peak {result['main_peak_mb']} MB resident; "
          f"whole app (with {sampler.processes - 1} QtWebEngine processes) peak {result['app_peak_pss_mb']} MB Pss "
          f"(limit {LIMIT_MB} MB); after opening {result['after_open_mb']} MB, with the map (YTD, "
          f"{points:,} points) {result['after_map_mb']} MB, all dates ({result['all_dates_points']:,} points) "
          f"{result['after_all_dates_mb']} MB")
    win.shutdown()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--make", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make:
        spec = importlib.util.spec_from_file_location("export_bench", ROOT / "benchmarks" / "export_bench.py")
        eb = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(eb)
        tmp = Path(args.make).with_suffix(".tmp")
        eb.big_workspace(args.rows).save(tmp)
        tmp.rename(args.make)
        return 0
    if not Path("/proc/self/status").exists():
        raise SystemExit("this benchmark reads /proc (Linux)")
    print(json.dumps(run(args.rows)))
    sys.stdout.flush()  # os._exit skips it: piped to a file, the figures would be lost
    os._exit(0)  # skip Qt's teardown: the figures are printed


if __name__ == "__main__":
    sys.exit(main())

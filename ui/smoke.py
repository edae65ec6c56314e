"""The built app's self-check (``main.py --smoke-test``): the whole path an analyst takes on a fresh laptop.

Steps, each timed and printed on one line:
1. open the main window (with settings and app data in a temporary folder: the user's own files are never touched);
2. let the first start create the demo workspace there (the same code path as a real first start);
3. show the map tab and wait until the Leaflet page has loaded and drawn, with zero requests that are not local;
4. export the CompStat workbook through the export dialog's worker;
5. reopen the workbook (sheets and a CompStat number read back) and the demo workspace file;
6. close the window cleanly.

Exit code 0 when every step passed; 1 with ``smoke test FAILED at <step>: <reason>`` otherwise. Anything that would
show a traceback to a user (an exception escaping a Qt slot) is caught and fails the test, and so does anything
logged at ERROR or above (by the app, a worker, or Qt itself through its message handler); the log is written to the
temporary data folder as in a real start.

It never hangs. A failure inside a worker reaches the window as a modal error dialog, whose own event loop would keep
the main thread (and the step's timeout check) waiting for a click no one makes: a timer in the main thread, which
also runs inside such a nested loop, writes down and closes every modal dialog, and the step fails with what it said.
An error logged or an exception escaping a slot fails the step it happens in, as soon as it happens. A watchdog
thread ends the process with exit code 1, the step's name and every thread's stack if the main thread stops coming
back at all (blocked outside any event loop), or if closing after a failure does not finish.
"""
from __future__ import annotations

import faulthandler
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

STEP_TIMEOUT_S = 120.0   # the longest a step waits for the app (a worker, the map page); also the budget of the
                         # main thread's own work between two waits
HANG_GRACE_S = 30.0      # a wait that has not ended this long after its timeout means the main thread is stuck
CLEANUP_S = 60.0         # closing the window after a failure; beyond it the process ends without waiting
DIALOG_CHECK_MS = 100


class SmokeFailure(Exception):
    pass


def _say(text: str) -> None:
    print(text, flush=True)


class _Watch:
    """Everything that ends a step early, and the watchdog that ends the process if the main thread is stuck.

    ``check()`` (main thread) raises for an exception that escaped a slot, an error logged (by the app, a worker or Qt)
    and a modal dialog that came up; ``dismiss_dialogs`` (a main-thread timer) closes such a dialog so the step's wait
    gets control back. The watchdog thread is given a deadline with ``expect``; when it passes it prints the failure,
    dumps every thread's stack to stderr and exits with 1 (it cannot raise into a blocked main thread)."""

    def __init__(self, tally, escaped: list[str], log_file: Path, tmp: Path, keep: bool) -> None:
        self.step = "start"
        self.tmp = None if keep else tmp   # the watchdog's exit skips run_smoke_test's own clean-up
        self.tally = tally
        self.escaped = escaped
        # the temporary folder goes at the end unless --keep: then the log's path would point at nothing
        self.log_hint = f"see {log_file}" if keep else "--keep keeps the log"
        self.dialogs: list[str] = []
        self.reported = False            # the failure line is out: the watchdog now guards the close only
        self._deadline = time.monotonic() + STEP_TIMEOUT_S
        self._what = ("starting", STEP_TIMEOUT_S)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="smoke-watchdog", daemon=True)
        self._thread.start()
        self.timer = None

    # ---- main thread ----
    def begin(self, step: str) -> None:
        self.step = step
        self.expect(STEP_TIMEOUT_S, "the step's own work")

    def expect(self, seconds: float, what: str) -> None:
        """The main thread will be back in ``seconds`` from ``what``; else the watchdog ends the process."""
        with self._lock:
            self._deadline = time.monotonic() + seconds
            self._what = (what, seconds)

    def watch_dialogs(self) -> None:
        """Start the timer that closes modal dialogs (needs the QApplication)."""
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(DIALOG_CHECK_MS)
        self.timer.timeout.connect(self.dismiss_dialogs)
        self.timer.start()

    def dismiss_dialogs(self) -> None:
        from PySide6.QtWidgets import QApplication, QDialog

        w = QApplication.activeModalWidget()
        if w is None:
            return
        self.dialogs.append(_dialog_text(w))
        if isinstance(w, QDialog):
            w.reject()   # ends its exec(): the step's wait runs again and fails with what the dialog said
        else:
            w.close()

    def check(self) -> None:
        if self.escaped:
            last = self.escaped[-1].strip().splitlines()[-1]
            raise SmokeFailure(f"an error escaped to the user: {last}")
        if self.tally.records:
            raise SmokeFailure(f"{len(self.tally.records)} error(s) were logged, the first: {self.tally.first()}"
                               + (f"; a dialog said: {self.dialogs[0]}" if self.dialogs else "")
                               + f" ({self.log_hint})")
        if self.dialogs:
            raise SmokeFailure(f"a dialog came up: {self.dialogs[0]}")

    def stop(self) -> None:
        self._stop.set()
        if self.timer is not None:
            self.timer.stop()

    # ---- watchdog thread ----
    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                late = time.monotonic() - self._deadline
                what = self._what
            if late > 0:
                self._give_up(what)

    def _give_up(self, what) -> None:
        # os.write: the blocked main thread may hold sys.stdout's lock; every earlier line was flushed
        doing, seconds = what
        if self.reported:
            line = (f"smoke: closing the window after the failure did not finish within {seconds:.0f} s; exiting "
                    "without waiting for it\n")
        else:
            line = (f"smoke test FAILED at '{self.step}': the main thread did not come back from {doing} within "
                    f"{seconds:.0f} s (the stack of every thread follows on stderr)\n")
        os.write(1, line.encode("utf-8", "replace"))
        try:
            faulthandler.dump_traceback(all_threads=True)
        except Exception:  # noqa: BLE001 - no stderr (a windowed build): the line above is the report
            logging.getLogger(__name__).warning("no stderr for the stacks of the stuck smoke test", exc_info=True)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        os._exit(1)


def _dialog_text(w) -> str:
    """A modal widget's title and first line of text, as the analyst would have read it."""
    from PySide6.QtWidgets import QLabel, QMessageBox

    if isinstance(w, QMessageBox):
        text = w.text()
    else:
        text = next((lb.text() for lb in w.findChildren(QLabel) if lb.text().strip()), "")
    return f"'{w.windowTitle()}': {text}" if text else f"'{w.windowTitle()}' ({type(w).__name__})"


def _wait_until(app, watch: _Watch, condition, timeout_s: float, what: str):
    """Run the event loop until ``condition()`` is truthy; returns its value, or fails with ``what`` after
    ``timeout_s``, or at once when ``watch`` has seen an error, an escaped exception or a dialog."""
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout_s
    watch.expect(timeout_s + HANG_GRACE_S, f"a wait of at most {timeout_s:.0f} s")
    try:
        while True:
            value = condition()
            if value:
                return value
            watch.check()
            if time.monotonic() > end:
                raise SmokeFailure(f"{what} (waited {timeout_s:.0f} s)")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)
    finally:
        watch.expect(STEP_TIMEOUT_S, "the step's own work")


def run_smoke_test(keep: bool = False) -> int:
    """Run every step; 0 on success, 1 on the first failure (printed with its reason)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # QtWebEngine aborts as root with its sandbox on
    tmp = Path(tempfile.mkdtemp(prefix="psp-smoke-"))
    os.environ["PSP_WORKSTATION_DATA_DIR"] = str(tmp / "appdata")
    escaped: list[str] = []
    old_hook = sys.excepthook

    def hook(etype, value, tb):
        # an exception leaving a Qt slot would reach the user as a traceback on stderr: that is a failure here
        escaped.append("".join(traceback.format_exception(etype, value, tb)))
        log_uncaught(etype, value, tb)
        old_hook(etype, value, tb)

    from workstation.core.logs import ErrorTally, log_uncaught, setup_logging

    log_file = setup_logging(tmp / "appdata" / "logs")
    tally = ErrorTally()
    logging.getLogger().addHandler(tally)
    sys.excepthook = hook
    watch = _Watch(tally, escaped, log_file, tmp, keep)
    t_all = time.perf_counter()
    win = app = None
    try:
        from ui.app import make_application

        t0 = _begin(watch, "open the main window")
        app = make_application([])
        watch.watch_dialogs()
        from PySide6.QtCore import QSettings, qInstallMessageHandler

        from ui.errors import qt_message

        qInstallMessageHandler(qt_message)

        from ui.main_window import MainWindow
        from ui.settings import Settings

        settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings=settings)
        win.resize(1280, 800)
        win.show()
        _wait_until(app, watch, win.isVisible, 10, "the main window did not appear")
        _ok(watch, t0, f"Qt {_qt_version()}, platform {app.platformName()}")

        t0 = _begin(watch, "find the resources")
        _ok(watch, t0, _check_resources())

        t0 = _begin(watch, "create the demo workspace")
        win.start(None)
        _wait_until(app, watch, lambda: _demo_loaded(win), STEP_TIMEOUT_S, "the demo workspace was not created")
        ws = win.state.workspace
        n_off = len(ws.frame("offenses"))
        _ok(watch, t0, f"{n_off:,} offenses, {len(ws.target_areas)} target areas in {ws.path}")

        t0 = _begin(watch, "render the map offline")
        if win.map_tab is None:
            raise SmokeFailure("this build has no map tab (ui.map.panel is missing)")
        win.tabs.setCurrentWidget(win.map_tab)
        panel = _wait_until(app, watch, lambda: win.map_panel, 30, "the map panel was not created")
        if not hasattr(panel, "view"):
            raise SmokeFailure(f"the map could not be started: {panel}")
        # the panel may first say "Preparing the figures…" while the engine's indexes are built in a worker
        try:
            _wait_until(app, watch, lambda: panel.last_page is not None, STEP_TIMEOUT_S, "no map page was built")
        except SmokeFailure:
            if panel.notice.isVisible():
                raise SmokeFailure(f"the map shows a notice instead of a page: {panel.notice.text()}") from None
            raise
        view = panel.view
        _wait_until(app, watch, lambda: view.eval_js("window.PSP && PSP.ready === true") is True, STEP_TIMEOUT_S,
                    "the map page did not finish loading")
        drawn = view.eval_js("document.querySelectorAll('.leaflet-container').length && typeof L !== 'undefined' "
                             "? document.querySelectorAll('.leaflet-interactive, canvas').length : -1")
        if not isinstance(drawn, (int, float)) or drawn <= 0:
            raise SmokeFailure(f"the map page has no Leaflet map or nothing drawn on it (JavaScript said {drawn!r})")
        blocked = list(view.interceptor.blocked)
        if blocked:
            raise SmokeFailure(f"the map tried {len(blocked)} non-local requests, e.g. {blocked[0]}")
        failed = list(view.handler.failed)
        if failed:
            raise SmokeFailure(f"the map asked for {len(failed)} local files that are not in the build, e.g. "
                               f"{failed[0]}")
        errors = [c for c in getattr(view.page(), "console", []) if c[0] >= 2]
        if errors:
            raise SmokeFailure(f"the map page logged a JavaScript error: {errors[0][1]} ({errors[0][3]}:{errors[0][2]})")
        _ok(watch, t0, f"{len(view.handler.served)} local requests, 0 non-local, {int(drawn)} drawn elements")

        t0 = _begin(watch, "export the workbook")
        out = tmp / "CompStat_smoke.xlsx"
        written = _export(app, watch, win, out)
        _ok(watch, t0, f"{written.name}, {written.stat().st_size / 1e3:,.0f} kB")

        t0 = _begin(watch, "reopen the workbook")
        detail = _check_workbook(written)
        from workstation.core.workspace import Workspace

        again = Workspace.open(ws.path)
        if len(again.frame("offenses")) != n_off:
            raise SmokeFailure(f"the demo workspace reopened with {len(again.frame('offenses')):,} offenses, "
                               f"not {n_off:,}")
        _ok(watch, t0, detail)

        t0 = _begin(watch, "close")
        win.shutdown()
        _close(app, win)
        win = None
        _ok(watch, t0, "")

        # the last word on the log: every step has checked it while it ran, this covers what was queued at close
        t0 = _begin(watch, "check the log")
        _ok(watch, t0, f"no errors in {log_file.name}")
    except SmokeFailure as exc:
        _say(f"smoke test FAILED at '{watch.step}': {exc}")
        watch.reported = True
        return 1
    except Exception as exc:  # noqa: BLE001 - the reason must be printed, whatever it is
        logging.getLogger(__name__).error("smoke test failed at %s", watch.step, exc_info=True)
        _say(f"smoke test FAILED at '{watch.step}': {type(exc).__name__}: {exc}")
        watch.reported = True
        traceback.print_exc()
        return 1
    finally:
        if win is not None:
            # after a failure: a worker may never return, and the dialog timer keeps closing what its signals open
            watch.expect(CLEANUP_S, "closing the window")
            try:
                win.shutdown()
                _close(app, win)
            except Exception:  # noqa: BLE001 - already failing; the first reason is the one reported
                logging.getLogger(__name__).warning("closing after a failed smoke test failed too", exc_info=True)
        watch.stop()
        sys.excepthook = old_hook
        logging.getLogger().removeHandler(tally)
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    _say(f"smoke test: ok ({time.perf_counter() - t_all:.1f} s)")
    return 0


def _begin(watch: _Watch, step: str) -> float:
    watch.begin(step)
    return time.perf_counter()


def _ok(watch: _Watch, t0: float, detail: str) -> None:
    watch.check()  # an error logged or a dialog while the step ran fails it, even if its own checks passed
    _say(f"smoke: {watch.step}: ok ({time.perf_counter() - t0:.1f} s){' - ' + detail if detail else ''}")


def _qt_version() -> str:
    from PySide6.QtCore import qVersion

    return qVersion()


def _check_resources() -> str:
    """resources/ is found from source and frozen alike: import profiles, measure catalog, peer list, map assets."""
    from workstation.maps import page as maps
    from workstation.ingest.profiles import BUILTIN_DIR, builtin_profiles
    from workstation.engine.measures import default_catalog
    from workstation.reports.rates import load_peer_comparisons

    profiles = builtin_profiles()
    if not profiles:
        raise SmokeFailure(f"no built-in import profiles in {BUILTIN_DIR}")
    measures = len(default_catalog().measures)
    peers = len(load_peer_comparisons())
    missing = maps.missing_assets()
    if missing:
        raise SmokeFailure(f"{len(missing)} map assets are missing from {maps.ASSET_DIR}, e.g. {missing[0]}")
    return (f"{len(profiles)} import profiles, {measures} measures, {peers} peer comparisons, map assets complete "
            f"in {maps.RESOURCES}")


def _demo_loaded(win) -> bool:
    ws = win.state.workspace
    return bool(ws is not None and ws.path is not None and len(ws.frame("offenses")) and not win.tasks.is_running())


def _export(app, watch: _Watch, win, out: Path) -> Path:
    from ui.dialogs.export import ExportDialog

    dlg = ExportDialog(win.state, win.settings, win)
    problems: list[str] = []
    dlg.runner.failed.connect(lambda msg, _details: problems.append(msg))
    dlg.runner.cancelled.connect(lambda: problems.append("the export was cancelled"))
    dlg.open_box.setChecked(False)          # never launch a spreadsheet program from a self-check
    dlg.path_edit.setText(str(out))
    try:
        dlg.start_export()
        _wait_until(app, watch, lambda: dlg.written is not None or problems, STEP_TIMEOUT_S,
                    "the export did not finish")
        if problems:
            raise SmokeFailure(problems[0])
        if not out.is_file():
            raise SmokeFailure(f"the export reported success but {out} does not exist")
        return dlg.written
    finally:
        dlg.shutdown()
        dlg.deleteLater()


def _check_workbook(path: Path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        names = wb.sheetnames
        for wanted in ("CompStat", "Notes"):
            if wanted not in names:
                raise SmokeFailure(f"the workbook has no {wanted} sheet (sheets: {', '.join(names)})")
        numbers = 0
        for row in wb["CompStat"].iter_rows(values_only=True):
            numbers += sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
        if numbers == 0:
            raise SmokeFailure("the CompStat sheet has no numbers")
        return f"{len(names)} sheets, {numbers:,} numbers on CompStat"
    finally:
        wb.close()


def _close(app, win) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool

    from ui.map.view import delete_now

    win.hide()
    # every worker done and its queued signals delivered before the window (and the objects they report to) go
    QThreadPool.globalInstance().waitForDone(60_000)
    app.processEvents()
    # pages before their profiles, now rather than at interpreter exit (QtWebEngine aborts otherwise)
    delete_now(win)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()

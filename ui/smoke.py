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
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

STEP_TIMEOUT_S = 120.0


class SmokeFailure(Exception):
    pass


def _say(text: str) -> None:
    print(text, flush=True)


def _wait_until(app, condition, timeout_s: float, what: str):
    """Run the event loop until ``condition()`` is truthy; returns its value, or fails with ``what``."""
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise SmokeFailure(f"{what} (waited {timeout_s:.0f} s)")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


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

    import logging

    from workstation.core.logs import ErrorTally, log_uncaught, setup_logging

    log_file = setup_logging(tmp / "appdata" / "logs")
    tally = ErrorTally()
    logging.getLogger().addHandler(tally)
    sys.excepthook = hook
    step = "start"
    t_all = time.perf_counter()
    win = app = None
    try:
        from ui.app import make_application

        step = "open the main window"
        t0 = time.perf_counter()
        app = make_application([])
        from PySide6.QtCore import QSettings, qInstallMessageHandler

        from ui.errors import qt_message

        qInstallMessageHandler(qt_message)

        from ui.main_window import MainWindow
        from ui.settings import Settings

        settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings=settings)
        win.resize(1280, 800)
        win.show()
        _wait_until(app, win.isVisible, 10, "the main window did not appear")
        _ok(step, t0, f"Qt {_qt_version()}, platform {app.platformName()}")

        step = "find the resources"
        t0 = time.perf_counter()
        _ok(step, t0, _check_resources())

        step = "create the demo workspace"
        t0 = time.perf_counter()
        win.start(None)
        _wait_until(app, lambda: _demo_loaded(win), STEP_TIMEOUT_S, "the demo workspace was not created")
        ws = win.state.workspace
        n_off = len(ws.frame("offenses"))
        _ok(step, t0, f"{n_off:,} offenses, {len(ws.target_areas)} target areas in {ws.path}")
        _no_escapes(escaped)

        step = "render the map offline"
        t0 = time.perf_counter()
        if win.map_tab is None:
            raise SmokeFailure("this build has no map tab (ui.map.panel is missing)")
        win.tabs.setCurrentWidget(win.map_tab)
        panel = _wait_until(app, lambda: win.map_panel, 30, "the map panel was not created")
        if not hasattr(panel, "view"):
            raise SmokeFailure(f"the map could not be started: {panel}")
        # the panel may first say "Preparing the figures…" while the engine's indexes are built in a worker
        try:
            _wait_until(app, lambda: panel.last_page is not None, STEP_TIMEOUT_S, "no map page was built")
        except SmokeFailure:
            if panel.notice.isVisible():
                raise SmokeFailure(f"the map shows a notice instead of a page: {panel.notice.text()}") from None
            raise
        view = panel.view
        _wait_until(app, lambda: view.eval_js("window.PSP && PSP.ready === true") is True, STEP_TIMEOUT_S,
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
        _ok(step, t0, f"{len(view.handler.served)} local requests, 0 non-local, {int(drawn)} drawn elements")

        step = "export the workbook"
        t0 = time.perf_counter()
        out = tmp / "CompStat_smoke.xlsx"
        written = _export(app, win, out)
        _ok(step, t0, f"{written.name}, {written.stat().st_size / 1e3:,.0f} kB")

        step = "reopen the workbook"
        t0 = time.perf_counter()
        detail = _check_workbook(written)
        from workstation.core.workspace import Workspace

        again = Workspace.open(ws.path)
        if len(again.frame("offenses")) != n_off:
            raise SmokeFailure(f"the demo workspace reopened with {len(again.frame('offenses')):,} offenses, "
                               f"not {n_off:,}")
        _ok(step, t0, detail)
        _no_escapes(escaped)

        step = "close"
        t0 = time.perf_counter()
        win.shutdown()
        _close(app, win)
        win = None
        _no_escapes(escaped)
        _ok(step, t0, "")

        step = "check the log"
        t0 = time.perf_counter()
        if tally.records:
            raise SmokeFailure(f"{len(tally.records)} error(s) were logged, the first: {tally.first()} "
                               f"(see {log_file})")
        _ok(step, t0, f"no errors in {log_file.name}")
    except SmokeFailure as exc:
        _say(f"smoke test FAILED at '{step}': {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - the reason must be printed, whatever it is
        logging.getLogger(__name__).error("smoke test failed at %s", step, exc_info=True)
        _say(f"smoke test FAILED at '{step}': {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1
    finally:
        sys.excepthook = old_hook
        logging.getLogger().removeHandler(tally)
        if win is not None:
            try:
                win.shutdown()
                _close(app, win)
            except Exception:  # noqa: BLE001 - already failing; the first reason is the one reported
                logging.getLogger(__name__).warning("closing after a failed smoke test failed too", exc_info=True)
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    _say(f"smoke test: ok ({time.perf_counter() - t_all:.1f} s)")
    return 0


def _ok(step: str, t0: float, detail: str) -> None:
    _say(f"smoke: {step}: ok ({time.perf_counter() - t0:.1f} s){' - ' + detail if detail else ''}")


def _qt_version() -> str:
    from PySide6.QtCore import qVersion

    return qVersion()


def _no_escapes(escaped: list[str]) -> None:
    if escaped:
        last = escaped[-1].strip().splitlines()[-1]
        raise SmokeFailure(f"an error escaped to the user: {last}")


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


def _export(app, win, out: Path) -> Path:
    from ui.dialogs.export import ExportDialog

    dlg = ExportDialog(win.state, win.settings, win)
    problems: list[str] = []
    dlg.runner.failed.connect(lambda msg, _details: problems.append(msg))
    dlg.runner.cancelled.connect(lambda: problems.append("the export was cancelled"))
    dlg.open_box.setChecked(False)          # never launch a spreadsheet program from a self-check
    dlg.path_edit.setText(str(out))
    try:
        dlg.start_export()
        _wait_until(app, lambda: dlg.written is not None or problems, STEP_TIMEOUT_S, "the export did not finish")
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

"""Long work never runs on the UI thread: the import wizard's import and the export dialog's workbook run in
workers (benchmarks/stall_bench.py measures the UI thread's worst stall during a 1M-row import)."""
import threading

import pandas as pd


def test_the_wizard_imports_in_a_worker_thread(import_with_wizard, tmp_path, app_dirs, monkeypatch):
    from ui.dialogs import import_wizard as iw
    from ui.settings import Settings
    from ui.state import AppState
    from workstation.core.workspace import Workspace

    src = tmp_path / "offenses.csv"
    pd.DataFrame({"incident_number": [f"I{i}" for i in range(50)],
                  "offense_date": ["2020-01-02"] * 50, "nibrs_code": ["13A", "120"] * 25}).to_csv(src, index=False)
    threads = []
    real = iw.import_files

    def recording(*a, **k):
        threads.append(threading.current_thread())
        return real(*a, **k)

    monkeypatch.setattr(iw, "import_files", recording)
    count_threads, real_counts = [], iw.source_value_counts

    def counting(*a, **k):           # the categories page counts the file's values in a worker too
        count_threads.append(threading.current_thread())
        return real_counts(*a, **k)

    monkeypatch.setattr(iw, "source_value_counts", counting)
    ws = Workspace()
    wiz = iw.ImportWizard(AppState(ws), Settings(), [str(src)])
    assert import_with_wizard(wiz) == "done"
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert count_threads and threading.main_thread() not in count_threads
    assert len(ws.frame("offenses")) == 50          # and the result was adopted on the UI thread
    wiz.shutdown()


def test_the_workbook_is_written_in_a_worker_thread(qtbot, tmp_path, app_dirs, monkeypatch):
    from PySide6.QtCore import QSettings

    from ui.dialogs import export as ex
    from ui.settings import Settings
    from ui.state import AppState
    from workstation.demo.records import build_demo

    threads = []
    real = ex.run_export

    def recording(*a, **k):
        threads.append(threading.current_thread())
        return real(*a, **k)

    monkeypatch.setattr(ex, "run_export", recording)
    dlg = ex.ExportDialog(AppState(build_demo()), Settings(QSettings(str(tmp_path / "e.ini"),
                                                                      QSettings.Format.IniFormat)))
    qtbot.addWidget(dlg)
    dlg.open_box.setChecked(False)
    dlg.path_edit.setText(str(tmp_path / "CompStat.xlsx"))
    dlg.start_export()
    qtbot.waitUntil(lambda: dlg.written is not None, timeout=60000)
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert (tmp_path / "CompStat.xlsx").stat().st_size > 10_000
    dlg.shutdown()

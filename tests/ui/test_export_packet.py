"""The export dialog writes the meeting packet beside the workbook (issue 11 item 6), in its worker, from the same
analysis; the choice is remembered; unticked, no PDF is written."""
import pytest

from ui_fixtures import small_workspace

pytestmark = pytest.mark.usefixtures("no_leaks")


@pytest.fixture
def state():
    from ui.state import AppState

    return AppState(small_workspace())


def test_export_dialog_writes_the_packet_beside_the_workbook(qtbot, state, tmp_path, monkeypatch):
    from ui.dialogs import export as export_mod
    from ui.settings import Settings

    opened = []
    monkeypatch.setattr(export_mod.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    settings = Settings()
    dlg = export_mod.ExportDialog(state, settings)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.packet_box.isChecked()                  # on by default: the packet is what the meeting reads
    out = tmp_path / "week.xlsx"
    dlg.path_edit.setText(str(out))
    dlg.open_box.setChecked(False)
    dlg.start_export()
    assert dlg.runner.is_running()                     # in the worker, like the workbook
    qtbot.waitUntil(lambda: dlg.written is not None or "No workbook" in dlg.status.text(), timeout=180000)
    pdf = tmp_path / "week.pdf"
    assert dlg.written == out and out.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    assert "meeting packet" in dlg.status.text() and "week.pdf" in dlg.status.text()
    dlg.status.linkActivated.emit("packet")
    assert opened == [str(pdf)]
    dlg.packet_box.setChecked(False)
    out2 = tmp_path / "again.xlsx"
    dlg.path_edit.setText(str(out2))
    dlg.start_export()
    qtbot.waitUntil(lambda: dlg.written == out2 or "No workbook" in dlg.status.text(), timeout=180000)
    assert out2.exists() and not (tmp_path / "again.pdf").exists()
    assert "meeting packet" not in dlg.status.text()
    assert settings.get("export/packet") is False      # remembered for next time
    dlg.shutdown()

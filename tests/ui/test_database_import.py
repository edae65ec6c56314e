"""File → Import from Database…: the dialog runs the query in a worker against a real PostgreSQL server and merges
the rows into the open workspace; the password is never kept."""
import numpy as np
import pandas as pd
import pytest

psycopg = pytest.importorskip("psycopg")

from tests.pg_server import PASSWORD, postgres_server  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with postgres_server() as url:
        yield url


def _table(url: str, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(9)
    df = pd.DataFrame({
        "call_number": [f"C{i:06d}" for i in range(n)],
        "call_datetime": [pd.Timestamp("2019-05-01") + pd.Timedelta(minutes=int(m)) for m in
                          rng.integers(0, 90 * 24 * 60, n)],
        "call_type": np.array(["SHOTSPOTTER", "DISTURBANCE", "ALARM"])[rng.integers(0, 3, n)],
        "district": np.array(["03", "5", "007"])[rng.integers(0, 3, n)],
    })
    with psycopg.connect(url, password=PASSWORD) as con:
        con.execute("DROP TABLE IF EXISTS cad")
        con.execute("CREATE TABLE cad (call_number text, call_datetime timestamp, call_type text, district text)")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO cad VALUES (%s, %s, %s, %s)",
                            [(r.call_number, r.call_datetime.to_pydatetime(), r.call_type, r.district)
                             for r in df.itertuples()])
    return df


def test_dialog_imports_the_query_into_the_open_workspace(qtbot, server, tmp_path):
    from ui.dialogs.database_import import DatabaseImportDialog
    from ui.settings import Settings
    from ui.state import AppState
    from workstation.core.workspace import Workspace

    df = _table(server, 1_200)
    query = tmp_path / "cad.sql"
    query.write_text("SELECT call_number, call_datetime, call_type, district FROM cad")
    state = AppState(Workspace())
    settings = Settings()
    dlg = DatabaseImportDialog(state, settings)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.kind.setCurrentIndex(dlg.kind.findData("calls"))
    dlg.source.setText(server)
    dlg.password.setText(PASSWORD)
    dlg.query.setText(str(query))
    dlg.since.setText("call_datetime")
    qtbot.mouseClick(dlg.import_button, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.result is not None or "failed" in dlg.status.text().lower(), timeout=60000)
    assert dlg.result is not None, dlg.status.text()
    calls = state.workspace.frames["calls"]
    assert len(calls) == len(df) == dlg.result.added
    assert int((calls["category"] == "shotspotter").sum()) == int((df["call_type"] == "SHOTSPOTTER").sum())
    assert sorted(calls["district"].dropna().unique()) == ["3", "5", "7"]
    assert "1,200 rows read" in dlg.status.text()
    assert dlg.password.text() == ""                       # the password left the dialog with the job
    assert PASSWORD not in str(settings.get("database/source"))
    assert settings.get("database/since_column") == "call_datetime"
    dlg.shutdown()
    dlg.close()


def test_a_wrong_password_is_a_sentence_and_changes_nothing(qtbot, server, tmp_path):
    from ui.dialogs.database_import import DatabaseImportDialog
    from ui.settings import Settings
    from ui.state import AppState
    from workstation.core.workspace import Workspace

    query = tmp_path / "q.sql"
    query.write_text("SELECT 1 AS call_number")
    state = AppState(Workspace())
    dlg = DatabaseImportDialog(state, Settings())
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.source.setText(server)
    dlg.password.setText("wrong")
    dlg.query.setText(str(query))
    dlg.start_import()
    qtbot.waitUntil(lambda: dlg.import_button.isEnabled(), timeout=60000)
    assert dlg.status.text().startswith("Could not connect to " + server)
    assert "password" in dlg.status.text().lower()
    assert dlg.result is None and all(len(f) == 0 for f in state.workspace.frames.values())
    dlg.shutdown()
    dlg.close()

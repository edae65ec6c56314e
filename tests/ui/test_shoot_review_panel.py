"""Shoot Review tab: rows equal the core report, a weight change re-sorts, defaults saved in the workspace, CSV."""
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from shoot_review_data import NASTY_ADDRESS, shoot_review_workspace  # noqa: E402

from workstation.reports.shoot_review import META_KEY, shoot_review  # noqa: E402

AS_OF = pd.Timestamp("2019-09-29")


@pytest.fixture
def panel(qtbot):
    from ui.panels.shoot_review import ShootReviewPanel
    from ui.state import AppState

    state = AppState(shoot_review_workspace(address_a=NASTY_ADDRESS))
    state.set_as_of(AS_OF)
    p = ShootReviewPanel(state)
    qtbot.addWidget(p)
    p.resize(1300, 560)
    p.show()
    qtbot.waitExposed(p)
    return p


def shown(p, col):
    m = p.model
    c = m.columns.index(col)
    return [m.data(m.index(r, c)) for r in range(m.rowCount())]


def test_rows_equal_the_core_report_and_a_weight_resorts(qtbot, panel):
    core = shoot_review(panel.state.workspace, AS_OF)
    assert panel.model.rowCount() == len(core.rows) == 4
    assert shown(panel, "Incident") == core.column("Incident") == ["S-A", "H-1", "S-AFTER", "S-N"]
    assert shown(panel, "Impact score") == ["14.50", "8.00", "5.00", "2.00"]
    assert shown(panel, "Prior shootings") == ["3", "0", "2", ""]
    assert panel.formula.text().startswith("Impact score = 5 × fatal victims")
    panel.spins["target_area"].setValue(20)  # in a target area now weighs most: S-AFTER climbs over H-1
    qtbot.waitUntil(lambda: shown(panel, "Incident") == ["S-A", "S-AFTER", "H-1", "S-N"], timeout=3000)
    assert shown(panel, "Impact score") == ["32.50", "23.00", "8.00", "2.00"]
    assert "20 × in a target area" in panel.formula.text()
    # the as-of date follows the area bar: 21-27 Sep loses the 28 Sep shootings and gains S-OLD (22 Sep)
    panel.state.set_as_of("2019-09-27")
    assert set(shown(panel, "Incident")) == {"S-A", "H-1", "S-OLD"}
    assert panel.title.text() == "Shoot review — Sat 21 Sep to Fri 27 Sep 2019"


def test_save_as_default_keeps_weights_in_the_workspace(qtbot, panel):
    ws = panel.state.workspace
    panel.spins["fatal"].setValue(9)
    panel.save_default()
    assert ws.meta[META_KEY]["fatal"] == 9.0 and ws.dirty
    panel.spins["fatal"].setValue(1)
    panel.reset_weights()
    assert panel.spins["fatal"].value() == 9.0
    assert shoot_review(ws, AS_OF).column("Impact score")[0] == 9 + 2 * 2 + 0.5 * 3 + 2 + 2


def test_csv_is_formula_safe(qtbot, panel, tmp_path):
    path = tmp_path / "review.csv"
    panel.write_csv(path)
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert list(df["Incident"]) == ["S-A", "H-1", "S-AFTER", "S-N"]
    assert df["Address"][0] == "'" + NASTY_ADDRESS  # text that would run in Excel gets the apostrophe
    assert df["Date"][0] == "2019-09-27" and df["Impact score"][0] == "14.5"


def test_empty_workspace_shows_the_empty_state(qtbot):
    from ui.panels.shoot_review import ShootReviewPanel
    from ui.state import AppState
    from workstation.core.workspace import Workspace

    p = ShootReviewPanel(AppState(Workspace()))
    qtbot.addWidget(p)
    p.show()
    assert p.stack.currentWidget() is p.empty

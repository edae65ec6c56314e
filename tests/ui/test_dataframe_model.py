"""DataFrameModel: sorting by permutation and filtering never touch the frame; cells read back as shown."""
import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from ui.models.dataframe_model import RAW_ROLE, DataFrameModel


def _frame(n=1000):
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "record_id": pd.Series([f"R{i:04d}" for i in range(n)], dtype="str"),
        "occurred": (pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"))
        .astype("datetime64[ns]"),
        "category": pd.Categorical(rng.choice(["robbery", "burglary", "homicide"], n)),
        "lat": rng.uniform(43.0, 43.2, n),
    })


def test_sort_and_filter_by_permutation_leave_the_frame_alone(qtbot):
    df = _frame()
    before = df.copy()
    model = DataFrameModel(df)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setSortingEnabled(True)
    assert model.rowCount() == 1000 and model.columnCount() == 4

    view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    shown = [model.data(model.index(r, 1)) for r in range(model.rowCount())]
    assert shown == sorted(shown, reverse=True)
    assert model.data(model.index(0, 1), RAW_ROLE) == df["occurred"].max()
    pd.testing.assert_frame_equal(df, before)          # the frame itself was never reordered
    assert model.frame() is df                         # ...nor copied

    model.set_filter("homicide")
    expected = int((df["category"] == "homicide").sum())
    assert model.rowCount() == expected
    cats = {model.data(model.index(r, 2)) for r in range(model.rowCount())}
    assert cats == {"homicide"}
    # still in the sorted order after filtering
    dates = [model.data(model.index(r, 1), RAW_ROLE) for r in range(model.rowCount())]
    assert dates == sorted(dates, reverse=True)
    # the rows behind the view are exactly the frame's homicides
    assert sorted(model.source_rows().tolist()) == np.flatnonzero((df["category"] == "homicide").to_numpy()).tolist()
    model.set_filter("")
    assert model.rowCount() == 1000
    pd.testing.assert_frame_equal(df, before)


def test_cells_are_formatted_and_aligned():
    df = _frame(3)
    model = DataFrameModel(df, headers={"lat": "Latitude"})
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Latitude"
    assert model.data(model.index(0, 3)) == f"{df['lat'][0]:.5f}"
    assert model.data(model.index(0, 0)) == "R0000"
    align = model.data(model.index(0, 3), Qt.ItemDataRole.TextAlignmentRole)
    assert align & int(Qt.AlignmentFlag.AlignRight)
    assert model.view_frame(rows=[2, 0])["record_id"].tolist() == ["R0002", "R0000"]


def test_rows_in_view_is_the_sorted_rows_inside_the_scope_and_the_filter():
    from ui.models.dataframe_model import rows_in_view

    rng = np.random.default_rng(3)
    n = 500
    order = rng.permutation(n)
    scope, mask = rng.random(n) < 0.5, rng.random(n) < 0.7
    assert rows_in_view(n, None, None, None) is None          # every row, in the frame's order, never materialised
    for o in (None, order):
        for sc in (None, scope):
            for m in (None, mask):
                if o is None and sc is None and m is None:
                    continue
                brute = [i for i in (range(n) if o is None else o)
                         if (sc is None or sc[i]) and (m is None or m[i])]
                assert list(rows_in_view(n, o, sc, m)) == brute

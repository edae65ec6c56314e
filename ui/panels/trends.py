"""Trends panel (pyqtgraph): weekly or monthly counts of a measure for the selected area — this year against last
year, a moving average, the band of the previous years (mean ± 2 SD) and the rest of the city; hover read-out;
export PNG. The series come from workstation.reports.trends.trend_series; nothing is computed here."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from workstation.core.errors import UserError
from ui.image_file import save_png
from ui.panels.base import StatePanel

COLORS = {"this": QColor("#1f5fa8"), "last": QColor("#8a8f98"), "ma": QColor("#d97a00"),
          "band": QColor(31, 95, 168, 40), "mean": QColor("#7c9cc4"), "rest": QColor("#6b4fa0")}
INTERVALS = [("W", "Weekly"), ("M", "Monthly")]
SETTINGS_INTERVAL = {"W": "week", "M": "month"}


def trend_frame(ws, measure_id: str, area_key: str, freq: str, as_of) -> pd.DataFrame:
    from workstation.reports.trends import trend_series

    return trend_series(ws, measure_id, area_key, freq, as_of)


def count_measures(ws) -> list:
    from workstation.engine.analysis import analysis_for

    empty = {k for k, df in ws.frames.items() if len(df) == 0}
    return [m for m in analysis_for(ws).catalog.counts() if m.dataset not in empty]


class PeriodAxis(pg.AxisItem):
    """x is the period's index; ticks read as the period labels ('Sep 16' or 'Sep 2019')."""

    def __init__(self, *a, **k) -> None:
        super().__init__(*a, **k)
        self.labels: list[str] = []

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            i = int(round(v))
            out.append(self.labels[i] if 0 <= i < len(self.labels) and abs(v - i) < 1e-6 else "")
        return out

    def tickValues(self, minVal, maxVal, size):
        n = len(self.labels)
        if not n:
            return super().tickValues(minVal, maxVal, size)
        # about one label per 70 pixels, on whole periods
        every = max(1, int(np.ceil(n / max(1.0, size / 70.0))))
        major = [float(i) for i in range(0, n, every) if minVal - 0.5 <= i <= maxVal + 0.5]
        return [(float(every), major)]


class TrendsPanel(StatePanel):
    def __init__(self, state, settings=None, parent=None) -> None:
        super().__init__(state, parent)
        self.settings = settings
        self.frame: pd.DataFrame | None = None
        pg.setConfigOptions(antialias=True)

        self.measure_combo = QComboBox()
        self.measure_combo.setMinimumContentsLength(28)
        self.measure_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.interval_combo = QComboBox()
        for code, label in INTERVALS:
            self.interval_combo.addItem(label, code)
        self.last_year_box = QCheckBox("Last year")
        self.ma_box = QCheckBox("Moving average")
        self.band_box = QCheckBox("Prior years band")
        self.band_box.setToolTip("The mean of the same period in the previous years (up to 5) ± 2 standard "
                                 "deviations")
        self.rest_box = QCheckBox("Rest of the city")
        self.rest_box.setToolTip("The same measure in the rest of the city (citywide minus this area), below")
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the chart as a PNG image")
        self.export_button.clicked.connect(self.export_png)

        self.title = QLabel()
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.2)
        f.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(f)
        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setMinimumHeight(self.fontMetrics().height() + 4)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")

        self.axis = PeriodAxis(orientation="bottom")
        self.plot_widget = pg.PlotWidget(axisItems={"bottom": self.axis}, background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.rest_axis = PeriodAxis(orientation="bottom")
        self.rest_widget = pg.PlotWidget(axisItems={"bottom": self.rest_axis}, background="w")
        self.rest_plot = self.rest_widget.getPlotItem()
        self.rest_plot.setXLink(self.plot)
        for p in (self.plot, self.rest_plot):
            p.showGrid(x=False, y=True, alpha=0.15)
            p.setMenuEnabled(False)
            p.getViewBox().setMouseEnabled(x=False, y=False)
            p.hideButtons()
            for ax in ("left", "bottom"):
                p.getAxis(ax).setPen(pg.mkPen("#555"))
                p.getAxis(ax).setTextPen(pg.mkPen("#333"))
            p.getAxis("left").setWidth(64)  # both plots' x axes line up
        self.legend = self.plot.addLegend(offset=(8, 4), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 230),
                                          pen=pg.mkPen("#ccc"), colCount=4)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999", style=Qt.PenStyle.DotLine))
        self.rest_cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999", style=Qt.PenStyle.DotLine))
        self._mouse_proxies = [
            pg.SignalProxy(w.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved)
            for w in (self.plot_widget, self.rest_widget)]
        self.chart = QWidget()
        self.chart.setStyleSheet("background: white;")
        cl = QVBoxLayout(self.chart)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.plot_widget, 3)
        cl.addWidget(self.rest_widget, 1)
        self.rest_widget.hide()

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Measure:"))
        controls.addWidget(self.measure_combo)
        controls.addSpacing(8)
        controls.addWidget(self.interval_combo)
        controls.addSpacing(8)
        for w in (self.last_year_box, self.ma_box, self.band_box, self.rest_box):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.export_button)
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.setContentsMargins(8, 8, 8, 6)
        lay.addWidget(self.title)
        lay.addLayout(controls)
        lay.addWidget(self.readout)
        lay.addWidget(self.chart, 1)
        lay.addWidget(self.note)
        self._stack_states(content, "No records yet", "Weekly and monthly trends of every measure appear here once "
                           "the workspace holds records: this year against last year, the moving average and the "
                           "band of the years before.")

        self._restore_settings()
        self.measure_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.interval_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        for box in (self.last_year_box, self.ma_box, self.band_box, self.rest_box):
            box.toggled.connect(lambda _b: self.draw())
        state.workspace_changed.connect(self._workspace_changed)
        state.selection_changed.connect(self.mark_stale)
        state.data_changed.connect(lambda _w: self._workspace_changed())

    # ---- settings ----
    def _restore_settings(self) -> None:
        s = self.settings
        if s is None:
            self.last_year_box.setChecked(True)
            self.ma_box.setChecked(True)
            self.band_box.setChecked(True)
            return
        self.interval_combo.setCurrentIndex(1 if s.get("trends/interval") == "month" else 0)
        self.last_year_box.setChecked(s.get("trends/last_year"))
        self.ma_box.setChecked(s.get("trends/moving_average"))
        self.band_box.setChecked(s.get("trends/baseline"))
        self.rest_box.setChecked(s.get("trends/rest_of_city"))

    def save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        s.set("trends/interval", SETTINGS_INTERVAL[self.interval_combo.currentData()])
        s.set("trends/last_year", self.last_year_box.isChecked())
        s.set("trends/moving_average", self.ma_box.isChecked())
        s.set("trends/baseline", self.band_box.isChecked())
        s.set("trends/rest_of_city", self.rest_box.isChecked())
        if self.measure_combo.currentData():
            s.set("trends/measure", self.measure_combo.currentData())

    # ---- refresh when visible ----
    def _workspace_changed(self) -> None:
        self._fill_measures()
        self.mark_stale()

    def _fill_measures(self) -> None:
        ws = self.state.workspace
        want = self.measure_combo.currentData() or (self.settings.get("trends/measure") if self.settings else "")
        self.measure_combo.blockSignals(True)
        self.measure_combo.clear()
        if ws is not None:
            try:
                measures = count_measures(ws)
            except UserError:
                measures = []
            section = None
            for m in measures:
                if m.section != section:
                    section = m.section
                    if self.measure_combo.count():
                        self.measure_combo.insertSeparator(self.measure_combo.count())
                self.measure_combo.addItem(m.label, m.id)
                self.measure_combo.setItemData(self.measure_combo.count() - 1, m.description or m.label,
                                               Qt.ItemDataRole.ToolTipRole)
        i = self.measure_combo.findData(want) if want else -1
        if i < 0:
            i = self.measure_combo.findData("part1_violent")
        self.measure_combo.setCurrentIndex(max(i, 0))
        self.measure_combo.blockSignals(False)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.measure_combo.count() == 0:
            self._fill_measures()
        super().showEvent(event)

    def set_measure(self, measure_id: str) -> None:
        i = self.measure_combo.findData(measure_id)
        if i >= 0:
            self.measure_combo.setCurrentIndex(i)

    def set_interval(self, code: str) -> None:
        self.interval_combo.setCurrentIndex(max(self.interval_combo.findData(code), 0))

    def refresh(self) -> None:
        if not self._begin_refresh():
            return
        ws = self.state.workspace
        measure = self.measure_combo.currentData()
        self.frame = None
        if ws is None or self.state.as_of is None or not measure:
            self.title.setText("Trends")
            self.note.setText("No records yet: import data (Ctrl+I) to see trends.")
            self.draw()
            self.stack.setCurrentWidget(self.empty)
            return
        area_key, freq, as_of = self.state.area_key, self.interval_combo.currentData(), self.state.as_of

        def figures():
            try:
                return trend_frame(ws, measure, area_key, freq, as_of)
            except ValueError as exc:  # a period the engine cannot lay out: said like a UserError
                raise UserError(str(exc)) from exc

        self.compute(figures, self._show_frame, self._show_problem)

    def _show_frame(self, frame) -> None:
        self.stack.setCurrentIndex(0)
        self.frame = frame
        self.draw()

    def _show_problem(self, message: str) -> None:
        self.stack.setCurrentIndex(0)
        self.frame = None
        self.title.setText("Trends")
        self.note.setText(message)
        self.draw()

    # ---- drawing ----
    def draw(self) -> None:
        self.plot.clear()
        self.rest_plot.clear()
        self.legend.clear()
        self.readout.setText("<span style='color:gray'>Hover over the chart to read the values of a "
                             "period.</span>")
        df = self.frame
        if df is None or not len(df):
            self.rest_widget.hide()
            return
        a = df.attrs
        freq = a.get("freq", "W")
        every = "week" if freq == "W" else "month"
        self.title.setText(f"{a.get('label', '')} — {a.get('area_label', '')}: by {every}, "
                           f"{pd.Timestamp(a['as_of']).year} to {pd.Timestamp(a['as_of']):%d %b %Y}")
        x = np.arange(len(df), dtype=float)
        labels = df["label"].tolist()
        self.axis.labels = labels
        self.rest_axis.labels = labels
        year = pd.Timestamp(a["as_of"]).year

        if self.band_box.isChecked() and df["baseline_mean"].notna().any():
            lo = pg.PlotDataItem(x, df["baseline_low"].to_numpy(float), pen=pg.mkPen(None))
            hi = pg.PlotDataItem(x, df["baseline_high"].to_numpy(float), pen=pg.mkPen(None))
            # the edge curves must live in the plot: FillBetweenItem only points at them
            self.plot.addItem(lo)
            self.plot.addItem(hi)
            band = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(COLORS["band"]))
            self.plot.addItem(band)
            # the legend cannot draw a FillBetweenItem (no .opts); a stand-in curve with a fill draws the sample
            self._band_sample = pg.PlotDataItem([0.0], [0.0], pen=pg.mkPen(COLORS["mean"], width=1,
                                                                           style=Qt.PenStyle.DashLine),
                                                fillLevel=0.0, fillBrush=pg.mkBrush(COLORS["band"]))
            self.legend.addItem(self._band_sample, f"Prior {int(df['baseline_years'].max())} years: mean ± 2 SD")
            self.plot.plot(x, df["baseline_mean"].to_numpy(float),
                           pen=pg.mkPen(COLORS["mean"], width=1, style=Qt.PenStyle.DashLine))
        if self.last_year_box.isChecked() and df["last_year"].notna().any():
            self.plot.plot(x, df["last_year"].to_numpy(float), name=str(year - 1),
                           pen=pg.mkPen(COLORS["last"], width=2, style=Qt.PenStyle.DashLine))
        this = df["this_year"].to_numpy(float)
        ma = df["moving_avg"].to_numpy(float)
        first = a.get("first_day")
        if first is not None:
            # periods that ended before the first record are unknown, not zero: leave them undrawn
            before = (df["period_end"] < pd.Timestamp(first)).to_numpy()
            this = np.where(before, np.nan, this)
            ma = np.where(before, np.nan, ma)
        partial = df["partial"].to_numpy(bool)
        if self.ma_box.isChecked():
            k = 4 if freq == "W" else 3
            self.plot.plot(x, ma, name=f"{k}-{every} moving average", pen=pg.mkPen(COLORS["ma"], width=2),
                           connect="finite")
        self.plot.plot(x, this, name=str(year), pen=pg.mkPen(COLORS["this"], width=2.5), symbol="o", connect="finite",
                       symbolSize=5, symbolBrush=COLORS["this"], symbolPen=COLORS["this"])
        if partial.any():
            # the period still in progress: a hollow marker, so a short week is not read as a fall
            self.plot.plot(x[partial], this[partial], pen=None, symbol="o", symbolSize=9,
                           symbolBrush=pg.mkBrush("w"), symbolPen=pg.mkPen(COLORS["this"], width=2))
        self.plot.setLabel("left", a.get("label", ""))
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.plot.setXRange(-0.5, len(df) - 0.5, padding=0.01)
        self.plot.enableAutoRange(axis="y")
        # headroom for the one-line legend along the top
        self.plot.setYRange(0, max(1.0, float(np.nanmax(self._shown_max(df)))) * 1.22, padding=0)

        show_rest = self.rest_box.isChecked() and df["rest_of_city"].notna().any()
        self.rest_widget.setVisible(bool(show_rest))
        if show_rest:
            rest = df["rest_of_city"].to_numpy(float)
            self.rest_plot.plot(x, rest, pen=pg.mkPen(COLORS["rest"], width=2), symbol="o", symbolSize=4,
                                symbolBrush=COLORS["rest"], symbolPen=COLORS["rest"])
            self.rest_plot.setLabel("left", "Rest of city")
            self.rest_plot.addItem(self.rest_cursor, ignoreBounds=True)
            self.rest_plot.setYRange(0, max(1.0, float(np.nanmax(rest))) * 1.08, padding=0)
        notes = []
        if partial.any():
            notes.append(f"The last {every} is partial (through the as-of date) and is compared with the same days "
                         "earlier; its marker is hollow.")
        if freq == "W":
            notes.append("Weeks run Monday–Sunday; last year's week is 52 weeks earlier, so weekdays line up.")
        if self.rest_box.isChecked() and not show_rest:
            notes.append("Rest of the city: pick an area other than Citywide.")
        if a.get("first_day") is not None and df["last_year"].isna().any():
            notes.append(f"The data begin {pd.Timestamp(a['first_day']):%d %b %Y}; earlier periods are not drawn.")
        self.note.setText(" ".join(notes))

    def _shown_max(self, df) -> list[float]:
        vals = [np.nanmax(df["this_year"].to_numpy(float)) if df["this_year"].notna().any() else 0.0]
        if self.last_year_box.isChecked() and df["last_year"].notna().any():
            vals.append(np.nanmax(df["last_year"].to_numpy(float)))
        if self.band_box.isChecked() and df["baseline_high"].notna().any():
            vals.append(np.nanmax(df["baseline_high"].to_numpy(float)))
        if self.ma_box.isChecked():
            vals.append(np.nanmax(df["moving_avg"].to_numpy(float)))
        return vals

    # ---- hover read-out ----
    def _mouse_moved(self, evt) -> None:
        df = self.frame
        if df is None or not len(df):
            return
        # both plots share x (linked, same axis widths), so either maps a scene x to the period index
        x = self.plot.getViewBox().mapSceneToView(evt[0]).x()
        self.show_readout(int(round(min(max(x, 0), len(df) - 1))))

    def show_readout(self, i: int) -> str:
        df = self.frame
        if df is None or not 0 <= i < len(df):
            return ""
        r = df.iloc[i]
        a = df.attrs
        year = pd.Timestamp(a["as_of"]).year
        self.cursor.setPos(i)
        self.rest_cursor.setPos(i)

        def n(v, digits=0):
            return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:,.{digits}f}"

        span = f"{pd.Timestamp(r['period_start']):%a %d %b}–{pd.Timestamp(r['period_end']):%a %d %b %Y}" \
            if a.get("freq") == "W" else f"{pd.Timestamp(r['period_start']):%B %Y}"
        parts = [f"<b>{html.escape(span)}</b>" + (" (partial)" if r["partial"] else ""),
                 f"<span style='color:{COLORS['this'].name()}'>{year}: <b>{n(r['this_year'])}</b></span>",
                 f"<span style='color:{COLORS['last'].name()}'>{year - 1}: {n(r['last_year'])}"
                 + _flag_text(r["this_year"], r["last_year"]) + "</span>",
                 f"<span style='color:{COLORS['ma'].name()}'>moving avg: {n(r['moving_avg'], 1)}</span>"]
        if not np.isnan(r["baseline_mean"]):
            parts.append(f"<span style='color:{COLORS['mean'].name()}'>prior years: {n(r['baseline_mean'], 1)} "
                         f"(band {n(r['baseline_low'], 1)}–{n(r['baseline_high'], 1)})</span>")
        if not np.isnan(r["rest_of_city"]):
            parts.append(f"<span style='color:{COLORS['rest'].name()}'>rest of city: {n(r['rest_of_city'])}</span>")
        text = " · ".join(parts)
        self.readout.setText(text)
        return text

    # ---- export ----
    def export_png(self) -> None:
        start = "trend.png"
        if self.frame is not None:
            a = self.frame.attrs
            start = f"trend_{a.get('measure', '')}_{str(a.get('area', '')).replace(':', '_')}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export chart as PNG", start, "PNG images (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            try:
                self.write_png(path)
            except UserError as exc:
                QMessageBox.warning(self, "Not saved", str(exc))

    def write_png(self, path):
        """The chart with its title and read-out line, as shown (written atomically; UserError when it cannot be)."""
        return save_png(self.chart.grab(), path, "the chart")

    def shutdown(self) -> None:
        for proxy in self._mouse_proxies:
            proxy.blockSignal = True  # no read-outs while closing (the proxies go with the panel)
        super().shutdown()


def _flag_text(this_year, last_year) -> str:
    """The grid's chance-aware flag for this period against the same days a year earlier (exact binomial test)."""
    from workstation.reports.rules import change_flag, exact_p

    if this_year is None or last_year is None or np.isnan(this_year) or np.isnan(last_year):
        return ""
    word = change_flag(this_year, last_year)
    p = exact_p(this_year, last_year)
    return f" ({word}, exact p = {'< 0.001' if p < 0.001 else f'{p:.3f}'})" if word else ""

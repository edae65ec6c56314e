"""A horizontal header with a band of group labels above the column labels (e.g. "Year to date" over 5 columns)."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHeaderView, QStyle, QStyleOptionHeader


class GroupedHeader(QHeaderView):
    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.groups: list[tuple[str, str, int, int]] = []   # (title, subtitle, first, last)
        self.labels: dict[int, str] = {}                      # display labels overriding the model's
        self.setSectionsClickable(False)
        self.setHighlightSections(False)

    def set_groups(self, groups: list[tuple[str, str, int, int]], labels: dict[int, str] | None = None) -> None:
        self.groups = list(groups)
        self.labels = dict(labels or {})
        self.updateGeometries()
        self.viewport().update()

    def _band_height(self) -> int:
        return 2 * self.fontMetrics().height() + 8 if self.groups else 0

    def _label_height(self) -> int:
        """Tall enough for the longest wrapped column label at its column's width (at least two lines): a label
        such as "% chg vs 5-yr avg" takes three lines in a narrow figure column, and a fixed two-line band cut
        its last line off."""
        fm = self.fontMetrics()
        lines = 2
        model = self.model()
        for logical in range(self.count()):
            text = self.labels.get(logical)
            if text is None and model is not None:
                text = str(model.headerData(logical, self.orientation()) or "")
            width = self.sectionSize(logical) - 6          # the text's inset in _paint_cell
            if not text or width <= 0:
                continue
            height = fm.boundingRect(QRect(0, 0, width, 100 * fm.height()),
                                     Qt.TextFlag.TextWordWrap, text).height()
            lines = max(lines, min(4, -(-height // fm.height())))
        return lines * fm.height() + 8

    def sizeHint(self) -> QSize:
        s = super().sizeHint()
        s.setHeight(self._band_height() + self._label_height())
        return s

    def sectionSizeFromContents(self, logical: int) -> QSize:
        s = super().sectionSizeFromContents(logical)
        s.setHeight(self._band_height() + self._label_height())
        return s

    def group_of(self, logical: int):
        for g in self.groups:
            if g[2] <= logical <= g[3]:
                return g
        return None

    def paintSection(self, painter: QPainter, rect: QRect, logical: int) -> None:
        if not rect.isValid():
            return
        g = self.group_of(logical)
        band = self._band_height()
        text = self.labels.get(logical, str(self.model().headerData(logical, self.orientation()) or ""))
        if g is None:
            self._paint_cell(painter, rect, text, QRect(rect), bold=False)
            return
        top = QRect(rect.left(), rect.top(), rect.width(), band)
        bottom = QRect(rect.left(), rect.top() + band, rect.width(), rect.height() - band)
        x0 = self.sectionViewportPosition(g[2])
        x1 = self.sectionViewportPosition(g[3]) + self.sectionSize(g[3])
        group_rect = QRect(x0, rect.top(), x1 - x0, band)
        painter.save()
        painter.setClipRect(top)
        self._paint_cell(painter, group_rect, "", group_rect, bold=True)
        fm = self.fontMetrics()
        inner = group_rect.adjusted(4, 3, -4, -3)
        f = painter.font()
        f.setBold(True)
        painter.setFont(f)
        line1 = QRect(inner.left(), inner.top(), inner.width(), fm.height())
        line2 = QRect(inner.left(), inner.top() + fm.height(), inner.width(), fm.height())
        painter.drawText(line1, Qt.AlignmentFlag.AlignCenter, fm.elidedText(g[0], Qt.TextElideMode.ElideRight,
                                                                              inner.width()))
        f.setBold(False)
        painter.setFont(f)
        painter.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
        painter.drawText(line2, Qt.AlignmentFlag.AlignCenter, fm.elidedText(g[1], Qt.TextElideMode.ElideRight,
                                                                              inner.width()))
        painter.restore()
        self._paint_cell(painter, bottom, text, bottom, bold=False)

    def _paint_cell(self, painter: QPainter, rect: QRect, text: str, text_rect: QRect, bold: bool) -> None:
        opt = QStyleOptionHeader()
        self.initStyleOption(opt)
        opt.rect = rect
        opt.section = 0
        opt.text = ""
        opt.position = QStyleOptionHeader.SectionPosition.Middle
        painter.save()
        self.style().drawControl(QStyle.ControlElement.CE_HeaderSection, opt, painter, self)
        painter.restore()
        if text:
            painter.save()
            f = painter.font()
            f.setBold(bold)
            painter.setFont(f)
            painter.setPen(self.palette().color(self.palette().ColorRole.ButtonText))
            inner = text_rect.adjusted(3, 2, -3, -2)
            painter.drawText(inner, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            painter.restore()

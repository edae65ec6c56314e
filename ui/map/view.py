"""MapView: a QWebEngineView on its own off-the-record profile, fed by the psp:// scheme, guarded against the network.

Pages are served by the scheme handler and opened with ``load()`` (``setHtml`` fails above 2 MB). The page talks
to Python through a QWebChannel carrying ``MapBridge``. The profile is re-parented after the page is created so that
Qt deletes the page first (a profile deleted before its pages aborts QtWebEngine).
"""
from __future__ import annotations

import json
import time

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer, QUrl, Signal
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineSettings
from PySide6.QtWebEngineWidgets import QWebEngineView

from .bridge import MapBridge
from .scheme import SCHEME, LocalOnlyInterceptor, MapSchemeHandler


class MapPage(QWebEnginePage):
    """Keeps the page's console messages (tests and the log read them); navigation away from psp:// is refused."""

    def __init__(self, profile, parent=None) -> None:
        super().__init__(profile, parent)
        self.console: list[tuple[int, str, int, str]] = []

    def javaScriptConsoleMessage(self, level, message, line, source) -> None:  # noqa: N802
        self.console.append((int(level.value) if hasattr(level, "value") else int(level), message, line, source))

    def acceptNavigationRequest(self, url, nav_type, is_main_frame) -> bool:  # noqa: N802
        return url.scheme() in ("psp", "data", "about")


class MapView(QWebEngineView):
    page_loaded = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        profile = QWebEngineProfile()                    # no storage name: off the record, nothing written to disk
        profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        profile.setSpellCheckEnabled(False)
        self.handler = MapSchemeHandler(profile)
        profile.installUrlSchemeHandler(SCHEME, self.handler)
        self.interceptor = LocalOnlyInterceptor(profile)
        profile.setUrlRequestInterceptor(self.interceptor)
        page = MapPage(profile, self)
        profile.setParent(self)                          # after the page: deleted after it
        self._profile = profile
        s = page.settings()
        s.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
        s.setAttribute(QWebEngineSettings.WebAttribute.PluginsEnabled, False)
        self.setPage(page)
        self.bridge = MapBridge(self)
        self.channel = QWebChannel(page)
        self.channel.registerObject("bridge", self.bridge)
        page.setWebChannel(self.channel)
        self._page_no = 0
        self._current: str | None = None
        self.load_started_at = 0.0
        self.load_seconds = 0.0
        self.loadFinished.connect(self._on_loaded)

    @property
    def profile(self) -> QWebEngineProfile:
        return self._profile

    def show_html(self, html: str) -> QUrl:
        """Serve ``html`` as a new psp://pages/ address and load it (the previous page is dropped)."""
        self._page_no += 1
        name = f"map-{self._page_no}.html"
        url = QUrl(self.handler.add_page(name, html))
        if self._current is not None:
            self.handler.remove_page(self._current)
        self._current = name
        self.load_started_at = time.perf_counter()
        self.load(url)
        return url

    def _on_loaded(self, ok: bool) -> None:
        self.load_seconds = time.perf_counter() - self.load_started_at
        self.page_loaded.emit(ok)

    def run_js(self, script: str, callback=None) -> None:
        if callback is None:
            self.page().runJavaScript(script)
        else:
            self.page().runJavaScript(script, 0, callback)

    def eval_js(self, script: str, timeout_ms: int = 5000):
        """Run ``script`` and wait for its value (tests, exports). Returns None on timeout."""
        box: dict = {}
        loop = QEventLoop()

        def done(value):
            box["v"] = value
            loop.quit()

        self.page().runJavaScript(script, 0, done)
        QTimer.singleShot(timeout_ms, loop.quit)
        if "v" not in box:
            loop.exec()
        return box.get("v")

    def set_editor_shape(self, shape, editable: bool = True) -> None:
        from workstation.commands import ring_list

        self.run_js(f"PSP.editor.setShape({json.dumps(ring_list(shape))}, {str(bool(editable)).lower()});")

    def replace_editor_shape(self, shape) -> None:
        from workstation.commands import ring_list

        self.run_js(f"PSP.editor.replaceShape({json.dumps(ring_list(shape))});")

    def dispose(self) -> None:
        """Release the page and its profile now, in that order (call before dropping the view)."""
        self.handler.close()
        page = self.page()
        if page is not None and page.parent() is self:
            page.deleteLater()


def delete_now(widget) -> None:
    """Close and delete a widget holding map views at once, each page before its profile (tests' teardown, and
    the end of the application): a profile left for the interpreter's exit may outlive its pages."""
    for v in ([widget] if isinstance(widget, MapView) else []) + widget.findChildren(MapView):
        v.dispose()
    widget.close()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

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
from PySide6.QtWebEngineCore import QWebEngineLoadingInfo, QWebEnginePage, QWebEngineProfile, QWebEngineSettings
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
        self.loading = False
        self._current_url = QUrl()
        # loadingChanged names the URL it is about: a late "finished" of the page being replaced cannot be taken
        # for the new page's (loadFinished can't tell them apart)
        page.loadingChanged.connect(self._on_loading_changed)

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
        self.loading = True
        self._current_url = url
        self.load(url)
        return url

    def _on_loading_changed(self, info) -> None:
        status = info.status()
        if status == QWebEngineLoadingInfo.LoadStatus.LoadStartedStatus or info.url() != self._current_url:
            return
        self.loading = False
        self.load_seconds = time.perf_counter() - self.load_started_at
        self.page_loaded.emit(status == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus)

    def wait_loaded(self, timeout_ms: int = 15000) -> bool:
        """Block (running the event loop) until the page has loaded and painted; False on timeout."""
        deadline = time.perf_counter() + timeout_ms / 1000
        if self.loading:
            loop = QEventLoop()
            self.page_loaded.connect(loop.quit)
            QTimer.singleShot(timeout_ms, loop.quit)
            loop.exec()
            self.page_loaded.disconnect(loop.quit)
        while time.perf_counter() < deadline:
            if not self.loading and self.eval_js("!!(window.PSP && PSP.painted)", 2000) is True:
                break
            pause = QEventLoop()
            QTimer.singleShot(50, pause.quit)
            pause.exec()
        else:
            return False
        pause = QEventLoop()                     # the painted frame still has to reach the widget
        QTimer.singleShot(150, pause.quit)
        pause.exec()
        return True

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
        from workstation.core.commands import ring_list

        # a page still loading has no PSP yet: the panel puts the shape back when the page has loaded
        self.run_js(f"window.PSP && PSP.editor.map && PSP.editor.setShape({json.dumps(ring_list(shape))}, "
                    f"{str(bool(editable)).lower()});")

    def replace_editor_shape(self, shape) -> None:
        from workstation.core.commands import ring_list

        self.run_js(f"window.PSP && PSP.editor.map && PSP.editor.replaceShape({json.dumps(ring_list(shape))});")

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

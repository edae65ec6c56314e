"""The psp:// URL scheme: map assets, map pages and MBTiles tiles served from this machine, and a request guard.

``register_scheme()`` must run before the QApplication exists (QtWebEngine reads the scheme list once).

- ``psp://assets/<package>@<version>/<path>``: the pinned web assets (resources/map_assets, resources/map_local);
  ``psp://assets/qtwebchannel/qwebchannel.js`` comes from Qt's own resources.
- ``psp://pages/<name>.html``: pages handed to ``MapSchemeHandler.add_page`` (``QWebEngineView.setHtml`` fails
  above 2 MB, so pages are served and ``load()``-ed).
- ``psp://tiles/<key>/<z>/<x>/<y>``: tiles of an MBTiles file registered with ``add_tiles``.

``LocalOnlyInterceptor`` blocks, and records, every request that is not to this scheme (or data:/blob:): the map
can never reach the network, and tests read ``blocked`` to prove that it did not try.
"""
from __future__ import annotations

import mimetypes
import threading

from PySide6.QtCore import QBuffer, QByteArray, QFile, QIODevice, QObject
from PySide6.QtWebEngineCore import (
    QWebEngineUrlRequestInterceptor, QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler,
)

from workstation.maps import page as maps

SCHEME = maps.SCHEME.encode()
ALLOWED_SCHEMES = {maps.SCHEME, "data", "blob", "about"}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
          ".png": "image/png", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
          ".eot": "application/vnd.ms-fontobject", ".json": "application/json"}


def register_scheme() -> None:
    """Declare psp:// to QtWebEngine. Call once, before the QApplication is created; later calls do nothing."""
    if QWebEngineUrlScheme.schemeByName(SCHEME).name() == SCHEME:
        return
    s = QWebEngineUrlScheme(SCHEME)
    s.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    s.setFlags(QWebEngineUrlScheme.Flag.SecureScheme | QWebEngineUrlScheme.Flag.LocalAccessAllowed
               | QWebEngineUrlScheme.Flag.CorsEnabled | QWebEngineUrlScheme.Flag.ContentSecurityPolicyIgnored)
    QWebEngineUrlScheme.registerScheme(s)


def mime_type(name: str) -> bytes:
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    return (_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream").encode()


class MapSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers psp:// requests from memory (pages), the asset folders and MBTiles readers. Counts what it served."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pages: dict[str, bytes] = {}
        self._tiles: dict[str, maps.MBTilesReader] = {}
        self.served: list[str] = []
        self.failed: list[str] = []
        self._qwebchannel: bytes | None = None

    # ---- content ----
    def add_page(self, name: str, html: str) -> str:
        self._pages[name] = html.encode("utf-8")
        return f"{maps.PAGE_BASE}{name}"

    def remove_page(self, name: str) -> None:
        self._pages.pop(name, None)

    def add_tiles(self, key: str, reader: maps.MBTilesReader) -> None:
        old = self._tiles.pop(key, None)
        if old is not None:
            old.close()
        self._tiles[key] = reader

    def close(self) -> None:
        for r in self._tiles.values():
            r.close()
        self._tiles.clear()
        self._pages.clear()

    def _qt_resource(self, path: str) -> bytes | None:
        f = QFile(path)
        if not f.open(QIODevice.OpenModeFlag.ReadOnly):
            return None
        try:
            return bytes(f.readAll().data())
        finally:
            f.close()

    def lookup(self, host: str, path: str) -> tuple[bytes, bytes] | None:
        """(mime type, body) for a psp:// address, or None."""
        path = path.lstrip("/")
        if host == "assets":
            if path == "qtwebchannel/qwebchannel.js":
                if self._qwebchannel is None:
                    self._qwebchannel = self._qt_resource(":/qtwebchannel/qwebchannel.js")
                return None if self._qwebchannel is None else (b"text/javascript", self._qwebchannel)
            p = maps.asset_file(path)
            return None if p is None else (mime_type(p.name), p.read_bytes())
        if host == "pages":
            body = self._pages.get(path)
            return None if body is None else (b"text/html", body)
        if host == "tiles":
            parts = path.split("/")
            if len(parts) != 4:
                return None
            key, z, x, y = parts
            reader = self._tiles.get(key)
            try:
                zi, xi, yi = int(z), int(x), int(y.split(".")[0])
            except ValueError:
                return None
            data = reader.tile(zi, xi, yi) if reader is not None else None
            return None if data is None else (reader.info.mime.encode(), data)
        return None

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 (Qt's name)
        url = job.requestUrl()
        found = self.lookup(url.host(), url.path())
        if found is None:
            self.failed.append(url.toString())
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        mime, body = found
        buf = QBuffer(job)                 # the job owns the buffer: it lives exactly as long as the reply
        buf.setData(QByteArray(body))
        buf.open(QIODevice.OpenModeFlag.ReadOnly)
        self.served.append(url.toString())
        job.reply(mime, buf)


class LocalOnlyInterceptor(QWebEngineUrlRequestInterceptor):
    """Blocks every request that would leave the machine, and keeps a list of them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self.blocked: list[str] = []
        self.allowed: list[str] = []

    def interceptRequest(self, info) -> None:  # noqa: N802 (Qt's name)
        url = info.requestUrl()
        with self._lock:
            if url.scheme() in ALLOWED_SCHEMES:
                self.allowed.append(url.toString())
            else:
                self.blocked.append(url.toString())
                info.block(True)

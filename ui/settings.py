"""QSettings wrapper: keys, defaults and migration come from workstation.core.settings; this only stores primitives."""
from __future__ import annotations

import base64

from PySide6.QtCore import QByteArray, QSettings

from workstation.core import settings as spec

VERSION_KEY = "settings_version"


class Settings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings()
        stored = self.q.value(VERSION_KEY)
        if stored is None:
            self.q.setValue(VERSION_KEY, spec.SETTINGS_VERSION)
        elif int(stored) < spec.SETTINGS_VERSION:
            old = {k: self.q.value(k) for k in self.q.allKeys() if k != VERSION_KEY}
            new = spec.migrate(old, int(stored))
            for k in old:
                if k not in new:
                    self.q.remove(k)
            for k, v in new.items():
                self.q.setValue(k, spec.encode(k, spec.coerce(k, v)) if k in spec.DEFAULTS else v)
            self.q.setValue(VERSION_KEY, spec.SETTINGS_VERSION)

    def get(self, key: str):
        return spec.coerce(key, self.q.value(key))

    def set(self, key: str, value) -> None:
        self.q.setValue(key, spec.encode(key, value))

    def get_bytes(self, key: str) -> QByteArray:
        text = self.get(key)
        return QByteArray(base64.b64decode(text)) if text else QByteArray()

    def set_bytes(self, key: str, data: QByteArray) -> None:
        self.set(key, base64.b64encode(bytes(data)).decode("ascii"))

    # ---- recent workspaces ----
    def recent(self) -> list[str]:
        return spec.prune_recent(self.get("workspace/recent"))

    def add_recent(self, path) -> None:
        self.set("workspace/recent", spec.add_recent(self.get("workspace/recent"), path))

    def sync(self) -> None:
        self.q.sync()

"""Issue 9 item 7: exported files get the permissions of any file the user creates (0666 less the umask).

Every writer goes through a temporary file made by ``tempfile.mkstemp``, which is 0600: workbooks, CSV files, map pages
and workspaces came out readable by their owner only, so a colleague on the shared drive could not open them."""
import os
import stat
import zlib
import struct

import numpy as np
import pandas as pd
import pytest

from workstation.core.fileio import write_atomically
from workstation.core.workspace import Workspace


@pytest.fixture
def umask():
    old = os.umask(0o022)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def _ws() -> Workspace:
    n = 40
    ws = Workspace()
    ws.meta["city"] = "Permsville"
    ws.set_frame("offenses", pd.DataFrame({
        "record_id": [f"R{i}" for i in range(n)], "incident_id": [f"R{i}" for i in range(n)],
        "occurred": pd.Timestamp("2019-01-01") + pd.to_timedelta(np.arange(n) * 5, unit="D"),
        "category": ["robbery", "burglary"] * (n // 2), "lat": np.linspace(43.0, 43.1, n), "lon": [-87.9] * n,
        "district": ["1"] * n, "load_id": 1}))
    return ws


def _png_bytes() -> bytes:
    """A 1×1 grey PNG, built by hand (no image library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def _writers(ws):
    from workstation.exports.csv_file import write_csv
    from workstation.exports.workbook import export_workbook
    from workstation.maps.page import export_standalone

    return {
        "workbook.xlsx": lambda p: export_workbook(ws, p),
        "records.csv": lambda p: write_csv(ws.frame("offenses"), p),
        "map.html": lambda p: export_standalone(ws, p),
        "chart.png": lambda p: write_atomically(p, lambda tmp: tmp.write_bytes(_png_bytes()), what="the chart"),
        "work.psw": lambda p: ws.save(p),
    }


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_new_files_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    ws = _ws()
    for name, write in _writers(ws).items():
        p = tmp_path / name
        write(p)
        assert _mode(p) == 0o666 & ~mask, (name, oct(_mode(p)))
    # and as the umask says, not 0600: the file a plain open() makes is the yardstick
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert {_mode(tmp_path / n) for n in _writers(ws)} == {_mode(plain)}


def test_replacing_a_file_keeps_the_mode_its_owner_gave_it(tmp_path, umask):
    umask(0o022)
    ws = _ws()
    for name, write in _writers(ws).items():
        p = tmp_path / name
        write(p)
        os.chmod(p, 0o640)  # the analyst restricted this one on purpose
        write(p)
        assert _mode(p) == 0o640, name

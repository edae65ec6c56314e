"""Issue 9 item 1: any legal file name works for workspaces and MBTiles.

The workspace and the tile reader opened SQLite through ``file:{path}?mode=ro`` URIs, so a name with ``%41`` opened
another file (``Dist%41.psw`` read ``DistA.psw``) and a name with ``#`` or ``?`` was cut short (``Case #12?.psw`` made
an empty file called ``Case `` and could not be reopened)."""
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from workstation.cli import main as cli_main
from workstation.core.workspace import Workspace

WIBR_SAMPLE = ROOT / "tests" / "fixtures" / "ingest" / "wibr_sample.csv"


def _records_of_sample() -> int:
    """What the sample imports as under a plain name (the reference the odd names must match)."""
    from workstation.ingest.importer import import_files

    ws = Workspace()
    import_files(ws, "offenses", [WIBR_SAMPLE])
    return len(ws.frame("offenses"))


WIBR_ROWS = _records_of_sample()


def _workspace(n: int, tag: str) -> Workspace:
    ws = Workspace()
    ws.meta["city"] = f"City {tag}"
    ws.set_frame("offenses", pd.DataFrame({
        "record_id": [f"{tag}{i}" for i in range(n)], "incident_id": [f"{tag}{i}" for i in range(n)],
        "occurred": pd.date_range("2019-01-01", periods=n, freq="D"), "category": ["robbery"] * n,
        "lat": np.linspace(43.0, 43.1, n), "lon": [-87.9] * n, "district": ["1"] * n, "load_id": 1}))
    return ws


def test_percent_escape_in_a_name_opens_that_file_not_its_decoded_twin(tmp_path):
    decoy = _workspace(3, "D").save(tmp_path / "DistA.psw")
    mine = _workspace(5, "M").save(tmp_path / "Dist%41.psw")
    decoy_bytes = decoy.read_bytes()
    back = Workspace.open(mine)
    assert back.meta["city"] == "City M" and len(back.frame("offenses")) == 5
    # an import into the %41 workspace must land in it, and leave DistA alone
    assert cli_main(["import", "--workspace", str(mine), "--kind", "offenses", str(WIBR_SAMPLE)]) == 0
    assert len(Workspace.open(mine).frame("offenses")) == 5 + WIBR_ROWS
    assert decoy.read_bytes() == decoy_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dist%41.psw", "DistA.psw"]


def test_hash_and_question_mark_names_reopen_without_a_stray_file(tmp_path):
    p = _workspace(4, "C").save(tmp_path / "Case #12?.psw")
    back = Workspace.open(p)
    assert len(back.frame("offenses")) == 4
    assert [x.name for x in tmp_path.iterdir()] == ["Case #12?.psw"]  # no empty "Case " beside it


# Names a user can type on any desktop: spaces, URI characters, quotes, accents and other scripts (no "/" or NUL,
# which no file name can hold).
NAME_CHARS = list(" %#?&'\"=;+,!@$~()[]{}-_.") + list("aZ09") + list("éñüßøÆçå中文дж€Ω")
names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=20).filter(
    lambda s: s.strip(" .") != "" and len(s.encode("utf-8")) < 180)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
@example(name="Dist%41")
@example(name="Case #12?")
@example(name="a?mode=rwc&cache=shared")
@example(name="O'Brien \"north\" & Zoë")
def test_any_name_saves_reopens_and_reimports(tmp_path_factory, name):
    d = tmp_path_factory.mktemp("names")
    psw = d / f"{name}.psw"
    src = d / f"{name}.csv"  # the input file may carry the same characters
    shutil.copyfile(WIBR_SAMPLE, src)
    _workspace(2, "N").save(psw)
    assert len(Workspace.open(psw).frame("offenses")) == 2
    assert cli_main(["import", "--workspace", str(psw), "--kind", "offenses", str(src)]) == 0
    assert cli_main(["import", "--workspace", str(psw), "--kind", "offenses", str(src)]) == 0  # re-import: replaces
    back = Workspace.open(psw)
    ids = set(back.frame("offenses")["record_id"])
    assert {"N0", "N1"} <= ids and len(ids) == 2 + WIBR_ROWS
    assert back.path == psw
    assert sorted(os.listdir(d)) == sorted([psw.name, src.name])  # nothing else appeared (no half name, no temp)


def _mbtiles(path: Path, tile: bytes) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", path.stem), ("format", "png")])
    con.execute("INSERT INTO tiles VALUES (0, 0, 0, ?)", (tile,))
    con.commit()
    con.close()


@pytest.mark.parametrize("name", ["Base%41", "tiles #1?", "Ströme & Wege 'alt'"])
def test_mbtiles_with_any_name_reads_its_own_tiles(tmp_path, name):
    from workstation.maps.page import MBTilesReader, open_mbtiles

    _mbtiles(tmp_path / "BaseA.mbtiles", b"decoy")
    p = tmp_path / f"{name}.mbtiles"
    _mbtiles(p, b"mine")
    assert open_mbtiles(p).name == name
    r = MBTilesReader(p)
    try:
        assert r.tile(0, 0, 0) == b"mine"
    finally:
        r.close()
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(["BaseA.mbtiles", p.name])

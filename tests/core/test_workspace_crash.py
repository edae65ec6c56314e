"""Saves are atomic: killing the process in the middle of a save leaves the previous file whole."""
import random
import textwrap

from tests.conftest import FRAME_PRELUDE, child_env, kill_mid_write
from workstation.core.workspace import Workspace

WRITER = FRAME_PRELUDE + textwrap.dedent("""
    ws = Workspace()
    version = 0
    while True:
        version += 1
        ws.meta["version"] = version
        ws.set_frame("offenses", base.iloc[: n - version])
        print("start", version, flush=True)
        ws.save(sys.argv[1])
        print("done", version, flush=True)
""")


def test_kill_during_save_leaves_previous_file_whole(tmp_path):
    target = tmp_path / "work.psw"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)

    def check(last_done):
        ws = Workspace.open(target)  # must open whole: the previous complete save (or the one just finished)
        v = ws.meta["version"]
        assert v >= last_done
        assert len(ws.frame("offenses")) == 300_000 - v
        assert ws.frame("offenses")["occurred"].notna().all()

    hits = kill_mid_write(script, [str(target)], tmp_path, ".work.psw.*.saving", child_env(), 5, random.Random(7),
                          check)
    assert hits >= 3, "the kill never landed while a save was being written"

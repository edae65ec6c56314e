"""Saves are atomic: killing the process in the middle of a save leaves the previous file whole."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd

from workstation.core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys, numpy as np, pandas as pd
    sys.path.insert(0, sys.argv[2])
    from workstation.core.workspace import Workspace
    n = 300_000
    rng = np.random.default_rng(1)
    base = pd.DataFrame({"record_id": np.arange(n).astype(str), "incident_id": np.arange(n).astype(str),
        "occurred": pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
        "category": rng.choice(["robbery", "burglary"], n), "lat": rng.uniform(43, 43.1, n),
        "lon": rng.uniform(-88, -87.9, n), "load_id": 1})
    ws = Workspace()
    version = 0
    while True:
        version += 1
        ws.meta["version"] = version
        ws.set_frame("offenses", base.iloc[: n - version])
        print("saving", version, flush=True)
        ws.save(sys.argv[1])
        print("saved", version, flush=True)
""")


def test_kill_during_save_leaves_previous_file_whole(tmp_path):
    target = tmp_path / "work.psw"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    kills_mid_save = 0
    last_saved = 0
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, str(script), str(target), str(ROOT)], stdout=subprocess.PIPE,
                                text=True)
        try:
            # wait until at least one save finished in this run, then kill during the next one
            saved_here = 0
            while True:
                line = proc.stdout.readline()
                assert line, "writer died unexpectedly"
                word, num = line.split()
                if word == "saved":
                    saved_here = int(num)
                    last_saved = saved_here
                elif word == "saving" and saved_here >= 1:
                    time.sleep(0.01 * attempt)  # land at different points of the write
                    break
            in_progress = any(p.name.endswith(".saving") for p in tmp_path.iterdir())
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        kills_mid_save += in_progress
        ws = Workspace.open(target)  # must open whole: the previous complete save (or the one just finished)
        v = ws.meta["version"]
        assert v >= last_saved
        assert len(ws.frame("offenses")) == 300_000 - v
        assert ws.frame("offenses")["occurred"].notna().all()
        for p in tmp_path.glob("*.saving"):
            p.unlink()
    assert kills_mid_save >= 3, "the kill never landed while a save was being written"

"""Memory that scales (issue 14): a 1M-record workspace (offenses and calls) opened with the engine's indexes built
stays within 250 MB of resident memory per million records, measured in a fresh process as the app would open it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.core import schema
from workstation.core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
BUDGET_MB_PER_MILLION = 250
RECORDS = 1_000_000

PROBE = r"""
import gc, json, sys
from pathlib import Path
def rss(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
import pandas, pyarrow, shapely, numpy  # the libraries' own memory is not the workspace's
from workstation.core.workspace import Workspace
from workstation.engine.analysis import analysis_for
gc.collect()
before = rss("VmRSS")
ws = Workspace.open(sys.argv[1])
an = analysis_for(ws)
for kind in ("offenses", "calls"):
    an.index(kind)
gc.collect()
print(json.dumps({"records": sum(len(f) for f in ws.frames.values()), "added_mb": rss("VmRSS") - before,
                  "peak_added_mb": rss("VmHWM") - before}))
"""


def _frame(kind: str, n: int, rng) -> pd.DataFrame:
    t0 = pd.Timestamp("2014-01-01").value
    span = pd.Timestamp("2019-09-29").value - t0
    ids = np.char.add("C" if kind == "calls" else "I", np.arange(n).astype(str))
    streets = np.array(["N 27TH ST", "W CENTER ST", "W CAPITOL DR", "N TEUTONIA AVE", "W NORTH AVE"], dtype=object)
    df = pd.DataFrame({
        "record_id": ids, "incident_id": ids,
        "occurred": pd.to_datetime(t0 + rng.integers(0, span, n)),
        "lat": 43.05 + rng.normal(0, 0.03, n), "lon": -87.95 + rng.normal(0, 0.03, n),
        "district": rng.integers(1, 8, n).astype(str),
        "address": (rng.integers(1, 99, n) * 100).astype(str).astype(object) + " " + streets[rng.integers(0, 5, n)],
        "load_id": 1,
    })
    if kind == "offenses":
        cats = np.array(["larceny_theft", "simple_assault", "burglary", "aggravated_assault", "robbery"])
        df["category"] = cats[rng.integers(0, len(cats), n)]
        df["offense_code"] = np.array(["23F", "13B", "220", "13A", "120"])[rng.integers(0, 5, n)]
    else:
        df["category"] = np.array(["other", "disorder", "priority", "shotspotter"])[rng.integers(0, 4, n)]
        df["call_type"] = np.array(["TRAFFIC STOP", "DISTURBANCE", "ALARM", "SHOTSPOTTER"])[rng.integers(0, 4, n)]
        df["priority"] = rng.integers(1, 6, n).astype(str)
    return schema.conform(df, kind)


@pytest.mark.slow
def test_one_million_records_open_within_the_memory_budget(tmp_path):
    if not Path("/proc/self/status").exists():
        pytest.skip("resident memory is read from /proc (Linux)")
    rng = np.random.default_rng(14)
    ws = Workspace()
    n_off = RECORDS * 3 // 10
    ws.frames["offenses"] = _frame("offenses", n_off, rng)
    ws.frames["calls"] = _frame("calls", RECORDS - n_off, rng)
    path = ws.save(tmp_path / "million.psw")
    del ws
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["records"] == RECORDS
    per_million = got["added_mb"] / (RECORDS / 1e6)
    print(f"resident per million records: {per_million:.0f} MB (peak while opening +{got['peak_added_mb']:.0f} MB)")
    assert per_million <= BUDGET_MB_PER_MILLION, got

"""Open a 1M-offense workspace: Workspace.open against a bare pandas.read_parquet of the same frame.

Prints per-run times and, as its last line, JSON {"ours_s", "baseline_s", "ratio", "save_s"} (medians).
"""
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bench_env  # noqa: E402,F401 - this checkout on sys.path, Qt offscreen (see bench_env.py)
from workstation.core import schema  # noqa: E402
from workstation.core.workspace import Workspace  # noqa: E402


def synthetic_offenses(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.char.add("I", np.arange(n).astype(str))
    return pd.DataFrame({
        "record_id": ids, "incident_id": ids,
        "occurred": pd.Timestamp("2007-01-01") + pd.to_timedelta(rng.integers(0, 12 * 365 * 86400, n), unit="s"),
        "category": rng.choice(schema.PART1, n), "offense_code": rng.choice(["120", "13A", "220", "23F"], n),
        "firearm": rng.random(n) < 0.1, "lat": rng.uniform(42.9, 43.2, n), "lon": rng.uniform(-88.1, -87.8, n),
        "district": rng.choice(list("1234567"), n), "address": rng.choice([f"{i}00 N MAIN ST" for i in range(500)], n),
        "cleared": rng.random(n) < 0.3, "load_id": 1,
    })


def main(n: int = 1_000_000, repeats: int = 5) -> None:
    ws = Workspace()
    ws.set_frame("offenses", synthetic_offenses(n))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.psw"
        saves = []
        for _ in range(3):
            t = time.perf_counter()
            ws.save(path)
            saves.append(time.perf_counter() - t)
        pq = Path(d) / "offenses.parquet"
        ws.frame("offenses").to_parquet(pq, compression="zstd", index=False)
        ours, base = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            back = Workspace.open(path)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            pd.read_parquet(pq)
            base.append(time.perf_counter() - t)
            print(f"open {ours[-1]:.3f} s   bare read_parquet {base[-1]:.3f} s", flush=True)
        assert len(back.frame("offenses")) == n
    o, b = statistics.median(ours), statistics.median(base)
    print(json.dumps({"rows": n, "ours_s": round(o, 4), "baseline_s": round(b, 4), "ratio": round(o / b, 2),
                      "save_s": round(statistics.median(saves), 4)}))


if __name__ == "__main__":
    main()

"""A database as a source (issue 14), against a real PostgreSQL server this test starts (Debian's postgresql
package, a temporary data directory and port, stopped at the end)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.pg_server import PASSWORD, postgres_server
from workstation.core.errors import UserError
from workstation.core.workspace import Workspace
from workstation.ingest.importer import import_files

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[dev]')")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    with postgres_server() as url:
        yield url


def _rows(n: int, seed: int, start: str = "2019-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    codes = np.array(["13A", "120", "220", "23F", "240", "09A", "290", "13B"])
    df = pd.DataFrame({
        "incident_number": [f"19-{seed:02d}{i:05d}" for i in range(n)],
        "offense_date": [t0 + pd.Timedelta(minutes=int(m)) for m in rng.integers(0, 200 * 24 * 60, n)],
        "nibrs_code": codes[rng.integers(0, len(codes), n)],
        "district": np.array(["01", "02", "07", "007", "3"])[rng.integers(0, 5, n)],
        "address": [f"{100 * int(k)} N 27TH ST" for k in rng.integers(1, 40, n)],
        "latitude": np.round(43.05 + rng.normal(0, 0.02, n), 6),
        "longitude": np.round(-87.95 + rng.normal(0, 0.02, n), 6),
    })
    df.loc[df.index[:3], "offense_date"] = pd.NaT          # rejected: no date, the same in both sources
    return df


def _load(url: str, df: pd.DataFrame, table: str = "rms_offenses", replace: bool = True) -> None:
    with psycopg.connect(url, password=PASSWORD) as con:
        if replace:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute(f"CREATE TABLE {table} (incident_number text, offense_date timestamp, nibrs_code text, "
                        "district text, address text, latitude double precision, longitude double precision)")
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            [tuple(None if (isinstance(v, float) and v != v) or v is pd.NaT else
                                   (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in r)
                             for r in df.itertuples(index=False)])


def _csv(df: pd.DataFrame, path: Path) -> Path:
    out = df.copy()
    out["offense_date"] = out["offense_date"].dt.strftime("%Y-%m-%d %H:%M:%S")
    out.to_csv(path, index=False)
    return path


def _same_records(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = [c for c in a.columns if c != "load_id"]
    pd.testing.assert_frame_equal(a[cols].sort_values("record_id").reset_index(drop=True),
                                  b[cols].sort_values("record_id").reset_index(drop=True))


def test_query_rows_import_exactly_like_the_same_rows_as_csv(server, tmp_path):
    from workstation.ingest.database import import_query

    df = _rows(2_500, 1)
    _load(server, df)
    query = tmp_path / "offenses.sql"
    query.write_text("SELECT incident_number, offense_date, nibrs_code, district, address, latitude, longitude\n"
                     "FROM rms_offenses;\n")
    from_db, from_csv = Workspace(), Workspace()
    r_db = import_query(from_db, "offenses", server, query, password=PASSWORD)
    r_csv = import_files(from_csv, "offenses", [_csv(df, tmp_path / "offenses.csv")])
    _same_records(from_db.frames["offenses"], from_csv.frames["offenses"])
    assert (r_db.rows_read, r_db.accepted, r_db.rejected) == (r_csv.rows_read, r_csv.accepted, r_csv.rejected)
    assert r_db.rows_read == 2_500 and r_db.rejected == 3 and r_db.rejected_by_reason == r_csv.rejected_by_reason
    # leading zeros of codes and district keys survive the database too: 01/07/007 are districts 1 and 7
    assert sorted(from_db.frames["offenses"]["district"].dropna().unique()) == ["1", "2", "3", "7"]
    expected_robbery = int((df["nibrs_code"] == "120").sum() - (df["nibrs_code"].iloc[:3] == "120").sum())
    assert int((from_db.frames["offenses"]["category"] == "robbery").sum()) == expected_robbery


def test_since_column_pulls_only_newer_rows_and_never_stores_the_password(server, tmp_path):
    from workstation.ingest.database import import_query

    df = _rows(400, 2)
    df = df[df["offense_date"].notna()].reset_index(drop=True)
    _load(server, df, "cad_feed")
    query = tmp_path / "feed.sql"
    query.write_text("SELECT * FROM cad_feed")
    url_with_password = server.replace("analyst@", f"analyst:{PASSWORD}@")
    ws = Workspace()
    first = import_query(ws, "offenses", url_with_password, query, since_column="offense_date")
    assert first.added == len(df) == 397
    newer = _rows(25, 3, start="2019-08-01")      # all after the first pull's newest offense_date
    newer = newer[newer["offense_date"].notna()].reset_index(drop=True)
    _load(server, newer, "cad_feed", replace=False)
    second = import_query(ws, "offenses", url_with_password, query, since_column="offense_date")
    assert second.rows_read == len(newer) and second.added == len(newer)
    assert len(ws.frames["offenses"]) == len(df) + len(newer)
    third = import_query(ws, "offenses", url_with_password, query, since_column="offense_date")
    assert third.rows_read == 0 and any("no rows newer" in w for w in third.warnings)
    mark = next(iter(ws.meta["database_pulls"].values()))
    assert mark["value"] == newer["offense_date"].max().isoformat()
    saved = ws.save(tmp_path / "w.psw")
    assert PASSWORD.encode() not in saved.read_bytes()
    assert all(PASSWORD not in e["file_name"] for e in ws.import_log)
    assert ws.import_log[0]["file_name"] == f"{server} (feed.sql)"


def test_cli_shape_and_clear_messages(server, tmp_path):
    df = _rows(300, 4)
    _load(server, df, "rms_cli")
    query = tmp_path / "q.sql"
    query.write_text("SELECT * FROM rms_cli")
    wsp = tmp_path / "cli.psw"
    env = {**os.environ, "PGPASSWORD": PASSWORD}
    run = subprocess.run([sys.executable, "main.py", "import", "--workspace", str(wsp), "--kind", "offenses",
                          "--source", server, "--query", str(query), "--since-column", "offense_date", "--json"],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["rows_read"] == 300 and summary["rejected"] == 3 and summary["records_added"] == 297
    assert len(Workspace.open(wsp).frames["offenses"]) == 297
    bad = subprocess.run([sys.executable, "main.py", "import", "--workspace", str(wsp), "--kind", "offenses",
                          "--source", server, "--query", str(query)], cwd=ROOT, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "PGPASSWORD"}, timeout=300)
    assert bad.returncode == 2 and "password" in bad.stderr.lower() and "Traceback" not in bad.stderr
    broken = tmp_path / "broken.sql"
    broken.write_text("SELECT * FROM no_such_table")
    with pytest.raises(UserError, match="The query failed .*no_such_table.*Fix the query file"):
        from workstation.ingest.database import import_query

        import_query(Workspace(), "offenses", server, broken, password=PASSWORD)
    with pytest.raises(UserError, match="not a database address"):
        from workstation.ingest.database import import_query

        import_query(Workspace(), "offenses", "mysql://x@y/z", broken, password=PASSWORD)

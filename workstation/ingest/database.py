"""A database as a source (issue 14): rows of an SQL query against an RMS or CAD warehouse (PostgreSQL), imported
through the same profiles, validation, rejection reasons and merge-by-id as a spreadsheet.

- The query's rows are fetched in batches through a server-side cursor (memory holds one batch of raw rows at a
  time, then the text table), every value turned into text exactly as a CSV export would carry it, so one profile
  serves the file export and the warehouse alike.
- ``since_column``: only rows whose value in that column is newer than the largest value of the previous pull from the
  same source and query; the mark is kept in the workspace (``meta["database_pulls"]``), never the credentials.
- Credentials are never stored: the import log and the pull marks name the source without its password. A password
  comes from the URL of this run, libpq's own PGPASSWORD / ~/.pgpass, or ``password=`` (the app and the CLI ask
  for it each time).
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from workstation.core.errors import UserError
from workstation.core.workspace import Workspace
from workstation.ingest import readers
from workstation.ingest.importer import merge_prepared, prepare_table
from workstation.ingest.profiles import Profile, detect_profile
from workstation.ingest.result import ImportResult, stop_import

BATCH_ROWS = 50_000
SCHEMES = ("postgresql", "postgres")


def public_source(url: str) -> str:
    """The source URL without its password (what the import log and the workspace may keep)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def check_source(url: str) -> None:
    scheme = urlsplit(str(url)).scheme.lower()
    if scheme not in SCHEMES:
        raise UserError(f"--source '{public_source(str(url))}' is not a database address this version reads: write "
                        "it as postgresql://user@host:port/database (the password is asked for, or taken from "
                        "PGPASSWORD or ~/.pgpass).")


def _text(v) -> str | None:
    """A database value as an export would write it: dates and times in ISO form, numbers without float noise."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None).isoformat(sep=" ") if v.tzinfo is None else v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v) if v == v else None
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, (bytes, memoryview)):
        return bytes(v).hex()
    return str(v)


def _pull_key(source: str, query: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}\n{public_source(source)}\n{query.strip()}".encode()).hexdigest()[:16]


_MARK_TYPES = {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "int": int, "float": float,
               "decimal": decimal.Decimal, "str": str}


def _mark_of(value) -> dict:
    for name, typ in (("datetime", dt.datetime), ("date", dt.date), ("int", int), ("float", float),
                      ("decimal", decimal.Decimal)):
        if isinstance(value, typ) and not isinstance(value, bool):
            return {"type": name, "value": value.isoformat() if name in ("datetime", "date") else str(value)}
    return {"type": "str", "value": str(value)}


def _connect(source: str, password: str | None):
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency; a broken install says so
        raise UserError("Reading from a database needs the psycopg package (pip install 'psycopg[binary]').") \
            from exc
    kwargs = {"connect_timeout": 15}
    if password is not None:
        kwargs["password"] = password
    try:
        return psycopg.connect(source, **kwargs)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        raise UserError(f"Could not connect to {public_source(source)}: {first}. Check the address, that the "
                        "server is running and reachable, and the user name and password.") from None


def read_query(source: str, query: str, *, password: str | None = None, since_column: str | None = None,
               since=None, should_stop: Callable[[], bool] | None = None,
               progress: Callable[[int], None] | None = None):
    """(columns, text DataFrame, newest since-column value) for the rows of ``query``; with ``since_column`` only rows
    whose value is greater than ``since`` (all rows when ``since`` is None)."""
    from psycopg import errors as pg_errors
    from psycopg import sql

    check_source(source)
    body = query.strip().rstrip(";").strip()
    if not body:
        raise UserError("The query file is empty: write one SELECT statement.")
    con = _connect(source, password)
    try:
        params = None
        if since_column:
            stmt = sql.SQL("SELECT * FROM ({}) AS psp_q").format(sql.SQL(body))
            if since is not None:
                stmt = sql.SQL("{} WHERE psp_q.{} > %s").format(stmt, sql.Identifier(since_column))
                params = (since,)
            stmt = sql.SQL("{} ORDER BY psp_q.{}").format(stmt, sql.Identifier(since_column))
        else:
            stmt = sql.SQL(body)
        frames, newest, columns = [], None, None
        try:
            with con.transaction():
                # a named (server-side) cursor streams the rows: one batch in memory at a time
                with con.cursor(name="psp_import") as cur:
                    cur.itersize = BATCH_ROWS
                    cur.execute(stmt, params)
                    columns = [d.name for d in cur.description]
                    if since_column and since_column not in columns:
                        raise UserError(f"--since-column '{since_column}' is not a column of the query's result "
                                        f"(columns: {', '.join(columns)}).")
                    at = columns.index(since_column) if since_column else None
                    read = 0
                    while True:
                        stop_import(should_stop)
                        rows = cur.fetchmany(BATCH_ROWS)
                        if not rows:
                            break
                        if at is not None:
                            last = rows[-1][at]
                            if last is not None:
                                newest = last
                        frames.append(pd.DataFrame([[_text(v) for v in r] for r in rows], columns=columns,
                                                   dtype="str"))
                        read += len(rows)
                        if progress:
                            progress(read)
        except pg_errors.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"The query failed on {public_source(source)}: {first}. Fix the query file and try "
                            "again.") from None
    finally:
        con.close()
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: pd.Series([], dtype="str")
                                                                           for c in columns or []})
    return columns or [], df, newest


def import_query(ws: Workspace, kind: str, source: str, query_file, *, profile: Profile | None = None,
                 since_column: str | None = None, password: str | None = None,
                 progress: Callable[[float], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> ImportResult:
    """Import the rows of the SQL in ``query_file`` from ``source`` into ``ws`` as ``kind`` (see the module doc)."""
    query_path = Path(query_file)
    try:
        query = query_path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"Cannot read the query file {query_path}: {exc.strerror or exc}.") from None
    check_source(source)
    label = f"{public_source(source)} ({query_path.name})"
    key = _pull_key(source, query, kind)
    pulls = dict(ws.meta.get("database_pulls") or {})
    mark = pulls.get(key) if since_column else None
    since = None
    if mark and mark.get("column") == since_column:
        since = _MARK_TYPES.get(mark.get("type"), str)(mark["value"])
    columns, df, newest = read_query(source, query, password=password, since_column=since_column, since=since,
                                     should_stop=should_stop)
    if progress:
        progress(0.4)
    if since_column and not len(df):
        result = ImportResult(kind=kind)
        result.warnings.append(f"{label}: no rows newer than {mark['value'] if mark else 'the last pull'} in "
                               f"'{since_column}'; the workspace is unchanged.")
        return result
    if profile is None:
        profile = detect_profile(columns, kind)
        if profile is None:
            shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
            raise UserError(f"{label}: no import profile recognises the query's columns ({shown}); rename them in "
                            "the SELECT (e.g. AS incident_number) or pass --profile P.json.")
    elif profile.kind != kind:
        raise UserError(f"{label}: profile '{profile.name}' imports {profile.kind}, not {kind}.")
    raw = readers.RawTable(df=df, first_row=1, file_format="database")
    digest = hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).hexdigest()
    prepared = prepare_table(raw, query_path, kind, profile, should_stop, None, size=0, sha256=digest, label=label)
    result = merge_prepared(ws, kind, [prepared], progress, should_stop)
    if since_column and newest is not None:
        pulls[key] = {"source": public_source(source), "query": query_path.name, "kind": kind,
                      "column": since_column, **_mark_of(newest)}
        ws.meta["database_pulls"] = pulls
        ws.dirty = True
    return result

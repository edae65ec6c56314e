"""The workspace: every record set, the geography, scenarios and the import log, saved as one SQLite file.

Record sets are stored one column per row (an Arrow IPC stream each, LZ4-compressed where that halves it) so that
opening is a copy, not a decode, and a column can be read on its own; everything small (areas, scenarios, import log, settings) is stored as plain rows/JSON so the file stays inspectable
with any SQLite tool. Saving writes a complete new file beside the old one and renames it over the old one, so a crash
at any moment leaves either the previous file or the new one, whole. Beside each record set the file may carry the
counting engine's index of it (``SavedIndex``), keyed by checksums of the very column bytes it was derived from and
dropped on open when anything does not match.
"""
from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from workstation.core import schema
from workstation.core.memory import release_unused_memory, use_system_allocator_for_arrow
from workstation.core.errors import UserError
from workstation.core.fileio import sqlite_read_only, write_atomically

SCHEMA_VERSION = 4  # 2: reference layers (streets, premises, census blocks ...); 3: tables as Arrow IPC;
# 4: record sets one column per row (frame_columns), large files in 64 KiB pages
FILE_SUFFIX = ".psw"
APPLICATION_ID = 0x50535731  # "PSW1": marks the SQLite file as ours


use_system_allocator_for_arrow()
log = logging.getLogger(__name__)



def _newest(occ: pd.Series):
    """The latest time in a datetime column (NaT when none). On datetime64 it is an integer max of the column (NaT is
    the smallest int64, so it never wins): a few ms at 10M rows, where pandas' NaN-aware max takes ~50 ms, and it is
    asked on the UI thread each time the data change."""
    values = occ.to_numpy()
    if values.dtype.kind == "M" and len(values):
        newest = int(values.view("i8").max())
        return pd.NaT if newest == np.iinfo(np.int64).min else \
            pd.Timestamp(newest, unit=np.datetime_data(values.dtype)[0])
    return occ.max()

class WorkspaceError(UserError):
    """A workspace file cannot be read or written; the message names the file and what to do."""


@dataclass
class Area:
    """A named polygon: a district, a target area, the city outline or a saved what-if scenario.

    ``geometry`` is a shapely (Multi)Polygon in WGS84 lon/lat. ``version`` increases with every official boundary
    change; ``history`` keeps earlier versions as ``{"version", "geojson", "changed", "note"}`` dicts.
    """

    name: str
    kind: str  # "district" | "target_area" | "city" | "scenario"
    geometry: object
    population: float | None = None
    version: int = 1
    source: str = ""
    base: str | None = None  # for a scenario: the target area it was drawn from
    notes: str = ""
    history: list = field(default_factory=list)
    created: str = ""
    modified: str = ""

    def to_row(self) -> dict:
        import shapely

        return {
            "name": self.name, "kind": self.kind, "geojson": shapely.to_geojson(self.geometry) if self.geometry is not None else "null",
            "population": self.population, "version": self.version, "source": self.source, "base": self.base,
            "notes": self.notes, "history": json.dumps(self.history), "created": self.created,
            "modified": self.modified,
        }

    @classmethod
    def from_row(cls, row: dict) -> "Area":
        import shapely

        return cls(
            name=row["name"], kind=row["kind"], geometry=_geometry_or_none(row["geojson"]),
            population=row["population"], version=row["version"], source=row["source"] or "", base=row["base"],
            notes=row["notes"] or "", history=json.loads(row["history"] or "[]"), created=row["created"] or "",
            modified=row["modified"] or "",
        )


def _geometry_or_none(text):
    """A district known only from the records' district column has no polygon yet: stored as JSON null."""
    import shapely

    return None if text in (None, "", "null") else shapely.from_geojson(text)


LAYER_GEOMETRY_TYPES = ("point", "line", "polygon")


@dataclass
class Layer:
    """A reference layer: streets, bus routes or stops, licensed premises, vacant properties, census blocks ...

    ``features`` has one row per feature: ``geometry`` (WKB, WGS84 lon/lat), ``label`` (text or None),
    ``population`` and ``housing`` (numbers or NaN; census layers) and ``properties`` (the file's attributes as
    JSON). ``style`` is how the map draws it: ``{"visible", "colour", "width", "labels", "basemap"}``.
    """

    name: str
    geometry_type: str  # "point" | "line" | "polygon"
    features: pd.DataFrame
    source: str = ""
    loaded: str = ""
    population_field: str | None = None
    housing_field: str | None = None
    label_field: str | None = None
    style: dict = field(default_factory=dict)
    notes: str = ""
    _geoms: object = field(default=None, repr=False, compare=False)

    @property
    def count(self) -> int:
        return len(self.features)

    @property
    def has_population(self) -> bool:
        return (self.geometry_type == "polygon" and self.population_field is not None
                and "population" in self.features and bool(self.features["population"].notna().any()))

    @property
    def has_housing(self) -> bool:
        return "housing" in self.features and bool(self.features["housing"].notna().any())

    def geometries(self):
        """The features' shapely geometries (a numpy object array, decoded once)."""
        if self._geoms is None or len(self._geoms) != len(self.features):
            import shapely

            self._geoms = shapely.from_wkb(self.features["geometry"].to_numpy())
        return self._geoms

    def meta_row(self) -> dict:
        return {"name": self.name, "geometry_type": self.geometry_type, "source": self.source,
                "loaded": self.loaded, "count": self.count, "population_field": self.population_field,
                "housing_field": self.housing_field, "label_field": self.label_field, "style": self.style,
                "notes": self.notes}


def layer_frame(geometries, labels=None, population=None, housing=None, properties=None) -> pd.DataFrame:
    """The features frame of a ``Layer`` from shapely geometries and per-feature values (None where absent)."""
    import shapely

    n = len(geometries)
    blank = [None] * n
    return pd.DataFrame({
        "geometry": pd.Series(list(shapely.to_wkb(np.asarray(geometries, dtype=object))), dtype=object),
        "label": pd.Series(labels if labels is not None else blank, dtype=object),
        "population": pd.Series(population if population is not None else [np.nan] * n, dtype="float64"),
        "housing": pd.Series(housing if housing is not None else [np.nan] * n, dtype="float64"),
        "properties": pd.Series(properties if properties is not None else ["{}"] * n, dtype=object),
    })


@dataclass
class SavedIndex:
    """A derived index of one record set (the counting engine's day order and atoms), stored in the workspace file
    beside the columns it was derived from so that an open need not sort and hash them again.

    ``recipe`` says what the arrays are (the engine checks it against its own before using them), ``sources`` names
    the columns they were derived from. The file keeps a checksum of each source column's stored bytes and of each
    array: on open, an index whose sources or arrays do not match byte for byte is dropped, and the engine builds
    the index from the columns as if there were none. ``frame`` is the record set it was read for (the engine takes
    it only for that very frame object, never for a frame changed since)."""

    recipe: dict
    arrays: dict
    sources: tuple
    frame: object = None


# What builds the index a save stores: registered by the counting engine (workstation.engine.analysis), which this
# floor may not import; called as provider(workspace, kind, frame) -> SavedIndex | None. None registered: no index.
_index_providers: list[Callable] = []


def register_index_provider(provider: Callable) -> None:
    if provider not in _index_providers:
        _index_providers.append(provider)


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class Workspace:
    """In-memory workspace. Change it through its methods so that listeners hear about it."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.meta: dict = {"city": "", "timezone": "", "population": None, "created": now_stamp()}
        self.frames: dict[str, pd.DataFrame] = {k: schema.empty_frame(k) for k in schema.DATASET_KINDS}
        self.areas: list[Area] = []
        self.import_log: list[dict] = []
        self.rejects: dict[int, pd.DataFrame] = {}  # load_id -> rejected rows with a 'reason' column
        self.layers: list[Layer] = []
        self.saved_indexes: dict[str, SavedIndex] = {}  # kind -> the index the file carried for its frame
        self.dirty = False
        self.revision = 0  # counts changes: a save of a detached copy knows whether the open one moved on since
        self._listeners: list[Callable[[str], None]] = []

    # ---- change notification (plain callbacks; ui/ re-emits them as Qt signals) ----
    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[str], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def changed(self, what: str) -> None:
        self.dirty = True
        self.revision += 1
        if self.saved_indexes:  # an index read for a frame that has been replaced is let go (with that frame)
            self.saved_indexes = {k: v for k, v in self.saved_indexes.items() if v.frame is self.frames.get(k)}
        for cb in list(self._listeners):
            cb(what)

    # ---- detached copies: a worker changes or saves one; the open workspace is never touched off its thread ----
    def detached(self) -> "Workspace":
        """A copy sharing the (never mutated in place) frames but with its own containers and no listeners."""
        import copy

        c = Workspace.__new__(Workspace)
        c.__dict__.update(self.__dict__)
        c.frames = dict(self.frames)
        c.areas = [copy.copy(a) for a in self.areas]
        c.import_log = list(self.import_log)
        c.rejects = dict(self.rejects)
        c.layers = list(self.layers)
        c.meta = copy.deepcopy(self.meta)
        c._listeners = []
        return c

    def adopt(self, worked: "Workspace", what: str) -> None:
        """Take over the containers of a detached copy a worker changed, then notify listeners once."""
        self.frames = worked.frames
        self.areas = worked.areas
        self.import_log = worked.import_log
        self.rejects = worked.rejects
        self.layers = worked.layers
        self.meta = worked.meta
        self.changed(what)

    def saved_as(self, path, revision: int) -> None:
        """A detached copy taken at ``revision`` was saved to ``path``: this is that file now, and it is clean
        unless it changed since the copy was taken."""
        self.path = Path(path)
        if self.revision == revision:
            self.dirty = False

    # ---- record sets ----
    def frame(self, kind: str) -> pd.DataFrame:
        return self.frames[kind]

    def set_frame(self, kind: str, df: pd.DataFrame) -> None:
        self.frames[kind] = schema.conform(df, kind)
        self.changed(kind)

    def as_of(self, kind: str | None = None):
        """The newest record's date (a pandas Timestamp, normalised to the day) of one dataset or of all; None if empty."""
        kinds = [kind] if kind else [k for k in schema.DATASET_KINDS if k != "people"]
        best = None
        for k in kinds:
            occ = self.frames[k]["occurred"] if "occurred" in self.frames[k] else None
            if occ is None or not len(occ):
                continue
            m = _newest(occ)
            if pd.notna(m) and (best is None or m > best):
                best = m
        return None if best is None else pd.Timestamp(best).normalize()

    def next_load_id(self) -> int:
        return 1 + max((e["load_id"] for e in self.import_log), default=0)

    # ---- geography ----
    def areas_of(self, kind: str) -> list[Area]:
        return [a for a in self.areas if a.kind == kind]

    @property
    def districts(self) -> list[Area]:
        return self.areas_of("district")

    @property
    def target_areas(self) -> list[Area]:
        return self.areas_of("target_area")

    @property
    def scenarios(self) -> list[Area]:
        return self.areas_of("scenario")

    @property
    def city(self) -> Area | None:
        found = self.areas_of("city")
        return found[0] if found else None

    def area(self, name: str, kind: str | None = None) -> Area | None:
        for a in self.areas:
            if a.name == name and (kind is None or a.kind == kind):
                return a
        return None

    def put_area(self, area: Area, notify: bool = True) -> None:
        """Add an area, or replace the one of the same name and kind (an official change bumps its version).
        ``notify=False`` leaves the change announcement to the caller (an import announces one for all its areas)."""
        area.modified = now_stamp()
        area.created = area.created or area.modified
        for i, a in enumerate(self.areas):
            if a.name == area.name and a.kind == area.kind:
                self.areas[i] = area
                break
        else:
            self.areas.append(area)
        if notify:
            self.changed("areas")

    def remove_area(self, name: str, kind: str) -> None:
        self.areas = [a for a in self.areas if not (a.name == name and a.kind == kind)]
        self.changed("areas")

    # ---- reference layers ----
    def layer(self, name: str) -> Layer | None:
        for lay in self.layers:
            if lay.name == name:
                return lay
        return None

    def put_layer(self, layer: Layer) -> None:
        """Add a layer, or replace the one of the same name (a reload keeps its style)."""
        for i, old in enumerate(self.layers):
            if old.name == layer.name:
                layer.style = {**old.style, **layer.style} if layer.style else dict(old.style)
                self.layers[i] = layer
                break
        else:
            self.layers.append(layer)
        self.changed("layers")

    def remove_layer(self, name: str) -> None:
        self.layers = [lay for lay in self.layers if lay.name != name]
        self.changed("layers")

    def set_layer_style(self, name: str, **style) -> None:
        lay = self.layer(name)
        if lay is None:
            raise UserError(f"The workspace has no layer named '{name}'.")
        lay.style = {**lay.style, **style}
        self.changed("layer_style")

    # ---- persistence ----
    def save(self, path: str | os.PathLike | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise WorkspaceError("The workspace has no file name yet: choose one with Save As.")
        write_workspace(self, target)
        self.path = target
        self.dirty = False
        return target

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Workspace":
        return read_workspace(Path(path))

    def snapshot_bytes(self) -> bytes:
        """The workspace as the bytes of a .psw file (used by tests that check 'unchanged')."""
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "snap.psw"
            write_atomic(self, p, fsync=False)
            return p.read_bytes()


# ---------------------------------------------------------------------------------------------------------------------
_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE frames (kind TEXT PRIMARY KEY, rows INTEGER NOT NULL, columns TEXT NOT NULL);
CREATE TABLE frame_columns (kind TEXT NOT NULL, name TEXT NOT NULL, arrow BLOB NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE areas (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, geojson TEXT NOT NULL,
    population REAL, version INTEGER NOT NULL, source TEXT, base TEXT, notes TEXT, history TEXT,
    created TEXT, modified TEXT, UNIQUE (name, kind));
CREATE TABLE import_log (load_id INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE rejects (load_id INTEGER PRIMARY KEY, parquet BLOB NOT NULL);
CREATE TABLE layers (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, meta TEXT NOT NULL, parquet BLOB NOT NULL);
CREATE TABLE frame_indexes (kind TEXT PRIMARY KEY, key TEXT NOT NULL);
CREATE TABLE frame_index_arrays (kind TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, name));
"""
# frame_indexes / frame_index_arrays (optional, format 4): the counting engine's index of a record set (SavedIndex).
# A file without them, or with an index whose key does not match its columns, is opened as before and the index is
# built from the columns; programs that do not know these tables ignore them and do not write them.


# Format 4 stores each column of a record set as its own Arrow IPC stream (table frame_columns). Measured on the
# 10M-record workspace of benchmarks/scale_bench.py (cProfile, idle machine): format 3 (one LZ4 Arrow file per
# dataset in 4 KiB pages) took 1.5 s to fetch its 520 MB of blobs from SQLite, 1.1 s to decompress, 0.5 s to convert
# and 2.0 s to conform again; one column per blob in 64 KiB pages reads every column in about 1.5 s of CPU, and a
# column can be read alone. LZ4 is kept only
# where it at least halves a column (ids, empty or constant columns): on coordinates and dates it saves nothing and
# costs its decompression. Files of formats 1-2 hold Parquet and format 3 Arrow, one blob per dataset: the reader
# takes the columns from those (_stored_frames).
_ARROW_MAGIC = b"ARROW1"
_PARQUET_MAGIC = b"PAR1"
_COMPRESS_WHEN_SAVED = 0.5  # LZ4 for a column when it packs to at most this share of its plain size
_COMPRESSION_SAMPLE = 65_536  # values of a column on which that is judged
LARGE_FILE_ROWS = 200_000  # from this many records on, 64 KiB SQLite pages (16x fewer pages to walk per blob)


def _frame_to_blob(df: pd.DataFrame) -> bytes:
    """A whole table as one Arrow IPC file (LZ4): rejected rows and layers, which are small and read whole."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _blob_to_table(blob: bytes):
    """The Arrow table of a whole-table blob: Arrow IPC (format 3 on) or Parquet (formats 1-2)."""
    import pyarrow as pa

    if bytes(blob[:6]) == _ARROW_MAGIC:
        return pa.ipc.open_file(pa.py_buffer(blob)).read_all()
    if bytes(blob[:4]) == _PARQUET_MAGIC:
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(blob))
    raise ValueError("a stored table is neither Arrow nor Parquet")


def _blob_to_frame(blob: bytes) -> pd.DataFrame:
    if bytes(blob[:4]) == _PARQUET_MAGIC:
        return pd.read_parquet(io.BytesIO(blob), engine="pyarrow")
    return _blob_to_table(blob).to_pandas()


def _column_blob(column, name: str):
    """One column (an Arrow array) as an Arrow IPC stream (a buffer SQLite takes without a copy), LZ4-compressed when
    that at least halves it. Whether it does is judged on the first 64k values: encoding every column both ways made
    a 10M-record save take 6 s instead of 3.6."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray) and column.num_chunks > 1 and not pa.types.is_dictionary(column.type):
        # one chunk: text columns arrive from an import in hundreds of batches, and taking rows from a chunked Arrow
        # string column concatenates all of it first (0.25-0.5 s per selection of 200 rows from 7M calls)
        column = column.combine_chunks()

    def encode(values, compression):
        table = pa.table({name: values})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema,
                               options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
            writer.write_table(table)
        return sink.getvalue()

    sample = column.slice(0, _COMPRESSION_SAMPLE)
    packs = encode(sample, "lz4").size <= _COMPRESS_WHEN_SAVED * encode(sample, None).size
    return memoryview(encode(column, "lz4" if packs else None))


def _table_to_columns(table) -> list[tuple[str, bytes]]:
    return [(name, _column_blob(table.column(name), name)) for name in table.column_names]


def _frame_to_columns(df: pd.DataFrame) -> list[tuple[str, bytes]]:
    import pyarrow as pa

    return _table_to_columns(pa.Table.from_pandas(df, preserve_index=False))


def _checksum(data) -> list:
    """[CRC-32, length] of stored bytes: what ties a saved index to the exact bytes of its source columns (about
    4 GB/s, without the GIL)."""
    return [zlib.crc32(data), len(data)]


def _read_column(con: sqlite3.Connection, kind: str, name: str, checksums: dict | None = None) -> pd.Series:
    """One stored column as a pandas Series (one blob in memory at a time: the peak stays near the data's size).
    With ``checksums``, the checksum of the column's stored bytes is put there under its name."""
    import pyarrow as pa

    (blob,) = con.execute("SELECT arrow FROM frame_columns WHERE kind = ? AND name = ?", (kind, name)).fetchone()
    if checksums is not None:
        checksums[name] = _checksum(blob)
    return pa.ipc.open_stream(pa.py_buffer(blob)).read_all().column(0).to_pandas()


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _stored_frames(con: sqlite3.Connection, checksummed: dict | None = None):
    """(kind, {column name: Series}, {column name: checksum}) for each record set of the file: one row per column
    (format 4), or the columns of one whole-table blob per record set (formats 1-3). Checksums are taken of the
    columns ``checksummed[kind]`` names (the sources of a saved index), in format 4 only."""
    if _has_table(con, "frame_columns"):
        for kind, names in con.execute("SELECT kind, columns FROM frames").fetchall():
            if kind in schema.DATASETS:
                wanted = set((checksummed or {}).get(kind, ()))
                sums: dict = {}
                yield kind, {n: _read_column(con, kind, n, sums if n in wanted else None)
                             for n in json.loads(names)}, sums
        return
    for kind, blob in con.execute("SELECT kind, parquet FROM frames"):  # one blob in memory at a time
        if kind in schema.DATASETS:
            table = _blob_to_table(blob)
            del blob
            yield kind, {n: table.column(n).to_pandas() for n in table.column_names}, {}


_CANONICAL_DTYPES = {"datetime": "datetime64[ns]", "float": "float64", "int": "int64", "bool": "bool", "str": "str"}


def _frame_from_columns(kind: str, columns: dict[str, pd.Series]) -> tuple[pd.DataFrame, bool]:
    """The record set from its stored columns. A saved frame was conformed before it was written, so its columns
    come back with their canonical types and are used as they are (no copy, no consolidation of same-typed columns
    into blocks: 2.6 s at 10M records); anything else (a column added to the schema since, a file written by an older
    program) goes through ``schema.conform``. The flag says whether the frame is the stored columns as they are (a saved
    index describes those, not a conformed copy)."""
    fields = schema.DATASETS[kind]
    if list(columns) != [f.name for f in fields]:
        return schema.conform(pd.DataFrame(columns, copy=False), kind), False
    for f in fields:
        s = columns[f.name]
        if f.dtype == "category":
            if not isinstance(s.dtype, pd.CategoricalDtype):
                return schema.conform(pd.DataFrame(columns, copy=False), kind), False
            if s.cat.categories.dtype != "str":  # an empty categorical comes back with object categories
                columns[f.name] = pd.Series(pd.Categorical.from_codes(s.cat.codes, s.cat.categories.astype("str")))
        elif s.dtype != _CANONICAL_DTYPES[f.dtype]:
            return schema.conform(pd.DataFrame(columns, copy=False), kind), False
    df = pd.DataFrame(columns, copy=False)
    if "lat" in df and len(df):
        lat, lon = df["lat"].to_numpy(), df["lon"].to_numpy()
        if not np.array_equal(np.isfinite(lat), np.isfinite(lon)) or np.isinf(lat).any() or np.isinf(lon).any():
            return schema.conform(df, kind), False  # half a location, or an infinite one: conform makes both missing
    return df, True


def write_atomic(ws: Workspace, target: Path, fsync: bool = True, progress=None) -> None:
    """Write the whole workspace to a temporary file in the target's folder, then rename it over the target
    (core.fileio.write_atomically: the previous file stays whole until the new one is complete and on disk)."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"Cannot write the workspace {target}: the folder {target.parent} cannot be made "
                             f"({exc.strerror or exc}). Choose another folder.") from None

    def write(tmp: Path) -> None:
        tmp.unlink()  # SQLite makes its own file
        con = sqlite3.connect(str(tmp))
        total = sum(len(df) for df in ws.frames.values()) or 1
        try:
            if total >= LARGE_FILE_ROWS:
                con.execute("PRAGMA page_size = 65536")  # before the first table: large blobs in few pages
            con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("PRAGMA journal_mode = OFF")  # the file is private until the rename
            con.executescript(_DDL)
            meta = dict(ws.meta)
            meta["schema_version"] = SCHEMA_VERSION
            meta["saved"] = now_stamp()
            con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v, default=str)) for k, v in meta.items()])
            done = 0
            for kind, df in ws.frames.items():
                blobs = _frame_to_columns(df)
                con.execute("INSERT INTO frames VALUES (?, ?, ?)", (kind, len(df), json.dumps([n for n, _ in blobs])))
                con.executemany("INSERT INTO frame_columns VALUES (?, ?, ?)", [(kind, n, b) for n, b in blobs])
                _write_index(con, ws, kind, df, dict(blobs))
                done += len(df)
                if progress is not None:
                    progress(0.9 * done / total)  # the record sets are nearly all of the file
            for a in ws.areas:
                r = a.to_row()
                con.execute(
                    "INSERT INTO areas (name, kind, geojson, population, version, source, base, notes, history,"
                    " created, modified) VALUES (:name, :kind, :geojson, :population, :version, :source, :base,"
                    " :notes, :history, :created, :modified)", r)
            for e in ws.import_log:
                con.execute("INSERT INTO import_log VALUES (?, ?)", (e["load_id"], json.dumps(e, default=str)))
            for load_id, df in ws.rejects.items():
                con.execute("INSERT INTO rejects VALUES (?, ?)", (load_id, _frame_to_blob(df.astype(str))))
            for lay in ws.layers:
                con.execute("INSERT INTO layers (name, meta, parquet) VALUES (?, ?, ?)",
                            (lay.name, json.dumps(lay.meta_row(), default=str), _frame_to_blob(lay.features)))
            con.commit()
        finally:
            con.close()

    write_atomically(target, write, what="the workspace", fsync=fsync, suffix=".saving", error=WorkspaceError,
                     advice="The previous file is unchanged; choose another folder or free some disk space.")


def _write_index(con: sqlite3.Connection, ws: Workspace, kind: str, df: pd.DataFrame, blobs: dict) -> None:
    """Store the engine's index of ``df`` (SavedIndex) in the same file, keyed by the checksums of the very column
    bytes just written for it and of each array. An index cannot be had (no engine registered, an empty frame, an
    error building it): the file simply has none for this record set and the next open builds it."""
    for provider in _index_providers:
        try:
            saved = provider(ws, kind, df)
        except Exception:  # noqa: BLE001 - the index is a cache: the records are saved whatever happens to it
            log.warning("The %s index was not saved; the next open builds it", kind, exc_info=True)
            continue
        if saved is None or any(c not in blobs for c in saved.sources):
            continue
        arrays = {name: np.ascontiguousarray(a) for name, a in saved.arrays.items()}
        data = {name: a.view(np.uint8).data if a.size else b"" for name, a in arrays.items()}  # bytes, no copy
        key = {"recipe": saved.recipe, "rows": len(df),
               "sources": {c: _checksum(blobs[c]) for c in saved.sources},
               "arrays": {name: {"dtype": a.dtype.str, "length": int(a.size), "checksum": _checksum(data[name])}
                          for name, a in arrays.items()}}
        con.execute("INSERT INTO frame_indexes VALUES (?, ?)", (kind, json.dumps(key)))
        con.executemany("INSERT INTO frame_index_arrays VALUES (?, ?, ?)",
                        [(kind, name, data[name]) for name in arrays])
        return


def _index_keys(con: sqlite3.Connection) -> dict[str, dict]:
    """The keys of the saved indexes of the file (none in files without them; an unreadable key is no index)."""
    if not _has_table(con, "frame_indexes"):
        return {}
    keys = {}
    for kind, text in con.execute("SELECT kind, key FROM frame_indexes"):
        try:
            key = json.loads(text)
            if isinstance(key, dict) and isinstance(key.get("sources"), dict) and isinstance(key.get("arrays"), dict):
                keys[kind] = key
        except ValueError:
            log.warning("The saved %s index of this file has an unreadable key; it is rebuilt", kind)
    return keys


def _read_index(con: sqlite3.Connection, kind: str, key: dict, checksums: dict, df: pd.DataFrame):
    """The saved index of ``df`` when everything in its key matches: its row count, the checksum of every source
    column as read just now, and the dtype, length and checksum of every array. Otherwise None (and a log line):
    the engine then builds the index from the columns, so a stale or damaged index can never be counted."""
    try:
        sources = key["sources"]
        if key.get("rows") != len(df) or not sources or any(checksums.get(c) != sources[c] for c in sources):
            log.info("The saved %s index does not match the records in the file; it is rebuilt", kind)
            return None
        arrays = {}
        stored = dict(con.execute("SELECT name, data FROM frame_index_arrays WHERE kind = ?", (kind,)).fetchall())
        if set(stored) != set(key["arrays"]):
            return None
        for name, spec in key["arrays"].items():
            data = stored[name]
            dtype = np.dtype(spec["dtype"])
            if _checksum(data) != spec["checksum"] or len(data) != spec["length"] * dtype.itemsize:
                log.info("The saved %s index is damaged (%s); it is rebuilt", kind, name)
                return None
            arrays[name] = np.frombuffer(data, dtype=dtype)  # read-only: nothing changes an index in place
        return SavedIndex(key["recipe"], arrays, tuple(sources), df)
    except (KeyError, TypeError, ValueError):
        log.warning("The saved %s index of this file is malformed; it is rebuilt", kind, exc_info=True)
        return None


def write_workspace(ws: Workspace, target, progress=None) -> Path:
    """Save ``ws`` to ``target`` (atomically, flushed to disk) and clear what crashed saves left beside it; the
    workspace object itself is not changed (a worker saves a detached copy; see Workspace.saved_as)."""
    target = Path(target)
    write_atomic(ws, target, progress=progress)
    _remove_stale_partials(target)
    if progress is not None:
        progress(1.0)
    return target


def _remove_stale_partials(target: Path, older_than_s: float = 600.0) -> None:
    """Delete half-written temp files that an earlier crashed save left beside the workspace."""
    cutoff = time.time() - older_than_s
    for p in target.parent.glob(f".{target.name}.*.saving"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


# Migrations: MIGRATIONS[v] upgrades an open connection from version v to v + 1, in place (in memory only: the file on
# disk is rewritten on the next save).
def _add_layers_table(con: sqlite3.Connection) -> None:
    """Version 1 -> 2: reference layers arrived; a version-1 file simply has none."""
    con.execute("CREATE TABLE layers (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, meta TEXT NOT NULL, "
                "parquet BLOB NOT NULL)")


def _arrow_tables(con: sqlite3.Connection) -> None:
    """Version 2 -> 3: tables are written as Arrow IPC instead of Parquet; the reader tells them apart by their first
    bytes, so a version-2 file is read as it is (and rewritten as Arrow on its next save)."""


def _columns_per_row(con: sqlite3.Connection) -> None:
    """Version 3 -> 4: record sets are stored one column per row (``frame_columns``). A file of formats 1-3 holds one
    blob per record set in ``frames.parquet``; the reader takes its columns from that blob (``_stored_frames``)
    rather than rewriting it here (re-encoding 10M records took longer than reading them), and the next save writes
    format 4."""


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _add_layers_table, 2: _arrow_tables,
                                                               3: _columns_per_row}


def _layer_from_row(meta: str, blob: bytes) -> Layer:
    m = json.loads(meta)
    return Layer(name=m["name"], geometry_type=m["geometry_type"], features=_blob_to_frame(blob),
                 source=m.get("source") or "", loaded=m.get("loaded") or "",
                 population_field=m.get("population_field"), housing_field=m.get("housing_field"),
                 label_field=m.get("label_field"), style=m.get("style") or {}, notes=m.get("notes") or "")


def read_workspace(path: Path) -> Workspace:
    path = Path(path)
    if not path.exists():
        raise WorkspaceError(f"Workspace file {path} does not exist.")
    if path.is_dir():
        raise WorkspaceError(f"{path} is a folder, not a workspace file: choose the .psw file inside it.")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise WorkspaceError(f"Could not read {path}: {exc.strerror or exc}.") from exc
    if head != b"SQLite format 3\x00":
        raise WorkspaceError(f"{path.name} is not a PSP workspace file (it is not an SQLite database).")
    try:
        con = sqlite_read_only(path)
    except sqlite3.Error as exc:
        raise WorkspaceError(f"Could not open {path.name}: {exc}.") from exc
    try:
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID:
            raise WorkspaceError(f"{path.name} is an SQLite file but not a PSP workspace.")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise WorkspaceError(f"{path.name} was saved by a newer version of the workstation (file format "
                                 f"{version}, this program reads up to {SCHEMA_VERSION}); please update.")
        if version < SCHEMA_VERSION:
            mem = sqlite3.connect(":memory:")
            con.backup(mem)
            con.close()
            con = mem
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](con)
        ws = Workspace()
        ws.meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
        index_keys = _index_keys(con)
        for kind, columns, checksums in _stored_frames(con, {k: list(v["sources"]) for k, v in index_keys.items()}):
            ws.frames[kind], as_stored = _frame_from_columns(kind, columns)
            if kind in index_keys and as_stored:
                saved = _read_index(con, kind, index_keys[kind], checksums, ws.frames[kind])
                if saved is not None:
                    ws.saved_indexes[kind] = saved
        con.row_factory = sqlite3.Row
        ws.areas = [Area.from_row(dict(r)) for r in con.execute("SELECT * FROM areas ORDER BY id")]
        ws.import_log = [json.loads(r["entry"]) for r in con.execute("SELECT entry FROM import_log ORDER BY load_id")]
        ws.rejects = {r["load_id"]: _blob_to_frame(r["parquet"])
                      for r in con.execute("SELECT load_id, parquet FROM rejects")}
        ws.layers = [_layer_from_row(r["meta"], r["parquet"])
                     for r in con.execute("SELECT meta, parquet FROM layers ORDER BY id")]
    except WorkspaceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged table, blob, JSON or geometry: the file is damaged, say so
        # (anything else would reach the analyst as a crash, and a damaged recovery file would crash every start)
        raise WorkspaceError(f"{path.name} is damaged and cannot be read ({exc}). "
                             "Open the previous copy or the recovery file instead.") from exc
    finally:
        con.close()
    ws.path = path
    ws.dirty = False
    release_unused_memory()  # the blobs and Arrow tables of the conversion are gone: give their pages back
    return ws

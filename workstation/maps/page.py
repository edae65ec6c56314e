"""Maps: folium pages that work with no network, built from a workspace (Qt-free; ``ui/map`` displays them).

- Every CDN URL folium writes is rewritten to the local scheme (``psp://assets/<package>@<version>/<path>``; the
  files are installed by scripts/fetch_map_assets.py and pinned in resources/map_assets.json).
- There are no online tiles: the basemap is the workspace's own geometry (city outline, districts, target areas,
  scenarios); an analyst's MBTiles file can be added and is served by the same scheme (``psp://tiles/...``).
- Records are sent as one compact integer array and drawn by a canvas layer (resources/map_local/psp_map.js), or as
  a heat map from the same array: 200,000 points are a few MB of page, not 200,000 JavaScript statements.
- ``standalone_html`` inlines every asset (scripts, styles, fonts, images as data: URIs) into one file that opens
  offline in any browser.
"""
from __future__ import annotations

import base64
import json
import math
import mimetypes
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.engine import geometry as geo
from workstation.engine import periods
from workstation.core import schema
from workstation.core.errors import UserError
from workstation.core.fileio import sqlite_read_only, write_atomically
from workstation.core.paths import ROOT, RESOURCES
from workstation.formatting import format_value, is_missing
from workstation.maps.spatial import SPATIAL_JS

ASSET_DIR = RESOURCES / "map_assets"
LOCAL_DIR = RESOURCES / "map_local"
MANIFEST_PATH = RESOURCES / "map_assets.json"

SCHEME = "psp"
ASSET_BASE = f"{SCHEME}://assets/"
PAGE_BASE = f"{SCHEME}://pages/"
TILE_BASE = f"{SCHEME}://tiles/"
QWEBCHANNEL_URL = ASSET_BASE + "qtwebchannel/qwebchannel.js"  # served by ui/map from Qt's own resources
OWN_JS = ASSET_BASE + "local/psp_map.js"
OWN_CSS = ASSET_BASE + "local/psp_map.css"
HEAT_JS = "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js"
DRAW_JS = "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js"
DRAW_CSS = "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.css"

MAX_ZOOM = 19
EMBED_ALL_FIELDS_UP_TO = 50_000   # larger point sets embed id/date/category only; the app asks for the rest

CATEGORY_COLOURS = {
    "homicide": "#7b0000", "rape": "#e84393", "robbery": "#e67e22", "aggravated_assault": "#c0392b",
    "burglary": "#2471a3", "larceny_theft": "#5dade2", "motor_vehicle_theft": "#1abc9c", "arson": "#8e44ad",
    "shotspotter": "#d35400", "disorder": "#7f8c8d", "priority": "#2c3e50",
}
OTHER_COLOURS = ("#34495e", "#16a085", "#f1c40f", "#9b59b6", "#27ae60", "#e84393", "#95a5a6", "#a04000")
# light to dark grey, 5 classes: the records are drawn in colour on top and must stand out on any class
CHOROPLETH_COLOURS = ("#f7f7f7", "#d9d9d9", "#bdbdbd", "#969696", "#636363")
# Panes, bottom to top: the city fill and district shading, the records, boundaries (Leaflet's overlay pane, 400),
# the heat map, the edited boundary (psp_map.js creates the last three).
BASE_PANE = "pspBase"
TARGET_COLOUR = "#6c3483"
SCENARIO_COLOUR = "#117a65"
SELECTED_COLOUR = "#d35400"
# Two boundaries compared on one map: the first solid orange, the second dashed blue (apart in hue and in line style,
# so they stay apart for colour-blind readers and on a grey printout).
COMPARE_STYLES = ((SELECTED_COLOUR, None), ("#1f4e99", "9 6"))


# ---------------------------------------------------------------------------------------------------------------------
# Assets
@lru_cache(maxsize=1)
def manifest() -> dict:
    try:
        return json.loads(MANIFEST_PATH.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"The map asset manifest {MANIFEST_PATH} cannot be read ({exc}); restore it from the "
                        "installation.") from exc


def asset_file(rel: str) -> Path | None:
    """The file behind ``psp://assets/<rel>``, or None when there is none (never a path outside the asset folders)."""
    rel = rel.split("?", 1)[0].split("#", 1)[0].lstrip("/")
    if rel.startswith("local/"):
        base, rel = LOCAL_DIR, rel[len("local/"):]
    else:
        base = ASSET_DIR
    try:
        p = (base / rel).resolve()
        p.relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return p if p.is_file() else None


def missing_assets() -> list[str]:
    """The pinned asset files that are not installed (empty when the map can be shown)."""
    out = []
    for pkg in manifest()["packages"]:
        for rel in pkg["files"]:
            if not (ASSET_DIR / f"{pkg['name']}@{pkg['version']}" / rel).is_file():
                out.append(f"{pkg['name']}@{pkg['version']}/{rel}")
    for own in ("psp_map.js", "psp_map.css"):
        if not (LOCAL_DIR / own).is_file():
            out.append(f"local/{own}")
    return out


def require_assets() -> None:
    missing = missing_assets()
    if missing:
        raise UserError(f"The map's web assets are not installed ({len(missing)} files missing, e.g. {missing[0]}). "
                        "Run: python scripts/fetch_map_assets.py (once, with access to the npm registry).")


_URL_ATTR = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def localise_html(html: str) -> str:
    """Rewrite every CDN URL folium wrote to the local scheme; refuse a page that would still load anything remote."""
    for url, local in manifest()["urls"].items():
        html = html.replace(url, ASSET_BASE + local)
    remote = [u for u in _URL_ATTR.findall(html) if re.match(r"(?i)(https?:)?//", u) and not _is_link_only(html, u)]
    if remote:
        raise UserError(f"The map page would load {remote[0]} from the network; add it to resources/map_assets.json "
                        "(and fetch it) or leave that map feature out.")
    return html


def _is_link_only(html: str, url: str) -> bool:
    """An <a href> (a link a person may click, e.g. Leaflet's attribution) loads nothing by itself."""
    i = html.find(url)
    j = html.rfind("<", 0, i)
    return html[j:j + 2].lower() == "<a"


def standalone_html(html: str) -> str:
    """The page with every psp:// asset inlined (scripts, styles, and the fonts/images those styles use as data: URIs):
    one file that opens offline in any browser. Tiles from an MBTiles file are not carried along."""
    html = localise_html(html)

    def script(m):
        src = m.group(1)
        if src == QWEBCHANNEL_URL:
            return ""                                   # only meaningful inside the application
        text = _read_asset(src).decode("utf-8")
        return "<script>" + text.replace("</script", "<\\/script") + "\n</script>"

    def style(m):
        href = m.group(1)
        css = _read_asset(href).decode("utf-8")
        return "<style>" + _inline_css_urls(css, href) + "\n</style>"

    html = re.sub(r"""<script[^>]*\bsrc\s*=\s*["'](psp://assets/[^"']+)["'][^>]*>\s*</script>""", script, html)
    html = re.sub(r"""<link[^>]*\bhref\s*=\s*["'](psp://assets/[^"']+)["'][^>]*/?>""", style, html)
    left = [u for u in _URL_ATTR.findall(html) if u.startswith(ASSET_BASE)]
    if left:
        raise UserError(f"Could not inline {left[0]} into the standalone map.")
    return html


def _read_asset(url: str) -> bytes:
    p = asset_file(url[len(ASSET_BASE):])
    if p is None:
        raise UserError(f"The map asset {url} is not installed; run: python scripts/fetch_map_assets.py")
    return p.read_bytes()


def _inline_css_urls(css: str, css_url: str) -> str:
    base = css_url.rsplit("/", 1)[0] + "/"

    def repl(m):
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#", "about:")):
            return m.group(0)
        clean = ref.split("?", 1)[0].split("#", 1)[0]
        target = _join_url(base, clean)
        stem, dot, ext = target.rpartition(".")
        if ext in ("ttf", "eot", "svg", "woff") and "@font-face" in css and asset_file(
                (stem + ".woff2")[len(ASSET_BASE):]) is not None:
            return "url(data:,)"                     # every engine that reads this page takes the woff2 twin
        p = asset_file(target[len(ASSET_BASE):]) if target.startswith(ASSET_BASE) else None
        if p is None:
            # a fallback format this installation does not carry (e.g. .eot for old Internet Explorer): drop it
            return "url(data:,)"
        mime = mimetypes.guess_type(p.name)[0] or _FONT_TYPES.get(p.suffix, "application/octet-stream")
        return f"url(data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()})"

    return _CSS_URL.sub(repl, css)


_FONT_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
               ".eot": "application/vnd.ms-fontobject"}


def _join_url(base: str, ref: str) -> str:
    if "://" in ref:
        return ref
    parts = base.split("/")[:-1]
    for seg in ref.split("/"):
        if seg == "..":
            if len(parts) > 3:
                parts.pop()
        elif seg and seg != ".":
            parts.append(seg)
    return "/".join(parts)


# ---------------------------------------------------------------------------------------------------------------------
# MBTiles: a SQLite file of tiles in TMS order (row 0 at the south).
@dataclass(frozen=True)
class MBTiles:
    path: Path
    name: str
    format: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None   # west, south, east, north
    attribution: str

    @property
    def mime(self) -> str:
        return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}.get(
            self.format, "application/octet-stream")


def open_mbtiles(path) -> MBTiles:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"The tile file {p} does not exist.")
    try:
        con = sqlite_read_only(p)
        try:
            meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
            zooms = con.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{p.name} is not an MBTiles file (an SQLite file with 'metadata' and 'tiles' tables): "
                        f"{exc}.") from exc
    fmt = str(meta.get("format", "png")).lower()
    if fmt == "pbf":
        raise UserError(f"{p.name} holds vector tiles (pbf); the map shows raster tiles (png or jpg) only.")
    bounds = None
    if meta.get("bounds"):
        try:
            b = tuple(float(v) for v in str(meta["bounds"]).split(","))
            bounds = b if len(b) == 4 else None
        except ValueError:
            bounds = None
    lo = int(meta.get("minzoom", zooms[0] if zooms[0] is not None else 0))
    hi = int(meta.get("maxzoom", zooms[1] if zooms[1] is not None else 18))
    return MBTiles(p, str(meta.get("name") or p.stem), fmt, lo, hi, bounds, str(meta.get("attribution", "")))


class MBTilesReader:
    """Reads tiles by XYZ address (what Leaflet asks for) from an MBTiles file (TMS rows: row = 2^z - 1 - y)."""

    def __init__(self, path) -> None:
        self.info = open_mbtiles(path)
        self._con = sqlite_read_only(self.info.path, check_same_thread=False)
        self._lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        if z < 0 or x < 0 or y < 0 or x >= 2 ** z or y >= 2 ** z:
            return None
        row = (2 ** z - 1) - y
        with self._lock:
            r = self._con.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                  (z, x, row)).fetchone()
        return None if r is None else bytes(r[0])

    def close(self) -> None:
        self._con.close()


@dataclass(frozen=True)
class TileSource:
    """A raster basemap the page loads from the local scheme (``psp://tiles/<key>/{z}/{x}/{y}``)."""

    key: str
    name: str
    min_zoom: int = 0
    max_zoom: int = 18
    attribution: str = ""

    @property
    def url(self) -> str:
        return f"{TILE_BASE}{self.key}/{{z}}/{{x}}/{{y}}"

    @classmethod
    def from_mbtiles(cls, key: str, info: MBTiles) -> "TileSource":
        return cls(key, info.name, info.min_zoom, info.max_zoom, info.attribution or info.name)


# ---------------------------------------------------------------------------------------------------------------------
# Building the page
@dataclass(frozen=True)
class Outline:
    """A boundary drawn on top of the others in a colour and line style of its own (comparisons)."""

    area_key: str
    label: str = ""
    colour: str = SELECTED_COLOUR
    dash: str | None = None          # a Leaflet dashArray such as "9 6"; None: solid
    weight: float = 3.5


def compare_outlines(ws, key_a: str, key_b: str) -> tuple[Outline, Outline]:
    """The two outlines of a comparison (A solid orange, B dashed blue), labelled as the area picker labels them."""
    from workstation.engine.areas import resolve_area

    # B wider and drawn under A: where the two boundaries run together, A's line shows with B's dashes beside it
    return tuple(Outline(k, f"{tag}: {resolve_area(ws, k).label}", colour, dash, weight)
                 for (colour, dash), k, tag, weight in zip(COMPARE_STYLES, (key_a, key_b), ("A", "B"), (2.5, 5.5)))


@dataclass
class MapOptions:
    area_key: str = "citywide"
    as_of: object = None              # default: the workspace's newest record
    measure: str = "part1_violent"
    window: str = "ytd"               # "wtd" | "28d" | "ytd" | "ytd-1" ... | "all"
    points: bool = True
    heat: bool = False
    choropleth: str | None = "counts"  # "counts" | "per_100k" | "per_sq_mi" | None
    target_areas: bool = True
    scenarios: bool = True
    clip_to_area: bool = False        # only the records inside the selected area
    editor: bool = False              # leaflet.draw and the boundary editor
    bridge: bool = False              # qwebchannel.js (inside the application only)
    tiles: TileSource | None = None
    embed_all_fields: bool | None = None  # None: all fields up to EMBED_ALL_FIELDS_UP_TO points
    point_radius: int = 3
    outlines: tuple = ()              # Outline(s) over everything else, the first on top; the view fits them all
    layers: bool = True               # the workspace's reference layers (streets, places, census) - maps.layers
    overlay: object = None            # maps.spatial.SpatialOverlay: Gi* cells, density, buffer ring (issue 10)


@dataclass
class MapPage:
    html: str
    n_points: int
    n_unlocated: int
    bounds: tuple[float, float, float, float] | None  # south, west, north, east
    title: str
    legend: list[str] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


def _area_geometry(ws, area_key: str):
    from workstation.engine.areas import resolve_area

    ref = resolve_area(ws, area_key or "citywide")
    return (None if ref.kind == "citywide" else ref.geometry), ref.label


def select_records(ws, measure_id: str, window: str = "ytd", as_of=None, area_key: str | None = None,
                   catalog=None):
    """The records a measure counts in a window (and in an area, by the CompStat engine's membership rules), for
    drawing: (the dataset's rows, the measure, the window's label). Records with no location are included (the map
    reports how many it could not place)."""
    from workstation.engine.analysis import analysis_for

    an = analysis_for(ws)
    m = (catalog or an.catalog).get(measure_id)
    if not m.is_count:
        raise UserError(f"'{m.label}' is a clearance rate, not a set of records; choose a count measure to map.")
    df = ws.frames[m.dataset]
    as_of = ws.as_of() if as_of is None else as_of
    if not len(df) or as_of is None:
        return df.iloc[0:0], m, ""
    win = None if window in (None, "", "all") else periods.parse_window(window, as_of)
    pos = an.rows(m, area_key or "citywide", win)
    rows = np.sort(an.frame_rows(m.dataset, pos))
    return df.iloc[rows], m, (win.label if win is not None else "all dates")


def district_values(ws, records: pd.DataFrame, how: str, measure=None) -> dict[str, float | None]:
    """Per district: how many of ``records`` lie in it (the CompStat engine's district membership: inside the
    boundary, or by the district column when a record has no location), as a count, per 100,000 people or per square
    mile."""
    from workstation.engine.analysis import analysis_for

    an = analysis_for(ws)
    kind = measure.dataset if measure is not None else "offenses"
    ix = an.index(kind)
    # records -> sorted positions of the engine
    inv = np.empty(ix.n, dtype=np.int64)
    inv[ix.order] = np.arange(ix.n)
    frame_index = ws.frames[kind].index
    if isinstance(frame_index, pd.RangeIndex) and frame_index.start == 0 and frame_index.step == 1:
        frame_pos = records.index.to_numpy()               # canonical frames: labels are positions
    else:
        frame_pos = frame_index.get_indexer(records.index)
    pos = inv[frame_pos[frame_pos >= 0]]
    weights = None
    if measure is not None and measure.count in ("sum_count", "sum_quantity"):
        weights = ix.weights(measure.count)
    out: dict[str, float | None] = {}
    for d in ws.districts:
        member = an.member(kind, f"district:{d.name}")
        idx = np.arange(ix.n) if member.idx is None else member.idx
        hit = pos[np.isin(pos, idx)]
        n = float(hit.size if weights is None else weights[hit].sum())
        if how == "per_100k":
            from workstation.engine.population import area_population

            pop = area_population(ws, d).value      # the one population figure (census layer, file, estimate)
            out[d.name] = (n / pop * 100_000) if pop else None
        elif how == "per_sq_mi":
            a = geo.area_sq_miles(d.geometry)
            out[d.name] = n / a if a else None
        else:
            out[d.name] = n
    return out


def encode_points(df: pd.DataFrame, *, dataset: str, label: str, embed_all: bool, scale: float = 1e5) -> dict:
    """Records as compact columns for psp_map.js: integer lat/lon offsets (1e-5 degree, about a metre), a category
    code, a day offset, and the popup fields (dictionary-encoded where values repeat)."""
    lat = df["lat"].to_numpy(dtype="float64")
    lon = df["lon"].to_numpy(dtype="float64")
    ok = np.isfinite(lat) & np.isfinite(lon)
    df, lat, lon = df[ok], lat[ok], lon[ok]
    out: dict = {"dataset": dataset, "label": label, "scale": scale}
    if not len(df):
        out.update(lat=[], lon=[], lat0=0.0, lon0=0.0)
        return out
    lat0 = math.floor(lat.min() * 100) / 100
    lon0 = math.floor(lon.min() * 100) / 100
    out.update(lat0=lat0, lon0=lon0, lat=np.rint((lat - lat0) * scale).astype(np.int64).tolist(),
               lon=np.rint((lon - lon0) * scale).astype(np.int64).tolist())
    if "category" in df:
        cats = df["category"].astype("str")
        uniq = sorted(cats.unique().tolist(), key=lambda c: (_category_rank(c), c))
        code = pd.Categorical(cats, categories=uniq).codes
        out["cat"] = code.astype(int).tolist()
        out["cats"] = [schema.CATEGORY_LABELS.get(c, c.replace("_", " ").title()) for c in uniq]
        out["colors"] = [category_colour(c, i) for i, c in enumerate(uniq)]
    elif dataset == "shootings":
        fatal = df["fatal"].to_numpy(dtype=bool)
        out["cat"] = fatal.astype(int).tolist()
        out["cats"] = ["Non-fatal shooting", "Fatal shooting"]
        out["colors"] = ["#e67e22", "#7b0000"]
    days = periods.day_numbers(df["occurred"].to_numpy())
    good = days != periods.NAT_DAY
    if good.any():
        day0 = int(days[good].min())
        out["day0"] = day0
        out["day"] = np.where(good, days - day0, 0).astype(np.int64).tolist()
    fields: dict = {"Record": df["record_id"].astype("str").tolist()}
    order = ["Record"]
    if embed_all:
        for col, name in (("incident_id", "Incident"), ("address", "Address"), ("district", "District"),
                          ("agency", "Agency")):
            if col in df:
                fields[name] = _dict_encode(df[col])
                order.append(name)
        for col, name in (("firearm", "Firearm"), ("carjacking", "Carjacking"), ("fatal", "Fatal"),
                          ("cleared", "Cleared")):
            if col in df:
                fields[name] = _dict_encode(df[col].map({True: "yes", False: ""}))
                order.append(name)
    out["fields"] = fields
    out["field_order"] = order
    return out


def _dict_encode(s: pd.Series):
    vals = s.astype("object").where(s.notna(), None)
    codes, uniques = pd.factorize(vals, use_na_sentinel=True)
    return {"values": [str(u) for u in uniques], "codes": codes.astype(int).tolist()}


def _category_rank(c: str) -> int:
    return schema.PART1.index(c) if c in schema.PART1 else 100


def category_colour(cat: str, i: int) -> str:
    return CATEGORY_COLOURS.get(cat, OTHER_COLOURS[i % len(OTHER_COLOURS)])


def class_breaks(values, k: int = 5) -> list[float]:
    """Upper bounds of ``k`` equal-count classes (fewer when values repeat); the last is the maximum."""
    v = sorted(float(x) for x in values if x is not None)
    if not v:
        return []
    uniq = sorted(set(v))
    if len(uniq) <= k:
        return uniq                                  # each distinct value is its own class
    return sorted(set(float(np.quantile(v, (i + 1) / k)) for i in range(k)))


def class_spans(breaks, lowest, how: str) -> list[str]:
    """Legend text of each class: a class holds the values above the previous break up to its own. Counts are whole
    numbers, so a class of counts reads from the next whole number after the previous break to the last whole number
    under its own ("1 – 15", "16 – 21", "22 – 32", ...), never two classes claiming the same count."""
    out, lo = [], lowest
    for b in breaks:
        hi = math.floor(b + 1e-9) if how == "counts" else b
        out.append(_fmt(hi, how) if lo >= hi else f"{_fmt(lo, how)} – {_fmt(hi, how)}")
        lo = hi + 1 if how == "counts" else b
    return out


def _class_of(x, breaks) -> int:
    for i, b in enumerate(breaks):
        if x <= b:
            return i
    return len(breaks) - 1


def _class_colour(i: int, n: int) -> str:
    """Colour of class ``i`` of ``n``: spread over the whole light-to-dark ramp, however few classes there are."""
    if n <= 1:
        return CHOROPLETH_COLOURS[-1]
    return CHOROPLETH_COLOURS[round(i * (len(CHOROPLETH_COLOURS) - 1) / (n - 1))]


def _fmt(x, how) -> str:
    """A legend or tooltip number as every other view shows it (formatting.py: counts whole, rates to one decimal,
    rounded half away from zero); "n/a" for a district without a value (no population or area for a rate)."""
    if is_missing(x):
        return "n/a"
    return format_value(x, "count" if how == "counts" else "decimal1")


@lru_cache(maxsize=1)
def _elements():
    """The page elements of our own (made once: compiling their templates costs more than rendering them)."""
    import folium
    from folium.elements import JSCSSMixin
    from folium.map import Layer
    from folium.template import Template

    class _Own(JSCSSMixin):
        """Links the workstation's script and styles (after leaflet.js, like folium's plugins) and connects it."""

        _template = Template("""
            {% macro script(this, kwargs) %}
                PSP.connect({{ this._parent.get_name() }}, {{ this.fit }});
            {% endmacro %}""")

        def __init__(self, js, css):
            super().__init__()
            self._name = "PspConnect"
            self.default_js = js
            self.default_css = css
            self.fit = "null"            # [[south, west], [north, east]]: the view the page keeps fitting

    class _PointData(folium.MacroElement):
        _template = Template("""
            {% macro script(this, kwargs) %}
                var {{ this.get_name() }} = JSON.parse(
                    document.getElementById("{{ this.get_name() }}_json").textContent);
            {% endmacro %}""")

        def __init__(self, payload: str):
            super().__init__()
            self._name = "PspPointData"
            # Kept out of the template: folium compiles each rendered script as a template of its own, and
            # tokenising megabytes of numbers would cost more than the rest of the page.
            self.payload = payload

        def data_tag(self) -> str:
            return (f'<script type="application/json" id="{self.get_name()}_json">'
                    + self.payload.replace("</", "<\\/") + "</script>")

    class _PointLayer(Layer):
        _template = Template("""
            {% macro script(this, kwargs) %}
                var {{ this.get_name() }} = {{ this.factory }}({{ this.data_name }}, {{ this.js_options }});
            {% endmacro %}""")

        def __init__(self, factory, data_name, js_options, name, show):
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "PspPoints"
            self.factory, self.data_name, self.js_options = factory, data_name, json.dumps(js_options)

    class _Legend(folium.MacroElement):
        _template = Template("""
            {% macro script(this, kwargs) %}
                var {{ this.get_name() }} = L.control({position: "bottomright"});
                {{ this.get_name() }}.onAdd = function () {
                    var div = L.DomUtil.create("div", "psp-legend");
                    div.innerHTML = {{ this.html|tojson }};
                    L.DomEvent.disableClickPropagation(div);
                    return div;
                };
                {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
            {% endmacro %}""")

        def __init__(self, html):
            super().__init__()
            self._name = "PspLegend"
            self.html = html


    return _Own, _PointData, _PointLayer, _Legend


def build_map(ws, options: MapOptions | None = None, catalog=None) -> MapPage:
    """The folium page for a workspace, with local asset URLs only. Drawn bottom to top: the basemap (city,
    districts), boundaries, compared outlines, then reference layers, an analysis overlay and the records."""
    opts = options or MapOptions()
    as_of = opts.as_of if opts.as_of is not None else ws.as_of()
    area_geom, area_label = _area_geometry(ws, opts.area_key)
    city = ws.city.geometry if ws.city is not None else None
    records, measure, window_label = select_records(
        ws, opts.measure, opts.window, as_of, opts.area_key if opts.clip_to_area else None, catalog)
    located = np.isfinite(records["lat"].to_numpy(dtype="float64")) & np.isfinite(
        records["lon"].to_numpy(dtype="float64")) if len(records) else np.zeros(0, dtype=bool)
    n_points = int(located.sum())
    outline_geoms = [(o, _area_geometry(ws, o.area_key)[0]) for o in opts.outlines]
    outline_geoms = [(o, g) for o, g in outline_geoms if g is not None and not g.is_empty]

    bounds = _view_bounds(ws, opts, area_geom, city, outline_geoms, records, located)
    m = _new_map(bounds, opts.tiles)
    own = _link_scripts(m, ws, opts)
    legend: list[str] = []
    _draw_basemap(m, ws, opts, city, records, measure, legend)
    _draw_boundaries(m, ws, opts, area_geom, area_label, legend)
    legend += _draw_outlines(m, outline_geoms)
    data_tags = _draw_records(m, ws, opts, records, measure, n_points, legend)

    n_unlocated = int(len(records) - n_points)
    notes = [_esc(window_label)] if window_label else []
    if n_unlocated:
        notes.append(f"{n_unlocated:,} record{'s' if n_unlocated != 1 else ''} without a location not shown")
    legend_html = "".join(legend) + "".join(f"<div class='note'>{n}</div>" for n in notes)
    title = f"{measure.label}, {window_label}, {area_label}" if window_label else f"{measure.label}, {area_label}"
    html = _finish_page(m, own, legend_html, bounds, title, data_tags)
    return MapPage(html, n_points, n_unlocated, bounds, title, legend)


def _view_bounds(ws, opts: MapOptions, area_geom, city, outline_geoms, records, located):
    """The view (south, west, north, east): the compared outlines, else the selected area, else the city, else the
    districts, else the records; None for an empty map."""
    import shapely

    focus = area_geom if area_geom is not None else city
    if outline_geoms:
        focus = shapely.union_all([g for _, g in outline_geoms])
    if focus is None and ws.districts:
        focus = shapely.union_all([d.geometry for d in ws.districts if d.geometry is not None]) or None
    if focus is not None and opts.overlay is not None and getattr(opts.overlay, "bounds", None) and area_geom is not \
            None:
        # the selected area's analysis reaches beyond it (the buffer ring around a target area): show all of it
        s_, w_, n_, e_ = opts.overlay.bounds
        focus = shapely.union_all([focus, shapely.box(w_, s_, e_, n_)])
    if focus is not None and not focus.is_empty:
        x0, y0, x1, y1 = focus.bounds
        return (y0, x0, y1, x1)
    if located.any():
        la = records["lat"].to_numpy()[located]
        lo = records["lon"].to_numpy()[located]
        return (float(la.min()), float(lo.min()), float(la.max()), float(lo.max()))
    return None


def _new_map(bounds, tiles: TileSource | None):
    """The folium map centred on the view, with the analyst's MBTiles basemap when there is one."""
    import folium

    centre = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2] if bounds else [0.0, 0.0]
    # No zoom animation: the view is always in its final state, so a PNG of it is what the analyst sees (and the
    # point canvas, hidden while Leaflet animates, is never caught half-drawn).
    m = folium.Map(location=centre, zoom_start=12, tiles=None, maxZoom=MAX_ZOOM, minZoom=3, zoomSnap=0.25,
                   control_scale=True, zoomAnimation=False, fadeAnimation=False, markerZoomAnimation=False)
    if tiles is not None:
        t = tiles
        folium.TileLayer(tiles=t.url, attr=t.attribution or t.name, name=t.name, min_zoom=t.min_zoom,
                         max_zoom=MAX_ZOOM, max_native_zoom=t.max_zoom, overlay=False, control=True).add_to(m)
    return m


def _link_scripts(m, ws, opts: MapOptions):
    """Link the page's scripts and styles in load order: the libraries first, psp_map.js (which defines PSP and
    its canvas layers), then the scripts that build on it (psp_spatial.js, psp_layers.js)."""
    _Own = _elements()[0]
    js = [("psp_map", OWN_JS)]
    css = [("psp_map_css", OWN_CSS)]
    if opts.heat:
        js.insert(0, ("leaflet_heat", HEAT_JS))
    if opts.editor:
        js.insert(0, ("leaflet_draw", DRAW_JS))
        css.insert(0, ("leaflet_draw_css", DRAW_CSS))
    if opts.bridge:
        js.insert(0, ("qwebchannel", QWEBCHANNEL_URL))
    if opts.overlay is not None:
        js.append(("psp_spatial", ASSET_BASE + SPATIAL_JS))
    if opts.layers and getattr(ws, "layers", None):
        from workstation.maps import layers as map_layers

        js.append(("psp_layers", ASSET_BASE + map_layers.LAYERS_JS))
    own = _Own(js, css)
    own.add_to(m)
    return own


def _draw_basemap(m, ws, opts: MapOptions, city, records, measure, legend: list) -> None:
    """The workspace's own geometry as the basemap: the city outline and the districts, shaded by the records when
    the options ask for it."""
    import folium
    import shapely

    folium.map.CustomPane(BASE_PANE, z_index=350, pointer_events=True).add_to(m)
    if city is not None:
        folium.GeoJson(shapely.to_geojson(city), name="City outline", control=False, pane=BASE_PANE,
                       style_function=lambda f: {"color": "#555", "weight": 2, "fillColor": "#ffffff",
                                                 "fillOpacity": 0.7}, interactive=False).add_to(m)
    if opts.choropleth and ws.districts:
        _draw_district_shading(m, ws, opts.choropleth, records, measure, legend)
    elif ws.districts:
        feats = [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(d.geometry)),
                  "properties": {"name": f"District {d.name}" if str(d.name).isdigit() else d.name}}
                 for d in ws.districts if d.geometry is not None]
        folium.GeoJson({"type": "FeatureCollection", "features": feats}, name="Districts", pane=BASE_PANE,
                       style_function=lambda f: {"color": "#777", "weight": 1.2, "fillOpacity": 0},
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(m)


def _draw_district_shading(m, ws, how: str, records, measure, legend: list) -> None:
    """Districts shaded in classes of the measure's count (or rate), with the classes in the legend."""
    import folium
    import shapely

    vals = district_values(ws, records, how, measure)
    breaks = class_breaks(vals.values())
    feats = []
    for d in ws.districts:
        if d.geometry is None:  # known from the records' district column only: nothing to draw
            continue
        v = vals.get(d.name)
        colour = "#dddddd" if v is None or not breaks else _class_colour(_class_of(v, breaks), len(breaks))
        label = f"District {d.name}" if str(d.name).isdigit() else d.name
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(d.geometry)),
                      "properties": {"name": label, "value": _fmt(v, how), "fill": colour}})
    what = {"counts": "count", "per_100k": "per 100,000 people", "per_sq_mi": "per square mile"}[how]
    folium.GeoJson({"type": "FeatureCollection", "features": feats}, pane=BASE_PANE,
                   name=f"Districts: {measure.label} {what}",
                   style_function=lambda f: {"color": "#666", "weight": 1.2,
                                             "fillColor": f["properties"]["fill"], "fillOpacity": 0.5},
                   tooltip=folium.GeoJsonTooltip(fields=["name", "value"], aliases=["", what.capitalize()]),
                   ).add_to(m)
    if breaks:
        lowest = min(v for v in vals.values() if v is not None)
        rows = [f"<div class='psp-row'><span class='sw' style='background:{_class_colour(i, len(breaks))}'>"
                f"</span>{span}</div>" for i, span in enumerate(class_spans(breaks, lowest, how))]
        legend.append(f"<h4>Districts: {_esc(measure.label)}, {what}</h4>" + "".join(rows))


def _draw_boundaries(m, ws, opts: MapOptions, area_geom, area_label: str, legend: list) -> None:
    """Target areas and scenarios (the selected one highlighted), and the selected district's outline."""
    import folium
    import shapely

    if opts.target_areas:
        _boundary_layer(m, ws.target_areas, "Target areas", TARGET_COLOUR, None, opts.area_key, legend)
    if opts.scenarios:
        _boundary_layer(m, ws.scenarios, "Scenarios", SCENARIO_COLOUR, "6 4", opts.area_key, legend)
    if area_geom is not None and opts.area_key.startswith("district:"):
        folium.GeoJson(shapely.to_geojson(area_geom), name=area_label, control=False,
                       style_function=lambda f: {"color": SELECTED_COLOUR, "weight": 4, "fillOpacity": 0},
                       interactive=False).add_to(m)


def _boundary_layer(m, areas, name: str, colour: str, dash, selected_key: str, legend: list) -> None:
    import folium
    import shapely

    feats = []
    for a in areas:
        key = f"{a.kind}:{a.name}"
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(a.geometry)),
                      "properties": {"name": a.name, "sqmi": f"{geo.area_sq_miles(a.geometry):.2f} sq mi",
                                     "selected": key == selected_key}})
    if not feats:
        return
    _casing({"type": "FeatureCollection", "features": feats}, 5.5).add_to(m)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats}, name=name,
        style_function=lambda f: {"color": SELECTED_COLOUR if f["properties"]["selected"] else colour,
                                  "weight": 4 if f["properties"]["selected"] else 2.5, "dashArray": dash,
                                  "fillOpacity": 0.06},
        tooltip=folium.GeoJsonTooltip(fields=["name", "sqmi"], labels=False)).add_to(m)
    legend.append(f"<div class='psp-row'><span class='line' style='border-color:{colour};"
                  f"{'border-top-style:dashed;' if dash else ''}'></span>{_esc(name)}</div>")


def _draw_outlines(m, outline_geoms) -> list[str]:
    """The compared outlines over everything else (the first on top); returns their legend rows, first first."""
    import folium
    import shapely

    outline_legend: list[str] = []
    feats = {}
    for o, g in outline_geoms:            # every casing under every line: a casing must not hide the other outline
        feats[o] = {"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)),
                    "properties": {"name": o.label or o.area_key, "sqmi": f"{geo.area_sq_miles(g):.2f} sq mi"}}
        _casing(feats[o], o.weight + 3).add_to(m)
    for o, _g in reversed(outline_geoms):
        label = o.label or o.area_key
        feat = feats[o]
        folium.GeoJson(feat, name=label,
                       style_function=lambda f, o=o: {"color": o.colour, "weight": o.weight, "dashArray": o.dash,
                                                      "fillOpacity": 0.04},
                       tooltip=folium.GeoJsonTooltip(fields=["name", "sqmi"], labels=False)).add_to(m)
        outline_legend.insert(0, f"<div class='psp-row'><span class='line' style='border-color:{o.colour};"
                                 f"width:26px;{'border-top-style:dashed;' if o.dash else ''}'></span>{_esc(label)}"
                                 "</div>")
    return outline_legend


def _draw_records(m, ws, opts: MapOptions, records, measure, n_points: int, legend: list) -> list[str]:
    """Reference layers, the analysis overlay, then the records as points and/or heat; returns the data tags that
    go into the page after it is rendered."""
    elements = _elements()
    _PointData, _PointLayer = elements[1], elements[2]
    embed_all = opts.embed_all_fields if opts.embed_all_fields is not None else n_points <= EMBED_ALL_FIELDS_UP_TO
    data = encode_points(records, dataset=measure.dataset, label=measure.label, embed_all=embed_all)

    data_tags = []
    if opts.layers and getattr(ws, "layers", None):
        from workstation.maps import layers as map_layers

        data_tags += map_layers.add_layers(m, ws, legend, elements)
    if opts.overlay is not None:
        data_tags += _add_overlay(m, opts.overlay, legend)
    if n_points and (opts.points or opts.heat):
        pd_el = _PointData(json.dumps(data, separators=(",", ":")))
        data_tags.append(pd_el.data_tag())
        pd_el.add_to(m)
        if opts.heat:
            _PointLayer("PSP.heatLayer", pd_el.get_name(),
                        {"radius": 14, "blur": 18, "minOpacity": 0.2,
                         "gradient": {"0.3": "#ffffb2", "0.55": "#fecc5c", "0.75": "#fd8d3c", "0.9": "#f03b20",
                                      "1": "#bd0026"}},
                        f"Heat: {measure.label}", True).add_to(m)
        if opts.points:
            _PointLayer("L.pspPoints", pd_el.get_name(), {"radius": opts.point_radius},
                        f"Points: {measure.label}", True).add_to(m)
        if opts.points and data.get("cats"):
            rows = "".join(f"<div class='psp-row'><span class='dot' style='background:{c}'></span>{_esc(n)}</div>"
                           for n, c in zip(data["cats"], data["colors"]))
            legend.insert(0, f"<h4>{_esc(measure.label)}: {n_points:,} records</h4>{rows}")
        elif opts.heat:
            legend.insert(0, f"<h4>Heat: {_esc(measure.label)}, {n_points:,} records</h4>")
    return data_tags


def _finish_page(m, own, legend_html: str, bounds, title: str, data_tags: list) -> str:
    """The legend, the layer control and the view; then the page rendered with its title and data tags."""
    import folium

    if legend_html:
        _elements()[3](legend_html).add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    if bounds:
        m.fit_bounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]], padding=(12, 12))
        # psp_map.js fits again once the legend is laid out (keeping the shapes clear of it) and whenever the view
        # is resized before the analyst has moved the map (a page loaded in a hidden or growing widget)
        own.fit = json.dumps([[bounds[0], bounds[1]], [bounds[2], bounds[3]]])
    html = localise_html(m.get_root().render())       # before the point data goes in: nothing to rewrite there
    html = html.replace("<head>", f"<head>\n<title>{_esc(title)}</title>", 1)
    if data_tags:
        cut = html.rindex("</body>")
        html = html[:cut] + "\n".join(data_tags) + "\n" + html[cut:]
    return html


def _add_overlay(m, overlay, legend: list) -> list[str]:
    """Draw a spatial analysis overlay (maps.spatial): its cell layers from one data tag, its rings as outlines."""
    import folium
    import shapely

    _Own, _PointData, _PointLayer, _Legend = _elements()
    tags = []
    if overlay.cell_layers:
        data = _PointData(overlay.to_json())
        tags.append(data.data_tag())
        data.add_to(m)
        for i, layer in enumerate(overlay.cell_layers):
            _PointLayer("PSP.cellLayer", f"{data.get_name()}.layers[{i}]", {}, layer.name, layer.show).add_to(m)
    for ring in overlay.rings:
        if ring.geometry is None or ring.geometry.is_empty:
            continue
        feat = {"type": "Feature", "geometry": json.loads(shapely.to_geojson(ring.geometry)),
                "properties": {"name": ring.label}}
        _casing(feat, 6).add_to(m)
        folium.GeoJson(feat, name=ring.label,
                       style_function=lambda f, r=ring: {"color": r.colour, "weight": 3, "dashArray": r.dash,
                                                         "fillColor": r.colour, "fillOpacity": r.fill_opacity},
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(m)
    if overlay.legend_html:
        legend.insert(0, overlay.legend_html)
    return tags


def _casing(geojson, weight: float):
    """A white line under a boundary, so that it reads over dense points and dark shading."""
    import folium

    return folium.GeoJson(geojson, control=False, interactive=False,
                          style_function=lambda f: {"color": "#ffffff", "weight": weight, "opacity": 0.85,
                                                    "fill": False})


def _esc(s) -> str:
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def export_standalone(ws, path, options: MapOptions | None = None, catalog=None) -> MapPage:
    """Write the map as one HTML file that opens offline (every asset inlined; editing tools left out)."""
    opts = options or MapOptions()
    opts = MapOptions(**{**opts.__dict__, "bridge": False, "editor": False, "tiles": None,
                         "embed_all_fields": True if opts.embed_all_fields is None else opts.embed_all_fields})
    page = build_map(ws, opts, catalog)
    html = standalone_html(page.html)
    write_atomically(path, lambda tmp: Path(tmp).write_text(html, encoding="utf-8"), what="the map")
    return page

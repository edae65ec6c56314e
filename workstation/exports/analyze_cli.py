"""`python main.py analyze hotspots|near-repeat|displacement ...`: the spatial analyses, headless, written to files.

- hotspots: Gi* and kernel density over a grid -> a GeoJSON FeatureCollection of the study cells
  (properties row, col, count, gi_z, gi_p, gi_bin, density);
- near-repeat: the Knox table -> JSON (events, permutations, distance_bands, time_bands, observed, expected,
  knox_ratio, p_value; each table a list of rows, one per distance band, over the time bands);
- displacement: the weighted displacement quotient; with --json the last line is JSON (target, buffer, control,
  wdq, success_measure, buffer_measure, total_net_effect, interpretation).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from workstation.core.errors import UserError
from workstation.core.fileio import write_atomically
from workstation.exports.cli import area_key_for, parse_date


def add_parser(sub) -> None:
    """The `analyze` subcommand and its three analyses (called by workstation/cli.py's build_parser)."""
    a = sub.add_parser("analyze", help="spatial analysis: hot spots, near repeat, displacement")
    kinds = a.add_subparsers(dest="analysis", required=True)

    def common(p, area_help="area name (default: citywide)"):
        p.add_argument("--workspace", required=True)
        p.add_argument("--measure", required=True, help="count measure id, e.g. part1_violent or burglary")
        p.add_argument("--area", help=area_help)

    h = kinds.add_parser("hotspots", help="Getis-Ord Gi* hot spots and kernel density on a grid -> GeoJSON")
    common(h, "study area name (default: the city outline)")
    h.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    h.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    h.add_argument("--cell-ft", dest="cell_ft", type=float, default=500.0, help="cell size in feet (default 500)")
    h.add_argument("--distance-ft", dest="distance_ft", type=float, default=1500.0,
                   help="Gi* distance band in feet (default 1500)")
    h.add_argument("--bandwidth-ft", dest="bandwidth_ft", type=float, default=None,
                   help="kernel density bandwidth in feet (default: ArcGIS's rule)")
    h.add_argument("--fdr", action="store_true", help="False Discovery Rate correction of the confidence bins")
    h.add_argument("--out", required=True, help="GeoJSON file to write (.geojson)")

    n = kinds.add_parser("near-repeat", help="Knox near-repeat test (Near Repeat Calculator conventions) -> JSON")
    common(n)
    n.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    n.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    n.add_argument("--distance-ft", dest="distance_ft", type=float, required=True, help="distance band width, feet")
    n.add_argument("--distance-bands", dest="distance_bands", type=int, required=True)
    n.add_argument("--time-days", dest="time_days", type=int, required=True, help="time band width, days")
    n.add_argument("--time-bands", dest="time_bands", type=int, required=True)
    n.add_argument("--permutations", type=int, default=999)
    n.add_argument("--seed", type=int, default=2016)
    n.add_argument("--manhattan", action="store_true", help="Manhattan instead of Euclidean distance")
    n.add_argument("--out", required=True, help="JSON file to write (.json)")

    d = kinds.add_parser("displacement", help="weighted displacement quotient around a target area")
    d.add_argument("--workspace", required=True)
    d.add_argument("--area", required=True, help="target area (or scenario or district) name")
    d.add_argument("--measure", required=True)
    d.add_argument("--before", required=True, metavar="FROM:TO", help="before period, YYYY-MM-DD:YYYY-MM-DD")
    d.add_argument("--after", required=True, metavar="FROM:TO", help="after period of the same length")
    d.add_argument("--buffer-ft", dest="buffer_ft", type=float, default=1320.0,
                   help="buffer ring width in feet (default 1320, a quarter mile)")
    d.add_argument("--control", help="control area name (default: the city outside the target area and buffer)")
    d.add_argument("--json", action="store_true", help="print the result as JSON on the last line")


def parse_period(text: str, flag: str) -> tuple[dt.date, dt.date]:
    parts = str(text).split(":")
    if len(parts) != 2:
        raise UserError(f"{flag} '{text}' should be two dates joined by a colon, e.g. 2015-01-01:2015-12-31.")
    return parse_date(parts[0], flag, "2016-01-01"), parse_date(parts[1], flag, "2016-01-01")


def _out_path(text: str, suffixes: tuple[str, ...], flag: str = "--out") -> Path:
    p = Path(text)
    if p.suffix.lower() not in suffixes:
        raise UserError(f"{flag} {p} must name a {' or '.join(suffixes)} file.")
    return p


def _write_json(path: Path, doc: dict, what: str) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, allow_nan=False)

    return write_atomically(path, write, what)


def _open(args):
    from workstation.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    key = area_key_for(ws, args.area) if getattr(args, "area", None) else None
    return ws, key


def cli_analyze(args: argparse.Namespace) -> int:
    if args.analysis == "hotspots":
        return _hotspots(args)
    if args.analysis == "near-repeat":
        return _near_repeat(args)
    return _displacement(args)


def _hotspots(args) -> int:
    from workstation.reports.spatial.hotspots import BIN_LABELS, hotspot_analysis

    out = _out_path(args.out, (".geojson", ".json"))
    start, end = parse_date(args.start, "--from", "2016-01-01"), parse_date(args.end, "--to", "2016-01-01")
    ws, key = _open(args)
    res = hotspot_analysis(ws, args.measure, start, end, key, cell_ft=args.cell_ft, distance_ft=args.distance_ft,
                           bandwidth_ft=args.bandwidth_ft, fdr=args.fdr)
    _write_json(out, res.to_geojson(), "the hot-spot cells")
    bins = res.bin_counts()
    hot = ", ".join(f"{bins[b]} at {BIN_LABELS[b].split(', ')[1].replace(' confidence', '')}" for b in (3, 2, 1))
    print(f"Wrote {out}: {res.params['study_cells']:,} cells of {res.params['cell_ft']:,.0f} ft, "
          f"{res.n_events:,} events; hot spot cells {hot}; bandwidth {res.params['bandwidth_ft']:,.0f} ft.")
    for note in res.notes:
        print(f"note: {note}")
    return 0


def _near_repeat(args) -> int:
    from workstation.reports.spatial.near_repeat import near_repeat_analysis

    out = _out_path(args.out, (".json",))
    start, end = parse_date(args.start, "--from", "2016-01-01"), parse_date(args.end, "--to", "2016-01-01")
    ws, key = _open(args)
    res = near_repeat_analysis(ws, args.measure, start, end, key, args.distance_ft, args.distance_bands,
                               args.time_days, args.time_bands, args.permutations, args.seed, args.manhattan)
    _write_json(out, res.to_json(), "the Knox table")
    print(f"Wrote {out}: {res.events:,} events, {res.pairs_within:,} pairs within "
          f"{res.distance_bands_n * res.distance_ft:,.0f} ft, {res.permutations} permutations "
          f"({res.seconds:.1f} s). {res.summary()}")
    for note in res.notes:
        print(f"note: {note}")
    return 0


def _displacement(args) -> int:
    from workstation.reports.spatial.displacement import displacement

    before = parse_period(args.before, "--before")
    after = parse_period(args.after, "--after")
    ws, key = _open(args)
    control = area_key_for(ws, args.control) if args.control else None
    res = displacement(ws, key, args.measure, before, after, buffer_ft=args.buffer_ft, control_key=control)
    if args.json:
        print(json.dumps(res.to_json(), ensure_ascii=False, allow_nan=False))
        return 0
    print(f"{res.target_label}, {args.measure}: before {before[0]} to {before[1]}, after {after[0]} to {after[1]}")
    for name, c in (("Target area", res.target), (f"Buffer ({res.buffer_ft:,.0f} ft)", res.buffer),
                    ("Control", res.control)):
        print(f"  {name:24s} before {c['before']:>8}  after {c['after']:>8}")
    fmt = lambda v: "n/a" if v is None else f"{v:+.4f}"  # noqa: E731
    print(f"  success measure {fmt(res.success_measure)}  buffer measure {fmt(res.buffer_measure)}  "
          f"WDQ {fmt(res.wdq)}  total net effect {fmt(res.total_net_effect)}")
    print(res.interpretation)
    for note in res.notes:
        print(f"note: {note}", file=sys.stdout)
    return 0

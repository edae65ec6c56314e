"""Headless command line: `python main.py import|export|demo|info|analyze ...`.

Each subcommand's work lives in its own module; this file only parses arguments and turns errors into one clear
message and a non-zero exit code.
"""
from __future__ import annotations

import argparse
import sys

from workstation.core.schema import DATASET_KINDS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="main.py", description="PSP Analyst Workstation (headless commands)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="write the calibrated demo workspace")
    d.add_argument("--out", required=True, help="workspace file to write (.psw)")
    d.add_argument("--seed", type=int, default=2016, help="random seed (same seed, same records)")

    i = sub.add_parser("import", help="import files into a workspace (created if missing)")
    i.add_argument("--workspace", required=True)
    i.add_argument("--kind", required=True, choices=list(DATASET_KINDS) + ["areas", "layer"])
    i.add_argument("--profile", help="import profile JSON (default: detected from the header)")
    i.add_argument("--area-kind", choices=["districts", "target_areas", "city"], default=None,
                   help="with --kind areas: what the polygons are (default: decided from the naming field: a match "
                        "with the records' districts or a district field such as DISTRICT/POLICE/PRECINCT)")
    i.add_argument("--name-field", dest="name_field", default=None, metavar="F",
                   help="with --kind areas: the field that names each feature (default: the field matching the "
                        "records' districts, else a name-like field); features sharing a name are dissolved")
    i.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    i.add_argument("--name", help="with --kind layer: the layer's name (e.g. Streets, Licensed premises)")
    i.add_argument("--population-field", dest="population_field",
                   help="with --kind layer: the polygons' population field (census blocks or tracts)")
    i.add_argument("--label-field", dest="label_field", help="with --kind layer: the field that labels features")
    i.add_argument("--housing-field", dest="housing_field", help="with --kind layer: housing units (optional)")
    i.add_argument("--epsg", help="with --kind layer: the coordinate system of a table's projected x/y columns")
    i.add_argument("--source", metavar="URL",
                   help="import the rows of --query from a database instead of files: postgresql://user@host:port/db "
                        "(the password is asked for, or taken from PGPASSWORD or ~/.pgpass; it is never stored)")
    i.add_argument("--query", metavar="FILE.sql", help="with --source: a file holding one SELECT statement")
    i.add_argument("--since-column", dest="since_column", metavar="C",
                   help="with --source: pull only rows whose C is newer than the last pull's newest value")
    i.add_argument("files", nargs="*")

    e = sub.add_parser("export", help="export the CompStat workbook and/or the meeting packet (PDF)")
    e.add_argument("--workspace", required=True)
    e.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default: the newest record's date)")
    e.add_argument("--area", action="append", default=[], help="area name (repeatable; default: every target area)")
    e.add_argument("--scenario", help="use this saved scenario in place of its target area")
    e.add_argument("--history", metavar="FIRST-LAST:CURRENT",
                   help="Part I history years, e.g. 2007-2015:2016 (default: the workspace's setting, else the last "
                        "complete year against the nine before it)")
    e.add_argument("--out", metavar="OUT.xlsx", help="the CompStat workbook to write (required unless --pdf is given)")
    e.add_argument("--pdf", metavar="OUT.pdf",
                   help="also (or only) write the meeting packet: one PDF of the Summary, the CompStat grid, the "
                        "district and target-area tables with their maps, the hot-spot map, trends and the shoot "
                        "review, from the same figures as the workbook")

    n = sub.add_parser("info", help="summarise a workspace")
    n.add_argument("--workspace", required=True)
    n.add_argument("--json", action="store_true", help="print the summary as one JSON object (the last line)")

    from workstation.exports.analyze_cli import add_parser as add_analyze_parser

    add_analyze_parser(sub)  # analyze hotspots | near-repeat | displacement
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from workstation.core.errors import UserError

    try:
        if args.command == "demo":
            from workstation.demo.records import cli_demo

            return cli_demo(args)
        if args.command == "import":
            from workstation.ingest.cli import cli_import

            return cli_import(args)
        if args.command == "export":
            from workstation.exports.cli import cli_export

            return cli_export(args)
        if args.command == "info":
            return _info(args)
        if args.command == "analyze":
            from workstation.exports.analyze_cli import cli_analyze

            return cli_analyze(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


def _info(args) -> int:
    from workstation.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    if getattr(args, "json", False):
        import json

        print(json.dumps(info_json(ws), ensure_ascii=False))
        return 0
    print(f"{args.workspace}: {ws.meta.get('city', '')}")
    for kind, df in ws.frames.items():
        as_of = ws.as_of(kind) if kind != "people" else None
        print(f"  {kind:10s} {len(df):>9,d} records" + (f", as of {as_of:%Y-%m-%d}" if as_of is not None else ""))
    from workstation.engine.population import area_population

    for a in ws.areas:
        pop = area_population(ws, a)
        extra = f", population {pop.value:,.0f} ({pop.source})" if pop.value is not None else ""
        print(f"  {a.kind:12s} {a.name} (v{a.version}){extra}")
    for lay in ws.layers:
        print(f"  layer        {lay.name}: {lay.count:,} {lay.geometry_type}s from {lay.source}, loaded {lay.loaded}")
    return 0



INFO_AREA_KINDS = ("city", "district", "target_area")  # what-if scenarios are drafts, not areas of the workspace


def info_json(ws) -> dict:
    """The workspace in one JSON object: the city's name; per dataset its record count and first and newest record
    dates; per area (the city, districts, target areas) its boundary version, square miles (null without a polygon)
    and population with the method that produced it ("census layer NAME", "boundary file" or "district density
    estimate", from engine.population through resolve_area; both null when there is none); the reference layers."""
    import pandas as pd

    from workstation.core.schema import DATASET_KINDS
    from workstation.engine.areas import area_key, resolve_area

    def day(ts) -> str | None:
        return None if ts is None or pd.isna(ts) else f"{pd.Timestamp(ts):%Y-%m-%d}"

    datasets = {}
    for kind in DATASET_KINDS:
        occ = ws.frames[kind]["occurred"] if "occurred" in ws.frames[kind] else None
        has = occ is not None and occ.notna().any()
        datasets[kind] = {"records": int(len(ws.frames[kind])), "first": day(occ.min()) if has else None,
                          "as_of": day(occ.max()) if has else None}
    areas = []
    for a in ws.areas:
        if a.kind not in INFO_AREA_KINDS:
            continue
        ref = resolve_area(ws, area_key(a))
        sq = ref.sq_miles if a.geometry is not None else None
        areas.append({"name": a.name, "kind": a.kind, "version": a.version,
                      "sq_mi": None if sq is None else round(float(sq), 4),
                      "population": None if ref.population is None else int(round(ref.population)),
                      "population_source": (ref.population_source or None) if ref.population is not None else None})
    from workstation.ingest.layers import layer_summaries

    return {"city": ws.meta.get("city", ""), "datasets": datasets, "areas": areas, "layers": layer_summaries(ws)}

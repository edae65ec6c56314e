"""`python main.py import --workspace W.psw --kind K [--profile P.json] [--json] FILE...`"""
from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from workstation.core.errors import UserError
from workstation.core.workspace import Workspace
from workstation.ingest.importer import import_files
from workstation.ingest.result import ImportResult
from workstation.ingest.profiles import Profile


def _human(result: ImportResult, kind: str) -> str:
    lines = []
    for f in result.files:
        lines.append(f"{f['file_name']}: {f['rows_read']:,} rows read, {f['accepted']:,} accepted, "
                     f"{f['rejected']:,} rejected" + (f" (profile: {f['profile']})" if f.get("profile") else ""))
    lines.append(f"{kind}: {result.records:,} records ({result.added:,} new, {result.replaced:,} replacing "
                 f"{result.removed:,} older records)" if kind != "areas" else
                 f"areas: {result.added:,} added, {result.replaced:,} replaced")
    for reason, n in sorted(result.rejected_by_reason.items(), key=lambda kv: -kv[1]):
        lines.append(f"  rejected: {n:,} {reason}")
    for cat, n in sorted(result.by_category.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {cat}: {n:,}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def _import_from_database(ws, args, profile) -> ImportResult:
    from workstation.ingest.database import import_query

    if args.kind in ("areas", "layer"):
        raise UserError(f"--source imports records (offenses, shootings, calls, activity, people), not {args.kind}.")
    if not args.query:
        raise UserError("--source needs --query FILE.sql: a file holding the SELECT statement to run.")
    if args.files:
        raise UserError("Give either files or --source with --query, not both.")
    password = None
    for attempt in range(2):
        try:
            return import_query(ws, args.kind, args.source, args.query, profile=profile,
                                since_column=args.since_column, password=password)
        except UserError as exc:
            # no password in the URL, PGPASSWORD or ~/.pgpass: ask for it (never stored), once, at a terminal
            if attempt or "password" not in str(exc).lower() or not sys.stdin.isatty():
                raise
            password = getpass.getpass(f"Password for {args.source}: ")
    raise AssertionError("unreachable")


def cli_import(args) -> int:
    """Import every file, then save once, atomically; on any bad file nothing is saved (exit 2 via UserError)."""
    path = Path(args.workspace)
    if args.kind == "layer":
        return _cli_import_layer(args, path)
    ws = Workspace.open(path) if path.exists() else Workspace()
    profile = Profile.load(args.profile) if getattr(args, "profile", None) else None
    if getattr(args, "source", None):
        result = _import_from_database(ws, args, profile)
    else:
        if getattr(args, "query", None) or getattr(args, "since_column", None):
            raise UserError("--query and --since-column go with --source (a database address).")
        if not args.files:
            raise UserError("Name the files to import, or a database with --source and --query.")
        result = import_files(ws, args.kind, [Path(f) for f in args.files], profile=profile,
                              area_kind=getattr(args, "area_kind", None), name_field=getattr(args, "name_field", None))
    ws.save(path)
    print(_human(result, args.kind))
    if getattr(args, "json", False):
        print(json.dumps(result.summary(), default=str, ensure_ascii=False))
    return 0



def _cli_import_layer(args, path: Path) -> int:
    """`import --kind layer --name NAME [--population-field F] [--label-field F] FILE`: one file, one layer."""
    from workstation.core.errors import UserError
    from workstation.ingest.layers import import_layer

    if not getattr(args, "name", None):
        raise UserError("--kind layer needs --name, e.g. --name \"Licensed premises\".")
    if len(args.files) != 1:
        raise UserError("--kind layer reads one file per layer; import the others with their own --name.")
    ws = Workspace.open(path) if path.exists() else Workspace()
    summary = import_layer(ws, Path(args.files[0]), args.name, population_field=args.population_field,
                           label_field=args.label_field, housing_field=getattr(args, "housing_field", None),
                           epsg=getattr(args, "epsg", None))
    ws.save(path)
    line = (f"{args.files[0]}: layer '{summary['layer']}' {'replaced' if summary['replaced'] else 'added'}: "
            f"{summary['features']:,} {summary['geometry_type']} features ({summary['rows_read']:,} read, "
            f"{summary['rejected']:,} rejected)")
    if summary["population"] is not None:
        line += f"; population {summary['population']:,.0f} from '{summary['population_field']}'"
    print(line)
    for reason, n in summary["rejected_by_reason"].items():
        print(f"  rejected: {n:,} {reason}")
    for w in summary["warnings"]:
        print(f"warning: {w}")
    if getattr(args, "json", False):
        print(json.dumps(summary, default=str, ensure_ascii=False))
    return 0

#!/usr/bin/env python3
"""Fetch the Leaflet/folium web assets the offline map needs, check them by hash, and put them in resources/map_assets/.

The pin is resources/map_assets.json: for each npm package its exact version, the tarball's integrity (sha512) and the
sha256 of every file taken from it; plus the files that come from the installed folium wheel or from this repository.
Tarballs are fetched with ``npm pack`` (the npm registry, through npm's own client and cache) into a cache folder,
so a second machine set up from the same cache needs no network.

    python scripts/fetch_map_assets.py            # fetch what is missing, verify everything
    python scripts/fetch_map_assets.py --quiet    # the same, silent unless something is wrong (bootstrap.sh)
    python scripts/fetch_map_assets.py --record   # maintainers: write the observed hashes into the manifest

Exit status: 0 when every file is present with its pinned hash; 1 otherwise, with a message saying what to do.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "resources" / "map_assets.json"
DEST = ROOT / "resources" / "map_assets"


class FetchError(Exception):
    pass


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha512_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def cache_dir() -> Path:
    base = os.environ.get("PSP_MAP_ASSET_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "psp-workstation" / "npm"


def local_dir(pkg: dict) -> str:
    """Folder of a package under resources/map_assets/ (and under the scheme's assets/ root): name@version."""
    return f"{pkg['name']}@{pkg['version']}"


def file_is_ok(path: Path, sha: str | None) -> bool:
    if not path.is_file():
        return False
    return sha is None or sha256_bytes(path.read_bytes()) == sha


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def npm_tarball(pkg: dict, record: bool) -> bytes:
    """The package's registry tarball: from the cache when its integrity matches the pin, else through `npm pack`."""
    spec = f"{pkg['name']}@{pkg['version']}"
    cdir = cache_dir()
    fname = pkg["name"].lstrip("@").replace("/", "-") + f"-{pkg['version']}.tgz"
    cached = cdir / fname
    want = pkg.get("integrity")
    if cached.is_file():
        data = cached.read_bytes()
        if (want and sha512_integrity(data) == want) or (record and not want):
            return data
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError(f"npm is needed once to fetch the map assets ({spec}) but was not found; "
                         "install Node.js and npm (Debian: apt-get install npm) and run this script again.")
    cdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "pack", spec, "--json", "--pack-destination", str(cdir)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(f"`npm pack {spec}` failed: {' | '.join(tail)}. Check the network connection to the npm "
                         "registry (or copy a filled cache folder and set PSP_MAP_ASSET_CACHE), then run again.")
    try:
        info = json.loads(proc.stdout)[0]
        cached = cdir / info["filename"]
    except (ValueError, LookupError):
        pass  # older npm: no JSON; the file name convention above still holds
    data = cached.read_bytes()
    got = sha512_integrity(data)
    if want and got != want:
        raise FetchError(f"{spec}: the tarball's integrity {got[:30]}... differs from the pinned {want[:30]}...; "
                         "the registry served other bytes than those pinned in resources/map_assets.json. Not installed.")
    if record:
        pkg["integrity"] = got
    return data


def package_files(pkg: dict, record: bool) -> dict[str, bytes]:
    """The bytes of each file the manifest lists for this package, keyed by the file's path inside the package."""
    source = pkg.get("source", "npm")
    out: dict[str, bytes] = {}
    if source == "npm":
        tar = tarfile.open(fileobj=io.BytesIO(npm_tarball(pkg, record)), mode="r:gz")
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if m.isfile() and "/" in m.name}
        for rel in pkg["files"]:
            if rel not in members:
                raise FetchError(f"{local_dir(pkg)} has no file {rel}; the manifest does not match the package.")
            out[rel] = tar.extractfile(members[rel]).read()
    elif source == "python":
        # A file shipped inside an installed Python package (pinned in pyproject.toml), e.g. folium's heat plugin.
        import importlib.metadata
        import importlib.util

        spec = importlib.util.find_spec(pkg["name"])
        if spec is None or not spec.submodule_search_locations:
            raise FetchError(f"The Python package {pkg['name']} is not installed; run bootstrap.sh first.")
        have = importlib.metadata.version(pkg["name"])
        if have != pkg["version"]:
            raise FetchError(f"{pkg['name']} {have} is installed but the map assets are pinned to {pkg['version']}; "
                             "reinstall the project's dependencies (bootstrap.sh).")
        base = Path(list(spec.submodule_search_locations)[0])
        for rel in pkg["files"]:
            out[rel] = (base / rel).read_bytes()
    else:
        raise FetchError(f"Unknown source {source!r} in the manifest for {pkg['name']}.")
    return out


def missing_files(manifest: dict) -> list[tuple[dict, str]]:
    todo = []
    for pkg in manifest["packages"]:
        for rel, sha in pkg["files"].items():
            if not file_is_ok(DEST / local_dir(pkg) / rel, sha):
                todo.append((pkg, rel))
    return todo


def check_urls(manifest: dict) -> None:
    """Every CDN URL that folium can emit must point at a file the manifest lists."""
    known = {f"{local_dir(p)}/{rel}" for p in manifest["packages"] for rel in p["files"]}
    for url, local in manifest["urls"].items():
        if local.startswith("local/"):  # the workstation's own files, committed in resources/map_local/
            if not (ROOT / "resources" / "map_local" / local[len("local/"):]).is_file():
                raise FetchError(f"The manifest maps {url} to {local}, which is missing from resources/map_local/.")
        elif local not in known:
            raise FetchError(f"The manifest maps {url} to {local}, which no package provides.")


def run(quiet: bool = False, record: bool = False) -> int:
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, ValueError) as exc:
        print(f"fetch_map_assets: cannot read {MANIFEST}: {exc}", file=sys.stderr)
        return 1
    try:
        check_urls(manifest)
        todo = missing_files(manifest) if not record else [(p, r) for p in manifest["packages"] for r in p["files"]]
        if not todo:
            say(f"map assets: all {sum(len(p['files']) for p in manifest['packages'])} files present and verified")
            return 0
        by_pkg: dict[str, tuple[dict, list[str]]] = {}
        for pkg, rel in todo:
            by_pkg.setdefault(local_dir(pkg), (pkg, []))[1].append(rel)
        total = 0
        for key, (pkg, rels) in by_pkg.items():
            files = package_files(pkg, record)
            for rel in rels:
                data = files[rel]
                got = sha256_bytes(data)
                want = pkg["files"][rel]
                if record:
                    pkg["files"][rel] = got
                elif got != want:
                    raise FetchError(f"{key}/{rel}: sha256 {got} differs from the pinned {want}; not installed. "
                                     "The package on the registry changed, or the cache is damaged: delete "
                                     f"{cache_dir()} and run again.")
                _write_atomic(DEST / key / rel, data)
                total += len(data)
            say(f"map assets: {key}: {len(rels)} file(s)")
        if record:
            MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
            say(f"map assets: recorded hashes in {MANIFEST}")
        say(f"map assets: installed {len(todo)} file(s), {total / 1e6:.2f} MB, in {DEST}")
        return 0
    except FetchError as exc:
        print(f"fetch_map_assets: {exc}", file=sys.stderr)
        return 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quiet", action="store_true", help="print nothing unless something is wrong")
    ap.add_argument("--record", action="store_true",
                    help="re-fetch every file and write the observed hashes into resources/map_assets.json")
    args = ap.parse_args(argv)
    return run(quiet=args.quiet, record=args.record)


if __name__ == "__main__":
    sys.exit(main())

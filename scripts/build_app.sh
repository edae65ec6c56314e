#!/usr/bin/env bash
# Build the one-folder app (dist/psp-workstation/) and check it with its own --smoke-test.
#   bash scripts/build_app.sh              build, then run the smoke test of the built app
#   bash scripts/build_app.sh --no-smoke   build only
# Needs the dev extra (PyInstaller) in .venv and the map assets; installs neither silently: it says what is missing.
# Windows: see docs/building.md (the same steps in PowerShell; PyInstaller does not cross-build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SMOKE=1
[ "${1:-}" = "--no-smoke" ] && SMOKE=0

log() { printf '[build] %s\n' "$*" >&2; }

PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || { log "no $PY: run 'bash scripts/bootstrap.sh install' first"; exit 1; }
"$PY" -c 'import PyInstaller' 2>/dev/null || {
  log "PyInstaller is not installed: $PY -m pip install -e '.[dev]'"; exit 1; }

# the map assets are not in git; fetch (and hash-check) them if they are missing
"$PY" scripts/fetch_map_assets.py --quiet

DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" pyinstaller.spec
end=$(date +%s)
APP="$DIST/psp-workstation"
size=$(du -sm "$APP" | cut -f1)
log "built $APP in $((end - start)) s, ${size} MB"

if [ "$SMOKE" = 1 ]; then
  export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
  # QtWebEngine refuses to run as root with its sandbox on
  [ "$(id -u)" -eq 0 ] && export QTWEBENGINE_DISABLE_SANDBOX=1
  log "smoke test: $APP/psp-workstation --smoke-test"
  "$APP/psp-workstation" --smoke-test
fi

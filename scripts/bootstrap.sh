#!/usr/bin/env bash
# One entry point for setting up the PSP Analyst Workstation on a fresh Debian/Ubuntu machine.
#   bash scripts/bootstrap.sh app    -> install everything, then open the app on the demo workspace
#   bash scripts/bootstrap.sh test   -> install everything, then run the whole test suite
# Idempotent: a second run skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-app}
shift || true

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# --- 1. Debian packages: the libraries Qt/QtWebEngine link against, Xvfb for screenshots,
#        LibreOffice + Carlito to check exported workbooks. -------------------------------
APT_PKGS=(libnss3 libnspr4 libxkbcommon0 libxkbcommon-x11-0 libxcb1 libxcb-cursor0 libxcb-icccm4
  libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-shm0 libxcb-sync1
  libxcb-xfixes0 libxcb-xkb1 libxcb-glx0 libxcb-dri3-0 libx11-xcb1 libxcomposite1 libxdamage1 libxrandr2
  libxtst6 libxkbfile1 libxrender1 libxext6 libxfixes3 libegl1 libgl1 libgbm1 libdrm2 libfontconfig1
  libfreetype6 libdbus-1-3 libglib2.0-0 libgssapi-krb5-2 libwayland-client0 fonts-dejavu-core
  fonts-crosextra-carlito xvfb xauth)
# postgresql: tests/core/test_database_source.py starts a throwaway server from its binaries (never the system one)
# binutils: strip, for the laptop build the test suite makes (pyinstaller.spec strips the bundle's libraries)
if [ "$MODE" = test ]; then APT_PKGS+=(libreoffice-calc poppler-utils postgresql binutils); fi
# libasound2 was renamed libasound2t64 on newer Debian/Ubuntu.
if apt-cache show libasound2t64 >/dev/null 2>&1; then APT_PKGS+=(libasound2t64); else APT_PKGS+=(libasound2); fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. Python: the newest interpreter >= 3.12 we can run (PySide6 6.12 on 3.11 aborts with
#        "none_dealloc"); 3.11 only as a fallback with PySide6 pinned below 6.12. ----------
pick_python() {
  local cands=() c v
  for v in 3.14 3.13 3.12; do
    cands+=("$(command -v python$v 2>/dev/null || true)")
    for c in "$HOME"/.pyenv/versions/$v*/bin/python$v /usr/local/bin/python$v /usr/bin/python$v; do
      [ -x "$c" ] && cands+=("$c")
    done
  done
  for c in "${cands[@]}"; do
    [ -n "$c" ] || continue
    if "$c" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  for c in "$(command -v python3.11 2>/dev/null || true)" "$(command -v python3 2>/dev/null || true)"; do
    [ -n "$c" ] && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null && { echo "$c"; return 0; }
  done
  return 1
}

VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  PY=$(pick_python) || { log "no Python 3.11+ found; install python3.12"; exit 1; }
  log "creating .venv with $PY ($("$PY" --version 2>&1))"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
log "using $("$VPY" --version 2>&1) at $VPY"

# --- 3. Python packages from pyproject.toml; re-run pip only when pyproject changes. -------
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  EXTRA=".[dev]"
  CONSTRAINT=()
  if ! "$VPY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
    echo "PySide6<6.12" > "$VENV/constraints.txt"; CONSTRAINT=(-c "$VENV/constraints.txt")
    log "Python 3.11: pinning PySide6 below 6.12"
  fi
  "$VPY" -m pip install -q --upgrade pip >/dev/null
  "$VPY" -m pip install -q "${CONSTRAINT[@]}" -e "$EXTRA"
  rm -f "$VENV"/.installed-*; touch "$STAMP"
fi

# --- 4. Offline map assets (Leaflet & plugins from the npm registry, checked by hash). ----
if [ -f scripts/fetch_map_assets.py ]; then "$VPY" scripts/fetch_map_assets.py --quiet; fi

# QtWebEngine refuses to run as root without this.
[ "$(id -u)" -eq 0 ] && export QTWEBENGINE_DISABLE_SANDBOX=1

case "$MODE" in
  app)
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != offscreen ]; then
      log "no display: starting the app under Xvfb (xvfb-run)"
      exec xvfb-run -a -s "-screen 0 1366x768x24" "$VPY" main.py "$@"
    fi
    exec "$VPY" main.py "$@" ;;
  test)
    export QT_QPA_PLATFORM=offscreen
    # The laptop build, its size budget and the built app's smoke test run on every test run (~3-4 min of the
    # suite's time, ~1.2 GB of temporary disk); PSP_RUN_BUILD=0 skips them. The source smoke test always runs.
    export PSP_RUN_BUILD=${PSP_RUN_BUILD:-1}
    set +e
    "$VPY" -m pytest "$@"
    rc=$?
    set -e
    # pytest exits 5 when it collected no tests: that is not a failure of the setup.
    if [ $rc -eq 5 ]; then log "pytest collected no tests"; exit 0; fi
    exit $rc ;;
  install) log "installed" ;;
  *) log "usage: bootstrap.sh app|test|install [args]"; exit 2 ;;
esac

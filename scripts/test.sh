#!/usr/bin/env bash
# README command 2: set up (idempotent, with test tools) and run lint + type check + the whole test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh --dev
venv="$root/.venv/bin"
echo "== ruff"
"$venv/ruff" check edge firmware_bridge tests scripts
"$venv/ruff" format --check edge firmware_bridge tests scripts
echo "== mypy"
"$venv/mypy"
echo "== pytest"
# two workers: the suite mostly waits on real processes (README "Tests": 779 s vs 1,467 s serial); -n 0 after it wins
exec "$venv/python" -m pytest -n 2 "$@"

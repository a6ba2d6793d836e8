#!/usr/bin/env bash
# README command 1: set up (idempotent) and run the end-to-end demo on the bundled sample data.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/edge" demo "$@"

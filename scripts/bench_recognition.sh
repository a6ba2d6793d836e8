#!/usr/bin/env bash
# Reproduces the figures in docs/recognition.md on the development data set (not part of the repository).
# Usage: scripts/bench_recognition.sh [FIXTURES_DIR] [OUT_DIR]     (defaults: ../shared/fixtures, bench-out/)
set -euo pipefail
cd "$(dirname "$0")/.."
FIX=${1:-../shared/fixtures}
OUT=${2:-bench-out}
[ -d "$FIX/faces/lfw_dev" ] || { echo "no development data at $FIX (see docs/recognition.md)" >&2; exit 2; }
bash scripts/bootstrap.sh >/dev/null
E=.venv/bin/edge
mkdir -p "$OUT/photos"
# Enrolment for gate_dev: photos 1 and 2 of each enrolled person (the video shows photos 3-5).
for d in "$FIX"/faces/lfw_dev/enrolled/*/; do
  p=$(basename "$d"); mkdir -p "$OUT/photos/$p"; cp "$d"1.jpg "$d"2.jpg "$OUT/photos/$p/"
done
$E enroll --gallery "$OUT/lfw_dev.npz" --photos "$OUT/photos" --quiet
$E enroll --gallery "$OUT/demo.npz" --photos edge/demo/data/photos --quiet
$E bench recognition --video "$FIX/video/gate_dev.mp4" --truth "$FIX/video/gate_dev.truth.json" \
  --gallery "$OUT/lfw_dev.npz" --json "$OUT/gate_dev.json" >/dev/null
$E bench recognition --video "$FIX/video/short_hamilton_clip.mp4" --gallery "$OUT/demo.npz" \
  --json "$OUT/hamilton.json" >/dev/null
# Sung_Hong_Choi (a "stranger") and Choi_Sung-hong (enrolled) are the same man: a label error in LFW.
$E bench accuracy --enrolled "$FIX/faces/lfw_dev/enrolled" --strangers "$FIX/faces/lfw_dev/strangers" \
  --alias Sung_Hong_Choi=Choi_Sung-hong --json "$OUT/accuracy.json" >/dev/null
$E bench match --gallery-size 50000 --json "$OUT/match.json" >/dev/null
echo "JSON in $OUT/"

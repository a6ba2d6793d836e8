#!/usr/bin/env bash
# Reproduces the figures in docs/recognition.md on the development data set (not part of the repository).
# Usage: scripts/bench_recognition.sh [FIXTURES_DIR] [OUT_DIR]     (defaults: ../shared/fixtures, bench-out/)
# Needs FIXTURES_DIR/faces/lfw_dev/{enrolled,strangers}/<person>/N.jpg, FIXTURES_DIR/faces/lfw_calib/ (the same
# layout, 1,500 strangers) and FIXTURES_DIR/video/gate_dev.mp4 with gate_dev.truth.json (short_hamilton_clip.mp4
# optional). Takes ~40 min on 2 cores (the --degrade runs and the face_recognition reference loop are most of
# it). Both backends run side by side in one process on the same frames.
set -euo pipefail
cd "$(dirname "$0")/.."
FIX=${1:-../shared/fixtures}
OUT=${2:-bench-out}
need() { [ -e "$1" ] || { echo "missing $1: this benchmark needs the development data set (docs/recognition.md)" >&2; exit 2; }; }
need "$FIX/faces/lfw_dev/enrolled"
need "$FIX/faces/lfw_dev/strangers"
need "$FIX/faces/lfw_calib/enrolled"
need "$FIX/faces/lfw_calib/strangers"
need "$FIX/video/gate_dev.mp4"
need "$FIX/video/gate_dev.truth.json"
bash scripts/bootstrap.sh >/dev/null
E=.venv/bin/edge
mkdir -p "$OUT/photos"
# Enrolment for gate_dev: photos 1 and 2 of each enrolled person (the video shows photos 3-5).
for d in "$FIX"/faces/lfw_dev/enrolled/*/; do
  p=$(basename "$d"); mkdir -p "$OUT/photos/$p"; cp "$d"1.jpg "$d"2.jpg "$OUT/photos/$p/"
done
ALIASES=(--alias Bart_Hendricks=Ricky_Ray --alias Felipe_De_Borbon=Prince_Felipe --alias Talisa_Bratt=Talisa_Soto)
for m in sface dlib; do  # thresholds vs gallery size, on encodings cached in /tmp/recog-cache
  $E bench calibrate --data "$FIX/faces/lfw_calib" --extra "$FIX/faces/lfw_dev" "${ALIASES[@]}" --model $m \
    --json "$OUT/calibrate-$m.json" >/dev/null
done
for set in lfw_calib lfw_dev; do  # the product's enrolment + identification, clean and degraded
  $E bench accuracy --enrolled "$FIX/faces/$set/enrolled" --strangers "$FIX/faces/$set/strangers" --degrade all \
    --json "$OUT/accuracy-$set.json" >/dev/null
done
$E bench accuracy --enrolled "$FIX/faces/lfw_dev/enrolled" --strangers "$FIX/faces/lfw_dev/strangers" \
  --model both --no-curve --json "$OUT/accuracy-both.json" >/dev/null
$E bench recognition --video "$FIX/video/gate_dev.mp4" --truth "$FIX/video/gate_dev.truth.json" \
  --photos "$OUT/photos" --model both --json "$OUT/gate_dev.json" >/dev/null
if [ -e "$FIX/video/short_hamilton_clip.mp4" ]; then
  $E bench recognition --video "$FIX/video/short_hamilton_clip.mp4" --photos edge/demo/data/photos --model both \
    --json "$OUT/hamilton.json" >/dev/null
fi
G=(--video "$FIX/video/gate_dev.mp4" --truth "$FIX/video/gate_dev.truth.json" --photos "$OUT/photos" --model sface
   --no-reference --no-paced)
$E bench recognition "${G[@]}" --min-encodings 1 --json "$OUT/gate_dev-one-look.json" >/dev/null
for px in 9 15; do
  $E bench recognition "${G[@]}" --frame-blur $px --json "$OUT/gate_dev-blur$px.json" >/dev/null
  $E bench recognition "${G[@]}" --frame-blur $px --no-sharpest --json "$OUT/gate_dev-blur$px-older.json" >/dev/null
done
$E bench match --gallery-size 50000 --json "$OUT/match.json" >/dev/null
echo "JSON in $OUT/"

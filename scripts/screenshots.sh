#!/usr/bin/env bash
# Refresh the README's pictures in docs/screenshots/ by running the tests that take them (headless Chromium
# against the web app, and the demo). An ordinary test run writes its screenshots under pytest's temporary
# folder instead and changes no tracked file. docs/screenshots/register-pdf.png (the register PDF's first page)
# is not a browser screenshot and is not made here.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export EDGE_SCREENSHOTS="$root/docs/screenshots"
export CI=true  # a missing Chromium (or another tool these tests need) fails the run instead of skipping a picture
# every browser test (tests/test_web_browser*.py, the parents' app's) and the demo's
exec "$root/.venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_web_browser*.py tests/test_parents_browser.py \
  tests/test_demo.py "$@"

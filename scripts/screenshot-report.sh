#!/bin/sh
# Renders a run's report.html with headless Chromium and saves a PNG, to
# check by eye that the page and its timeline chart render.
#   scripts/screenshot-report.sh RUN_DIR OUT.png
# Needs Chromium (Debian: apt-get install chromium). Nothing is fetched from
# the network: the report is self-contained.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: $0 RUN_DIR OUT.png" >&2
    exit 2
fi
run_dir=$1
out=$2
html="$(cd "$run_dir" && pwd)/report.html"
if [ ! -f "$html" ]; then
    echo "error: $html does not exist (run \`gameday report $run_dir\` to render it)" >&2
    exit 4
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "error: no Chromium found; install it (Debian: apt-get install chromium)" >&2
    exit 4
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run \
    --user-data-dir="$profile" --screenshot="$out" --window-size=1280,2400 \
    "file://$html" 2>/dev/null
test -s "$out"
echo "wrote $out"

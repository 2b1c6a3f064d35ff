#!/usr/bin/env bash
# Records the fixtures of workflows/live-overlay.yaml (workflows/fixtures/live-overlay/) against a
# fresh headless OBS Studio (../shared/obs), so that `aiv run workflows/live-overlay.yaml
# --dry-run` works with no OBS. OBS is started anew so that what it reports (no scene or source
# yet) is the same each time; expressions are shown for 2 s each instead of 20.
#
#   tools/record-live-overlay.sh          # AIV_SHARED points at the shared folder (default ../shared)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
shared="${AIV_SHARED:-$root/../shared}"

swift build --product aiv
bash "$shared/obs/stop-obs.sh" >/dev/null 2>&1 || true
bash "$shared/obs/start-obs.sh" >/dev/null
trap 'bash "$shared/obs/stop-obs.sh" >/dev/null 2>&1 || true' EXIT

# Recorded into a new folder first: a failed recording leaves the shipped fixtures as they were.
state="$(mktemp -d)"
OBS_WEBSOCKET_URL="ws://127.0.0.1:${OBS_WS_PORT:-4455}" OBS_WEBSOCKET_PASSWORD="${OBS_WS_PASSWORD:-secret123}" \
    .build/debug/aiv run workflows/live-overlay.yaml --record --fixtures "$state/fixtures" --input show_for=2s --state-dir "$state"
rm -rf workflows/fixtures/live-overlay
mv "$state/fixtures" workflows/fixtures/live-overlay
rm -rf "$state"

#!/usr/bin/env bash
# Records the fixtures of the shipped sample (workflows/fixtures/post-stream/) against local
# stand-ins for Gemini and Notion (tools/sample_services.py), so that
# `aiv run workflows/post-stream.yaml --dry-run` works with no keys and no network.
#
#   tools/record-sample.sh                      # writes workflows/fixtures/post-stream/
#   tools/record-sample.sh --fixtures /tmp/fx   # further arguments go to `aiv run`
#
# Gemini answers from samples/stream-02/model-answers.json; Notion is an in-memory database with
# the id below. The services listen on fixed ports by default (the port is part of the URL kept in
# each fixture, so re-recording gives the same files); SAMPLE_GEMINI_PORT / SAMPLE_NOTION_PORT
# choose others (0 = any free port). Exits with aiv's status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

database_id="7f3b2c1d-4e5a-4b6c-8d7e-9f0a1b2c3d4e"
answers="samples/stream-02/model-answers.json"
workflow="workflows/post-stream.yaml"
gemini_port="${SAMPLE_GEMINI_PORT:-47311}"
notion_port="${SAMPLE_NOTION_PORT:-47312}"

echo "record-sample: building aiv" >&2
swift build --product aiv

work="$(mktemp -d)"
services_pid=""
cleanup() {
    if [[ -n "$services_pid" ]]; then
        kill "$services_pid" 2>/dev/null || true
        wait "$services_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 tools/sample_services.py --answers "$answers" --database-id "$database_id" \
    --gemini-port "$gemini_port" --notion-port "$notion_port" \
    >"$work/ports" 2>"$work/services.log" &
services_pid=$!

# The first line on its stdout: "gemini PORT notion PORT".
line=""
for _ in $(seq 100); do
    if IFS= read -r line <"$work/ports" 2>/dev/null && [[ -n "$line" ]]; then break; fi
    if ! kill -0 "$services_pid" 2>/dev/null; then
        echo "record-sample: tools/sample_services.py did not start:" >&2
        cat "$work/services.log" >&2
        services_pid=""
        exit 1
    fi
    sleep 0.1
done
if [[ ! "$line" =~ ^gemini\ ([0-9]+)\ notion\ ([0-9]+)$ ]]; then
    echo "record-sample: tools/sample_services.py did not say its ports (got '$line')" >&2
    cat "$work/services.log" >&2
    exit 1
fi
GEMINI="${BASH_REMATCH[1]}"
NOTION="${BASH_REMATCH[2]}"
echo "record-sample: Gemini on 127.0.0.1:$GEMINI, Notion on 127.0.0.1:$NOTION (database $database_id)" >&2

# The run's outputs (worksheet, Shorts, metadata) are kept for a look; the state is not.
run_dir="$(mktemp -d)/run"
status=0
GEMINI_API_KEY=sample-recording-key \
NOTION_TOKEN=secret_sample-recording-token \
GEMINI_BASE_URL="http://127.0.0.1:$GEMINI" \
NOTION_BASE_URL="http://127.0.0.1:$NOTION" \
NOTION_DATABASE_ID="$database_id" \
    .build/debug/aiv run "$workflow" --record --state-dir "$(mktemp -d "$work/state.XXXXXX")" \
    --run-dir "$run_dir" "$@" || status=$?

if [[ $status -ne 0 ]]; then
    echo "record-sample: aiv exited with $status; what the services saw:" >&2
    tail -n 40 "$work/services.log" >&2
else
    echo "record-sample: fixtures recorded (in workflows/fixtures/post-stream/ unless --fixtures said otherwise); the run's outputs are in $run_dir" >&2
fi
exit "$status"

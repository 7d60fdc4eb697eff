#!/usr/bin/env bash
# The demo web client on the simulators: builds the WASM package, starts the seeded simulators
# (tests/sim's `mssync-sims`) and serves the page on http://127.0.0.1:${PORT:-8080}/.
# Needs node, the wasm32 target and wasm-bindgen-cli (./tests/run.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
. "$root/tests/sim/sims.sh"
trap 'stop_sims; rm -rf "$work"' EXIT
"$root/wasm/build.sh"
start_sims "$root" "$work"
MSS_SIMS_JSON=$MSS_SIMS_JSON node "$root/examples/web/server.mjs" "${PORT:-8080}"

#!/usr/bin/env bash
# The example web client in two tiers on the simulators: builds the panels' package and `mssync`,
# starts the seeded simulators (tests/sim's `mssync-sims`), connects the tenant as the operator,
# and runs `mssync serve` with the page on http://127.0.0.1:${PORT:-8080}/.
# Needs node, the wasm32 target and wasm-bindgen-cli (./tests/run.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
. "$root/tests/sim/sims.sh"
trap 'stop_sims; rm -rf "$work"' EXIT
"$root/wasm/build.sh"
(cd "$root" && cargo build --locked -q -p mssync-cli --bin mssync)
start_sims "$root" "$work"
MSS_SIMS_JSON=$MSS_SIMS_JSON node "$root/examples/web/backend.mjs" "${PORT:-8080}"

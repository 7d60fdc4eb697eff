#!/usr/bin/env bash
# Builds libmssync and this host with Mono's mcs, starts the simulators, runs one sync, stops them.
# Usage: examples/dotnet-host/run.sh (needs mono-mcs, mono-runtime, libmono-system-net-http4.0-cil).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
. "$root/tests/sim/sims.sh"
trap 'stop_sims; rm -rf "$work"' EXIT
(cd "$root" && cargo build -p mssync-ffi --locked -q)
# The sample store is the bindings' test store: a real host keeps MsSync's keys in its database.
mcs -nologo -warnaserror -r:System.Net.Http.dll -out:"$work/dotnet-host.exe" \
  "$root"/dotnet-bindings/MsSync.Native/*.cs "$root"/dotnet-bindings/MsSync.Native.Tests/InMemoryStore.cs "$here"/Program.cs
start_sims "$root" "$work"
LD_LIBRARY_PATH="$target/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mono "$work/dotnet-host.exe"

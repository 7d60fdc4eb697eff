#!/usr/bin/env bash
# Builds libmssync with the test hooks, compiles MsSync.Native and its console tests with Mono's mcs,
# serves a file on loopback for the HTTP tests, starts the simulators (mssync-sims) for the whole
# flow, and runs them with mono. Last line of output:
# "N passed, N failed". Usage: dotnet-bindings/run-tests.sh (needs mono-mcs, mono-runtime and
# libmono-system-net-http4.0-cil).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
server=""
. "$root/tests/sim/sims.sh"
cleanup() { stop_sims; [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

(cd "$root" && cargo build -p mssync-ffi --features test-hooks --locked -q)

mcs -nologo -warnaserror -define:MSSYNC_TEST_HOOKS -r:System.Net.Http.dll -out:"$work/MsSync.Native.Tests.exe" \
  "$here"/MsSync.Native/*.cs "$here"/MsSync.Native.Tests/*.cs

mkdir -p "$work/www"
printf 'hello from the loopback server\n' > "$work/www/hello.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
  sleep 0.1
done

start_sims "$root" "$work"

export MSS_TEST_BASE_URL="http://127.0.0.1:$port"
export RUST_BACKTRACE=0
LD_LIBRARY_PATH="$target/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mono "$work/MsSync.Native.Tests.exe"

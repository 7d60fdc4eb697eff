#!/usr/bin/env bash
# Builds libmssync with the test hooks, compiles the C host tests against the committed header under
# ASan/LSan/UBSan, serves a file on loopback for the HTTP tests, starts the three simulators
# (`mssync-sims`, for the whole flow), and runs them. Last line of output:
# "N passed, N failed". Usage: ffi/tests/c/run.sh (needs gcc and libcurl4-openssl-dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
server=""
. "$root/tests/sim/sims.sh"
cleanup() { stop_sims; [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

(cd "$root" && cargo build -p mssync-ffi --features test-hooks --locked -q)

gcc -std=c11 -D_DEFAULT_SOURCE -DMSS_TEST_HOOKS -Wall -Wextra -Werror -g -O1 \
  -fsanitize=address,undefined -fno-omit-frame-pointer \
  -I"$root/ffi/include" "$here/test_abi.c" "$here/memory_store.c" \
  -L"$target/debug" -Wl,-rpath,"$target/debug" -lmssync -lcurl -lpthread -o "$work/test_abi"

# A loopback file server for the HTTP tests, on a free port.
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
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$work/test_abi"

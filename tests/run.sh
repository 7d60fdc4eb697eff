#!/usr/bin/env bash
# Runs every check and test suite of MsSync, installing what is missing first (idempotent).
# Usage: ./tests/run.sh        (from anywhere inside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Totals across every suite (Rust, C, C#, WASM, browser), printed as the closing line.
passed=0; failed=0; log_dir=$(mktemp -d)
count() { # count NAME FILE: add "N passed" / "N failed" figures of a runner's summary line
  local p f
  p=$(grep -oE '[0-9]+ passed' "$2" | tail -n 1 | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ failed' "$2" | tail -n 1 | grep -oE '[0-9]+' || echo 0)
  passed=$((passed + p)); failed=$((failed + f))
  printf -- '--- %s: %s passed, %s failed\n' "$1" "$p" "$f"
}

# --- installs ---------------------------------------------------------------------------------
step "toolchain: $(rustc --version)"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || { step "installing rustfmt"; rustup component add rustfmt; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || { step "installing clippy"; rustup component add clippy; }
if ! command -v cargo-nextest >/dev/null; then
  step "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

# Native toolchains for the C ABI suites (C host under sanitizers, .NET bindings on Mono).
pkgs=()
command -v gcc >/dev/null || pkgs+=(gcc libc6-dev)
command -v make >/dev/null || pkgs+=(make)
command -v python3 >/dev/null || pkgs+=(python3)
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || pkgs+=(libcurl4-openssl-dev)
command -v mcs >/dev/null || pkgs+=(mono-mcs)
command -v mono >/dev/null || pkgs+=(mono-runtime)
dpkg -s libmono-system-net-http4.0-cil >/dev/null 2>&1 || pkgs+=(libmono-system-net-http4.0-cil)
if ((${#pkgs[@]})); then
  step "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

# WASM: the wasm32 target, wasm-bindgen-cli matching the wasm-bindgen crate (no --locked: the
# CLI's lock file does not resolve on this toolchain), Debian's Chromium, playwright-core via npm ci.
rustup target list --installed | grep -qx wasm32-unknown-unknown || { step "installing the wasm32 target"; rustup target add wasm32-unknown-unknown; }
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen 0.2.130" ]; then
  step "installing wasm-bindgen-cli 0.2.130"
  cargo install wasm-bindgen-cli --version 0.2.130
fi
if ! command -v chromium >/dev/null; then
  step "installing chromium (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  step "installing playwright-core (npm ci; it never downloads a browser)"
  (cd tests/browser && npm ci --no-audit --no-fund)
fi

# --- checks -----------------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the bindings build on the app layer alone (without mssync-core's internals)"
# The workspace build turns on `internals` for the end-to-end suite; built on their own, the C
# ABI, the command line and the browser build can name nothing but app, host, wire and errors.
cargo check --locked -q -p mssync-ffi -p mssync-cli --all-targets
cargo check --locked -q -p mssync-wasm --lib --target wasm32-unknown-unknown

# --- Rust suites ------------------------------------------------------------------------------
# The newest CLDR Windows-zone table the registries carry (PyPI's tzlocal, windows_tz.py): the
# time-zone test checks every Windows zone in it is known to MsSync with the same rules.
step "CLDR Windows zones from PyPI (tzlocal)"
cldr_dir=$(mktemp -d)
if python3 -m pip download --no-deps --only-binary :all: --quiet tzlocal -d "$cldr_dir" >/dev/null 2>&1 \
  && python3 -c 'import glob, sys, zipfile; d = sys.argv[1]; w = zipfile.ZipFile(glob.glob(d + "/tzlocal-*.whl")[0]); open(d + "/windows_tz.py", "wb").write(w.read("tzlocal/windows_tz.py"))' "$cldr_dir"; then
  export MSSYNC_CLDR_WINDOWS_TZ="$cldr_dir/windows_tz.py"
  echo "$(ls "$cldr_dir"/tzlocal-*.whl | xargs -n1 basename)"
else
  echo "no tzlocal from PyPI: the CLDR comparison is skipped"
fi

# A PostgreSQL server of the tests' own for the PostgreSQL store (tests/postgres.sh: Debian's
# package, a throwaway cluster of a non-root user on a free loopback port), stopped on any exit.
# Its tests must run: without the server they fail instead of skipping.
step "PostgreSQL for the store tests (tests/postgres.sh)"
stop_postgres() { [ -z "${MSSYNC_TEST_POSTGRES_DIR:-}" ] || tests/postgres.sh stop "$MSSYNC_TEST_POSTGRES_DIR"; unset MSSYNC_TEST_POSTGRES_DIR; }
trap stop_postgres EXIT
postgres_env=$(tests/postgres.sh start) || { echo "no PostgreSQL server: its tests will fail"; postgres_env=; }
eval "$postgres_env"
export MSSYNC_REQUIRE_POSTGRES=1

step "Rust tests (unit, store conformance on SQLite and PostgreSQL, time zones, simulators, end to end)"
# insta never writes snapshots here: a changed request shape or view must be reviewed by hand.
INSTA_UPDATE=no cargo nextest run --workspace --locked --no-fail-fast 2>&1 | tee "$log_dir/rust.log"
count "Rust" "$log_dir/rust.log"
stop_postgres

# --- C ABI suites -----------------------------------------------------------------------------
step "clippy of the C ABI with its test hooks"
cargo clippy -p mssync-ffi --all-targets --features test-hooks --locked -- -D warnings

step "C host tests of libmssync (ASan, LSan, UBSan)"
ffi/tests/c/run.sh 2>&1 | tee "$log_dir/c.log"
count "C" "$log_dir/c.log"

step "C host example builds and runs (time zones, then a sync against the simulators)"
make -s -C examples/c-host PROFILE=debug run >/dev/null 2>&1
make -s -C examples/c-host PROFILE=debug sync >/dev/null

step ".NET bindings tests (Mono)"
dotnet-bindings/run-tests.sh 2>&1 | tee "$log_dir/dotnet.log"
count "C#" "$log_dir/dotnet.log"

step ".NET host example runs a sync against the simulators"
examples/dotnet-host/run.sh >/dev/null

step "WASM tests under Node (wasm-bindgen-test: the panels' markup, times through Intl)"
# Per crate only: wasm32 cannot build the workspace's tokio/wiremock dev-dependencies.
wasm_ok=1
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --locked --target wasm32-unknown-unknown -p mssync-wasm \
  > "$log_dir/wasm.log" 2>&1 || wasm_ok=0
cat "$log_dir/wasm.log"
# The runner prints libtest's "test result: ok. N passed; M failed; ..." per test binary; add them
# all, and count one failure if the run broke without a failing test (no build, a crashed runner).
awk -v ok="$wasm_ok" '/test result: /{for(i=1;i<NF;i++){if($(i+1)~/^passed/)p+=$i; if($(i+1)~/^failed/)f+=$i}}
     END{if(!ok && f==0)f=1; print p+0 " passed, " f+0 " failed"}' "$log_dir/wasm.log" > "$log_dir/wasm.summary"
count "WASM (Node)" "$log_dir/wasm.summary"

step "browser package (wasm/build.sh): its size, and the two-tier example in headless Chromium"
# The published package (.wasm + its JS) must stay within 150 KB gzip: the page carries the panels
# only, never the engine. The example runs page -> mssync serve -> simulators (mssync-sims).
package_gzip_limit=${MSSYNC_PACKAGE_GZIP_LIMIT:-150000}
if ./wasm/build.sh 2>&1 | tee "$log_dir/wasm-build.log" &&
   cargo build --locked -q -p mssync-cli --bin mssync -p mssync-sim --bin mssync-sims; then
  size=$(sed -n 's/^package gzip total: \([0-9]*\) bytes$/\1/p' "$log_dir/wasm-build.log")
  if [ -n "$size" ] && [ "$size" -le "$package_gzip_limit" ]; then
    echo "package size: $size bytes gzip (limit $package_gzip_limit): 1 passed, 0 failed" > "$log_dir/size.log"
  else
    echo "package size: ${size:-unknown} bytes gzip, over the limit of $package_gzip_limit: 0 passed, 1 failed" > "$log_dir/size.log"
  fi
  cat "$log_dir/size.log"
  (cd tests/browser && node run.mjs) 2>&1 | tee "$log_dir/browser.log" || true
  # A harness that died before its summary line counts as one failure.
  grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$log_dir/browser.log" || echo "0 passed, 1 failed" >> "$log_dir/browser.log"
else
  echo "0 passed, 1 failed" > "$log_dir/size.log"
  echo "0 passed, 1 failed" > "$log_dir/browser.log"
fi
count "Browser package size" "$log_dir/size.log"
count "Browser (Chromium)" "$log_dir/browser.log"

step "summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

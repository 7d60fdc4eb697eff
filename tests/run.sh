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

# --- checks -----------------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# --- Rust suites ------------------------------------------------------------------------------
step "Rust tests (unit, store conformance, time zones, simulators, end to end)"
# insta never writes snapshots here: a changed request shape or view must be reviewed by hand.
INSTA_UPDATE=no cargo nextest run --workspace --locked --no-fail-fast 2>&1 | tee "$log_dir/rust.log"
count "Rust" "$log_dir/rust.log"

# --- C ABI suites -----------------------------------------------------------------------------
step "clippy of the C ABI with its test hooks"
cargo clippy -p mssync-ffi --all-targets --features test-hooks --locked -- -D warnings

step "C host tests of libmssync (ASan, LSan, UBSan)"
ffi/tests/c/run.sh 2>&1 | tee "$log_dir/c.log"
count "C" "$log_dir/c.log"

step "C host example builds and runs"
make -s -C examples/c-host PROFILE=debug run >/dev/null

step ".NET bindings tests (Mono)"
dotnet-bindings/run-tests.sh 2>&1 | tee "$log_dir/dotnet.log"
count "C#" "$log_dir/dotnet.log"

step "summary"
echo "$passed passed, $failed failed"

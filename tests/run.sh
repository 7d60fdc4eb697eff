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

step "summary"
echo "$passed passed, $failed failed"

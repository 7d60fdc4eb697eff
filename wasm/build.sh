#!/usr/bin/env bash
# Builds the browser package of MsSync's panels into wasm/pkg/ (git-ignored): mssync.js (ES module,
# `--target web`), mssync_bg.wasm, mssync.d.ts and a package.json. Prints each file's size raw and
# gzip, then the published package's gzip total (.wasm + its JS), which tests/run.sh holds to
# MSSYNC_PACKAGE_GZIP_LIMIT bytes (150 KB).
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen-cli 0.2.130 (tests/run.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

out=wasm/pkg
target_dir=${CARGO_TARGET_DIR:-target}

cargo build --profile wasm-release --locked --target wasm32-unknown-unknown -p mssync-wasm
rm -rf "$out"
wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir "$out" --out-name mssync \
  "$target_dir/wasm32-unknown-unknown/wasm-release/mssync_wasm.wasm"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
cat > "$out/package.json" <<JSON
{
  "name": "mssync-wasm",
  "version": "$version",
  "description": "MsSync's Setup and Home panels for the browser, over the page's backend",
  "license": "MIT",
  "type": "module",
  "main": "mssync.js",
  "module": "mssync.js",
  "types": "mssync.d.ts",
  "files": ["mssync.js", "mssync_bg.wasm", "mssync.d.ts", "mssync_bg.wasm.d.ts"],
  "sideEffects": false
}
JSON

echo "package: $out"
total=0
for file in "$out/mssync_bg.wasm" "$out/mssync.js"; do
  gz=$(gzip -9 -c "$file" | wc -c)
  total=$((total + gz))
  printf '  %-28s %8d bytes raw %8d bytes gzip\n' "$(basename "$file")" "$(wc -c < "$file")" "$gz"
done
echo "package gzip total: $total bytes"

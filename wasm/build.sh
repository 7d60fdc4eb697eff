#!/usr/bin/env bash
# Builds the browser package of MsSync.
#   wasm/build.sh               -> wasm/pkg/       (what pages ship)
#   wasm/build.sh --test-hooks  -> wasm/pkg-test/  (adds checkStore, for tests/browser)
# Each folder (git-ignored) holds mssync.js (ES module, `--target web`), mssync_bg.wasm,
# mssync.d.ts, memory-store.js and a package.json. Prints the sizes, raw and gzip.
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen-cli 0.2.130 (tests/run.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

features=(); out=wasm/pkg
if [ "${1:-}" = "--test-hooks" ]; then features=(--features test-hooks); out=wasm/pkg-test; fi
target_dir=${CARGO_TARGET_DIR:-target}

cargo build --profile wasm-release --locked --target wasm32-unknown-unknown -p mssync-wasm "${features[@]}"
rm -rf "$out"
wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir "$out" --out-name mssync \
  "$target_dir/wasm32-unknown-unknown/wasm-release/mssync_wasm.wasm"
cp wasm/js/memory-store.js wasm/js/web-storage-store.js "$out/"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
cat > "$out/package.json" <<JSON
{
  "name": "mssync-wasm",
  "version": "$version",
  "description": "MsSync in the browser: keeps ERP.net activities and Microsoft 365 calendars in step",
  "license": "MIT",
  "type": "module",
  "main": "mssync.js",
  "module": "mssync.js",
  "types": "mssync.d.ts",
  "files": ["mssync.js", "mssync_bg.wasm", "mssync.d.ts", "mssync_bg.wasm.d.ts", "memory-store.js", "web-storage-store.js"],
  "sideEffects": false
}
JSON

echo "package: $out"
for file in "$out/mssync_bg.wasm" "$out/mssync.js" "$out/memory-store.js" "$out/web-storage-store.js"; do
  printf '  %-28s %8d bytes raw %8d bytes gzip\n' "$(basename "$file")" \
    "$(wc -c < "$file")" "$(gzip -9 -c "$file" | wc -c)"
done

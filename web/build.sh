#!/usr/bin/env bash
# Builds the npm package into web/pkg (then `cd web/pkg && npm pack` makes the tarball):
# the wasm32 build, wasm-bindgen for the `web` (ESM) and `nodejs` targets, wasm-opt when a
# modern one is on PATH (the npm `binaryen` package; Debian's 108 breaks the output), and
# the JavaScript wrapper.
#
# Needs: `rustup target add wasm32-unknown-unknown` and the wasm-bindgen CLI at the exact
# version of the wasm-bindgen crate (`cargo install wasm-bindgen-cli --version 0.2.130`).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
out=web/pkg
cargo build -p pocketrank-web --target wasm32-unknown-unknown --profile wasm-release --locked ${WEB_FEATURES:+--features "$WEB_FEATURES"}
wasm="$target_dir/wasm32-unknown-unknown/wasm-release/pocketrank_web.wasm"

rm -rf "$out"
mkdir -p "$out/node"
wasm-bindgen --target web --out-dir "$out" --out-name pocketrank_core "$wasm"
wasm-bindgen --target nodejs --out-dir "$out/node" --out-name pocketrank_core "$wasm"
echo '{ "type": "commonjs" }' > "$out/node/package.json"

if command -v wasm-opt >/dev/null && wasm-opt --version | grep -Eq 'version_(1[2-9][0-9]|[2-9][0-9][0-9])'; then
  for f in "$out/pocketrank_core_bg.wasm" "$out/node/pocketrank_core_bg.wasm"; do
    wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext "$f" -o "$f.opt" && mv "$f.opt" "$f"
  done
else
  echo "note: no modern wasm-opt on PATH; the module is not post-optimised" >&2
fi
cp web/js/index.js web/js/webgpu.js web/js/index.d.ts web/js/package.json web/js/README.md "$out/"

raw=$(wc -c < "$out/pocketrank_core_bg.wasm")
gz=$(gzip -9 -c "$out/pocketrank_core_bg.wasm" | wc -c)
echo "built $out: pocketrank_core_bg.wasm $raw bytes, $gz gzip"

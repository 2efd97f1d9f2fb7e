#!/usr/bin/env bash
# Builds the npm package into web/pkg (then `cd web/pkg && npm pack` makes the tarball):
# the wasm32 build, wasm-bindgen's `web` (ESM) target, wasm-opt when a modern one is found
# (the npm `binaryen` package of the root devDependencies, or one on PATH; Debian's 108
# breaks the output), and the JavaScript wrapper. The package is ESM only: browsers,
# workers, bundlers, Node ≥ 20.19 (`import`, or `require` of ES modules) and workerd all
# load the same index.js.
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
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name pocketrank_core "$wasm"

wasm_opt=wasm-opt
[ -x node_modules/.bin/wasm-opt ] && wasm_opt=node_modules/.bin/wasm-opt
if command -v "$wasm_opt" >/dev/null && "$wasm_opt" --version | grep -Eq 'version_(1[2-9][0-9]|[2-9][0-9][0-9])'; then
  f="$out/pocketrank_core_bg.wasm"
  "$wasm_opt" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext "$f" -o "$f.opt" && mv "$f.opt" "$f"
else
  echo "note: no modern wasm-opt (npm ci installs binaryen); the module is not post-optimised" >&2
fi
cp web/js/index.js web/js/webgpu.js web/js/index.d.ts web/js/package.json web/js/README.md "$out/"

raw=$(wc -c < "$out/pocketrank_core_bg.wasm")
gz=$(gzip -9 -c "$out/pocketrank_core_bg.wasm" | wc -c)
js=$(cat "$out/index.js" "$out/pocketrank_core.js" | gzip -9 | wc -c)
echo "built $out: pocketrank_core_bg.wasm $raw bytes, $gz gzip; index.js + pocketrank_core.js $js gzip (webgpu.js loads on demand)"

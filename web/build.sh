#!/usr/bin/env bash
# Builds the npm package into web/pkg (then `cd web/pkg && npm pack` makes the tarball):
# the wasm32 build, wasm-bindgen's `web` (ESM) target, wasm-opt when a modern one is found
# (the npm `binaryen` package of the root devDependencies, or one on PATH; Debian's 108
# breaks the output), and the JavaScript wrapper. The package is ESM only: browsers,
# workers, bundlers, Node ≥ 20.19 (`import`, or `require` of ES modules) and workerd all
# load the same index.js. A second module, `pocketrank/text` (text.js over
# pocketrank_text_bg.wasm), adds the catalog's tokenizer so that new items rank by title.
#
# Needs: `rustup target add wasm32-unknown-unknown` and the wasm-bindgen CLI at the exact
# version of the wasm-bindgen crate (`cargo install wasm-bindgen-cli --version 0.2.130`).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
out=web/pkg
rm -rf "$out"
mkdir -p "$out"

wasm_opt=wasm-opt
[ -x node_modules/.bin/wasm-opt ] && wasm_opt=node_modules/.bin/wasm-opt
modern_wasm_opt() { command -v "$wasm_opt" >/dev/null && "$wasm_opt" --version | grep -Eq 'version_(1[2-9][0-9]|[2-9][0-9][0-9])'; }
modern_wasm_opt || echo "note: no modern wasm-opt (npm ci installs binaryen); the modules are not post-optimised" >&2

# module NAME PROFILE OPT [FEATURES] [TARGET_FEATURES] [DIR]: one wasm32 build, bound as
# DIR/NAME.js + NAME_bg.wasm (DIR defaults to $out; simd128 always, from .cargo/config.toml,
# plus TARGET_FEATURES).
module() {
  local name=$1 profile=$2 opt=$3 features=${4:-} target_features=${5:-} dir=${6:-$out}
  cargo build -p pocketrank-web --target wasm32-unknown-unknown --profile "$profile" --locked ${features:+--features "$features"} \
    ${target_features:+--config "target.wasm32-unknown-unknown.rustflags=[\"-C\", \"target-feature=$target_features\"]"}
  wasm-bindgen --target web --out-dir "$dir" --out-name "$name" "$target_dir/wasm32-unknown-unknown/$profile/pocketrank_web.wasm"
  if modern_wasm_opt; then
    local f="$dir/${name}_bg.wasm"
    "$wasm_opt" "$opt" --enable-simd ${target_features:+--enable-relaxed-simd} --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext "$f" -o "$f.opt" && mv "$f.opt" "$f"
  fi
}

# The core module: no tokenizer, built for speed.
module pocketrank_core wasm-release -O3 "${WEB_FEATURES:-}"
cp web/js/index.js web/js/webgpu.js web/js/index.d.ts web/js/package.json web/js/README.md "$out/"

# The same core with relaxed SIMD (its 8-bit dot product scores the catalog's int8 rows):
# index.js loads it where the engine validates relaxed SIMD (Chromium since 114, Node 22 and
# later, workerd), the module above elsewhere. Both give the same scores. It is bound under
# the same name, so that pocketrank_core.js serves both (the build checks that the bindings
# are the same), and only its .wasm is kept.
module pocketrank_core wasm-relaxed -O3 "${WEB_FEATURES:-}" +relaxed-simd "$out/relaxed"
if ! cmp -s "$out/relaxed/pocketrank_core.js" "$out/pocketrank_core.js"; then
  echo "the relaxed-SIMD build's bindings differ from the core module's: they cannot share pocketrank_core.js" >&2
  exit 1
fi
mv "$out/relaxed/pocketrank_core_bg.wasm" "$out/pocketrank_core_relaxed_bg.wasm"
rm -r "$out/relaxed"

# `pocketrank/text`: the same API over a module with the catalog's tokenizer, so items added
# after export are placed by their titles. Built for size: the tokenizer's code is large.
module pocketrank_text wasm-text -Oz "text${WEB_FEATURES:+,$WEB_FEATURES}"
sed -e 's/pocketrank_core/pocketrank_text/g' -e 's/^const TEXT = false;$/const TEXT = true;/' web/js/index.js > "$out/text.js"
grep -q '^const TEXT = true;$' "$out/text.js" || { echo "text.js: the TEXT flag was not set" >&2; exit 1; }
printf '%s\n' "// pocketrank with titles on the device: the API of index.js, over pocketrank_text_bg.wasm." \
  "export * from './index.js';" > "$out/text.d.ts"

raw=$(wc -c < "$out/pocketrank_core_bg.wasm")
relaxed_gz=$(gzip -9 -c "$out/pocketrank_core_relaxed_bg.wasm" | wc -c)
gz=$(gzip -9 -c "$out/pocketrank_core_bg.wasm" | wc -c)
js=$(cat "$out/index.js" "$out/pocketrank_core.js" | gzip -9 | wc -c)
echo "built $out: pocketrank_core_bg.wasm $raw bytes, $gz gzip (relaxed SIMD: $relaxed_gz gzip); index.js + pocketrank_core.js $js gzip (webgpu.js loads on demand)"
text_raw=$(wc -c < "$out/pocketrank_text_bg.wasm")
text_gz=$(gzip -9 -c "$out/pocketrank_text_bg.wasm" | wc -c)
echo "  pocketrank/text: pocketrank_text_bg.wasm $text_raw bytes, $text_gz gzip"

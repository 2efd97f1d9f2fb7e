#!/usr/bin/env bash
# Builds the fuzz targets as libFuzzer binaries with the stable toolchain (the coverage
# instrumentation `cargo fuzz` adds with `--sanitizer none`) and runs each for SECONDS.
# The corpus of artifact_from_bytes is seeded with RUN's table and core artifacts (and its
# codes artifact, when there is one), the one
# of item_codes with RUN's item-code file and a few code strings.
#
# fuzz/run.sh SECONDS [RUN]     (RUN: a trainer run folder with model.pkr, core.pkr, codes.pkc)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS [RUN]}
run=${2:-}

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
target_dir=${CARGO_TARGET_DIR:-target}/fuzz
# An explicit --target keeps the instrumentation out of build scripts and proc macros.
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --locked --target "$host" --target-dir "$target_dir" --bins

mkdir -p corpus/artifact_from_bytes corpus/item_codes
if [ -n "$run" ]; then
  cp "$run/model.pkr" "$run/core.pkr" corpus/artifact_from_bytes/
  [ -f "$run/codes.pkr" ] && cp "$run/codes.pkr" corpus/artifact_from_bytes/
  cp "$run/codes.pkc" corpus/item_codes/
  head -c 2000 "$run/codes.jsonl" | grep -o '"code":"[^"]*"' | cut -d'"' -f4 | head -5 |
    while read -r c; do printf '%s' "$c" > "corpus/item_codes/code-$c"; done
fi
for t in artifact_from_bytes item_codes; do
  echo "==> $t for $seconds s"
  mkdir -p "artifacts/$t"
  rc=0
  "$target_dir/$host/release/$t" -max_total_time="$seconds" -max_len=1048576 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" "corpus/$t" > "artifacts/$t.log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|thread .* panicked)' "artifacts/$t.log" || true
  [ "$rc" -eq 0 ] || { tail -30 "artifacts/$t.log"; echo "$t found a failing input (in fuzz/artifacts/$t/)"; exit 1; }
done

#!/usr/bin/env bash
# Ingestion at shop scale: writes an event log of ROWS rows (default 10^8) built from the
# real Amazon Beauty sequences (trainer/examples/scale_log.rs: every copy re-keys Beauty's
# shoppers and shifts their times by a day; shards in time order, as a warehouse exports),
# as Parquet (snappy) and as CSV, then reads each with `trainer inspect` and prints rows/s
# and peak RSS. Usage: bench/ingest.sh [parquet] [csv] (default both); ROWS, SHARDS
# (default 10), OUT (where the logs are written and kept; default a temporary folder,
# removed at the end); POCKETRANK_DATA as for the trainer.
set -euo pipefail
cd "$(dirname "$0")/.."
formats=("${@:-parquet}")
[ $# -eq 0 ] && formats=(parquet csv)
rows=${ROWS:-100000000}

cargo build --release -p pocketrank-trainer --locked --bin trainer --example scale_log >&2
bin=${CARGO_TARGET_DIR:-target}/release
out=${OUT:-}
if [ -z "$out" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

printf '| format | rows | shards | on disk | seconds | rows/s | peak RSS (MiB) |\n|---|---|---|---|---|---|---|\n'
for format in "${formats[@]}"; do
  log="$out/$format-$rows"
  if [ ! -d "$log" ]; then
    "$bin/examples/scale_log" --rows "$rows" --shards "${SHARDS:-10}" --format "$format" --out "$log.tmp" >&2
    mv "$log.tmp" "$log"
  fi
  report=$("$bin/trainer" inspect --events "$log")
  python3 - "$format" "$(du -sm "$log" | cut -f1)" "$(find "$log" -type f | wc -l)" "$report" <<'PY'
import re, sys
fmt, mib, shards, report = sys.argv[1:5]
rows, secs, per_s = re.search(r"rows read:\s+(\d+) in ([\d.]+) s \((\d+) rows/s\)", report).groups()
rss = re.search(r"peak RSS:\s+(\d+) MiB", report).group(1)
print(f"| {fmt} | {int(rows):,} | {shards} | {int(mib):,} MiB | {float(secs):.1f} | {int(per_s)/1e6:.2f} M | {int(rss):,} |")
PY
done

#!/usr/bin/env bash
# Times one teacher epoch on Amazon Beauty per CPU backend and thread count, and prints
# targets/s, epoch seconds and the process's peak RSS. Usage: bench/teacher_epoch.sh
# [backend...] (default: cpu ndarray); THREADS="1 2" (default) are the thread counts (the
# size of Burn's rayon pool, RAYON_NUM_THREADS). Builds the trainer in release mode first (with
# TRAINER_FEATURES, e.g. "cuda", when set: reuses that build for the CPU backends too).
set -euo pipefail
cd "$(dirname "$0")/.."
backends=("${@:-cpu}")
[ $# -eq 0 ] && backends=(cpu ndarray)

cargo build --release -p pocketrank-trainer --locked ${TRAINER_FEATURES:+--features "$TRAINER_FEATURES"} >&2
bin=${CARGO_TARGET_DIR:-target}/release/trainer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '| backend | threads | epoch (s) | targets/s | valid (s) | peak RSS (MiB) |\n|---|---|---|---|---|---|\n'
for b in "${backends[@]}"; do
  for threads in ${THREADS:-1 2}; do
    out="$tmp/$b-$threads"
    export RAYON_NUM_THREADS=$threads
    # Peak RSS from the kernel's accounting of the finished child (ru_maxrss, KiB).
    rss=$(python3 - "$bin" "$out" "$b" <<'PY'
import resource, subprocess, sys
bin, out, backend = sys.argv[1:4]
subprocess.run([bin, "train", "--dataset", "amazon-beauty-s3rec", "--out", out, "--device", backend,
                "--max-epochs", "1", "--valid-users", "2000", "--offline"],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
PY
    )
    python3 - "$out/checkpoints/state.json" "$b" "$rss" "$threads" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
e = state["epochs"][0]
print(f"| {sys.argv[2]} | {sys.argv[4]} | {e['train_seconds']:.1f} | {e['targets_per_second']:.0f} | {e['valid_seconds']:.1f} | {sys.argv[3]} |")
PY
  done
done

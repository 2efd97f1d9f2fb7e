#!/usr/bin/env bash
# Reproduces the README's quality tables from scratch: for each dataset, trains the teacher
# with the default settings, distils the student with the default settings, and prints one
# table of test results (HR@10 / NDCG@10) next to popularity and co-occurrence, plus the
# student/teacher table, what diversity costs (datasets with brands) and, on basket data
# (instacart), the next item in the basket. Nothing is tuned per dataset.
#
# Usage: bench/quality.sh [dataset...]     (default: amazon-beauty-s3rec)
#   e.g. bench/quality.sh amazon-beauty-s3rec amazon-toys-s3rec amazon-sports-s3rec
# Environment: OUT (run folders, default runs/quality), TRAINER_FEATURES (e.g. "cuda", then
#   DEVICE=cuda), DEVICE (default cpu), REPLICAS (data-parallel replicas of the teacher and the student; the
#   trainer's default is one per core on the CPU, at most 4, and one GPU; the same training
#   either way, only faster), EXTRA_TRAIN / EXTRA_DISTILL (extra flags, for ablations: the printed
#   table names them). A finished run is reused (--resume).
# On 2 CPU cores: Toys took 47 minutes (teacher 32 min, student 15 min); Sports about 2.5 hours
# (teacher 88 min, student about an hour); Beauty takes about 60
# (teacher ≈ 38 min).
set -euo pipefail
cd "$(dirname "$0")/.."
datasets=("${@:-amazon-beauty-s3rec}")
out=${OUT:-runs/quality}
device=${DEVICE:-cpu}

cargo build --release -p pocketrank-trainer --locked ${TRAINER_FEATURES:+--features "$TRAINER_FEATURES"} >&2
bin=${CARGO_TARGET_DIR:-target}/release/trainer

for d in "${datasets[@]}"; do
  run="$out/$d"
  # shellcheck disable=SC2086
  "$bin" train --dataset "$d" --out "$run" --device "$device" ${REPLICAS:+--replicas "$REPLICAS"} --resume ${EXTRA_TRAIN:-} >&2
  if [ ! -f "$run/student/metrics.json" ]; then
    # shellcheck disable=SC2086
    "$bin" distill --dataset "$d" --run "$run" --device "$device" ${REPLICAS:+--replicas "$REPLICAS"} ${EXTRA_DISTILL:-} >&2
  fi
done

python3 - "$out" "${EXTRA_TRAIN:-}" "${EXTRA_DISTILL:-}" "${datasets[@]}" <<'PY'
import json, sys
out, extra_train, extra_distill, datasets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def cell(m):
    return f"{m['hr@10']:.4f} / {m['ndcg@10']:.4f}"

print(f"\nTest, HR@10 / NDCG@10 (teacher flags: '{extra_train or 'defaults'}', student flags: '{extra_distill or 'defaults'}')\n")
print("| dataset | model | full masked | full unmasked | sampled-100 | best epoch | s / epoch |")
print("|---|---|---|---|---|---|---|")
for d in datasets:
    run = f"{out}/{d}"
    metrics = json.load(open(f"{run}/metrics.json"))
    state = json.load(open(f"{run}/checkpoints/state.json"))
    epochs = state["epochs"]
    per_epoch = sum(e["train_seconds"] for e in epochs) / max(len(epochs), 1)
    student = json.load(open(f"{run}/student/metrics.json"))
    rows = [(m["name"], m["metrics"]) for m in metrics["models"]]
    rows += [(m["name"], m["metrics"]) for m in student["full"]["models"] if m["name"] != "teacher"]
    for name, m in rows:
        extra = f" {state['best_epoch']} of {len(epochs)} | {per_epoch:.0f} |" if name == "teacher" else " | |"
        print(f"| {d} | {name} | {cell(m['full_masked'])} | {cell(m['full_unmasked'])} | {cell(m['sampled100'])} |{extra}")

print("\nStudent / teacher NDCG@10 (the shipped int8 student; rerank lists with the shop's positions)\n")
print("| dataset | task | teacher | student | student / teacher |")
print("|---|---|---|---|---|")
for d in datasets:
    student = json.load(open(f"{out}/{d}/student/metrics.json"))
    models = {m["name"]: m["metrics"] for m in student["full"]["models"]}
    shipped = "student (int8)" if "student (int8)" in models else "student"
    for task in ["full_masked", "full_unmasked", "sampled100"]:
        t, s = models["teacher"][task]["ndcg@10"], models[shipped][task]["ndcg@10"]
        print(f"| {d} | {task.replace('_', ' ')} | {t:.4f} | {s:.4f} | {s / t:.0%} |")
    reranks = {(r["list"], r["ground_truth"], r["model"]): r["metrics"] for r in student["rerank"]}
    for (lst, truth, model), m in reranks.items():
        if model != f"{shipped}, with list positions":
            continue
        t = reranks[(lst, truth, "teacher")]["ndcg@10"]
        print(f"| {d} | rerank {lst} ({truth}) | {t:.4f} | {m['ndcg@10']:.4f} | {m['ndcg@10'] / t:.0%} |")

for d in datasets:
    student = json.load(open(f"{out}/{d}/student/metrics.json"))
    if student.get("diversity"):
        print(f"\nDiversity, {d}: the int8 student's top 10 of its top 100, test\n")
        print("| setting | NDCG@10 | HR@10 | distinct brands in the top 10 | mean pairwise cosine |")
        print("|---|---|---|---|---|")
        for r in student["diversity"]:
            print(f"| {r['setting']} | {r['ndcg10']:.4f} | {r['hr10']:.4f} | {r['brands10']:.2f} | {r['cosine10']:.3f} |")
    if student.get("baskets"):
        print(f"\nNext item in the basket, {d} (only the basket's own products masked)\n")
        print("| model | NDCG@10 | HR@10 |")
        print("|---|---|---|")
        for r in student["baskets"]:
            print(f"| {r['model']} | {r['ndcg10']:.4f} | {r['hr10']:.4f} |")
PY

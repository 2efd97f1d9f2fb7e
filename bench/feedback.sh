#!/usr/bin/env bash
# What learning from feedback on the device does, in simulation: the static student against
# the student corrected by the shopper's clicks and pass-overs, with the run's teacher as the
# shopper, under both click models (see trainer/src/simulation.rs). Prints both tables and
# writes RUN/student/feedback-{session,memoryless}.{json,md}.
#
#   bench/feedback.sh [RUN] [ARTIFACT]     # defaults: runs/beauty beauty.pkr (from scripts/demo)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/beauty}
artifact=${2:-beauty.pkr}
for model in session memoryless; do
  cargo run -q --release --locked -p pocketrank-trainer -- simulate --run "$run" --artifact "$artifact" \
    --shoppers 2000 --rounds 10 --seed 42 --click-model "$model"
  echo
done

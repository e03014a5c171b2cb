#!/usr/bin/env bash
# What sharing the draws saves a study (see docs/performance.md): the
# variants `--sensitivity` runs, as separate runs and as one
# study::simulate_many, interleaved, best of REPS, summaries checked equal.
#
# Usage: benches/shared_draws.sh          (defaults below)
#   SCENARIO=scenarios/reset.toml TRIALS=20000 THREADS=2 REPS=3 benches/shared_draws.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${SCENARIO:-scenarios/reset.toml}
TRIALS=${TRIALS:-20000}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
cargo build --release --quiet --example shared_draws
target/release/examples/shared_draws "$SCENARIO" --trials "$TRIALS" --threads "$THREADS" --reps "$REPS"

#!/usr/bin/env bash
# The optimizer's speed (docs/performance.md): `simulate optimize` on
# scenarios/optimize_reset.toml (reset.toml, 8 levers: the core intensity
# of four core units, the budget and funded years of two innovation units)
# at 20,000 trials per candidate, on 2 threads, without the frontier or
# charts; repeated REPS times (the fastest kept). Prints the candidates
# scored, the engine runs they took, the search's wall time, candidates per
# second, the whole command's wall time, and the candidate from which the
# best objective was within 1e-4 of the final one (converged).
#
# Usage: benches/optimize.sh        (REPS=3 THREADS=2 TRIALS=20000 EVALUATIONS=1500)
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
THREADS=${THREADS:-2}
TRIALS=${TRIALS:-20000}
EVALUATIONS=${EVALUATIONS:-1500}
SCENARIO=${SCENARIO:-scenarios/optimize_reset.toml}

cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

best=""
for i in $(seq "$REPS"); do
  start=$(date +%s.%N)
  target/release/simulate optimize "$SCENARIO" --threads "$THREADS" --trials "$TRIALS" \
    --evaluations "$EVALUATIONS" --no-frontier --no-charts --no-xlsx --quiet --out "$out/run"
  end=$(date +%s.%N)
  wall=$(echo "$end - $start" | bc)
  line=$(python3 - "$out/run" "$wall" <<'PY'
import csv, json, sys
d = json.load(open(sys.argv[1] + "/optimum.json"))
wall = float(sys.argv[2])
s = d["search_seconds"]
rows = list(csv.DictReader(open(sys.argv[1] + "/optimize.csv")))
obj = [k for k in rows[0] if k.startswith("objective_")][0]
best = max(float(r[obj]) for r in rows if r["feasible"] == "true")
# The first candidate within 1e-4 (relative) of the final best.
first = next(int(r["evaluation"]) for r in rows
             if r["feasible"] == "true" and float(r[obj]) >= best - 1e-4 * abs(best))
print(f'{s:.2f} {d["evaluations"]} {d["engine_runs"]} {d["evaluations"] / s:.1f} {wall:.2f} '
      f'{d["in_sample"]["value"]:.2f} {d["out_of_sample"]["value"]:.2f} {first}')
PY
)
  echo "run $i: search_s candidates engine_runs candidates_per_s wall_s objective_in objective_out within_1e-4_at = $line"
  if [ -z "$best" ] || [ "$(echo "$line" | awk '{print $1}')" \< "$(echo "$best" | awk '{print $1}')" ]; then
    best=$line
  fi
done
read -r s n runs rate wall obj_in obj_out first <<<"$best"
echo
echo "optimize_reset.toml, $TRIALS trials per candidate, $THREADS threads (fastest of $REPS):"
echo "  candidates scored:       $n in $runs engine runs"
echo "  search wall time:        ${s} s  ($rate candidates/s)"
echo "  whole command wall time: ${wall} s (search, out-of-sample re-score, the run of optimized.toml, outputs)"
echo "  objective:               $obj_in in sample, $obj_out out of sample"
echo "  converged:               within 1e-4 of the final best at candidate $first of $n (~$(echo "scale=1; $s * $first / $n" | bc) s)"

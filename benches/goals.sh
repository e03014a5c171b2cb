#!/usr/bin/env bash
# Issue 22's goals, each figure from this one run (docs/performance.md,
# docs/optimize.md):
#   1. sensitivity / plain: `simulate scenarios/reset.toml --sensitivity`
#      against the plain run, 100k trials, 2 threads (benches/sensitivity.sh,
#      REPS interleaved rounds, fastest of each; goal <= 10), and the
#      screened study `--sensitivity --sensitivity-top 10` in the same
#      rounds (its top 10 rows checked against the full study's);
#   2. `simulate optimize scenarios/optimize_reset.toml` WITH the frontier
#      and charts (the README command) on 2 threads: wall time (goal <= 60 s),
#      the optimum's objective in and out of sample; then on 1 thread, and
#      whether both output folders hold the same bytes (the optimizer's own
#      wall time masked, as benches/identical.sh masks it);
#   3. with OLD (a build of main before issue 22) given: its sensitivity
#      / plain (one pair) after 1., and the same optimize command with OLD
#      on 2 threads, for its time and objectives;
#   4. ENGINE=1: benches/compare.sh's engine / floor line (SKIP_NUMPY,
#      SKIP_MEMORY; goal <= 3).
# Prints the load average before each part: the machine is shared.
#
# Usage: benches/goals.sh [BIN [OLD]]   (REPS=3 ENGINE=0; BIN defaults to
#        the release build, built first)
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
ENGINE=${ENGINE:-0}
BIN=${1:-}
OLD=${2:-}
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/simulate
fi
BIN=$(realpath "$BIN")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
load() { echo "  (load average: $(cut -d' ' -f1-3 /proc/loadavg))"; }

echo "== 1. sensitivity / plain"
load
REPS=$REPS TOP=10 benches/sensitivity.sh "$BIN" | tail -8
if [ -n "$OLD" ]; then
  echo "  with $OLD (REPS=1):"
  load
  REPS=1 benches/sensitivity.sh "$(realpath "$OLD")" | tail -3
fi

# Runs `optimize` with binary $1 on $2 threads into $out/$3; prints its
# wall time, objective in and out of sample (with standard errors).
optimize() {
  local bin=$1 threads=$2 dir=$out/$3
  /usr/bin/time -f "%e" -o "$out/time" "$bin" optimize scenarios/optimize_reset.toml \
    --threads "$threads" --out "$dir" -q >"$out/$3.stdout" 2>&1
  python3 - "$dir/optimum.json" "$(cat "$out/time")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
i, o = d["in_sample"], d["out_of_sample"]
print(f'{float(sys.argv[2]):.1f} s wall (search {d["search_seconds"]:.1f} s, '
      f'{d["evaluations"]} candidates in {d["engine_runs"]} engine runs); objective '
      f'{i["value"]:.4f} (se {i["stderr"]:.4f}) in sample, '
      f'{o["value"]:.4f} (se {o["stderr"]:.4f}) out of sample')
PY
}

echo
echo "== 2. optimize scenarios/optimize_reset.toml, with the frontier and charts"
load
echo "  2 threads: $(optimize "$BIN" 2 t2)"
load
echo "  1 thread:  $(optimize "$BIN" 1 t1)"
for side in t1 t2; do
  find "$out/$side" -type f \( -name optimum.json -o -name '*.md' -o -name '*.html' \) -exec sed -i -E \
    -e 's/\(([0-9.]+) s\)/(T s)/g' -e 's/"(search_)?seconds": [0-9.e+-]+/"\1seconds": T/' \
    -e 's/[0-9.]+ s (of search|search|wall)/T s \1/g' {} +
done
if d=$(diff -rq "$out/t1" "$out/t2"); then
  echo "  1 and 2 threads: the same bytes ($(find "$out/t2" -type f | wc -l) files)"
else
  echo "  1 and 2 threads DIFFER:"
  echo "$d"
fi
if [ -n "$OLD" ]; then
  echo
  echo "== 3. the same with $OLD (2 threads)"
  load
  echo "  $(optimize "$(realpath "$OLD")" 2 old)"
fi
if [ "$ENGINE" = 1 ]; then
  echo
  echo "== 4. engine / floor"
  load
  SKIP_NUMPY=1 SKIP_MEMORY=1 benches/compare.sh | grep -i "floor"
fi

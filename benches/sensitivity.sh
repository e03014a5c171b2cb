#!/usr/bin/env bash
# The sensitivity study's cost in plain runs (docs/performance.md):
# `simulate FILE --trials N --sensitivity` against `simulate FILE --trials N`
# (both --no-charts --no-xlsx, on THREADS threads), interleaved REPS times
# (plain, study, plain, study, ...) because the machine is shared; the
# fastest of each is kept, by wall time and by CPU time (user + system,
# less sensitive to other jobs on the machine). Prints both and their
# ratios (the issue's goal: at most 10).
#
# Usage: benches/sensitivity.sh [BIN]   (REPS=5 THREADS=2 TRIALS=100000
#        SCENARIO=scenarios/reset.toml; BIN defaults to the release build,
#        built first)
# With BASE=OLD_BIN, OLD_BIN's study runs in the same rounds too (plain,
# study, old study, ...) and the old / new ratio of the studies is
# printed: on a shared machine, the one fair comparison of two builds.
# With TOP=N, the screened study (--sensitivity-top N) runs in the same
# rounds too, its ratio to the plain run printed, and its top N rows per
# policy compared with the full study's (they must be the same bytes).
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-5}
THREADS=${THREADS:-2}
TRIALS=${TRIALS:-100000}
SCENARIO=${SCENARIO:-scenarios/reset.toml}
BIN=${1:-}
BASE=${BASE:-}
TOP=${TOP:-}
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/simulate
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Prints "wall cpu" of one run of $RUN_BIN (default BIN), in seconds.
one() {
  /usr/bin/time -f "%e %U %S" -o "$out/time" \
    "${RUN_BIN:-$BIN}" "$SCENARIO" --trials "$TRIALS" --threads "$THREADS" --no-charts --no-xlsx -q \
    --out "$out/run" "$@" >/dev/null
  if [ -f "$out/run/sensitivity.csv" ]; then
    mv "$out/run/sensitivity.csv" "$out/sensitivity-${KEEP:-full}.csv"
  fi
  rm -rf "$out/run"
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$out/time"
}

min() {
  if [ -z "$1" ]; then echo "$2"; else echo "$1 $2" | awk '{print ($2 < $1) ? $2 : $1}'; fi
}

pw="" pc="" sw="" sc="" bw="" bc="" tw="" tc=""
for i in $(seq "$REPS"); do
  read -r w c <<<"$(one)"
  read -r w2 c2 <<<"$(one --sensitivity)"
  echo "rep $i: plain ${w} s wall ${c} s cpu; sensitivity ${w2} s wall ${c2} s cpu"
  pw=$(min "$pw" "$w"); pc=$(min "$pc" "$c"); sw=$(min "$sw" "$w2"); sc=$(min "$sc" "$c2")
  if [ -n "$BASE" ]; then
    read -r w3 c3 <<<"$(RUN_BIN=$BASE one --sensitivity)"
    echo "rep $i: old sensitivity ${w3} s wall ${c3} s cpu"
    bw=$(min "$bw" "$w3"); bc=$(min "$bc" "$c3")
  fi
  if [ -n "$TOP" ]; then
    read -r w4 c4 <<<"$(KEEP=top one --sensitivity --sensitivity-top "$TOP")"
    echo "rep $i: sensitivity --sensitivity-top $TOP ${w4} s wall ${c4} s cpu"
    tw=$(min "$tw" "$w4"); tc=$(min "$tc" "$c4")
  fi
done
echo
echo "$SCENARIO, $TRIALS trials, $THREADS threads, fastest of $REPS (interleaved):"
echo "  plain run:    ${pw} s wall, ${pc} s cpu"
echo "  sensitivity:  ${sw} s wall, ${sc} s cpu"
echo "  sensitivity / plain = $(echo "scale=1; $sw / $pw" | bc) (wall), $(echo "scale=1; $sc / $pc" | bc) (cpu)"
if [ -n "$BASE" ]; then
  echo "  old sensitivity ($BASE): ${bw} s wall, ${bc} s cpu"
  echo "  old / new = $(echo "scale=2; $bw / $sw" | bc) (wall), $(echo "scale=2; $bc / $sc" | bc) (cpu)"
fi
if [ -n "$TOP" ]; then
  echo "  sensitivity --sensitivity-top $TOP: ${tw} s wall, ${tc} s cpu"
  echo "  sensitivity --sensitivity-top $TOP / plain = $(echo "scale=1; $tw / $pw" | bc) (wall), $(echo "scale=1; $tc / $pc" | bc) (cpu)"
  # Per policy, the first TOP rows of each: the same bytes.
  top_rows() { awk -F, -v n="$TOP" 'NR > 1 { if ($1 != p) { p = $1; k = 0 } if (++k <= n) print }' "$1"; }
  if [ "$(top_rows "$out/sensitivity-full.csv")" = "$(top_rows "$out/sensitivity-top.csv")" ]; then
    echo "  its top $TOP rows per policy: the same bytes as the full study's"
  else
    echo "  its top $TOP rows per policy DIFFER from the full study's" >&2
    exit 1
  fi
  echo "  rows screened out (estimates): $(grep -c 'screened out of the top' "$out/sensitivity-top.csv" || true) of $(($(wc -l <"$out/sensitivity-top.csv") - 1))"
fi

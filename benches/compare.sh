#!/usr/bin/env bash
# Side-by-side performance comparison of the engine (see docs/performance.md).
#
# Builds release, then runs on the same scenario and trial count, interleaved
# and repeated (the minimum of each is reported, so that other load on the
# machine shows as little as possible):
#   - the engine: target/release/simulate, on 2 threads and on 1;
#   - the floor: target/release/examples/floor (only the normal draws the
#     scenario needs, same generator and blocks), on 2 threads and on 1;
#   - the numpy reference: benches/reference/stratsim_ref.py (if present;
#     numpy is pip-installed if missing), single-threaded by design;
# and prints the ratios numpy/engine, engine/floor, 1-thread/2-thread, the
# engine's peak memory at 100k vs 5M trials, and the start-up time of a
# 1-unit scenario with 1k trials. Every figure comes from this one run.
#
# Usage: benches/compare.sh            (defaults below)
#   SCENARIO=benches/bench12.toml TRIALS=200000 REPS=5 NUMPY_REPS=2 \
#   BIG_TRIALS=5000000 SKIP_MEMORY=0 SKIP_NUMPY=0 benches/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=${SCENARIO:-benches/bench12.toml}
TRIALS=${TRIALS:-200000}
REPS=${REPS:-5}
NUMPY_REPS=${NUMPY_REPS:-2}
SMALL_TRIALS=${SMALL_TRIALS:-100000}
BIG_TRIALS=${BIG_TRIALS:-5000000}
SKIP_MEMORY=${SKIP_MEMORY:-0}
SKIP_NUMPY=${SKIP_NUMPY:-0}
STARTUP_SCENARIO=${STARTUP_SCENARIO:-tests/fixtures/gbm.toml}
# The same scenario with every held unit valued by the one-future fade
# (MODEL v3): what the valuation costs, timed in the same rounds.
FADE_SCENARIO=${FADE_SCENARIO:-benches/bench12_fade.toml}

echo "== building (release)"
cargo build --release --quiet --bin simulate --example floor
SIM=target/release/simulate
FLOOR=target/release/examples/floor
REF=benches/reference/stratsim_ref.py

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# --no-charts and --no-xlsx where the binary has them (charts and the
# workbook are not what is measured).
NOCHARTS=()
if "$SIM" --help 2>/dev/null | grep -q -- '--no-charts'; then
    NOCHARTS=(--no-charts)
fi
if "$SIM" --help 2>/dev/null | grep -q -- '--no-xlsx'; then
    NOCHARTS+=(--no-xlsx)
fi

PYTHON=${PYTHON:-python3}
HAVE_NUMPY=0
if [[ "$SKIP_NUMPY" != 1 && -f "$REF" ]]; then
    if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
        echo "== numpy missing: pip install numpy"
        "$PYTHON" -m pip install --quiet numpy || true
    fi
    if "$PYTHON" -c 'import numpy' 2>/dev/null; then
        HAVE_NUMPY=1
    fi
fi

now_ns() { date +%s%N; }

declare -A BEST
# run NAME CMD...: time one run (wall clock, ms) and keep the minimum.
run() {
    local name=$1
    shift
    local t0 t1 ms
    t0=$(now_ns)
    "$@" >/dev/null 2>&1
    t1=$(now_ns)
    ms=$(((t1 - t0) / 1000000))
    if [[ -z "${BEST[$name]:-}" || $ms -lt ${BEST[$name]} ]]; then
        BEST[$name]=$ms
    fi
}

engine() { "$SIM" "$SCENARIO" --trials "$TRIALS" --threads "$1" --quiet --out "$OUT/run" "${NOCHARTS[@]}"; }
floor() { "$FLOOR" "$SCENARIO" --trials "$TRIALS" --threads "$1"; }
fade() { "$SIM" "$FADE_SCENARIO" --trials "$TRIALS" --threads "$1" --quiet --out "$OUT/fade" "${NOCHARTS[@]}"; }
numpy_ref() { "$PYTHON" "$REF" "$SCENARIO" --trials "$TRIALS" --quiet; }

echo "== $SCENARIO, $TRIALS trials, $REPS rounds (engine and floor on 2 and 1 threads)"
engine 2 # warm the page cache
for ((r = 1; r <= REPS; r++)); do
    run engine2 engine 2
    run floor2 floor 2
    run engine1 engine 1
    run floor1 floor 1
    if [[ -f "$FADE_SCENARIO" ]]; then
        run fade2 fade 2
        run fade1 fade 1
    fi
    if [[ $HAVE_NUMPY == 1 && $r -le $NUMPY_REPS ]]; then
        run numpy numpy_ref
    fi
done

for ((r = 1; r <= REPS; r++)); do
    run startup "$SIM" "$STARTUP_SCENARIO" --trials 1000 --quiet --out "$OUT/startup" "${NOCHARTS[@]}"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo
echo "minimum wall time of each (ms):"
printf '  %-26s %8s\n' "engine, 2 threads" "${BEST[engine2]}"
printf '  %-26s %8s\n' "engine, 1 thread" "${BEST[engine1]}"
printf '  %-26s %8s\n' "floor, 2 threads" "${BEST[floor2]}"
printf '  %-26s %8s\n' "floor, 1 thread" "${BEST[floor1]}"
if [[ $HAVE_NUMPY == 1 ]]; then
    printf '  %-26s %8s\n' "numpy reference" "${BEST[numpy]}"
fi
if [[ -n "${BEST[fade2]:-}" ]]; then
    printf '  %-26s %8s\n' "fade-valued, 2 threads" "${BEST[fade2]}"
    printf '  %-26s %8s\n' "fade-valued, 1 thread" "${BEST[fade1]}"
fi
printf '  %-26s %8s\n' "start-up (1 unit, 1k)" "${BEST[startup]}"
echo
echo "ratios:"
if [[ $HAVE_NUMPY == 1 ]]; then
    echo "  numpy / engine (2 threads)       $(ratio "${BEST[numpy]}" "${BEST[engine2]}")   (target >= 20)"
else
    echo "  numpy / engine                    n/a (no reference or no numpy)"
fi
echo "  engine / floor, 2 threads        $(ratio "${BEST[engine2]}" "${BEST[floor2]}")   (target <= 3)"
echo "  engine / floor, 1 thread         $(ratio "${BEST[engine1]}" "${BEST[floor1]}")"
echo "  engine 1 thread / 2 threads      $(ratio "${BEST[engine1]}" "${BEST[engine2]}")   (target >= 1.8)"
echo "  floor 1 thread / 2 threads       $(ratio "${BEST[floor1]}" "${BEST[floor2]}")"
if [[ -n "${BEST[fade2]:-}" ]]; then
    echo "  fade / multiple, 2 threads       $(ratio "${BEST[fade2]}" "${BEST[engine2]}")   (target <= 1.05; $FADE_SCENARIO vs $SCENARIO)"
    echo "  fade / multiple, 1 thread        $(ratio "${BEST[fade1]}" "${BEST[engine1]}")"
fi
echo "  start-up, 1 unit, 1k trials      ${BEST[startup]} ms   (target < 50)"

if [[ "$SKIP_MEMORY" != 1 ]]; then
    echo
    echo "== peak memory (engine, default threads): $SMALL_TRIALS vs $BIG_TRIALS trials"
    rss() {
        /usr/bin/time -f '%M' "$SIM" "$SCENARIO" --trials "$1" --quiet --out "$OUT/rss" "${NOCHARTS[@]}" 2>&1 >/dev/null | tail -1
    }
    small=$(rss "$SMALL_TRIALS")
    big=$(rss "$BIG_TRIALS")
    echo "  max RSS, $SMALL_TRIALS trials     ${small} KB"
    echo "  max RSS, $BIG_TRIALS trials    ${big} KB"
    echo "  ratio big / small                $(ratio "$big" "$small")   (target <= 1.2, and under 150 MB)"
fi

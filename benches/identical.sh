#!/usr/bin/env bash
# Byte-identity of every output between two builds of `simulate`: every
# shipped scenario and fixture (charts and workbook included), sweeps, the
# sensitivity study, funding studies, optimizer runs and a 3-shard merge.
# Used to show a refactor changes no figure (see ARCHITECTURE.md).
#
# Usage: benches/identical.sh OLD_BINARY NEW_BINARY
#   TRIALS=3000 THREADS=2 ONLY=sens benches/identical.sh /tmp/old/simulate target/release/simulate
# ONLY keeps the cases whose name contains it; SKIP_OPTIMIZE=1 leaves out
# the optimizer runs (a changed search is compared by its objective instead).
# Prints each case as "same" or the files that differ, then the count of
# files compared; exits 1 when any differs. The optimizer's own wall time
# (in its stdout and optimum.json) is masked before comparing.
set -uo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "$2")
TRIALS=${TRIALS:-3000}
THREADS=${THREADS:-2}
ONLY=${ONLY:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/identical.XXXXXX")
trap 'rm -rf "$work"' EXIT

cases=()
for f in scenarios/*.toml scenarios/history/*.toml tests/fixtures/*.toml; do
    cases+=("run-$(basename "$f" .toml)|$f --trials $TRIALS")
done
cases+=("sweep-one|scenarios/reset.toml --trials $TRIALS --sweep policies.reset.innovation.years=2,3,5")
cases+=("sweep-two|scenarios/reset.toml --trials $TRIALS --sweep units.\"Quark\".growth=0.1,0.3 --sweep scenario.discount_rate=0.08,0.1")
cases+=("sens-reset|scenarios/reset.toml --trials $TRIALS --sensitivity")
cases+=("sens-uncertain|scenarios/reset_uncertain.toml --trials $TRIALS --sensitivity")
cases+=("sens-fade|tests/fixtures/fade.toml --trials $TRIALS --sensitivity --sensitivity-step 20% --sensitivity-rate-step 0.02")
cases+=("tail-trialsout|scenarios/reset.toml --trials $TRIALS --tail 10% --trials-out @OUT@/trials.csv --trials-out-units")
if [ -z "${SKIP_OPTIMIZE:-}" ]; then
    for f in scenarios/optimize_reset.toml tests/fixtures/optimize/*.toml; do
        cases+=("optimize-$(basename "$f" .toml)|optimize $f --trials 2000")
    done
fi
cases+=("shards|SHARDS")

run_case() { # binary args out
    local bin=$1 args=$2 out=$3
    mkdir -p "$out"
    if [ "$args" = SHARDS ]; then
        for i in 0 1 2; do
            "$bin" scenarios/reset_correlated.toml --trials "$TRIALS" --threads "$THREADS" \
                --shard "$i/3" --out "$out/parts" -q >"$out/stdout-$i" 2>"$out/stderr-$i"
            echo "exit $?" >>"$out/stdout-$i"
        done
        "$bin" merge "$out/parts" --out "$out/merged" >"$out/stdout" 2>"$out/stderr"
        echo "exit $?" >>"$out/stdout"
        return
    fi
    args=${args//@OUT@/$out}
    # shellcheck disable=SC2086
    eval "\"$bin\" $args --threads $THREADS --out \"$out/o\"" >"$out/stdout" 2>"$out/stderr"
    echo "exit $?" >>"$out/stdout"
}

total=0
bad=0
for c in "${cases[@]}"; do
    name=${c%%|*}
    args=${c#*|}
    if [ -n "$ONLY" ] && [[ $name != *"$ONLY"* ]]; then continue; fi
    run_case "$old" "$args" "$work/old/$name"
    run_case "$new" "$args" "$work/new/$name"
    n=$(find "$work/old/$name" -type f | wc -l)
    total=$((total + n))
    # The output folders name the binary's temporary paths nowhere, but the
    # stdout of a run names the output folder: both runs use their own.
    # The optimizer reports its own wall time (stdout and optimum.json):
    # masked, as is the work folder's name.
    for side in old new; do
        find "$work/$side/$name" -type f \( -name 'std*' -o -name optimum.json \) -exec sed -i -E \
            -e "s#$work/$side/#WORK/#g" -e 's/\(([0-9.]+) s\)/(T s)/' \
            -e 's/"(search_)?seconds": [0-9.e+-]+/"\1seconds": T/' {} +
    done
    if d=$(diff -rq "$work/old/$name" "$work/new/$name"); then
        printf '%-28s same (%d files)\n' "$name" "$n"
    else
        bad=$((bad + 1))
        printf '%-28s DIFFERS\n%s\n' "$name" "$d"
    fi
done
printf '%d files compared, %d case(s) differ\n' "$total" "$bad"
[ "$bad" -eq 0 ]

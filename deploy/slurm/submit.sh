#!/usr/bin/env bash
# Submits a sharded stratsim run to Slurm: a job array of N shards, then the
# merge, held until every shard has succeeded.
#
#   deploy/slurm/submit.sh SCENARIO N OUT [simulate args...]
#
# e.g. deploy/slurm/submit.sh scenarios/reset.toml 16 /shared/runs/reset --trials 10000000
#
# Writes the partials to OUT.parts/, the job logs to OUT.logs/, and the
# merged OUT/summary.json and OUT/summary.csv: the same bytes as
# `simulate SCENARIO --out OUT [simulate args...]` in one process. The merge
# replaces the OUT folder as a whole, which is why the partials and logs
# live beside it and not in it.
# Extra simulate args (--trials, --seed, --quiet) go to every shard.
# Prints the two job ids (array_job_id=..., merge_job_id=...).
#
# Environment:
#   STRATSIM_BIN              simulate binary, on a filesystem every node sees
#                             [simulate on the nodes' PATH]
#   STRATSIM_CPUS_PER_TASK    CPUs (and simulate --threads) per shard [1]
#   STRATSIM_MAX_RUNNING      run at most this many shards at once [no limit]
#   STRATSIM_PARTS            folder for the partials [OUT.parts]
#   SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, SBATCH_QOS, ...
#                             read by sbatch itself, for both jobs
# Every path must be the same on the submit host and on the compute nodes.

set -euo pipefail

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
die() {
    echo "submit.sh: $*" >&2
    exit 2
}
absolute() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
    esac
}

[[ $# -ge 3 ]] || usage
scenario=$(absolute "$1")
n=$2
out=$(absolute "$3")
out=${out%/}
shift 3

[[ -f $scenario && -r $scenario ]] || die "scenario $scenario is not a readable file"
[[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive whole number, got '$n'"
for arg in "$@"; do
    case $arg in
    --out | --out=* | --shard | --shard=* | --threads | --threads=*)
        die "$arg is set by submit.sh (OUT, the array index, STRATSIM_CPUS_PER_TASK); do not pass it" ;;
    esac
done

cpus=${STRATSIM_CPUS_PER_TASK:-1}
[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "STRATSIM_CPUS_PER_TASK must be a positive whole number, got '$cpus'"
limit=
if [[ -n ${STRATSIM_MAX_RUNNING:-} ]]; then
    [[ $STRATSIM_MAX_RUNNING =~ ^[1-9][0-9]*$ ]] || die "STRATSIM_MAX_RUNNING must be a positive whole number"
    limit="%$STRATSIM_MAX_RUNNING"
fi

bin=${STRATSIM_BIN:-simulate}
if [[ $bin == */* ]]; then
    bin=$(absolute "$bin")
    [[ -x $bin ]] || die "STRATSIM_BIN=$bin is not an executable file"
fi
parts=$(absolute "${STRATSIM_PARTS:-$out.parts}")
parts=${parts%/}
logs=$out.logs
case $parts/ in
"$out"/*) die "the partials folder $parts must not be inside OUT: the merge replaces OUT" ;;
esac

# Partials left by another run would make the merge refuse (or, from an
# earlier run of this very scenario, be merged in place of the new ones).
if compgen -G "$parts/*.partial" >/dev/null; then
    die "$parts already holds partial results; remove them or choose another OUT"
fi
mkdir -p "$parts" "$logs"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export STRATSIM_BIN=$bin STRATSIM_SHARDS=$n

array_id=$(sbatch --parsable \
    --array="0-$((n - 1))$limit" \
    --cpus-per-task="$cpus" \
    --output="$logs/%x-%A_%a.out" \
    "$here/shards.sbatch" "$scenario" "$parts" "$@")
array_id=${array_id%%;*}
[[ $array_id =~ ^[0-9]+$ ]] || die "sbatch gave no job id for the shards: '$array_id'"

if ! merge_id=$(sbatch --parsable \
    --dependency="afterok:$array_id" \
    --kill-on-invalid-dep=yes \
    --output="$logs/%x-%j.out" \
    "$here/merge.sbatch" "$parts" "$out"); then
    scancel "$array_id" || true
    die "could not submit the merge job; cancelled the shards (job $array_id)"
fi
merge_id=${merge_id%%;*}

echo "submitted $n shards as job array $array_id and the merge as job $merge_id (after every shard succeeds)"
echo "outputs: $out  partials: $parts  logs: $logs"
echo "array_job_id=$array_id"
echo "merge_job_id=$merge_id"

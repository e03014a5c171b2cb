#!/usr/bin/env bash
# End-to-end test of deploy/slurm on a throw-away one-node Slurm cluster.
#
#   bash tests/slurm/e2e.sh
#
# Starts munged, slurmctld and slurmd on this machine with their sockets,
# state, pid files and logs in a temporary folder (ports 16817/16818 by
# default, STRATSIM_E2E_PORT overrides the first), submits
# scenarios/reset.toml --trials 5000 as 4 shards plus the merge through
# deploy/slurm/submit.sh, and checks that the merged summary.json and
# summary.csv are byte for byte those of a single-process run; then reruns
# one shard by hand the way docs/cluster.md describes and checks that a
# second merge gives the same bytes. Always stops the daemons it started (by
# their pid files, munged last) and removes the folder (STRATSIM_E2E_KEEP=1
# keeps it).
#
# Needs root (skips otherwise, exit 0); installs slurm-wlm and munge from the
# distribution's packages when missing. The binary is STRATSIM_BIN
# [$CARGO_TARGET_DIR or target, then /release/simulate, built with cargo
# build --release if absent].

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1

if [[ $(id -u) -ne 0 ]]; then
    echo "slurm e2e: SKIPPED: needs root to start munged, slurmctld and slurmd (id -u is $(id -u))"
    echo "slurm e2e: 0 passed, 0 failed (1 skipped)"
    exit 0
fi

trials=5000
shards=4
port=${STRATSIM_E2E_PORT:-16817}
node_timeout=60  # seconds for the node to come up idle
job_timeout=120  # seconds for the shards and the merge to finish
started=$SECONDS
passed=0

say() { echo "slurm e2e: $*"; }

tmp=
dump_logs() {
    [[ -n $tmp && -d $tmp ]] || return 0
    local f
    for f in "$tmp"/munge/munged.log "$tmp"/slurmctld.log "$tmp"/slurmd.log "$tmp"/run.logs/*; do
        [[ -f $f ]] || continue
        echo "----- ${f#"$tmp"/} (last 40 lines)"
        tail -n 40 "$f"
    done
    echo "-----"
}

fail() {
    say "FAIL: $*"
    dump_logs
    exit 1
}

# A process is gone once /proc has no entry for it or it is a zombie (the
# daemons' parent here may never reap them).
alive() {
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $state && $state != Z ]]
}

# Gives init a few seconds to reap a dead daemon, so that pgrep right after
# the test shows nothing (this machine's PID 1 reaps orphans only now and then).
reaped() {
    local i
    for ((i = 0; i < 25; i++)); do
        [[ -e /proc/$1 ]] || return 0
        sleep 0.2
    done
}

# stop NAME PID: TERM, up to 10 s, then KILL. Returns 1 if it survives.
stop() {
    local name=$1 pid=$2 i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || { reaped "$pid"; return 0; }
        sleep 0.2
    done
    say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 25; i++)); do
        alive "$pid" || return 0
        sleep 0.2
    done
    say "$name (pid $pid) is still running"
    return 1
}

stop_pidfile() {
    local name=$1 file=$2 pid
    [[ -f $file ]] || return 0
    pid=$(tr -dc '0-9' <"$file")
    [[ -n $pid ]] || return 0
    stop "$name" "$pid"
}

cleanup() {
    local rc=$? leftover=0 pid
    trap - EXIT INT TERM
    if [[ -n $tmp && -d $tmp ]]; then
        # Jobs first, so that no slurmstepd outlives slurmd.
        if [[ -f $tmp/slurmctld.pid ]] && alive "$(tr -dc '0-9' <"$tmp/slurmctld.pid")"; then
            scancel --quiet --user=root 2>/dev/null
            for ((i = 0; i < 25; i++)); do
                [[ -z $(squeue -h 2>/dev/null) ]] && break
                sleep 0.2
            done
        fi
        stop_pidfile slurmd "$tmp/slurmd.pid" || leftover=1
        stop_pidfile slurmctld "$tmp/slurmctld.pid" || leftover=1
        # Anything else still running from the folder (a job script, or a
        # daemon killed before it wrote its pid file) is this test's.
        for pid in $(pgrep -f -- "$tmp/" 2>/dev/null); do
            [[ $pid == "$$" ]] && continue
            stop "leftover $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" "$pid" || leftover=1
        done
        stop_pidfile munged "$tmp/munge/munged.pid" || leftover=1
        if [[ ${STRATSIM_E2E_KEEP:-0} == 1 ]]; then
            say "kept $tmp"
        else
            rm -rf "$tmp"
        fi
    fi
    if ((leftover)); then
        say "FAIL: could not stop every daemon this test started"
        passed=0
    fi
    say "wall time $((SECONDS - started)) s"
    if ((passed && rc == 0)); then
        say "1 passed, 0 failed"
        exit 0
    fi
    say "0 passed, 1 failed"
    exit 1
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------ prerequisites

need=()
for cmd in sbatch squeue sinfo scontrol scancel slurmctld slurmd munged munge unmunge mungekey; do
    command -v "$cmd" >/dev/null || need+=("$cmd")
done
if ((${#need[@]})); then
    say "installing slurm-wlm and munge (missing: ${need[*]})"
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >"$log" 2>&1; then
        tail -n 30 "$log"
        rm -f "$log"
        fail "could not install slurm-wlm and munge"
    fi
    rm -f "$log"
    started=$SECONDS
fi
id munge >/dev/null 2>&1 || fail "no munge user (the munge package creates it)"

bin=${STRATSIM_BIN:-${CARGO_TARGET_DIR:-target}/release/simulate}
if [[ ! -x $bin ]]; then
    [[ -z ${STRATSIM_BIN:-} ]] || fail "STRATSIM_BIN=$bin is not executable"
    say "building $bin (cargo build --release)"
    cargo build --release --quiet || fail "cargo build --release failed"
    started=$SECONDS
fi

"$bin" --help 2>/dev/null | grep -q -- '--shard' ||
    fail "$bin has no --shard option: it predates sharding; run cargo build --release"

tmp=$(mktemp -d /tmp/stratsim-slurm-e2e.XXXXXX) || fail "mktemp failed"
chmod 0755 "$tmp" # the munge user must reach its socket folder
mkdir -p "$tmp/bin" "$tmp/state" "$tmp/spool" "$tmp/munge"
# A private copy: a rebuild of target/ during the test cannot swap it.
cp "$bin" "$tmp/bin/simulate" || fail "cannot copy $bin"
bin=$tmp/bin/simulate

# ------------------------------------------------------------------ munged

sock=$tmp/munge/munge.socket
chown munge:munge "$tmp/munge"
chmod 0700 "$tmp/munge"
runuser -u munge -- mungekey --create --keyfile="$tmp/munge/munge.key" >/dev/null 2>&1 ||
    fail "mungekey could not create a key"
chmod 0711 "$tmp/munge" # clients (root) connect to the socket inside
runuser -u munge -- munged --socket="$sock" --key-file="$tmp/munge/munge.key" \
    --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" \
    --seed-file="$tmp/munge/munged.seed" || fail "munged did not start"
munge -n -S "$sock" | unmunge -S "$sock" >/dev/null || fail "munge credentials do not round-trip"

# ----------------------------------------------------------------- slurm

host=$(hostname -s)
[[ -n $host ]] || fail "hostname is empty"
# `slurmd -C` reports this machine as a NodeName line; keep its CPU layout,
# put RealMemory a little below the reported size.
hw=$(slurmd -C | head -n 1)
[[ $hw == NodeName=* ]] || fail "slurmd -C printed no NodeName line: $hw"
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
[[ -n $mem ]] || fail "no RealMemory in: $hw"
layout=$(tr ' ' '\n' <<<"$hw" | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')

export SLURM_CONF=$tmp/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=stratsim-e2e
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 ${layout}RealMemory=$((mem * 9 / 10)) State=UNKNOWN
PartitionName=e2e Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"

state=
for ((i = 0; i < node_timeout * 2; i++)); do
    state=$(sinfo -h -N -n "$host" -o '%t' 2>/dev/null | head -n 1)
    [[ $state == idle ]] && break
    sleep 0.5
done
[[ $state == idle ]] || fail "node $host is not idle after ${node_timeout}s (state '${state:-none}')"
say "one-node cluster up on $host in $((SECONDS - started)) s"

# ------------------------------------------------------------------- run

out=$tmp/run
submitted=$(STRATSIM_BIN=$bin STRATSIM_CPUS_PER_TASK=1 \
    deploy/slurm/submit.sh scenarios/reset.toml "$shards" "$out" --trials "$trials") ||
    fail "submit.sh failed: $submitted"
echo "$submitted"
array_id=$(sed -n 's/^array_job_id=//p' <<<"$submitted")
merge_id=$(sed -n 's/^merge_job_id=//p' <<<"$submitted")
[[ -n $array_id && -n $merge_id ]] || fail "submit.sh printed no job ids"

job_state() { # JOB -> the JobState of each of its records, one a line
    scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2
}
# wait_job JOB: polls until every record of JOB has ended (job_timeout at
# most); prints the states. sbatch --wait polls too, but only every 2-10 s.
wait_job() {
    local states i
    for ((i = 0; i < job_timeout * 4; i++)); do
        states=$(job_state "$1")
        if [[ -n $states ]] && ! grep -qvE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)$' <<<"$states"; then
            break
        fi
        sleep 0.25
    done
    echo "$states"
}
merge_state=$(wait_job "$merge_id")
shard_states=$(job_state "$array_id" | sort | uniq -c | tr -s ' \n' ' ')
say "shards (job $array_id):$shard_states; merge (job $merge_id): ${merge_state:-unknown}"
if [[ $merge_state != COMPLETED ]]; then
    squeue
    scontrol -o show job "$array_id"
    scontrol -o show job "$merge_id"
    fail "merge job $merge_id ended as '${merge_state:-unknown}' (or not within ${job_timeout}s)"
fi
[[ $(job_state "$array_id" | grep -c '^COMPLETED$') -eq $shards ]] ||
    fail "not every one of the $shards shards completed:$shard_states"
n_parts=$(find "$out.parts" -name '*.partial' | wc -l)
[[ $n_parts -eq $shards ]] || fail "$n_parts partial files in $out.parts, expected $shards"

# ---------------------------------------------------------------- compare

"$bin" scenarios/reset.toml --trials "$trials" --out "$tmp/single" --quiet ||
    fail "the single-process run failed"
for f in summary.json summary.csv; do
    [[ -f $out/$f ]] || fail "the merge wrote no $f"
    cmp "$out/$f" "$tmp/single/$f" || fail "merged $f differs from the single-process run's"
done
say "merged summary.json and summary.csv are identical to the single-process run's"

# ------------------------------------------- rerun one shard (docs/cluster.md)

rm -f "$out.parts/shard-0002-of-0004.partial"
rerun_id=$(STRATSIM_BIN=$bin STRATSIM_SHARDS=$shards sbatch --parsable --array=2 \
    --output="$out.logs/%x-%A_%a.out" \
    deploy/slurm/shards.sbatch "$repo/scenarios/reset.toml" "$out.parts" --trials "$trials") ||
    fail "could not submit the rerun of shard 2"
remerge_id=$(STRATSIM_BIN=$bin sbatch --parsable --dependency="afterok:${rerun_id%%;*}" \
    --kill-on-invalid-dep=yes --output="$out.logs/%x-%j.out" \
    deploy/slurm/merge.sbatch "$out.parts" "$tmp/rerun") ||
    fail "could not submit the second merge"
state=$(wait_job "${remerge_id%%;*}")
[[ $state == COMPLETED ]] ||
    fail "after rerunning shard 2 (job $rerun_id), the merge (job $remerge_id) ended as '${state:-unknown}'"
for f in summary.json summary.csv; do
    cmp "$tmp/rerun/$f" "$tmp/single/$f" || fail "after rerunning shard 2, merged $f differs"
done
say "rerun of one shard and a second merge give the same bytes"
passed=1

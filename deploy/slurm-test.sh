#!/usr/bin/env bash
# Runs deploy/reproduce.sbatch and deploy/merge.sbatch on a real scheduler: a one-node Slurm (Debian's slurmctld,
# slurmd and munge) on this machine, all of its state in a temporary directory. It submits reproduce.sbatch as an
# array of SHARDS tasks in a small mode, merge.sbatch after it with --dependency=afterok, requeues one array task
# while it is running (after it has written some of its cells), waits for the merge, runs the same mode unsharded and
# checks that the merged directory equals the unsharded one. Prints PASS or FAIL; the exit code is 0 only on PASS.
#
#   sudo deploy/slurm-test.sh
#
# Needs root (it runs the daemons as root) on Debian 12 or similar; installs slurmctld, slurmd, slurm-client, munge
# and jq with apt-get when they are missing. Nothing else comes from outside the machine: the tool is published from
# this checkout (the .NET SDK and the restored NuGet packages must be here), or give a published one in FLATNESS.
# The system's own munge and Slurm configuration, if any, are not touched (own key, socket, ports and directories).
#
# Environment: FLATNESS (a published `flatness`; default: dotnet publish into the temporary directory),
# MODE (quick; tiny, quick or full), SHARDS (4), REQUEUE_TASK (1, the array task to requeue),
# REQUEUE_AFTER (15, 4 in tiny: how many of its cells must be written before it is requeued; quick with 4 shards
# has 43 cells per task), CRED_EXPIRE (10: Slurm's job credential lifetime, which is also the delay before a
# requeued job may start again; 120 s by default in Slurm),
# KEEP=1 (keep the temporary directory; it is also kept on FAIL), SLURM_PORT (16817; slurmd uses the next port).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=${MODE:-quick}
SHARDS=${SHARDS:-4}
REQUEUE_TASK=${REQUEUE_TASK:-1}
case "$MODE" in tiny) REQUEUE_AFTER=${REQUEUE_AFTER:-4};; *) REQUEUE_AFTER=${REQUEUE_AFTER:-15};; esac
SLURM_PORT=${SLURM_PORT:-16817}
CRED_EXPIRE=${CRED_EXPIRE:-10}
KEEP=${KEEP:-0}

fail() { echo "FAIL: $*"; FAILED=1; exit 1; }
FAILED=0

if [ "$(id -u)" -ne 0 ]; then echo "run as root (it installs packages and runs slurmctld, slurmd and munged)"; exit 2; fi

# --- timings -----------------------------------------------------------------------------------------------------
PHASES=()
PHASE=""
PHASE_START=0
T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
phase() {
  local now; now=$(date +%s.%N)
  if [ -n "$PHASE" ]; then PHASES+=("$(printf '%-44s %7.1f s' "$PHASE" "$(elapsed "$PHASE_START" "$now")")"); fi
  PHASE=$1; PHASE_START=$now
  [ -n "$PHASE" ] && echo "== $PHASE ($(date -u +%H:%M:%S) UTC)"
  return 0
}

# --- packages ----------------------------------------------------------------------------------------------------
phase "install packages (when missing)"
need=()
command -v slurmctld >/dev/null || need+=(slurmctld)
command -v slurmd >/dev/null || need+=(slurmd)
command -v sbatch >/dev/null || need+=(slurm-client)
command -v munged >/dev/null || need+=(munge)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  # Exit code 77 (skipped, as automake's test drivers read it): no package registry is no verdict on deploy/.
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
    echo "SKIP: could not install ${need[*]} with apt-get"
    exit 77
  fi
else
  echo "slurmctld, slurmd, slurm-client, munge and jq are installed"
fi
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "os:      $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)"
echo "slurm:   $(slurmctld -V), munge $(munged -V 2>&1 | awk '{print $1}' | sed 's/munge-//')"
echo "mode:    $MODE, $SHARDS shards, task $REQUEUE_TASK requeued after $REQUEUE_AFTER of its cells"

# --- the temporary cluster ---------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/flatness-slurm.XXXXXX)
chmod 0755 "$WORK"
mkdir -p "$WORK"/{munge,state,spool,log,submit/logs}
chmod 0755 "$WORK/munge"
PIDS=()
ARRAY=""
MERGE=""
export SLURM_CONF="$WORK/slurm.conf"

cleanup() {
  local rc=$?
  set +e
  if [ -n "$ARRAY" ] && [ ${#PIDS[@]} -gt 0 ]; then
    scancel "$ARRAY" ${MERGE:+"$MERGE"} 2>/dev/null
    # scancel only asks: give the jobs' steps (and the flatness processes under them) up to 30 s to go.
    for _ in $(seq 60); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
    for f in "$WORK"/log/*.log "$WORK"/submit/logs/*; do
      [ -f "$f" ] && { echo "--- tail of $f"; tail -n 20 "$f"; }
    done
  fi
  # Stop the daemons this script started (slurmd first, munged last), each by its own pid.
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do wait "${PIDS[i]}" 2>/dev/null; done
  if [ "$KEEP" = 1 ] || [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase "publish flatness"
if [ -n "${FLATNESS:-}" ]; then
  FLATNESS=$(readlink -f "$FLATNESS")
  echo "using $FLATNESS"
else
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    dotnet publish "$REPO/tools/Flatness.Cli" -c Release -o "$WORK/flatness" -v quiet -nologo >/dev/null
  FLATNESS="$WORK/flatness/flatness"
  echo "published $FLATNESS"
fi
[ -x "$FLATNESS" ] || fail "$FLATNESS is not an executable"

phase "start munged, slurmctld, slurmd"
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$WORK/munge/munge.key"
else
  dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 0400 "$WORK/munge/munge.key"
SOCKET="$WORK/munge/munge.socket"
munged --foreground --force --socket="$SOCKET" --key-file="$WORK/munge/munge.key" \
  --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/log/munged.log" --seed-file="$WORK/munge/munged.seed" >"$WORK/log/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$SOCKET" ] && break; sleep 0.1; done
munge -n -S "$SOCKET" | unmunge -S "$SOCKET" >/dev/null || fail "munged does not answer on $SOCKET"

HOST=$(hostname -s)
# The node as slurmd sees it (CPUs, sockets, cores, threads, memory), so the configuration matches the hardware.
NODE=$(env -u SLURM_CONF slurmd -C | head -1)
case "$NODE" in NodeName=*) ;; *) fail "slurmd -C printed '$NODE'";; esac
cat > "$SLURM_CONF" <<CONF
# A one-node cluster on localhost for deploy/slurm-test.sh; everything lives under $WORK.
ClusterName=flatness-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$SLURM_PORT
SlurmdPort=$((SLURM_PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket=$SOCKET,cred_expire=$CRED_EXPIRE
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting: processes are tracked through /proc, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobRequeue=1
ReturnToService=2
MinJobAge=3600
SchedulerParameters=sched_interval=5
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
echo "slurm.conf: $NODE"
slurmctld -D -c -f "$SLURM_CONF" >"$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 120); do
  state=$(sinfo -h -N -n "$HOST" -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "the node is not idle after 60 s (sinfo says '$state')"
sinfo

# --- the array, the requeue, the merge ---------------------------------------------------------------------------
phase "array of $SHARDS shards + requeue + merge"
RESULTS="$WORK/results"
export FLATNESS RESULTS MODE
cd "$WORK/submit"
ARRAY=$(sbatch --parsable --array=0-$((SHARDS - 1)) --cpus-per-task=1 --mem=2G --time=00:30:00 \
  "$REPO/deploy/reproduce.sbatch")
ARRAY=${ARRAY%%;*}
MERGE=$(sbatch --parsable --dependency=afterok:"$ARRAY" --mem=2G --time=00:20:00 "$REPO/deploy/merge.sbatch")
MERGE=${MERGE%%;*}
echo "submitted array job $ARRAY (tasks 0-$((SHARDS - 1))) and merge job $MERGE (afterok:$ARRAY)"
squeue

TASK="${ARRAY}_${REQUEUE_TASK}"
TASK_CELLS="$RESULTS/shard-$REQUEUE_TASK/cells"
count_cells() { find "$TASK_CELLS" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l; }
job_field() { scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
requeued_at=""
for _ in $(seq 3000); do
  s=$(squeue -h -j "$TASK" -o %T 2>/dev/null || true)
  if [ "$s" = RUNNING ] && [ "$(count_cells)" -ge "$REQUEUE_AFTER" ]; then
    scontrol requeue "$TASK"
    requeued_at=$(count_cells)
    echo "$(date -u +%H:%M:%S) requeued $TASK while RUNNING, with $requeued_at of its cells written"
    break
  fi
  case "$s" in COMPLETED | FAILED | CANCELLED | TIMEOUT | "") [ "$(job_field "$TASK" JobState)" = PENDING ] || break;; esac
  sleep 0.05
done
[ -n "$requeued_at" ] || fail "task $TASK ended (state '$(job_field "$TASK" JobState)') before $REQUEUE_AFTER of its cells were written; nothing was requeued"
sleep 1
echo "after the requeue: $(scontrol -o show job "$TASK" | grep -o 'JobState=[^ ]*\|Reason=[^ ]*\|Restarts=[^ ]*' | tr '\n' ' ')"

merge_state=""
for _ in $(seq 1200); do
  merge_state=$(job_field "$MERGE" JobState)
  case "$merge_state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL) break;; esac
  reason=$(job_field "$MERGE" Reason)
  [ "$reason" = DependencyNeverSatisfied ] && fail "the merge job's dependency can never be satisfied"
  sleep 0.5
done
echo "$(date -u +%H:%M:%S) merge job $MERGE: $merge_state"

echo "array tasks:"
for ((k = 0; k < SHARDS; k++)); do
  j="${ARRAY}_$k"
  printf '  %-12s %-10s ExitCode=%-6s Restarts=%s\n' "$j" "$(job_field "$j" JobState)" "$(job_field "$j" ExitCode)" "$(job_field "$j" Restarts)"
  [ "$(job_field "$j" JobState)" = COMPLETED ] || fail "array task $j did not complete"
done
merge_exit=$(job_field "$MERGE" ExitCode)
echo "merge job:    $merge_state ExitCode=$merge_exit"

echo "--- log of the requeued task ($WORK/submit/logs/reproduce-${TASK}.out, appended across runs):"
LOG="$WORK/submit/logs/reproduce-${TASK}.out"
{ grep -v '[│─╭╮╰╯┌┐└┘├┤┬┴┼]' "$LOG" || true; } | sed 's/^/  | /'
echo "--- log of the merge job:"
{ grep -v '[│─╭╮╰╯┌┐└┘├┤┬┴┼]' "$WORK/submit/logs/merge-$MERGE.out" || true; } | sed 's/^/  | /'

# The evidence that the task ran twice and the second run resumed: Slurm's restart count, the two starts in the
# appended log, and the second run reusing the cells of the first.
restarts=$(job_field "$TASK" Restarts)
starts=$(grep -c "^.* task $REQUEUE_TASK/$SHARDS of array job $ARRAY .*restart" "$LOG" || true)
last=$(grep -o "[0-9]* cells computed, [0-9]* already finished, [0-9.]* s wall" "$LOG" | tail -1 || true)
recomputed=$(echo "$last" | awk '{print $1}')
resumed=$(echo "$last" | awk '{print $4}')
first_runs=$(grep -c "already finished, [0-9.]* s wall" "$LOG" || true)
echo "requeue evidence: Restarts=$restarts, $starts starts in the log, $first_runs finished run(s): the rerun reused ${resumed:-?} cells of the first run and computed the other ${recomputed:-?}"
[ "$restarts" -ge 1 ] || fail "Slurm reports Restarts=$restarts for $TASK"
[ "$starts" -ge 2 ] || fail "the log of $TASK shows $starts starts"
[ "${resumed:-0}" -ge "$REQUEUE_AFTER" ] || fail "the rerun of $TASK did not reuse the cells of its first run"
[ "${recomputed:-0}" -ge 1 ] || fail "the first run of $TASK had finished all its cells: the requeue was not midway"

# --- the unsharded run -------------------------------------------------------------------------------------------
phase "unsharded reproduce --mode $MODE"
set +e
"$FLATNESS" reproduce --mode "$MODE" --out "$WORK/unsharded" >"$WORK/log/unsharded.out" 2>&1
unsharded_rc=$?
set -e
{ grep -v '[│─╭╮╰╯┌┐└┘├┤┬┴┼]' "$WORK/log/unsharded.out" | grep -v 'cells in this shard' || true; } | sed 's/^/  | /'
echo "unsharded exit code $unsharded_rc; merge job exit code ${merge_exit%%:*}"
[ "$unsharded_rc" = "${merge_exit%%:*}" ] || fail "the merge job exited ${merge_exit%%:*}, the unsharded run $unsharded_rc"
[ "$unsharded_rc" -le 1 ] || fail "the unsharded run failed with exit code $unsharded_rc"

# --- the comparison ----------------------------------------------------------------------------------------------
# Everything must be byte-equal except the measured compute times: summary.json's claims[].seconds (the sum of the
# claim's cell times) and each cell file's seconds. Those are compared after deleting exactly those fields.
# Not compared: .sweep.lock and .sweep.lock.holder, the directory lock that `reproduce` takes (an empty file and the
# pid of its last holder); they are no results, and `merge` does not take that lock, so its output has neither.
phase "compare merged with unsharded"
A="$RESULTS/merged"
B="$WORK/unsharded"
files() { (cd "$1" && find . -type f ! -name '.sweep.lock' ! -name '.sweep.lock.holder' | sort); }
diff <(files "$A") <(files "$B") \
  || fail "the merged and unsharded directories hold different files"
declare -A n_files n_bytes n_seconds
differ=0
for kind in csv png summary sweep cells; do n_files[$kind]=0; n_bytes[$kind]=0; n_seconds[$kind]=0; done
while IFS= read -r f; do
  case "$f" in
    *.csv) kind=csv; filter="";;
    *.png) kind=png; filter="";;
    ./summary.json) kind=summary; filter='del(.claims[].seconds)';;
    ./sweep.json) kind=sweep; filter="";;
    ./cells/*.json) kind=cells; filter='del(.seconds)';;
    *) fail "unexpected file $f in the merged directory";;
  esac
  n_files[$kind]=$((n_files[$kind] + 1))
  if cmp -s "$A/$f" "$B/$f"; then
    n_bytes[$kind]=$((n_bytes[$kind] + 1))
  elif [ -n "$filter" ] && cmp -s <(jq -S "$filter" "$A/$f") <(jq -S "$filter" "$B/$f"); then
    n_seconds[$kind]=$((n_seconds[$kind] + 1))
  else
    differ=$((differ + 1))
    echo "differs: $f"
    if [ -n "$filter" ]; then diff <(jq -S "$filter" "$A/$f") <(jq -S "$filter" "$B/$f") | head -20 || true
    elif [ "$kind" != png ]; then diff "$A/$f" "$B/$f" | head -20 || true; fi
  fi
done < <(files "$A")
printf '  %-14s %5s %11s %26s\n' "" files byte-equal "equal without seconds"
for kind in csv png summary sweep cells; do
  case "$kind" in csv) label="CSVs";; png) label="figures";; summary) label="summary.json";; sweep) label="sweep.json";; cells) label="cells/*.json";; esac
  printf '  %-14s %5d %11d %26d\n' "$label" "${n_files[$kind]}" "${n_bytes[$kind]}" "${n_seconds[$kind]}"
done
total=0; for kind in csv png summary sweep cells; do total=$((total + n_files[$kind])); done
echo "$total files compared, $differ different"
verdicts='[.passed, .cells, [.claims[] | .id + (if .passed then " PASS" else " FAIL" end)]]'
echo "verdicts, merged:    $(jq -c "$verdicts" "$A/summary.json")"
echo "verdicts, unsharded: $(jq -c "$verdicts" "$B/summary.json")"
[ "$differ" -eq 0 ] || fail "$differ files differ between the merged and the unsharded run"
if [ "${n_files[csv]}" -lt 1 ] || [ "${n_bytes[csv]}" -ne "${n_files[csv]}" ]; then fail "the CSVs are not all byte-equal"; fi

phase ""
echo "== timings"
printf '  %s\n' "${PHASES[@]}"
printf '  %-44s %7.1f s\n' "total" "$(elapsed "$T0" "$(date +%s.%N)")"
echo "PASS: $SHARDS-task array (task $REQUEUE_TASK requeued midway, Restarts=$restarts) + afterok merge on Slurm $(slurmctld -V | awk '{print $2}') equals the unsharded --mode $MODE run ($total files; CSVs, figures and sweep.json byte-equal, summary and cells up to their seconds)"

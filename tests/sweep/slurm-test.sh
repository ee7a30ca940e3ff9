#!/usr/bin/env bash
# slurm-test.sh FLIGRU CONFIG WORKDIR HEADER_CSV - ctest unit.sweep_slurm: runs a
# sweep through a real single-node Slurm (slurmctld + slurmd on this host,
# talking over 127.0.0.1 only, munge authentication, a generated slurm.conf),
# then checks that every point came back through `fligru collect`: the table's
# header equals HEADER_CSV's first line, one ok row per point with a real RMSE.
# Exit 0: passed; 77: skipped (ctest SKIP_RETURN_CODE; printed why: Slurm/munge
# missing or slurmctld cannot start here); anything else: failed. In CI
# (CI=true) the test must run: a skip is a failure there.
set -uo pipefail
FLIGRU=$1 CONFIG=$2 W=$3 HEADER_CSV=$4
skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL: CI must run the Slurm test, but: $*"; exit 1; fi
  echo "SKIP: $*"; exit 77
}
rm -rf "$W"
fail() { echo "FAIL: $*"; for f in "$W"/log/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }
for p in slurmctld slurmd munged mungekey sbatch sinfo squeue; do
  command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || skip "$p not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done
export PATH="$PATH:/usr/sbin"
mkdir -p "$W"/{log,state,spool,munge}
chmod 700 "$W/munge"
ME=$(id -un)
HOST=$(hostname -s)
CPUS=$(nproc)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup EXIT

# munge with its own key and socket
mungekey --create --keyfile="$W/munge/munge.key" --force >/dev/null 2>&1 \
  || dd if=/dev/urandom of="$W/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$W/munge/munge.key"
SOCK="$W/munge/munge.socket"
munged --key-file="$W/munge/munge.key" --socket="$SOCK" --pid-file="$W/munge/munged.pid" \
  --log-file="$W/log/munged.log" --seed-file="$W/munge/seed" --force --foreground \
  >"$W/log/munged.out" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || skip "munged does not start here (log: $(tail -1 "$W/log/munged.log" 2>/dev/null))"

PORT=$((20000 + RANDOM % 20000))
cat > "$W/slurm.conf" <<CONF
ClusterName=fligru-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=$ME
SlurmdUser=$ME
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$W/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" > "$W/log/slurmctld.out" 2>&1 &
PIDS+=($!)
ok=0
for i in $(seq 100); do
  if sinfo -h >/dev/null 2>&1; then ok=1; break; fi
  kill -0 "${PIDS[-1]}" 2>/dev/null || break
  sleep 0.1
done
[ $ok = 1 ] || skip "slurmctld cannot start on this machine: $(tail -2 "$W/log/slurmctld.log" "$W/log/slurmctld.out" 2>/dev/null | tr '\n' ' ')"
slurmd -D -f "$SLURM_CONF" -N "$HOST" > "$W/log/slurmd.out" 2>&1 &
PIDS+=($!)
for i in $(seq 150); do
  st=$(sinfo -h -o %t 2>/dev/null | head -1)
  case "$st" in idle*|mix*|alloc*) break;; esac
  sleep 0.2
done
st=$(sinfo -h -o %t 2>/dev/null | head -1)
case "$st" in idle*|mix*|alloc*) ;; *) fail "slurmd did not register (node state '$st')";; esac
echo "slurm: node $HOST $st, $CPUS CPUs"

# the sweep, as a job array; --wait blocks until every task ended, then collects
"$FLIGRU" sweep "$CONFIG" --executor slurm --wait --threads 1 --out "$W/out" --cache "$W/cache" \
  --sbatch-args "--time=10" > "$W/log/sweep.out" 2>&1
rc=$?
cat "$W/log/sweep.out"
[ $rc = 0 ] || fail "fligru sweep --executor slurm: exit $rc"
RUN=$(ls -d "$W"/out/* | head -1)
ls "$RUN"/slurm/*.out >/dev/null 2>&1 || fail "no Slurm task output in $RUN/slurm"
"$FLIGRU" collect "$RUN" || fail "fligru collect: exit $?"
grep -q "4 of 4 points done, 0 failed, 0 missing" "$W/log/sweep.out" || fail "not every point done"
csv="$RUN/results.csv"
[ "$(head -1 "$csv")" = "$(head -1 "$HEADER_CSV")" ] || fail "results.csv header differs from $HEADER_CSV's"
# rows: slurm,<index>,seq2seqlite,...; column 21 (rmse) a real number in (0, 0.5); status ok
awk -F, 'NR > 1 { if ($1 != "slurm" || $2 != NR - 2 || $3 != "seq2seqlite") { print "row " NR - 1 ": " $0; exit 1 }
                   if (!($21 > 0 && $21 < 0.5)) { print "row " NR - 1 " rmse " $21; exit 1 }
                   if ($NF != "ok") { print "row " NR - 1 " status " $NF; exit 1 } }
         END { if (NR != 5) { print NR - 1 " rows, expected 4"; exit 1 } }' "$csv" || fail "results.csv rows"
echo "slurm: $(($(wc -l < "$csv") - 1)) rows, $(ls "$RUN"/slurm/*.out | wc -l) task logs: passed"
exit 0

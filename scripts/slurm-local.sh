#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, from Debian's packages (slurm-wlm, munge),
# for tests and for trying the examples/slurm jobs without a real cluster.
#
#   scripts/slurm-local.sh [--dir DIR] start    start munged, slurmctld and slurmd; wait until the node is idle
#   scripts/slurm-local.sh [--dir DIR] stop     cancel every job of this cluster, stop the daemons
#   scripts/slurm-local.sh [--dir DIR] status   report; exit 0 running, 3 stopped, 1 partly running
#   scripts/slurm-local.sh [--dir DIR] env      print "export SLURM_CONF=..." (eval it to use sbatch/srun)
#
# Everything lives in the private folder DIR (default $CMCLIP_SLURM_DIR, else
# /tmp/cmclip-slurm-$USER): the munge key and socket, slurm.conf, the controller's
# state, slurmd's spool, logs and pid files. Nothing of the system's SLURM or munge
# (/etc/slurm, /var/lib/slurm, /run/munge) is read or changed, and the ports are free
# ones picked at start, so two clusters in two folders run side by side. This host is
# controller and only compute node (`hostname -s`, CPUs from nproc but at least 2,
# RealMemory 80 % of the available memory), with proctrack/linuxproc, task/none and
# select/cons_tres: no cgroups needed. Clients find the cluster through SLURM_CONF (see `env`).
#
# Runs as whoever starts it, root not needed: the daemons run as this user (SlurmUser,
# SlurmdUser), and since an unprivileged slurmd cannot switch users, only this user's
# jobs run (started by root, anyone's). Needs the Debian packages slurm-wlm and munge
# (and uses ss of iproute2, when there, to pick free ports). start and stop are
# idempotent: start on a running cluster only reports it; stop on a stopped one does
# nothing. stop leaves no process of this cluster behind: the daemons by their pid
# files, then whatever still holds a log file of DIR open (job steps) and its
# descendants (job processes).
set -euo pipefail

dir=${CMCLIP_SLURM_DIR:-/tmp/cmclip-slurm-$(id -un)}
timeout=${CMCLIP_SLURM_TIMEOUT:-60}  # seconds to wait for the node to come up or jobs to end

usage() { sed -n '5,8p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }
die() { echo "slurm-local: $*" >&2; exit 1; }
say() { echo "slurm-local: $*" >&2; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) [[ $# -ge 2 ]] || usage; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    start|stop|status|env) action=$1; shift ;;
    -h|--help) usage ;;
    *) echo "slurm-local: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -n ${action:-} ]] || usage
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/slurm.conf
node=$(hostname -s)
export SLURM_CONF=$conf
# The daemons live in /usr/sbin, which is not on a normal user's PATH on Debian.
export PATH=$PATH:/usr/sbin:/sbin

# running_pid PID: the process exists and is not a zombie (a dead daemon whose parent,
# init here, has not reaped it yet).
running_pid() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}
# pid_alive FILE [NAME]: the pid in FILE runs (and its command name contains NAME).
pid_alive() {
  [[ -s $1 ]] || return 1
  local pid; pid=$(<"$1")
  running_pid "$pid" || return 1
  [[ -z ${2:-} ]] || grep -q "$2" "/proc/$pid/comm" 2>/dev/null
}
running() {
  local n=0
  pid_alive "$dir/run/munged.pid" munged && n=$((n + 1))
  pid_alive "$dir/run/slurmctld.pid" slurmctld && n=$((n + 1))
  pid_alive "$dir/run/slurmd.pid" slurmd && n=$((n + 1))
  echo $n
}

# Processes of this cluster: the daemons and job steps (slurmstepd) hold a log file of
# DIR/log open; the job processes are their descendants. Never this script or its callers.
cluster_pids() {
  local roots self p
  roots=$(find /proc/[0-9]*/fd -lname "$dir/log/*" 2>/dev/null | cut -d/ -f3 | sort -u || true)
  [[ -n $roots ]] || return 0
  self=" $$ "
  p=$$
  while [[ $p -gt 1 ]]; do p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null || echo 1); self+="$p "; done
  ps -e -o pid= -o ppid= | awk -v roots="$roots" -v self="$self" '
    BEGIN { n = split(roots, r); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
    { parent[$1] = $2; pids[++m] = $1 }
    END {
      do { grew = 0
        for (i = 1; i <= m; i++) { p = pids[i]; if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 } }
      } while (grew)
      for (p in keep) if (index(self, " " p " ") == 0) print p
    }' | while read -r p; do running_pid "$p" && echo "$p"; done
}

# stop_pid FILE NAME: SIGTERM, wait up to 20 s, then SIGKILL.
stop_pid() {
  pid_alive "$1" "$2" || { rm -f "$1"; return 0; }
  local pid; pid=$(<"$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do running_pid "$pid" || break; sleep 0.1; done
  if running_pid "$pid"; then say "$2 ($pid) did not stop on SIGTERM; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$1"
}

# A TCP port nobody listens on, from a range away from the usual services: not in
# ss's list of ports in use, or (without ss) refusing a connection on this host.
free_port() {
  local used="" port
  if command -v ss >/dev/null; then used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u); fi
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 20000))
    grep -qx "$port" <<<"$used" && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    echo "$port"; return
  done
  die "no free TCP port found"
}

do_stop() {
  if pid_alive "$dir/run/slurmctld.pid" slurmctld; then
    # Cancel every job of this cluster and give them a moment to end cleanly.
    local jobs; jobs=$(squeue -h -o %A 2>/dev/null || true)
    if [[ -n $jobs ]]; then
      say "cancelling jobs: $(echo $jobs)"
      scancel $jobs 2>/dev/null || true
      # Only a live slurmd ends the job steps; without it the sweep below does.
      pid_alive "$dir/run/slurmd.pid" slurmd || jobs=""
      [[ -z $jobs ]] || for _ in $(seq 1 $((timeout * 10))); do
        [[ -z $(squeue -h -o %A 2>/dev/null || true) ]] && break
        sleep 0.1
      done
    fi
  fi
  stop_pid "$dir/run/slurmd.pid" slurmd
  stop_pid "$dir/run/slurmctld.pid" slurmctld
  if pid_alive "$dir/run/munged.pid" munged; then
    munged --stop --socket="$dir/run/munge.socket" >/dev/null 2>&1 || true
    stop_pid "$dir/run/munged.pid" munged
  fi
  # Job steps (slurmstepd) and job processes left by a daemon that died.
  local left; left=$(cluster_pids)
  if [[ -n $left ]]; then
    say "killing leftover processes of this cluster: $(echo $left)"
    kill -KILL $left 2>/dev/null || true
    for _ in $(seq 1 50); do [[ -z $(cluster_pids) ]] && break; sleep 0.1; done
  fi
  rm -f "$dir/run/munge.socket" "$dir/run/munge.socket.lock"
}

node_state() { sinfo -h -n "$node" -o %T 2>/dev/null | head -1 || true; }

write_conf() {
  local ctl_port=$1 d_port=$2 cpus mem
  cpus=$(nproc)
  # At least 2 CPUs, so that 2-task jobs (the tests' srun training) can run on a
  # 1-CPU machine too; config_overrides lets slurmd accept more CPUs than it finds.
  local overrides=""
  if (( cpus < 2 )); then cpus=2; overrides="SlurmdParameters=config_overrides"; fi
  mem=$(awk '/^MemAvailable:/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
  cat >"$conf.tmp" <<EOF
# Written by scripts/slurm-local.sh: a private one-node cluster (controller = compute node).
ClusterName=cmclip
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/run/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
TmpFS=$dir/tmp
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MinJobAge=600
MaxArraySize=1001
$overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$conf.tmp" "$conf"
}

do_start() {
  local n; n=$(running)
  if [[ $n == 3 ]]; then
    say "already running in $dir ($(node_state))"
    return 0
  fi
  for exe in munged slurmctld slurmd sinfo; do
    command -v "$exe" >/dev/null || die "$exe not found: install the Debian packages slurm-wlm and munge"
  done
  # A partly running cluster (a daemon died): start over cleanly.
  [[ $n == 0 ]] || { say "partly running; restarting"; do_stop; }

  mkdir -p "$dir"/{state,spool,log,run,tmp,munge}
  chmod 700 "$dir/munge" "$dir/state"
  chmod 755 "$dir" "$dir/run"  # clients reach the munge socket through it
  # munged refuses keys and folders that others can read or write.
  if [[ ! -s $dir/munge/munge.key ]]; then
    mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null \
      || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 400 "$dir/munge/munge.key"
  # --force: run even when a folder above DIR is group-writable (a umask of 002, a
  # shared build tree), which munged would refuse; the key and DIR stay private.
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/run/munge.socket" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" \
    || die "munged did not start; see $dir/log/munged.log"

  write_conf "$(free_port)" "$(free_port)"
  rm -rf "${dir:?}/state/"* "${dir:?}/spool/"*
  # -c: start from an empty job state (a fresh cluster each time).
  slurmctld -c -f "$conf" || die "slurmctld did not start; see $dir/log/slurmctld.log"
  slurmd -f "$conf" || die "slurmd did not start; see $dir/log/slurmd.log"

  local state=""
  for _ in $(seq 1 $((timeout * 5))); do
    state=$(node_state)
    [[ $state == idle ]] && break
    sleep 0.2
  done
  if [[ $state != idle ]]; then
    say "node $node is '${state:-unknown}' after ${timeout} s, not idle; last log lines:"
    tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    do_stop
    exit 1
  fi
  say "running in $dir: node $node idle ($(sed -n 's/^NodeName=.* CPUs=\([0-9]*\).*/\1/p' "$conf") CPUs); use it with: export SLURM_CONF=$conf"
}

do_status() {
  local n; n=$(running)
  local name
  for name in munged slurmctld slurmd; do
    if pid_alive "$dir/run/$name.pid" "$name"; then echo "$name: running (pid $(<"$dir/run/$name.pid"))"
    else echo "$name: stopped"; fi
  done
  if [[ $n == 3 ]]; then
    sinfo -N -o "%N %T %C" 2>/dev/null || true
    squeue 2>/dev/null || true
    return 0
  fi
  [[ $n == 0 ]] && return 3
  return 1
}

case $action in
  start) do_start ;;
  stop) do_stop; say "stopped ($dir)" ;;
  status) do_status ;;
  env) echo "export SLURM_CONF=$conf" ;;
esac

#!/bin/bash
# A throw-away one-node Slurm cluster in DIR, for the end-to-end test and for trying
# `rec-pipeline --engine slurm` by hand. Needs root, Debian's slurm-wlm and munge.
#
#   scripts/slurm-test-cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm-test-cluster.sh stop DIR    # stops the daemons it started, by their pid files
#
# Everything lives in DIR: slurm.conf, a munge key made for it, munged's socket, the spool
# and state folders, logs, pid files. Ports are free ones picked at start. The daemons run
# as root (SlurmUser=root) with ProctrackType=proctrack/linuxproc and TaskPlugin=task/none,
# so no cgroup setup is needed; munged runs as the munge user, as it insists.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

alive() {  # alive PID: running, and not a zombie (a container's init may never reap them)
    [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

stop_pid() {  # stop_pid FILE: TERM the pid in FILE, KILL it after 10 s, remove FILE
    local file=$1 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file" 2>/dev/null || true)
    if [ -n "$pid" ] && alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$file"
}

case $action in
start)
    [ "$(id -u)" = 0 ] || { echo "$0: needs root (the daemons run as root here)" >&2; exit 1; }
    for cmd in munged mungekey slurmctld slurmd sinfo; do
        command -v "$cmd" >/dev/null || { echo "$0: $cmd not found: apt-get install slurm-wlm munge" >&2; exit 1; }
    done
    mkdir -p "$dir"/{munge,spool/ctld,spool/d,log,run}
    # munged refuses a key or folders that others can read or that the munge user does not own.
    chown munge: "$dir/munge"
    chmod 700 "$dir/munge"
    if [ ! -f "$dir/munge/munge.key" ]; then
        mungekey -c -k "$dir/munge/munge.key" >/dev/null
        chown munge: "$dir/munge/munge.key"
        chmod 600 "$dir/munge/munge.key"
    fi
    # munged checks the permissions of every folder above its socket; DIR may be under /tmp.
    chmod 755 "$dir"
    runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" --force </dev/null >>"$dir/log/daemons.out" 2>&1
    cp "$dir/munge/munged.pid" "$dir/run/munged.pid"

    node=$(hostname -s)
    cpus=$(nproc)
    [ "$cpus" -gt 2 ] && cpus=2
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
    ctld_port=$(free_port); d_port=$(free_port)
    while [ "$d_port" = "$ctld_port" ]; do d_port=$(free_port); done
    cat > "$dir/slurm.conf" <<EOF
ClusterName=rectest
SlurmctldHost=$node
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
# Start a job as soon as the one it depends on ends (batch_sched_delay is 3 s by default).
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MinJobAge=600
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$dir/slurm.conf"
    # Their standard streams go to a file: a caller reading this script's output through a
    # pipe would otherwise wait for the daemons to close it.
    slurmctld -f "$SLURM_CONF" </dev/null >>"$dir/log/daemons.out" 2>&1
    slurmd -f "$SLURM_CONF" </dev/null >>"$dir/log/daemons.out" 2>&1
    # Ready when the node takes jobs (seconds here).
    for _ in $(seq 1 300); do
        state=$(sinfo --noheader --format=%t 2>/dev/null || true)
        case $state in idle*|mix*|alloc*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
        sleep 0.1
    done
    echo "$0: the node did not come up in 30 s; see $dir/log" >&2
    exit 1
    ;;
stop)
    stop_pid "$dir/run/slurmd.pid"
    stop_pid "$dir/run/slurmctld.pid"
    stop_pid "$dir/run/munged.pid"
    rm -f "$dir/munge/munged.pid"
    ;;
*) usage ;;
esac

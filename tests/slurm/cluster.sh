#!/usr/bin/env bash
# A one-node SLURM on this machine, for tests: munged, slurmctld and slurmd from Debian's packages,
# controller and node on this host (its name resolves to loopback), no accounting database.
#
#   bash tests/slurm/cluster.sh start   # install if needed, write the config, start the daemons
#   bash tests/slurm/cluster.sh stop    # stop exactly the daemons start started (by process id)
#
# State lives in $FASTHF_SLURM_DIR (default /tmp/fasthf-slurm). Where SLURM cannot be started (not
# root, no package source), `start` writes the reason to $FASTHF_SLURM_DIR/unavailable and exits 0,
# so the test that needs it is skipped with that reason instead of failing or passing silently.
set -uo pipefail
DIR=${FASTHF_SLURM_DIR:-/tmp/fasthf-slurm}
CONF=/etc/slurm/slurm.conf

unavailable() {
    echo "$*" > "$DIR/unavailable"
    echo "SLURM unavailable: $*" >&2
    exit 0
}

wait_for() {  # wait_for SECONDS COMMAND...: until the command succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 1
    done
}

start() {
    mkdir -p "$DIR"
    rm -f "$DIR/unavailable"
    [ "$(id -u)" = 0 ] || unavailable "not root: the daemons and /etc/slurm need root"
    if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge) \
            > "$DIR/apt.log" 2>&1 || unavailable "apt-get install slurm-wlm munge failed (see $DIR/apt.log)"
    fi
    local host cpus memory
    host=$(hostname)
    cpus=$(nproc)
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    mkdir -p /etc/slurm "$DIR/state" "$DIR/spool" /run/munge
    # Slurm >= 24.05 loads a cgroup plugin even with proctrack/linuxproc: disable it (no cgroups here).
    # Older releases do not know the value and need no cgroup.conf.
    local major
    major=$(slurmd -V | sed -E 's/[^0-9]*([0-9]+)\..*/\1/')
    if [ "${major:-0}" -ge 24 ]; then
        echo "CgroupPlugin=disabled" > /etc/slurm/cgroup.conf
    else
        rm -f /etc/slurm/cgroup.conf
    fi
    cat > "$CONF" <<EOF
# Written by tests/slurm/cluster.sh: one node, this host, for fasthf's tests.
ClusterName=fasthf-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
MinJobAge=3600
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    chown munge:munge /run/munge 2>/dev/null
    [ -s /etc/munge/munge.key ] || (command -v mungekey >/dev/null && mungekey --create --force) >/dev/null 2>&1 \
        || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    chown munge:munge /etc/munge/munge.key 2>/dev/null; chmod 400 /etc/munge/munge.key
    if ! munge -n >/dev/null 2>&1; then
        runuser -u munge -- munged --pid-file=/run/munge/munged.pid > "$DIR/munged.log" 2>&1 \
            || unavailable "munged did not start (see $DIR/munged.log)"
        wait_for 10 test -s /run/munge/munged.pid || unavailable "munged wrote no pid file"
        cp /run/munge/munged.pid "$DIR/munged.started.pid"
    fi
    # -c: start with no jobs, not with those an interrupted earlier run left in the state folder
    slurmctld -c -f "$CONF" || unavailable "slurmctld did not start (see $DIR/slurmctld.log)"
    wait_for 20 test -s "$DIR/slurmctld.pid" || unavailable "slurmctld wrote no pid file (see $DIR/slurmctld.log)"
    slurmd -f "$CONF" || unavailable "slurmd did not start (see $DIR/slurmd.log)"
    wait_for 20 test -s "$DIR/slurmd.pid" || unavailable "slurmd wrote no pid file (see $DIR/slurmd.log)"
    wait_for 60 bash -c "sinfo -h -o %t | grep -qE '^(idle|mix|alloc)'" \
        || unavailable "the node did not come up: $(sinfo -h -N -o '%N %t %E' 2>&1 | head -1)"
    echo "SLURM up: $(sinfo -h -N -o '%N %t %c CPUs %m MB' | head -1), $(sinfo --version)"
}

stop() {
    for name in slurmd slurmctld munged.started; do
        local file="$DIR/$name.pid"
        [ -s "$file" ] || continue
        local pid
        pid=$(cat "$file")
        kill "$pid" 2>/dev/null && wait_for 20 bash -c "! kill -0 $pid"
        kill -9 "$pid" 2>/dev/null
        rm -f "$file"
    done
    echo "SLURM stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

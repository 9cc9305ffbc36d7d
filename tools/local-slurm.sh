#!/usr/bin/env bash
# A real single-node SLURM with accounting (munge, MariaDB, slurmdbd, slurmctld, slurmd) on this
# machine, for the workflow's cluster test and for trying profiles/slurm before a real cluster.
#
#   tools/local-slurm.sh start    install what is missing (Debian, as root), start what is not running
#   tools/local-slurm.sh stop     stop the daemons this script started, newest first; nothing else
#   tools/local-slurm.sh status   the daemons and the node
#   tools/local-slurm.sh env      the line to eval so that sbatch/sacct/snakemake see this cluster
#
# Everything lives in $NEURORECON_SLURM_DIR (default /tmp/neurorecon-slurm): its own munge key and
# socket, its own database files and ports, and a slurm.conf that clients find through SLURM_CONF.
# Job steps inside a job do not see SLURM_CONF (the Snakemake SLURM plugin removes SLURM_* variables
# before its inner srun), so where the machine has no /etc/slurm/slurm.conf, a link to ours is put
# there while the cluster runs. A system SLURM, munge or MariaDB on the machine is never touched.
set -euo pipefail

STATE=${NEURORECON_SLURM_DIR:-/tmp/neurorecon-slurm}
PORT=${NEURORECON_SLURM_PORT:-16817}     # slurmctld; slurmd +1, slurmdbd +2, MariaDB +3
MEMORY_MB=${NEURORECON_SLURM_MEMORY_MB:-$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 85 / 100 ))}
HOST=$(hostname -s)
CONF=$STATE/etc/slurm.conf
MUNGE_SOCKET=$STATE/munge/munge.socket
DB_SOCKET=$STATE/mysql/mysqld.sock
SYSTEM_CONF=/etc/slurm/slurm.conf
STARTED=$STATE/started            # "name pidfile" per daemon this script started, in start order
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
export SLURM_CONF=$CONF

say() { echo "local-slurm: $*" >&2; }
die() { say "error: $*"; exit 1; }

alive() {  # alive PIDFILE: the process named in the pid file is running
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() {  # wait_for SECONDS WHAT COMMAND...: poll until the command succeeds
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 4))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    die "$what did not come up within ${seconds}s; see $STATE/log"
}

install_packages() {
    local missing=()
    for binary in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/sbin/slurmdbd /usr/sbin/munged /usr/sbin/mariadbd; do
        [[ -x $binary ]] || missing+=("$binary")
    done
    ((${#missing[@]} == 0)) && return 0
    [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install as root: apt-get install ${PACKAGES[*]}"
    say "installing ${PACKAGES[*]} (Debian)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}" >"$STATE/log/apt.log" 2>&1 \
        || { apt-get update >>"$STATE/log/apt.log" 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>"$STATE/log/apt.log" 2>&1; } \
        || die "apt-get install failed; see $STATE/log/apt.log"
}

record() {  # record NAME PIDFILE: remember that this script started the daemon
    grep -qs "^$1 " "$STARTED" || echo "$1 $2" >>"$STARTED"
}

write_configs() {
    local cpus
    cpus=$(nproc)
    cat >"$CONF" <<EOF
# Written by tools/local-slurm.sh: one node, accounting through slurmdbd.
ClusterName=local
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$((PORT + 2))
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageEnforce=associations
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=300
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$MEMORY_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$STATE/etc/slurmdbd.conf" <<EOF
# Written by tools/local-slurm.sh.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdPort=$((PORT + 2))
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((PORT + 3))
StorageUser=slurm
StoragePass=neurorecon
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$STATE/etc/slurmdbd.conf"
}

start_munge() {
    alive "$STATE/munge/munged.pid" && return 0
    if [[ ! -s $STATE/munge/munge.key ]]; then
        dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
    fi
    chown -R munge:munge "$STATE/munge"
    chmod 700 "$STATE/munge"
    chmod 400 "$STATE/munge/munge.key"
    runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" --key-file="$STATE/munge/munge.key" \
        --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
        --seed-file="$STATE/munge/munged.seed" --force
    wait_for 10 munged alive "$STATE/munge/munged.pid"
    record munged "$STATE/munge/munged.pid"
}

database() {  # database SQL: run SQL as the database's root over its own socket
    mariadb --no-defaults --socket="$DB_SOCKET" -uroot -e "$1"
}

start_mariadb() {
    alive "$STATE/run/mariadbd.pid" && return 0
    if [[ ! -d $STATE/mysql/data/mysql ]]; then
        mariadb-install-db --no-defaults --datadir="$STATE/mysql/data" --user=root \
            --auth-root-authentication-method=socket >"$STATE/log/mariadb-install.log" 2>&1 \
            || die "mariadb-install-db failed; see $STATE/log/mariadb-install.log"
    fi
    setsid /usr/sbin/mariadbd --no-defaults --datadir="$STATE/mysql/data" --user=root \
        --socket="$DB_SOCKET" --port=$((PORT + 3)) --bind-address=127.0.0.1 \
        --pid-file="$STATE/run/mariadbd.pid" --log-error="$STATE/log/mariadb.log" \
        --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
    wait_for 60 MariaDB mariadb-admin --no-defaults --socket="$DB_SOCKET" -uroot ping
    record mariadbd "$STATE/run/mariadbd.pid"
    database "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'neurorecon';
              CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'neurorecon';
              GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
              GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

start_slurmdbd() {
    alive "$STATE/run/slurmdbd.pid" && return 0
    /usr/sbin/slurmdbd
    wait_for 30 slurmdbd sacctmgr --immediate list cluster
    record slurmdbd "$STATE/run/slurmdbd.pid"
    sacctmgr --immediate --quiet list cluster format=cluster --noheader | grep -qw local \
        || sacctmgr --immediate --quiet add cluster local >/dev/null
    sacctmgr --immediate --quiet list account format=account --noheader | grep -qw default \
        || sacctmgr --immediate --quiet add account default Description=local Organization=local >/dev/null
    local user
    for user in root "${SUDO_USER:-root}"; do
        sacctmgr --immediate --noheader --parsable2 list association user="$user" account=default format=user | grep -qx "$user" \
            || sacctmgr --immediate --quiet add user "$user" Account=default DefaultAccount=default >/dev/null
    done
}

link_system_conf() {
    [[ -L $SYSTEM_CONF && $(readlink "$SYSTEM_CONF") == "$CONF" ]] && return 0
    if [[ -e $SYSTEM_CONF || -L $SYSTEM_CONF ]]; then
        say "warning: $SYSTEM_CONF exists and is not ours: job steps will read it, not $CONF"
        return 0
    fi
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -s "$CONF" "$SYSTEM_CONF"
}

start_slurm() {
    if ! alive "$STATE/run/slurmctld.pid"; then
        /usr/sbin/slurmctld
        wait_for 30 slurmctld scontrol ping
        record slurmctld "$STATE/run/slurmctld.pid"
    fi
    if ! alive "$STATE/run/slurmd.pid"; then
        /usr/sbin/slurmd
        wait_for 30 slurmd alive "$STATE/run/slurmd.pid"
        record slurmd "$STATE/run/slurmd.pid"
    fi
    wait_for 30 "the node" node_ready
}

node_ready() {
    local state
    state=$(sinfo --noheader --nodes="$HOST" --format=%T 2>/dev/null)
    [[ $state == idle* || $state == mix* || $state == alloc* ]] && return 0
    [[ $state == down* || $state == drain* ]] && scontrol update nodename="$HOST" state=resume >/dev/null 2>&1
    return 1
}

start() {
    mkdir -p "$STATE"/{etc,run,log,spool/ctld,spool/d,mysql,munge}
    install_packages
    write_configs
    start_munge
    start_mariadb
    start_slurmdbd
    link_system_conf
    start_slurm
    say "up: $(sinfo --noheader --format='%P %D node(s) %c CPUs %m MB %T')"
    say "use it with: eval \"\$($0 env)\""
}

stop() {
    [[ -s $STARTED ]] || { say "nothing started by this script"; return 0; }
    local name pidfile pid
    tac "$STARTED" | while read -r name pidfile; do
        if alive "$pidfile"; then
            pid=$(cat "$pidfile")
            kill "$pid"
            for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
            say "stopped $name ($pid)"
        fi
    done
    rm -f "$STARTED"
    if [[ -L $SYSTEM_CONF && $(readlink "$SYSTEM_CONF") == "$CONF" ]]; then
        rm "$SYSTEM_CONF"
    fi
}

status() {
    local name pidfile code=0
    for name in munge/munged run/mariadbd run/slurmdbd run/slurmctld run/slurmd; do
        pidfile=$STATE/$name.pid
        if alive "$pidfile"; then echo "${name#*/} running ($(cat "$pidfile"))"; else echo "${name#*/} not running"; code=1; fi
    done
    [[ $code == 0 ]] && sinfo
    return $code
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac

# scripts/lib/galera.sh — scripts/cluster's three-node MariaDB Galera cluster.
# Sourced after common.sh and mariadb.sh. Node N (1, 2, 3) lives in
# .strata/galera-N: my.cnf, data/, node.log, node.pid (the pid we spawned).

GALERA_PORT=${STRATA_GALERA_PORT:-23311}
GALERA_WSREP_PORT=${STRATA_GALERA_WSREP_PORT:-24311}
GALERA_PROVIDER=${STRATA_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
GALERA_NODES=(1 2 3)
# A joiner copies node 1's data (about 130 MB) before it answers.
GALERA_TIMEOUT=180

galera_user() { unprivileged_user mysql; }
galera_port() { echo $((GALERA_PORT + $1 - 1)); }
# Group communication port of node $1; IST is the next one, SST the one after.
galera_gcomm_port() { echo $((GALERA_WSREP_PORT + 3 * ($1 - 1))); }
galera_dir_existing() { private_dir_existing "$STRATA_DIR/galera-$1"; }
galera_sock() { socket_path "$(galera_dir_existing "$1")" "galera-$1.sock"; }

galera_running() { mariadb_answers "$(galera_sock "$1")"; }

# `wsrep_local_state_comment wsrep_cluster_size` of node $1, e.g. "Synced 3".
galera_state() {
  mariadb_sql "$(galera_sock "$1")" -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN
    ('wsrep_local_state_comment', 'wsrep_cluster_size')" 2>/dev/null |
    sort | awk '{v[NR] = $2} END {print v[2], v[1]}'
}

galera_synced() { # is node $1 Synced in a cluster of at least $2 nodes?
  local state size
  read -r state size <<<"$(galera_state "$1")"
  [[ $state == Synced && ${size:-0} -ge $2 ]]
}

# The client as `strata` over TCP to node $1, as the URLs of `env` connect.
galera_client() {
  local node=$1; shift
  mysql_bins
  MYSQL_PWD=$DB_PASSWORD "$MARIADB" --no-defaults --protocol=tcp -h 127.0.0.1 \
    -P "$(galera_port "$node")" -u "$DB_USER" "$@"
}

galera_write_config() { # node $1, its directory $2
  local node=$1 dir=$2 g i peers="" user_line=""
  for i in "${GALERA_NODES[@]}"; do
    peers+="${peers:+,}127.0.0.1:$(galera_gcomm_port "$i")"
  done
  g=$(galera_gcomm_port "$node")
  ((IS_ROOT)) && user_line="user = $GALERA_USER"
  cat >"$dir/my.cnf" <<EOF
# scripts/cluster: Galera node $node (generated on every start)
[mysqld]
$user_line
datadir = $dir/data
socket = $(galera_sock "$node")
pid-file = $dir/data/mariadbd.pid
log-error = $dir/node.log
bind-address = 127.0.0.1
port = $(galera_port "$node")
skip-name-resolve
max-connections = 600
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
default-time-zone = +00:00
# What Galera requires: row events, InnoDB, interleaved auto-increment locks.
binlog_format = ROW
default-storage-engine = InnoDB
innodb_autoinc_lock_mode = 2
# Throwaway data, as scripts/db: no flush at commit, no doublewrite.
innodb_flush_log_at_trx_commit = 0
innodb_doublewrite = 0
innodb_buffer_pool_size = 128M
wsrep_on = ON
wsrep_provider = $GALERA_PROVIDER
wsrep_cluster_name = strata-$REPO_HASH
wsrep_cluster_address = gcomm://$peers
wsrep_node_name = node$node
wsrep_node_address = 127.0.0.1:$g
wsrep_node_incoming_address = 127.0.0.1:$(galera_port "$node")
# Patient failure detection: three nodes and a test suite share two cores here, and a
# node starved of CPU for the default 5 s would be declared dead and leave the
# cluster mid-test (a stopped node says goodbye, so stopping one is as quick as ever);
# a causal read (wsrep_sync_wait) waits as long for a slow applier.
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$g;ist.recv_addr=127.0.0.1:$((g + 1));gcache.size=64M;evs.suspect_timeout=PT20S;evs.inactive_timeout=PT40S;evs.install_timeout=PT40S;repl.causal_read_timeout=PT60S"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$((g + 2))
EOF
}

GALERA_PIDS=() # node -> the pid spawned by this run, for the waits

# Start node $1; $2 = bootstrap to bootstrap a new cluster from its data.
galera_spawn() {
  local node=$1 mode=${2:-join} dir old pid
  dir=$(private_dir "galera-$node" "$GALERA_USER")
  old=$(cat "$dir/node.pid" 2>/dev/null || true)
  if alive "$old" && is_mariadbd "$old"; then
    die "galera node $node: pid $old is alive but not answering; run scripts/cluster stop galera"
  fi
  refuse_taken_port "$(galera_port "$node")" "galera node $node"
  refuse_taken_port "$(galera_gcomm_port "$node")" "galera node $node (group communication)"
  galera_write_config "$node" "$dir"
  touch "$dir/node.log"
  ((IS_ROOT)) && chown "$GALERA_USER:" "$dir/my.cnf" "$dir/node.log"
  rm -f "$(galera_sock "$node")" "$(galera_sock "$node").lock"
  local args=(--defaults-file="$dir/my.cnf")
  if [[ $mode == bootstrap ]]; then
    if [[ ! -d $dir/data/mysql ]]; then
      log "galera node $node: initializing $dir/data"
      rm -rf "$dir/data"
      mkdir -p "$dir/data"
      ((IS_ROOT)) && chown "$GALERA_USER:" "$dir/data"
      "$MARIADB_INSTALL_DB" --no-defaults --datadir="$dir/data" --user="$GALERA_USER" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        >"$dir/install.log" 2>&1 9>&- || {
        cat "$dir/install.log" >&2 || true
        rm -rf "$dir/data"
        die "galera node $node: mariadb-install-db failed"
      }
      rm -f "$dir/install.log"
    fi
    # This node's data is the cluster's now, whatever its last shutdown said.
    [[ -f $dir/data/grastate.dat ]] &&
      sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$dir/data/grastate.dat"
    args+=(--wsrep-new-cluster)
  elif [[ ! -d $dir/data ]]; then
    mkdir -p "$dir/data"
    ((IS_ROOT)) && chown "$GALERA_USER:" "$dir/data"
  fi
  # Detached like scripts/db's mariadbd; setsid makes it lead a process group
  # that its SST helpers share. The pid is recorded before anything can fail.
  # No inherited descriptor: a test restarts a node through this script.
  (exec_without_inherited_fds setsid "$MARIADBD" "${args[@]}") </dev/null >>"$dir/node.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/node.pid"
  GALERA_PIDS[node]=$pid
}

galera_wait_synced() { # node $1 Synced in a cluster of at least $2
  local node=$1 size=$2 dir
  dir=$(galera_dir_existing "$node")
  # shellcheck disable=SC2317 # called through wait_until
  wait_until "$GALERA_TIMEOUT" "${GALERA_PIDS[node]:-}" "$dir/node.log" "galera node $node" \
    galera_synced "$node" "$size"
}

galera_start() {
  mysql_bins
  GALERA_USER=$(galera_user)
  GALERA_PIDS=()
  local i any=0 running=()
  for i in "${GALERA_NODES[@]}"; do
    if galera_running "$i"; then any=1; running+=("$i"); fi
  done
  if ((${#running[@]} == ${#GALERA_NODES[@]})) && galera_synced 1 3; then
    mariadb_provision "$(galera_sock 1)"
    echo "galera: already running on 127.0.0.1:$(galera_port 1)-$(galera_port 3)"
    return 0
  fi
  local t0=$SECONDS
  if ((!any)); then
    # A new cluster from node 1's data; the joiners start empty and copy it
    # (their own old state could be ahead of node 1's after a crash).
    for i in 2 3; do
      rm -rf "$(galera_dir_existing "$i")/data"
    done
    galera_spawn 1 bootstrap
    galera_wait_synced 1 1
    mariadb_provision "$(galera_sock 1)"
    running=(1)
  fi
  for i in "${GALERA_NODES[@]}"; do
    [[ " ${running[*]} " == *" $i "* ]] && continue
    galera_spawn "$i" join
    galera_wait_synced "$i" 1
  done
  for i in "${GALERA_NODES[@]}"; do
    galera_wait_synced "$i" 3
  done
  mariadb_provision "$(galera_sock 1)"
  echo "galera: 3 nodes Synced on 127.0.0.1:$(galera_port 1)-$(galera_port 3) as $GALERA_USER in $((SECONDS - t0)) s"
}

# Stop node $1 cleanly: it leaves the cluster saying goodbye, so the others carry on
# at once as a smaller cluster (a node that vanishes is only declared gone after
# evs.suspect_timeout). With $2 = kill it is SIGKILLed instead, as a crash would end it.
galera_stop_node() {
  local node=$1 mode=${2:-clean} dir pid grace
  dir=$(galera_dir_existing "$node")
  [[ -d $dir ]] || { echo "galera node $node: not running"; return 0; }
  pid=$(cat "$dir/node.pid" 2>/dev/null || true)
  grace=$START_TIMEOUT
  if [[ $mode == kill ]] && alive "$pid" && is_mariadbd "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    grace=5
  elif galera_running "$node"; then
    mariadb_admin "$(galera_sock "$node")" shutdown >/dev/null 2>&1 || true
  elif alive "$pid" && is_mariadbd "$pid"; then
    # Not answering yet: a joiner in the middle of its state transfer,
    # which does not heed SIGTERM and holds nothing worth a clean stop.
    kill -TERM "$pid" 2>/dev/null || true
    grace=5
  else
    kill_leftovers "$dir" "galera node $node"
    rm -f "$dir/node.pid"
    echo "galera node $node: not running"
    return 0
  fi
  alive "$pid" && is_mariadbd "$pid" || pid=""
  stop_wait "$pid" "$grace" "galera node $node"
  kill_leftovers "$dir" "galera node $node"
  rm -f "$dir/node.pid"
  galera_running "$node" && { log "galera node $node: still answering after stop"; return 1; }
  if [[ $mode == kill ]]; then echo "galera node $node: killed"; else echo "galera node $node: stopped"; fi
}

galera_stop() {
  mysql_bins
  local i rc=0
  # Node 1 last: the last node to leave holds the newest state, and the next
  # start bootstraps from node 1.
  for i in 3 2 1; do
    galera_stop_node "$i" || rc=1
  done
  return $rc
}

galera_status() {
  mysql_bins
  local i rc=0 state size
  for i in "${GALERA_NODES[@]}"; do
    if galera_running "$i"; then
      read -r state size <<<"$(galera_state "$i")"
      echo "galera node $i: running on 127.0.0.1:$(galera_port "$i"), $state, cluster size $size (data $(galera_dir_existing "$i")/data)"
      [[ $state == Synced && $size == "${#GALERA_NODES[@]}" ]] || rc=1
    else
      echo "galera node $i: not running"
      rc=1
    fi
  done
  if galera_running 1; then
    echo "galera: $(mariadb_sql "$(galera_sock 1)" -N -B -e "SELECT CONCAT(
      'binlog_format=', @@binlog_format, ', innodb_autoinc_lock_mode=', @@innodb_autoinc_lock_mode,
      ', innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit,
      ', innodb_doublewrite=', @@innodb_doublewrite, ', wsrep_sst_method=', @@wsrep_sst_method,
      ', wsrep_sync_wait=', @@global.wsrep_sync_wait, ' (durability off: throwaway data)')")"
  fi
  return $rc
}

galera_env() {
  local i
  for i in "${GALERA_NODES[@]}"; do
    echo "export STRATA_GALERA_URL_$i=mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$(galera_port "$i")/strata_test"
  done
}

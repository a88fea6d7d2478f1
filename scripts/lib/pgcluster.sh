# scripts/lib/pgcluster.sh — scripts/cluster's PostgreSQL topologies: PgBouncer
# in transaction pooling in front of scripts/db's server (.strata/pgbouncer),
# and a hot standby of it (.strata/standby). Sourced after common.sh and
# postgres.sh; primary_start (scripts/cluster) sets PRIMARY_DATA/PRIMARY_SOCK.

PGBOUNCER_PORT=${STRATA_PGBOUNCER_PORT:-26432}
STANDBY_PORT=${STRATA_STANDBY_PORT:-25433}
# The name the standby's WAL receiver gives the primary (pg_stat_replication).
STANDBY_NAME=strata_standby

# -------------------------------------------------------------- PgBouncer --

pgbouncer_dir_existing() { private_dir_existing "$STRATA_DIR/pgbouncer"; }

pgbouncer_pid() {
  local pid
  pid=$(cat "$(pgbouncer_dir_existing)/pgbouncer.pid" 2>/dev/null || true)
  alive "$pid" && echo "$pid"
}

# psql as `strata` through PgBouncer to database $1 (`pgbouncer` is its
# admin console), unaligned, tuples only.
pgbouncer_client() {
  local db=$1; shift
  PGPASSWORD=$DB_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -At -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U "$DB_USER" -d "$db" "$@"
}

pgbouncer_write_config() { # $1 = its directory
  local dir=$1
  # The password itself (the test account's, which every URL shows anyway):
  # with a SCRAM verifier instead, PgBouncer could only log in to the server
  # while the verifier's salt matched pg_authid's, and scripts/db's start
  # sets the password afresh, with a new salt, every time.
  (umask 077 && printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" >"$dir/userlist.txt")
  cat >"$dir/pgbouncer.ini" <<EOF
; scripts/cluster: PgBouncer in front of scripts/db's PostgreSQL (generated on every start)
[databases]
* = host=127.0.0.1 port=$PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
; TCP only: no socket in /tmp to collide with another checkout's.
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
admin_users = $DB_USER
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
; libpq clients (Strata among them) send these; PgBouncer 1.18 refuses an
; unknown startup parameter. Ignored means not applied on the server.
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  ((IS_ROOT)) && chown "$PG_USER:" "$dir/userlist.txt" "$dir/pgbouncer.ini"
  return 0
}

pgbouncer_answers() { pgbouncer_client pgbouncer -c "SHOW VERSION" >/dev/null 2>&1; }

pgbouncer_start() {
  local bin dir pid
  bin=$(find_bin pgbouncer) || die "pgbouncer not found (run scripts/setup)"
  primary_start
  dir=$(private_dir pgbouncer "$PG_USER")
  if pid=$(pgbouncer_pid) && pgbouncer_answers; then
    echo "pgbouncer: already running on 127.0.0.1:$PGBOUNCER_PORT (pid $pid)"
    return 0
  fi
  pgbouncer_stop >/dev/null
  refuse_taken_port "$PGBOUNCER_PORT" pgbouncer
  pgbouncer_write_config "$dir"
  touch "$dir/pgbouncer.log"
  ((IS_ROOT)) && chown "$PG_USER:" "$dir/pgbouncer.log"
  # -d: it forks and writes its pid file before it accepts connections.
  as_pg "$bin" -d -q "$dir/pgbouncer.ini" </dev/null >>"$dir/pgbouncer.log" 2>&1 9>&- ||
    { tail -n 30 "$dir/pgbouncer.log" >&2; die "pgbouncer failed to start (log: $dir/pgbouncer.log)"; }
  # The daemon writes its pid file as it starts, and removes it when it
  # gives up (a port in use, say).
  wait_until 10 "" "$dir/pgbouncer.log" pgbouncer pgbouncer_pid >/dev/null
  wait_until "$START_TIMEOUT" "$(pgbouncer_pid)" "$dir/pgbouncer.log" pgbouncer pgbouncer_answers
  echo "pgbouncer: started on 127.0.0.1:$PGBOUNCER_PORT in front of 127.0.0.1:$PG_PORT as $PG_USER, pool_mode = transaction"
}

pgbouncer_stop() {
  local dir pid
  dir=$(pgbouncer_dir_existing)
  if pid=$(pgbouncer_pid); then
    # SIGTERM: immediate shutdown, clients are disconnected.
    kill -TERM "$pid" 2>/dev/null || true
    stop_wait "$pid" "$START_TIMEOUT" pgbouncer
    kill_leftovers "$dir" pgbouncer
    rm -f "$dir/pgbouncer.pid"
    echo "pgbouncer: stopped"
  else
    kill_leftovers "$dir" pgbouncer
    echo "pgbouncer: not running"
  fi
}

pgbouncer_status() {
  local pid
  if pid=$(pgbouncer_pid) && pgbouncer_answers; then
    echo "pgbouncer: running on 127.0.0.1:$PGBOUNCER_PORT (pid $pid), pool_mode = $(pgbouncer_client pgbouncer -c "SHOW CONFIG" |
      awk -F'|' '$1 == "pool_mode" {print $2}'), in front of 127.0.0.1:$PG_PORT"
  else
    echo "pgbouncer: not running"
    return 1
  fi
}

pgbouncer_env() {
  echo "export STRATA_PGBOUNCER_URL=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PGBOUNCER_PORT/strata_test?statement_cache=off"
}

# ---------------------------------------------------------- hot standby --

standby_data() { echo "$(private_dir_existing "$STRATA_DIR/standby")/data"; }

# psql as `strata` over TCP to the standby's strata_test, tuples only.
standby_client() {
  PGPASSWORD=$DB_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
    -h 127.0.0.1 -p "$STANDBY_PORT" -U "$DB_USER" -d strata_test "$@"
}

standby_streaming() { # does the primary see the standby streaming?
  [[ $(pg_psql "$PRIMARY_SOCK" "$PG_PORT" -d postgres -At -c "SELECT count(*) FROM pg_stat_replication
    WHERE application_name = '$STANDBY_NAME' AND state = 'streaming'" 2>/dev/null) == 1 ]]
}

standby_start() {
  local dir data sock max_conn
  primary_start
  dir=$(private_dir standby "$PG_USER")
  data="$dir/data"
  if pg_running "$data"; then
    echo "standby: already running on 127.0.0.1:$STANDBY_PORT (data $data)"
    return 0
  fi
  kill_leftovers "$dir" standby
  refuse_taken_port "$STANDBY_PORT" standby
  # A fresh copy every time (see scripts/cluster): over the primary's socket
  # as the bootstrap superuser, which pg_hba trusts for local replication.
  rm -rf "$data"
  as_pg "$PG_BIN/pg_basebackup" -D "$data" -h "$PRIMARY_SOCK" -p "$PG_PORT" -U postgres \
    -R -X stream -c fast >"$dir/basebackup.log" 2>&1 9>&- ||
    { cat "$dir/basebackup.log" >&2; die "standby: pg_basebackup from 127.0.0.1:$PG_PORT failed"; }
  # The primary's own log came along with its data directory.
  rm -f "$data/server.log" "$dir/basebackup.log"
  sock=$(pg_prepare_sock_dir "$data" standby)
  # A standby refuses to start with fewer connections than its primary allows, and
  # the primary's may come from its command line rather than the copied config.
  max_conn=$(pg_psql "$PRIMARY_SOCK" "$PG_PORT" -d postgres -At -c "SHOW max_connections")
  pg_ctl_start "$data" "$STANDBY_PORT" "$sock" "$dir/server.log" standby \
    -c hot_standby=on -c cluster_name=$STANDBY_NAME -c max_connections="$max_conn"
  wait_until "$START_TIMEOUT" "" "$dir/server.log" standby standby_streaming
  echo "standby: started on 127.0.0.1:$STANDBY_PORT as $PG_USER, streaming from 127.0.0.1:$PG_PORT (data $data)"
}

standby_stop() {
  local dir
  PG_USER=$(pg_user)
  dir=$(private_dir_existing "$STRATA_DIR/standby")
  pg_ctl_stop "$dir/data" standby || return 1
  kill_leftovers "$dir" standby
}

standby_status() {
  local data state
  PG_USER=$(pg_user)
  data=$(standby_data)
  if ! pg_running "$data"; then
    echo "standby: not running"
    return 1
  fi
  # The WAL receiver's own view: "streaming" while it follows the primary.
  state=$(pg_psql "$(pg_sock_dir "$data" standby)" "$STANDBY_PORT" -d postgres -At -c "SELECT
    CASE WHEN pg_is_in_recovery() THEN 'hot standby, WAL receiver ' ||
      COALESCE((SELECT status FROM pg_stat_wal_receiver), 'not running')
    ELSE 'NOT in recovery' END" 2>/dev/null || echo "not answering")
  echo "standby: running on 127.0.0.1:$STANDBY_PORT, $state (data $data)"
}

standby_env() {
  echo "export STRATA_STANDBY_URL=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$STANDBY_PORT/strata_test"
}

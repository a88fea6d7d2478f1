# scripts/lib/postgres.sh — PostgreSQL helpers shared by scripts/db (the test
# server) and scripts/cluster (its hot standby, PgBouncer in front of it).
# Sourced after common.sh.

PG_BIN=${STRATA_PG_BIN:-/usr/lib/postgresql/15/bin}
# The test server of scripts/db: its port and where its data is.
PG_PORT=${STRATA_PG_PORT:-55432}
PG_LINK="$STRATA_DIR/pg"              # real data dir, or symlink to a /tmp one

# Which OS user runs postgres: ourselves when not root; as root, `postgres` if
# the package created it, else a dedicated `strata` system user.
pg_user() { unprivileged_user postgres; }

# Run a command as the PostgreSQL OS user ($PG_USER, set by the caller).
as_pg() { as_user "$PG_USER" "$@"; }

# The socket directory of the server whose data is $1: the data dir itself
# when its path is short, else /tmp/strata-<$2, default pg>sock-<hash>. It
# must be writable by the server user.
pg_sock_dir() {
  local data=$1 name=${2:-pg}
  if ((${#data} <= 80)); then
    echo "$data"
  else
    echo "/tmp/strata-${name}sock-$REPO_HASH"
  fi
}

# Create the socket dir for data dir $1 (named $2) when it is not the data dir.
pg_prepare_sock_dir() {
  local sock
  sock=$(pg_sock_dir "$1" "${2:-pg}")
  if [[ $sock != "$1" ]]; then
    mkdir -p "$sock"
    ((IS_ROOT)) && chown "$PG_USER:" "$sock"
    chmod 0700 "$sock"
  fi
  echo "$sock"
}

pg_running() { # $1 = data dir
  local pid
  [[ -f $1/PG_VERSION ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$1" >/dev/null 2>&1 || return 1
  # pg_ctl only does kill(pid, 0), which a killed-but-unreaped postmaster passes.
  pid=$(head -n1 "$1/postmaster.pid" 2>/dev/null || true)
  alive "$pid"
}

# Admin psql over the unix socket dir $1 and port $2, as the bootstrap
# superuser `postgres` (local connections are trusted).
pg_psql() {
  local sock=$1 port=$2; shift 2
  psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres "$@"
}

# Start the server of data dir $1 on port $2 with socket dir $3, logging to
# $4; $5 names it in messages; further arguments are extra `-c` settings.
pg_ctl_start() {
  local data=$1 port=$2 sock=$3 logf=$4 what=$5 opts
  shift 5
  opts="-p $port -k '$sock' $*"
  if ! as_pg "$PG_BIN/pg_ctl" start -D "$data" -l "$logf" -w -t "$START_TIMEOUT" -s \
      -o "$opts" >/dev/null 9>&-; then
    tail -n 30 "$logf" >&2 || true
    die "$what failed to start (log: $logf)"
  fi
}

# Stop the server of data dir $1 ($2 names it): fast (roll back open
# transactions, disconnect clients), then immediate (crash-like, fine for
# throwaway data) when fast does not finish in time.
pg_ctl_stop() {
  local data=$1 what=$2
  if ! pg_running "$data"; then
    echo "$what: not running"
    return 0
  fi
  if ! as_pg "$PG_BIN/pg_ctl" stop -D "$data" -m fast -w -t "$START_TIMEOUT" -s >/dev/null 9>&-; then
    log "$what: fast shutdown timed out, using immediate"
    as_pg "$PG_BIN/pg_ctl" stop -D "$data" -m immediate -w -t "$START_TIMEOUT" -s >/dev/null 9>&- ||
      { log "$what: could not stop (data $data)"; return 1; }
  fi
  echo "$what: stopped"
}

# scripts/lib/common.sh — what scripts/db and scripts/cluster share: where the
# checkout's private server data lives, who runs the servers, process checks,
# the start/stop lock and a bounded wait. Sourced, never run; the sourcing
# script sets LOG_TAG (its name in messages) and `set -euo pipefail`.
#
# Data lives under <repo>/.strata/ (git-ignored). Servers that refuse root
# (PostgreSQL, PgBouncer) or that we keep unprivileged (the Galera nodes) run as
# a system user; when that user cannot traverse the checkout (CI clones into a
# 0700 `mktemp -d` directory), their data goes to /tmp/strata-<name>-<hash> and
# .strata/<name> is a symlink to it (private_dir).

STRATA_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$STRATA_LIB_DIR/../.." && pwd -P)
STRATA_DIR="$REPO/.strata"
# Short, stable id of this checkout, for paths outside the repo.
REPO_HASH=$(printf '%s' "$REPO" | sha256sum | cut -c1-12)

# The account and databases every server is provisioned with.
DB_USER=strata
DB_PASSWORD=strata
DATABASES=(strata_test strata_scratch strata_demo strata_contract)
START_TIMEOUT=60

# Never let a developer's environment or ~/.my.cnf / ~/.psqlrc redirect us.
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGDATA PGSERVICE PGOPTIONS PGPASSFILE
export TZ=UTC LC_ALL=C

log() { printf '%s: %s\n' "${LOG_TAG:-strata}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

IS_ROOT=0
[[ ${EUID:-$(id -u)} -eq 0 ]] && IS_ROOT=1

# Is pid $1 alive? A zombie does not count: our daemons are reparented to
# pid 1, which in some containers reaps late, and `kill -0` succeeds on a
# zombie.
alive() {
  local state
  [[ -n ${1:-} ]] || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# Die if TCP port $1 on loopback is already listened on; $2 names who wanted it. Another
# checkout's servers on the same default ports would otherwise be taken for ours, or
# make ours exit during startup with a log that does not say why.
refuse_taken_port() {
  command -v ss >/dev/null 2>&1 || return 0
  if ss -Htln "sport = :$1" 2>/dev/null | grep -q .; then
    die "$2: port $1 on 127.0.0.1 is taken by another process (another checkout's servers? stop them, or choose other ports with the STRATA_*_PORT variables)"
  fi
}

find_bin() { # first existing command among the arguments
  local c
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
    if [[ -x /usr/sbin/$c ]]; then echo "/usr/sbin/$c"; return 0; fi
  done
  return 1
}

# Two shells starting or stopping the same servers at once (a developer and a
# test run) must not both initialise them. The lock fd (9) is closed for every
# server process we spawn (9>&-), otherwise the daemons would hold the lock
# forever. $1 names the lock file under .strata (one per script).
take_lock() {
  mkdir -p "$STRATA_DIR"
  chmod 0755 "$STRATA_DIR"
  exec 9>"$STRATA_DIR/${1:-.lock}"
  flock -w 300 9 || die "timed out waiting for $STRATA_DIR/${1:-.lock}"
}

# Replaces the current (sub)shell with "$@", every descriptor above 2 closed.
# For a daemon: it must not keep its starter's descriptors for its whole life,
# the lock (fd 9) nor whatever the script's caller left open. A Swift test that
# runs a script with Foundation's Process is told of the script's exit through a
# socket the script inherits: a server spawned holding it would keep the test
# waiting for as long as the server runs.
exec_without_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    ((fd > 2)) && eval "exec $fd>&-"
  done
  exec "$@"
}

# The OS user that runs a server: ourselves when not root; as root the first
# of the arguments that exists (a package's system user, such as `postgres`),
# else a dedicated `strata` system user, created on first use.
unprivileged_user() {
  local u
  if ((!IS_ROOT)); then id -un; return; fi
  for u in "$@"; do
    if id -u "$u" >/dev/null 2>&1; then echo "$u"; return; fi
  done
  if ! id -u strata >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin strata >/dev/null
  fi
  echo strata
}

# Run a command as user $1, from / (the caller's cwd may be a directory that
# user cannot enter, which makes initdb/pg_ctl complain).
as_user() {
  local user=$1; shift
  if ((IS_ROOT)); then
    (cd / && runuser -u "$user" -- "$@")
  else
    (cd / && "$@")
  fi
}

# The directory behind .strata/<name> without creating anything (for
# stop/status/env): the symlink's target, or the directory itself.
private_dir_existing() {
  local link=$1
  if [[ -L $link ]]; then readlink "$link"; else echo "$link"; fi
}

# Resolve, creating if needed, a directory owned by user $2 at .strata/$1, or
# in /tmp behind a symlink when that user cannot enter .strata. Prints it.
private_dir() {
  local name=$1 user=$2 link dir
  link="$STRATA_DIR/$name"
  if [[ -L $link ]]; then
    dir=$(readlink "$link")
  elif [[ -d $link ]]; then
    dir=$link
  elif ((IS_ROOT)) && ! runuser -u "$user" -- test -x "$STRATA_DIR"; then
    dir="/tmp/strata-$name-$REPO_HASH"
    ln -sfn "$dir" "$link"
    log "$name: $user cannot enter $STRATA_DIR; data dir is $dir (symlinked from .strata/$name)"
  else
    dir=$link
  fi
  if [[ ! -d $dir ]]; then
    (umask 077 && mkdir -p "$dir")
    ((IS_ROOT)) && chown "$user:" "$dir"
  fi
  # In /tmp anybody could have pre-created the directory: only use it if it
  # is a real directory owned by the server user.
  if [[ -L $dir ]] || [[ $(stat -c %U "$dir") != "$user" ]]; then
    die "$name: $dir is not a directory owned by $user; remove it"
  fi
  echo "$dir"
}

# Remove .strata/$1 and, when it is a symlink to our own /tmp directory, that
# directory; never whatever else a symlink points at.
remove_private_dir() {
  local name=$1 link dir
  link="$STRATA_DIR/$name"
  dir=$(private_dir_existing "$link")
  [[ $dir == "/tmp/strata-$name-$REPO_HASH" ]] && rm -rf "$dir"
  rm -rf "$link"
}

# A unix socket path for a server whose natural place is $1/$2: there when it
# is short enough (sockets have a ~107 byte limit), else in /tmp.
socket_path() {
  local dir=$1 file=$2
  if ((${#dir} + ${#file} <= 90)); then
    echo "$dir/$file"
  else
    echo "/tmp/strata-$REPO_HASH-$file"
  fi
}

# Wait up to $1 seconds for a command to succeed while pid $2 lives; on a
# death or a timeout, show the last lines of log $3 and fail naming $4.
#   wait_until 60 "$pid" "$log" "mariadb" mysql_running
wait_until() {
  local seconds=$1 pid=$2 logf=$3 what=$4 deadline
  shift 4
  # By the clock, not by a count of tries: one try may take seconds.
  deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    "$@" && return 0
    if [[ -n $pid ]] && ! alive "$pid"; then
      tail -n 30 "$logf" >&2 || true
      die "$what exited during startup (log: $logf)"
    fi
    sleep 0.25
  done
  "$@" && return 0
  tail -n 30 "$logf" >&2 || true
  die "$what was not ready within ${seconds}s (log: $logf)"
}

# Wait up to $2 seconds for pid $1 to exit, then SIGKILL its process group
# (a server started with setsid leads its own: its helpers, such as Galera's
# state-transfer rsync, go with it). Safe on a pid that is already gone.
stop_wait() {
  local pid=$1 seconds=$2 what=$3 i
  [[ -n $pid ]] || return 0
  for ((i = 0; i < seconds * 4; i++)); do
    alive "$pid" || break
    sleep 0.25
  done
  if alive "$pid"; then
    log "$what: pid $pid still alive after ${seconds}s, killing"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
}

# bench/services.bash — `scripts/bench services`, sourced by scripts/bench.
#
# Charges: WalletService.charge from 8 tasks over a pool of 8, each charging a random
# wallet of 100 under a run id of its own (`strata-bench charges`; the tasks prefer the
# pool's executor, and a reference run leaves them on the default one), against the floor:
# the same transaction (BEGIN; the wallet locked with the agent's cost and the run's
# earlier charge read in the same statement; the conditional balance update; the
# ledger insert; the audit insert; COMMIT), with the same statement text and binds,
# driven by `pgbench -M prepared -c8 -j2` with bench/charge_floor_pg.sql on PostgreSQL
# and by bench/mysql_charge_floor.c (8 threads, a connection and prepared statements
# each) on MariaDB. Both sides charge in one database, prepared once per backend by
# `strata-bench charges --prepare-only` (migrated, one agent, 100 funded wallets), in
# interleaved rounds whose order alternates, so both see the same tables growing; each
# side warms up before its clock starts. Goal: Strata >= 0.80 of the floor.
#
# Webhooks: events processed per second by 4 RetryWorkers (`strata-bench webhooks
# --workers 4`, a scratch database each run); shown, with no floor.
#
# Knobs: STRATA_BENCH_RUNS (rounds, default 3), STRATA_BENCH_CHARGES (timed charges a
# measurement, default 8000), STRATA_BENCH_EVENTS (webhook events a run, default 4000).

SERVICES_CHARGES=${STRATA_BENCH_CHARGES:-8000}
SERVICES_WARMUP=800
SERVICES_TASKS=8
SERVICES_WALLETS=100
SERVICES_EVENTS=${STRATA_BENCH_EVENTS:-4000}
SERVICES_WORKERS=4
CHARGE_DB=strata_bench_charges
CHARGE_GOAL=0.80

# The session options Strata's libpq connections start with (PostgresConnection), so
# pgbench's sessions are set up alike.
SERVICES_PGOPTIONS="-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c client_connection_check_interval=2000"

# The audit details pgbench binds: it cannot build a string, so one fixed JSON text of
# the shape and length of Strata's (sorted keys, no spaces) stands for this charge's.
SERVICES_PG_DETAILS='{"agent_key":"bench_agent","amount":-1,"balance_after":999999999959,"cost_per_run":1,"kind":"charge","run_id":"12003000000041","sequence":4242,"transaction_id":123456,"wallet_id":42}'

# strata-bench with its output checked: services_strata UNIT SUBCOMMAND OPTIONS... -> the figure
services_strata() {
  local unit=$1 out figure
  shift
  out=$("$STRATA_BENCH" "$@" 2>&1) || { printf '%s\n' "$out" >&2; die "strata-bench $1 failed"; }
  figure=$(printf '%s\n' "$out" | rate_of "$unit")
  [[ -n $figure ]] || { printf '%s\n' "$out" >&2; die "no $unit in strata-bench $1's output"; }
  printf '%s\n' "$figure"
}

# Drops the charges database on the backend of URL (the admin URL, not the bench one).
services_drop_db() { # services_drop_db postgres|mysql URL
  parse_url "$2"
  if [[ $1 == postgres ]]; then
    PGPASSWORD=$URL_PASSWORD psql -qX -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -d postgres \
      -c "DROP DATABASE IF EXISTS $CHARGE_DB WITH (FORCE)" >/dev/null 2>&1 || true
  else
    mariadb --no-defaults --protocol=tcp -h "$URL_HOST" -P "$URL_PORT" -u "$URL_USER" "-p$URL_PASSWORD" \
      -e "DROP DATABASE IF EXISTS $CHARGE_DB" >/dev/null 2>&1 || true
  fi
}

services_cleanup() {
  services_drop_db postgres "$STRATA_TEST_POSTGRES_URL"
  services_drop_db mysql "$STRATA_TEST_MYSQL_URL"
}

services_prepare_db() { # services_prepare_db ADMIN_URL
  "$STRATA_BENCH" charges --url "$1" --database "$CHARGE_DB" --prepare-only \
    --wallets "$SERVICES_WALLETS" --migrations "$REPO/migrations" >&2 || die "cannot prepare $CHARGE_DB"
}

strata_charges() { # strata_charges ADMIN_URL RUN_PREFIX [--default-executor] -> charges/s
  services_strata charges/s charges --url "$1" --database "$CHARGE_DB" --run-prefix "$2" \
    --charges "$SERVICES_CHARGES" --warmup "$SERVICES_WARMUP" --tasks "$SERVICES_TASKS" --wallets "$SERVICES_WALLETS" \
    "${@:3}"
}

# One pgbench invocation of a charge script: pgbench_charges TRANSACTIONS_PER_CLIENT
# RUN_BASE [SCRIPT]; prints its tps without the initial connection time.
pgbench_charges() {
  local out tps
  out=$(PGPASSWORD=$URL_PASSWORD PGOPTIONS=$SERVICES_PGOPTIONS \
        pgbench -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -n -M prepared \
          -c "$SERVICES_TASKS" -j 2 -t "$1" -f "${3:-bench/charge_floor_pg.sql}" \
          -D wallets="$SERVICES_WALLETS" -D base="$2" -D n=0 -D agent=bench_agent -D kind=charge \
          -D actor=bench:charges -D action=wallet.charge -D subject=wallet \
          -D "now=$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00')" -D "details=$SERVICES_PG_DETAILS" \
          "$CHARGE_DB" 2>&1) || { printf '%s\n' "$out" >&2; die "pgbench (charges) failed"; }
  tps=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p')
  [[ -n $tps ]] || { printf '%s\n' "$out" >&2; die "no tps in pgbench's output"; }
  printf '%s\n' "$tps"
}

# The floor on PostgreSQL for round R: a warm-up invocation, then the timed one. Run ids
# are numbers, (R * 10 + phase) * 10^9 + client * 10^8 + n: unique in the database.
pg_charge_floor() { # pg_charge_floor ROUND [SCRIPT]
  pgbench_charges $((SERVICES_WARMUP / SERVICES_TASKS)) $((($1 * 10 + 1) * 1000000000)) "${2:-}" >/dev/null
  pgbench_charges $((SERVICES_CHARGES / SERVICES_TASKS)) $((($1 * 10 + 2) * 1000000000)) "${2:-}"
}

# The reference beside the PostgreSQL floor: the same script with the audit insert and
# COMMIT sent in one pipeline (\startpipeline … \endpipeline), as Strata sends them.
# pgbench cannot pipeline BEGIN with the locking SELECT, whose \gset needs its result.
PG_PIPELINED_SCRIPT=""
pg_pipelined_script() {
  PG_PIPELINED_SCRIPT="$WORK/charge_floor_pg_pipelined.sql"
  sed -e 's/^INSERT INTO billing_audit/\\startpipeline\nINSERT INTO billing_audit/' \
      -e 's/^COMMIT;$/COMMIT;\n\\endpipeline/' bench/charge_floor_pg.sql > "$PG_PIPELINED_SCRIPT"
  grep -q '^\\endpipeline' "$PG_PIPELINED_SCRIPT" || die "cannot derive $PG_PIPELINED_SCRIPT"
}

mysql_charge_floor() { # mysql_charge_floor ROUND
  local out figure
  out=$("$WORK/mysql_charge_floor" "$URL_HOST" "$URL_PORT" "$URL_USER" "$URL_PASSWORD" "$CHARGE_DB" \
          "$SERVICES_TASKS" "$SERVICES_CHARGES" "$SERVICES_WALLETS" "$SERVICES_WARMUP" "f$1" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "mysql_charge_floor failed"; }
  figure=$(printf '%s\n' "$out" | rate_of charges/s)
  [[ -n $figure ]] || { printf '%s\n' "$out" >&2; die "no charges/s in mysql_charge_floor's output"; }
  printf '%s\n' "$figure"
}

# Rounds of Strata and its floor, then the webhook runs, on one backend.
services_backend() { # services_backend postgres|mysql ADMIN_URL
  local backend=$1 admin=$2 s="" d="" f="" p="" w="" r floor floor_name name=${1/mysql/mariadb}
  if [[ $backend == postgres ]]; then
    floor=pg_charge_floor floor_name="pgbench -M prepared -c8 -j2"
  else
    floor=mysql_charge_floor floor_name="C loop, 8 threads"
  fi
  services_prepare_db "$admin"
  parse_url "$(with_database "$admin" "$CHARGE_DB")"
  for ((r = 1; r <= RUNS; r++)); do
    log "$backend: charges, round $r of $RUNS"
    if ((r % 2)); then
      f+=" $("$floor" "$r")"
      s+=" $(strata_charges "$admin" "s$r")"
    else
      s+=" $(strata_charges "$admin" "s$r")"
      f+=" $("$floor" "$r")"
    fi
    d+=" $(strata_charges "$admin" "d$r" --default-executor)"
    if [[ $backend == postgres ]]; then
      p+=" $(pg_charge_floor $((r + 100)) "$PG_PIPELINED_SCRIPT")"
    fi
  done
  services_drop_db "$backend" "$admin"
  for ((r = 1; r <= RUNS; r++)); do
    log "$backend: webhooks, run $r of $RUNS"
    w+=" $(services_strata events/s webhooks --url "$admin" --workers "$SERVICES_WORKERS" \
            --events "$SERVICES_EVENTS" --migrations "$REPO/migrations")"
  done
  echo
  echo "$name: $SERVICES_CHARGES charges, $SERVICES_TASKS tasks over a pool of $SERVICES_TASKS, $SERVICES_WALLETS wallets, after $SERVICES_WARMUP untimed"
  report "$name  charges" "$s" "$floor_name" "$f" "$CHARGE_GOAL" charges/s
  report_reference "" "Strata, tasks on the default executor" "$d" charges/s
  if [[ $backend == postgres ]]; then
    report_reference "" "pgbench, audit insert + COMMIT pipelined" "$p" charges/s
  fi
  # shellcheck disable=SC2086 # the run list splits on purpose
  awk -v label="$name  webhooks" -v m="$(median $w)" -v r="$w" -v n="$SERVICES_EVENTS" -v k="$SERVICES_WORKERS" 'BEGIN {
    c = split(r, a, " "); line = ""; for (i = 1; i <= c; i++) line = line sprintf(" %.0f", a[i])
    printf "%-26s strata %8.0f events/s   (%d events, %d workers; no floor)   runs:%s\n", label, m, n, k, line
  }'
}

bench_services() {
  prepare
  log "mariadb: compiling bench/mysql_charge_floor.c"
  # shellcheck disable=SC2046 # pkg-config's flags split on purpose
  gcc -O2 -Wall -o "$WORK/mysql_charge_floor" bench/mysql_charge_floor.c \
    $(pkg-config --cflags --libs libmariadb) -lpthread || die "cannot compile bench/mysql_charge_floor.c"
  pg_pipelined_script
  trap services_cleanup EXIT
  local t0=$SECONDS
  echo "scripts/bench services — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $RUNS runs each, median compared"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes the figures noisy)"
  services_backend postgres "$STRATA_TEST_POSTGRES_URL"
  services_backend mysql "$STRATA_TEST_MYSQL_URL"
  echo
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); measured in $((SECONDS - t0)) s"
}

# bench/cluster.bash — `scripts/bench cluster`, sourced by scripts/bench.
#
# What a charge costs past one server, each topology against its one-server baseline in
# the same run, on this one machine (every server shares its cores with the benchmark):
#
#   Galera     WalletService.charge from 8 tasks dealt round-robin over the three nodes
#              of scripts/cluster's Galera cluster (`strata-bench charges --url NODE1
#              --url NODE2 --url NODE3`: a pool each, of 3+3+2 connections), against
#              the same 8 tasks over one pool of 8 on scripts/db's single MariaDB server;
#              shown beside them, the 8 tasks all on node 1 (the other two still apply
#              every write set), which tells replication apart from the conflicts of
#              writers on several nodes.
#   PgBouncer  the same 8 tasks through scripts/cluster's PgBouncer (transaction pooling;
#              Strata detects it and turns its statement cache off: every statement goes
#              out unnamed with PQexecParams), against the same tasks straight to scripts/db's
#              PostgreSQL (statements prepared once a connection), in the same database;
#              shown beside them, the tasks straight to PostgreSQL with the statement
#              cache off too (`statement_cache=off`), which tells the pooler's hop apart
#              from the statements parsed anew.
#
# The workload is `scripts/bench services`'s (its settings and helpers are sourced from
# bench/services.bash): 8,000 timed charges after 800 untimed, a random wallet of 100
# each, a run id of its own each, tasks on the pools' executors. Each database is
# prepared once (migrated, one agent, 100 funded wallets) by `strata-bench charges
# --prepare-only` through its first URL (Galera node 1; direct PostgreSQL), and each
# measurement verifies every wallet's ledger afterwards through every URL it used. The
# rounds interleave the two sides, their order alternating, and the medians are compared.
#
# Retries: on Galera two nodes charging one wallet at once conflict at certification
# (1213, at a statement or at COMMIT), and Strata runs the loser's whole transaction
# again; a deadlock on one server is retried alike. Each side's retried attempts in its
# timed charges are printed beside its rate. A charge that still fails, or a ledger that
# does not verify, fails the measurement: strata-bench exits non-zero, and so does this.
#
# Goals (the ratio topology / one server; MISSED is a report, not a failure):
#   Galera >= 0.33. On one machine the cluster does three servers' work on the cores
#     one server had: every node applies every charge's write set. Were each node to
#     spend as much as the server that ran the charge, a CPU-bound run would keep a third
#     of the single server's rate; the two appliers replay row events, which costs
#     them less than running the statements, so a third is a floor. Below it,
#     certification retries, group communication or the causal reads (Strata's sessions
#     set wsrep_sync_wait = 1) cost more than the replicated work itself. On three
#     machines the figure would mean something else: this measures the overhead, not
#     scaling.
#   PgBouncer >= 0.60. Straight to PostgreSQL a charge is four round trips (BEGIN goes
#     out with the first prepared statement, the audit insert with COMMIT). Through
#     PgBouncer each crosses one more process, single-threaded on the same two cores:
#     two more socket passes and its CPU; and with the statement cache off the server
#     parses and plans every statement again. Each should cost a charge well under a
#     fifth; together, no more than 40%. Today Strata also loses its pipeline there
#     (it pipelines prepared statements only: BEGIN and the audit insert go out on
#     their own, six round trips), which the reference line, straight to PostgreSQL
#     with the cache off, shows apart from the hop.
#
# Servers (printed with the figures, read from the servers themselves): durability off
# on all of them, as scripts/db and scripts/lib/galera.sh set them up — MariaDB and the
# Galera nodes with innodb_flush_log_at_trx_commit = 0 and no doublewrite, PostgreSQL
# with fsync, synchronous_commit and full_page_writes off.
#
# Starts what does not run yet (scripts/db's servers; scripts/cluster's galera and
# pgbouncer) and, on every way out, failure included, stops exactly what it started.
#
# Knobs: STRATA_BENCH_RUNS (rounds, default 3), STRATA_BENCH_CHARGES (timed charges a
# measurement, default 8000).

# shellcheck source=bench/services.bash
source bench/services.bash

CLUSTER_GALERA_GOAL=0.33
CLUSTER_PGBOUNCER_GOAL=0.60
CLUSTER_STARTED_DB=0 CLUSTER_STARTED_GALERA=0 CLUSTER_STARTED_PGBOUNCER=0

# The charges databases dropped, and what this run started stopped, on every way out.
cluster_cleanup() {
  local rc=$?
  [[ -n ${STRATA_GALERA_URL_1:-} ]] && services_drop_db mysql "$STRATA_GALERA_URL_1"
  [[ -n ${STRATA_TEST_MYSQL_URL:-} ]] && services_drop_db mysql "$STRATA_TEST_MYSQL_URL"
  [[ -n ${STRATA_TEST_POSTGRES_URL:-} ]] && services_drop_db postgres "$STRATA_TEST_POSTGRES_URL"
  ((CLUSTER_STARTED_PGBOUNCER)) && { scripts/cluster stop pgbouncer >&2 || rc=1; }
  ((CLUSTER_STARTED_GALERA)) && { scripts/cluster stop galera >&2 || rc=1; }
  ((CLUSTER_STARTED_DB)) && { scripts/db stop >&2 || rc=1; }
  exit "$rc"
}

# Starts the servers that do not run yet, noting which, for cluster_cleanup.
cluster_start() {
  scripts/db status >/dev/null 2>&1 || CLUSTER_STARTED_DB=1
  scripts/cluster status galera >/dev/null 2>&1 || CLUSTER_STARTED_GALERA=1
  scripts/cluster status pgbouncer >/dev/null 2>&1 || CLUSTER_STARTED_PGBOUNCER=1
  trap cluster_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  prepare
  scripts/cluster start galera pgbouncer >&2 || die "scripts/cluster start galera pgbouncer failed"
  eval "$(scripts/cluster env galera pgbouncer)"
}

# One measurement: cluster_charges RUN_PREFIX URL... -> "CHARGES_PER_S RETRIES". The
# URLs are entry points of one database, the tasks dealt round-robin over them.
cluster_charges() {
  local prefix=$1 url out rate retries urls=()
  shift
  for url in "$@"; do urls+=(--url "$url"); done
  out=$("$STRATA_BENCH" charges "${urls[@]}" --database "$CHARGE_DB" --run-prefix "$prefix" \
          --charges "$SERVICES_CHARGES" --warmup "$SERVICES_WARMUP" --tasks "$SERVICES_TASKS" \
          --wallets "$SERVICES_WALLETS" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "strata-bench charges failed (a charge that fails fails the measurement)"; }
  rate=$(printf '%s\n' "$out" | rate_of charges/s)
  retries=$(printf '%s\n' "$out" | rate_of retries)
  [[ -n $rate && -n $retries ]] || { printf '%s\n' "$out" >&2; die "no charges/s or retries in strata-bench's output"; }
  printf '%s %s\n' "$rate" "$retries"
}

# Interleaved rounds of a topology and its one-server baseline, then the report line:
# cluster_compare LABEL GOAL BASELINE_NAME "BASELINE_URLS" "TOPOLOGY_URLS" [REFERENCE_NAME
# "REFERENCE_URLS"] (URLs space-separated; every one an entry point of the database
# prepared for it). A reference is measured after both sides in each round and shown.
cluster_compare() {
  local label=$1 goal=$2 base_name=$3 base_urls=$4 topo_urls=$5 ref_name=${6:-} ref_urls=${7:-}
  local s="" f="" x="" s_retries=0 f_retries=0 r side m rate retries order
  for ((r = 1; r <= RUNS; r++)); do
    log "$label: round $r of $RUNS"
    order="baseline topology"
    ((r % 2)) || order="topology baseline"
    for side in $order; do
      if [[ $side == baseline ]]; then
        # shellcheck disable=SC2086 # the URL list splits on purpose
        m=$(cluster_charges "b$r" $base_urls)
        read -r rate retries <<<"$m"
        f+=" $rate" f_retries=$((f_retries + retries))
      else
        # shellcheck disable=SC2086
        m=$(cluster_charges "t$r" $topo_urls)
        read -r rate retries <<<"$m"
        s+=" $rate" s_retries=$((s_retries + retries))
      fi
    done
    if [[ -n $ref_urls ]]; then
      # shellcheck disable=SC2086
      m=$(cluster_charges "x$r" $ref_urls)
      x+=" ${m% *}"
    fi
  done
  report "$label" "$s" "$base_name" "$f" "$goal" charges/s
  [[ -z $ref_urls ]] || report_reference "" "$ref_name" "$x" charges/s
  printf '%-26s   retried attempts in %d timed charges: strata %d | %s %d (no charge failed)\n' \
    "" $((RUNS * SERVICES_CHARGES)) "$s_retries" "$base_name" "$f_retries"
}

# The settings that make the figures comparable, read from the servers.
cluster_mariadb_settings() { # cluster_mariadb_settings URL
  parse_url "$1"
  mariadb --no-defaults --protocol=tcp -h "$URL_HOST" -P "$URL_PORT" -u "$URL_USER" "-p$URL_PASSWORD" -N -B -e \
    "SELECT CONCAT('MariaDB ', VERSION(), ', innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit,
       ', innodb_doublewrite=', @@innodb_doublewrite, ', log_bin=', @@log_bin,
       IF(@@wsrep_on, CONCAT(', wsrep_on, cluster size ',
         (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE'),
         ', wsrep_sync_wait=', @@global.wsrep_sync_wait, ' (1 in Strata''s sessions)'), ''))"
}

cluster_postgres_settings() { # cluster_postgres_settings URL
  parse_url "$1"
  PGPASSWORD=$URL_PASSWORD psql -X -At -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -d postgres -c \
    "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync=' || current_setting('fsync')
       || ', synchronous_commit=' || current_setting('synchronous_commit')
       || ', full_page_writes=' || current_setting('full_page_writes')"
}

cluster_pgbouncer_settings() { # cluster_pgbouncer_settings URL
  parse_url "$1"
  PGPASSWORD=$URL_PASSWORD psql -X -At -F= -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -d pgbouncer -c "SHOW CONFIG" |
    awk -F= '$1 ~ /^(pool_mode|default_pool_size|max_client_conn)$/ { s = s (s ? ", " : "") $1 "=" $2 }
             END { print "PgBouncer, " s }'
}

bench_cluster() {
  cluster_start
  # shellcheck disable=SC2153 # the nodes' URLs come from `scripts/cluster env`
  local t0=$SECONDS galera_urls="$STRATA_GALERA_URL_1 $STRATA_GALERA_URL_2 $STRATA_GALERA_URL_3"
  echo "scripts/bench cluster — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $RUNS runs each, median compared"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes the figures noisy)"
  echo "$SERVICES_CHARGES charges a measurement after $SERVICES_WARMUP untimed, $SERVICES_TASKS tasks, $SERVICES_WALLETS wallets, tasks on the pools' executors"

  services_prepare_db "$STRATA_TEST_MYSQL_URL"
  services_prepare_db "$STRATA_GALERA_URL_1"
  echo
  echo "galera: 8 tasks round-robin over 3 nodes (pools of 3+3+2) vs 8 tasks over a pool of 8 on one server"
  echo "  one server: $(cluster_mariadb_settings "$STRATA_TEST_MYSQL_URL")"
  echo "  3 nodes:    $(cluster_mariadb_settings "$STRATA_GALERA_URL_1")"
  cluster_compare "galera  3 nodes" "$CLUSTER_GALERA_GOAL" "one MariaDB" \
    "$STRATA_TEST_MYSQL_URL" "$galera_urls" \
    "all 8 tasks on node 1 of 3" "$STRATA_GALERA_URL_1"
  services_drop_db mysql "$STRATA_GALERA_URL_1"
  services_drop_db mysql "$STRATA_TEST_MYSQL_URL"

  services_prepare_db "$STRATA_TEST_POSTGRES_URL"
  echo
  echo "pgbouncer: 8 tasks through PgBouncer vs 8 tasks straight to PostgreSQL, one database"
  echo "  server:     $(cluster_postgres_settings "$STRATA_TEST_POSTGRES_URL")"
  echo "  pooler:     $(cluster_pgbouncer_settings "$STRATA_PGBOUNCER_URL") (Strata: statement cache off behind it)"
  cluster_compare "pgbouncer" "$CLUSTER_PGBOUNCER_GOAL" "direct PostgreSQL" \
    "$STRATA_TEST_POSTGRES_URL" "$STRATA_PGBOUNCER_URL" \
    "direct, statement_cache=off" "$STRATA_TEST_POSTGRES_URL?statement_cache=off"
  services_drop_db postgres "$STRATA_TEST_POSTGRES_URL"

  echo
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); measured in $((SECONDS - t0)) s"
}

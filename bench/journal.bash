# bench/journal.bash — `scripts/bench journal`, sourced by scripts/bench.
#
# What recording a statement costs when a migration runs statement by statement (every
# MySQL migration; `-- strata:no-transaction` on PostgreSQL). One migration of N
# single-row INSERTs after a CREATE TABLE, applied by `strata migrate up` on an empty
# database:
#   - MariaDB at 8,001 statements against PostgreSQL at 8,001 (one transaction there),
#     measured in the same run: goal <= 2.0;
#   - MariaDB's time per statement at 8,001 against 2,001: goal <= 1.5, i.e. recording a
#     statement costs the same whatever its index (it used to grow with it);
#   - for reference, the `mariadb` client sending the same file (autocommit, no history).
# The servers are scripts/db's: fsync off, synchronous_commit off, full_page_writes off
# (PostgreSQL); innodb_flush_log_at_trx_commit=0, doublewrite off (MariaDB). Commits are
# therefore cheap here; on a durable server each of Strata's journal commits (one per
# 1,000 row statements, one per DDL statement) costs a flush.

source bench/migrate.bash

JOURNAL_DB=strata_bench_journal

journal_generate() { # journal_generate STATEMENTS -> folder
  local n=$1 dir=$WORK/journal-$1
  if [[ ! -f $dir/.done ]]; then
    rm -rf "$dir"; mkdir -p "$dir"
    python3 - "$n" "$dir" <<'PY'
import sys
n, folder = int(sys.argv[1]), sys.argv[2]
with open(f"{folder}/1_rows.up.sql", "w") as f:
    f.write("CREATE TABLE journal_rows (id INT NOT NULL PRIMARY KEY, note VARCHAR(40) NOT NULL);\n")
    for i in range(n - 1):
        f.write(f"INSERT INTO journal_rows (id, note) VALUES ({i}, 'row {i}');\n")
open(f"{folder}/1_rows.down.sql", "w").write("DROP TABLE journal_rows;\n")
PY
    touch "$dir/.done"
  fi
  printf '%s\n' "$dir"
}

journal_time() { # journal_time BACKEND URL DIR -> seconds of strata migrate up on a new database
  MIGRATE_DB=$JOURNAL_DB migrate_recreate_db "$1" "$2"
  migrate_run_strata "$2" "$3"
}

bench_journal() {
  prepare
  log "building strata (release)"
  swift build -c release --product strata >&2 || die "release build of strata failed"
  STRATA_CLI="$REPO/.build/release/strata"
  local small large pg my url_pg url_my r a b c d
  small=$(journal_generate 2001)
  large=$(journal_generate 8001)
  url_pg=$(with_database "$STRATA_TEST_POSTGRES_URL" "$JOURNAL_DB")
  url_my=$(with_database "$STRATA_TEST_MYSQL_URL" "$JOURNAL_DB")
  echo "scripts/bench journal — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $RUNS runs each, median compared"
  echo "servers: scripts/db (PostgreSQL fsync=off synchronous_commit=off; MariaDB innodb_flush_log_at_trx_commit=0$(mariadb_fsync_note))"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local pg_large="" my_large="" my_small="" client=""
  for ((r = 1; r <= RUNS; r++)); do
    a=$(journal_time postgres "$url_pg" "$large")
    b=$(journal_time mysql "$url_my" "$large")
    c=$(journal_time mysql "$url_my" "$small")
    MIGRATE_DB=$JOURNAL_DB migrate_recreate_db mysql "$url_my"
    d=$(MIGRATE_DB=$JOURNAL_DB migrate_run_floor mysql "$url_my" "$large/1_rows.up.sql")
    pg_large="$pg_large $a" my_large="$my_large $b" my_small="$my_small $c" client="$client $d"
  done
  # shellcheck disable=SC2086 # the run lists split on purpose
  awk -v pg="$(median $pg_large)" -v my="$(median $my_large)" -v sm="$(median $my_small)" -v cl="$(median $client)" \
      -v pgr="$pg_large" -v myr="$my_large" -v smr="$my_small" -v clr="$client" 'BEGIN {
    ratio = int(my / pg * 100) / 100
    printf "8,001 statements: MariaDB %.2f s   floor (PostgreSQL, same file) %.2f s   ratio %.2f (goal <= 2.00)  %s\n",
      my, pg, ratio, ratio <= 2.0 ? "ok" : "MISSED"
    growth = int((my / 8001) / (sm / 2001) * 100) / 100
    printf "MariaDB per statement: %.3f ms at 8,001, %.3f ms at 2,001   ratio %.2f (goal <= 1.50)  %s\n",
      my / 8001 * 1000, sm / 2001 * 1000, growth, growth <= 1.5 ? "ok" : "MISSED"
    printf "reference: the mariadb client, same 8,001 statements, no history: %.2f s (strata %.2f of it)\n", cl, my / cl
    printf "runs (s): PostgreSQL%s | MariaDB 8,001%s | MariaDB 2,001%s | mariadb client%s\n", pgr, myr, smr, clr
  }'
  MIGRATE_DB=$JOURNAL_DB migrate_recreate_db postgres "$url_pg"
  MIGRATE_DB=$JOURNAL_DB migrate_recreate_db mysql "$url_my"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

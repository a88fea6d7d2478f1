# bench/migrate.bash — `scripts/bench migrate`, sourced by scripts/bench.
#
# 1,000 generated trivial migrations (each creates a small table with an index),
# applied by `strata migrate up` on an empty database, on each backend. The floor is
# the same statements plus one history insert per migration (each migration in its own
# transaction on PostgreSQL), sent by psql / mariadb in one session, timed in the same
# run. Also: `strata migrate status` wall time on the 1,000 applied migrations (process
# start included) and its peak memory, and `strata migrate lint` over the same files
# (goal: under 1 s), beside squawk on the PostgreSQL ups when squawk is installed.
# `scripts/bench migrate lint` runs the lint part alone.

MIGRATIONS=${STRATA_BENCH_MIGRATIONS:-1000}
MIGRATE_DB=strata_bench_migrate

# The migration set, in both dialect folders (the SQL is the same on both servers).
migrate_generate() {
  local dir=$WORK/migrate-set i v
  if [[ -f $dir/.count && $(cat "$dir/.count") == "$MIGRATIONS" ]]; then
    printf '%s\n' "$dir"; return
  fi
  rm -rf "$dir"; mkdir -p "$dir/postgres" "$dir/mysql"
  for ((i = 1; i <= MIGRATIONS; i++)); do
    printf -v v '%05d' "$i"
    printf 'CREATE TABLE bench_%s (id BIGINT NOT NULL PRIMARY KEY, v INT NOT NULL);\nCREATE INDEX ix_bench_%s_v ON bench_%s (v);\n' "$v" "$v" "$v" \
      > "$dir/postgres/${v}_bench_${v}.up.sql"
    printf 'DROP TABLE bench_%s;\n' "$v" > "$dir/postgres/${v}_bench_${v}.down.sql"
  done
  cp "$dir"/postgres/* "$dir/mysql/"
  echo "$MIGRATIONS" > "$dir/.count"
  printf '%s\n' "$dir"
}

# The floor's script: the same statements, one history insert each, in one session.
migrate_floor_sql() { # migrate_floor_sql postgres|mysql
  local backend=$1 out=$WORK/migrate-floor-$1.sql i v ts
  ts="2026-01-01 00:00:00.000000"
  {
    echo "CREATE TABLE floor_history (version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, checksum VARCHAR(64) NOT NULL, applied_at TIMESTAMP NOT NULL, execution_ms BIGINT NOT NULL);"
    for ((i = 1; i <= MIGRATIONS; i++)); do
      printf -v v '%05d' "$i"
      [[ $backend == postgres ]] && echo "BEGIN;"
      printf 'CREATE TABLE bench_%s (id BIGINT NOT NULL PRIMARY KEY, v INT NOT NULL);\nCREATE INDEX ix_bench_%s_v ON bench_%s (v);\n' "$v" "$v" "$v"
      printf "INSERT INTO floor_history (version, name, checksum, applied_at, execution_ms) VALUES (%d, 'bench_%s', '%064d', '%s', 1);\n" "$i" "$v" "$i" "$ts"
      [[ $backend == postgres ]] && echo "COMMIT;"
    done
  } > "$out"
  printf '%s\n' "$out"
}

migrate_recreate_db() { # migrate_recreate_db postgres|mysql URL
  parse_url "$2"
  if [[ $1 == postgres ]]; then
    PGPASSWORD=$URL_PASSWORD psql -qX -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -d postgres -v ON_ERROR_STOP=1 \
      -c "DROP DATABASE IF EXISTS $MIGRATE_DB WITH (FORCE)" -c "CREATE DATABASE $MIGRATE_DB" >/dev/null
  else
    mariadb -h "$URL_HOST" -P "$URL_PORT" -u "$URL_USER" -p"$URL_PASSWORD" \
      -e "DROP DATABASE IF EXISTS $MIGRATE_DB; CREATE DATABASE $MIGRATE_DB CHARACTER SET utf8mb4"
  fi
}

migrate_run_floor() { # migrate_run_floor postgres|mysql URL SQLFILE -> seconds
  parse_url "$2"
  local t0 t1
  t0=$(date +%s.%N)
  if [[ $1 == postgres ]]; then
    PGPASSWORD=$URL_PASSWORD psql -qX -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -d "$MIGRATE_DB" \
      -v ON_ERROR_STOP=1 -f "$3" >/dev/null
  else
    mariadb -h "$URL_HOST" -P "$URL_PORT" -u "$URL_USER" -p"$URL_PASSWORD" "$MIGRATE_DB" < "$3"
  fi
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

migrate_run_strata() { # migrate_run_strata URL DIR -> seconds
  local t0 t1
  t0=$(date +%s.%N)
  DATABASE_URL=$1 "$STRATA_CLI" migrate up --migrations "$2" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# `strata migrate status` five times: median wall time (ms) and peak RSS (MB).
migrate_status_figures() { # migrate_status_figures URL DIR
  python3 - "$STRATA_CLI" "$1" "$2" <<'PY'
import os, resource, subprocess, sys, time
cli, url, folder = sys.argv[1:4]
env = dict(os.environ, DATABASE_URL=url)
walls = []
for _ in range(5):
    t0 = time.perf_counter()
    subprocess.run([cli, "migrate", "status", "--migrations", folder], env=env, check=True, stdout=subprocess.DEVNULL)
    walls.append((time.perf_counter() - t0) * 1000)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
walls.sort()
print(f"{walls[2]:.0f} {peak_kb / 1024:.1f} {' '.join(f'{w:.0f}' for w in walls)}")
PY
}

# `strata migrate lint` over the generated set, five times each: both dialects
# (2 × MIGRATIONS migrations) and the PostgreSQL folder alone; squawk on the same
# PostgreSQL up files, if it is on the PATH. Wall times, process start included.
migrate_lint_figures() { # migrate_lint_figures DIR
  python3 - "$STRATA_CLI" "$1" <<'PY'
import glob, shutil, subprocess, sys, time
cli, folder = sys.argv[1:3]
def median_ms(cmd, ok=(0,)):
    walls = []
    for _ in range(5):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append((time.perf_counter() - t0) * 1000)
        if r.returncode not in ok:
            sys.exit(f"{cmd[0]} exited {r.returncode}")
    walls.sort()
    return walls[2], walls
ups = sorted(glob.glob(f"{folder}/postgres/*.up.sql"))
both, runs = median_ms([cli, "migrate", "lint", "--migrations", folder])
pg, _ = median_ms([cli, "migrate", "lint", "--migrations", folder, "--dialect", "postgres"])
print(f"lint      both dialects, {2 * len(ups)} migrations: strata {both:.0f} ms (goal < 1000)  "
      f"{'ok' if both < 1000 else 'MISSED'}   runs: {' '.join(f'{w:.0f}' for w in runs)} ms")
line = f"lint      postgres, {len(ups)} migrations: strata {pg:.0f} ms"
squawk = shutil.which("squawk")
if squawk:
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout.strip()
    # squawk exits 1 when it reports something; that is not a failure here.
    sq, _ = median_ms([squawk, *ups], ok=(0, 1))
    line += f"   {version} on the same {len(ups)} up files: {sq:.0f} ms"
else:
    line += "   squawk: not installed (pip install squawk-cli), not measured"
print(line)
PY
}

bench_migrate() {
  prepare
  log "building strata (release)"
  swift build -c release --product strata >&2 || die "release build of strata failed"
  STRATA_CLI="$REPO/.build/release/strata"
  local dir backend url floor_sql f s fs ss status
  dir=$(migrate_generate)
  if [[ ${1:-} == lint ]]; then
    echo "scripts/bench migrate lint — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $MIGRATIONS migrations a dialect"
    migrate_lint_figures "$dir"
    return
  fi
  echo "scripts/bench migrate — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $MIGRATIONS migrations, $RUNS runs each, median compared"
  for backend in postgres mysql; do
    if [[ $backend == postgres ]]; then url=$(with_database "$STRATA_TEST_POSTGRES_URL" "$MIGRATE_DB")
    else url=$(with_database "$STRATA_TEST_MYSQL_URL" "$MIGRATE_DB"); fi
    floor_sql=$(migrate_floor_sql "$backend")
    fs="" ss=""
    for ((r = 1; r <= RUNS; r++)); do
      migrate_recreate_db "$backend" "$url"
      f=$(migrate_run_floor "$backend" "$url" "$floor_sql")
      migrate_recreate_db "$backend" "$url"
      s=$(migrate_run_strata "$url" "$dir")
      fs="$fs $f" ss="$ss $s"
    done
    status=$(migrate_status_figures "$url" "$dir")
    # shellcheck disable=SC2086
    awk -v b="$backend" -v s="$(median $ss)" -v f="$(median $fs)" -v sr="$ss" -v fr="$fs" -v st="$status" \
        -v tool="$([[ $backend == postgres ]] && echo psql || echo mariadb)" -v n="$MIGRATIONS" 'BEGIN {
      ratio = s / f
      printf "%-9s up %d migrations: strata %.2f s   floor (%s, one session) %.2f s   ratio %.2f (goal <= 1.25)  %s\n",
        b, n, s, tool, f, ratio, ratio <= 1.25 ? "ok" : "MISSED"
      printf "%-9s   runs: strata%s s | floor%s s\n", "", sr, fr
      split(st, x, " ")
      printf "%-9s status on %d applied: %d ms wall (goal < 150)  %s   peak memory %.1f MB (goal < 60)  %s   runs:", b, n, x[1], x[1] < 150 ? "ok" : "MISSED", x[2], x[2] < 60 ? "ok" : "MISSED"
      for (i = 3; i in x; i++) printf " %s", x[i]
      printf " ms\n"
    }'
    migrate_recreate_db "$backend" "$url"
  done
  migrate_lint_figures "$dir"
}

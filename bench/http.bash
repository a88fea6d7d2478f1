# bench/http.bash — `scripts/bench http`, sourced by scripts/bench.
#
# `strata serve` (release build) under wrk, on each backend, against the in-process
# rate of the same work measured in the same run:
#   - POST /billing/charges from 8 connections (wrk, 2 threads) over 100 customers'
#     HS256 tokens (minted here, for a secret made here and never printed), each request
#     with a run id of its own (bench/http.lua): charges/s, p50 and p99 latency, beside
#     `strata-bench charges` (WalletService.charge from 8 tasks over a pool of 8, on the
#     same 100 wallets): goal >= 0.60 of the in-process rate, p99 <= 25 ms;
#   - GET /billing/wallet from the same 8 connections over the same tokens: reads/s,
#     p50 and p99 (no floor).
# Both sides charge in one database, prepared once per backend by `strata-bench charges
# --prepare-only` (migrated, the agent bench_agent at 1 credit a run, customers 100001 …
# 100100 each granted 10^12 credits), in interleaved rounds whose order alternates, so
# both see the same tables growing; each side warms up before its clock starts.
#
# The run is checked, not only timed: any answer but 201 (charges) / 200 (reads), any
# socket error or a request left unanswered fails the bench; after every charge round
# the charge rows of that round's run ids in the ledger must number the 201s, and at
# the end GET /billing/admin/ledger/verify must find every wallet consistent (and
# strata-bench verifies every ledger after each of its rounds).
#
# The server: scripts/db's PostgreSQL / MariaDB (durability off), `strata serve` with
# its defaults (pool of 10 connections shared by requests and workers, 2 webhook
# workers, log level warning: no per-request log line), listening on 127.0.0.1.
#
# Knobs: STRATA_BENCH_RUNS (rounds, default 3), STRATA_BENCH_HTTP_SECONDS (timed seconds
# of a wrk round, default 8), STRATA_BENCH_CHARGES (in-process charges a round, default
# 8000), STRATA_BENCH_HTTP_LOG_LEVEL (strata serve's --log-level, default warning; at
# info the request lines go to a file).

HTTP_SECONDS=${STRATA_BENCH_HTTP_SECONDS:-8}
HTTP_READ_SECONDS=$(((HTTP_SECONDS + 1) / 2))
HTTP_WARMUP_SECONDS=2
HTTP_CONNECTIONS=8
HTTP_THREADS=2
HTTP_CUSTOMERS=100
HTTP_CHARGES=${STRATA_BENCH_CHARGES:-8000}
HTTP_INPROCESS_WARMUP=800
HTTP_TASKS=8
HTTP_DB=strata_bench_http
HTTP_POOL=10            # strata serve's default --max-connections
HTTP_WEBHOOK_WORKERS=2  # strata serve's default --webhook-workers
HTTP_LOG_LEVEL=${STRATA_BENCH_HTTP_LOG_LEVEL:-warning}
HTTP_RATIO_GOAL=0.60
HTTP_P99_GOAL_MS=25

HTTP_SECRETS=""   # a 0700 folder: the tokens file (bearer tokens are credentials)
HTTP_PID=""       # the running strata serve
HTTP_BASE=""      # its http://127.0.0.1:PORT
HTTP_ADMIN_TOKEN=""

# Drops the bench database on the backend of URL (the admin URL, not the bench one).
http_drop_db() { # http_drop_db postgres|mysql URL
  parse_url "$2"
  if [[ $1 == postgres ]]; then
    PGPASSWORD=$URL_PASSWORD psql -qX -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -d postgres \
      -c "DROP DATABASE IF EXISTS $HTTP_DB WITH (FORCE)" >/dev/null 2>&1 || true
  else
    mariadb --no-defaults --protocol=tcp -h "$URL_HOST" -P "$URL_PORT" -u "$URL_USER" "-p$URL_PASSWORD" \
      -e "DROP DATABASE IF EXISTS $HTTP_DB" >/dev/null 2>&1 || true
  fi
}

http_stop_server() {
  if [[ -n $HTTP_PID ]] && kill -0 "$HTTP_PID" 2>/dev/null; then
    kill -TERM "$HTTP_PID" 2>/dev/null || true
    wait "$HTTP_PID" 2>/dev/null || true
  fi
  HTTP_PID=""
}

http_cleanup() {
  http_stop_server
  [[ -n $HTTP_SECRETS ]] && rm -rf "$HTTP_SECRETS"
  http_drop_db postgres "$STRATA_TEST_POSTGRES_URL"
  http_drop_db mysql "$STRATA_TEST_MYSQL_URL"
}

# HS256 tokens for `secret` (read from STRATA_JWT_SECRET), one a line: customers
# 100001 … 1000NN into FILE, and an admin's token on stdout. Made with python3's
# standard library, as an identity provider would make them; valid for an hour.
http_mint_tokens() { # http_mint_tokens CUSTOMERS FILE
  python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, json, os, sys, time
customers, path = int(sys.argv[1]), sys.argv[2]
secret = os.environ["STRATA_JWT_SECRET"].encode()
def b64(raw): return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
def token(claims):
    signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())
exp = int(time.time()) + 3600
with open(path, "w") as f:
    for n in range(1, customers + 1):
        # The customers of `strata-bench charges --prepare-only`: 100000 + n.
        f.write(token({"sub": str(100000 + n), "exp": exp}) + "\n")
print(token({"sub": "bench-admin", "role": "admin", "exp": exp}))
PY
}

# Starts strata serve on the bench database of ADMIN_URL, on a free port; sets
# HTTP_PID, HTTP_BASE and HTTP_ADMIN_TOKEN, and writes the customers' tokens.
http_start_server() { # http_start_server BACKEND ADMIN_URL
  local url out i port jwt_secret webhook_secret
  url=$(with_database "$2" "$HTTP_DB")
  jwt_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  webhook_secret=whsec_$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  out="$WORK/http-serve-$1.out"
  # Emptied here, not by the server's redirection: that happens in the child, after the
  # loop below may already have read the last run's listening line.
  : >"$out"
  DATABASE_URL=$url STRATA_JWT_SECRET=$jwt_secret STRATA_WEBHOOK_SECRET=$webhook_secret \
    "$STRATA_CLI" serve --host 127.0.0.1 --port 0 --max-connections "$HTTP_POOL" \
      --webhook-workers "$HTTP_WEBHOOK_WORKERS" --log-level "$HTTP_LOG_LEVEL" \
      --migrations "$REPO/migrations" >"$out" 2>"$WORK/http-serve-$1.log" &
  HTTP_PID=$!
  for ((i = 0; i < 600; i++)); do
    grep -q 'listening on' "$out" 2>/dev/null && break
    kill -0 "$HTTP_PID" 2>/dev/null || { tail -n 5 "$WORK/http-serve-$1.log" >&2; die "strata serve exited at start"; }
    sleep 0.1
  done
  port=$(sed -nE 's#.*listening on http://[^:]+:([0-9]+)$#\1#p' "$out")
  [[ -n $port ]] || die "strata serve printed no listening line"
  HTTP_BASE="http://127.0.0.1:$port"
  HTTP_ADMIN_TOKEN=$(STRATA_JWT_SECRET=$jwt_secret http_mint_tokens "$HTTP_CUSTOMERS" "$HTTP_SECRETS/tokens")
  local ready
  ready=$(curl -sS -o /dev/null -w '%{http_code}' "$HTTP_BASE/ready") || die "GET /ready failed"
  [[ $ready == 200 ]] || die "GET /ready answered $ready"
}

# The server's CPU time so far, in clock ticks (user + system).
http_server_ticks() { awk '{ print $14 + $15 }' "/proc/$HTTP_PID/stat"; }

# One wrk run: http_wrk MODE PREFIX SECONDS -> the `http-bench …` line, checked: every
# answer the expected status, no socket error, every request answered.
http_wrk() {
  local mode=$1 prefix=$2 seconds=$3 out line
  out=$(wrk -t "$HTTP_THREADS" -c "$HTTP_CONNECTIONS" -d "$((seconds + 3))s" --timeout 5s \
          -s bench/http.lua "$HTTP_BASE" -- "$mode" "$HTTP_SECRETS/tokens" "$prefix" "$seconds" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "wrk ($mode) failed"; }
  line=$(printf '%s\n' "$out" | grep '^http-bench ') \
    || { printf '%s\n' "$out" >&2; die "no http-bench line in wrk's output"; }
  awk -v mode="$mode" '{
    for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
    want = mode == "charge" ? 201 : 200
    if (v["other"] > 0) { printf "bench: error: %s: %d answer(s) not %d (one was %d)\n", mode, v["other"], want, v["other_status"] > "/dev/stderr"; exit 1 }
    if (v["connect"] + v["read"] + v["write"] + v["timeout"] + v["non2xx"] > 0) {
      printf "bench: error: %s: socket errors: connect %d read %d write %d timeout %d, non-2xx %d\n", mode, v["connect"], v["read"], v["write"], v["timeout"], v["non2xx"] > "/dev/stderr"; exit 1 }
    if (v["sent"] != v["answered"] || v["answered"] != v["expected"] || v["expected"] == 0) {
      printf "bench: error: %s: %d requests sent, %d answered, %d as expected\n", mode, v["sent"], v["answered"], v["expected"] > "/dev/stderr"; exit 1 }
  }' <<<"$line" || { printf '%s\n' "$out" >&2; die "wrk ($mode): the answers were not all $([[ $mode == charge ]] && echo 201 || echo 200)"; }
  printf '%s\n' "$line"
}

# A field of an http-bench line: http_field LINE NAME.
http_field() { awk -v name="$2" '{ for (i = 2; i < NF; i += 2) if ($i == name) print $(i + 1) }' <<<"$1"; }

# Charge rows in the ledger whose run id starts with PREFIX-.
http_charge_rows() { # http_charge_rows BACKEND ADMIN_URL PREFIX
  parse_url "$(with_database "$2" "$HTTP_DB")"
  local sql="SELECT count(*) FROM credit_transactions WHERE kind = 'charge' AND run_id LIKE '$3-%'"
  if [[ $1 == postgres ]]; then
    PGPASSWORD=$URL_PASSWORD psql -qXtA -h "$URL_HOST" -p "$URL_PORT" -U "$URL_USER" -d "$HTTP_DB" -c "$sql"
  else
    mariadb --no-defaults --protocol=tcp -h "$URL_HOST" -P "$URL_PORT" -u "$URL_USER" "-p$URL_PASSWORD" \
      -N -B "$HTTP_DB" -e "$sql"
  fi
}

# One timed wrk round of charges, its ledger checked: -> the http-bench line.
http_charge_round() { # http_charge_round BACKEND ADMIN_URL PREFIX SECONDS
  local line rows created
  line=$(http_wrk charge "$3" "$4")
  created=$(http_field "$line" expected)
  rows=$(http_charge_rows "$1" "$2" "$3")
  [[ $rows == "$created" ]] || die "$1: round $3: $created charges answered 201 but $rows charge rows in the ledger"
  printf '%s\n' "$line"
}

# GET /billing/admin/ledger/verify: every wallet consistent -> the number of wallets.
http_verify_ledgers() {
  curl -sS -H "Authorization: Bearer $HTTP_ADMIN_TOKEN" "$HTTP_BASE/billing/admin/ledger/verify" | python3 -c '
import json, sys
body = json.load(sys.stdin)
if body.get("consistent") is not True:
    sys.exit(f"ledger verification failed: {json.dumps(body)[:500]}")
print(body["wallets"])'
}

http_backend() { # http_backend postgres|mysql ADMIN_URL
  local backend=$1 admin=$2 name=${1/mysql/mariadb} r line ticks0 ticks1
  local s="" f="" p50="" p99="" rr="" r50="" r99="" cpu="" checked=0 wallets
  "$STRATA_BENCH" charges --url "$admin" --database "$HTTP_DB" --prepare-only \
    --wallets "$HTTP_CUSTOMERS" --migrations "$REPO/migrations" >&2 || die "cannot prepare $HTTP_DB"
  http_start_server "$backend" "$admin"
  log "$backend: strata serve at $HTTP_BASE; warming up"
  http_charge_round "$backend" "$admin" hw "$HTTP_WARMUP_SECONDS" >/dev/null
  http_wrk wallet hw "$HTTP_WARMUP_SECONDS" >/dev/null
  for ((r = 1; r <= RUNS; r++)); do
    log "$backend: round $r of $RUNS"
    if ((r % 2)); then
      f+=" $(strata_inprocess_charges "$admin" "s$r")"
    fi
    ticks0=$(http_server_ticks)
    line=$(http_charge_round "$backend" "$admin" "h$r" "$HTTP_SECONDS")
    ticks1=$(http_server_ticks)
    if ! ((r % 2)); then
      f+=" $(strata_inprocess_charges "$admin" "s$r")"
    fi
    s+=" $(http_field "$line" rate)"
    p50+=" $(http_field "$line" p50_us)"
    p99+=" $(http_field "$line" p99_us)"
    checked=$((checked + $(http_field "$line" expected)))
    cpu+=" $(awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" -v n="$(http_field "$line" expected)" \
              'BEGIN { printf "%.0f", t / hz * 1e6 / n }')"
    line=$(http_wrk wallet "w$r" "$HTTP_READ_SECONDS")
    rr+=" $(http_field "$line" rate)"
    r50+=" $(http_field "$line" p50_us)"
    r99+=" $(http_field "$line" p99_us)"
  done
  wallets=$(http_verify_ledgers) || die "$backend: the ledgers do not verify after the run"
  http_stop_server
  http_drop_db "$backend" "$admin"
  echo
  echo "$name: POST /billing/charges, wrk -t$HTTP_THREADS -c$HTTP_CONNECTIONS over $HTTP_CUSTOMERS customers' tokens, ${HTTP_SECONDS} s a round;" \
    "in-process: $HTTP_CHARGES WalletService.charge calls, $HTTP_TASKS tasks over a pool of $HTTP_TASKS on the same $HTTP_CUSTOMERS wallets"
  report "$name  HTTP charges" "$s" "in-process WalletService.charge" "$f" "$HTTP_RATIO_GOAL" charges/s
  # shellcheck disable=SC2086 # the run lists split on purpose
  awk -v label="$name  HTTP charges" -v p50="$(median $p50)" -v p99="$(median $p99)" -v r50="$p50" -v r99="$p99" \
      -v goal="$HTTP_P99_GOAL_MS" -v cpu="$(median $cpu)" 'BEGIN {
    verdict = p99 / 1000 <= goal ? "ok" : "MISSED"
    n = split(r99, a, " "); l99 = ""; for (i = 1; i <= n; i++) l99 = l99 sprintf(" %.1f", a[i] / 1000)
    n = split(r50, b, " "); l50 = ""; for (i = 1; i <= n; i++) l50 = l50 sprintf(" %.2f", b[i] / 1000)
    printf "%-26s latency p50 %.2f ms   p99 %.1f ms (goal <= %d ms)  %s   server CPU %.0f us a charge\n",
      label, p50 / 1000, p99 / 1000, goal, verdict, cpu
    printf "%-26s   runs: p50%s | p99%s ms\n", "", l50, l99
  }'
  # shellcheck disable=SC2086
  awk -v label="$name  HTTP wallet reads" -v m="$(median $rr)" -v p50="$(median $r50)" -v p99="$(median $r99)" -v r="$rr" \
      -v secs="$HTTP_READ_SECONDS" 'BEGIN {
    n = split(r, a, " "); line = ""; for (i = 1; i <= n; i++) line = line sprintf(" %.0f", a[i])
    printf "%-26s strata %8.0f reads/s   p50 %.2f ms   p99 %.1f ms   (GET /billing/wallet, %d s a round; no floor)   runs:%s\n",
      label, m, p50 / 1000, p99 / 1000, secs, line
  }'
  echo "checks: every answer 201 / 200, no socket error, none unanswered; the ledger holds one charge row per 201 in every round ($checked timed); GET /billing/admin/ledger/verify: $wallets wallets consistent"
}

strata_inprocess_charges() { # strata_inprocess_charges ADMIN_URL RUN_PREFIX -> charges/s
  local out figure
  out=$("$STRATA_BENCH" charges --url "$1" --database "$HTTP_DB" --run-prefix "$2" \
          --charges "$HTTP_CHARGES" --warmup "$HTTP_INPROCESS_WARMUP" --tasks "$HTTP_TASKS" \
          --wallets "$HTTP_CUSTOMERS" 2>&1) || { printf '%s\n' "$out" >&2; die "strata-bench charges failed"; }
  figure=$(printf '%s\n' "$out" | rate_of charges/s)
  [[ -n $figure ]] || { printf '%s\n' "$out" >&2; die "no charges/s in strata-bench's output"; }
  printf '%s\n' "$figure"
}

bench_http() {
  prepare
  command -v wrk >/dev/null || die "wrk is not installed (scripts/setup installs it)"
  log "building strata (release)"
  swift build -c release --scratch-path "$SCRATCH" --product strata >&2 || die "release build of strata failed"
  STRATA_CLI="$SCRATCH/release/strata"
  HTTP_SECRETS=$(mktemp -d)
  chmod 0700 "$HTTP_SECRETS"
  trap http_cleanup EXIT
  local t0=$SECONDS
  echo "scripts/bench http — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $RUNS runs each, median compared"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes the figures noisy)"
  echo "servers: scripts/db (PostgreSQL 15 fsync=off synchronous_commit=off full_page_writes=off;" \
    "MariaDB 10.11 innodb_flush_log_at_trx_commit=0 innodb_doublewrite=0, no binary log$(mariadb_fsync_note))"
  echo "strata serve (release): 127.0.0.1, pool of $HTTP_POOL connections (--max-connections), $HTTP_WEBHOOK_WORKERS webhook workers," \
    "log level $HTTP_LOG_LEVEL$([[ $HTTP_LOG_LEVEL == warning ]] && echo ' (no per-request line)'), HS256 tokens; $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)"
  http_backend postgres "$STRATA_TEST_POSTGRES_URL"
  http_backend mysql "$STRATA_TEST_MYSQL_URL"
  echo
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); measured in $((SECONDS - t0)) s"
}

/*
 * mysql_charge_floor: the floor of `scripts/bench services` on MariaDB, the fastest a
 * client can send WalletService.charge's transaction through libmariadb with nothing
 * on top.
 *
 *   mysql_charge_floor HOST PORT USER PASSWORD DATABASE THREADS CHARGES WALLETS WARMUP PREFIX
 *
 * One connection per thread, set up as Strata's driver sets up its sessions (the same
 * SET NAMES / time_zone / sql_mode statement, READ COMMITTED). Each thread prepares
 * Strata's four statements once, with Strata's exact text, then runs CHARGES / THREADS
 * charges of random wallets (customers 100001 … 100000 + WALLETS, as
 * `strata-bench charges` seeds them), each in Strata's transaction shape:
 *
 *   BEGIN                                       text protocol, as Database.transaction
 *   SELECT … FOR UPDATE (+ agent cost, active, earlier charge of the run)   4 binds
 *   UPDATE credit_wallets … WHERE id = ? AND balance + ? >= 0               4 binds
 *   INSERT INTO credit_transactions …  (then mysql_stmt_insert_id)         14 binds
 *   INSERT INTO billing_audit …        (details: the same JSON, sorted keys) 7 binds
 *   COMMIT
 *
 * with the same bind types (strings, BIGINTs, DATETIME(6) of the current UTC time,
 * NULLs) and the same checks between statements (replay, agent active, balance, the
 * update's row count). Run ids are PREFIX-THREAD-I, the shape of Strata's. A deadlock
 * or lock wait timeout rolls back and runs the charge again, as Database.transaction
 * would. WARMUP / THREADS untimed charges per thread (run ids PREFIXw-…) come before the
 * clock starts; the clock runs from the moment every thread is ready until the last
 * one is done.
 *
 * Prints: mysql charge floor: N charges, T thread(s), S s, charges/s Q
 *
 * Build: gcc -O2 -o mysql_charge_floor mysql_charge_floor.c $(pkg-config --cflags --libs libmariadb) -lpthread
 */
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *host, *user, *password, *database, *prefix;
static unsigned int port;
static long per_thread, warmup_per_thread, wallets;
static pthread_barrier_t ready, go;

/* Strata's session setup (MySQLConnection.sessionSetup). */
static const char *session_setup[] = {
    "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci, time_zone = '+00:00', "
    "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY'",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
};

/* The statements exactly as Strata renders them (WalletLedger.lockForCharge, .append,
 * AuditLog.record), as MariaDB's general log shows them. */
static const char *lock_sql =
    "SELECT w.id, w.customer_id, w.balance, w.version, w.last_sequence, "
    "e.id AS earlier_id, e.wallet_id AS earlier_wallet_id, e.sequence AS earlier_sequence, e.kind AS earlier_kind, "
    "e.amount AS earlier_amount, e.balance_after AS earlier_balance_after, e.agent_key AS earlier_agent_key, e.cost_per_run AS earlier_cost_per_run, "
    "e.run_id AS earlier_run_id, e.idempotency_key AS earlier_idempotency_key, e.external_reference AS earlier_external_reference, e.refunded_transaction_id AS earlier_refunded_transaction_id, "
    "e.actor AS earlier_actor, e.reason AS earlier_reason, e.created_at AS earlier_created_at, "
    "(SELECT a.credits_per_run FROM agent_costs a WHERE a.agent_key = ? AND a.active) AS agent_cost\n"
    "FROM credit_wallets w\n"
    "LEFT JOIN credit_transactions e ON e.wallet_id = w.id AND e.run_id = ? AND e.kind = 'charge'\n"
    "WHERE w.customer_id = (SELECT c.id FROM customers c WHERE c.external_id = ?)\n"
    "FOR UPDATE";
static const char *update_sql =
    "UPDATE credit_wallets\n"
    "SET balance = balance + ?, version = version + 1, last_sequence = last_sequence + 1,\n"
    "    updated_at = ?\n"
    "WHERE id = ? AND balance + ? >= 0";
static const char *ledger_sql =
    "INSERT INTO credit_transactions\n"
    "    (wallet_id, sequence, kind, amount, balance_after, agent_key, cost_per_run, run_id, idempotency_key,\n"
    "     external_reference, refunded_transaction_id, actor, reason, created_at)\n"
    "VALUES (?, ?, ?, ?, ?,\n"
    "        ?, ?, ?, ?,\n"
    "        ?, ?, ?, ?, ?)";
static const char *audit_sql =
    "INSERT INTO billing_audit (occurred_at, actor, action, subject_type, subject_id, request_id, details)\n"
    "VALUES (?, ?, ?, ?, ?, ?, ?)";

static const char *agent_key = "bench_agent";
static const char *actor = "bench:charges";

struct worker {
    pthread_t thread;
    int index;
    long retries;
    int failed;
};

/* A thread's connection, statements and the buffers their binds point into. */
struct charger {
    MYSQL *conn;
    MYSQL_STMT *lock, *update, *ledger, *audit;
    /* inputs */
    char customer[32], run_id[96], details[512];
    unsigned long customer_len, run_len, details_len, agent_len, actor_len, kind_len, action_len, subject_len;
    MYSQL_TIME now;
    long long amount, wallet_id, sequence, balance_after, cost;
    /* lock's result */
    long long r_id, r_customer_id, r_balance, r_version, r_last_sequence, r_cost;
    /* the earlier charge's 15 columns, read as text (NULL when the run is new) */
    char r_earlier[15][64];
    unsigned long r_earlier_len[15];
    my_bool r_null[21];
    MYSQL_BIND lock_params[3], lock_result[21], update_params[4], ledger_params[14], audit_params[7];
};

enum { CHARGE_OK = 0, CHARGE_RETRY = 1, CHARGE_FAILED = -1 };

/* splitmix64: no syscall and no shared state per draw */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int retryable(unsigned int err) { return err == ER_LOCK_DEADLOCK || err == ER_LOCK_WAIT_TIMEOUT; }

static int fail_stmt(struct charger *c, MYSQL_STMT *stmt, const char *what) {
    unsigned int err = mysql_stmt_errno(stmt);
    if (retryable(err)) return CHARGE_RETRY;
    fprintf(stderr, "mysql_charge_floor: %s: %s\n", what, mysql_stmt_error(stmt));
    (void)c;
    return CHARGE_FAILED;
}

static int fail_conn(MYSQL *conn, const char *what) {
    if (retryable(mysql_errno(conn))) return CHARGE_RETRY;
    fprintf(stderr, "mysql_charge_floor: %s: %s\n", what, mysql_error(conn));
    return CHARGE_FAILED;
}

static void bind_string(MYSQL_BIND *b, const char *s, unsigned long *length) {
    *length = (unsigned long)strlen(s);
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = (void *)s;
    b->buffer_length = *length;
    b->length = length;
}

static void bind_longlong(MYSQL_BIND *b, long long *v) {
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = v;
    b->buffer_length = sizeof *v;
}

static void bind_time(MYSQL_BIND *b, MYSQL_TIME *t) {
    b->buffer_type = MYSQL_TYPE_DATETIME;
    b->buffer = t;
    b->buffer_length = sizeof *t;
}

static void bind_null(MYSQL_BIND *b) { b->buffer_type = MYSQL_TYPE_NULL; }

/* Points every bind at the charger's buffers, once: only their contents change. */
static void bind_all(struct charger *c) {
    static const char *kind = "charge", *action = "wallet.charge", *subject = "wallet";
    memset(c->lock_params, 0, sizeof c->lock_params);
    bind_string(&c->lock_params[0], agent_key, &c->agent_len);
    c->lock_params[1].buffer_type = MYSQL_TYPE_STRING;
    c->lock_params[1].buffer = c->run_id;
    c->lock_params[1].length = &c->run_len;
    c->lock_params[2].buffer_type = MYSQL_TYPE_STRING;
    c->lock_params[2].buffer = c->customer;
    c->lock_params[2].length = &c->customer_len;

    long long *results[5] = {&c->r_id, &c->r_customer_id, &c->r_balance, &c->r_version, &c->r_last_sequence};
    memset(c->lock_result, 0, sizeof c->lock_result);
    for (int i = 0; i < 5; i++) {
        bind_longlong(&c->lock_result[i], results[i]);
        c->lock_result[i].is_null = &c->r_null[i];
    }
    for (int i = 0; i < 15; i++) {
        MYSQL_BIND *b = &c->lock_result[5 + i];
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = c->r_earlier[i];
        b->buffer_length = sizeof c->r_earlier[i];
        b->length = &c->r_earlier_len[i];
        b->is_null = &c->r_null[5 + i];
    }
    bind_longlong(&c->lock_result[20], &c->r_cost);
    c->lock_result[20].is_null = &c->r_null[20];

    memset(c->update_params, 0, sizeof c->update_params);
    bind_longlong(&c->update_params[0], &c->amount);
    bind_time(&c->update_params[1], &c->now);
    bind_longlong(&c->update_params[2], &c->wallet_id);
    bind_longlong(&c->update_params[3], &c->amount);

    MYSQL_BIND *l = c->ledger_params;
    memset(l, 0, sizeof c->ledger_params);
    bind_longlong(&l[0], &c->wallet_id);
    bind_longlong(&l[1], &c->sequence);
    bind_string(&l[2], kind, &c->kind_len);
    bind_longlong(&l[3], &c->amount);
    bind_longlong(&l[4], &c->balance_after);
    bind_string(&l[5], agent_key, &c->agent_len);
    bind_longlong(&l[6], &c->cost);
    l[7] = c->lock_params[1]; /* the run id */
    bind_null(&l[8]);  /* idempotency_key */
    bind_null(&l[9]);  /* external_reference */
    bind_null(&l[10]); /* refunded_transaction_id */
    bind_string(&l[11], actor, &c->actor_len);
    bind_null(&l[12]); /* reason */
    bind_time(&l[13], &c->now);

    MYSQL_BIND *a = c->audit_params;
    memset(a, 0, sizeof c->audit_params);
    bind_time(&a[0], &c->now);
    bind_string(&a[1], actor, &c->actor_len);
    bind_string(&a[2], action, &c->action_len);
    bind_string(&a[3], subject, &c->subject_len);
    a[4] = c->lock_params[2]; /* the customer */
    bind_null(&a[5]);         /* request_id */
    a[6].buffer_type = MYSQL_TYPE_STRING;
    a[6].buffer = c->details;
    a[6].length = &c->details_len;
}

/* The current time in UTC to the microsecond, as Strata's SystemClock gives it. */
static void utc_now(MYSQL_TIME *t) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    memset(t, 0, sizeof *t);
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)(ts.tv_nsec / 1000);
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

/* One charge's transaction, the run id and customer already in place. */
static int charge_once(struct charger *c) {
    utc_now(&c->now);
    if (mysql_real_query(c->conn, "BEGIN", 5)) return fail_conn(c->conn, "BEGIN");

    if (mysql_stmt_bind_param(c->lock, c->lock_params) || mysql_stmt_execute(c->lock))
        return fail_stmt(c, c->lock, "lock");
    if (mysql_stmt_store_result(c->lock)) return fail_stmt(c, c->lock, "lock store_result");
    if (mysql_stmt_bind_result(c->lock, c->lock_result)) return fail_stmt(c, c->lock, "lock bind_result");
    int rc = mysql_stmt_fetch(c->lock);
    if (rc == MYSQL_NO_DATA) {
        fprintf(stderr, "mysql_charge_floor: no wallet for customer %s: was the database seeded?\n", c->customer);
        return CHARGE_FAILED;
    }
    if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) return fail_stmt(c, c->lock, "lock fetch");
    while (mysql_stmt_fetch(c->lock) == 0) {}
    mysql_stmt_free_result(c->lock);
    if (!c->r_null[5]) {
        fprintf(stderr, "mysql_charge_floor: run %s was already charged: reuse of a PREFIX?\n", c->run_id);
        return CHARGE_FAILED;
    }
    if (c->r_null[20]) {
        fprintf(stderr, "mysql_charge_floor: agent %s missing or inactive\n", agent_key);
        return CHARGE_FAILED;
    }

    c->cost = c->r_cost;
    c->amount = -c->r_cost;
    c->wallet_id = c->r_id;
    if (mysql_stmt_bind_param(c->update, c->update_params) || mysql_stmt_execute(c->update))
        return fail_stmt(c, c->update, "update");
    if (mysql_stmt_affected_rows(c->update) != 1) {
        fprintf(stderr, "mysql_charge_floor: the conditional update changed no row\n");
        return CHARGE_FAILED;
    }

    c->sequence = c->r_last_sequence + 1;
    c->balance_after = c->r_balance + c->amount;
    if (mysql_stmt_bind_param(c->ledger, c->ledger_params) || mysql_stmt_execute(c->ledger))
        return fail_stmt(c, c->ledger, "ledger insert");
    long long transaction_id = (long long)mysql_stmt_insert_id(c->ledger);

    int n = snprintf(c->details, sizeof c->details,
                     "{\"agent_key\":\"%s\",\"amount\":%lld,\"balance_after\":%lld,\"cost_per_run\":%lld,"
                     "\"kind\":\"charge\",\"run_id\":\"%s\",\"sequence\":%lld,\"transaction_id\":%lld,\"wallet_id\":%lld}",
                     agent_key, c->amount, c->balance_after, c->cost, c->run_id, c->sequence, transaction_id, c->wallet_id);
    c->details_len = (unsigned long)n;
    if (mysql_stmt_bind_param(c->audit, c->audit_params) || mysql_stmt_execute(c->audit))
        return fail_stmt(c, c->audit, "audit insert");

    if (mysql_real_query(c->conn, "COMMIT", 6)) return fail_conn(c->conn, "COMMIT");
    return CHARGE_OK;
}

/* `count` charges with run ids RUNPREFIX-THREAD-I; returns the retries, or -1. */
static long run_charges(struct charger *c, long count, const char *run_prefix, int thread, uint64_t *seed) {
    long retries = 0;
    for (long i = 0; i < count; i++) {
        long wallet = (long)(next_random(seed) % (uint64_t)wallets) + 1;
        c->customer_len = (unsigned long)snprintf(c->customer, sizeof c->customer, "%ld", 100000 + wallet);
        c->run_len = (unsigned long)snprintf(c->run_id, sizeof c->run_id, "%s-%d-%ld", run_prefix, thread, i);
        int rc;
        while ((rc = charge_once(c)) == CHARGE_RETRY) {
            mysql_real_query(c->conn, "ROLLBACK", 8);
            if (++retries > 1000) {
                fprintf(stderr, "mysql_charge_floor: more than 1000 deadlocks in one thread\n");
                return -1;
            }
        }
        if (rc != CHARGE_OK) {
            mysql_real_query(c->conn, "ROLLBACK", 8);
            return -1;
        }
    }
    return retries;
}

static MYSQL_STMT *prepare(MYSQL *conn, const char *sql) {
    MYSQL_STMT *stmt = mysql_stmt_init(conn);
    if (!stmt) {
        fprintf(stderr, "mysql_charge_floor: stmt_init: %s\n", mysql_error(conn));
        return NULL;
    }
    if (mysql_stmt_prepare(stmt, sql, strlen(sql))) {
        fprintf(stderr, "mysql_charge_floor: prepare: %s\n", mysql_stmt_error(stmt));
        mysql_stmt_close(stmt);
        return NULL;
    }
    return stmt;
}

static int open_charger(struct charger *c) {
    memset(c, 0, sizeof *c);
    if (!(c->conn = mysql_init(NULL))) {
        fprintf(stderr, "mysql_charge_floor: out of memory\n");
        return -1;
    }
    if (!mysql_real_connect(c->conn, host, user, password, database, port, NULL, 0)) {
        fprintf(stderr, "mysql_charge_floor: connect: %s\n", mysql_error(c->conn));
        return -1;
    }
    for (size_t i = 0; i < sizeof session_setup / sizeof *session_setup; i++) {
        if (mysql_query(c->conn, session_setup[i])) {
            fprintf(stderr, "mysql_charge_floor: session setup: %s\n", mysql_error(c->conn));
            return -1;
        }
    }
    if (!(c->lock = prepare(c->conn, lock_sql)) || !(c->update = prepare(c->conn, update_sql)) ||
        !(c->ledger = prepare(c->conn, ledger_sql)) || !(c->audit = prepare(c->conn, audit_sql)))
        return -1;
    bind_all(c);
    return 0;
}

static void close_charger(struct charger *c) {
    MYSQL_STMT *stmts[4] = {c->lock, c->update, c->ledger, c->audit};
    for (int i = 0; i < 4; i++)
        if (stmts[i]) mysql_stmt_close(stmts[i]);
    if (c->conn) mysql_close(c->conn);
}

static void *work(void *arg) {
    struct worker *w = arg;
    struct charger *c = malloc(sizeof *c);
    uint64_t seed = 0xC4A26E00ULL + (uint64_t)w->index;
    char warmup_prefix[80];
    snprintf(warmup_prefix, sizeof warmup_prefix, "%sw", prefix);
    int setup_ok = c && open_charger(c) == 0 && run_charges(c, warmup_per_thread, warmup_prefix, w->index, &seed) >= 0;
    /* Everybody meets at the barriers, even after a failure, so nobody waits forever. */
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&go);
    if (setup_ok) {
        long retries = run_charges(c, per_thread, prefix, w->index, &seed);
        if (retries < 0) w->failed = 1;
        else w->retries = retries;
    } else {
        w->failed = 1;
    }
    if (c) {
        close_charger(c);
        free(c);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr, "usage: mysql_charge_floor HOST PORT USER PASSWORD DATABASE THREADS CHARGES WALLETS WARMUP PREFIX\n");
        return 2;
    }
    host = argv[1];
    port = (unsigned int)atoi(argv[2]);
    user = argv[3];
    password = argv[4];
    database = argv[5];
    int threads = atoi(argv[6]);
    long charges = atol(argv[7]);
    wallets = atol(argv[8]);
    long warmup = atol(argv[9]);
    prefix = argv[10];
    if (threads < 1 || charges < threads || charges % threads != 0 || wallets < 1 || warmup < 0 ||
        warmup % threads != 0 || strlen(prefix) < 1 || strlen(prefix) > 64) {
        fprintf(stderr, "mysql_charge_floor: THREADS >= 1, CHARGES and WARMUP multiples of THREADS, WALLETS >= 1, PREFIX 1 to 64 characters\n");
        return 2;
    }
    per_thread = charges / threads;
    warmup_per_thread = warmup / threads;

    if (mysql_server_init(0, NULL, NULL)) {
        fprintf(stderr, "mysql_charge_floor: cannot initialise libmariadb\n");
        return 1;
    }
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        workers[i].index = i;
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i])) {
            fprintf(stderr, "mysql_charge_floor: cannot start thread %d\n", i);
            return 1;
        }
    }
    struct timespec started, ended;
    pthread_barrier_wait(&ready);
    clock_gettime(CLOCK_MONOTONIC, &started);
    pthread_barrier_wait(&go);

    long retries = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
        retries += workers[i].retries;
        failed |= workers[i].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &ended);
    double seconds = (double)(ended.tv_sec - started.tv_sec) + (double)(ended.tv_nsec - started.tv_nsec) / 1e9;

    free(workers);
    mysql_server_end();
    if (failed) return 1;
    printf("mysql charge floor: %ld charges, %d thread(s), %ld deadlock retries, %.3f s, charges/s %.1f\n",
           charges, threads, retries, seconds, (double)charges / seconds);
    return 0;
}

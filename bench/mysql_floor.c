/*
 * mysql_floor: the floor of `scripts/bench driver` on MariaDB, the fastest a client
 * can do the driver benchmark's work through libmariadb with nothing on top.
 *
 *   mysql_floor HOST PORT USER PASSWORD DATABASE THREADS QUERIES [ROWS] [WARMUP]
 *
 * One connection per thread; each prepares
 *   SELECT abalance FROM bench_accounts WHERE aid = ?
 * once, then executes it QUERIES / THREADS times with a random aid in 1..ROWS,
 * binding the parameter and fetching the one row into a bound result, as the Swift
 * driver does with its cached prepared statement. Connecting, preparing and WARMUP
 * untimed executions happen before the clock starts (like pgbench's "without initial
 * connection time"); the clock runs from the moment every thread is ready until the
 * last one is done.
 *
 * Prints: mysql floor: N queries, T thread(s), S s, qps Q
 *
 * Build: gcc -O2 -o mysql_floor mysql_floor.c $(pkg-config --cflags --libs libmariadb) -lpthread
 */
#include <mysql.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *host, *user, *password, *database;
static unsigned int port;
static long per_thread, rows, warmup;
static pthread_barrier_t ready, go;
static struct timespec started;

static const char *sql = "SELECT abalance FROM bench_accounts WHERE aid = ?";

struct worker {
    pthread_t thread;
    int index;
    long missing;
    int failed;
};

/* splitmix64: no syscall and no shared state per draw */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int fail_stmt(MYSQL_STMT *stmt, const char *what) {
    fprintf(stderr, "mysql_floor: %s: %s\n", what, mysql_stmt_error(stmt));
    return -1;
}

/* Executes the statement `count` times; returns -1 on an error, else the misses. */
static long run_queries(MYSQL_STMT *stmt, long count, uint64_t *seed) {
    long missing = 0;
    int aid = 0, balance = 0;
    my_bool balance_null = 0;
    unsigned long balance_length = 0;
    MYSQL_BIND param, result;
    memset(&param, 0, sizeof param);
    param.buffer_type = MYSQL_TYPE_LONG;
    param.buffer = &aid;
    memset(&result, 0, sizeof result);
    result.buffer_type = MYSQL_TYPE_LONG;
    result.buffer = &balance;
    result.is_null = &balance_null;
    result.length = &balance_length;

    /* The buffers stay put, so binding once is enough: only `aid` changes. */
    if (mysql_stmt_bind_param(stmt, &param)) return fail_stmt(stmt, "bind_param");
    if (mysql_stmt_bind_result(stmt, &result)) return fail_stmt(stmt, "bind_result");
    for (long i = 0; i < count; i++) {
        aid = (int)(next_random(seed) % (uint64_t)rows) + 1;
        if (mysql_stmt_execute(stmt)) return fail_stmt(stmt, "execute");
        if (mysql_stmt_store_result(stmt)) return fail_stmt(stmt, "store_result");
        int rc = mysql_stmt_fetch(stmt);
        if (rc == MYSQL_NO_DATA) missing++;
        else if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) return fail_stmt(stmt, "fetch");
        while (mysql_stmt_fetch(stmt) == 0) {}
        mysql_stmt_free_result(stmt);
    }
    return missing;
}

static void *work(void *arg) {
    struct worker *w = arg;
    MYSQL *conn = mysql_init(NULL);
    MYSQL_STMT *stmt = NULL;
    uint64_t seed = 0x5EED0000ULL + (uint64_t)w->index;
    long missing;
    int setup_ok = 0;

    if (!conn || !mysql_real_connect(conn, host, user, password, database, port, NULL, 0)) {
        fprintf(stderr, "mysql_floor: connect: %s\n", conn ? mysql_error(conn) : "out of memory");
    } else if (!(stmt = mysql_stmt_init(conn)) || mysql_stmt_prepare(stmt, sql, strlen(sql))) {
        fprintf(stderr, "mysql_floor: prepare: %s\n", stmt ? mysql_stmt_error(stmt) : mysql_error(conn));
    } else if (run_queries(stmt, warmup, &seed) >= 0) {
        setup_ok = 1;
    }
    /* Everybody meets at the barriers, even after a failure, so nobody waits forever. */
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&go);
    if (setup_ok) {
        missing = run_queries(stmt, per_thread, &seed);
        if (missing < 0) w->failed = 1;
        else w->missing = missing;
    } else {
        w->failed = 1;
    }
    if (stmt) mysql_stmt_close(stmt);
    if (conn) mysql_close(conn);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: mysql_floor HOST PORT USER PASSWORD DATABASE THREADS QUERIES [ROWS] [WARMUP]\n");
        return 2;
    }
    host = argv[1];
    port = (unsigned int)atoi(argv[2]);
    user = argv[3];
    password = argv[4];
    database = argv[5];
    int threads = atoi(argv[6]);
    long queries = atol(argv[7]);
    rows = argc > 8 ? atol(argv[8]) : 100000;
    warmup = argc > 9 ? atol(argv[9]) : 200;
    if (threads < 1 || queries < threads || queries % threads != 0 || rows < 1 || warmup < 0) {
        fprintf(stderr, "mysql_floor: THREADS >= 1, QUERIES a multiple of THREADS, ROWS >= 1, WARMUP >= 0\n");
        return 2;
    }
    per_thread = queries / threads;

    if (mysql_server_init(0, NULL, NULL)) {
        fprintf(stderr, "mysql_floor: cannot initialise libmariadb\n");
        return 1;
    }
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        workers[i].index = i;
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i])) {
            fprintf(stderr, "mysql_floor: cannot start thread %d\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&ready);
    clock_gettime(CLOCK_MONOTONIC, &started);
    pthread_barrier_wait(&go);

    long missing = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
        missing += workers[i].missing;
        failed |= workers[i].failed;
    }
    struct timespec ended;
    clock_gettime(CLOCK_MONOTONIC, &ended);
    double seconds = (double)(ended.tv_sec - started.tv_sec) + (double)(ended.tv_nsec - started.tv_nsec) / 1e9;

    free(workers);
    mysql_server_end();
    if (failed) return 1;
    if (missing) {
        fprintf(stderr, "mysql_floor: %ld of %ld keys had no row: is bench_accounts filled with 1..%ld?\n",
                missing, queries, rows);
        return 1;
    }
    printf("mysql floor: %ld queries, %d thread(s), %.3f s, qps %.1f\n", queries, threads, seconds,
           (double)queries / seconds);
    return 0;
}

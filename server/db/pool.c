/* Connection pools (primary, and an optional read replica), one PGconn per checked-out
 * session. A session that saw a connection failure is closed when it is returned and opened
 * afresh, with every statement prepared again, by the next request that takes it: that is
 * the whole recovery story after a PostgreSQL restart or failover. */
#include "db/db.h"
#include "config.h"
#include "log.h"
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACQUIRE_TIMEOUT_S 3

struct db_pool;

struct db_session {
    PGconn *conn;
    struct db_pool *pool;
    long epoch; /* the pool's epoch when this connection was opened */
    int tx_depth;
    bool broken;
    char sqlstate[6];
    char constraint[64];
};

struct db_pool {
    const char *conninfo;
    struct db_session *sessions;
    struct db_session **free_list;
    int size, nfree;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Bumped whenever a connection is found dead: a restart or failover kills them all, so
     * every connection opened before it is replaced before use instead of failing a request
     * of its own. */
    atomic_long epoch;
};

struct db_rows {
    PGresult *res;
    struct db_rows *next;
};

struct db_result_list {
    struct db_rows *head;
};

static struct db_pool primary, replica;
static bool have_replica;
static const struct db_stmt *const *stmt_tables;
static atomic_long pool_waits, connect_failures;

static int pool_init(struct db_pool *p, const char *conninfo, int size)
{
    p->conninfo = conninfo;
    p->size = size;
    p->sessions = calloc((size_t)size, sizeof(*p->sessions));
    p->free_list = calloc((size_t)size, sizeof(struct db_session *));
    if (!p->sessions || !p->free_list)
        return -1;
    for (int i = 0; i < size; i++) {
        p->sessions[i].pool = p;
        p->free_list[i] = &p->sessions[i];
    }
    p->nfree = size;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    return 0;
}

int db_init(const struct db_stmt *const *tables)
{
    stmt_tables = tables;
    if (pool_init(&primary, cfg->database_url, cfg->db_pool) < 0)
        return -1;
    if (cfg->read_database_url) {
        if (pool_init(&replica, cfg->read_database_url, cfg->db_pool) < 0)
            return -1;
        have_replica = true;
    }
    return 0;
}

static void pool_close(struct db_pool *p)
{
    for (int i = 0; i < p->size; i++)
        if (p->sessions[i].conn)
            PQfinish(p->sessions[i].conn);
    free(p->sessions);
    free(p->free_list);
    p->sessions = NULL;
    p->free_list = NULL;
}

void db_shutdown(void)
{
    pool_close(&primary);
    if (have_replica)
        pool_close(&replica);
}

/* Opens the connection, sets the session parameters our SQL relies on, prepares all
 * statements. */
static bool session_connect(struct db_session *s)
{
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%d", cfg->statement_timeout_ms);
    /* Our keywords first, so that the user's URL (expanded from dbname) overrides them. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"3", "csrd", s->pool->conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        atomic_fetch_add(&connect_failures, 1);
        log_warn("database connection failed: %s", PQerrorMessage(c));
        PQfinish(c);
        return false;
    }
    char setup[256];
    snprintf(setup, sizeof(setup),
             "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'iso_8601';"
             "SET statement_timeout = %s",
             timeout);
    PGresult *res = PQexec(c, setup);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    for (const struct db_stmt *const *t = stmt_tables; ok && *t; t++)
        for (const struct db_stmt *st = *t; ok && st->name; st++) {
            res = PQprepare(c, st->name, st->sql, 0, NULL);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                log_error("cannot prepare statement %s: %s", st->name, PQresultErrorMessage(res));
                ok = false;
            }
            PQclear(res);
        }
    if (!ok) {
        atomic_fetch_add(&connect_failures, 1);
        PQfinish(c);
        return false;
    }
    s->conn = c;
    s->epoch = atomic_load(&s->pool->epoch);
    s->broken = false;
    s->tx_depth = 0;
    return true;
}

static struct db_session *pool_acquire(struct db_pool *p)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ACQUIRE_TIMEOUT_S;
    pthread_mutex_lock(&p->lock);
    if (p->nfree == 0)
        atomic_fetch_add(&pool_waits, 1);
    while (p->nfree == 0) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT && p->nfree == 0) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
    }
    struct db_session *s = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return s;
}

static void pool_release(struct db_session *s)
{
    struct db_pool *p = s->pool;
    if (s->conn && !s->broken && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(s->conn, "ROLLBACK");
        PQclear(res);
        if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
            s->broken = true;
    }
    if (s->conn && (s->broken || PQstatus(s->conn) != CONNECTION_OK)) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    s->tx_depth = 0;
    pthread_mutex_lock(&p->lock);
    p->free_list[p->nfree++] = s;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void unavailable(struct request *r, const char *detail)
{
    http_add_header(r, "Retry-After", "1");
    http_problem(r, 503, detail);
}

/* Makes sure r has a live session; queues 503 otherwise. */
static bool session_for(struct request *r)
{
    if (r->db)
        return true;
    struct db_pool *p = (r->prefer_replica && have_replica) ? &replica : &primary;
    struct db_session *s = pool_acquire(p);
    if (!s) {
        unavailable(r, "all database connections are busy");
        return false;
    }
    if (s->conn && s->epoch < atomic_load(&p->epoch)) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    if (!s->conn && !session_connect(s)) {
        pool_release(s);
        unavailable(r, "the database is unreachable");
        return false;
    }
    s->sqlstate[0] = s->constraint[0] = '\0';
    r->db = s;
    return true;
}

void db_request_done(struct request *r)
{
    if (r->results) {
        struct db_rows *row = r->results->head;
        while (row) {
            struct db_rows *next = row->next;
            PQclear(row->res);
            free(row);
            row = next;
        }
        free(r->results);
        r->results = NULL;
    }
    if (r->db) {
        pool_release(r->db);
        r->db = NULL;
    }
}

static bool connection_lost(const struct db_session *s, const char *state)
{
    if (PQstatus(s->conn) != CONNECTION_OK || !state)
        return true;
    /* 08: connection exception; 57P01-03: the server is shutting down or starting. */
    return !strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
           !strcmp(state, "57P03");
}

/* Maps an SQLSTATE to the problem the client sees. */
static void queue_problem(struct request *r, const char *state, PGresult *res)
{
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (!strcmp(state, "23505")) {
        http_problem(r, 409, "a record with this unique value already exists");
    } else if (!strcmp(state, "23503")) {
        http_problem(r, 422, "a referenced record does not exist");
    } else if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2)) {
        /* check, not-null or data exceptions that slipped past validation */
        http_problem(r, 422, msg ? msg : "a value is not acceptable");
    } else if (!strcmp(state, "40001") || !strcmp(state, "40P01")) {
        http_problem(r, 409, "the record was changed concurrently; retry");
    } else if (!strcmp(state, "57014")) {
        unavailable(r, "the database did not answer in time");
    } else if (!strcmp(state, "25006")) {
        unavailable(r, "the database is read-only (failover in progress?)");
    } else {
        log_error("request %s: SQLSTATE %s: %s", r->request_id, state, msg ? msg : "");
        http_problem(r, 500, "unexpected database error");
    }
}

struct db_rows *db_run(struct request *r, const char *stmt, int nparams, const char *const *params)
{
    for (int attempt = 0;; attempt++) {
        if (!session_for(r))
            return NULL;
        struct db_session *s = r->db;
        PGresult *res = PQexecPrepared(s->conn, stmt, nparams, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            struct db_rows *rows = malloc(sizeof(*rows));
            if (!r->results)
                r->results = calloc(1, sizeof(*r->results));
            if (!rows || !r->results)
                abort();
            rows->res = res;
            rows->next = r->results->head;
            r->results->head = rows;
            return rows;
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (connection_lost(s, state)) {
            PQclear(res);
            s->broken = true;
            atomic_fetch_add(&s->pool->epoch, 1);
            bool retry = attempt == 0 && s->tx_depth == 0 && r->method == M_GET;
            pool_release(s);
            r->db = NULL;
            if (retry)
                continue; /* a read outside a transaction is safe to repeat once */
            unavailable(r, "the database connection was lost");
            return NULL;
        }
        snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state);
        const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        snprintf(s->constraint, sizeof(s->constraint), "%s", cons ? cons : "");
        queue_problem(r, state, res);
        PQclear(res);
        return NULL;
    }
}

int db_nrows(const struct db_rows *rows)
{
    return PQntuples(rows->res);
}

const char *db_get(const struct db_rows *rows, int row, int col)
{
    if (row >= PQntuples(rows->res) || col >= PQnfields(rows->res) ||
        PQgetisnull(rows->res, row, col))
        return NULL;
    return PQgetvalue(rows->res, row, col);
}

const char *db_sqlstate(const struct request *r)
{
    return r->db ? r->db->sqlstate : "";
}

const char *db_constraint(const struct request *r)
{
    return r->db ? r->db->constraint : "";
}

/* Runs a parameterless command. retry_safe: the command changes nothing by itself (BEGIN,
 * SELECT 1), so after a lost connection it is repeated once on a fresh one. */
static bool run_plain(struct request *r, const char *sql, bool retry_safe)
{
    for (int attempt = 0;; attempt++) {
        if (!session_for(r))
            return false;
        PGresult *res = PQexec(r->db->conn, sql);
        ExecStatusType st = PQresultStatus(res);
        bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (ok) {
            PQclear(res);
            return true;
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (connection_lost(r->db, state)) {
            PQclear(res);
            r->db->broken = true;
            atomic_fetch_add(&r->db->pool->epoch, 1);
            bool retry = retry_safe && attempt == 0 && r->db->tx_depth == 0;
            pool_release(r->db);
            r->db = NULL;
            if (retry)
                continue;
            unavailable(r, "the database connection was lost");
            return false;
        }
        queue_problem(r, state ? state : "XX000", res);
        PQclear(res);
        return false;
    }
}

bool db_begin(struct request *r)
{
    if (r->db && r->db->tx_depth > 0) {
        r->db->tx_depth++;
        return true;
    }
    r->prefer_replica = false; /* writes and their reads stay on the primary */
    if (!run_plain(r, "BEGIN", true))
        return false;
    r->db->tx_depth = 1;
    return true;
}

bool db_commit(struct request *r)
{
    if (!r->db || r->db->tx_depth == 0)
        return false;
    if (--r->db->tx_depth > 0)
        return true;
    return run_plain(r, "COMMIT", false);
}

void db_rollback(struct request *r)
{
    if (!r->db || r->db->tx_depth == 0)
        return;
    r->db->tx_depth = 0;
    PGresult *res = PQexec(r->db->conn, "ROLLBACK");
    PQclear(res);
}

bool db_in_transaction(const struct request *r)
{
    return r->db && r->db->tx_depth > 0;
}

void db_pool_stats(int *size, int *in_use, long *waits, long *failures)
{
    pthread_mutex_lock(&primary.lock);
    *size = primary.size;
    *in_use = primary.size - primary.nfree;
    pthread_mutex_unlock(&primary.lock);
    *waits = atomic_load(&pool_waits);
    *failures = atomic_load(&connect_failures);
}

bool db_ping(struct request *r)
{
    return run_plain(r, "SELECT 1", true);
}

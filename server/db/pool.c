/* Connection pools (primary, and an optional read replica), one PGconn per checked-out
 * session. A session that saw a connection failure is closed when it is returned and opened
 * afresh, with every statement prepared again, by the next unit of work that takes it: that
 * is the whole recovery story after a PostgreSQL restart or failover. */
#include "util/xalloc.h"
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
    bool reads_only;
    struct db_rows *results; /* freed when the session is closed */
    struct db_error err;
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
    char **first; /* db_set_first's replacements of column 0, per row; NULL when none */
    struct db_rows *next;
};

static struct db_pool primary, replica, streams;
static bool have_replica;
static const struct db_stmt *const *stmt_tables;
static const struct db_stmt **finishing; /* statements with a finish hook, sorted by name */
static size_t nfinishing;
static atomic_long pool_waits, connect_failures;

static int pool_init(struct db_pool *p, const char *conninfo, int size)
{
    p->conninfo = conninfo;
    p->size = size;
    p->sessions = xcalloc((size_t)size, sizeof(*p->sessions));
    p->free_list = xcalloc((size_t)size, sizeof(struct db_session *));
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

static int stmt_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct db_stmt *const *)a)->name,
                  (*(const struct db_stmt *const *)b)->name);
}

static const struct db_stmt *finishing_stmt(const char *name)
{
    if (!nfinishing)
        return NULL;
    struct db_stmt key = {.name = name};
    const struct db_stmt *k = &key;
    const struct db_stmt **hit = bsearch(&k, finishing, nfinishing, sizeof(*finishing), stmt_cmp);
    return hit ? *hit : NULL;
}

int db_init(const struct db_stmt *const *tables)
{
    stmt_tables = tables;
    free(finishing);
    finishing = NULL;
    nfinishing = 0;
    for (const struct db_stmt *const *t = tables; *t; t++)
        for (const struct db_stmt *st = *t; st->name; st++)
            if (st->finish) {
                finishing = xrealloc(finishing, (nfinishing + 1) * sizeof(*finishing));
                finishing[nfinishing++] = st;
            }
    if (nfinishing)
        qsort(finishing, nfinishing, sizeof(*finishing), stmt_cmp);
    if (pool_init(&primary, cfg->database_url, cfg->db_pool) < 0)
        return -1;
    if (cfg->read_database_url) {
        if (pool_init(&replica, cfg->read_database_url, cfg->db_pool) < 0)
            return -1;
        have_replica = true;
    }
    const char *stream_url = cfg->read_database_url ? cfg->read_database_url : cfg->database_url;
    return pool_init(&streams, stream_url, cfg->stream_pool);
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
    pool_close(&streams);
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

bool db_has_replica(void)
{
    return have_replica;
}

static enum db_status fail(struct db_error *e, enum db_status st, const char *reason)
{
    memset(e, 0, sizeof(*e));
    e->status = st;
    e->reason = reason;
    return st;
}

enum db_status db_session_open(enum db_target target, bool reads_only, struct db_session **out,
                               struct db_error *err)
{
    *out = NULL;
    struct db_pool *p = target == DB_STREAM                      ? &streams
                        : (target == DB_REPLICA && have_replica) ? &replica
                                                                 : &primary;
    struct db_session *s = pool_acquire(p);
    if (!s)
        return fail(err, DB_UNAVAILABLE, "all database connections are busy");
    if (s->conn && s->epoch < atomic_load(&p->epoch)) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    if (!s->conn && !session_connect(s)) {
        pool_release(s);
        return fail(err, DB_UNAVAILABLE, "the database is unreachable");
    }
    memset(&s->err, 0, sizeof(s->err));
    s->reads_only = reads_only;
    s->results = NULL;
    *out = s;
    return DB_OK;
}

void db_session_close(struct db_session *s)
{
    if (!s)
        return;
    for (struct db_rows *row = s->results, *next; row; row = next) {
        next = row->next;
        if (row->first)
            for (int i = 0; i < PQntuples(row->res); i++)
                free(row->first[i]);
        free(row->first);
        PQclear(row->res);
        free(row);
    }
    s->results = NULL;
    pool_release(s);
}

const struct db_error *db_last_error(const struct db_session *s)
{
    return &s->err;
}

static bool connection_lost(const struct db_session *s, const char *state)
{
    if (PQstatus(s->conn) != CONNECTION_OK || !state)
        return true;
    /* 08: connection exception; 57P01-03: the server is shutting down or starting. */
    return !strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
           !strcmp(state, "57P03");
}

/* Classifies a failed result into s->err. */
static enum db_status record_error(struct db_session *s, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    struct db_error *e = &s->err;
    memset(e, 0, sizeof(*e));
    snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", state ? state : "");
    snprintf(e->constraint, sizeof(e->constraint), "%s", cons ? cons : "");
    snprintf(e->message, sizeof(e->message), "%s", msg ? msg : PQerrorMessage(s->conn));
    if (!strcmp(e->sqlstate, "40001") || !strcmp(e->sqlstate, "40P01")) {
        e->status = DB_RETRY;
    } else if (!strcmp(e->sqlstate, "57014")) {
        e->status = DB_UNAVAILABLE;
        e->reason = "the database did not answer in time";
    } else if (!strcmp(e->sqlstate, "25006")) {
        e->status = DB_UNAVAILABLE;
        e->reason = "the database is read-only (failover in progress?)";
    } else {
        e->status = DB_ERROR;
    }
    return e->status;
}

/* After a lost connection: mark everything opened before as stale, reconnect this session in
 * place when the unit of work may repeat its statement. */
static bool recover(struct db_session *s, bool may_repeat)
{
    s->broken = true;
    atomic_fetch_add(&s->pool->epoch, 1);
    PQfinish(s->conn);
    s->conn = NULL;
    if (!may_repeat || !session_connect(s)) {
        fail(&s->err, DB_UNAVAILABLE, "the database connection was lost");
        return false;
    }
    return true;
}

/* Runs one command: a prepared statement (stmt != NULL) or plain SQL. repeatable: the command
 * may be sent again on a fresh connection if the first one was lost. */
static enum db_status run(struct db_session *s, const char *stmt, const char *sql, int nparams,
                          const char *const *params, bool repeatable, PGresult **out)
{
    *out = NULL;
    if (!s->conn)
        return fail(&s->err, DB_UNAVAILABLE, "the database connection was lost");
    for (int attempt = 0;; attempt++) {
        PGresult *res = stmt ? PQexecPrepared(s->conn, stmt, nparams, params, NULL, NULL, 0)
                             : PQexec(s->conn, sql);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            *out = res;
            return DB_OK;
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (connection_lost(s, state)) {
            PQclear(res);
            if (recover(s, repeatable && attempt == 0 && s->tx_depth == 0))
                continue;
            return DB_UNAVAILABLE;
        }
        enum db_status status = record_error(s, res);
        PQclear(res);
        return status;
    }
}

enum db_status db_exec(struct db_session *s, const char *stmt, int nparams,
                       const char *const *params, struct db_rows **out)
{
    PGresult *res;
    *out = NULL;
    enum db_status st = run(s, stmt, NULL, nparams, params, s->reads_only, &res);
    if (st != DB_OK)
        return st;
    struct db_rows *rows = xmalloc(sizeof(*rows));
    rows->res = res;
    rows->first = NULL;
    rows->next = s->results;
    s->results = rows;
    const struct db_stmt *f = finishing_stmt(stmt);
    if (f)
        f->finish(rows);
    *out = rows;
    return DB_OK;
}

int db_ncols(const struct db_rows *rows)
{
    return PQnfields(rows->res);
}

void db_set_first(struct db_rows *rows, int row, char *text)
{
    int n = PQntuples(rows->res);
    if (row < 0 || row >= n) {
        free(text);
        return;
    }
    if (!rows->first)
        rows->first = xcalloc((size_t)n, sizeof(*rows->first));
    free(rows->first[row]);
    rows->first[row] = text;
}

int db_nrows(const struct db_rows *rows)
{
    return PQntuples(rows->res);
}

const char *db_get(const struct db_rows *rows, int row, int col)
{
    if (col == 0 && rows->first && row >= 0 && row < PQntuples(rows->res) && rows->first[row])
        return rows->first[row];
    if (row < 0 || col < 0 || row >= PQntuples(rows->res) || col >= PQnfields(rows->res) ||
        PQgetisnull(rows->res, row, col))
        return NULL;
    return PQgetvalue(rows->res, row, col);
}

/* A parameterless command whose result only matters as a status. */
static enum db_status run_plain(struct db_session *s, const char *sql, bool repeatable,
                                const char *want_tag)
{
    PGresult *res;
    enum db_status st = run(s, NULL, sql, 0, NULL, repeatable, &res);
    if (st != DB_OK)
        return st;
    if (want_tag && strcmp(PQcmdStatus(res), want_tag) != 0) {
        /* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK */
        memset(&s->err, 0, sizeof(s->err));
        s->err.status = DB_ERROR;
        snprintf(s->err.sqlstate, sizeof(s->err.sqlstate), "25P02");
        snprintf(s->err.message, sizeof(s->err.message), "%s answered %s", sql, PQcmdStatus(res));
        st = DB_ERROR;
    }
    PQclear(res);
    return st;
}

enum db_status db_begin(struct db_session *s)
{
    if (s->tx_depth > 0) {
        s->tx_depth++;
        return DB_OK;
    }
    enum db_status st = run_plain(s, "BEGIN", true, NULL);
    if (st == DB_OK)
        s->tx_depth = 1;
    return st;
}

enum db_status db_commit(struct db_session *s)
{
    if (s->tx_depth == 0) {
        fail(&s->err, DB_ERROR, NULL);
        snprintf(s->err.message, sizeof(s->err.message), "COMMIT outside a transaction");
        return DB_ERROR;
    }
    if (--s->tx_depth > 0)
        return DB_OK;
    return run_plain(s, "COMMIT", false, "COMMIT");
}

void db_rollback(struct db_session *s)
{
    if (s->tx_depth == 0)
        return;
    s->tx_depth = 0;
    if (s->conn) {
        PGresult *res = PQexec(s->conn, "ROLLBACK");
        PQclear(res);
    }
}

bool db_in_transaction(const struct db_session *s)
{
    return s->tx_depth > 0;
}

enum db_status db_transaction(struct db_session *s, db_tx_body body, void *cls, int attempts,
                              void (*reset)(void *cls))
{
    bool outermost = s->tx_depth == 0;
    for (int attempt = 1;; attempt++) {
        enum db_status st = db_begin(s);
        if (st == DB_OK) {
            st = body(s, cls);
            if (st == DB_OK)
                st = db_commit(s);
        }
        if (st == DB_OK)
            return DB_OK;
        db_rollback(s);
        if (st != DB_RETRY || !outermost || attempt >= attempts)
            return st;
        log_debug("transaction repeated after SQLSTATE %s (attempt %d)", s->err.sqlstate, attempt);
        if (reset)
            reset(cls);
    }
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

enum db_status db_ping(struct db_session *s)
{
    return run_plain(s, "SELECT 1", true, NULL);
}

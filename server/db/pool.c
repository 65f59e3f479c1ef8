/* Connection pools (primary, and an optional read replica), one PGconn per checked-out
 * session. A session that saw a connection failure is closed when it is returned and opened
 * afresh, with every statement prepared again, by the next unit of work that takes it: that
 * is the whole recovery story after a PostgreSQL restart or failover. */
#include "util/xalloc.h"
#include "db/db.h"
#include "config.h"
#include "log.h"
#include "util/evloop.h"
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
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
    /* Light: opened by a reads-only unit of work on an event-loop worker without taking a
     * pooled connection. Its quick statements go through the worker's pipeline; the first
     * statement that needs a connection of its own (or a transaction) takes a pooled session,
     * own, and everything after goes there. */
    bool light;
    struct db_session *own;
    struct db_rows *results; /* freed when the session is closed */
    struct db_error err;
};

/* Someone waiting for a session: a coroutine (parked on its worker's loop) or a thread (on
 * the pool's condition variable). pool_release hands a session to the first in line. */
struct pool_waiter {
    struct pool_waiter *next;
    struct db_session *session; /* set by pool_release, under the pool's lock */
    struct ev_park park;        /* a coroutine's wait */
    bool thread;
};

struct db_pool {
    const char *conninfo;
    struct db_session *sessions;
    struct db_session **free_list;
    int size, nfree;
    struct pool_waiter *waiters, *waiters_tail; /* FIFO */
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
static const struct db_stmt **extras; /* statements with a finish hook or flags, by name */
static size_t nextras;
static atomic_long pool_waits, connect_failures;

/* A replica that cannot be reached is passed over for REPLICA_BACKOFF_MS: its reads go to the
 * primary meanwhile, which is never older than the replica, instead of failing with 503.
 * Per instance; the first connection attempt after the pause tries the replica again. */
#define REPLICA_BACKOFF_MS 1000
static atomic_llong replica_down_until; /* CLOCK_MONOTONIC ms */

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void replica_unreachable(void)
{
    long long was = atomic_exchange(&replica_down_until, monotonic_ms() + REPLICA_BACKOFF_MS);
    if (was < monotonic_ms() - REPLICA_BACKOFF_MS)
        log_warn("the read replica is unreachable: its reads go to the primary (trying it again "
                 "every %d ms)",
                 REPLICA_BACKOFF_MS);
}

/* The pool a read meant for p goes to now. */
static struct db_pool *reads_pool(struct db_pool *p)
{
    return p == &replica && monotonic_ms() < atomic_load(&replica_down_until) ? &primary : p;
}

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

static const struct db_stmt *stmt_extras(const char *name)
{
    if (!nextras)
        return NULL;
    struct db_stmt key = {.name = name};
    const struct db_stmt *k = &key;
    const struct db_stmt **hit = bsearch(&k, extras, nextras, sizeof(*extras), stmt_cmp);
    return hit ? *hit : NULL;
}

int db_init(const struct db_stmt *const *tables)
{
    stmt_tables = tables;
    free(extras);
    extras = NULL;
    nextras = 0;
    for (const struct db_stmt *const *t = tables; *t; t++)
        for (const struct db_stmt *st = *t; st->name; st++)
            if (st->finish || st->flags) {
                extras = xrealloc(extras, (nextras + 1) * sizeof(*extras));
                extras[nextras++] = st;
            }
    if (nextras)
        qsort(extras, nextras, sizeof(*extras), stmt_cmp);
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

/* Waits for the result of the command just sent on a nonblocking connection, without holding
 * the thread: in a coroutine the worker serves other requests meanwhile (ev_wait_fd). Returns
 * the first error result, else the last result; never NULL. */
static PGresult *collect(PGconn *c)
{
    while (PQflush(c) == 1) /* a large parameter: wait until the socket takes more */
        if (ev_wait_fd(PQsocket(c), POLLIN | POLLOUT, 0) < 0 || !PQconsumeInput(c))
            break;
    PGresult *kept = NULL;
    bool kept_failed = false;
    for (;;) {
        while (PQisBusy(c))
            if (ev_wait_fd(PQsocket(c), POLLIN, 0) < 0 || !PQconsumeInput(c))
                break; /* PQgetResult then reports the broken connection */
        PGresult *res = PQgetResult(c);
        if (!res)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (kept_failed) {
            PQclear(res);
        } else {
            PQclear(kept);
            kept = res;
            kept_failed = st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK;
        }
        if (PQstatus(c) == CONNECTION_BAD)
            break;
    }
    return kept ? kept : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
}

/* One command: a prepared statement when stmt is set, else plain sql. */
static PGresult *exec_wait(PGconn *c, const char *stmt, const char *sql, int nparams,
                           const char *const *params)
{
    int sent =
        stmt ? PQsendQueryPrepared(c, stmt, nparams, params, NULL, NULL, 0) : PQsendQuery(c, sql);
    return sent ? collect(c) : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
}

/* Opens a connection (within 3 s, without holding a worker thread), sets the session
 * parameters our SQL relies on, prepares all statements; NULL (logged) on failure. */
static PGconn *connect_conn(const char *conninfo)
{
    /* Our keywords first, so that the user's URL (expanded from dbname) overrides them. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"3", "csrd", conninfo, NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    int64_t deadline = ev_now_us() + 3 * 1000000;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (c && PQstatus(c) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
           ps != PGRES_POLLING_FAILED) {
        int ready =
            ev_wait_fd(PQsocket(c), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
        if (ready <= 0)
            break;
        ps = PQconnectPoll(c);
    }
    if (!c || ps != PGRES_POLLING_OK || PQstatus(c) != CONNECTION_OK ||
        PQsetnonblocking(c, 1) != 0) {
        atomic_fetch_add(&connect_failures, 1);
        const char *why = !c ? "out of memory"
                          : ps == PGRES_POLLING_OK || ps == PGRES_POLLING_FAILED
                              ? PQerrorMessage(c)
                              : "no answer within 3 s";
        log_warn("database connection failed: %s", why);
        PQfinish(c);
        return NULL;
    }
    char setup[256];
    snprintf(setup, sizeof(setup),
             "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'iso_8601';"
             "SET statement_timeout = %d",
             cfg->statement_timeout_ms);
    PGresult *res = exec_wait(c, NULL, setup, 0, NULL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    for (const struct db_stmt *const *t = stmt_tables; ok && *t; t++)
        for (const struct db_stmt *st = *t; ok && st->name; st++) {
            res = PQsendPrepare(c, st->name, st->sql, 0, NULL)
                      ? collect(c)
                      : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                log_error("cannot prepare statement %s: %s", st->name, PQresultErrorMessage(res));
                ok = false;
            }
            PQclear(res);
        }
    if (!ok) {
        atomic_fetch_add(&connect_failures, 1);
        PQfinish(c);
        return NULL;
    }
    return c;
}

static bool session_connect(struct db_session *s)
{
    /* the epoch before connecting: a loss found while this connection opens may be its own */
    long epoch = atomic_load(&s->pool->epoch);
    s->conn = connect_conn(s->pool->conninfo);
    if (!s->conn)
        return false;
    s->epoch = epoch;
    s->broken = false;
    s->tx_depth = 0;
    return true;
}

static void waiter_remove(struct db_pool *p, struct pool_waiter *w)
{
    struct pool_waiter *prev = NULL;
    for (struct pool_waiter *x = p->waiters; x; prev = x, x = x->next)
        if (x == w) {
            if (prev)
                prev->next = w->next;
            else
                p->waiters = w->next;
            if (p->waiters_tail == w)
                p->waiters_tail = prev;
            return;
        }
}

/* A free session, or the first one given back within ACQUIRE_TIMEOUT_S (first come, first
 * served); NULL after that. A coroutine waits parked, a thread on the condition variable. */
static struct db_session *pool_acquire(struct db_pool *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->nfree > 0 && !p->waiters) {
        struct db_session *s = p->free_list[--p->nfree];
        pthread_mutex_unlock(&p->lock);
        return s;
    }
    atomic_fetch_add(&pool_waits, 1);
    struct pool_waiter w = {.thread = coro_current() == NULL};
    if (!w.thread)
        ev_park_init(&w.park);
    /* w lives on this stack while it is in line: pool_release takes it out before it wakes
     * this waiter, and a waiter that times out takes itself out below */
    if (p->waiters_tail)
        p->waiters_tail->next = &w;
    else
        p->waiters = &w;  // cppcheck-suppress autoVariables
    p->waiters_tail = &w; // cppcheck-suppress autoVariables
    if (w.thread) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += ACQUIRE_TIMEOUT_S;
        while (!w.session)
            if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT)
                break;
    } else {
        pthread_mutex_unlock(&p->lock);
        ev_park_wait(&w.park, ev_now_us() + ACQUIRE_TIMEOUT_S * 1000000);
        pthread_mutex_lock(&p->lock);
    }
    if (!w.session) /* timed out, still in line */
        waiter_remove(p, &w);
    pthread_mutex_unlock(&p->lock);
    return w.session; /* handed over even when that crossed the deadline */
}

static void pool_release(struct db_session *s)
{
    struct db_pool *p = s->pool;
    if (s->conn && !s->broken && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PGresult *res = exec_wait(s->conn, NULL, "ROLLBACK", 0, NULL);
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
    struct pool_waiter *w = p->waiters;
    if (w) {
        p->waiters = w->next;
        if (!p->waiters)
            p->waiters_tail = NULL;
        w->session = s;
        /* under the lock: a waiter that timed out meanwhile takes the lock before it looks at
         * w->session, and w (on its stack) stays valid until then */
        if (w->thread)
            pthread_cond_broadcast(&p->cond);
        else
            ev_unpark(&w->park);
    } else {
        p->free_list[p->nfree++] = s;
    }
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

/* An idle connection has nothing to read unless the server has closed it (a restart, a
 * failover, an administrator's pg_terminate_backend) and its last words wait in the socket.
 * One poll without waiting finds that before a statement is sent, so that no unit of work
 * fails for a loss that happened while the connection sat in the pool, whether or not its
 * first statement could be repeated. Anything else an idle connection may receive (a notice,
 * a parameter report after a reload) is rare enough that the connection is replaced too. */
static bool idle_conn_readable(PGconn *c)
{
    struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
    return pfd.fd < 0 || poll(&pfd, 1, 0) != 0;
}

/* A pooled session with a live connection, or NULL with *err filled. */
static struct db_session *open_pooled(struct db_pool *p, bool reads_only, struct db_error *err)
{
    p = reads_pool(p);
    struct db_session *s = pool_acquire(p);
    if (!s) {
        fail(err, DB_UNAVAILABLE, "all database connections are busy");
        return NULL;
    }
    if (s->conn && (s->epoch < atomic_load(&p->epoch) || idle_conn_readable(s->conn))) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    if (!s->conn && !session_connect(s)) {
        pool_release(s);
        if (p == &replica) {
            replica_unreachable();
            return open_pooled(&primary, reads_only, err);
        }
        fail(err, DB_UNAVAILABLE, "the database is unreachable");
        return NULL;
    }
    memset(&s->err, 0, sizeof(s->err));
    s->reads_only = reads_only;
    s->results = NULL;
    return s;
}

enum db_status db_session_open(enum db_target target, bool reads_only, struct db_session **out,
                               struct db_error *err)
{
    *out = NULL;
    struct db_pool *p = target == DB_STREAM                      ? &streams
                        : (target == DB_REPLICA && have_replica) ? &replica
                                                                 : &primary;
    if (reads_only && target != DB_STREAM && cfg->io_events && coro_current()) {
        struct db_session *s = xcalloc(1, sizeof(*s));
        s->pool = p;
        s->light = true;
        s->reads_only = true;
        *out = s;
        return DB_OK;
    }
    *out = open_pooled(p, reads_only, err);
    return *out ? DB_OK : err->status;
}

/* The session that runs s's statements on a connection of its own: s itself, or for a light
 * session the pooled one it takes now (NULL with s->err filled when none can be had). */
static struct db_session *dedicated(struct db_session *s)
{
    if (!s->light)
        return s;
    if (!s->own)
        s->own = open_pooled(s->pool, s->reads_only, &s->err);
    return s->own;
}

static void free_results(struct db_session *s)
{
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
}

void db_session_close(struct db_session *s)
{
    if (!s)
        return;
    free_results(s);
    if (s->light) {
        db_session_close(s->own);
        free(s);
        return;
    }
    pool_release(s);
}

const struct db_error *db_last_error(const struct db_session *s)
{
    return s->light && s->own ? &s->own->err : &s->err;
}

/* 08: connection exception; 57P01-03: the server is shutting down or starting. */
static bool connection_lost_state(const char *state)
{
    return state && (!strncmp(state, "08", 2) || !strcmp(state, "57P01") ||
                     !strcmp(state, "57P02") || !strcmp(state, "57P03"));
}

static bool connection_lost(const struct db_session *s, const char *state)
{
    return PQstatus(s->conn) != CONNECTION_OK || !state || connection_lost_state(state);
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
    } else if (!strncmp(e->sqlstate, "08", 2) || !strcmp(e->sqlstate, "57P01") ||
               !strcmp(e->sqlstate, "57P02") || !strcmp(e->sqlstate, "57P03")) {
        /* a lost connection or a server going down, when the caller did not recover it */
        e->status = DB_UNAVAILABLE;
        e->reason = "the database connection was lost";
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
        PGresult *res = exec_wait(s->conn, stmt, sql, nparams, params);
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

/* The pipeline: on each event-loop worker, one connection per pool (primary, replica) in
 * libpq's pipeline mode, for the quick statements of light sessions. Coroutines append their
 * statements and park; once per loop round, before the worker waits, one sync closes the
 * batch and the batch goes out in one write. The loop reads the results as they come, in
 * order, and wakes each coroutine with its own. The backend never waits for a client round
 * trip between lookups, and one backend serves all the worker's lookups. The statements of a
 * batch run in one implicit transaction (read committed: each still takes its own snapshot);
 * should one fail, PostgreSQL skips the rest of its batch, and those run again on a pooled
 * connection. Writes never come here: each needs a connection of its own so that PostgreSQL
 * commits them together. */
struct pipe_entry {
    struct pipe_entry *next;
    struct ev_park park;
    PGresult *res;
    int stage;       /* 0: the result is due, 1: the NULL after it, 2: the batch's sync */
    bool sync_after; /* the last of its batch */
    bool failed;
};

struct pipe {
    struct db_pool *pool;
    PGconn *conn;
    struct evloop *loop;
    long epoch;
    bool connecting, hooked;
    struct pipe_entry *head, *tail;
    struct pipe_entry *unsynced; /* the last entry sent since the last sync */
};

static _Thread_local struct pipe pipes[2]; /* [0] primary, [1] replica */

/* The connection is gone: every statement waiting fails (and its caller takes the pooled
 * path instead). */
static void pipe_close(struct pipe *pp)
{
    if (pp->conn) {
        evloop_unwatch(pp->loop, PQsocket(pp->conn));
        PQfinish(pp->conn);
        pp->conn = NULL;
    }
    for (struct pipe_entry *e = pp->head, *next; e; e = next) {
        next = e->next;
        e->failed = true;
        ev_unpark(&e->park);
    }
    pp->head = pp->tail = pp->unsynced = NULL;
}

static void pipe_lost(struct pipe *pp)
{
    atomic_fetch_add(&pp->pool->epoch, 1);
    pipe_close(pp);
}

static void pipe_pop(struct pipe *pp, struct pipe_entry *e)
{
    pp->head = e->next;
    if (!pp->head)
        pp->tail = NULL;
    ExecStatusType st = e->res ? PQresultStatus(e->res) : PGRES_FATAL_ERROR;
    if (st == PGRES_PIPELINE_ABORTED || !e->res)
        e->failed = true;
    ev_unpark(&e->park);
}

static void pipe_readable(void *cls)
{
    struct pipe *pp = cls;
    if (!PQconsumeInput(pp->conn)) {
        pipe_lost(pp);
        return;
    }
    while (pp->head && !PQisBusy(pp->conn)) {
        struct pipe_entry *e = pp->head;
        PGresult *res = PQgetResult(pp->conn);
        if (e->stage == 0 && res) {
            e->res = res;
            e->stage = 1;
        } else if (e->stage == 1 && !res) {
            if (e->sync_after)
                e->stage = 2;
            else
                pipe_pop(pp, e);
        } else if (e->stage == 2 && res && PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            pipe_pop(pp, e);
        } else {
            PQclear(res); /* not expected: a statement csrd sends has one result */
        }
    }
    if (PQstatus(pp->conn) == CONNECTION_BAD)
        pipe_lost(pp);
}

/* Before the worker waits: the batch of this round gets its sync and goes out. */
static void pipe_sync(void *cls)
{
    struct pipe *pp = cls;
    if (!pp->conn || !pp->unsynced)
        return;
    pp->unsynced->sync_after = true;
    pp->unsynced = NULL;
    if (!PQpipelineSync(pp->conn)) {
        pipe_lost(pp);
        return;
    }
    /* PQpipelineSync flushed what the socket would take; the rest (only when the backend
     * stopped reading) is pushed here, holding this worker at most a second */
    while (PQflush(pp->conn) == 1) {
        struct pollfd pfd = {.fd = PQsocket(pp->conn), .events = POLLOUT};
        if (poll(&pfd, 1, 1000) <= 0) {
            pipe_lost(pp);
            return;
        }
    }
}

/* This worker's pipeline to p, connected; NULL when there is none to use right now. */
static struct pipe *pipe_get(struct db_pool *p)
{
    struct evloop *loop = evloop_current();
    if (!loop)
        return NULL;
    struct pipe *pp = &pipes[p == &replica ? 1 : 0];
    if (pp->connecting)
        return NULL;
    if (pp->conn && pp->epoch < atomic_load(&p->epoch) && !pp->head)
        pipe_close(pp); /* opened before a failover or restart */
    if (pp->conn)
        return pp;
    pp->pool = p;
    pp->loop = loop;
    if (!pp->hooked) {
        evloop_before_wait(loop, pipe_sync, pp);
        pp->hooked = true;
    }
    pp->connecting = true;
    long epoch = atomic_load(&p->epoch);
    PGconn *c = connect_conn(p->conninfo);
    pp->connecting = false;
    if (!c) {
        if (p == &replica)
            replica_unreachable();
        return NULL;
    }
    if (!PQenterPipelineMode(c) || evloop_watch(loop, PQsocket(c), pipe_readable, pp) != 0) {
        PQfinish(c);
        return NULL;
    }
    pp->conn = c;
    pp->epoch = epoch;
    return pp;
}

void db_thread_exit(void)
{
    for (int i = 0; i < 2; i++)
        if (pipes[i].conn)
            pipe_close(&pipes[i]);
}

/* Runs stmt through the pipeline: its result (success or the server's error), or NULL when
 * the pipeline could not carry it (the caller runs it on a pooled connection). */
static PGresult *pipe_exec(struct db_pool *p, const char *stmt, int nparams,
                           const char *const *params)
{
    struct pipe *pp = pipe_get(reads_pool(p));
    if (!pp)
        return NULL;
    if (!PQsendQueryPrepared(pp->conn, stmt, nparams, params, NULL, NULL, 0)) {
        pipe_lost(pp);
        return NULL;
    }
    struct pipe_entry e = {0};
    ev_park_init(&e.park);
    if (pp->tail)
        pp->tail->next = &e;
    else
        pp->head = &e;
    pp->tail = &e;
    pp->unsynced = &e;
    ev_park_wait(&e.park, 0);
    if (e.failed) {
        PQclear(e.res);
        return NULL;
    }
    return e.res;
}

/* Keeps res with the session (freed when it closes) and runs the statement's finish hook. */
static void keep_rows(struct db_session *s, const struct db_stmt *f, PGresult *res,
                      struct db_rows **out)
{
    struct db_rows *rows = xmalloc(sizeof(*rows));
    rows->res = res;
    rows->first = NULL;
    rows->next = s->results;
    s->results = rows;
    if (f && f->finish)
        f->finish(rows);
    *out = rows;
}

enum db_status db_exec(struct db_session *s, const char *stmt, int nparams,
                       const char *const *params, struct db_rows **out)
{
    PGresult *res;
    *out = NULL;
    const struct db_stmt *f = stmt_extras(stmt);
    if (s->light && !s->own) {
        res = f && (f->flags & DB_QUICK) ? pipe_exec(s->pool, stmt, nparams, params) : NULL;
        if (res && connection_lost_state(PQresultErrorField(res, PG_DIAG_SQLSTATE))) {
            PQclear(res); /* the pipeline's backend is going away: a pooled connection, then */
            res = NULL;
        }
        if (res) {
            ExecStatusType rs = PQresultStatus(res);
            if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK) {
                keep_rows(s, f, res, out);
                return DB_OK;
            }
            enum db_status st = record_error(s, res);
            PQclear(res);
            return st;
        }
    }
    struct db_session *d = dedicated(s);
    if (!d)
        return s->err.status;
    enum db_status st = run(d, stmt, NULL, nparams, params, d->reads_only, &res);
    if (st != DB_OK)
        return st;
    keep_rows(d, f, res, out);
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
    if (s->light) {
        struct db_session *d = dedicated(s);
        return d ? db_begin(d) : s->err.status;
    }
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
    if (s->light && s->own)
        return db_commit(s->own);
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
    if (s->light && s->own)
        db_rollback(s->own);
    if (s->tx_depth == 0)
        return;
    s->tx_depth = 0;
    if (s->conn) {
        PGresult *res = exec_wait(s->conn, NULL, "ROLLBACK", 0, NULL);
        PQclear(res);
    }
}

bool db_in_transaction(const struct db_session *s)
{
    if (s->light)
        return s->own && s->own->tx_depth > 0;
    return s->tx_depth > 0;
}

enum db_status db_transaction(struct db_session *s, db_tx_body body, void *cls, int attempts,
                              void (*reset)(void *cls))
{
    bool outermost = !db_in_transaction(s);
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
        log_debug("transaction repeated after SQLSTATE %s (attempt %d)", db_last_error(s)->sqlstate,
                  attempt);
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
    struct db_session *d = dedicated(s);
    return d ? run_plain(d, "SELECT 1", true, NULL) : s->err.status;
}

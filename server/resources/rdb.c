/* See rdb.h. */
#include "resources/rdb.h"
#include "log.h"
#include <stdlib.h>
#include <string.h>
#include "util/coro.h"
#include "util/evloop.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define TX_ATTEMPTS 3

/* A WAL position as PostgreSQL writes it: two hexadecimal numbers of up to 8 digits. */
static bool lsn_ok(const char *s)
{
    static const char HEX[] = "0123456789abcdefABCDEF";
    size_t a = strspn(s, HEX);
    if (a < 1 || a > 8 || s[a] != '/')
        return false;
    size_t b = strspn(s + a + 1, HEX);
    return b >= 1 && b <= 8 && s[a + 1 + b] == '\0';
}

/* For a read that may use the replica and carries a consistency token: whether the replica
 * has replayed it, and then r->db reads it (a bad token is a 400, queued; *ok false then). */
static bool replica_has(struct request *r, const char *token, bool *ok)
{
    *ok = true;
    if (!lsn_ok(token)) {
        http_problem(r, 400,
                     RDB_TOKEN_HEADER " must be a WAL position as csrd sent it, e.g. 0/16B3748");
        *ok = false;
        return false;
    }
    struct db_session *s;
    struct db_error err;
    struct db_rows *rows;
    if (db_session_open(DB_REPLICA, true, &s, &err) != DB_OK)
        return false; /* the primary will do */
    bool caught_up = db_exec(s, "rdb_replica_caught_up", 1, &token, &rows) == DB_OK &&
                     db_nrows(rows) == 1 && !strcmp(db_get(rows, 0, 0), "t");
    if (caught_up)
        r->db = s;
    else
        db_session_close(s);
    return caught_up;
}

static bool session(struct request *r)
{
    if (r->db)
        return true;
    struct db_error err;
    bool reads_only = r->method == M_GET || r->method == M_HEAD;
    enum db_target target = r->prefer_replica && db_has_replica() ? DB_REPLICA : DB_PRIMARY;
    const char *token = target == DB_REPLICA ? http_header(r, RDB_TOKEN_HEADER) : NULL;
    if (token) {
        bool ok;
        if (replica_has(r, token, &ok)) {
            r->db_on_replica = true;
            return true;
        }
        if (!ok)
            return false;
        target = DB_PRIMARY; /* the replica is behind what this client has written */
    }
    if (db_session_open(target, reads_only, &r->db, &err) != DB_OK) {
        r->db_failed = err.status;
        http_problem_db(r, &err);
        return false;
    }
    r->db_on_replica = target == DB_REPLICA;
    return true;
}

void rdb_after_handler(struct request *r)
{
    if (!db_has_replica() || r->method == M_GET || r->method == M_HEAD || r->method == M_OPTIONS ||
        r->resp.status < 200 || r->resp.status >= 300)
        return;
    if (r->db && (r->db_on_replica || db_in_transaction(r->db))) /* neither after a write */
        return;
    struct db_error err;
    if (!r->db && db_session_open(DB_PRIMARY, false, &r->db, &err) != DB_OK)
        return; /* the write is done; only its token is missing */
    struct db_rows *rows;
    if (db_exec(r->db, "rdb_wal_position", 0, NULL, &rows) == DB_OK && db_nrows(rows) == 1)
        http_add_header(r, RDB_TOKEN_HEADER, db_get(rows, 0, 0));
}

bool rdb_read_again_on_primary(struct request *r)
{
    if (!r->db || !r->db_on_replica)
        return false;
    db_session_close(r->db);
    r->db = NULL;
    r->db_on_replica = false;
    r->prefer_replica = false;
    return true;
}

static bool map_constraint(struct request *r, const struct db_error *e,
                           const struct constraint_field *map)
{
    for (; map && map->constraint; map++) {
        if (strcmp(map->constraint, e->constraint) != 0)
            continue;
        if (!strcmp(e->sqlstate, "23505") || map->conflict)
            http_problem(r, 409, arena_printf(&r->arena, "%s %s", map->field, map->message));
        else
            http_problem_field(r, map->field, map->message);
        return true;
    }
    return false;
}

struct db_rows *rdb_run_mapped(struct request *r, const char *stmt, int nparams,
                               const char *const *params, const struct constraint_field *map)
{
    if (!session(r))
        return NULL;
    struct db_rows *rows;
    enum db_status st;
    /* a single statement outside a transaction rolled back entirely: safe to repeat */
    for (int attempt = 1;; attempt++) {
        st = db_exec(r->db, stmt, nparams, params, &rows);
        if (st != DB_RETRY || db_in_transaction(r->db) || attempt == TX_ATTEMPTS)
            break;
    }
    if (st == DB_OK)
        return rows;
    r->db_failed = st;
    const struct db_error *e = db_last_error(r->db);
    if (e->status != DB_ERROR || !map_constraint(r, e, map))
        http_problem_db(r, e);
    return NULL;
}

struct db_rows *rdb_run(struct request *r, const char *stmt, int nparams, const char *const *params)
{
    return rdb_run_mapped(r, stmt, nparams, params, NULL);
}

struct tx {
    struct request *r;
    bool (*body)(struct request *r, void *cls);
    void *cls;
};

static enum db_status tx_body(struct db_session *s, void *cls)
{
    (void)s;
    struct tx *t = cls;
    t->r->db_failed = DB_OK;
    if (t->body(t->r, t->cls))
        return DB_OK;
    return t->r->db_failed != DB_OK ? t->r->db_failed : DB_ABORTED;
}

static void tx_reset(void *cls)
{
    struct tx *t = cls;
    http_response_reset(t->r);
}

bool rdb_transaction(struct request *r, bool (*body)(struct request *r, void *cls), void *cls)
{
    r->prefer_replica = false; /* writes and their reads stay on the primary */
    if (r->db && !db_in_transaction(r->db) && r->db_on_replica) {
        db_session_close(r->db);
        r->db = NULL;
        r->db_on_replica = false;
    }
    if (!session(r))
        return false;
    struct tx t = {r, body, cls};
    enum db_status st = db_transaction(r->db, tx_body, &t, TX_ATTEMPTS, tx_reset);
    if (st == DB_OK)
        return true;
    if (st != DB_ABORTED && r->resp.status < 400) {
        /* begin or commit failed (the body's own failures are already answered) */
        r->db_failed = st;
        http_problem_db(r, db_last_error(r->db));
    }
    return false;
}

/* ---- Combined creates ----------------------------------------------------------------------
 * On an event-loop worker, at most COMBINE_RUNNING creates of one kind run at a time; creates
 * that arrive meanwhile wait in line (first come, first served), and when a run ends the first
 * in line takes everyone waiting (up to COMBINE_MAX, COMBINE_BYTES) into one statement: one
 * executor start, one transaction, one commit for all of them. Under load, PostgreSQL then spends a
 * fraction of a single-row INSERT per record (constraint and trigger set-up, the commit record);
 * with nothing in line, a create runs alone at once, exactly as before. A combined statement either
 * commits every record or none (a constraint violation, say, of one of them), and then each record
 * runs again alone, so that every request still gets its own answer. A lost connection is
 * different: the commit may have happened, so every record of the batch answers 503 as a lone
 * create would. Nothing here is shared between workers or instances: the line lives on the worker's
 * stack frames. */
#define COMBINE_RUNNING 2
#define COMBINE_MAX     64
/* and at most about this many bytes of documents in one statement: with CSRD_MAX_BODY at its
 * default (1 MiB), 64 full-size documents would make a 64 MiB parameter */
#define COMBINE_BYTES (1024 * 1024)

enum waiter_state { W_QUEUED, W_LEAD, W_DONE, W_ALONE, W_FAILED };

struct waiter {
    struct waiter *next;
    const char *const *params; /* id, document, actor, role */
    int nparams;
    enum waiter_state state;
    char *json, *version; /* W_DONE (malloc'd by the leader) */
    struct db_error err;  /* W_FAILED */
    struct ev_park park;
};

struct lane {
    const char *stmt; /* the combined statement: this lane's kind */
    int running;
    struct waiter *head, *tail;
};

static _Thread_local struct lane lanes[4];

static struct lane *lane_for(const char *stmt)
{
    for (size_t i = 0; i < sizeof(lanes) / sizeof(lanes[0]); i++) {
        if (lanes[i].stmt == stmt)
            return &lanes[i];
        if (!lanes[i].stmt) {
            lanes[i].stmt = stmt;
            return &lanes[i];
        }
    }
    return NULL;
}

static void wake(struct waiter *w, enum waiter_state st)
{
    w->state = st;
    ev_unpark(&w->park);
}

/* A run may start: the first in line (if any) leads it. */
static void lane_kick(struct lane *l)
{
    if (l->head && l->running < COMBINE_RUNNING) {
        struct waiter *w = l->head;
        l->head = w->next;
        if (!l->head)
            l->tail = NULL;
        l->running++;
        wake(w, W_LEAD);
    }
}

/* A run has ended. */
static void lane_next(struct lane *l)
{
    l->running--;
    lane_kick(l);
}

/* The leader's run: itself and everyone in line (taken out of it). True with *rows when the
 * leader's own record is done; false with a problem queued, or with *alone set when the
 * leader's record has to run by itself. */
static bool lead(struct request *r, struct lane *l, struct waiter *self, struct db_rows **rows,
                 const char **json, const char **version, bool *alone)
{
    struct waiter *batch = self;
    int n = 1;
    size_t bytes = strlen(self->params[1]);
    self->next = NULL;
    for (struct waiter *tail = self;
         l->head && n < COMBINE_MAX && bytes + strlen(l->head->params[1]) <= COMBINE_BYTES; n++) {
        bytes += strlen(l->head->params[1]);
        tail->next = l->head;
        tail = l->head;
        l->head = l->head->next;
        tail->next = NULL;
    }
    if (!l->head)
        l->tail = NULL;
    lane_kick(l); /* those left by COMBINE_BYTES need not wait for this run */
    *alone = n == 1;
    if (*alone)
        return false;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "[");
    for (struct waiter *w = batch; w; w = w->next) {
        strbuf_puts(&sb, w == batch ? "{\"id\":" : ",{\"id\":");
        strbuf_json_string(&sb, w->params[0]);
        strbuf_puts(&sb, ",\"j\":");
        strbuf_puts(&sb, w->params[1]);
        if (w->nparams >= 4) {
            strbuf_puts(&sb, ",\"a\":");
            strbuf_json_string(&sb, w->params[2]);
            strbuf_puts(&sb, ",\"r\":");
            strbuf_json_string(&sb, w->params[3]);
        }
        strbuf_puts(&sb, "}");
    }
    strbuf_puts(&sb, "]");
    char *param = strbuf_take(&sb, NULL);
    enum db_status st = DB_UNAVAILABLE;
    if (session(r))
        for (int attempt = 1;; attempt++) {
            const char *params[] = {param};
            st = db_exec(r->db, l->stmt, 1, params, rows);
            if (st != DB_RETRY || attempt == TX_ATTEMPTS)
                break;
        }
    free(param);
    if (!r->db) { /* no session: session() queued the leader's problem */
        struct db_error e = {.status = DB_UNAVAILABLE, .reason = "the database is unreachable"};
        for (struct waiter *w = batch->next, *next; w; w = next) {
            next = w->next;
            w->err = e;
            wake(w, W_FAILED);
        }
        return false;
    }
    if (st == DB_OK) {
        /* each row carries its id in column 2; every record of the batch is there */
        int nrows = db_nrows(*rows);
        struct db_error missing = {.status = DB_ERROR};
        snprintf(missing.message, sizeof(missing.message), "a combined insert lost a record");
        for (struct waiter *w = batch->next, *next; w; w = next) {
            next = w->next;
            enum waiter_state ws = W_FAILED;
            w->err = missing;
            for (int i = 0; i < nrows; i++)
                if (!strcmp(db_get(*rows, i, 2), w->params[0])) {
                    w->json = xstrdup(db_get(*rows, i, 0));
                    w->version = xstrdup(db_get(*rows, i, 1));
                    ws = W_DONE;
                    break;
                }
            wake(w, ws);
        }
        for (int i = 0; i < nrows; i++)
            if (!strcmp(db_get(*rows, i, 2), self->params[0])) {
                *json = db_get(*rows, i, 0);
                *version = db_get(*rows, i, 1);
                return true;
            }
        r->db_failed = DB_ERROR;
        http_problem_db(r, &missing);
        return false;
    }
    const struct db_error *e = db_last_error(r->db);
    bool definite = st == DB_ERROR || st == DB_RETRY; /* nothing committed */
    log_debug("a combined insert of %d records failed (SQLSTATE %s)%s", n, e->sqlstate,
              definite ? "; each runs alone" : "");
    for (struct waiter *w = batch->next, *next; w; w = next) {
        next = w->next;
        w->err = *e;
        wake(w, definite ? W_ALONE : W_FAILED);
    }
    if (definite) {
        *alone = true;
        return false;
    }
    r->db_failed = st;
    http_problem_db(r, e);
    return false;
}

bool rdb_create(struct request *r, const char *stmt, const char *combined, int nparams,
                const char *const *params, const struct constraint_field *map, const char **json,
                const char **version)
{
    struct lane *l = NULL;
    if (combined && coro_current() && evloop_current() && !(r->db && db_in_transaction(r->db)))
        l = lane_for(combined);
    struct db_rows *rows = NULL;
    if (l && (l->running >= COMBINE_RUNNING || l->head)) {
        /* no pooled connection is held while in line (the key lookup may have taken one):
         * the leader needs one, and those in line could otherwise hold them all */
        if (r->db) {
            db_session_close(r->db);
            r->db = NULL;
        }
        struct waiter self = {.params = params, .nparams = nparams};
        ev_park_init(&self.park);
        if (l->tail)
            l->tail->next = &self;
        else
            l->head = &self;
        l->tail = &self;
        ev_park_wait(&self.park, 0);
        switch (self.state) {
        case W_DONE:
            *json = arena_strdup(&r->arena, self.json);
            *version = arena_strdup(&r->arena, self.version);
            free(self.json);
            free(self.version);
            return true;
        case W_FAILED:
            r->db_failed = self.err.status;
            http_problem_db(r, &self.err);
            return false;
        case W_LEAD: {
            bool alone;
            bool done = lead(r, l, &self, &rows, json, version, &alone);
            if (!alone) {
                lane_next(l);
                return done;
            }
            break; /* runs alone below, still counted as running */
        }
        default: /* W_ALONE: runs alone, not counted */
            l = NULL;
            break;
        }
    } else if (l) {
        l->running++;
    }
    rows = rdb_run_mapped(r, stmt, nparams, params, map);
    if (l)
        lane_next(l);
    if (!rows)
        return false;
    if (db_nrows(rows) == 0) { /* as reply_returned: the statement's own condition failed */
        http_problem(r, 409, "the record was changed concurrently; retry");
        return false;
    }
    *json = db_get(rows, 0, 0);
    *version = db_get(rows, 0, 1);
    return true;
}

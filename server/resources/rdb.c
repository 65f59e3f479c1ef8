/* See rdb.h. */
#include "resources/rdb.h"
#include <string.h>

#define TX_ATTEMPTS 3

static bool session(struct request *r)
{
    if (r->db)
        return true;
    struct db_error err;
    bool reads_only = r->method == M_GET || r->method == M_HEAD;
    enum db_target target = r->prefer_replica ? DB_REPLICA : DB_PRIMARY;
    if (db_session_open(target, reads_only, &r->db, &err) != DB_OK) {
        r->db_failed = err.status;
        http_problem_db(r, &err);
        return false;
    }
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
    if (r->db && !db_in_transaction(r->db) && db_has_replica() && r->method == M_GET) {
        db_session_close(r->db); /* may be a replica session */
        r->db = NULL;
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

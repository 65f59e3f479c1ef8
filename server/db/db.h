/* The database layer: pooled sessions (a unit of work that a request, a streamed response or a
 * background job owns), named statements prepared once per connection, transactions that
 * nest, and a transaction runner that repeats serialization failures and deadlocks. It knows
 * nothing of HTTP: every call returns an enum db_status and the session keeps a struct
 * db_error; turning that into a client-visible problem is the caller's business. */
#ifndef CSRD_DB_H
#define CSRD_DB_H
#include <stdbool.h>

struct db_rows;

struct db_stmt {
    const char *name;
    const char *sql;
    /* optional: runs on every result of the statement before the caller sees it, e.g. to
     * render column 0 from typed columns with db_set_first */
    void (*finish)(struct db_rows *rows);
    unsigned flags; /* DB_QUICK */
};

/* A read that is always fast (a lookup by primary key). Run outside a transaction by a
 * reads-only session on an event-loop worker, it goes through the worker's pipelined
 * connection (db/pool.c) instead of taking a pooled one: many requests' lookups then share
 * one PostgreSQL backend that never waits between them. Only quick statements go there, so
 * that none waits behind a slow one. */
#define DB_QUICK 1u

enum db_status {
    DB_OK = 0,
    DB_ABORTED,     /* a transaction body chose to stop (its caller knows why) */
    DB_RETRY,       /* serialization failure or deadlock (40001, 40P01): run it again */
    DB_UNAVAILABLE, /* unreachable, all connections busy, connection lost, timeout, read-only */
    DB_ERROR,       /* anything else the server refused: constraints, bad values, bugs */
};

struct db_error {
    enum db_status status;
    char sqlstate[6];    /* "" when the failure did not come from the server */
    char constraint[64]; /* the violated constraint, "" when none */
    char message[256];   /* the server's text: for logs only, never for clients */
    const char *reason;  /* a static description of an unavailability, for clients */
};

enum db_target {
    DB_PRIMARY, /* reads and writes */
    DB_REPLICA, /* CSRD_READ_DATABASE_URL when set, else the primary */
    DB_STREAM,  /* streamed responses: a small pool of its own (CSRD_STREAM_POOL) on the
                 * replica when set, else the primary, so that long exports never take the
                 * connections requests need */
};

/* Starts the pools (connections open lazily). tables: NULL-terminated list of
 * name==NULL-terminated statement arrays; pointers are kept. 0 or -1. */
int db_init(const struct db_stmt *const *tables);
void db_shutdown(void);
bool db_has_replica(void);
/* An event-loop worker ends: closes its pipelined connections (before its loop goes). */
void db_thread_exit(void);

struct db_session;
struct db_rows;

/* Takes a session from the target's pool and makes sure its connection is live. reads_only:
 * the unit of work never writes, so a statement outside a transaction is repeated once on a
 * fresh connection after a lost one. DB_UNAVAILABLE (with *err filled) when no connection can
 * be had within a few seconds. */
enum db_status db_session_open(enum db_target target, bool reads_only, struct db_session **out,
                               struct db_error *err);
/* Rolls back an open transaction, frees every result of the session, gives it back. NULL ok. */
void db_session_close(struct db_session *s);

/* Runs a named statement with text parameters (NULL = SQL NULL). On DB_OK *out holds the
 * result, which lives until the session is closed; otherwise db_last_error() tells why. */
enum db_status db_exec(struct db_session *s, const char *stmt, int nparams,
                       const char *const *params, struct db_rows **out);
const struct db_error *db_last_error(const struct db_session *s);
int db_nrows(const struct db_rows *rows);
/* Cell text, or NULL for SQL NULL and for cells outside the result. */
const char *db_get(const struct db_rows *rows, int row, int col);
int db_ncols(const struct db_rows *rows);
/* Replaces column 0 of a row (text malloc'd, ownership taken; freed with the result). */
void db_set_first(struct db_rows *rows, int row, char *text);

/* Transactions nest: only the outermost begin/commit reach the server. db_rollback always
 * ends the whole transaction. db_commit checks the command tag: COMMIT of a transaction that
 * an error aborted answers ROLLBACK, which is reported as DB_ERROR (SQLSTATE 25P02). */
enum db_status db_begin(struct db_session *s);
enum db_status db_commit(struct db_session *s);
void db_rollback(struct db_session *s);
bool db_in_transaction(const struct db_session *s);

/* The transaction runner: begin, body, commit. A body returns DB_OK to commit, DB_ABORTED to
 * roll back (it has recorded its reason itself), or the status of a failed statement. When
 * the body or the commit fails with DB_RETRY the transaction is rolled back and run again, up
 * to `attempts` times in all; before each repeat `reset` (may be NULL) undoes the body's side
 * effects outside the database. Inside an enclosing transaction the body runs once and a
 * failure rolls back everything: the outermost runner decides about repeats. */
typedef enum db_status (*db_tx_body)(struct db_session *s, void *cls);
enum db_status db_transaction(struct db_session *s, db_tx_body body, void *cls, int attempts,
                              void (*reset)(void *cls));

/* Pool gauges for /metrics. */
void db_pool_stats(int *size, int *in_use, long *waits, long *failures);
/* A raw "SELECT 1", for /readyz. */
enum db_status db_ping(struct db_session *s);
#endif

/* The database layer as handlers see it: named statements (prepared once per connection),
 * results that belong to the request, transactions that nest, and SQLSTATE -> HTTP problem
 * mapping. A request takes a pooled connection on its first statement and gives it back when
 * it completes (rolled back if a transaction was left open). */
#ifndef CSRD_DB_H
#define CSRD_DB_H
#include <stdbool.h>
#include "http/request.h"

struct db_stmt {
    const char *name;
    const char *sql;
};

/* Starts the pools (connections open lazily). tables: NULL-terminated list of
 * name==NULL-terminated statement arrays; pointers are kept. 0 or -1. */
int db_init(const struct db_stmt *const *tables);
void db_shutdown(void);

struct db_rows;

/* Runs a named statement with text parameters (NULL = SQL NULL). On failure returns NULL and
 * has queued the matching problem on r (503 when the database is unreachable, 409 for unique
 * violations and serialisation failures, 422 for check/foreign-key violations and bad values,
 * 500 otherwise); db_sqlstate()/db_constraint() then tell what happened. The result is freed
 * when the request completes. */
struct db_rows *db_run(struct request *r, const char *stmt, int nparams, const char *const *params);
int db_nrows(const struct db_rows *rows);
/* Cell text, or NULL for SQL NULL. */
const char *db_get(const struct db_rows *rows, int row, int col);
const char *db_sqlstate(const struct request *r);
const char *db_constraint(const struct request *r);

/* Transactions nest: only the outermost begin/commit reach the server. db_rollback always
 * ends the whole transaction. */
bool db_begin(struct request *r);
bool db_commit(struct request *r);
void db_rollback(struct request *r);
bool db_in_transaction(const struct request *r);

/* Gives the connection back and frees results; called by the HTTP layer. */
void db_request_done(struct request *r);

/* Pool gauges for /metrics. */
void db_pool_stats(int *size, int *in_use, long *waits, long *failures);
/* A raw "SELECT 1" on a pooled connection, for /readyz. */
bool db_ping(struct request *r);
#endif

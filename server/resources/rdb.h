/* The database as handlers use it: statements run on the request's session (opened on the
 * first statement: the replica for read-only routes when one is configured, else the
 * primary), failures mapped to a problem once, through http_problem_db or a resource's
 * constraint map, and transactions run by db_transaction, which repeats serialization
 * failures and deadlocks. Every function that returns NULL or false has queued the problem. */
#ifndef CSRD_RDB_H
#define CSRD_RDB_H
#include <stdbool.h>
#include "db/db.h"
#include "http/request.h"

/* Turns violations of the named constraints into field-level 422s (or 409s for unique
 * violations and entries flagged conflict: a row still referenced by others). */
struct constraint_field {
    const char *constraint, *field, *message;
    bool conflict;
};

/* Runs a named statement. The result lives until the request completes. */
struct db_rows *rdb_run(struct request *r, const char *stmt, int nparams,
                        const char *const *params);
/* The same, with the constraint map consulted first when the statement fails (map may be
 * NULL). */
struct db_rows *rdb_run_mapped(struct request *r, const char *stmt, int nparams,
                               const char *const *params, const struct constraint_field *map);

/* A create: runs stmt (one record: $1 id, $2 document[, $3 actor, $4 role]) and sets *json and
 * *version (valid until the request completes). With combined (the same insert over
 * $1 = [{"id", "j": document[, "a": actor, "r": role]}], returning the same columns with the
 * id in column 2), creates that wait for others of their kind on the same event-loop worker
 * run together in one statement and one transaction; see rdb.c. False with a problem queued. */
bool rdb_create(struct request *r, const char *stmt, const char *combined, int nparams,
                const char *const *params, const struct constraint_field *map, const char **json,
                const char **version);

/* Read-your-writes over a replica (CSRD_READ_DATABASE_URL): after a successful write, the
 * answer carries CSRD-Consistency-Token, the primary's WAL position once it committed; a read
 * that sends a token goes to the replica only when the replica has replayed that far, else
 * to the primary. A lookup by id that the replica does not find is asked of the primary. */
#define RDB_TOKEN_HEADER "CSRD-Consistency-Token"
void rdb_after_handler(struct request *r);
/* After the replica found nothing: true when the request read the replica, which is now
 * closed so that the next statement reads the primary. */
bool rdb_read_again_on_primary(struct request *r);

/* Runs body in a transaction on the primary: body returns true to commit (having prepared the
 * response), false to roll back (a problem queued, by a failed statement or by itself). A
 * serialization failure or deadlock, in the body or at commit, runs the body again (three
 * times in all) on a fresh response. Nested calls join the enclosing transaction. Returns
 * whether it committed. */
bool rdb_transaction(struct request *r, bool (*body)(struct request *r, void *cls), void *cls);
#endif

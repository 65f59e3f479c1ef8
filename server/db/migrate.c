/* Forward-only migrations. The file name (e.g. 001_foundation.sql) is the version; a file
 * that was applied is never run again, so a changed schema is always a new file. */
#include "db/migrate.h"
#include "log.h"
#include "util/embedded.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MIGRATION_LOCK_KEY "7263737264" /* arbitrary: "csrd" in hex-ish */

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        log_error("migration: %s", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static int apply_pending(PGconn *c)
{
    if (!exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"))
        return -1;
    for (const struct embedded_file *f = embedded_schema; f->name; f++) {
        const char *params[] = {f->name};
        PGresult *res = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                                     NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            log_error("migration: %s", PQresultErrorMessage(res));
            PQclear(res);
            return -1;
        }
        bool applied = PQntuples(res) > 0;
        PQclear(res);
        if (applied)
            continue;
        log_info("applying migration %s", f->name);
        if (!exec_ok(c, "BEGIN"))
            return -1;
        if (!exec_ok(c, f->data)) {
            exec_ok(c, "ROLLBACK");
            log_error("migration %s failed; nothing of it was applied", f->name);
            return -1;
        }
        res = PQexecParams(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL,
                           params, NULL, NULL, 0);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok || !exec_ok(c, "COMMIT")) {
            exec_ok(c, "ROLLBACK");
            return -1;
        }
    }
    return 0;
}

int db_migrate(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        log_error("migration: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    int rc = -1;
    if (exec_ok(c, "SET client_min_messages = warning") &&
        exec_ok(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")")) {
        rc = apply_pending(c);
        exec_ok(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")");
    }
    PQfinish(c);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int db_wait_reachable(const char *conninfo, int wait_s)
{
    double deadline = now_s() + wait_s, backoff = 0.25;
    for (int attempt = 1;; attempt++) {
        PGconn *c = PQconnectdb(conninfo);
        bool ok = PQstatus(c) == CONNECTION_OK;
        char why[512];
        snprintf(why, sizeof(why), "%s", ok ? "" : PQerrorMessage(c));
        why[strcspn(why, "\n")] = '\0'; /* libpq's message: first line only */
        PQfinish(c);
        if (ok) {
            if (attempt > 1)
                log_info("database reachable after %d attempts", attempt);
            return 0;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            log_error("cannot connect to the database (gave up after %d s, CSRD_DB_WAIT_S): %s",
                      wait_s, why);
            return -1;
        }
        if (attempt == 1)
            log_warn("database not reachable yet, trying again for up to %d s (CSRD_DB_WAIT_S): "
                     "%s",
                     wait_s, why);
        double pause = backoff < left ? backoff : left;
        struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 > 4 ? 4 : backoff * 2;
    }
}

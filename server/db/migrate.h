/* Applies the embedded schema/NNN_*.sql migrations that the database has not seen yet. */
#ifndef CSRD_MIGRATE_H
#define CSRD_MIGRATE_H

/* Connects with conninfo, takes a session advisory lock (so concurrent starts of several
 * instances apply each migration once), applies each pending file in its own transaction and
 * records it in schema_migrations. Returns 0 on success, -1 (logged) otherwise. */
int db_migrate(const char *conninfo);

/* Start-up order: waits until a connection with conninfo succeeds, trying again with back-off
 * (0.25 s doubling to 4 s) for up to wait_s seconds (CSRD_DB_WAIT_S), so csrd started before
 * its database (compose, systemd, Kubernetes) becomes ready once the database does. Logs the
 * first failure and the give-up. Returns 0 once connected, -1 when wait_s has passed. */
int db_wait_reachable(const char *conninfo, int wait_s);
#endif

/* Applies the embedded schema/NNN_*.sql migrations that the database has not seen yet. */
#ifndef CSRD_MIGRATE_H
#define CSRD_MIGRATE_H

/* Connects with conninfo, takes a session advisory lock (so concurrent starts of several
 * instances apply each migration once), applies each pending file in its own transaction and
 * records it in schema_migrations. Returns 0 on success, -1 (logged) otherwise. */
int db_migrate(const char *conninfo);
#endif

/* A background connection that LISTENs on one PostgreSQL channel and hands each
 * notification's payload to a callback, so that instances learn of changes made by others
 * (API-key revocations) within milliseconds instead of a cache lifetime. */
#ifndef CSRD_LISTEN_H
#define CSRD_LISTEN_H

/* on_payload runs on the listener thread; on_reconnect after every (re)connection, when
 * notifications may have been missed. Returns 0, or -1 if the thread cannot start. The
 * connection is retried every second while the database is away. */
int db_listen_start(const char *conninfo, const char *channel, void (*on_payload)(const char *),
                    void (*on_reconnect)(void));
void db_listen_stop(void);
#endif

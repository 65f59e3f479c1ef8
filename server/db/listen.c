/* One thread, one PGconn, poll() with a one-second tick so that stop requests are seen. */
#include "db/listen.h"
#include "log.h"
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_t thread;
static atomic_bool stopping;
static bool running;
static const char *listen_conninfo;
static char listen_sql[128];
static void (*payload_cb)(const char *);
static void (*reconnect_cb)(void);

static PGconn *listen_connect(void)
{
    PGconn *c = PQconnectdb(listen_conninfo);
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *res = PQexec(c, listen_sql);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (ok) {
            reconnect_cb();
            return c;
        }
    }
    PQfinish(c);
    return NULL;
}

static void *listen_loop(void *arg)
{
    (void)arg;
    PGconn *c = NULL;
    while (!atomic_load(&stopping)) {
        if (!c && !(c = listen_connect())) {
            sleep(1);
            continue;
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        int n = poll(&pfd, 1, 1000);
        if (n < 0 || (n > 0 && !PQconsumeInput(c)) || PQstatus(c) != CONNECTION_OK) {
            log_warn("notification listener lost its connection; reconnecting");
            PQfinish(c);
            c = NULL;
            continue;
        }
        PGnotify *note;
        while ((note = PQnotifies(c))) {
            payload_cb(note->extra);
            PQfreemem(note);
        }
    }
    PQfinish(c);
    return NULL;
}

int db_listen_start(const char *conninfo, const char *channel, void (*on_payload)(const char *),
                    void (*on_reconnect)(void))
{
    listen_conninfo = conninfo;
    snprintf(listen_sql, sizeof(listen_sql), "LISTEN %s", channel);
    payload_cb = on_payload;
    reconnect_cb = on_reconnect;
    atomic_store(&stopping, false);
    if (pthread_create(&thread, NULL, listen_loop, NULL) != 0)
        return -1;
    running = true;
    return 0;
}

void db_listen_stop(void)
{
    if (!running)
        return;
    atomic_store(&stopping, true);
    pthread_join(thread, NULL);
    running = false;
}

/* Configuration from the environment (and flags of the same meaning), read once at start and
 * immutable afterwards: the only global the rest of the server reads. */
#ifndef CSRD_CONFIG_H
#define CSRD_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct config {
    const char *database_url;      /* DATABASE_URL */
    const char *read_database_url; /* CSRD_READ_DATABASE_URL, NULL when unset */
    char listen_host[64];          /* from CSRD_LISTEN host:port */
    int listen_port;
    int threads;              /* CSRD_THREADS: HTTP worker threads */
    bool io_events;           /* CSRD_IO: events (coroutines on event loops) or threads */
    int db_pool;              /* CSRD_DB_POOL: database connections per pool */
    int stream_pool;          /* CSRD_STREAM_POOL: connections for streamed responses */
    size_t max_body;          /* CSRD_MAX_BODY */
    size_t max_bulk_body;     /* CSRD_MAX_BULK_BODY */
    const char *cors_origins; /* CSRD_CORS_ORIGINS: comma list, "*" or NULL */
    const char *admin_token;  /* CSRD_ADMIN_TOKEN */
    /* CSRD_TLS_CERT / CSRD_TLS_KEY: the PEM files' contents, read at start; NULL: plain HTTP */
    char *tls_cert_pem, *tls_key_pem;
    double rate_limit;        /* CSRD_RATE_LIMIT requests/s per key, 0 = off */
    enum log_level log_level; /* CSRD_LOG_LEVEL */
    int auth_cache_ms;        /* CSRD_AUTH_CACHE_MS: how long a verified key is trusted */
    int statement_timeout_ms; /* CSRD_STATEMENT_TIMEOUT_MS */
    int connection_timeout_s; /* CSRD_CONNECTION_TIMEOUT: idle or slow client, seconds */
    int db_wait_s;            /* CSRD_DB_WAIT_S: at start-up, seconds to wait for the database */
    int drain_s; /* CSRD_DRAIN_S: after SIGTERM, seconds of serving with /readyz at 503 */
    /* Limits on the request head, checked before anything else looks at it. */
    size_t max_url;             /* CSRD_MAX_URL: bytes of the request target; longer is 414 */
    size_t max_header_bytes;    /* CSRD_MAX_HEADER_BYTES: request line + header fields; 431 */
    int max_headers;            /* CSRD_MAX_HEADERS: header fields (each cookie counts); 431 */
    int max_query_params;       /* CSRD_MAX_QUERY_PARAMS: query arguments; more is 400 */
    size_t connection_memory;   /* libmicrohttpd's per-connection pool, derived from the above */
    bool webhook_allow_private; /* CSRD_WEBHOOK_ALLOW_PRIVATE: deliver to private addresses */
    int webhook_timeout_ms;     /* CSRD_WEBHOOK_TIMEOUT_MS: a delivery's deadline (10000) */
    int webhook_poll_ms;        /* CSRD_WEBHOOK_POLL_MS: how often the delivery job looks */
    bool migrate;               /* false with --no-migrate */
    bool migrate_only;          /* `csrd migrate` */
};

extern const struct config *cfg;

/* Parses environment and argv. Returns 0, or prints the problem and returns -1. */
int config_load(int argc, char **argv);
#endif

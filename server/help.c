/* The text of `csrd --help`. Keep it in step with config.c and the README's Configuration
 * table; the tests check that every CSRD_ variable config.c reads is named here. */
#include "help.h"

#ifndef CSRD_VERSION
#define CSRD_VERSION "unknown"
#endif

static const char HELP[] =
    "NAME\n"
    "    csrd - customer-service records API server (REST over HTTP, PostgreSQL)\n"
    "\n"
    "SYNOPSIS\n"
    "    csrd [--no-migrate] [--listen HOST:PORT] [--threads N] [--db-pool N]\n"
    "    csrd migrate\n"
    "    csrd statements | routes\n"
    "    csrd --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    Serves customers, interactions, complaints, satisfaction follow-ups, API keys, the\n"
    "    change feed, webhooks and reports under /v1 (the OpenAPI document is served at\n"
    "    /v1/openapi.json), with /healthz, /readyz and /metrics for operations. Applies\n"
    "    pending schema migrations at start (under an advisory lock, so several instances\n"
    "    may start at once), then listens until SIGTERM or SIGINT, after which it finishes\n"
    "    the requests in flight (CSRD_DRAIN_S first, if set) and exits 0.\n"
    "\n"
    "COMMANDS\n"
    "    migrate          apply pending migrations and exit\n"
    "    statements       print every prepared statement (name TAB sql) and exit\n"
    "    routes           print every route (METHOD pattern) and exit\n"
    "\n"
    "OPTIONS\n"
    "    --no-migrate     start without applying migrations\n"
    "    --listen H:P     the same as CSRD_LISTEN\n"
    "    --threads N      the same as CSRD_THREADS\n"
    "    --db-pool N      the same as CSRD_DB_POOL\n"
    "    -h, --help       print this text and exit\n"
    "    -V, --version    print the version and exit\n"
    "\n"
    "ENVIRONMENT\n"
    "    DATABASE_URL                 libpq URI or conninfo of the primary (required); may\n"
    "                                 list several hosts with target_session_attrs=read-write\n"
    "    CSRD_READ_DATABASE_URL       a replica for reads; writes then answer a\n"
    "                                 CSRD-Consistency-Token for read-your-writes (unset)\n"
    "    CSRD_DB_WAIT_S               seconds to wait for the database at start (30)\n"
    "    CSRD_LISTEN                  numeric host:port (127.0.0.1:8080)\n"
    "    CSRD_TLS_CERT, CSRD_TLS_KEY  PEM certificate and key: HTTPS only (unset)\n"
    "    CSRD_ADMIN_TOKEN             make sure an admin key with this token exists (unset)\n"
    "    CSRD_ADMIN_TOKEN_FILE        the same, from the first line of a file (unset)\n"
    "    CSRD_IO                      events (event-loop workers) or threads (events)\n"
    "    CSRD_THREADS                 workers (events: cores / 2; threads: 8 x cores)\n"
    "    CSRD_DB_POOL                 pooled database connections (8 x cores, at most 64)\n"
    "    CSRD_STREAM_POOL             connections for streamed exports (2)\n"
    "    CSRD_STATEMENT_TIMEOUT_MS    statement_timeout of request statements (10000)\n"
    "    CSRD_AUTH_CACHE_MS           how long a verified key is trusted (1000)\n"
    "    CSRD_RATE_LIMIT              requests per second per key, per instance (0: off)\n"
    "    CSRD_CORS_ORIGINS            comma list of allowed origins, or * (unset: no CORS)\n"
    "    CSRD_DRAIN_S                 seconds of /readyz 503 after SIGTERM (0)\n"
    "    CSRD_CONNECTION_TIMEOUT      seconds an idle or half-sent connection lives (30)\n"
    "    CSRD_MAX_BODY                largest body in bytes (1048576)\n"
    "    CSRD_MAX_BULK_BODY           largest bulk body in bytes (16777216)\n"
    "    CSRD_MAX_URL                 bytes of the request target (4096)\n"
    "    CSRD_MAX_HEADER_BYTES        bytes of the request head (8192)\n"
    "    CSRD_MAX_HEADERS             header fields (100)\n"
    "    CSRD_MAX_QUERY_PARAMS        query parameters (32)\n"
    "    CSRD_WEBHOOK_ALLOW_PRIVATE   1: webhooks may target private addresses (0)\n"
    "    CSRD_WEBHOOK_TIMEOUT_MS      a webhook delivery's deadline (10000)\n"
    "    CSRD_WEBHOOK_POLL_MS         how often deliveries are looked for (500)\n"
    "    CSRD_LOG_LEVEL               error, warn, info or debug (info)\n"
    "\n"
    "EXIT STATUS\n"
    "    0  stopped by a signal after finishing its requests; migrate, statements, routes,\n"
    "       --help and --version done\n"
    "    1  the database could not be reached or prepared (after CSRD_DB_WAIT_S), a\n"
    "       migration failed, or the listener could not start\n"
    "    2  a bad flag or configuration value (one line on stderr names it)\n"
    "\n"
    "EXAMPLES\n"
    "    DATABASE_URL=postgresql://csrd@127.0.0.1/csrd CSRD_ADMIN_TOKEN=$(openssl rand -hex 24) "
    "csrd\n"
    "    curl -H \"Authorization: Bearer $CSRD_ADMIN_TOKEN\" http://127.0.0.1:8080/v1/customers\n"
    "\n"
    "SEE ALSO\n"
    "    README.md (configuration, API examples), api-spec/openapi.yaml\n";

void help_print(FILE *out)
{
    fputs(HELP, out);
}

void version_print(FILE *out)
{
    fprintf(out, "csrd %s\n", CSRD_VERSION);
}

/* Environment first, then flags (--listen, --threads, --db-pool, --no-migrate, `migrate`).
 * Every value is checked here so that a typo stops the start with a message instead of
 * producing a half-configured server. */
#include "config.h"
#include "http/query.h"
#include "util/text.h"
#include "util/xalloc.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct config the_config;
const struct config *cfg = &the_config;

static int parse_listen(const char *s)
{
    const char *colon = strrchr(s, ':');
    long port;
    if (!colon || (size_t)(colon - s) >= sizeof(the_config.listen_host) ||
        !text_parse_long(colon + 1, 0, 65535, &port)) {
        fprintf(stderr, "csrd: CSRD_LISTEN must be host:port, got '%s'\n", s);
        return -1;
    }
    memcpy(the_config.listen_host, s, (size_t)(colon - s));
    the_config.listen_host[colon - s] = '\0';
    if (the_config.listen_host[0] == '\0')
        strcpy(the_config.listen_host, "0.0.0.0");
    the_config.listen_port = (int)port;
    return 0;
}

static int parse_int(const char *name, const char *s, long min, long max, long *out)
{
    if (!text_parse_long(s, min, max, out)) {
        fprintf(stderr, "csrd: %s must be an integer from %ld to %ld, got '%s'\n", name, min, max,
                s);
        return -1;
    }
    return 0;
}

/* An integer setting from the environment, or fallback when unset. */
static int env_long(const char *name, long min, long max, long fallback, long *out)
{
    const char *s = getenv(name);
    *out = fallback;
    return (s && *s) ? parse_int(name, s, min, max, out) : 0;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

/* The contents of the file named by variable name (at most max bytes, no NUL), or NULL with
 * the reason printed. */
static char *read_small_file(const char *name, const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "csrd: %s: cannot read %s: %s\n", name, path, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(max + 1);
    size_t n = fread(buf, 1, max + 1, f);
    bool failed = ferror(f);
    fclose(f);
    const char *why = failed    ? "unreadable (a read error)"
                      : n > max ? "too large"
                      : n == 0  ? "empty"
                                : NULL;
    buf[n <= max ? n : max] = '\0';
    if (!why && strlen(buf) != n)
        why = "not text";
    if (why) {
        fprintf(stderr, "csrd: %s: %s is %s\n", name, path, why);
        free(buf);
        return NULL;
    }
    return buf;
}

/* The contents of the PEM file named by variable name (at most 1 MiB), or NULL with the
 * reason printed. */
static char *read_pem(const char *name, const char *path)
{
    char *buf = read_small_file(name, path, 1 << 20);
    if (buf && !strstr(buf, "-----BEGIN ")) {
        fprintf(stderr, "csrd: %s: %s is not a PEM file\n", name, path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* CSRD_ADMIN_TOKEN, or the first line of the file CSRD_ADMIN_TOKEN_FILE names (a container
 * secret); both set, or an empty file, is a configuration error. Returns 0 or -1 (printed). */
static int load_admin_token(struct config *c)
{
    static char *from_file;
    free(from_file);
    from_file = NULL;
    c->admin_token = env_or("CSRD_ADMIN_TOKEN", NULL);
    const char *path = env_or("CSRD_ADMIN_TOKEN_FILE", NULL);
    if (!path)
        return 0;
    if (c->admin_token) {
        fprintf(stderr, "csrd: set CSRD_ADMIN_TOKEN or CSRD_ADMIN_TOKEN_FILE, not both\n");
        return -1;
    }
    if (!(from_file = read_small_file("CSRD_ADMIN_TOKEN_FILE", path, 4096)))
        return -1;
    from_file[strcspn(from_file, "\r\n")] = '\0';
    if (!*from_file) {
        fprintf(stderr, "csrd: CSRD_ADMIN_TOKEN_FILE: the first line of %s is empty\n", path);
        return -1;
    }
    c->admin_token = from_file;
    return 0;
}

int config_load(int argc, char **argv)
{
    struct config *c = &the_config;
    long v = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;

    c->database_url = env_or("DATABASE_URL", "");
    c->read_database_url = env_or("CSRD_READ_DATABASE_URL", NULL);
    c->cors_origins = env_or("CSRD_CORS_ORIGINS", NULL);
    if (load_admin_token(c) < 0)
        return -1;
    const char *tls_cert = env_or("CSRD_TLS_CERT", NULL), *tls_key = env_or("CSRD_TLS_KEY", NULL);
    free(c->tls_cert_pem);
    free(c->tls_key_pem);
    c->tls_cert_pem = c->tls_key_pem = NULL;
    if (!tls_cert != !tls_key) {
        fprintf(stderr, "csrd: CSRD_TLS_CERT and CSRD_TLS_KEY must be set together\n");
        return -1;
    }
    if (tls_cert && (!(c->tls_cert_pem = read_pem("CSRD_TLS_CERT", tls_cert)) ||
                     !(c->tls_key_pem = read_pem("CSRD_TLS_KEY", tls_key))))
        return -1;
    c->migrate = true;

    const char *listen = env_or("CSRD_LISTEN", "127.0.0.1:8080");
    const char *threads = env_or("CSRD_THREADS", NULL);
    const char *pool = env_or("CSRD_DB_POOL", NULL);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "migrate"))
            c->migrate_only = true;
        else if (!strcmp(argv[i], "--no-migrate"))
            c->migrate = false;
        else if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            listen = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = argv[++i];
        else if (!strcmp(argv[i], "--db-pool") && i + 1 < argc)
            pool = argv[++i];
        else {
            bool flag = !strcmp(argv[i], "--listen") || !strcmp(argv[i], "--threads") ||
                        !strcmp(argv[i], "--db-pool");
            fprintf(stderr, "csrd: %s %s (csrd --help lists the arguments)\n", argv[i],
                    flag ? "needs a value" : "is not an argument csrd takes");
            return -1;
        }
    }
    if (parse_listen(listen) < 0)
        return -1;

    /* CSRD_IO=events (default): event-loop workers, each request a coroutine that gives the
     * thread back while it waits for the database, so connections, not threads, bound how many
     * requests wait, and CSRD_DB_POOL bounds how many run in PostgreSQL at once. One worker per
     * two cores: csrd needs less CPU than PostgreSQL and the kernel's network work beside it,
     * and on 2 cores one worker (whose lookups then share one pipelined connection) measured
     * best (README "Benchmark"). CSRD_IO=threads: libmicrohttpd's thread pool, a thread
     * blocked for each statement (the former design, kept for comparison), where 8 threads per
     * core measured best. */
    const char *io = env_or("CSRD_IO", "events");
    if (!strcmp(io, "events"))
        c->io_events = true;
    else if (!strcmp(io, "threads"))
        c->io_events = false;
    else {
        fprintf(stderr, "csrd: CSRD_IO must be events or threads\n");
        return -1;
    }
    long workers = ncpu / 2 < 1 ? 1 : ncpu / 2 > 64 ? 64 : ncpu / 2;
    c->threads = c->io_events ? (int)workers : (int)(ncpu * 8 > 64 ? 64 : ncpu * 8);
    if (threads && parse_int("CSRD_THREADS", threads, 1, 1024, &v) < 0)
        return -1;
    if (threads)
        c->threads = (int)v;
    c->db_pool = (int)(ncpu * 8 > 64 ? 64 : ncpu * 8);
    if (!c->io_events)
        c->db_pool = c->threads;
    if (pool && parse_int("CSRD_DB_POOL", pool, 1, 1024, &v) < 0)
        return -1;
    if (pool)
        c->db_pool = (int)v;

    if (env_long("CSRD_WEBHOOK_ALLOW_PRIVATE", 0, 1, 0, &v) < 0)
        return -1;
    c->webhook_allow_private = v == 1;
    if (env_long("CSRD_WEBHOOK_TIMEOUT_MS", 100, 60000, 10000, &v) < 0)
        return -1;
    c->webhook_timeout_ms = (int)v;
    if (env_long("CSRD_WEBHOOK_POLL_MS", 50, 60000, 500, &v) < 0)
        return -1;
    c->webhook_poll_ms = (int)v;
    if (env_long("CSRD_STREAM_POOL", 1, 64, 2, &v) < 0)
        return -1;
    c->stream_pool = (int)v;
    if (env_long("CSRD_MAX_BODY", 1024, 1L << 30, 1 << 20, &v) < 0)
        return -1;
    c->max_body = (size_t)v;
    if (env_long("CSRD_MAX_BULK_BODY", 1024, 1L << 32, 16 << 20, &v) < 0)
        return -1;
    c->max_bulk_body = (size_t)v;
    if (env_long("CSRD_RATE_LIMIT", 0, 1000000, 0, &v) < 0)
        return -1;
    c->rate_limit = (double)v;
    if (env_long("CSRD_AUTH_CACHE_MS", 0, 600000, 1000, &v) < 0)
        return -1;
    c->auth_cache_ms = (int)v;
    if (env_long("CSRD_STATEMENT_TIMEOUT_MS", 100, 3600000, 10000, &v) < 0)
        return -1;
    c->statement_timeout_ms = (int)v;
    if (env_long("CSRD_DRAIN_S", 0, 300, 0, &v) < 0)
        return -1;
    c->drain_s = (int)v;
    if (env_long("CSRD_DB_WAIT_S", 0, 3600, 30, &v) < 0)
        return -1;
    c->db_wait_s = (int)v;
    if (env_long("CSRD_CONNECTION_TIMEOUT", 1, 3600, 30, &v) < 0)
        return -1;
    c->connection_timeout_s = (int)v;
    if (env_long("CSRD_MAX_URL", 256, 65536, 4096, &v) < 0)
        return -1;
    c->max_url = (size_t)v;
    if (env_long("CSRD_MAX_HEADER_BYTES", 1024, 262144, 8192, &v) < 0)
        return -1;
    c->max_header_bytes = (size_t)v;
    if (env_long("CSRD_MAX_HEADERS", 8, 1000, 100, &v) < 0)
        return -1;
    c->max_headers = (int)v;
    if (env_long("CSRD_MAX_QUERY_PARAMS", 1, QUERY_MAX_ARGS, QUERY_MAX_ARGS, &v) < 0)
        return -1;
    c->max_query_params = (int)v;
    if (c->max_url > c->max_header_bytes) {
        fprintf(stderr, "csrd: CSRD_MAX_URL (%zu) must not exceed CSRD_MAX_HEADER_BYTES (%zu)\n",
                c->max_url, c->max_header_bytes);
        return -1;
    }
    /* libmicrohttpd (0.9.75) keeps a request's whole head in one pool per connection and must
     * build the response head in what is left of it; when that does not fit it closes the
     * connection without a byte. The pool is sized so that every request within the limits
     * above always leaves room: half of it is the first read buffer (which holds a head of up
     * to max_header_bytes and anything pipelined behind it); the other half takes a record of
     * up to 96 bytes per header field, cookie and query argument (64 on 64-bit builds, more
     * with sanitizer red zones), the copy of the Cookie header it parses (within the head),
     * and the response head: about 1 KiB of fixed fields plus a Link header that repeats the
     * query, percent-encoded (at most 3 x max_url). Requests beyond the limits are answered
     * 414/431 by server.c without needing this room. */
    size_t half = c->max_header_bytes + 96 * (size_t)(c->max_headers + c->max_query_params) +
                  3 * c->max_url + 1024;
    c->connection_memory = (2 * half + 4095) / 4096 * 4096;

    const char *lvl = env_or("CSRD_LOG_LEVEL", "info");
    if (!strcmp(lvl, "error"))
        c->log_level = LOG_ERROR;
    else if (!strcmp(lvl, "warn"))
        c->log_level = LOG_WARN;
    else if (!strcmp(lvl, "info"))
        c->log_level = LOG_INFO;
    else if (!strcmp(lvl, "debug"))
        c->log_level = LOG_DEBUG;
    else {
        fprintf(stderr, "csrd: CSRD_LOG_LEVEL must be error, warn, info or debug\n");
        return -1;
    }
    if (!c->database_url[0]) {
        fprintf(stderr, "csrd: DATABASE_URL is not set\n");
        return -1;
    }
    return 0;
}

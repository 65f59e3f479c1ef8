/* Environment first, then flags (--listen, --threads, --db-pool, --no-migrate, `migrate`).
 * Every value is checked here so that a typo stops the start with a message instead of
 * producing a half-configured server. */
#include "config.h"
#include "util/text.h"
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
    c->admin_token = env_or("CSRD_ADMIN_TOKEN", NULL);
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
            fprintf(stderr, "usage: csrd [migrate] [--no-migrate] [--listen host:port] "
                            "[--threads N] [--db-pool N]\n");
            return -1;
        }
    }
    if (parse_listen(listen) < 0)
        return -1;

    /* A worker blocks while its statement runs, so more workers than cores keeps the CPU
     * busy while PostgreSQL works; 8 per core measured best on 2 cores (README). */
    c->threads = (int)(ncpu * 8 > 64 ? 64 : ncpu * 8);
    if (threads && parse_int("CSRD_THREADS", threads, 1, 1024, &v) < 0)
        return -1;
    if (threads)
        c->threads = (int)v;
    c->db_pool = c->threads;
    if (pool && parse_int("CSRD_DB_POOL", pool, 1, 1024, &v) < 0)
        return -1;
    if (pool)
        c->db_pool = (int)v;

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
    if (env_long("CSRD_CONNECTION_TIMEOUT", 1, 3600, 30, &v) < 0)
        return -1;
    c->connection_timeout_s = (int)v;

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

/* Bearer tokens -> principals, with a small TTL cache keyed by the token's hash (the token
 * itself is never stored, not even in memory beyond the request). */
#include "auth.h"
#include "config.h"
#include "db/listen.h"
#include "util/sha256.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

const struct db_stmt auth_statements[] = {
    {"auth_lookup", "SELECT id, name, role FROM api_keys"
                    " WHERE token_hash = $1 AND revoked_at IS NULL"},
    {"auth_ensure_admin",
     "INSERT INTO api_keys (id, name, role, token_hash, token_prefix)"
     " VALUES ($1, 'admin (CSRD_ADMIN_TOKEN)', 'admin', $2, $3)"
     " ON CONFLICT (token_hash) DO UPDATE SET role = 'admin', revoked_at = NULL,"
     " version = api_keys.version + 1, updated_at = csrd_now()"
     " WHERE api_keys.role <> 'admin' OR api_keys.revoked_at IS NOT NULL"},
    {NULL, NULL}};

#define CACHE_SLOTS 1024

struct cache_entry {
    char hash[65];
    struct principal who;
    uint64_t expires_ms;
};

static struct cache_entry cache[CACHE_SLOTS];
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;

static unsigned slot_of(const char *hash)
{
    unsigned v = 0;
    for (int i = 0; i < 8; i++)
        v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return v % CACHE_SLOTS;
}

static bool cache_get(const char *hash, struct principal *out)
{
    if (cfg->auth_cache_ms <= 0)
        return false;
    bool hit = false;
    struct cache_entry *e = &cache[slot_of(hash)];
    pthread_rwlock_rdlock(&cache_lock);
    if (!strcmp(e->hash, hash) && e->expires_ms > time_now_ms()) {
        *out = e->who;
        hit = true;
    }
    pthread_rwlock_unlock(&cache_lock);
    return hit;
}

static void cache_put(const char *hash, const struct principal *who)
{
    if (cfg->auth_cache_ms <= 0)
        return;
    struct cache_entry *e = &cache[slot_of(hash)];
    pthread_rwlock_wrlock(&cache_lock);
    memcpy(e->hash, hash, sizeof(e->hash));
    e->who = *who;
    e->expires_ms = time_now_ms() + (uint64_t)cfg->auth_cache_ms;
    pthread_rwlock_unlock(&cache_lock);
}

void auth_forget(const char *key_id)
{
    pthread_rwlock_wrlock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (!strcmp(cache[i].who.key_id, key_id))
            memset(&cache[i], 0, sizeof(cache[i]));
    pthread_rwlock_unlock(&cache_lock);
}

void auth_forget_all(void)
{
    pthread_rwlock_wrlock(&cache_lock);
    memset(cache, 0, sizeof(cache));
    pthread_rwlock_unlock(&cache_lock);
}

int auth_listen_start(const char *conninfo)
{
    return db_listen_start(conninfo, "csrd_api_key_revoked", auth_forget, auth_forget_all);
}

void auth_listen_stop(void)
{
    db_listen_stop();
}

static void unauthorized(struct request *r, const char *detail)
{
    http_add_header(r, "WWW-Authenticate", "Bearer realm=\"csrd\"");
    http_problem(r, 401, detail);
}

bool auth_authenticate(struct request *r)
{
    const char *h = http_header(r, "Authorization");
    if (!h) {
        unauthorized(r, "an Authorization: Bearer <token> header is required");
        return false;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        unauthorized(r, "only Bearer tokens are accepted");
        return false;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    size_t n = strlen(token);
    if (n == 0 || n > 256) {
        unauthorized(r, "the token is not valid");
        return false;
    }
    char hash[SHA256_HEX_LEN];
    sha256_hex(token, n, hash);
    if (cache_get(hash, &r->who))
        return true;
    const char *params[] = {hash};
    struct db_rows *rows = db_run(r, "auth_lookup", 1, params);
    if (!rows)
        return false; /* 503 queued */
    if (db_nrows(rows) != 1) {
        unauthorized(r, "the token is not valid or was revoked");
        return false;
    }
    snprintf(r->who.key_id, sizeof(r->who.key_id), "%s", db_get(rows, 0, 0));
    snprintf(r->who.name, sizeof(r->who.name), "%s", db_get(rows, 0, 1));
    r->who.role = role_parse(db_get(rows, 0, 2));
    cache_put(hash, &r->who);
    return true;
}

void auth_new_token(char token[49], char hash[65])
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        abort();
    struct arena a;
    arena_init(&a);
    snprintf(token, 49, "csrd_%s", text_b64url_encode(&a, raw, sizeof(raw)));
    arena_free(&a);
    sha256_hex(token, strlen(token), hash);
}

bool auth_ensure_admin(struct request *r, const char *token)
{
    char hash[SHA256_HEX_LEN], id[UUID_STR_LEN], prefix[13];
    sha256_hex(token, strlen(token), hash);
    uuid7_new(id);
    snprintf(prefix, sizeof(prefix), "%.12s", token);
    const char *params[] = {id, hash, prefix};
    return db_run(r, "auth_ensure_admin", 3, params) != NULL;
}

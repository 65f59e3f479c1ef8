/* Bearer tokens -> principals, with a small TTL cache keyed by the token's hash (the token
 * itself is never stored, not even in memory beyond the request; see auth_cache.h). */
#include "auth.h"
#include "auth_cache.h"
#include "config.h"
#include "db/listen.h"
#include "util/sha256.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

// clang-format off
const struct db_stmt auth_statements[] = {
    /* a live key, not expired; its last use is written at most once a minute (schema/015) */
    {"auth_lookup",
     "WITH k AS (SELECT id, name, role, last_used_at FROM api_keys WHERE token_hash = $1"
     " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())),"
     " u AS (UPDATE api_keys a SET last_used_at = csrd_now() FROM k WHERE a.id = k.id"
     " AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'))"
     " SELECT id, name, role FROM k"},
    {"auth_ensure_admin",
     "INSERT INTO api_keys (id, name, role, token_hash, token_prefix)"
     " VALUES ($1, 'admin (CSRD_ADMIN_TOKEN)', 'admin', $2, $3)"
     " ON CONFLICT (token_hash) DO UPDATE SET role = 'admin', revoked_at = NULL,"
     " version = api_keys.version + 1, updated_at = csrd_now()"
     " WHERE api_keys.role <> 'admin' OR api_keys.revoked_at IS NOT NULL"},
    {NULL, NULL}};
// clang-format on

void auth_forget(const char *key_id)
{
    auth_cache_forget(key_id);
}

int auth_listen_start(const char *conninfo)
{
    return db_listen_start(conninfo, "csrd_api_key_revoked", auth_cache_forget,
                           auth_cache_forget_all);
}

void auth_listen_stop(void)
{
    db_listen_stop();
}

enum auth_result auth_authenticate(const char *h, struct db_session **session,
                                   struct principal *who, struct db_error *err)
{
    if (!h)
        return AUTH_MISSING;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return AUTH_SCHEME;
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    size_t n = strlen(token);
    if (n == 0 || n > 256)
        return AUTH_INVALID;
    char hash[SHA256_HEX_LEN];
    sha256_hex(token, n, hash);
    uint64_t now = time_mono_us() / 1000;
    if (cfg->auth_cache_ms > 0 && auth_cache_get(hash, now, who))
        return AUTH_OK;
    uint64_t generation = auth_cache_generation(); /* before the lookup: see auth_cache.h */
    if (!*session && db_session_open(DB_PRIMARY, false, session, err) != DB_OK)
        return AUTH_DB_FAILED;
    const char *params[] = {hash};
    struct db_rows *rows;
    if (db_exec(*session, "auth_lookup", 1, params, &rows) != DB_OK) {
        *err = *db_last_error(*session);
        return AUTH_DB_FAILED;
    }
    if (db_nrows(rows) != 1)
        return AUTH_INVALID;
    snprintf(who->key_id, sizeof(who->key_id), "%s", db_get(rows, 0, 0));
    snprintf(who->name, sizeof(who->name), "%s", db_get(rows, 0, 1));
    who->role = role_parse(db_get(rows, 0, 2));
    if (cfg->auth_cache_ms > 0)
        auth_cache_put(hash, who, generation, now + (uint64_t)cfg->auth_cache_ms);
    return AUTH_OK;
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

enum db_status auth_ensure_admin(const char *token, struct db_error *err)
{
    char hash[SHA256_HEX_LEN], id[UUID_STR_LEN], prefix[13];
    sha256_hex(token, strlen(token), hash);
    uuid7_new(id);
    snprintf(prefix, sizeof(prefix), "%.12s", token);
    const char *params[] = {id, hash, prefix};
    struct db_session *s;
    struct db_rows *rows;
    enum db_status st = db_session_open(DB_PRIMARY, false, &s, err);
    if (st != DB_OK)
        return st;
    st = db_exec(s, "auth_ensure_admin", 3, params, &rows);
    if (st != DB_OK)
        *err = *db_last_error(s);
    db_session_close(s);
    return st;
}

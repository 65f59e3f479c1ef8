/* API-key authentication. Tokens are random, shown once, and stored only as SHA-256 hashes;
 * a verified key is remembered for CSRD_AUTH_CACHE_MS (default 1 s) so that the database is
 * not asked on every request. A revocation is announced with NOTIFY in its transaction and
 * every instance drops the key when it hears it; the cache lifetime only bounds the time a
 * revoked key can survive while an instance's listener is disconnected. Keys are always
 * checked on the primary: a lagging replica may still hold a revoked key. */
#ifndef CSRD_AUTH_H
#define CSRD_AUTH_H
#include <stdbool.h>
#include "db/db.h"
#include "principal.h"

extern const struct db_stmt auth_statements[];

enum auth_result {
    AUTH_OK,
    AUTH_MISSING,   /* no Authorization header */
    AUTH_SCHEME,    /* not a Bearer token */
    AUTH_INVALID,   /* unknown, malformed or revoked token */
    AUTH_DB_FAILED, /* the database could not be asked; *err tells why */
};

/* Checks an Authorization header value (NULL when absent). On a cache miss the key is looked
 * up through *session, which is opened on the primary when NULL (the caller closes it). */
enum auth_result auth_authenticate(const char *authorization, struct db_session **session,
                                   struct principal *who, struct db_error *err);
/* Drops every cached entry of the key (after revocation). */
void auth_forget(const char *key_id);
/* Listens for revocations made by any instance (channel csrd_api_key_revoked, payload: the
 * key id) and forgets those keys at once. */
int auth_listen_start(const char *conninfo);
void auth_listen_stop(void);
/* Makes a fresh token ("csrd_" + 43 base64url characters) and its hash. */
void auth_new_token(char token[49], char hash[65]);
/* At start: make sure an admin key with exactly this token exists and is not revoked. */
enum db_status auth_ensure_admin(const char *token, struct db_error *err);
#endif

/* API-key authentication. Tokens are random, shown once, and stored only as SHA-256 hashes;
 * a verified key is remembered for CSRD_AUTH_CACHE_MS (default 1 s) so that the database is
 * not asked on every request. A revocation is announced with NOTIFY in its transaction and
 * every instance drops the key when it hears it; the cache lifetime only bounds the time a
 * revoked key can survive while an instance's listener is disconnected. */
#ifndef CSRD_AUTH_H
#define CSRD_AUTH_H
#include <stdbool.h>
#include "db/db.h"

extern const struct db_stmt auth_statements[];

/* Reads the Authorization header; fills r->who, or queues 401 (or 503) and returns false. */
bool auth_authenticate(struct request *r);
/* Drops every cached entry of the key (after revocation). */
void auth_forget(const char *key_id);
/* Drops the whole cache (after notifications may have been missed). */
void auth_forget_all(void);
/* Listens for revocations made by any instance (channel csrd_api_key_revoked, payload: the
 * key id) and forgets those keys at once. */
int auth_listen_start(const char *conninfo);
void auth_listen_stop(void);
/* Makes a fresh token ("csrd_" + 43 base64url characters) and its hash. */
void auth_new_token(char token[49], char hash[65]);
/* At start: make sure an admin key with exactly this token exists and is not revoked. */
bool auth_ensure_admin(struct request *r, const char *token);
#endif

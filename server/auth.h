/* API-key authentication. Tokens are random, shown once, and stored only as SHA-256 hashes;
 * a verified key is remembered for CSRD_AUTH_CACHE_MS (default 1 s) so that the database is
 * not asked on every request. Revoking on this instance forgets it at once; other instances
 * stop accepting it within the cache time. */
#ifndef CSRD_AUTH_H
#define CSRD_AUTH_H
#include <stdbool.h>
#include "db/db.h"

extern const struct db_stmt auth_statements[];

/* Reads the Authorization header; fills r->who, or queues 401 (or 503) and returns false. */
bool auth_authenticate(struct request *r);
/* Drops every cached entry of the key (after revocation). */
void auth_forget(const char *key_id);
/* Makes a fresh token ("csrd_" + 43 base64url characters) and its hash. */
void auth_new_token(char token[49], char hash[65]);
/* At start: make sure an admin key with exactly this token exists and is not revoked. */
bool auth_ensure_admin(struct request *r, const char *token);
#endif

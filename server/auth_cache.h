/* The cache of verified API keys, keyed by the token's SHA-256 hash. A lookup in the database
 * and the revocation of the same key can interleave: the lookup reads the key as valid, the
 * revocation notice clears the cache, then the lookup stores its (now stale) answer. So every
 * forget bumps a generation counter, a lookup reads the generation before it asks the
 * database, and a put whose generation is no longer current is refused. Times are a
 * monotonic clock in milliseconds, supplied by the caller (tests pass their own). */
#ifndef CSRD_AUTH_CACHE_H
#define CSRD_AUTH_CACHE_H
#include <stdbool.h>
#include <stdint.h>
#include "principal.h"

/* Read before the database lookup whose answer will be put. */
uint64_t auth_cache_generation(void);
/* A hit whose expiry lies after now_ms fills *out. */
bool auth_cache_get(const char *hash, uint64_t now_ms, struct principal *out);
/* Stores who under hash until expires_ms unless something was forgotten since `generation`
 * was read; false when refused. */
bool auth_cache_put(const char *hash, const struct principal *who, uint64_t generation,
                    uint64_t expires_ms);
/* Drops every entry of the key (after a revocation). */
void auth_cache_forget(const char *key_id);
/* Drops everything (after revocation notices may have been missed). */
void auth_cache_forget_all(void);
#endif

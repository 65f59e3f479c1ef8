/* Per-API-key token buckets for CSRD_RATE_LIMIT (requests per second, bursts up to one
 * second's worth). Per process: with N instances the effective limit is N times higher. */
#ifndef CSRD_RATELIMIT_H
#define CSRD_RATELIMIT_H
#include <stdbool.h>

/* The key's bucket after a request, for the RateLimit-* headers: limit (the burst, requests
 * per one-second window), remaining (whole requests left now), reset (seconds until the bucket
 * is full again) and, when refused, retry_after (seconds until one request is allowed). */
struct ratelimit_state {
    int limit, remaining, reset, retry_after;
};

/* True when the key may proceed (and takes one token); *st describes the bucket either way. */
bool ratelimit_allow(const char *key_id, double rate, struct ratelimit_state *st);
#endif

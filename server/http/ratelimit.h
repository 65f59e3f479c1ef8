/* Per-API-key token buckets for CSRD_RATE_LIMIT (requests per second, bursts up to one
 * second's worth). Per process: with N instances the effective limit is N times higher. */
#ifndef CSRD_RATELIMIT_H
#define CSRD_RATELIMIT_H
#include <stdbool.h>

/* True when the key may proceed; otherwise *retry_after_s says when to come back. */
bool ratelimit_allow(const char *key_id, double rate, int *retry_after_s);
#endif

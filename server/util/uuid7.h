/* UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids sort by
 * creation time and B-tree inserts stay at the right edge of the index. */
#ifndef CSRD_UUID7_H
#define CSRD_UUID7_H
#include <stdbool.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* Fills out (lower-case, hyphenated) with a fresh v7 id for the given time in ms. */
void uuid7_make(uint64_t unix_ms, char out[UUID_STR_LEN]);
void uuid7_new(char out[UUID_STR_LEN]);
/* True when s is a hyphenated UUID of any version (what path parameters must be). */
bool uuid_is_valid(const char *s);
#endif

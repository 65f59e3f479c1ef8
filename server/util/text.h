/* Small text codecs: base64url, percent-encoding, UTF-8 validation, hex. */
#ifndef CSRD_TEXT_H
#define CSRD_TEXT_H
#include <stdbool.h>
#include <stddef.h>
#include "util/arena.h"

/* base64url without padding; result from the arena. */
char *text_b64url_encode(struct arena *a, const unsigned char *data, size_t len);
/* Decodes base64url (no padding); NULL on any invalid character. *len gets the size; the
 * result is NUL-terminated for convenience. */
unsigned char *text_b64url_decode(struct arena *a, const char *s, size_t *len);
/* Percent-encodes everything but RFC 3986 unreserved characters. */
char *text_url_encode(struct arena *a, const char *s);
bool text_utf8_valid(const char *s, size_t len);
void text_hex(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
/* Parses a whole decimal integer within [min, max]; false otherwise. */
bool text_parse_long(const char *s, long min, long max, long *out);
#endif

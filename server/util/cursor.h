/* Opaque keyset cursors: the last row's sort key and id, tagged with the sort they belong to,
 * base64url-encoded. A cursor from another sort (or a forged one) decodes to an error, which
 * the list plumbing turns into 400. */
#ifndef CSRD_CURSOR_H
#define CSRD_CURSOR_H
#include <stdbool.h>
#include "util/arena.h"

char *cursor_encode(struct arena *a, const char *sort, const char *key, const char *id);
/* On success *key and *id point into arena memory. */
bool cursor_decode(struct arena *a, const char *cursor, const char *sort, const char **key,
                   const char **id);
#endif

/* Opaque keyset cursors: the last row's sort key and id, tagged with the sort they belong to,
 * base64url-encoded and signed (HMAC-SHA256, truncated to 128 bits) with a per-deployment
 * secret that every instance shares. A cursor from another sort, another deployment, or one
 * edited by hand fails to decode, which the list plumbing answers with 400: the key it holds
 * reaches PostgreSQL only as the server wrote it. */
#ifndef CSRD_CURSOR_H
#define CSRD_CURSOR_H
#include <stdbool.h>
#include <stddef.h>
#include "util/arena.h"

struct cursor_secret {
    unsigned char key[32];
};

/* Derives the signing key from the deployment's stored secret (any text). */
void cursor_secret_derive(struct cursor_secret *s, const char *stored);
char *cursor_encode(struct arena *a, const struct cursor_secret *s, const char *sort,
                    const char *key, const char *id);
/* On success *key and *id point into arena memory. */
bool cursor_decode(struct arena *a, const struct cursor_secret *s, const char *cursor,
                   const char *sort, const char **key, const char **id);
#endif

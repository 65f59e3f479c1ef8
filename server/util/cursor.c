/* Layout before encoding: "c1" US sort US key US id (US = 0x1f, which keys never hold:
 * they come from the database as timestamps or validated names). */
#include "util/cursor.h"
#include "util/text.h"
#include "util/uuid7.h"
#include <string.h>

char *cursor_encode(struct arena *a, const char *sort, const char *key, const char *id)
{
    char *raw = arena_printf(a, "c1\x1f%s\x1f%s\x1f%s", sort, key, id);
    return text_b64url_encode(a, (const unsigned char *)raw, strlen(raw));
}

bool cursor_decode(struct arena *a, const char *cursor, const char *sort, const char **key,
                   const char **id)
{
    size_t len;
    if (!cursor || strlen(cursor) > 2048)
        return false;
    char *raw = (char *)text_b64url_decode(a, cursor, &len);
    if (!raw || strlen(raw) != len || !text_utf8_valid(raw, len))
        return false;
    char *f[4];
    int n = 0;
    char *p = raw;
    f[n++] = p;
    while ((p = strchr(p, '\x1f')) && n < 4) {
        *p++ = '\0';
        f[n++] = p;
    }
    if (n != 4 || p || strcmp(f[0], "c1") != 0 || strcmp(f[1], sort) != 0 || !uuid_is_valid(f[3]))
        return false;
    *key = f[2];
    *id = f[3];
    return true;
}

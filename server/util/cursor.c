/* Layout before encoding: "c2" US sort US key US id (US = 0x1f, which keys never hold: they
 * come from the database as timestamps, numbers or validated names), then "." and the
 * base64url MAC of the encoded part. */
#include "util/cursor.h"
#include "util/text.h"
#include "util/uuid7.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

#define MAC_BYTES 16

void cursor_secret_derive(struct cursor_secret *s, const char *stored)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "csrd cursor v2\n%s", stored);
    if (n < 0 || (size_t)n >= sizeof(buf))
        n = (int)sizeof(buf) - 1;
    SHA256((const unsigned char *)buf, (size_t)n, s->key);
}

static const char *mac_of(struct arena *a, const struct cursor_secret *s, const char *data,
                          size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    HMAC(EVP_sha256(), s->key, sizeof(s->key), (const unsigned char *)data, len, md, &md_len);
    return text_b64url_encode(a, md, MAC_BYTES);
}

char *cursor_encode(struct arena *a, const struct cursor_secret *s, const char *sort,
                    const char *key, const char *id)
{
    char *raw = arena_printf(a, "c2\x1f%s\x1f%s\x1f%s", sort, key, id);
    const char *body = text_b64url_encode(a, (const unsigned char *)raw, strlen(raw));
    return arena_printf(a, "%s.%s", body, mac_of(a, s, body, strlen(body)));
}

bool cursor_decode(struct arena *a, const struct cursor_secret *s, const char *cursor,
                   const char *sort, const char **key, const char **id)
{
    if (!cursor || strlen(cursor) > 2048)
        return false;
    const char *dot = strchr(cursor, '.');
    if (!dot)
        return false;
    size_t body_len = (size_t)(dot - cursor);
    const char *want = mac_of(a, s, cursor, body_len);
    if (strlen(dot + 1) != strlen(want) || CRYPTO_memcmp(dot + 1, want, strlen(want)) != 0)
        return false;
    size_t len;
    char *raw = (char *)text_b64url_decode(a, arena_strndup(a, cursor, body_len), &len);
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
    if (n != 4 || p || strcmp(f[0], "c2") != 0 || strcmp(f[1], sort) != 0 || !uuid_is_valid(f[3]))
        return false;
    *key = f[2];
    *id = f[3];
    return true;
}

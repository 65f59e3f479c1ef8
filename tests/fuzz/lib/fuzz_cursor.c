/* libFuzzer harness: client-supplied list cursors (util/cursor.c) under a fixed deployment
 * secret. A forged cursor stops at the MAC, so the input is tried three ways: as sent (must
 * never decode: the fuzzer cannot know the key), with its body signed here the way
 * cursor_encode signs (so the decoding and splitting behind the MAC are reached), and split
 * into sort / key / id for an encode-decode round trip. */
#include "util/arena.h"
#include "util/cursor.h"
#include "util/text.h"
#include "util/uuid7.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct cursor_secret secret;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    cursor_secret_derive(&secret, "libfuzzer fixed secret");
    return 0;
}

/* body "." base64url(HMAC-SHA256(key, body)[0..16)), as cursor.c writes it. */
static char *sign(struct arena *a, const char *body)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    HMAC(EVP_sha256(), secret.key, sizeof(secret.key), (const unsigned char *)body, strlen(body),
         md, &md_len);
    return arena_printf(a, "%s.%s", body, text_b64url_encode(a, md, 16));
}

static void decode_as_sent(struct arena *a, const char *s)
{
    const char *key, *id;
    if (cursor_decode(a, &secret, s, "created_at", &key, &id))
        abort(); /* a forged MAC: 2^-128 by chance, so a bug */
}

static void decode_signed(struct arena *a, const char *s)
{
    const char *key, *id;
    if (strchr(s, '.'))
        return;
    if (cursor_decode(a, &secret, sign(a, s), "created_at", &key, &id) &&
        (!uuid_is_valid(id) || strchr(key, '\x1f')))
        abort();
}

/* sort US key US id in the input: what the server encodes from a row must decode to itself
 * when the parts are of the kind it writes (no US, valid UTF-8, a uuid). */
static void round_trip(struct arena *a, char *s)
{
    char *key = strchr(s, '\x1f'), *id;
    if (!key || !(id = strchr(key + 1, '\x1f')))
        return;
    *key++ = '\0';
    *id++ = '\0';
    if (strchr(id, '\x1f') || !uuid_is_valid(id) || !text_utf8_valid(key, strlen(key)) ||
        !text_utf8_valid(s, strlen(s)))
        return;
    char *c = cursor_encode(a, &secret, s, key, id);
    const char *k2, *id2;
    if (strlen(c) > 2048)
        return; /* longer cursors are refused by design */
    if (!cursor_decode(a, &secret, c, s, &k2, &id2) || strcmp(k2, key) || strcmp(id2, id))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct arena a;
    arena_init(&a);
    decode_as_sent(&a, s);
    decode_signed(&a, s);
    round_trip(&a, s);
    arena_free(&a);
    free(s);
    return 0;
}

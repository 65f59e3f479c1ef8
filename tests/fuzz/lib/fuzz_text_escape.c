/* libFuzzer harness: the writers behind responses and exports that need no database. NDJSON
 * export lines and every JSON document csrd writes itself go through strbuf_json_string
 * (util/strbuf.c): for any valid UTF-8 text the literal must parse back, with jansson, to the
 * same text. PostgreSQL's text[] and timestamp output (util/pgtext.c) must give valid JSON or
 * be refused. The base64url and percent-encoding codecs (util/text.c) behind cursors and Link
 * headers must round-trip. The input's first byte picks the writer, the rest is its input.
 * The CSV writer (export_csv_field) is not here: it lives in resources/export.c, which needs
 * the database and HTTP layers to link. */
#include "util/arena.h"
#include "util/pgtext.h"
#include "util/strbuf.h"
#include "util/text.h"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void json_string_round_trip(const char *s, size_t len)
{
    if (strlen(s) != len || !text_utf8_valid(s, len))
        return; /* csrd's strings are NUL-free UTF-8 (jansson and the database see to it) */
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_json_string(&sb, s);
    json_t *back = json_loadb(sb.buf, sb.len, JSON_DECODE_ANY, NULL);
    if (!json_is_string(back) || strcmp(json_string_value(back), s) != 0)
        abort();
    json_decref(back);
    strbuf_free(&sb);
}

static void pg_array(const char *s)
{
    struct strbuf sb;
    strbuf_init(&sb);
    bool ok = pgtext_array_json(&sb, s);
    /* PostgreSQL sends UTF-8; what csrd accepted must then be a JSON array of strings/null */
    if (ok && text_utf8_valid(s, strlen(s))) {
        json_t *back = json_loadb(sb.buf, sb.len, 0, NULL);
        if (!json_is_array(back))
            abort();
        json_decref(back);
    }
    strbuf_free(&sb);
}

static void pg_timestamp(const char *s)
{
    char out[32];
    /* the shape csrd_ts writes: 2026-12-01T19:40:43.120Z */
    if (pgtext_timestamp(s, out) && (strlen(out) != 24 || out[10] != 'T' || out[19] != '.' ||
                                     out[23] != 'Z' || memcmp(out, s, 10) != 0))
        abort();
}

static void codecs(const char *s, size_t len)
{
    struct arena a;
    arena_init(&a);
    size_t n;
    const char *enc = text_b64url_encode(&a, (const unsigned char *)s, len);
    const unsigned char *dec = text_b64url_decode(&a, enc, &n);
    if (!dec || n != len || memcmp(dec, s, len) != 0)
        abort();
    (void)text_b64url_decode(&a, s, &n); /* the client's own text, as in a cursor */
    const char *url = text_url_encode(&a, s);
    if (strspn(url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%") !=
        strlen(url))
        abort();
    arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t len = size - 1;
    char *s = malloc(len + 1);
    memcpy(s, data + 1, len);
    s[len] = '\0';
    switch (data[0] % 4) {
    case 0:
        json_string_round_trip(s, len);
        break;
    case 1:
        pg_array(s);
        break;
    case 2:
        pg_timestamp(s);
        break;
    default:
        codecs(s, len);
        break;
    }
    free(s);
    return 0;
}

/* Unit tests: UUID v7, cursors, text codecs, time parsing. */
#include "check.h"
#include "util/cursor.h"
#include "util/pgtext.h"
#include "util/sha256.h"
#include "util/strbuf.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"

TEST(uuid7_layout_and_time)
{
    char id[UUID_STR_LEN];
    uuid7_make(0x0123456789abULL, id);
    CHECK(uuid_is_valid(id));
    CHECK(strncmp(id, "01234567-89ab-7", 15) == 0);
    CHECK(strchr("89ab", id[19]) != NULL); /* RFC 9562 variant */
}

TEST(uuid7_sorts_by_time_and_is_unique)
{
    char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN];
    uuid7_make(1000, a);
    uuid7_make(1001, b);
    uuid7_make(1001, c);
    CHECK(strcmp(a, b) < 0);
    CHECK(strcmp(b, c) != 0);
}

TEST(uuid_validation)
{
    CHECK(uuid_is_valid("01a20c70-293b-7304-a1e5-70de586757ac"));
    CHECK(!uuid_is_valid("01a20c70-293b-7304-a1e5-70de586757a"));
    CHECK(!uuid_is_valid("01a20c70x293b-7304-a1e5-70de586757ac"));
    CHECK(!uuid_is_valid("g1a20c70-293b-7304-a1e5-70de586757ac"));
    CHECK(!uuid_is_valid(""));
    CHECK(!uuid_is_valid(NULL));
}

TEST(cursor_roundtrip)
{
    struct arena a;
    arena_init(&a);
    struct cursor_secret sec;
    cursor_secret_derive(&sec, "deployment-one");
    const char *key, *id;
    char *c = cursor_encode(&a, &sec, "-created_at", "2026-01-02 03:04:05.678+00",
                            "01a20c70-293b-7304-a1e5-70de586757ac");
    CHECK(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
          strlen(c));
    CHECK(cursor_decode(&a, &sec, c, "-created_at", &key, &id));
    CHECK_STR(key, "2026-01-02 03:04:05.678+00");
    CHECK_STR(id, "01a20c70-293b-7304-a1e5-70de586757ac");
    arena_free(&a);
}

TEST(cursor_refuses_other_sort_and_garbage)
{
    struct arena a;
    arena_init(&a);
    struct cursor_secret sec;
    cursor_secret_derive(&sec, "deployment-one");
    const char *key, *id;
    char *c = cursor_encode(&a, &sec, "name", "Zed", "01a20c70-293b-7304-a1e5-70de586757ac");
    CHECK(!cursor_decode(&a, &sec, c, "-name", &key, &id));
    CHECK(!cursor_decode(&a, &sec, "not a cursor!", "name", &key, &id));
    CHECK(!cursor_decode(&a, &sec, "", "name", &key, &id));
    char *bad_id = cursor_encode(&a, &sec, "name", "Zed", "nope");
    CHECK(!cursor_decode(&a, &sec, bad_id, "name", &key, &id));
    arena_free(&a);
}

TEST(cursor_refuses_forged_key_and_other_deployment)
{
    struct arena a;
    arena_init(&a);
    struct cursor_secret sec, other;
    cursor_secret_derive(&sec, "deployment-one");
    cursor_secret_derive(&other, "deployment-two");
    const char *key, *id;
    char *c = cursor_encode(&a, &sec, "-created_at", "2026-01-02 03:04:05.678+00",
                            "01a20c70-293b-7304-a1e5-70de586757ac");
    /* signed by another deployment */
    CHECK(!cursor_decode(&a, &other, c, "-created_at", &key, &id));
    /* the old unsigned layout, with a key that is not a timestamp */
    const char raw[] = "c2\x1f-created_at\x1fnot-a-time\x1f"
                       "01a20c70-293b-7304-a1e5-70de586757ac";
    char *forged = text_b64url_encode(&a, (const unsigned char *)raw, strlen(raw));
    CHECK(!cursor_decode(&a, &sec, forged, "-created_at", &key, &id));
    /* the forged body with the genuine cursor's signature */
    char *mixed = arena_printf(&a, "%s%s", forged, strchr(c, '.'));
    CHECK(!cursor_decode(&a, &sec, mixed, "-created_at", &key, &id));
    /* one character of the genuine body changed */
    char *flipped = arena_strdup(&a, c);
    flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
    CHECK(!cursor_decode(&a, &sec, flipped, "-created_at", &key, &id));
    arena_free(&a);
}

TEST(b64url_roundtrip_all_lengths)
{
    struct arena a;
    arena_init(&a);
    const unsigned char data[] = {0, 1, 2, 250, 251, 252, 253, 254, 255, 42};
    for (size_t n = 0; n <= sizeof(data); n++) {
        char *enc = text_b64url_encode(&a, data, n);
        size_t len = 99;
        unsigned char *dec = text_b64url_decode(&a, enc, &len);
        CHECK(dec != NULL);
        CHECK_INT(len, n);
        CHECK(dec && memcmp(dec, data, n) == 0);
    }
    size_t len;
    CHECK(text_b64url_decode(&a, "a", &len) == NULL);
    CHECK(text_b64url_decode(&a, "ab+/", &len) == NULL);
    arena_free(&a);
}

TEST(url_encode_reserved)
{
    struct arena a;
    arena_init(&a);
    CHECK_STR(text_url_encode(&a, "a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    CHECK_STR(text_url_encode(&a, "AZaz09-._~"), "AZaz09-._~");
    arena_free(&a);
}

TEST(utf8_validation)
{
    CHECK(text_utf8_valid("plain", 5));
    CHECK(text_utf8_valid("张三 김철수", strlen("张三 김철수")));
    CHECK(!text_utf8_valid("\xff", 1));
    CHECK(!text_utf8_valid("\xc0\xaf", 2));         /* overlong */
    CHECK(!text_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!text_utf8_valid("\xe4\xb8", 2));         /* truncated */
    CHECK(!text_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

TEST(parse_long_bounds)
{
    long v;
    CHECK(text_parse_long("500", 1, 500, &v) && v == 500);
    CHECK(!text_parse_long("501", 1, 500, &v));
    CHECK(!text_parse_long("0", 1, 500, &v));
    CHECK(!text_parse_long("12a", 1, 500, &v));
    CHECK(!text_parse_long("", 1, 500, &v));
    CHECK(!text_parse_long("-", -5, 5, &v));
    CHECK(!text_parse_long(" 5", 1, 500, &v));
    CHECK(!text_parse_long("99999999999999999999", 1, 500, &v));
}

TEST(rfc3339_parsing)
{
    CHECK(time_rfc3339_valid("2026-11-24T07:09:12Z"));
    CHECK(time_rfc3339_valid("2026-11-24T07:09:12.123Z"));
    CHECK(time_rfc3339_valid("2026-11-24T07:09:12.123456+08:00"));
    CHECK(time_rfc3339_valid("2024-02-29T00:00:00-05:30"));
    CHECK(!time_rfc3339_valid("2023-02-29T00:00:00Z"));
    CHECK(!time_rfc3339_valid("2026-11-24"));
    CHECK(!time_rfc3339_valid("2026-11-24T25:00:00Z"));
    CHECK(!time_rfc3339_valid("2026-11-24T07:09:12"));
    CHECK(!time_rfc3339_valid("2026-11-24T07:09:12.Z"));
    CHECK(!time_rfc3339_valid("yesterday"));
}

TEST(date_and_hhmm_parsing)
{
    CHECK(time_date_valid("1990-12-31"));
    CHECK(!time_date_valid("1990-13-01"));
    CHECK(!time_date_valid("1990-04-31"));
    CHECK(!time_date_valid("90-04-01"));
    CHECK(time_hhmm_valid("09:30"));
    CHECK(time_hhmm_valid("24:00"));
    CHECK(!time_hhmm_valid("24:01"));
    CHECK(!time_hhmm_valid("9:30"));
}

TEST(time_format_ms)
{
    char out[48];
    time_format_ms(1795505006907ULL, out);
    CHECK_STR(out, "2026-11-24T07:23:26.907Z");
}

TEST(rfc3339_to_unix_ms)
{
    int64_t ms = 0;
    CHECK(time_rfc3339_to_ms("1970-01-01T00:00:00Z", &ms) && ms == 0);
    CHECK(time_rfc3339_to_ms("2026-11-24T07:23:26.907Z", &ms) && ms == 1795505006907LL);
    CHECK(time_rfc3339_to_ms("2026-11-24T15:23:26.9071+08:00", &ms) && ms == 1795505006907LL);
    CHECK(time_rfc3339_to_ms("2000-02-29T00:00:00-01:30", &ms) && ms == 951787800000LL);
    CHECK(!time_rfc3339_to_ms("2026-11-24", &ms));
}

TEST(sha256_known_vector)
{
    char hex[SHA256_HEX_LEN];
    sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(int argc, char **argv)
{
    return check_main(argc, argv);
}

TEST(pg_timestamps_become_rfc3339_milliseconds)
{
    char out[32];
    CHECK(pgtext_timestamp("2026-12-01 19:40:43.123+00", out));
    CHECK_STR(out, "2026-12-01T19:40:43.123Z");
    CHECK(pgtext_timestamp("2026-12-01 19:40:43.12+00", out));
    CHECK_STR(out, "2026-12-01T19:40:43.120Z");
    CHECK(pgtext_timestamp("1996-02-29 00:00:00+00", out));
    CHECK_STR(out, "1996-02-29T00:00:00.000Z");
    CHECK(pgtext_timestamp("2026-01-02 03:04:05.678999+00", out)); /* truncated, as csrd_ts */
    CHECK_STR(out, "2026-01-02T03:04:05.678Z");
    const char *bad[] = {"2026-12-01 19:40:43+01",
                         "2026-12-01T19:40:43+00",
                         "2026-12-01 19:40:43.+00",
                         "2026-12-01 19:40:43.1234567+00",
                         "0044-03-15 12:00:00+00 BC",
                         "2026-12-01 19:40:43",
                         "",
                         "infinity",
                         NULL};
    for (const char **b = bad; *b; b++) {
        CHECK(!pgtext_timestamp(*b, out));
        if (pgtext_timestamp(*b, out))
            fprintf(stderr, "accepted %s\n", *b);
    }
}

static void check_array(const char *in, const char *want)
{
    struct strbuf sb;
    strbuf_init(&sb);
    bool ok = pgtext_array_json(&sb, in);
    if (want) {
        CHECK(ok);
        CHECK_STR(sb.buf ? sb.buf : "", want);
    } else {
        CHECK(!ok);
    }
    if (ok != (want != NULL))
        fprintf(stderr, "array literal %s\n", in);
    strbuf_free(&sb);
}

TEST(pg_text_arrays_become_json_arrays)
{
    check_array("{}", "[]");
    check_array("{a}", "[\"a\"]");
    check_array("{a,b,c}", "[\"a\",\"b\",\"c\"]");
    /* what PostgreSQL quotes: separators, quotes, backslashes, braces, spaces, "", NULL */
    check_array("{\"a b\",\"c,d\",\"e\\\"f\",\"g\\\\h\",\"{x}\",\"\",\"NULL\"}",
                "[\"a b\",\"c,d\",\"e\\\"f\",\"g\\\\h\",\"{x}\",\"\",\"NULL\"]");
    check_array("{NULL,null,x}", "[null,null,\"x\"]");
    check_array("{\xe4\xb8\xad\xe6\x96\x87,\"\xea\xb9\x80 \xeb\xaf\xbc\"}",
                "[\"\xe4\xb8\xad\xe6\x96\x87\",\"\xea\xb9\x80 \xeb\xaf\xbc\"]");
    const char *bad[] = {"",      "a",      "{",     "{a",   "{a,}",        "{,a}",
                         "{\"a}", "{a\"b}", "{{a}}", "{a}x", "[0:1]={a,b}", NULL};
    for (const char **b = bad; *b; b++)
        check_array(*b, NULL);
}

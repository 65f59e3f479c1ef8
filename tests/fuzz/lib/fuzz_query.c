/* libFuzzer harness: a raw query string ("a=1&b=x%2Cy") through what csrd does with it. It is
 * split and percent-decoded here the way libmicrohttpd hands arguments to server.c (a %00 is
 * flagged, never passed on cut short), then run through the checks of server.c's parse_query
 * and the list conventions of resources/plumbing.c: unknown or repeated parameters, limit,
 * sort, booleans, timestamps, uuids and comma-separated enum lists (the enum-list filter lives
 * in plumbing.c with the database, so its splitting is mirrored here around the shared parts). */
#include "http/query.h"
#include "util/arena.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const ALLOWED[] = {"limit", "sort",     "cursor", "count",
                                      "tier",  "status",   "tag",    "created_after",
                                      "id",    "archived", NULL};
static const char *const SORTS[] = {"created_at", "updated_at", "name", NULL};
static const char *const TIERS[] = {"vip", "key", "regular", "minor", NULL};

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* In place, as libmicrohttpd does ('+' is a space; a bad escape stays as it is). Returns the
 * decoded length, which is more than strlen() when a %00 was decoded. */
static size_t url_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        int hi, lo;
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%' && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return (size_t)(o - s);
}

static void add_arg(struct query *q, char *pair)
{
    if (q->n == QUERY_MAX_ARGS) {
        q->too_many = true;
        return;
    }
    char *eq = strchr(pair, '=');
    char *value = eq ? eq + 1 : pair + strlen(pair);
    if (eq)
        *eq = '\0';
    if (url_decode(pair) != strlen(pair) || url_decode(value) != strlen(value))
        q->has_nul = true;
    q->args[q->n].key = pair;
    q->args[q->n].value = value;
    q->n++;
}

/* plumbing.c's filter_enum_list: every comma-separated item known, none empty. */
static bool enum_list_ok(struct arena *a, const char *v, const char *const *values)
{
    char *copy = arena_strdup(a, v), *save = NULL;
    size_t count = 0, commas = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *const *e = values;
        while (*e && strcmp(*e, item))
            e++;
        if (!*e)
            break;
        count++;
    }
    for (const char *p = v; *p; p++)
        commas += *p == ',';
    return count > 0 && count == commas + 1;
}

static void list_conventions(struct arena *a, const struct query *q)
{
    long limit;
    int sort;
    bool desc, flag;
    int64_t ms;
    const char *v;
    (void)query_unknown_or_repeated(q, ALLOWED);
    if ((v = query_get(q, "limit")) && text_parse_long(v, 1, 500, &limit) &&
        (limit < 1 || limit > 500))
        abort();
    if ((v = query_get(q, "sort")) && query_parse_sort(v, SORTS, &sort, &desc) &&
        (sort < 0 || sort > 2))
        abort();
    if ((v = query_get(q, "count")))
        (void)query_parse_bool(v, &flag);
    if ((v = query_get(q, "archived")))
        (void)query_parse_bool(v, &flag);
    if ((v = query_get(q, "tier")))
        (void)enum_list_ok(a, v, TIERS);
    if ((v = query_get(q, "created_after")) && time_rfc3339_valid(v) && !time_rfc3339_to_ms(v, &ms))
        abort(); /* valid but not convertible: the database would get what C refused */
    if ((v = query_get(q, "id")))
        (void)uuid_is_valid(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0; /* CSRD_MAX_URL is 4096 */
    char *raw = malloc(size + 1);
    memcpy(raw, data, size);
    raw[size] = '\0';
    struct query q = {0};
    char *save = NULL;
    for (char *pair = strtok_r(raw, "&", &save); pair; pair = strtok_r(NULL, "&", &save))
        add_arg(&q, pair);
    struct arena a;
    arena_init(&a);
    bool admitted = !q.too_many && !q.has_nul;
    for (size_t i = 0; admitted && i < q.n; i++)
        admitted = text_utf8_valid(q.args[i].key, strlen(q.args[i].key)) &&
                   text_utf8_valid(q.args[i].value, strlen(q.args[i].value)) &&
                   strlen(q.args[i].value) <= 1000;
    if (admitted)
        list_conventions(&a, &q);
    arena_free(&a);
    free(raw);
    return 0;
}

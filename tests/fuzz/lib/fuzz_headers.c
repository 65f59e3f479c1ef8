/* libFuzzer harness: the request headers csrd parses itself (http/headers.c): If-Match /
 * If-None-Match entity-tag lists, Content-Type, Idempotency-Key and X-Request-Id. The first
 * input byte picks the record version to compare tags with; the rest is the header value. */
#include "http/headers.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void check_etags(const char *h, long version)
{
    enum etag_match m = http_etag_match(h, version);
    if (m != ETAG_MATCH && m != ETAG_NO_MATCH && m != ETAG_MALFORMED)
        abort();
    /* "*" matches any version; a list that names the version matches it */
    if (m == ETAG_NO_MATCH && strchr(h, '*') && !strchr(h, '"'))
        abort();
    char tag[64];
    snprintf(tag, sizeof(tag), "\"%ld\"", version);
    if (http_etag_match(tag, version) != ETAG_MATCH)
        abort();
}

static void check_content_type(const char *ct)
{
    bool json = http_content_type_is_json(ct);
    bool exact = http_content_type_is(ct, "application/json");
    /* the generic check accepts whatever names application/json exactly */
    if (exact && !json && strncasecmp(ct, "application/json", 16) == 0 &&
        (ct[16] == '\0' || ct[16] == ';'))
        abort();
    (void)http_content_type_is(ct, "application/x-ndjson");
}

/* What the server lets into logs and headers must be printable ASCII without separators. */
static void check_ids(const char *s)
{
    if (http_request_id_acceptable(s))
        for (const char *p = s; *p; p++)
            if (*p <= ' ' || *p >= 0x7f || *p == ',' || *p == ';' || *p == '"')
                abort();
    if (http_idempotency_key_ok(s)) {
        size_t n = strlen(s);
        if (n == 0 || n > 255)
            abort();
        for (const char *p = s; *p; p++)
            if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    long version = data[0]; /* versions start at 1 and grow by one per change */
    char *h = malloc(size);
    memcpy(h, data + 1, size - 1);
    h[size - 1] = '\0';
    check_etags(h, version);
    check_content_type(h);
    check_ids(h);
    (void)http_request_id_acceptable(NULL);
    free(h);
    return 0;
}

/* Header grammars from RFC 9110 (media-type and entity-tag), reduced to what we accept. */
#include "http/headers.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool media_params_ok(const char *p)
{
    /* p points after the media type: only ";" parameters may follow */
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return true;
    if (*p != ';')
        return false;
    const char *cs = strcasestr(p, "charset=");
    if (cs) {
        cs += 8;
        if (*cs == '"')
            cs++;
        if (strncasecmp(cs, "utf-8", 5) != 0 && strncasecmp(cs, "utf8", 4) != 0)
            return false;
    }
    return true;
}

bool http_content_type_is(const char *ct, const char *type)
{
    if (!ct)
        return false;
    size_t n = strlen(type);
    return strncasecmp(ct, type, n) == 0 && media_params_ok(ct + n);
}

bool http_content_type_is_json(const char *ct)
{
    if (!ct || strncasecmp(ct, "application/", 12) != 0)
        return false;
    const char *sub = ct + 12;
    size_t n = strcspn(sub, "; \t");
    if (n == 4 && strncasecmp(sub, "json", 4) == 0)
        return media_params_ok(sub + n);
    if (n > 5 && strncasecmp(sub + n - 5, "+json", 5) == 0)
        return media_params_ok(sub + n);
    return false;
}

enum etag_match http_etag_match(const char *h, long version)
{
    if (!h)
        return ETAG_NO_MATCH;
    bool any = false, match = false;
    const char *p = h;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*') {
            match = true;
            any = true;
            p++;
            continue;
        }
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return ETAG_MALFORMED;
        const char *end = strchr(p + 1, '"');
        if (!end)
            return ETAG_MALFORMED;
        any = true;
        const char *q = p + 1;
        if (q < end && end - q < 19) {
            bool digits = true;
            for (const char *d = q; d < end; d++)
                digits = digits && isdigit((unsigned char)*d);
            if (digits && strtol(q, NULL, 10) == version)
                match = true;
        }
        p = end + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return ETAG_MALFORMED;
    }
    if (!any)
        return ETAG_MALFORMED;
    return match ? ETAG_MATCH : ETAG_NO_MATCH;
}

bool http_idempotency_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return false;
    for (; *k; k++)
        if (*k < 0x21 || *k > 0x7e)
            return false;
    return true;
}

bool http_request_id_acceptable(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.' || *s == ':'))
            return false;
    return true;
}

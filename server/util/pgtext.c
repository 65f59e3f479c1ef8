/* See pgtext.h. */
#include "util/pgtext.h"
#include <string.h>
#include <strings.h>

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool pgtext_timestamp(const char *in, char out[32])
{
    /* YYYY-MM-DD HH:MM:SS[.ffffff]+00 */
    size_t len = strlen(in);
    if (len < 22 || !digits(in, 4) || in[4] != '-' || !digits(in + 5, 2) || in[7] != '-' ||
        !digits(in + 8, 2) || in[10] != ' ' || !digits(in + 11, 2) || in[13] != ':' ||
        !digits(in + 14, 2) || in[16] != ':' || !digits(in + 17, 2))
        return false;
    const char *p = in + 19;
    char ms[4] = "000";
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                ms[n] = *p;
            n++;
            p++;
        }
        if (n == 0 || n > 6)
            return false;
    }
    if (strcmp(p, "+00") != 0)
        return false;
    memcpy(out, in, 10);
    out[10] = 'T';
    memcpy(out + 11, in + 11, 8);
    out[19] = '.';
    memcpy(out + 20, ms, 3);
    out[23] = 'Z';
    out[24] = '\0';
    return true;
}

bool pgtext_array_json(struct strbuf *out, const char *in)
{
    if (in[0] != '{')
        return false;
    const char *p = in + 1;
    strbuf_puts(out, "[");
    if (*p == '}') {
        strbuf_puts(out, "]");
        return p[1] == '\0';
    }
    struct strbuf el;
    strbuf_init(&el);
    bool ok = false;
    for (bool first = true;; first = false) {
        el.len = 0;
        if (el.buf)
            el.buf[0] = '\0';
        bool quoted = *p == '"', null = false;
        if (quoted) {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                strbuf_append(&el, p, 1);
            }
            if (*p != '"')
                goto done;
            p++;
        } else {
            size_t n = strcspn(p, ",}");
            if (n == 0 || memchr(p, '"', n) || memchr(p, '{', n))
                goto done;
            null = n == 4 && !strncasecmp(p, "NULL", 4);
            strbuf_append(&el, p, n);
            p += n;
        }
        if (!first)
            strbuf_puts(out, ",");
        if (null)
            strbuf_puts(out, "null");
        else
            strbuf_json_string(out, el.buf ? el.buf : "");
        if (*p == ',') {
            p++;
            continue;
        }
        ok = *p == '}' && p[1] == '\0';
        break;
    }
    if (ok)
        strbuf_puts(out, "]");
done:
    strbuf_free(&el);
    return ok;
}

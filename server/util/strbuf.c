/* Growable buffer; aborts on out-of-memory like the arena (a server that cannot allocate
 * a few KiB has nothing sensible left to answer). */
#include "util/strbuf.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb)
{
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

static void strbuf_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->buf && sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->buf, cap);
    if (!p)
        abort();
    sb->buf = p;
    sb->cap = cap;
}

void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
    strbuf_reserve(sb, n);
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    strbuf_reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void strbuf_json_string(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_append(sb, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            const char esc[2] = {'\\', (char)*p};
            strbuf_append(sb, esc, 2);
        } else if (*p < 0x20) {
            const char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            strbuf_append(sb, esc, 6);
        } else {
            strbuf_append(sb, (const char *)p, 1);
        }
    }
    strbuf_append(sb, "\"", 1);
}

char *strbuf_take(struct strbuf *sb, size_t *len)
{
    if (!sb->buf)
        strbuf_append(sb, "", 0);
    char *p = sb->buf;
    if (len)
        *len = sb->len;
    strbuf_init(sb);
    return p;
}

void strbuf_free(struct strbuf *sb)
{
    free(sb->buf);
    strbuf_init(sb);
}

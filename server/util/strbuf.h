/* Growable byte buffer for building response bodies. The buffer is malloc'd: whoever takes
 * it with strbuf_take() frees it (the HTTP layer hands it to libmicrohttpd as MUST_FREE). */
#ifndef CSRD_STRBUF_H
#define CSRD_STRBUF_H
#include <stddef.h>

struct strbuf {
    char *buf;
    size_t len, cap;
};

void strbuf_init(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void strbuf_json_string(struct strbuf *sb, const char *s);
/* Returns the NUL-terminated buffer (caller frees) and resets sb. */
char *strbuf_take(struct strbuf *sb, size_t *len);
void strbuf_free(struct strbuf *sb);
#endif

/* The query string, as libmicrohttpd decoded it, in a form handlers can read without
 * libmicrohttpd types, plus the parsers for the list conventions (limit, sort, booleans). */
#ifndef CSRD_QUERY_H
#define CSRD_QUERY_H
#include <stdbool.h>
#include <stddef.h>

struct query_arg {
    const char *key, *value; /* value may be "" for a bare key */
};

#define QUERY_MAX_ARGS 32

struct query {
    struct query_arg args[QUERY_MAX_ARGS];
    size_t n;
    bool too_many;
    bool has_nul;
};

const char *query_get(const struct query *q, const char *key);
/* Name of the first argument not in allowed (NULL-terminated), a repeated one, or NULL. */
const char *query_unknown_or_repeated(const struct query *q, const char *const *allowed);
/* "true"/"false" (also 1/0); false when the text is neither. */
bool query_parse_bool(const char *s, bool *out);
/* Matches "field" or "-field" against allowed (NULL-terminated); *index and *desc set. */
bool query_parse_sort(const char *s, const char *const *allowed, int *index, bool *desc);
#endif

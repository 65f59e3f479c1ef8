/* Query-string helpers; unit-tested. */
#include "http/query.h"
#include <string.h>

const char *query_get(const struct query *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->args[i].key, key))
            return q->args[i].value;
    return NULL;
}

const char *query_unknown_or_repeated(const struct query *q, const char *const *allowed)
{
    for (size_t i = 0; i < q->n; i++) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, q->args[i].key))
            a++;
        if (!*a)
            return q->args[i].key;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(q->args[j].key, q->args[i].key))
                return q->args[i].key;
    }
    return NULL;
}

bool query_parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return true;
    }
    return false;
}

bool query_parse_sort(const char *s, const char *const *allowed, int *index, bool *desc)
{
    *desc = (*s == '-');
    if (*s == '-' || *s == '+')
        s++;
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(allowed[i], s)) {
            *index = i;
            return true;
        }
    return false;
}

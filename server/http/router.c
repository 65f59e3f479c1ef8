/* Linear match over a few dozen routes: cheaper than any index at this size, and the order of
 * the table is the order of precedence (literal segments before placeholders). */
#include "http/router.h"
#include "log.h"
#include <stdio.h>
#include <string.h>

#define ROUTER_MAX 128

static struct route routes[ROUTER_MAX];
static size_t nroutes;

static int placeholders(const char *pattern)
{
    int n = 0;
    for (; *pattern; pattern++)
        n += *pattern == '{';
    return n;
}

int router_init(const struct route *const *tables)
{
    nroutes = 0;
    for (; *tables; tables++)
        for (const struct route *rt = *tables; rt->pattern; rt++) {
            if (nroutes == ROUTER_MAX) {
                log_error("more than %d routes: raise ROUTER_MAX", ROUTER_MAX);
                return -1;
            }
            if (placeholders(rt->pattern) > PATH_MAX_PARAMS) {
                log_error("route %s has more than %d placeholders", rt->pattern, PATH_MAX_PARAMS);
                return -1;
            }
            routes[nroutes] = *rt;
            routes[nroutes].index = (int)nroutes;
            nroutes++;
        }
    return 0;
}

size_t router_count(void)
{
    return nroutes;
}

const struct route *router_at(size_t i)
{
    return i < nroutes ? &routes[i] : NULL;
}

/* Matches path against pattern; params receive placeholder values. */
static bool pattern_match(struct request *r, const char *pat, const char *path, const char **params)
{
    int np = 0;
    while (*pat && *path) {
        if (*pat != '/' || *path != '/')
            return false;
        pat++, path++;
        size_t plen = strcspn(pat, "/"), slen = strcspn(path, "/");
        if (*pat == '{') {
            if (slen == 0 || np >= PATH_MAX_PARAMS)
                return false;
            if (params)
                params[np] = arena_strndup(&r->arena, path, slen);
            np++;
        } else if (plen != slen || strncmp(pat, path, plen) != 0) {
            return false;
        }
        pat += plen, path += slen;
    }
    return *pat == '\0' && *path == '\0';
}

const char *router_method_text(enum http_method m)
{
    static const char *const names[] = {"GET",    "POST",    "PUT",  "PATCH",
                                        "DELETE", "OPTIONS", "HEAD", "?"};
    return names[m];
}

enum route_result router_match(struct request *r, const char *path, enum http_method m,
                               const struct route **out, char *allow, size_t allow_len)
{
    enum http_method want = (m == M_HEAD) ? M_GET : m;
    bool path_seen = false;
    size_t off = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < nroutes; i++) {
        if (!pattern_match(r, routes[i].pattern, path, NULL))
            continue;
        if (routes[i].method == want) {
            pattern_match(r, routes[i].pattern, path, r->params);
            *out = &routes[i];
            return ROUTE_FOUND;
        }
        path_seen = true;
        const char *name = router_method_text(routes[i].method);
        if (!strstr(allow, name) && off + strlen(name) + 3 < allow_len)
            off += (size_t)snprintf(allow + off, allow_len - off, "%s%s", off ? ", " : "", name);
    }
    if (path_seen && off + 11 < allow_len && strstr(allow, "GET") && !strstr(allow, "HEAD"))
        off += (size_t)snprintf(allow + off, allow_len - off, ", HEAD");
    if (path_seen && off + 11 < allow_len)
        snprintf(allow + off, allow_len - off, ", OPTIONS");
    return path_seen ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}

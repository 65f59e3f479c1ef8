/* The routing table: method + path pattern -> handler + least role. Patterns are literal
 * segments and {name} placeholders; a path that matches a pattern under another method gets
 * 405 with Allow. Resources contribute NULL-terminated arrays of routes. */
#ifndef CSRD_ROUTER_H
#define CSRD_ROUTER_H
#include "http/request.h"

#define ROUTE_READ_ONLY  1u /* may be served from the read replica */
#define ROUTE_IDEMPOTENT 2u /* a POST that honours Idempotency-Key (see http_hooks) */
#define ROUTE_BULK_BODY  4u /* takes bodies up to CSRD_MAX_BULK_BODY instead of CSRD_MAX_BODY */

struct route {
    enum http_method method;
    const char *pattern; /* "/v1/customers/{id}" */
    http_handler handler;
    enum role min_role; /* ROLE_NONE: no token needed */
    unsigned flags;
    int index; /* position in the merged table, set by router_init (metrics) */
};

/* Takes the NULL-pattern-terminated route arrays (copies them). -1, with the reason logged,
 * when there are more routes than the table holds or a pattern has more placeholders than
 * PATH_MAX_PARAMS: a route that silently never matches is a start-up error. */
int router_init(const struct route *const *tables);

/* "GET", "POST", ... for a method ("?" for M_OTHER). */
const char *router_method_text(enum http_method m);
size_t router_count(void);
const struct route *router_at(size_t i);

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };
/* On ROUTE_FOUND fills params (arena copies). On ROUTE_BAD_METHOD fills allow ("GET, POST").
 * HEAD is answered by GET routes. */
enum route_result router_match(struct request *r, const char *path, enum http_method m,
                               const struct route **out, char *allow, size_t allow_len);
#endif

/* Unit tests of the HTTP layer's pure parts: the router refuses tables it cannot hold, and a
 * problem replaces a success without keeping its Location, ETag or Link. */
#include "check.h"
#include "http/request.h"
#include "http/router.h"
#include <stdlib.h>
#include <string.h>

static void handler(struct request *r)
{
    (void)r;
}

static const char *header(const struct request *r, const char *name)
{
    for (const struct http_header *h = r->resp.headers; h; h = h->next)
        if (!strcmp(h->name, name))
            return h->value;
    return NULL;
}

TEST(router_refuses_more_placeholders_than_it_can_fill)
{
    static const struct route four[] = {
        {M_GET, "/v1/{a}/{b}/{c}/{d}", handler, ROLE_VIEWER, 0, 0}, {0, NULL, NULL, 0, 0, 0}};
    static const struct route three[] = {
        {M_GET, "/v1/{a}/{b}/{c}", handler, ROLE_VIEWER, 0, 0}, {0, NULL, NULL, 0, 0, 0}};
    const struct route *const bad[] = {four, NULL};
    const struct route *const good[] = {three, NULL};
    CHECK_INT(router_init(bad), -1);
    CHECK_INT(router_init(good), 0);
    CHECK_INT((long)router_count(), 1);
}

TEST(router_refuses_more_routes_than_it_holds)
{
    static struct route many[200];
    for (int i = 0; i < 199; i++)
        many[i] = (struct route){M_GET, "/x", handler, ROLE_NONE, 0, 0};
    const struct route *const tables[] = {many, NULL};
    CHECK_INT(router_init(tables), -1);
}

TEST(problem_drops_success_headers)
{
    struct request r;
    memset(&r, 0, sizeof(r));
    arena_init(&r.arena);
    strcpy(r.request_id, "unit");
    http_add_header(&r, "Retry-After", "1");
    http_add_header(&r, "Location", "/v1/customers/x");
    http_add_header(&r, "ETag", "\"1\"");
    http_reply_raw(&r, 201, "application/json", strdup("{}"), 2);
    /* the commit failed after the handler prepared its 201 */
    http_problem(&r, 503, "the change could not be committed; retry");
    CHECK_INT(r.resp.status, 503);
    CHECK(header(&r, "Location") == NULL);
    CHECK(header(&r, "ETag") == NULL);
    CHECK_STR(header(&r, "Retry-After"), "1");
    http_response_reset(&r);
    CHECK_INT(r.resp.status, 0);
    CHECK(r.resp.headers == NULL && r.resp.body == NULL);
    arena_free(&r.arena);
}

TEST(database_errors_never_show_the_server_text)
{
    struct request r;
    memset(&r, 0, sizeof(r));
    arena_init(&r.arena);
    strcpy(r.request_id, "unit");
    struct db_error e = {.status = DB_ERROR, .sqlstate = "22007"};
    strcpy(e.message, "invalid input syntax for type timestamp with time zone: \"x\"");
    http_problem_db(&r, &e);
    CHECK_INT(r.resp.status, 422);
    CHECK(r.resp.body && !strstr(r.resp.body, "syntax"));
    strcpy(e.sqlstate, "XX000");
    http_problem_db(&r, &e);
    CHECK_INT(r.resp.status, 500);
    CHECK(r.resp.body && !strstr(r.resp.body, "syntax"));
    e = (struct db_error){.status = DB_UNAVAILABLE, .reason = "the database is unreachable"};
    http_problem_db(&r, &e);
    CHECK_INT(r.resp.status, 503);
    CHECK_STR(header(&r, "Retry-After"), "1");
    free(r.resp.body);
    arena_free(&r.arena);
}

int main(int argc, char **argv)
{
    return check_main(argc, argv);
}

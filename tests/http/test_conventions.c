/* Black-box tests of the API conventions: auth, errors, limits, CORS, request ids, metrics,
 * the served spec. */
#include "harness.h"
#include <arpa/inet.h>
#include <signal.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *new_customer(const char *token)
{
    static char id[64];
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"person\",\"name\":\"%s\"}", unique("conv"));
    struct resp *r = req("POST", "/v1/customers", token, body, NULL);
    CHECK_STATUS(r, 201);
    snprintf(id, sizeof(id), "%s", r->json ? jstr(r->json, "id") : "");
    return id;
}

TEST(healthz_needs_no_token)
{
    struct resp *r = req("GET", "/healthz", NULL, NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK_STR(jstr(r->json, "status"), "ok");
}

TEST(readyz_reports_the_database_reachable)
{
    struct resp *r = req("GET", "/readyz", NULL, NULL, NULL);
    CHECK_STATUS(r, 200);
}

TEST(openapi_json_is_served_without_token)
{
    struct resp *r = req("GET", "/v1/openapi.json", NULL, NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK_STR(jstr(r->json, "openapi"), "3.1.0");
    CHECK(json_object_get(json_object_get(r->json, "paths"), "/v1/customers") != NULL);
}

TEST(docs_page_is_served_as_self_contained_html)
{
    struct resp *r = req("GET", "/docs", NULL, NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK_STR(resp_header(r, "Content-Type"), "text/html; charset=utf-8");
    const char *csp = resp_header(r, "Content-Security-Policy");
    CHECK(csp != NULL);
    if (csp) {
        CHECK(strstr(csp, "default-src 'none'") != NULL);
        CHECK(strstr(csp, "connect-src 'self'") != NULL);
        CHECK(strstr(csp, "script-src 'sha256-") != NULL);
        CHECK(strstr(csp, "http") == NULL); /* no other origin is allowed anything */
    }
    CHECK(r->body && strstr(r->body, "<html") != NULL);
    CHECK(r->body && strstr(r->body, "/v1/openapi.json") != NULL);
    /* nothing is loaded from elsewhere: no external script, style sheet, font or image */
    static const char *const external[] = {"src=\"http", "src='http",  "href=\"http", "href='http",
                                           "url(http",   "url(\"http", "url('http",   "@import",
                                           "src=\"//",   "href=\"//",  NULL};
    for (const char *const *x = external; *x; x++) {
        if (r->body && strstr(r->body, *x)) {
            fprintf(stderr, "/docs loads from elsewhere: %s\n", *x);
            check_failures++;
        }
    }
}

TEST(every_documented_operation_is_routed)
{
    struct resp *s = req("GET", "/v1/openapi.json", NULL, NULL, NULL);
    const char *tmpl;
    json_t *item;
    int checked = 0;
    json_object_foreach(json_object_get(s->json, "paths"), tmpl, item)
    {
        char path[256];
        size_t o = 0;
        for (const char *p = tmpl; *p && o < sizeof(path) - 40;) {
            if (*p == '{') {
                o += (size_t)snprintf(path + o, sizeof(path) - o,
                                      "00000000-0000-7000-8000-000000000000");
                p += strcspn(p, "}") + 1;
            } else {
                path[o++] = *p++;
            }
        }
        path[o] = '\0';
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            char upper[16];
            size_t i;
            for (i = 0; i < 15 && method[i]; i++)
                upper[i] = (char)toupper((unsigned char)method[i]);
            upper[i] = '\0';
            if (!strcmp(upper, "PARAMETERS"))
                continue;
            /* wrong token: 401 proves a route answered; public routes answer themselves */
            struct resp *r = req_raw(upper, path, "not-a-token", "{}", 2, NULL, false);
            CHECK(r->status != 405);
            CHECK(!(r->status == 404 && r->body && strstr(r->body, "no such resource")));
            checked++;
        }
    }
    CHECK(checked >= 10);
}

TEST(missing_token_is_401_with_challenge)
{
    struct resp *r = req("GET", "/v1/customers", NULL, NULL, NULL);
    CHECK_STATUS(r, 401);
    CHECK(resp_header(r, "WWW-Authenticate") != NULL);
    CHECK_STR(resp_header(r, "Content-Type"), "application/problem+json");
    CHECK_INT(json_integer_value(json_object_get(r->json, "status")), 401);
    CHECK(jstr(r->json, "type") && jstr(r->json, "title") && jstr(r->json, "detail") &&
          jstr(r->json, "request_id"));
}

TEST(wrong_token_is_401)
{
    CHECK_STATUS(req("GET", "/v1/customers", "csrd_wrong", NULL, NULL), 401);
    const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    CHECK_STATUS(req("GET", "/v1/customers", NULL, NULL, basic), 401);
}

TEST(viewer_cannot_create_and_agent_cannot_archive)
{
    struct resp *r = req("POST", "/v1/customers", key_for("viewer"),
                         "{\"kind\":\"person\",\"name\":\"x\"}", NULL);
    CHECK_STATUS(r, 403);
    const char *id = new_customer(key_for("agent"));
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", id);
    CHECK_STATUS(req("DELETE", path, key_for("agent"), NULL, NULL), 403);
    CHECK_STATUS(req("GET", path, key_for("viewer"), NULL, NULL), 200);
    CHECK_STATUS(req("DELETE", path, key_for("supervisor"), NULL, NULL), 204);
}

TEST(unknown_path_is_404_problem)
{
    struct resp *r = req("GET", "/v1/nothing-here", ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(r, 404);
    CHECK_STR(resp_header(r, "Content-Type"), "application/problem+json");
}

TEST(wrong_method_is_405_with_allow)
{
    struct resp *r = req("PUT", "/v1/customers", ADMIN_TOKEN, "{}", NULL);
    CHECK_STATUS(r, 405);
    const char *allow = resp_header(r, "Allow");
    CHECK(allow && strstr(allow, "GET") && strstr(allow, "POST"));
}

TEST(malformed_json_is_400)
{
    struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN, "{\"kind\":", NULL);
    CHECK_STATUS(r, 400);
    CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN, "[1,2]", NULL), 400);
    CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN,
                     "{\"kind\":\"person\",\"kind\":\"person\",\"name\":\"dup\"}", NULL),
                 400);
}

TEST(wrong_content_type_is_415)
{
    const char *h[] = {"Content-Type: text/plain", NULL};
    CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN, "{\"kind\":\"person\"}", h), 415);
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN, "a=b", form), 415);
}

TEST(invalid_utf8_body_is_400)
{
    const char body[] = "{\"kind\":\"person\",\"name\":\"\xff\xfe bad\"}";
    struct resp *r =
        req_raw("POST", "/v1/customers", ADMIN_TOKEN, body, sizeof(body) - 1, NULL, true);
    CHECK_STATUS(r, 400);
}

TEST(nul_escape_in_string_is_400)
{
    CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN,
                     "{\"kind\":\"person\",\"name\":\"a\\u0000b\"}", NULL),
                 400);
}

/* Creates a customer named name, reads it back (both checked); its path (static buffer). */
static const char *create_and_read(const char *name)
{
    static char path[128];
    char body[160];
    snprintf(body, sizeof(body), "{\"kind\":\"person\",\"name\":\"%s\"}", name);
    struct resp *c = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(c, 201);
    snprintf(path, sizeof(path), "/v1/customers/%s", c->json ? jstr(c->json, "id") : "none");
    struct resp *g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK_STR(jstr(g->json, "name"), name);
    return path;
}

/* A customer body whose attributes nest levels objects deep around bottom (malloc'd). */
static char *nested_body(int levels, const char *bottom)
{
    char *body = malloc(6 * (size_t)levels + strlen(bottom) + 128);
    size_t o = (size_t)sprintf(body, "{\"kind\":\"person\",\"name\":\"deep\",\"attributes\":");
    for (int i = 0; i < levels; i++)
        o += (size_t)sprintf(body + o, "{\"a\":");
    o += (size_t)sprintf(body + o, "%s", bottom);
    memset(body + o, '}', (size_t)levels + 1);
    body[o + (size_t)levels + 1] = '\0';
    return body;
}

TEST(ten_thousand_levels_of_nesting_is_400)
{
    size_t n = 10000;
    char *body = malloc(2 * n + 64);
    size_t o = (size_t)sprintf(body, "{\"kind\":\"person\",\"name\":\"n\",\"attributes\":");
    for (size_t i = 0; i < n; i++)
        body[o++] = '[';
    for (size_t i = 0; i < n; i++)
        body[o++] = ']';
    body[o++] = '}';
    body[o] = '\0';
    struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(r, 400);
    free(body);
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
}

/* The deepest document jansson accepts (2048 levels with the body itself), through every
 * recursive step of a create and a patch: found by the HTTP fuzzer when a request's stack
 * was 256 KiB and the number check kept a path buffer per level (csrd crashed). */
TEST(the_deepest_accepted_nesting_is_answered_not_a_crash)
{
    enum { LEVELS = 2046 }; /* + the body and "attributes": jansson's limit of 2048 */
    /* a number beyond 64 bits at the bottom: named, however deep */
    char *body = nested_body(LEVELS, "1e300");
    struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"attributes.a.a.a"));
    free(body);
    body = nested_body(LEVELS, "[1]"); /* the array is one level too many for jansson */
    CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL), 400);
    free(body);
    /* a few levels less: stored, read and patched (a list nests it deeper still, and the
     * answers must stay within what JSON parsers such as jansson accept: 2048 levels), then
     * archived so that other tests' lists do not carry it */
    body = nested_body(LEVELS - 8, "2");
    struct resp *c = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(c, 201);
    free(body);
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", c->json ? jstr(c->json, "id") : "none");
    CHECK_STATUS(req("GET", path, ADMIN_TOKEN, NULL, NULL), 200);
    CHECK_STATUS(req("PATCH", path, ADMIN_TOKEN, "{\"notes\":\"still deep\"}", NULL), 200);
    CHECK_STATUS(req("DELETE", path, ADMIN_TOKEN, NULL, NULL), 204);
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
}

TEST(body_over_max_body_is_413)
{
    /* the test server runs with CSRD_MAX_BODY=65536 */
    size_t n = 70000;
    char *body = malloc(n + 64);
    size_t o = (size_t)sprintf(body, "{\"kind\":\"person\",\"name\":\"big\",\"notes\":\"");
    memset(body + o, 'x', n);
    strcpy(body + o + n, "\"}");
    struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(r, 413);
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    r = req("POST", "/v1/customers", ADMIN_TOKEN, body, chunked);
    CHECK_STATUS(r, 413);
    free(body);
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
}

TEST(forged_cursor_is_400_without_database_text)
{
    /* the key of a cursor is not a timestamp: once it reached PostgreSQL and came back as a
     * 422 quoting "invalid input syntax for type timestamp with time zone" */
    static const char *const forged[] = {
        /* base64url of "c1" US "-created_at" US "garbage" US a uuid (the unsigned layout) */
        "YzEfLWNyZWF0ZWRfYXQfZ2FyYmFnZR8wMWEyMGM3MC0yOTNiLTczMDQtYTFlNS03MGRlNTg2NzU3YWM",
        /* the same with a made-up signature */
        "YzIfLWNyZWF0ZWRfYXQfZ2FyYmFnZR8wMWEyMGM3MC0yOTNiLTczMDQtYTFlNS03MGRlNTg2NzU3YWM."
        "AAAAAAAAAAAAAAAAAAAAAA",
        NULL};
    for (const char *const *c = forged; *c; c++) {
        char path[512];
        snprintf(path, sizeof(path), "/v1/customers?cursor=%s", *c);
        struct resp *r = req("GET", path, key_for("viewer"), NULL, NULL);
        CHECK_STATUS(r, 400);
        CHECK(r->body && !strstr(r->body, "syntax") && !strstr(r->body, "timestamp with"));
    }
    /* a cursor the server made still works */
    struct resp *p = req("GET", "/v1/customers?limit=1", key_for("viewer"), NULL, NULL);
    const char *next = jstr(p->json, "next_cursor");
    if (next) {
        char path[512];
        snprintf(path, sizeof(path), "/v1/customers?limit=1&cursor=%s", next);
        CHECK_STATUS(req("GET", path, key_for("viewer"), NULL, NULL), 200);
    }
}

TEST(request_id_is_echoed_or_generated)
{
    const char *h[] = {"X-Request-Id: trace-abc.123", NULL};
    struct resp *r = req("GET", "/healthz", NULL, NULL, h);
    CHECK_STR(resp_header(r, "X-Request-Id"), "trace-abc.123");
    r = req("GET", "/v1/customers", NULL, NULL, h);
    CHECK_STR(jstr(r->json, "request_id"), "trace-abc.123");
    r = req("GET", "/healthz", NULL, NULL, NULL);
    const char *gen = resp_header(r, "X-Request-Id");
    CHECK(gen && strlen(gen) == 36);
    const char *bad[] = {"X-Request-Id: has spaces and \"quotes\"", NULL};
    r = req("GET", "/healthz", NULL, NULL, bad);
    CHECK(strlen(resp_header(r, "X-Request-Id")) == 36);
}

TEST(cors_preflight_allowed_origin)
{
    const char *h[] = {"Origin: https://app.example.com", "Access-Control-Request-Method: PATCH",
                       "Access-Control-Request-Headers: authorization, if-match", NULL};
    struct resp *r =
        req("OPTIONS", "/v1/customers/00000000-0000-7000-8000-000000000000", NULL, NULL, h);
    CHECK_STATUS(r, 204);
    CHECK_STR(resp_header(r, "Access-Control-Allow-Origin"), "https://app.example.com");
    const char *methods = resp_header(r, "Access-Control-Allow-Methods");
    CHECK(methods && strstr(methods, "PATCH"));
    const char *allowed = resp_header(r, "Access-Control-Allow-Headers");
    CHECK(allowed && strstr(allowed, "If-Match") && strstr(allowed, "Idempotency-Key") &&
          strstr(allowed, "Authorization"));
}

TEST(cors_preflight_refused_for_other_origin)
{
    const char *h[] = {"Origin: https://evil.example.net", "Access-Control-Request-Method: GET",
                       NULL};
    struct resp *r = req("OPTIONS", "/v1/customers", NULL, NULL, h);
    CHECK_STATUS(r, 403);
    CHECK(resp_header(r, "Access-Control-Allow-Origin") == NULL);
}

TEST(cors_headers_on_actual_request)
{
    const char *h[] = {"Origin: https://app.example.com", NULL};
    struct resp *r = req("GET", "/v1/customers?limit=1", ADMIN_TOKEN, NULL, h);
    CHECK_STATUS(r, 200);
    CHECK_STR(resp_header(r, "Access-Control-Allow-Origin"), "https://app.example.com");
    const char *exposed = resp_header(r, "Access-Control-Expose-Headers");
    CHECK(exposed && strstr(exposed, "ETag") && strstr(exposed, "Location") &&
          strstr(exposed, "Link"));
}

TEST(rate_limit_gives_429_with_retry_after_and_ratelimit_headers)
{
    server_stop();
    const char *env[] = {"CSRD_RATE_LIMIT=2", NULL};
    server_start(env);
    const char *t = key_for("viewer");
    int limited = 0;
    struct resp *last = NULL;
    for (int i = 0; i < 10; i++) {
        struct resp *r = req("GET", "/v1/customers?limit=1", t, NULL, NULL);
        if (r->status == 429)
            limited++, last = r;
    }
    CHECK(limited >= 5);
    CHECK(last && resp_header(last, "Retry-After") != NULL);
    /* every authenticated answer says where the key stands (the 429s too) */
    CHECK(last && resp_header(last, "RateLimit-Limit") &&
          !strcmp(resp_header(last, "RateLimit-Limit"), "2"));
    CHECK(last && resp_header(last, "RateLimit-Remaining") &&
          !strcmp(resp_header(last, "RateLimit-Remaining"), "0"));
    CHECK(last && resp_header(last, "RateLimit-Reset") &&
          atoi(resp_header(last, "RateLimit-Reset")) >= 1);
    sleep(2); /* the bucket fills again */
    struct resp *ok = req("GET", "/v1/customers?limit=1", t, NULL, NULL);
    CHECK_STATUS(ok, 200);
    CHECK_STR(resp_header(ok, "RateLimit-Limit"), "2");
    CHECK_STR(resp_header(ok, "RateLimit-Remaining"), "1");
    CHECK_STR(resp_header(ok, "RateLimit-Reset"), "1");
    /* and so does a refusal of the request itself, once the key is known */
    struct resp *bad = req("GET", "/v1/customers?limit=0", t, NULL, NULL);
    CHECK_STATUS(bad, 400);
    CHECK(resp_header(bad, "RateLimit-Remaining") != NULL);
    /* without a valid key there is no bucket to report */
    struct resp *anon = req("GET", "/v1/customers?limit=1", NULL, NULL, NULL);
    CHECK_STATUS(anon, 401);
    CHECK(resp_header(anon, "RateLimit-Limit") == NULL);
    const char *cors[] = {"Origin: https://app.example.com", NULL};
    struct resp *c = req("GET", "/v1/customers?limit=1", key_for("agent"), NULL, cors);
    const char *exposed = resp_header(c, "Access-Control-Expose-Headers");
    CHECK(exposed && strstr(exposed, "RateLimit-Remaining") && strstr(exposed, "RateLimit-Reset"));
    server_stop();
    server_start(NULL);
}

TEST(no_rate_limit_headers_when_it_is_off)
{
    struct resp *r = req("GET", "/v1/customers?limit=1", key_for("viewer"), NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK(resp_header(r, "RateLimit-Limit") == NULL);
}

/* A raw connection that sends part of a request and then nothing. */
static int slow_client(const char *partial)
{
    int fd = server_connect();
    CHECK(write(fd, partial, strlen(partial)) == (ssize_t)strlen(partial));
    return fd;
}

TEST(chunked_body_far_over_the_limit_is_cut_off)
{
    /* Without Content-Length the size is known only while reading: up to twice the limit
     * (CSRD_MAX_BODY=65536 here) is read and answered 413 (body_over_max_body_is_413);
     * beyond that the connection is closed at once instead of reading on. */
    char head[256];
    snprintf(head, sizeof(head),
             "POST /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
             ADMIN_TOKEN);
    int fd = slow_client(head);
    static char chunk[16384 + 16];
    size_t o = (size_t)sprintf(chunk, "4000\r\n");
    memset(chunk + o, 'x', 16384);
    memcpy(chunk + o + 16384, "\r\n", 2);
    int sent = 0;
    for (; sent < 256; sent++) /* 4 MiB, 64 times the limit */
        if (send(fd, chunk, o + 16384 + 2, MSG_NOSIGNAL) < 0)
            break;
    CHECK(sent < 256); /* the server stopped reading and closed */
    char buf[512];
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    CHECK(!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))); /* no hang */
    if (n > 0) {
        buf[n] = '\0';
        CHECK(strncmp(buf, "HTTP/1.1 413", 12) == 0);
    }
    close(fd);
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
}

TEST(slow_clients_are_cut_off_without_blocking_others)
{
    server_stop();
    const char *env[] = {"CSRD_CONNECTION_TIMEOUT=1", NULL};
    server_start(env);
    int fds[12];
    for (int i = 0; i < 12; i++) /* more than the 4 worker threads */
        fds[i] = slow_client(i % 2 ? "GET /v1/customers HTTP/1.1\r\nHost: x\r\n"
                                   : "POST /v1/customers HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Length: 100\r\n\r\n{\"kind\"");
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", ADMIN_TOKEN, NULL, NULL), 200);
    sleep(3);
    for (int i = 0; i < 12; i++) {
        char buf[256];
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ssize_t n = read(fds[i], buf, sizeof(buf)); /* closed by the server: 0 (or reset) */
        CHECK(n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)));
        close(fds[i]);
    }
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
    server_stop();
    server_start(NULL);
}

TEST(reads_go_to_the_replica_url_when_configured)
{
    /* the "replica" is the same database under another URL; what is checked is that reads
     * and writes both work through their own pools */
    char env[1200];
    snprintf(env, sizeof(env), "CSRD_READ_DATABASE_URL=%s%sapplication_name=csrd-replica",
             getenv("DATABASE_URL"), strchr(getenv("DATABASE_URL"), '?') ? "&" : "?");
    const char *envs[] = {env, NULL};
    server_stop();
    server_start(envs);
    struct resp *c = req("POST", "/v1/customers", ADMIN_TOKEN,
                         "{\"kind\":\"person\",\"name\":\"Replica\"}", NULL);
    CHECK_STATUS(c, 201);
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
    CHECK_STATUS(req("GET", path, ADMIN_TOKEN, NULL, NULL), 200);
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", ADMIN_TOKEN, NULL, NULL), 200);
    CHECK_STATUS(req("PATCH", path, ADMIN_TOKEN, "{\"notes\":\"x\"}", NULL), 200);
    server_stop();
    server_start(NULL);
}

TEST(the_thread_pool_design_serves_the_same_requests)
{
    /* CSRD_IO=threads: libmicrohttpd's thread pool with blocking database calls, kept for the
     * benchmark's comparison; the default (events) is what every other test runs */
    const char *envs[] = {"CSRD_IO=threads", NULL};
    server_stop();
    server_start(envs);
    const char *path = create_and_read("Thread pool");
    CHECK_STATUS(req("PATCH", path, ADMIN_TOKEN, "{\"notes\":\"x\"}", NULL), 200);
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", ADMIN_TOKEN, NULL, NULL), 200);
    CHECK_STATUS(req("GET", "/v1/customers/export?tier=vip", ADMIN_TOKEN, NULL, NULL), 200);
    server_stop();
    server_start(NULL);
}

TEST(one_worker_gives_each_of_many_concurrent_lookups_its_own_record)
{
    /* one event-loop worker: the lookups of all these requests share its pipelined
     * connection, and each must get its own row back */
    const char *envs[] = {"CSRD_THREADS=1", NULL};
    server_stop();
    server_start(envs);
    enum { N = 24 };
    char ids[N][64], names[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "Lookup %d", i);
        char body[1024];
        snprintf(body, sizeof(body), "{\"kind\":\"person\",\"name\":\"%s\"}", names[i]);
        struct resp *c = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
        CHECK_STATUS(c, 201);
        snprintf(ids[i], sizeof(ids[i]), "%s", c->json ? jstr(c->json, "id") : "");
    }
    const char *paths[2 * N];
    char buf[2 * N][128];
    for (int i = 0; i < 2 * N; i++) { /* every record twice, and unknown ids among them */
        if (i % 7 == 3)
            snprintf(buf[i], sizeof(buf[i]), "/v1/customers/01a20c70-0000-7000-8000-%012d", i);
        else
            snprintf(buf[i], sizeof(buf[i]), "/v1/customers/%s", ids[i % N]);
        paths[i] = buf[i];
    }
    struct resp *got[2 * N];
    req_parallel("GET", paths, 2 * N, ADMIN_TOKEN, got);
    for (int i = 0; i < 2 * N; i++) {
        if (i % 7 == 3) {
            CHECK_STATUS(got[i], 404);
            continue;
        }
        CHECK_STATUS(got[i], 200);
        CHECK_STR(got[i]->json ? jstr(got[i]->json, "id") : "", ids[i % N]);
        CHECK_STR(got[i]->json ? jstr(got[i]->json, "name") : "", names[i % N]);
    }
    server_stop();
    server_start(NULL);
}

TEST(metrics_counts_requests_by_route)
{
    req("GET", "/v1/customers?limit=1", ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(req("GET", "/metrics", NULL, NULL, NULL), 401);
    struct resp *r = req("GET", "/metrics", key_for("viewer"), NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK(r->body && strstr(r->body, "csrd_http_requests_total{method=\"GET\",route=\"/v1/"
                                     "customers\",status=\"200\"}"));
    CHECK(r->body && strstr(r->body, "csrd_http_request_duration_seconds_bucket"));
    CHECK(r->body && strstr(r->body, "csrd_db_pool_in_use"));
}

TEST(bad_query_parameters_are_400)
{
    CHECK_STATUS(req("GET", "/v1/customers?limit=0", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?limit=501", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?limit=ten", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?colour=red", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?sort=email", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?tier=gold", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?created_after=yesterday", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?cursor=garbage", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?q=%FF%FE", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/customers?q=a%00b", ADMIN_TOKEN, NULL, NULL), 400);
}

TEST(sql_looking_strings_are_stored_verbatim)
{
    const char *evil = "Robert'); DROP TABLE customers;--";
    char body[256];
    snprintf(body, sizeof(body), "{\"kind\":\"person\",\"name\":\"%s\",\"notes\":\"' OR 1=1 --\"}",
             evil);
    struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(r, 201);
    CHECK_STR(jstr(r->json, "name"), evil);
    CHECK_STR(jstr(r->json, "notes"), "' OR 1=1 --");
    r = req("GET", "/v1/customers?q=%27%20OR%201%3D1%20--&limit=5", ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(r, 200);
    r = req("GET", "/v1/customers?limit=1", ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(r, 200); /* the table is still there */
}

TEST(ids_are_uuid_v7_and_timestamps_rfc3339_ms)
{
    struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN,
                         "{\"kind\":\"organization\",\"name\":\"Acme\"}", NULL);
    CHECK_STATUS(r, 201);
    const char *id = jstr(r->json, "id");
    CHECK(id && strlen(id) == 36 && id[14] == '7');
    const char *ts = jstr(r->json, "created_at");
    CHECK(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
}

/* Runs build/csrd with args (and env assignments in front) against the test database;
 * returns its exit status. */
static int run_csrd_env(const char *env, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s %s >/dev/null 2>&1", env, CSRD_BIN, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_csrd(const char *args)
{
    return run_csrd_env("", args);
}

/* HTTPS (CSRD_TLS_CERT, CSRD_TLS_KEY) with a self-signed certificate made here; curl
 * trusts it as its CA. A missing, unpaired or wrong file stops csrd with one clear line. */
TEST(https_with_the_configured_certificate_and_clear_errors_for_bad_files)
{
    char dir[] = "/tmp/csrd-tls-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
             " -keyout %s/key.pem -out %s/cert.pem -days 1 -subj /CN=127.0.0.1"
             " -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             dir, dir);
    CHECK_INT(system(cmd), 0);
    static char cert[128], key[128];
    snprintf(cert, sizeof(cert), "CSRD_TLS_CERT=%s/cert.pem", dir);
    snprintf(key, sizeof(key), "CSRD_TLS_KEY=%s/key.pem", dir);
    const char *envs[] = {cert, key, NULL};
    server_stop();
    server_start(envs); /* the harness now speaks https and trusts cert.pem */
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
    create_and_read("Over TLS");
    /* plain HTTP on the TLS port gets no HTTP answer */
    int fd = server_connect();
    const char *plain = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(write(fd, plain, strlen(plain)) == (ssize_t)strlen(plain));
    char buf[64] = "";
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    CHECK(n <= 0 || strncmp(buf, "HTTP/1.1 200", 12) != 0);
    close(fd);
    server_stop();
    server_start(NULL);

    /* refusals at start: exit status 2 (configuration) or 1 (cannot listen), one line */
    snprintf(cmd, sizeof(cmd),
             "CSRD_TLS_CERT=%s/none.pem CSRD_TLS_KEY=%s/key.pem %s migrate 2>&1"
             " | grep -q 'CSRD_TLS_CERT: cannot read %s/none.pem'",
             dir, dir, CSRD_BIN, dir);
    CHECK_INT(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "CSRD_TLS_CERT=%s/cert.pem %s migrate >/dev/null 2>&1", dir,
             CSRD_BIN);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    snprintf(cmd, sizeof(cmd), "echo hello > %s/text.pem", dir);
    CHECK_INT(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "CSRD_TLS_CERT=%s/text.pem CSRD_TLS_KEY=%s/key.pem %s migrate 2>&1"
             " | grep -q 'is not a PEM file'",
             dir, dir, CSRD_BIN);
    CHECK_INT(system(cmd), 0);
    /* PEM, but the key where the certificate belongs: libmicrohttpd refuses, csrd says why */
    snprintf(cmd, sizeof(cmd),
             "CSRD_TLS_CERT=%s/key.pem CSRD_TLS_KEY=%s/cert.pem CSRD_LISTEN=127.0.0.1:0"
             " CSRD_ADMIN_TOKEN=%s %s > %s/out.txt 2>&1",
             dir, dir, ADMIN_TOKEN, CSRD_BIN, dir);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    snprintf(cmd, sizeof(cmd), "grep -q 'with HTTPS: is CSRD_TLS_CERT a PEM' %s/out.txt", dir);
    CHECK_INT(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

/* SIGTERM with CSRD_DRAIN_S: the instance keeps answering for the drain, /readyz says 503 so
 * that a load balancer takes it out, answers close their connections, and then it stops
 * cleanly (exit 0). */
TEST(sigterm_drains_with_readyz_503_while_requests_are_still_served)
{
    const char *envs[] = {"CSRD_DRAIN_S=3", NULL};
    server_stop();
    server_start(envs);
    struct resp *c =
        req("POST", "/v1/customers", ADMIN_TOKEN, "{\"kind\":\"person\",\"name\":\"Drain\"}", NULL);
    CHECK_STATUS(c, 201);
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
    CHECK_STATUS(req("GET", "/readyz", NULL, NULL, NULL), 200);
    server_signal(SIGTERM);
    usleep(300 * 1000);
    struct resp *ready = req("GET", "/readyz", NULL, NULL, NULL);
    CHECK_STATUS(ready, 503);
    CHECK_STR(resp_header(ready, "Content-Type"), "application/problem+json");
    CHECK(resp_header(ready, "Retry-After") != NULL);
    struct resp *g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK_STR(jstr(g->json, "name"), "Drain");
    CHECK(resp_header(g, "Connection") && strstr(resp_header(g, "Connection"), "close"));
    CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN,
                     "{\"kind\":\"person\",\"name\":\"During the drain\"}", NULL),
                 201);
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
    server_stop(); /* a second SIGTERM cuts the drain short; it must still exit 0 */

    /* without a second signal it stops by itself once the drain is over */
    const char *short_drain[] = {"CSRD_DRAIN_S=1", NULL};
    server_start(short_drain);
    server_signal(SIGTERM);
    usleep(300 * 1000);
    CHECK_STATUS(req("GET", "/readyz", NULL, NULL, NULL), 503);
    bool gone = false;
    int failures = check_failures; /* the failed request that shows it is gone is expected */
    for (int i = 0; i < 100 && !gone; i++) { /* 10 s, for valgrind */
        usleep(100 * 1000);
        gone = req_raw("GET", "/healthz", NULL, NULL, 0, NULL, false)->status <= 0;
    }
    check_failures = failures;
    CHECK(gone);
    server_stop(); /* reaps it: exit status 0 */
    server_start(NULL);
}

TEST(migrate_command_applies_and_exits_and_bad_config_is_refused)
{
    CHECK_INT(run_csrd("migrate"), 0); /* already applied: a no-op that succeeds */
    CHECK_INT(run_csrd("--bogus-flag"), 2);
    CHECK_INT(run_csrd("migrate --threads 0"), 2);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "CSRD_LISTEN=nonsense %s >/dev/null 2>&1", CSRD_BIN);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    snprintf(cmd, sizeof(cmd), "DATABASE_URL= %s migrate >/dev/null 2>&1", CSRD_BIN);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    snprintf(cmd, sizeof(cmd), "CSRD_IO=fibers %s migrate 2>&1 | grep -q 'CSRD_IO must be'",
             CSRD_BIN);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof(cmd), "CSRD_IO=fibers %s migrate >/dev/null 2>&1", CSRD_BIN);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    CHECK_INT(run_csrd_env("CSRD_DB_WAIT_S=-1", "migrate"), 2);
}

/* The admin token from a file (a container secret): its first line, without the newline.
 * Both variables set, a missing file or an empty first line stop csrd with exit status 2. */
TEST(admin_token_from_a_file_works_and_bad_files_are_refused)
{
    char dir[] = "/tmp/csrd-secret-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], empty[128], env_file[200], cmd[512];
    snprintf(path, sizeof(path), "%s/token", dir);
    snprintf(empty, sizeof(empty), "%s/empty", dir);
    const char *token = unique("file-admin-token-0123456789");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "%s\nsecond line ignored\n", token);
    fclose(f);
    f = fopen(empty, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("\n", f);
        fclose(f);
    }
    snprintf(env_file, sizeof(env_file), "CSRD_ADMIN_TOKEN_FILE=%s", path);
    char both[300], missing[300], blank[300];
    snprintf(both, sizeof(both), "CSRD_ADMIN_TOKEN=x %s", env_file);
    snprintf(missing, sizeof(missing), "CSRD_ADMIN_TOKEN= CSRD_ADMIN_TOKEN_FILE=%s/none", dir);
    snprintf(blank, sizeof(blank), "CSRD_ADMIN_TOKEN= CSRD_ADMIN_TOKEN_FILE=%s", empty);
    CHECK_INT(run_csrd_env(both, "migrate"), 2);
    CHECK_INT(run_csrd_env(missing, "migrate"), 2);
    CHECK_INT(run_csrd_env(blank, "migrate"), 2);

    const char *envs[] = {"CSRD_ADMIN_TOKEN=", env_file, NULL};
    server_stop();
    server_start(envs);
    CHECK_STATUS(req("GET", "/v1/api-keys", token, NULL, NULL), 200);
    CHECK_STATUS(req("GET", "/v1/api-keys", "second line ignored", NULL, NULL), 401);
    server_stop();
    server_start(NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

/* A database that never comes up: csrd tries again for CSRD_DB_WAIT_S seconds, says so, and
 * then exits 1 with one line that names the give-up (nothing listens on port 1). */
TEST(an_unreachable_database_is_waited_for_then_given_up_with_one_line)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "DATABASE_URL=postgresql://csrd@127.0.0.1:1/csrd CSRD_DB_WAIT_S=1 %s migrate 2>&1 | "
             "grep -c 'not reachable yet, trying again for up to 1 s\\|gave up after 1 s' | "
             "grep -qx 2",
             CSRD_BIN);
    CHECK(system(cmd) == 0);
    CHECK_INT(
        run_csrd_env("DATABASE_URL=postgresql://csrd@127.0.0.1:1/csrd CSRD_DB_WAIT_S=1", "migrate"),
        1);
    CHECK_INT(run_csrd_env("DATABASE_URL=postgresql://csrd@127.0.0.1:1/csrd CSRD_DB_WAIT_S=0", ""),
              1);
}

TEST(head_is_answered_like_get_without_body)
{
    struct resp *r = req("HEAD", "/healthz", NULL, NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK(r->len == 0);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

/* libmicrohttpd glue. The access handler follows the library's contract: the first call
 * creates the request and routes it (so that the route's body limit applies, and an announced
 * body that is too large is refused before it is read), following calls hand over body
 * chunks, the last call authenticates, runs the handler and queues its response. Nothing past
 * this file sees a libmicrohttpd type. */
#include "util/xalloc.h"
#include "http/server.h"
#include "auth.h"
#include "config.h"
#include "db/db.h"
#include "http/headers.h"
#include "http/metrics.h"
#include "http/ratelimit.h"
#include "http/router.h"
#include "log.h"
#include "util/evloop.h"
#include "util/strbuf.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id, "        \
    "CSRD-Consistency-Token"
#define CORS_EXPOSE_HEADERS                                                                        \
    "ETag, Location, Link, X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, "      \
    "RateLimit-Reset, CSRD-Consistency-Token, Idempotent-Replayed, WWW-Authenticate"

static struct MHD_Daemon *daemon_handle; /* CSRD_IO=threads */
static atomic_int inflight;
static const struct http_hooks *hooks;

/* CSRD_IO=events: a worker per thread, each with its own libmicrohttpd daemon (driven from
 * the worker's event loop) on one shared listening socket. */
struct worker {
    pthread_t thread;
    struct MHD_Daemon *daemon;
    struct evloop *loop;
    bool mhd_due; /* MHD_run before the next wait */
    int ready;    /* start-up: 1 running, -1 failed */
};
static struct worker *workers;
static int nworkers;
static atomic_bool stopping;
static atomic_bool draining;

void http_drain_begin(void)
{
    atomic_store(&draining, true);
}

bool http_draining(void)
{
    return atomic_load(&draining);
}
static _Thread_local struct worker *this_worker;

/* Per-connection state while a request is read and answered. Made by on_uri as soon as
 * libmicrohttpd has the request line, completed by the first on_request call (begun). */
struct pending {
    struct request req;
    struct strbuf body;
    size_t limit, received;
    enum route_result found; /* decided on the first call, before the body */
    char allow[128];
    bool begun;
    bool uri_too_long;    /* over CSRD_MAX_URL */
    bool too_many_params; /* over CSRD_MAX_QUERY_PARAMS, counted in the raw target */
    int reject_status;    /* 400/414/431 decided from the request head, 0 = none */
    char reject_detail[128];
    bool sent_on_socket; /* the rejection went out directly (see answer_on_socket) */
    bool too_large;
    bool answered;
    bool started;   /* events: the coroutine running the request was started */
    bool ran;       /* ... and has returned: the response waits to be queued */
    bool suspended; /* ... and the connection is suspended until it returns */
};

const char *http_header(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static enum http_method parse_method(const char *m)
{
    for (enum http_method i = M_GET; i < M_OTHER; i++)
        if (!strcmp(m, router_method_text(i)))
            return i;
    return M_OTHER;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct request *r = cls;
    if (r->query.n >= (size_t)cfg->max_query_params) {
        r->query.too_many = true;
        return MHD_NO;
    }
    /* a %00 decodes to a NUL that would silently cut the value short */
    if (strlen(key) != key_size || (value && strlen(value) != value_size))
        r->query.has_nul = true;
    r->query.args[r->query.n].key = key;
    r->query.args[r->query.n].value = value ? value : "";
    r->query.n++;
    return MHD_YES;
}

/* Origin allowed by CSRD_CORS_ORIGINS ("*" or a comma list of exact origins)? */
static bool origin_allowed(const char *origin)
{
    const char *list = cfg->cors_origins;
    if (!origin || !list)
        return false;
    if (!strcmp(list, "*"))
        return true;
    size_t n = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && !strncasecmp(p, origin, n))
            return true;
        p += len;
    }
    return false;
}

/* OPTIONS: a CORS preflight when Origin and Access-Control-Request-Method are present,
 * otherwise a plain "which methods" answer. */
static void handle_options(struct request *r, const char *allow, bool path_known)
{
    const char *origin = http_header(r, "Origin");
    const char *want = http_header(r, "Access-Control-Request-Method");
    if (!path_known) {
        http_problem(r, 404, "no such resource");
        return;
    }
    if (origin && want) {
        if (!origin_allowed(origin)) {
            http_problem(r, 403, "this origin is not allowed (CSRD_CORS_ORIGINS)");
            return;
        }
        http_add_header(r, "Access-Control-Allow-Methods", allow);
        http_add_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        http_add_header(r, "Access-Control-Max-Age", "600");
    }
    http_add_header(r, "Allow", allow);
    http_reply_empty(r, 204);
}

static bool parse_query(struct request *r)
{
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, r);
    if (r->query.too_many) {
        http_problem(r, 400, "too many query parameters");
        return false;
    }
    if (r->query.has_nul) {
        http_problem(r, 400, "the query string contains a NUL character (%00)");
        return false;
    }
    for (size_t i = 0; i < r->query.n; i++) {
        const struct query_arg *a = &r->query.args[i];
        if (!text_utf8_valid(a->key, strlen(a->key)) ||
            !text_utf8_valid(a->value, strlen(a->value))) {
            http_problem(r, 400, "the query string is not valid UTF-8");
            return false;
        }
        if (strlen(a->value) > 1000) {
            http_problem(r, 400, "a query parameter is longer than 1000 bytes");
            return false;
        }
    }
    return true;
}

/* Authentication, role and rate limit: true to run the handler, false with a problem. Keys
 * are checked on the primary; a read-only route then moves to the replica, if there is one. */
static bool admit(struct request *r, const struct route *rt)
{
    struct db_error err;
    enum auth_result ar = auth_authenticate(http_header(r, "Authorization"), &r->db, &r->who, &err);
    if (ar != AUTH_OK) {
        static const char *const WHY[] = {[AUTH_MISSING] =
                                              "an Authorization: Bearer <token> header is required",
                                          [AUTH_SCHEME] = "only Bearer tokens are accepted",
                                          [AUTH_INVALID] = "the token is not valid or was revoked"};
        if (ar == AUTH_DB_FAILED) {
            http_problem_db(r, &err);
        } else {
            http_add_header(r, "WWW-Authenticate", "Bearer realm=\"csrd\"");
            http_problem(r, 401, WHY[ar]);
        }
        return false;
    }
    if (r->who.role < rt->min_role) {
        char detail[128];
        snprintf(detail, sizeof(detail), "this needs the %s role; the key has %s",
                 role_name(rt->min_role), role_name(r->who.role));
        http_problem(r, 403, detail);
        return false;
    }
    if (cfg->rate_limit > 0) {
        struct ratelimit_state rl;
        bool allowed = ratelimit_allow(r->who.key_id, cfg->rate_limit, &rl);
        r->rate_limited = true; /* the headers go on whatever the answer is (queue) */
        r->rate.limit = rl.limit;
        r->rate.remaining = rl.remaining;
        r->rate.reset = rl.reset;
        if (!allowed) {
            char secs[16];
            snprintf(secs, sizeof(secs), "%d", rl.retry_after);
            http_add_header(r, "Retry-After", secs);
            http_problem(r, 429, "rate limit exceeded for this API key (CSRD_RATE_LIMIT)");
            return false;
        }
    }
    if (r->prefer_replica && r->db && db_has_replica()) {
        db_session_close(r->db); /* the lookup's primary session; reads go to the replica */
        r->db = NULL;
    }
    return true;
}

static void run_handler(struct request *r, const struct route *rt)
{
    const char *key = (rt->flags & ROUTE_IDEMPOTENT) && hooks && hooks->run_idempotent
                          ? http_header(r, "Idempotency-Key")
                          : NULL;
    if (!key) {
        rt->handler(r);
    } else if (!http_idempotency_key_ok(key)) {
        http_problem(r, 400, "Idempotency-Key must be 1 to 255 visible ASCII characters");
    } else {
        hooks->run_idempotent(r, rt->handler, key);
    }
}

static void dispatch(struct pending *p)
{
    struct request *r = &p->req;
    const struct route *rt = r->route;
    if (p->reject_status) {
        http_problem(r, p->reject_status, p->reject_detail);
        return;
    }
    if (r->method == M_OPTIONS) {
        handle_options(r, p->allow, p->found != ROUTE_NOT_FOUND);
        return;
    }
    if (p->found == ROUTE_NOT_FOUND) {
        http_problem(r, 404, "no such resource");
        return;
    }
    if (p->found == ROUTE_BAD_METHOD) {
        http_add_header(r, "Allow", p->allow);
        http_problem(r, 405, "this method is not allowed here; see the Allow header");
        return;
    }
    if (p->too_large) {
        http_problem(r, 413, "the request body is larger than the server accepts");
        return;
    }
    if (p->body.len) {
        r->body = p->body.buf;
        r->body_len = p->body.len;
    }
    if (!parse_query(r))
        return;
    r->prefer_replica = (rt->flags & ROUTE_READ_ONLY) != 0;
    if (rt->min_role != ROLE_NONE && !admit(r, rt))
        return;
    run_handler(r, rt);
    if (hooks && hooks->after_handler)
        hooks->after_handler(r);
}

/* A coroutine that started while its connection was answered (CSRD_IO=events) has returned:
 * when the connection was suspended meanwhile, it goes back to libmicrohttpd, which the
 * worker runs before it next waits. */
static void resume_if_suspended(struct MHD_Connection *conn, bool *suspended)
{
    if (!*suspended)
        return;
    *suspended = false;
    MHD_resume_connection(conn);
    this_worker->mhd_due = true;
}

/* libmicrohttpd's side of a streamed body: parts from the stream, handed out in pieces of
 * at most `max` bytes. */
struct stream_state {
    struct http_stream stream;
    struct MHD_Connection *conn;
    struct strbuf part;
    size_t sent; /* of part */
    bool end, failed;
    bool fetched;   /* events: a part was made by a coroutine since the last read */
    bool suspended; /* events: the connection waits for that coroutine */
};

/* The next part of a stream, made by the stream's own code (which may read the database). */
static void stream_fetch(void *arg)
{
    struct stream_state *s = arg;
    s->part.len = 0;
    s->sent = 0;
    bool failed = false;
    s->end = !s->stream.next(s->stream.cls, &s->part, &failed);
    s->failed = failed;
    s->fetched = true;
    resume_if_suspended(s->conn, &s->suspended);
}

/* libmicrohttpd asks for more of the body. With CSRD_IO=events the next part is made in a
 * coroutine, so that a stream waiting for its next page (or for a connection of the stream
 * pool) never holds the worker thread: the connection is suspended meanwhile and the read
 * answers 0, which libmicrohttpd asks again after the resume. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_state *s = cls;
    while (s->sent == s->part.len) {
        if (s->end)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!cfg->io_events) {
            stream_fetch(s);
        } else if (!s->fetched) {
            if (!evloop_spawn(stream_fetch, s)) {
                s->suspended = true;
                MHD_suspend_connection(s->conn);
                return 0;
            }
        }
        s->fetched = false;
        if (s->failed)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->part.len - s->sent;
    if (n > max)
        n = max;
    memcpy(buf, s->part.buf + s->sent, n);
    s->sent += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream_state *s = cls;
    s->stream.done(s->stream.cls);
    strbuf_free(&s->part);
    free(s);
}

static struct MHD_Response *stream_response(struct request *r)
{
    struct stream_state *s = xcalloc(1, sizeof(*s));
    s->stream = r->resp.stream;
    s->conn = r->conn;
    strbuf_init(&s->part);
    memset(&r->resp.stream, 0, sizeof(r->resp.stream)); /* the response owns it now */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_free);
    if (!resp)
        stream_free(s);
    return resp;
}

static enum MHD_Result queue(struct pending *p)
{
    struct request *r = &p->req;
    struct MHD_Connection *conn = r->conn;
    if (r->resp.status == 0) {
        log_error("request %s: %s %s produced no response", r->request_id, r->method_name, r->path);
        http_problem(r, 500, "the handler produced no response");
    }
    struct MHD_Response *resp;
    if (r->resp.stream.next) {
        resp = stream_response(r);
    } else if (r->resp.body) {
        resp =
            MHD_create_response_from_buffer(r->resp.body_len, r->resp.body, MHD_RESPMEM_MUST_FREE);
        if (resp)
            r->resp.body = NULL; /* libmicrohttpd frees it from now on */
    } else {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) {
        log_error("request %s: cannot create the response; closing the connection", r->request_id);
        return MHD_NO; /* the body, still ours, is freed when the request completes */
    }
    if (r->resp.content_type)
        MHD_add_response_header(resp, "Content-Type", r->resp.content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    const char *origin = http_header(r, "Origin");
    if (origin && origin_allowed(origin)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    }
    if (cfg->cors_origins)
        MHD_add_response_header(resp, "Vary", "Origin");
    if (atomic_load(&draining)) /* keep-alive clients go elsewhere for their next request */
        MHD_add_response_header(resp, "Connection", "close");
    for (struct http_header *h = r->resp.headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    if (r->rate_limited) {
        char v[3][16];
        snprintf(v[0], sizeof(v[0]), "%d", r->rate.limit);
        snprintf(v[1], sizeof(v[1]), "%d", r->rate.remaining);
        snprintf(v[2], sizeof(v[2]), "%d", r->rate.reset);
        MHD_add_response_header(resp, "RateLimit-Limit", v[0]);
        MHD_add_response_header(resp, "RateLimit-Remaining", v[1]);
        MHD_add_response_header(resp, "RateLimit-Reset", v[2]);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->resp.status, resp);
    MHD_destroy_response(resp);
    p->answered = true;
    if (ret != MHD_YES)
        log_error("request %s: libmicrohttpd refused to queue the %d response", r->request_id,
                  r->resp.status);
    return ret;
}

/* The request's coroutine (CSRD_IO=events): runs the handler, which gives the worker thread
 * back whenever it waits for the database, then has libmicrohttpd call on_request again to
 * queue the response. */
static void run_request(void *arg)
{
    struct pending *p = arg;
    dispatch(p);
    db_session_close(p->req.db); /* give the connection back before the bytes go out */
    p->req.db = NULL;
    p->ran = true;
    resume_if_suspended(p->req.conn, &p->suspended);
}

/* A bulk import (a body of up to CSRD_MAX_BULK_BODY to parse and validate: a core busy for a
 * while) runs on a thread of its own, so that it never holds up the requests that share its
 * worker's loop. At most two per core at once (offload_max, set at start); beyond that it
 * runs on the loop after all. */
static atomic_int offloaded;
static int offload_max;

static void *offload_main(void *arg)
{
    struct pending *p = arg;
    dispatch(p); /* outside any coroutine: the database waits block this thread */
    db_session_close(p->req.db);
    p->req.db = NULL;
    __atomic_store_n(&p->ran, true, __ATOMIC_RELEASE);
    atomic_fetch_sub(&offloaded, 1);
    MHD_resume_connection(p->req.conn); /* libmicrohttpd takes it from any thread */
    return NULL;
}

static bool offload(struct pending *p)
{
    if (!p->req.route || !(p->req.route->flags & ROUTE_BULK_BODY) || p->too_large)
        return false;
    if (atomic_fetch_add(&offloaded, 1) >= offload_max) {
        atomic_fetch_sub(&offloaded, 1);
        return false;
    }
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    MHD_suspend_connection(p->req.conn); /* before the thread can resume it */
    if (pthread_create(&th, &attr, offload_main, p) != 0)
        offload_main(p); /* no thread to be had: here, holding the loop meanwhile */
    pthread_attr_destroy(&attr);
    return true;
}

static enum MHD_Result finish(struct pending *p)
{
    if (!cfg->io_events) {
        dispatch(p);
        db_session_close(p->req.db);
        p->req.db = NULL;
        return queue(p);
    }
    if (!p->started) {
        p->started = true;
        if (offload(p))
            return MHD_YES;
        if (!evloop_spawn(run_request, p)) { /* waiting for the database */
            p->suspended = true;
            MHD_suspend_connection(p->req.conn);
            return MHD_YES;
        }
    }
    if (!__atomic_load_n(&p->ran, __ATOMIC_ACQUIRE)) /* not reached: suspended meanwhile */
        return MHD_YES;
    return queue(p);
}

static struct pending *pending_alloc(void)
{
    struct pending *p = xcalloc(1, sizeof(*p));
    arena_init(&p->req.arena);
    strbuf_init(&p->body);
    p->req.start_us = time_mono_us();
    return p;
}

/* libmicrohttpd 0.9.75 calls this with the raw request target as soon as the request line is
 * in, before it splits the query into arguments. The split is where a long query exhausts the
 * connection's memory pool (each argument takes a 64-byte record, so "&a" costs 32 times its
 * size), and 0.9.75 then loses the 431 it queued and leaves the connection silent until
 * CSRD_CONNECTION_TIMEOUT (connection.c: parse_initial_message_line ignores the result of
 * MHD_parse_arguments_, and MHD_connection_handle_idle then overwrites the HEADERS_SENDING
 * state with URL_RECEIVED). So the arguments are counted here, and when there are too many or
 * the target is too long, the query is cut off where it starts: the target lives in
 * libmicrohttpd's read buffer, which it writes NULs into itself right after this call, and
 * with nothing after the '?' it splits nothing. on_request then answers 400 or 414. The
 * return value becomes the request's *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct pending *p = pending_alloc();
    if (!uri)
        return p;
    const char *q = strchr(uri, '?');
    size_t args = 0;
    if (q && q[1]) { /* as MHD_parse_arguments_ splits: "a&&b" is 3, "a&" is 1 */
        args = 1;
        for (const char *c = q + 1; *c; c++)
            if (*c == '&' && c[1])
                args++;
    }
    p->uri_too_long = strlen(uri) > cfg->max_url;
    p->too_many_params = args > (size_t)cfg->max_query_params;
    if (q && (p->uri_too_long || p->too_many_params))
        ((char *)q)[1] = '\0'; /* NOLINT: libmicrohttpd's own, writable buffer (see above) */
    return p;
}

/* Fills in what the first access-handler call knows: method, path, request id, route. */
static void pending_begin(struct pending *p, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version)
{
    struct request *r = &p->req;
    p->begun = true;
    r->http10 = version && !strcmp(version, MHD_HTTP_VERSION_1_0);
    atomic_fetch_add(&inflight, 1); /* what http_stop waits for: requests being handled */
    r->conn = conn;
    r->method = parse_method(method);
    r->method_name = arena_strdup(&r->arena, method);
    r->path = arena_strdup(&r->arena, url);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (http_request_id_acceptable(rid))
        snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
    else
        uuid7_new(r->request_id);
    const struct route *rt = NULL;
    p->found = router_match(r, r->path, r->method, &rt, p->allow, sizeof(p->allow));
    if (p->found == ROUTE_FOUND && r->method == M_OPTIONS) /* never: no OPTIONS routes */
        p->found = ROUTE_BAD_METHOD;
    r->route = p->found == ROUTE_FOUND ? rt : NULL;
    p->limit = (rt && (rt->flags & ROUTE_BULK_BODY)) ? cfg->max_bulk_body : cfg->max_body;
}

/* The limits on the request head. Returns whether the head is within CSRD_MAX_HEADER_BYTES
 * and CSRD_MAX_HEADERS (only then is there sure to be room in the connection's pool for a
 * response, see config.c), and sets p->reject_status for any limit passed. */
static bool check_head(struct pending *p, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    size_t head = ci ? ci->header_size : 0;
    int fields = MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL, NULL) +
                 MHD_get_connection_values(conn, MHD_COOKIE_KIND, NULL, NULL);
    bool head_ok = head <= cfg->max_header_bytes && fields <= cfg->max_headers;
    if (p->uri_too_long) {
        p->reject_status = 414;
        snprintf(p->reject_detail, sizeof(p->reject_detail),
                 "the request target is longer than %zu bytes", cfg->max_url);
    } else if (!head_ok) {
        p->reject_status = 431;
        snprintf(p->reject_detail, sizeof(p->reject_detail),
                 "the request header is larger than %zu bytes or has more than %d fields",
                 cfg->max_header_bytes, cfg->max_headers);
    } else if (p->too_many_params) {
        p->reject_status = 400;
        snprintf(p->reject_detail, sizeof(p->reject_detail),
                 "too many query parameters (at most %d)", cfg->max_query_params);
    }
    return head_ok;
}

/* Sends the rejection (a problem response, Connection: close) straight to the socket and
 * has libmicrohttpd close the connection. Used for a head beyond the limits: after it,
 * libmicrohttpd 0.9.75 may have too little of the connection's pool left to build any
 * response head, and then closes without a byte ("failed to create response header"). The
 * socket is idle at this point (the previous response on it was sent completely before this
 * request was read), and the answer is a few hundred bytes, far below the socket buffer. */
static enum MHD_Result answer_on_socket(struct pending *p, struct MHD_Connection *conn)
{
    struct request *r = &p->req;
    http_problem(r, p->reject_status, p->reject_detail);
    if (cfg->tls_cert_pem) { /* bytes on the socket would break the TLS stream: close only */
        p->answered = true;
        return MHD_NO;
    }
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    struct strbuf head;
    strbuf_init(&head);
    strbuf_printf(&head,
                  "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: close\r\nContent-Type: %s\r\n"
                  "Content-Length: %zu\r\nX-Request-Id: %s\r\n",
                  r->resp.status, http_status_title(r->resp.status), date, r->resp.content_type,
                  r->resp.body_len, r->request_id);
    const char *origin = http_header(r, "Origin");
    if (origin && origin_allowed(origin))
        strbuf_printf(&head,
                      "Access-Control-Allow-Origin: %s\r\nAccess-Control-Expose-Headers: %s\r\n",
                      origin, CORS_EXPOSE_HEADERS);
    if (cfg->cors_origins)
        strbuf_puts(&head, "Vary: Origin\r\n");
    strbuf_puts(&head, "\r\n");
    struct iovec iov[2] = {{head.buf, head.len}, {r->resp.body, r->resp.body_len}};
    size_t want = head.len + (r->method == M_HEAD ? 0 : r->resp.body_len);
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = r->method == M_HEAD ? 1 : 2};
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    ssize_t sent = ci ? sendmsg(ci->connect_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) : -1;
    strbuf_free(&head);
    p->sent_on_socket = sent == (ssize_t)want;
    p->answered = true;
    return MHD_NO; /* libmicrohttpd closes the connection */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct pending *p = *con_cls;
    if (!p) /* never with on_uri installed */
        *con_cls = p = pending_alloc();
    if (!p->begun) {
        pending_begin(p, conn, url, method, version);
        if (!check_head(p, conn))
            return answer_on_socket(p, conn);
        if (p->reject_status) /* answered on the last call, as other 4xx are: a response */
            return MHD_YES;   /* queued on this first call would close the connection */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        long n;
        if (cl && text_parse_long(cl, 0, 1L << 40, &n) && (size_t)n > p->limit) {
            p->too_large = true;
            return finish(p); /* before reading it: the connection is closed after */
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        p->received += n;
        if (p->received > p->limit) {
            /* A body without Content-Length (chunked) passed the limit. libmicrohttpd 0.9.75
             * cannot queue a response while it reads a body: the rest is read and dropped up
             * to as much again as the limit, then answered 413; a body that goes on beyond
             * that is cut off by closing the connection, so nobody can keep a worker busy
             * with an endless upload. */
            p->too_large = true;
            strbuf_free(&p->body);
            if (p->received - n > 2 * p->limit || p->received > 2 * p->limit) {
                log_warn("request %s: body over twice the limit without Content-Length; closing",
                         p->req.request_id);
                p->req.resp.status = 413; /* for the access log */
                return MHD_NO;
            }
            return MHD_YES;
        }
        if (p->found == ROUTE_FOUND && !p->reject_status) /* else read and dropped */
            strbuf_append(&p->body, upload_data, n);
        return MHD_YES;
    }
    if (p->answered)
        return MHD_YES;
    return finish(p);
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "client-closed";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
    default:
        return "connection-error";
    }
}

/* The access log and metrics record what the client was actually sent. A response csrd
 * queued counts only when libmicrohttpd completed it (toe OK): it can still fail to build the
 * response head ("failed to create response header") or lose the connection, and then the
 * line says "not-delivered" and the metrics count 499, not the queued status. A request that
 * libmicrohttpd answered itself (its own 400/414/431, before the access handler) is logged
 * with the status it queued. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    struct pending *p = *con_cls;
    if (!p)
        return;
    struct request *r = &p->req;
    uint64_t us = time_mono_us() - r->start_us;
    int status = r->resp.status;
    char note[64] = "";
    bool undelivered = false;
    if (!p->begun) {
        /* libmicrohttpd ended the request before the access handler: with its own error
         * response (toe is then WITH_ERROR even when that was sent) or by closing */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
        status = ci ? (int)ci->http_status : 0;
        uuid7_new(r->request_id);
        if (status)
            snprintf(note, sizeof(note), " answered-by-libmicrohttpd");
        else
            snprintf(note, sizeof(note), " closed-by-libmicrohttpd(%s)", termination_name(toe));
    } else if (p->sent_on_socket) {
        snprintf(note, sizeof(note), " sent-directly");
    } else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        snprintf(note, sizeof(note), " not-delivered(%s)", termination_name(toe));
        undelivered = status != 0;
        status = 0;
    }
    int logged = status ? status : (r->resp.status ? r->resp.status : 499);
    metrics_record(r->route ? r->route->index : -1, status ? status : 499, us);
    log_msg(undelivered ? LOG_WARN : LOG_INFO, "%s %s %.512s %d %.3fms key=%s%s", r->request_id,
            r->method_name ? r->method_name : "-", r->path ? r->path : "-", logged,
            (double)us / 1000.0, r->who.key_id[0] ? r->who.key_id : "-", note);
    db_session_close(r->db);
    http_response_reset(r); /* frees a body or a stream that was never queued */
    strbuf_free(&p->body);
    arena_free(&r->arena);
    bool begun = p->begun, trim = r->trim_heap;
    free(p);
    *con_cls = NULL;
    if (begun)
        atomic_fetch_sub(&inflight, 1);
    if (trim)
        malloc_trim(0);
}

/* libmicrohttpd's own messages (a client that left mid-response, a rejected head): normal
 * events on a public server, kept at debug level in csrd's log instead of raw stderr. The
 * format attribute tells clang's -Wformat-nonliteral that fmt is a printf format. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("libmicrohttpd: %s", line);
}

/* A daemon with the options every one gets. listen_fd < 0: it binds ai itself (the first or
 * only daemon); pool_threads > 1: libmicrohttpd's own thread pool (CSRD_IO=threads). */
static struct MHD_Daemon *start_daemon(unsigned flags, const struct addrinfo *ai, int listen_fd,
                                       unsigned pool_threads, unsigned connections)
{
    struct MHD_OptionItem opts[16];
    int n = 0;
#define OPT(o, v, p)                                                                               \
    opts[n++] = (struct MHD_OptionItem)                                                            \
    {                                                                                              \
        (o), (intptr_t)(v), (p)                                                                    \
    }
    if (listen_fd >= 0) {
        OPT(MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL);
    } else {
        OPT(MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr);
        OPT(MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL);
        OPT(MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL);
    }
    if (pool_threads > 1)
        OPT(MHD_OPTION_THREAD_POOL_SIZE, pool_threads, NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, connections, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_s, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->connection_memory, NULL);
    OPT(MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL);
    OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL);
    if (cfg->tls_cert_pem) { /* HTTPS: libmicrohttpd with GnuTLS */
        flags |= MHD_USE_TLS;
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->tls_cert_pem);
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->tls_key_pem);
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
}

static void mhd_ready(void *cls)
{
    ((struct worker *)cls)->mhd_due = true;
}

/* A worker: its event loop resumes the coroutines whose database answers came in and runs
 * libmicrohttpd when its sockets are ready, a resumed connection waits, or a connection
 * timeout is due. On stop it quits accepting and runs until no request is in flight (10 s at
 * most). */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    this_worker = w;
    w->loop = evloop_new();
    const union MHD_DaemonInfo *ei = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!w->loop || !ei || evloop_watch(w->loop, ei->epoll_fd, mhd_ready, w) != 0) {
        __atomic_store_n(&w->ready, -1, __ATOMIC_RELEASE);
        evloop_free(w->loop);
        w->loop = NULL;
        return NULL;
    }
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
    bool quiesced = false;
    int64_t stop_deadline = 0;
    for (;;) {
        if (atomic_load(&stopping)) {
            if (!quiesced) {
                quiesced = true;
                stop_deadline = ev_now_us() + 10 * 1000000;
                MHD_socket fd = MHD_quiesce_daemon(w->daemon);
                if (fd != MHD_INVALID_SOCKET)
                    close(fd);
            }
            if ((atomic_load(&inflight) == 0 && evloop_active(w->loop) == 0) ||
                ev_now_us() > stop_deadline)
                break;
        }
        MHD_UNSIGNED_LONG_LONG mhd_ms = 0;
        int timeout = quiesced ? 10 : 1000;
        if (w->mhd_due)
            timeout = 0;
        else if (MHD_get_timeout(w->daemon, &mhd_ms) == MHD_YES && mhd_ms < (unsigned)timeout)
            timeout = (int)mhd_ms;
        int64_t mhd_at = ev_now_us() + (int64_t)timeout * 1000;
        evloop_run(w->loop, timeout);
        if (w->mhd_due || ev_now_us() >= mhd_at) {
            w->mhd_due = false;
            MHD_run(w->daemon);
        }
    }
    db_thread_exit();
    evloop_free(w->loop);
    w->loop = NULL;
    return NULL;
}

static int start_workers(const struct addrinfo *ai, unsigned base_flags)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    offload_max = 2 * (ncpu > 0 ? (int)ncpu : 1);
    unsigned flags = base_flags | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    nworkers = cfg->threads;
    workers = xcalloc((size_t)nworkers, sizeof(*workers));
    unsigned per = 4096 / (unsigned)nworkers > 16 ? 4096 / (unsigned)nworkers : 16;
    for (int i = 0; i < nworkers; i++) {
        int fd = -1;
        if (i > 0) {
            const union MHD_DaemonInfo *li =
                MHD_get_daemon_info(workers[0].daemon, MHD_DAEMON_INFO_LISTEN_FD);
            fd = li ? dup(li->listen_fd) : -1;
            if (fd < 0)
                return -1;
        }
        workers[i].daemon = start_daemon(flags, ai, fd, 0, per);
        if (!workers[i].daemon) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            MHD_stop_daemon(workers[i].daemon);
            workers[i].daemon = NULL;
            return -1;
        }
        int ready;
        while ((ready = __atomic_load_n(&workers[i].ready, __ATOMIC_ACQUIRE)) == 0)
            usleep(1000);
        if (ready < 0)
            return -1;
    }
    return 0;
}

static void stop_workers(void)
{
    atomic_store(&stopping, true);
    for (int i = 0; i < nworkers; i++) {
        if (!workers[i].daemon)
            continue;
        if (workers[i].ready != 0)
            pthread_join(workers[i].thread, NULL);
        MHD_stop_daemon(workers[i].daemon);
    }
    free(workers);
    workers = NULL;
    nworkers = 0;
}

int http_start(const struct http_hooks *h)
{
    hooks = h;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char host[64], port[16];
    snprintf(host, sizeof(host), "%s", cfg->listen_host);
    if (host[0] == '[') { /* [::1] */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    snprintf(port, sizeof(port), "%d", cfg->listen_port);
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        log_error("CSRD_LISTEN: '%s' is not a numeric address", cfg->listen_host);
        return -1;
    }
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *first;
    if (cfg->io_events) {
        int rc = start_workers(ai, flags);
        first = workers[0].daemon;
        if (rc != 0) {
            stop_workers();
            first = NULL;
        }
    } else {
        daemon_handle =
            start_daemon(flags | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, ai,
                         -1, (unsigned)cfg->threads, 4096);
        first = daemon_handle;
    }
    freeaddrinfo(ai);
    if (!first) {
        if (cfg->tls_cert_pem)
            log_error("cannot listen on %s:%d with HTTPS: is CSRD_TLS_CERT a PEM certificate "
                      "and CSRD_TLS_KEY its private key?",
                      cfg->listen_host, cfg->listen_port);
        else
            log_error("cannot listen on %s:%d", cfg->listen_host, cfg->listen_port);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(first, MHD_DAEMON_INFO_BIND_PORT);
    int bound = info ? info->port : cfg->listen_port;
    printf("csrd listening on %s://%s:%d (%d %s, %d database connections)\n",
           cfg->tls_cert_pem ? "https" : "http", cfg->listen_host, bound, cfg->threads,
           cfg->io_events ? "event-loop workers" : "threads", cfg->db_pool);
    fflush(stdout);
    return 0;
}

void http_stop(void)
{
    if (cfg->io_events) {
        if (workers)
            stop_workers();
        return;
    }
    if (!daemon_handle)
        return;
    MHD_socket listener = MHD_quiesce_daemon(daemon_handle);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    for (int i = 0; i < 1000 && atomic_load(&inflight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
}

/* The surface a handler sees: the parsed request, the caller's identity, and the response it
 * fills. Handlers never touch libmicrohttpd or libpq types; the HTTP layer (server.c) fills
 * this struct and turns the response into bytes. The request owns one database session
 * (opened on its first statement, closed before the response is sent). Everything here lives
 * in the request arena or is freed when the request completes. */
#ifndef CSRD_REQUEST_H
#define CSRD_REQUEST_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "db/db.h"
#include "http/query.h"
#include "principal.h"
#include "util/arena.h"

enum http_method { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS, M_HEAD, M_OTHER };

struct http_header {
    const char *name, *value;
    struct http_header *next;
};

struct strbuf;

/* A body produced while it is sent (exports). next() appends the following part to out and
 * returns true while more may follow, false at the end; when it cannot go on it sets *failed
 * (the status line is already sent, so the connection is cut and the client sees a truncated
 * body). done() runs exactly once, when the response is finished or the client went away,
 * and frees cls and whatever it holds (a database session). Both run on a worker thread
 * between network writes: a slow reader holds no thread, and next() should produce a
 * bounded part (some hundred records). */
struct http_stream {
    bool (*next)(void *cls, struct strbuf *out, bool *failed);
    void (*done)(void *cls);
    void *cls;
};

struct response {
    int status; /* 0 = nothing queued yet */
    const char *content_type;
    char *body; /* malloc'd, freed by the HTTP layer */
    size_t body_len;
    struct http_header *headers;
    /* what an Idempotency-Key replay answers when it must differ from body (a secret shown
     * once); arena memory, NULL when the same */
    const char *stored_body;
    struct http_stream stream; /* next != NULL: a streamed body instead of body */
};

#define PATH_MAX_PARAMS 3

struct route;

struct request {
    struct arena arena;
    enum http_method method;
    const char *method_name;
    const char *path;
    const char *params[PATH_MAX_PARAMS]; /* {placeholders} of the matched route, in order */
    struct query query;
    const char *body; /* NUL-terminated copy of the body, NULL when none */
    size_t body_len;
    char request_id[65];
    struct principal who; /* role ROLE_NONE on unauthenticated routes */
    struct response resp;
    const struct route *route;
    bool prefer_replica; /* the route only reads: may use CSRD_READ_DATABASE_URL */
    bool db_on_replica;  /* r->db reads the replica (rdb.c) */
    bool rate_limited;   /* CSRD_RATE_LIMIT counted this request: rate holds its key's
                            bucket for the RateLimit-* headers */
    struct {
        int limit, remaining, reset;
    } rate;
    bool http10;              /* an HTTP/1.0 request: no chunked transfer coding */
    struct db_session *db;    /* NULL until the first statement; closed by the HTTP layer */
    enum db_status db_failed; /* status of the last failed statement, DB_OK when none */
    bool trim_heap; /* a handler that used much memory: malloc_trim once the answer is sent */

    /* private to the HTTP layer */
    void *conn;
    uint64_t start_us;
};

typedef void (*http_handler)(struct request *r);

const char *http_header(struct request *r, const char *name);
void http_add_header(struct request *r, const char *name, const char *value);

/* Responses. Each sets r->resp; the last one wins. */
/* Forgets everything a handler put into the response (status, body, headers). */
void http_response_reset(struct request *r);
void http_reply_raw(struct request *r, int status, const char *content_type, char *body,
                    size_t len /* body malloc'd, ownership taken */);
void http_reply_json(struct request *r, int status, json_t *body /* reference stolen */);
void http_reply_empty(struct request *r, int status);
/* A streamed body; the stream is owned by the response from now on (done() always runs). */
void http_reply_stream(struct request *r, int status, const char *content_type,
                       struct http_stream stream);
/* RFC 9457 problem; detail may be NULL. */
void http_problem(struct request *r, int status, const char *detail);
/* 422 with the given {"field","message"} array (reference stolen). */
void http_problem_fields(struct request *r, json_t *errors);
void http_problem_field(struct request *r, const char *field, const char *message);
/* Any status with a {"field","message"} array (reference stolen), e.g. a 409 naming records. */
void http_problem_errors(struct request *r, int status, const char *detail, json_t *errors);
/* The one mapping of database failures to problems: 503 + Retry-After when unavailable, 409
 * for unique violations and repeated serialization failures, 422 for other constraint and
 * data errors, 500 (logged with the server's text) otherwise. No database text reaches the
 * client. */
void http_problem_db(struct request *r, const struct db_error *e);
const char *http_status_title(int status);
#endif

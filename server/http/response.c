/* Response helpers and problem+json (RFC 9457). The problem `type` is a URN per kind of
 * problem (urn:csrd:problem:validation, ...), stable for clients to switch on. */
#include "util/xalloc.h"
#include "http/request.h"
#include "log.h"
#include "util/strbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *http_status_title(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

static const char *status_slug(int status)
{
    switch (status) {
    case 400:
        return "bad-request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not-found";
    case 405:
        return "method-not-allowed";
    case 406:
        return "not-acceptable";
    case 409:
        return "conflict";
    case 412:
        return "precondition-failed";
    case 413:
        return "content-too-large";
    case 414:
        return "uri-too-long";
    case 415:
        return "unsupported-media-type";
    case 422:
        return "validation";
    case 426:
        return "upgrade-required";
    case 429:
        return "rate-limited";
    case 431:
        return "header-too-large";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

void http_add_header(struct request *r, const char *name, const char *value)
{
    struct http_header *h = arena_alloc(&r->arena, sizeof(*h));
    h->name = arena_strdup(&r->arena, name);
    h->value = arena_strdup(&r->arena, value);
    h->next = r->resp.headers;
    r->resp.headers = h;
}

static void drop_stream(struct request *r)
{
    if (r->resp.stream.done)
        r->resp.stream.done(r->resp.stream.cls);
    memset(&r->resp.stream, 0, sizeof(r->resp.stream));
}

void http_response_reset(struct request *r)
{
    free(r->resp.body);
    drop_stream(r);
    memset(&r->resp, 0, sizeof(r->resp));
}

void http_reply_stream(struct request *r, int status, const char *content_type,
                       struct http_stream stream)
{
    http_reply_raw(r, status, content_type, NULL, 0);
    r->resp.stream = stream;
}

void http_reply_raw(struct request *r, int status, const char *content_type, char *body, size_t len)
{
    free(r->resp.body);
    drop_stream(r);
    r->resp.status = status;
    r->resp.content_type = content_type;
    r->resp.body = body;
    r->resp.body_len = len;
}

void http_reply_json(struct request *r, int status, json_t *body)
{
    char *text = xjson_dumps(body, JSON_COMPACT);
    json_decref(body);
    http_reply_raw(r, status, "application/json", text, text ? strlen(text) : 0);
}

void http_reply_empty(struct request *r, int status)
{
    http_reply_raw(r, status, NULL, NULL, 0);
}

/* A problem replaces a success that was being prepared: its Location, ETag and Link must not
 * survive into the error response. */
static void drop_success_headers(struct request *r)
{
    struct http_header **h = &r->resp.headers;
    while (*h) {
        if (!strcmp((*h)->name, "Location") || !strcmp((*h)->name, "ETag") ||
            !strcmp((*h)->name, "Link"))
            *h = (*h)->next;
        else
            h = &(*h)->next;
    }
}

static void problem_reply(struct request *r, int status, const char *detail, json_t *errors)
{
    drop_success_headers(r);
    json_t *p = json_pack("{s:s,s:s,s:i,s:s}", "type", "", "title", http_status_title(status),
                          "status", status, "request_id", r->request_id);
    char type[96];
    snprintf(type, sizeof(type), "urn:csrd:problem:%s", status_slug(status));
    json_object_set_new(p, "type", json_string(type));
    json_object_set_new(p, "detail", json_string(detail ? detail : http_status_title(status)));
    if (errors)
        json_object_set_new(p, "errors", errors);
    char *text = xjson_dumps(p, JSON_COMPACT);
    json_decref(p);
    http_reply_raw(r, status, "application/problem+json", text, text ? strlen(text) : 0);
}

void http_problem(struct request *r, int status, const char *detail)
{
    problem_reply(r, status, detail, NULL);
}

void http_problem_errors(struct request *r, int status, const char *detail, json_t *errors)
{
    problem_reply(r, status, detail, errors);
}

void http_problem_fields(struct request *r, json_t *errors)
{
    problem_reply(r, 422, "the request body has invalid fields", errors);
}

void http_problem_field(struct request *r, const char *field, const char *message)
{
    json_t *errors = json_array();
    json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "message", message));
    http_problem_fields(r, errors);
}

void http_problem_db(struct request *r, const struct db_error *e)
{
    const char *state = e->sqlstate;
    switch (e->status) {
    case DB_UNAVAILABLE:
        http_add_header(r, "Retry-After", "1");
        http_problem(r, 503, e->reason ? e->reason : "the database is unavailable");
        return;
    case DB_RETRY:
        http_problem(r, 409, "the record was changed concurrently; retry");
        return;
    case DB_OK:
    case DB_ABORTED:
    case DB_ERROR:
        break;
    }
    if (!strcmp(state, "23505")) {
        http_problem(r, 409, "a record with this unique value already exists");
    } else if (!strcmp(state, "23503")) {
        http_problem(r, 422, "a referenced record does not exist");
    } else if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2)) {
        /* check, not-null or data exceptions that slipped past validation */
        log_warn("request %s: SQLSTATE %s: %s", r->request_id, state, e->message);
        http_problem(r, 422, "a value is not acceptable");
    } else {
        log_error("request %s: SQLSTATE %s: %s", r->request_id, state, e->message);
        http_problem(r, 500, "unexpected database error");
    }
}

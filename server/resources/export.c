/* See export.h. */
#include "resources/export.h"
#include "db/db.h"
#include "json/json_text.h"
#include "log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAGE_ROWS  200
#define MAX_PARAMS 16

struct export
{
    const char *stmt;
    int nparams;
    char *params[MAX_PARAMS]; /* filters, then cursor key, cursor id, limit */
    const struct field_spec *columns;
    bool csv, bom, started, finished;
    char request_id[65];
    struct db_session *first; /* taken before the 200 is sent, for the first page */
};

static void export_free(void *cls)
{
    struct export *e = cls;
    for (int i = 0; i < e->nparams; i++)
        free(e->params[i]);
    db_session_close(e->first);
    free(e);
}

void export_csv_field(struct strbuf *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        strbuf_puts(out, s);
        return;
    }
    strbuf_puts(out, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            strbuf_puts(out, "\"\"");
        else
            strbuf_append(out, p, 1);
    }
    strbuf_puts(out, "\"");
}

static void csv_header(struct strbuf *out, const struct field_spec *columns)
{
    for (const struct field_spec *c = columns; c->name; c++) {
        if (c != columns)
            strbuf_puts(out, ",");
        export_csv_field(out, c->name);
    }
    strbuf_puts(out, "\r\n");
}

static bool csv_row(struct strbuf *out, const struct field_spec *columns, const char *json)
{
    json_t *rec = json_load_stored(json);
    if (!json_is_object(rec)) {
        json_decref(rec);
        return false;
    }
    for (const struct field_spec *c = columns; c->name; c++) {
        if (c != columns)
            strbuf_puts(out, ",");
        json_t *v = json_object_get(rec, c->name);
        if (!v || json_is_null(v))
            continue;
        if (json_is_string(v)) {
            export_csv_field(out, json_string_value(v));
        } else {
            char *text = json_text(v); /* numbers, booleans, nested values */
            export_csv_field(out, text);
            free(text);
        }
    }
    strbuf_puts(out, "\r\n");
    json_decref(rec);
    return true;
}

/* The next page of records (or the end). */
static bool export_next(void *cls, struct strbuf *out, bool *failed)
{
    struct export *e = cls;
    if (!e->started) {
        e->started = true;
        if (e->csv) {
            if (e->bom)
                strbuf_puts(out, "\xef\xbb\xbf");
            csv_header(out, e->columns);
        }
        return true;
    }
    if (e->finished)
        return false;
    struct db_session *s = e->first;
    struct db_error err;
    struct db_rows *rows;
    e->first = NULL;
    if (!s && db_session_open(DB_STREAM, true, &s, &err) != DB_OK) {
        log_warn("request %s: export cut off: %s", e->request_id, err.reason);
        *failed = true;
        return false;
    }
    if (db_exec(s, e->stmt, e->nparams, (const char *const *)e->params, &rows) != DB_OK) {
        log_error("request %s: export cut off: SQLSTATE %s: %s", e->request_id,
                  db_last_error(s)->sqlstate, db_last_error(s)->message);
        db_session_close(s);
        *failed = true;
        return false;
    }
    int n = db_nrows(rows);
    for (int i = 0; i < n; i++) {
        const char *json = db_get(rows, i, 0);
        if (!e->csv) {
            strbuf_puts(out, json);
            strbuf_puts(out, "\n");
        } else if (!csv_row(out, e->columns, json)) {
            log_error("request %s: export cut off: a record is not readable JSON", e->request_id);
            *failed = true;
            break;
        }
    }
    if (n > 0) { /* the keyset position moves to the last row of this page */
        free(e->params[e->nparams - 3]);
        free(e->params[e->nparams - 2]);
        e->params[e->nparams - 3] = xstrdup(db_get(rows, n - 1, 1));
        e->params[e->nparams - 2] = xstrdup(db_get(rows, n - 1, 2));
    }
    e->finished = n < PAGE_ROWS;
    db_session_close(s);
    return !*failed;
}

/* Does the Accept header allow the media type (or a wildcard covering it)? */
bool export_accepts(const char *accept, const char *type)
{
    if (!accept)
        return false;
    size_t n = strlen(type);
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",;");
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && !strncasecmp(p, type, n))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

void export_reply(struct request *r, const char *page_stmt, int nparams, const char *const *params,
                  const struct field_spec *columns)
{
    bool head = r->method == M_HEAD; /* headers only: no stream, no chunked terminator */
    if (r->http10) {
        /* a stream of unknown length needs chunked transfer (libmicrohttpd 0.9.75 left an
         * HTTP/1.0 stream of an empty export open until the idle timeout) */
        http_add_header(r, "Upgrade", "HTTP/1.1");
        http_add_header(r, "Connection", "Upgrade");
        http_problem(r, 426, "exports are streamed with chunked transfer: send HTTP/1.1");
        return;
    }
    const char *accept = http_header(r, "Accept");
    bool csv = export_accepts(accept, "text/csv");
    bool ndjson = !accept || export_accepts(accept, "application/x-ndjson") ||
                  export_accepts(accept, "application/json") || export_accepts(accept, "*/*") ||
                  export_accepts(accept, "application/*") || export_accepts(accept, "text/*");
    if (!csv && !ndjson) {
        http_problem(r, 406, "exports are application/x-ndjson or text/csv (Accept)");
        return;
    }
    const char *bom = query_get(&r->query, "bom");
    if (bom && strcmp(bom, "true") != 0 && strcmp(bom, "false") != 0) {
        http_problem(r, 400, "bom must be true or false");
        return;
    }
    if (head) {
        http_add_header(r, "Cache-Control", "no-store");
        http_reply_raw(r, 200, csv ? "text/csv; charset=utf-8" : "application/x-ndjson", NULL, 0);
        return;
    }
    /* a connection for the first page now, so that a busy stream pool is a clean 503 with
     * Retry-After rather than a 200 whose body is cut off */
    struct db_session *first;
    struct db_error err;
    if (db_session_open(DB_STREAM, true, &first, &err) != DB_OK) {
        http_problem_db(r, &err);
        return;
    }
    struct export *e = xcalloc(1, sizeof(*e));
    e->first = first;
    e->stmt = page_stmt;
    e->nparams = nparams < MAX_PARAMS ? nparams : MAX_PARAMS;
    for (int i = 0; i < e->nparams - 3; i++)
        e->params[i] = params[i] ? xstrdup(params[i]) : NULL;
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", PAGE_ROWS);
    e->params[e->nparams - 1] = xstrdup(limit);
    e->columns = columns;
    e->csv = csv;
    e->bom = csv && bom && !strcmp(bom, "true");
    snprintf(e->request_id, sizeof(e->request_id), "%s", r->request_id);
    http_add_header(r, "Cache-Control", "no-store");
    if (csv) { /* /v1/customers/export -> customers.csv */
        const char *name = r->path + (strncmp(r->path, "/v1/", 4) ? 0 : 4);
        http_add_header(r, "Content-Disposition",
                        arena_printf(&r->arena, "attachment; filename=\"%.*s.csv\"",
                                     (int)strcspn(name, "/"), name));
    }
    http_reply_stream(r, 200, csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
                      (struct http_stream){export_next, export_free, e});
}

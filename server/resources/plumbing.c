/* Shared request plumbing; see plumbing.h. */
#include "resources/plumbing.h"
#include "http/headers.h"
#include "json/merge_patch.h"
#include "util/cursor.h"
#include "util/sha256.h"
#include "util/strbuf.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt plumbing_statements[] = {
    /* Claims the key; takes over a record older than 24 h. A concurrent claim of the same
     * key blocks on the primary key until the first transaction ends. */
    /* Claims the key; takes over a record older than 24 h. A concurrent claim of the same
     * key blocks on the primary key until the first transaction ends. Each claim also
     * removes up to ten other expired records, so the table stays at one day's worth. */
    {"idem_claim", "WITH purge AS (DELETE FROM idempotency_keys WHERE ctid IN ("
                   " SELECT ctid FROM idempotency_keys"
                   " WHERE created_at < now() - interval '24 hours'"
                   " AND NOT (api_key_id = $1 AND key = $2)"
                   " ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED))"
                   " INSERT INTO idempotency_keys (api_key_id, key, request_hash)"
                   " VALUES ($1, $2, $3)"
                   " ON CONFLICT (api_key_id, key) DO UPDATE SET request_hash = $3, status = 0,"
                   " headers = NULL, body = NULL, created_at = now()"
                   " WHERE idempotency_keys.created_at < now() - interval '24 hours'"
                   " RETURNING 1"},
    {"idem_get", "SELECT request_hash, status, headers, body FROM idempotency_keys"
                 " WHERE api_key_id = $1 AND key = $2"},
    {"idem_store", "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5"
                   " WHERE api_key_id = $1 AND key = $2"},
    {NULL, NULL}};

/* ---- Idempotency-Key ---------------------------------------------------------------- */

static bool idempotency_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return false;
    for (; *k; k++)
        if (*k < 0x21 || *k > 0x7e)
            return false;
    return true;
}

static void replay(struct request *r, struct db_rows *rows)
{
    long status = strtol(db_get(rows, 0, 1), NULL, 10);
    const char *headers = db_get(rows, 0, 2), *body = db_get(rows, 0, 3);
    if (headers) {
        char *copy = arena_strdup(&r->arena, headers), *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *colon = strstr(line, ": ");
            if (!colon)
                continue;
            *colon = '\0';
            http_add_header(r, line, colon + 2);
        }
    }
    http_add_header(r, "Idempotent-Replayed", "true");
    char *b = body ? strdup(body) : NULL;
    http_reply_raw(r, (int)status, b ? "application/json" : NULL, b, b ? strlen(b) : 0);
}

static void run_idempotent(struct request *r, http_handler h, const char *key)
{
    /* The fingerprint covers what makes two requests "the same": path, query and body. */
    struct strbuf fp;
    strbuf_init(&fp);
    strbuf_printf(&fp, "POST %s\n", r->path);
    for (size_t i = 0; i < r->query.n; i++)
        strbuf_printf(&fp, "%s=%s&", r->query.args[i].key, r->query.args[i].value);
    strbuf_puts(&fp, "\n");
    if (r->body)
        strbuf_append(&fp, r->body, r->body_len);
    char hash[SHA256_HEX_LEN];
    sha256_hex(fp.buf, fp.len, hash);
    strbuf_free(&fp);

    const char *claim[] = {r->who.key_id, key, hash};
    if (!db_begin(r))
        return;
    struct db_rows *rows = db_run(r, "idem_claim", 3, claim);
    if (!rows)
        return;
    if (db_nrows(rows) == 0) {
        db_rollback(r);
        rows = db_run(r, "idem_get", 2, claim);
        if (!rows)
            return;
        if (db_nrows(rows) == 0) { /* expired and removed in between: rare; ask to retry */
            http_problem(r, 409, "the Idempotency-Key is being reused; retry");
        } else if (strcmp(db_get(rows, 0, 0), hash) != 0) {
            http_problem_field(r, "Idempotency-Key",
                               "was already used with a different request within 24 hours");
        } else {
            replay(r, rows);
        }
        return;
    }
    h(r);
    if (r->resp.status < 200 || r->resp.status > 299 || !db_in_transaction(r)) {
        db_rollback(r);
        return;
    }
    struct strbuf hdrs;
    strbuf_init(&hdrs);
    for (struct http_header *hd = r->resp.headers; hd; hd = hd->next)
        if (!strcmp(hd->name, "Location") || !strcmp(hd->name, "ETag"))
            strbuf_printf(&hdrs, "%s: %s\n", hd->name, hd->value);
    char status[8];
    snprintf(status, sizeof(status), "%d", r->resp.status);
    const char *store[] = {r->who.key_id, key, status, hdrs.buf, r->resp.body};
    struct db_rows *ok = db_run(r, "idem_store", 5, store);
    strbuf_free(&hdrs);
    if (!ok || !db_commit(r)) {
        /* the change was rolled back with the key: the client must not see a success */
        db_rollback(r);
        if (r->resp.status < 400)
            http_problem(r, 503, "the change could not be committed; retry");
    }
}

void plumbing_run_handler(struct request *r, http_handler h)
{
    const char *key = r->method == M_POST ? http_header(r, "Idempotency-Key") : NULL;
    if (!key) {
        h(r);
        return;
    }
    if (!idempotency_key_ok(key)) {
        http_problem(r, 400, "Idempotency-Key must be 1 to 255 visible ASCII characters");
        return;
    }
    run_idempotent(r, h, key);
}

/* ---- bodies, ids, conditions ----------------------------------------------------------- */

json_t *req_json_object(struct request *r, bool allow_empty)
{
    if (!r->body || r->body_len == 0) {
        if (allow_empty)
            return json_object();
        http_problem(r, 400, "a JSON object body is required");
        return NULL;
    }
    const char *ct = http_header(r, "Content-Type");
    if (!http_content_type_is_json(ct)) {
        http_problem(r, 415, "the body must be application/json (UTF-8)");
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        char detail[256];
        snprintf(detail, sizeof(detail), "malformed JSON at line %d, column %d: %s", err.line,
                 err.column, err.text);
        http_problem(r, 400, detail);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_problem(r, 400, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

json_t *req_valid_body(struct request *r, const struct field_spec *spec)
{
    json_t *body = req_json_object(r, false);
    if (!body)
        return NULL;
    json_t *errors = json_array();
    if (!json_validate(body, spec, VALIDATE_CREATE, errors)) {
        json_decref(body);
        http_problem_fields(r, errors);
        return NULL;
    }
    json_decref(errors);
    return body;
}

const char *req_path_uuid(struct request *r, int i)
{
    const char *id = r->params[i];
    if (!id || !uuid_is_valid(id)) {
        http_problem(r, 404, "no record with this id");
        return NULL;
    }
    return id;
}

bool req_if_match(struct request *r, long version)
{
    const char *h = http_header(r, "If-Match");
    if (!h)
        return true;
    enum etag_match m = http_etag_match(h, version);
    if (m == ETAG_MALFORMED) {
        http_problem(r, 400, "If-Match must be \"*\" or a list of entity tags such as \"3\"");
        return false;
    }
    if (m == ETAG_NO_MATCH) {
        char detail[96];
        snprintf(detail, sizeof(detail), "the record is at version %ld; re-read it and retry",
                 version);
        http_problem(r, 412, detail);
        return false;
    }
    return true;
}

static void set_etag(struct request *r, const char *version)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%s\"", version);
    http_add_header(r, "ETag", etag);
}

void reply_record(struct request *r, int status, const char *json, const char *version,
                  const char *location)
{
    if (version)
        set_etag(r, version);
    if (location)
        http_add_header(r, "Location", location);
    char *body = strdup(json);
    http_reply_raw(r, status, "application/json", body, strlen(body));
}

void reply_record_get(struct request *r, const char *json, const char *version)
{
    const char *inm = http_header(r, "If-None-Match");
    if (inm && http_etag_match(inm, strtol(version, NULL, 10)) == ETAG_MATCH) {
        set_etag(r, version);
        http_reply_empty(r, 304);
        return;
    }
    reply_record(r, 200, json, version, NULL);
}

void reply_get_by_id(struct request *r, const char *stmt, const char *what)
{
    const char *id = req_path_uuid(r, 0);
    if (!id)
        return;
    struct db_rows *rows = db_run(r, stmt, 1, &id);
    if (!rows)
        return;
    if (db_nrows(rows) == 0)
        http_problem(r, 404, arena_printf(&r->arena, "no %s with this id", what));
    else
        reply_record_get(r, db_get(rows, 0, 0), db_get(rows, 0, 1));
}

struct db_rows *lock_by_id(struct request *r, const char *stmt, const char *id, const char *what)
{
    struct db_rows *rows = db_run(r, stmt, 1, &id);
    if (!rows)
        return NULL;
    if (db_nrows(rows) == 0) {
        http_problem(r, 404, arena_printf(&r->arena, "no %s with this id", what));
        return NULL;
    }
    if (!req_if_match(r, strtol(db_get(rows, 0, 1), NULL, 10)))
        return NULL;
    return rows;
}

json_t *patch_merge(struct request *r, const struct field_spec *spec, const char *stored,
                    const json_t *patch, json_t **current, bool *same)
{
    *current = json_loads(stored, 0, NULL);
    *same = false;
    if (!*current) {
        http_problem(r, 500, "a stored record could not be read");
        return NULL;
    }
    json_strip_readonly(*current, spec);
    json_t *errors = json_array();
    for (const struct field_spec *f = spec; f->name; f++) {
        json_t *v = json_object_get(patch, f->name);
        if ((f->flags & FIELD_IMMUTABLE) && v && !json_equal(v, json_object_get(*current, f->name)))
            json_error_add(errors, f->name, "cannot be changed");
    }
    json_t *merged = json_merge_patch(*current, patch);
    json_validate(merged, spec, VALIDATE_MERGED, errors);
    if (json_array_size(errors)) {
        json_decref(merged);
        http_problem_fields(r, errors);
        return NULL;
    }
    json_decref(errors);
    *same = json_equal(*current, merged);
    return merged;
}

json_t *changed_members(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)b, k, v)
    {
        if (!json_equal(json_object_get(a, k), v))
            json_array_append_new(out, json_string(k));
    }
    json_object_foreach((json_t *)a, k, v)
    {
        if (!json_object_get(b, k))
            json_array_append_new(out, json_string(k));
    }
    return out;
}

void explain_constraint(struct request *r, const struct constraint_field *map)
{
    const char *cons = db_constraint(r), *state = db_sqlstate(r);
    for (; map->constraint; map++) {
        if (strcmp(map->constraint, cons) != 0)
            continue;
        if (!strcmp(state, "23505") || map->conflict)
            http_problem(r, 409, arena_printf(&r->arena, "%s %s", map->field, map->message));
        else
            http_problem_field(r, map->field, map->message);
        return;
    }
}

void record_create(struct request *r, const struct record_kind *k)
{
    json_t *body = req_valid_body(r, k->fields);
    if (!body)
        return;
    if (!k->check || k->check(r, body)) {
        char id[UUID_STR_LEN];
        uuid7_new(id);
        char *doc = json_dumps(body, JSON_COMPACT);
        const char *params[] = {id, doc};
        struct db_rows *rows = db_run(r, k->insert_stmt, 2, params);
        free(doc);
        if (rows)
            reply_record(r, 201, db_get(rows, 0, 0), db_get(rows, 0, 1),
                         arena_printf(&r->arena, "%s/%s", k->path, id));
        else
            explain_constraint(r, k->constraints);
    }
    json_decref(body);
}

void record_patch(struct request *r, const struct record_kind *k)
{
    const char *id = req_path_uuid(r, 0);
    json_t *patch = id ? req_json_object(r, false) : NULL;
    if (!patch)
        return;
    json_t *current = NULL, *merged = NULL;
    bool same;
    struct db_rows *rows;
    if (!db_begin(r) ||
        !(rows = k->lock ? k->lock(r, id) : lock_by_id(r, k->lock_stmt, id, k->what)) ||
        !(merged = patch_merge(r, k->fields, db_get(rows, 0, 0), patch, &current, &same)))
        goto done;
    if (same) { /* nothing changes: no new version */
        db_rollback(r);
        reply_record(r, 200, db_get(rows, 0, 0), db_get(rows, 0, 1), NULL);
        goto done;
    }
    if (k->check && !k->check(r, merged))
        goto done;
    char *doc = json_dumps(merged, JSON_COMPACT);
    const char *params[] = {id, db_get(rows, 0, 1), doc};
    struct db_rows *upd = db_run(r, k->update_stmt, 3, params);
    free(doc);
    if (!upd)
        explain_constraint(r, k->constraints);
    else if ((!k->after_update || k->after_update(r, id, rows, current, merged)) && db_commit(r))
        reply_record(r, 200, db_get(upd, 0, 0), db_get(upd, 0, 1), NULL);
done:
    json_decref(patch);
    json_decref(current);
    json_decref(merged);
}

/* ---- lists ----------------------------------------------------------------------------- */

static const char *const LIST_COMMON[] = {"limit", "cursor", "sort", "count", NULL};

bool list_parse(struct request *r, const char *const *filters, const char *const *sorts,
                const char *default_sort, struct list_params *lp)
{
    memset(lp, 0, sizeof(*lp));
    const char *allowed[QUERY_MAX_ARGS + 8];
    size_t n = 0;
    for (const char *const *c = LIST_COMMON; *c; c++)
        allowed[n++] = *c;
    for (const char *const *f = filters; *f && n < QUERY_MAX_ARGS + 7; f++)
        allowed[n++] = *f;
    allowed[n] = NULL;
    const char *bad = query_unknown_or_repeated(&r->query, allowed);
    if (bad) {
        http_problem(r, 400,
                     arena_printf(&r->arena, "unknown or repeated query parameter '%s'", bad));
        return false;
    }
    long limit = 50;
    const char *v = query_get(&r->query, "limit");
    if (v && !text_parse_long(v, 1, 500, &limit)) {
        http_problem(r, 400, "limit must be an integer from 1 to 500");
        return false;
    }
    lp->limit = (int)limit;
    snprintf(lp->limit_text, sizeof(lp->limit_text), "%ld", limit + 1);
    lp->sort_text = query_get(&r->query, "sort");
    if (!lp->sort_text || !*lp->sort_text)
        lp->sort_text = default_sort;
    if (!query_parse_sort(lp->sort_text, sorts, &lp->sort, &lp->desc)) {
        struct strbuf sb;
        strbuf_init(&sb);
        strbuf_puts(&sb, "sort must be one of");
        for (const char *const *s = sorts; *s; s++)
            strbuf_printf(&sb, " %s, -%s%s", *s, *s, s[1] ? "," : "");
        http_problem(r, 400, sb.buf);
        strbuf_free(&sb);
        return false;
    }
    v = query_get(&r->query, "count");
    if (v && strcmp(v, "exact") != 0) {
        http_problem(r, 400, "count must be 'exact'");
        return false;
    }
    lp->count = v != NULL;
    v = query_get(&r->query, "cursor");
    if (v && !cursor_decode(&r->arena, v, lp->sort_text, &lp->cursor_key, &lp->cursor_id)) {
        http_problem(r, 400, "cursor is not valid for this list and sort");
        return false;
    }
    return true;
}

void list_reply(struct request *r, struct db_rows *rows, const struct list_params *lp, long total)
{
    int n = db_nrows(rows);
    bool more = n > lp->limit;
    if (more)
        n = lp->limit;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "{\"data\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            strbuf_puts(&sb, ",");
        strbuf_puts(&sb, db_get(rows, i, 0));
    }
    strbuf_puts(&sb, "],\"next_cursor\":");
    if (more) {
        const char *cur =
            cursor_encode(&r->arena, lp->sort_text, db_get(rows, n - 1, 1), db_get(rows, n - 1, 2));
        strbuf_json_string(&sb, cur);
        struct strbuf link;
        strbuf_init(&link);
        strbuf_printf(&link, "<%s?", r->path);
        for (size_t i = 0; i < r->query.n; i++)
            if (strcmp(r->query.args[i].key, "cursor") != 0)
                strbuf_printf(&link, "%s=%s&", text_url_encode(&r->arena, r->query.args[i].key),
                              text_url_encode(&r->arena, r->query.args[i].value));
        strbuf_printf(&link, "cursor=%s>; rel=\"next\"", cur);
        http_add_header(r, "Link", link.buf);
        strbuf_free(&link);
    } else {
        strbuf_puts(&sb, "null");
    }
    if (total >= 0)
        strbuf_printf(&sb, ",\"total\":%ld", total);
    strbuf_puts(&sb, "}");
    size_t len;
    char *body = strbuf_take(&sb, &len);
    http_reply_raw(r, 200, "application/json", body, len);
}

bool filter_enum_list(struct request *r, const char *name, const char *const *values)
{
    const char *v = query_get(&r->query, name);
    if (!v)
        return true;
    char *copy = arena_strdup(&r->arena, v), *save = NULL;
    int count = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *const *e = values;
        while (*e && strcmp(*e, item))
            e++;
        if (!*e)
            break;
        count++;
    }
    size_t commas = 0;
    for (const char *p = v; *p; p++)
        commas += *p == ',';
    if (count == 0 || (size_t)count != commas + 1) {
        struct strbuf sb;
        strbuf_init(&sb);
        strbuf_printf(&sb, "%s must be a comma-separated list of:", name);
        for (const char *const *e = values; *e; e++)
            strbuf_printf(&sb, " %s", *e);
        http_problem(r, 400, sb.buf);
        strbuf_free(&sb);
        return false;
    }
    return true;
}

bool filter_timestamp(struct request *r, const char *name)
{
    const char *v = query_get(&r->query, name);
    if (v && !time_rfc3339_valid(v)) {
        http_problem(r, 400, arena_printf(&r->arena, "%s must be an RFC 3339 timestamp", name));
        return false;
    }
    return true;
}

bool filter_uuid(struct request *r, const char *name)
{
    const char *v = query_get(&r->query, name);
    if (v && !uuid_is_valid(v)) {
        http_problem(r, 400, arena_printf(&r->arena, "%s must be a UUID", name));
        return false;
    }
    return true;
}

void run_list(struct request *r, const struct list_params *lp, const char *page_stmt,
              const char *count_stmt, int nparams, const char **params,
              const struct list_parent *parent)
{
    long total = -1;
    params[nparams - 3] = lp->cursor_key;
    params[nparams - 2] = lp->cursor_id;
    params[nparams - 1] = lp->limit_text;
    if (lp->count && count_stmt) {
        const char *key = params[nparams - 3], *id = params[nparams - 2],
                   *lim = params[nparams - 1];
        params[nparams - 3] = params[nparams - 2] = params[nparams - 1] = NULL;
        struct db_rows *c = db_run(r, count_stmt, nparams, params);
        params[nparams - 3] = key, params[nparams - 2] = id, params[nparams - 1] = lim;
        if (!c)
            return;
        total = strtol(db_get(c, 0, 0), NULL, 10);
    }
    struct db_rows *rows = db_run(r, page_stmt, nparams, params);
    if (!rows)
        return;
    if (parent && db_nrows(rows) == 0) {
        struct db_rows *owner = db_run(r, parent->exists_stmt, 1, &parent->id);
        if (!owner)
            return;
        if (db_nrows(owner) == 0) {
            http_problem(r, 404, arena_printf(&r->arena, "no %s with this id", parent->what));
            return;
        }
    }
    list_reply(r, rows, lp, total);
}

bool filter_bool(struct request *r, const char *name, bool *out)
{
    const char *v = query_get(&r->query, name);
    *out = false;
    if (v && !query_parse_bool(v, out)) {
        http_problem(r, 400, arena_printf(&r->arena, "%s must be true or false", name));
        return false;
    }
    return true;
}

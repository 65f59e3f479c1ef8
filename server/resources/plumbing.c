/* Shared request plumbing; see plumbing.h. */
#include "util/xalloc.h"
#include "json/json_text.h"
#include "resources/plumbing.h"
#include "http/headers.h"
#include "json/merge_patch.h"
#include "log.h"
#include "util/cursor.h"
#include "util/sha256.h"
#include "util/strbuf.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
const struct db_stmt plumbing_statements[] = {
    /* read-your-writes (rdb.c): the primary's position after a commit; whether the replica
     * has replayed up to a client's token (NULL, so false, on a server not in recovery) */
    {"rdb_wal_position", "SELECT pg_current_wal_insert_lsn()::text"},
    {"rdb_replica_caught_up", "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)"},
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
    {"secrets_get", "SELECT value FROM csrd_secrets WHERE name = $1"},
    {"idem_get", "SELECT request_hash, status, headers, body FROM idempotency_keys"
                 " WHERE api_key_id = $1 AND key = $2"},
    {"idem_store", "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5"
                   " WHERE api_key_id = $1 AND key = $2"},
    {NULL, NULL}};
// clang-format on

/* Written once by plumbing_init, before the listener starts; read-only afterwards. */
static struct cursor_secret cursor_secret;

int plumbing_init(void)
{
    struct db_session *s;
    struct db_error err;
    struct db_rows *rows;
    const char *name = "cursor";
    if (db_session_open(DB_PRIMARY, true, &s, &err) != DB_OK) {
        log_error("cannot read the deployment secret: %s", err.reason);
        return -1;
    }
    int ret = -1;
    if (db_exec(s, "secrets_get", 1, &name, &rows) != DB_OK)
        log_error("cannot read the deployment secret: %s", db_last_error(s)->message);
    else if (db_nrows(rows) != 1)
        log_error("the deployment secret is missing (table csrd_secrets)");
    else {
        cursor_secret_derive(&cursor_secret, db_get(rows, 0, 0));
        ret = 0;
    }
    db_session_close(s);
    return ret;
}

/* ---- Idempotency-Key ---------------------------------------------------------------- */

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
    char *b = body ? xstrdup(body) : NULL;
    http_reply_raw(r, (int)status, b ? "application/json" : NULL, b, b ? strlen(b) : 0);
}

struct idempotent {
    http_handler h;
    const char *key, *hash;
    bool taken; /* the key is held by an earlier request */
};

/* The claim, the handler's writes and the stored response commit together or not at all, so
 * a failure does not burn the key. */
static bool idempotent_body(struct request *r, void *cls)
{
    struct idempotent *i = cls;
    const char *claim[] = {r->who.key_id, i->key, i->hash};
    struct db_rows *rows = rdb_run(r, "idem_claim", 3, claim);
    if (!rows)
        return false;
    if (db_nrows(rows) == 0) {
        i->taken = true;
        return false;
    }
    i->h(r);
    if (r->resp.status < 200 || r->resp.status > 299)
        return false;
    struct strbuf hdrs;
    strbuf_init(&hdrs);
    for (struct http_header *hd = r->resp.headers; hd; hd = hd->next)
        if (!strcmp(hd->name, "Location") || !strcmp(hd->name, "ETag"))
            strbuf_printf(&hdrs, "%s: %s\n", hd->name, hd->value);
    char status[8];
    snprintf(status, sizeof(status), "%d", r->resp.status);
    /* a response that holds a secret stores a copy without it (resp.stored_body) */
    const char *store[] = {r->who.key_id, i->key, status, hdrs.buf,
                           r->resp.stored_body ? r->resp.stored_body : r->resp.body};
    bool ok = rdb_run(r, "idem_store", 5, store) != NULL;
    strbuf_free(&hdrs);
    return ok;
}

void plumbing_run_idempotent(struct request *r, http_handler h, const char *key)
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

    struct idempotent i = {.h = h, .key = key, .hash = hash};
    if (rdb_transaction(r, idempotent_body, &i) || !i.taken)
        return;
    const char *get[] = {r->who.key_id, key};
    struct db_rows *rows = rdb_run(r, "idem_get", 2, get);
    if (!rows)
        return;
    if (db_nrows(rows) == 0) /* expired and removed in between: rare; ask to retry */
        http_problem(r, 409, "the Idempotency-Key is being reused; retry");
    else if (strcmp(db_get(rows, 0, 0), hash) != 0)
        http_problem_field(r, "Idempotency-Key",
                           "was already used with a different request within 24 hours");
    else
        replay(r, rows);
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

bool reply_returned(struct request *r, int status, struct db_rows *rows, const char *location)
{
    if (db_nrows(rows) == 0) {
        /* the statement's WHERE (id and version) found nothing although the row was locked
         * or just inserted: another writer won */
        http_problem(r, 409, "the record was changed concurrently; retry");
        return false;
    }
    reply_record(r, status, db_get(rows, 0, 0), db_get(rows, 0, 1), location);
    return true;
}

void reply_record(struct request *r, int status, const char *json, const char *version,
                  const char *location)
{
    if (version)
        set_etag(r, version);
    if (location)
        http_add_header(r, "Location", location);
    char *body = xstrdup(json);
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
    struct db_rows *rows = rdb_run(r, stmt, 1, &id);
    if (rows && db_nrows(rows) == 0 && rdb_read_again_on_primary(r))
        rows = rdb_run(r, stmt, 1, &id); /* the replica may not have it yet */
    if (!rows)
        return;
    if (db_nrows(rows) == 0)
        http_problem(r, 404, arena_printf(&r->arena, "no %s with this id", what));
    else
        reply_record_get(r, db_get(rows, 0, 0), db_get(rows, 0, 1));
}

struct db_rows *lock_by_id(struct request *r, const char *stmt, const char *id, const char *what)
{
    struct db_rows *rows = rdb_run(r, stmt, 1, &id);
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

json_t *merge_checked(const struct field_spec *spec, json_t *current, const json_t *patch,
                      json_t *errors, bool *same)
{
    json_strip_readonly(current, spec);
    for (const struct field_spec *f = spec; f->name; f++) {
        json_t *v = json_object_get(patch, f->name);
        if ((f->flags & FIELD_IMMUTABLE) && v && !json_equal(v, json_object_get(current, f->name)))
            json_error_add(errors, f->name, "cannot be changed");
    }
    json_t *merged = json_merge_patch(current, patch);
    json_validate(merged, spec, VALIDATE_MERGED, errors);
    if (json_array_size(errors)) {
        json_decref(merged);
        return NULL;
    }
    *same = json_equal(current, merged);
    return merged;
}

json_t *patch_merge(struct request *r, const struct field_spec *spec, const char *stored,
                    const json_t *patch, json_t **current, bool *same)
{
    *current = json_load_stored(stored);
    *same = false;
    if (!*current) {
        log_error("request %s: a stored record is not readable JSON", r->request_id);
        http_problem(r, 500, "a stored record could not be read");
        return NULL;
    }
    json_t *errors = json_array();
    json_t *merged = merge_checked(spec, *current, patch, errors, same);
    if (!merged) {
        http_problem_fields(r, errors);
        return NULL;
    }
    json_decref(errors);
    return merged;
}

json_t *field_changes(const json_t *before, const json_t *after)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)after, k, v)
    {
        json_t *old = json_object_get(before, k);
        if (!json_equal(old ? old : json_null(), v))
            json_object_set_new(out, k,
                                json_pack("{s:O,s:O}", "from", old ? old : json_null(), "to", v));
    }
    json_object_foreach((json_t *)before, k, v)
    {
        if (!json_object_get(after, k) && !json_is_null(v))
            json_object_set_new(out, k, json_pack("{s:O,s:n}", "from", v, "to"));
    }
    return out;
}

const char *take_created_at(struct request *r, json_t *doc, json_t *errors)
{
    json_t *v = json_object_get(doc, "created_at");
    if (!v)
        return NULL;
    const char *at = json_string_value(v);
    int64_t ms = 0;
    const char *result = NULL;
    if (r->who.role != ROLE_ADMIN)
        json_error_add(errors, "created_at",
                       "may only be set by admin keys (historical import); it is read-only");
    else if (!at || !time_rfc3339_to_ms(at, &ms))
        json_error_add(errors, "created_at", "must be an RFC 3339 timestamp");
    else if (ms > (int64_t)time_now_ms() + 5 * 60 * 1000)
        json_error_add(errors, "created_at", "must not lie in the future");
    else
        result = arena_strdup(&r->arena, at);
    json_object_del(doc, "created_at");
    return result;
}

json_t *req_create_body(struct request *r, const struct field_spec *fields, bool importable)
{
    json_t *body = req_json_object(r, false);
    if (!body)
        return NULL;
    json_t *errors = json_array();
    const char *created_at = importable ? take_created_at(r, body, errors) : NULL;
    json_validate(body, fields, VALIDATE_CREATE, errors);
    if (json_array_size(errors)) {
        http_problem_fields(r, errors);
        json_decref(body);
        return NULL;
    }
    json_decref(errors);
    if (created_at)
        json_object_set_new(body, "created_at", json_string(created_at));
    return body;
}

void record_create(struct request *r, const struct record_kind *k)
{
    json_t *body = req_create_body(r, k->fields, k->importable);
    if (!body)
        return;
    if (!k->check || k->check(r, body)) {
        char id[UUID_STR_LEN];
        uuid7_new(id);
        char *doc = json_text(body);
        const char *params[] = {id, doc, r->who.name, role_name(r->who.role)};
        const char *json, *version;
        bool ok = rdb_create(r, k->insert_stmt, k->insert_combined, k->history ? 4 : 2, params,
                             k->constraints, &json, &version);
        free(doc);
        if (ok)
            reply_record(r, 201, json, version, arena_printf(&r->arena, "%s/%s", k->path, id));
    }
    json_decref(body);
}

struct patch {
    const struct record_kind *k;
    const char *id;
    json_t *patch, *current, *merged;
};

static bool patch_body(struct request *r, void *cls)
{
    struct patch *p = cls;
    const struct record_kind *k = p->k;
    bool same;
    json_decref(p->current);
    json_decref(p->merged);
    p->current = p->merged = NULL;
    struct db_rows *rows =
        k->lock ? k->lock(r, p->id) : lock_by_id(r, k->lock_stmt, p->id, k->what);
    if (!rows ||
        !(p->merged = patch_merge(r, k->fields, db_get(rows, 0, 0), p->patch, &p->current, &same)))
        return false;
    if (same) { /* nothing changes: no new version */
        reply_record(r, 200, db_get(rows, 0, 0), db_get(rows, 0, 1), NULL);
        return true;
    }
    if (k->check && !k->check(r, p->merged))
        return false;
    char *doc = json_text(p->merged), *changes = NULL;
    if (k->history) {
        json_t *c = field_changes(p->current, p->merged);
        changes = json_text(c);
        json_decref(c);
    }
    const char *params[] = {p->id,       db_get(rows, 0, 1),     doc,
                            r->who.name, role_name(r->who.role), changes};
    struct db_rows *upd =
        rdb_run_mapped(r, k->update_stmt, k->history ? 6 : 3, params, k->constraints);
    free(doc);
    free(changes);
    if (!upd || (k->after_update && !k->after_update(r, p->id, rows, p->current, p->merged)))
        return false;
    return reply_returned(r, 200, upd, NULL);
}

void record_patch(struct request *r, const struct record_kind *k)
{
    struct patch p = {.k = k, .id = req_path_uuid(r, 0)};
    p.patch = p.id ? req_json_object(r, false) : NULL;
    if (!p.patch)
        return;
    rdb_transaction(r, patch_body, &p);
    json_decref(p.patch);
    json_decref(p.current);
    json_decref(p.merged);
}

/* ---- lists ----------------------------------------------------------------------------- */

static const char *const LIST_COMMON[] = {"limit", "cursor", "sort", "count", NULL};

bool query_only(struct request *r, const char *const *allowed)
{
    const char *bad = query_unknown_or_repeated(&r->query, allowed);
    if (bad)
        http_problem(r, 400,
                     arena_printf(&r->arena, "unknown or repeated query parameter '%s'", bad));
    return bad == NULL;
}

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
    if (!query_only(r, allowed))
        return false;
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
    if (v && !cursor_decode(&r->arena, &cursor_secret, v, lp->sort_text, &lp->cursor_key,
                            &lp->cursor_id)) {
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
        const char *cur = cursor_encode(&r->arena, &cursor_secret, lp->sort_text,
                                        db_get(rows, n - 1, 1), db_get(rows, n - 1, 2));
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
        struct db_rows *c = rdb_run(r, count_stmt, nparams, params);
        params[nparams - 3] = key, params[nparams - 2] = id, params[nparams - 1] = lim;
        if (!c)
            return;
        total = strtol(db_get(c, 0, 0), NULL, 10);
    }
    struct db_rows *rows = rdb_run(r, page_stmt, nparams, params);
    if (!rows)
        return;
    if (parent && db_nrows(rows) == 0) {
        struct db_rows *owner = rdb_run(r, parent->exists_stmt, 1, &parent->id);
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

struct locked_write {
    const char *lock_stmt, *what, *id, *write_stmt;
    int nparams;
    const char *const *params;
    const struct constraint_field *map;
    struct db_rows *out;
};

static bool locked_write_body(struct request *r, void *cls)
{
    struct locked_write *w = cls;
    return lock_by_id(r, w->lock_stmt, w->id, w->what) &&
           (w->out = rdb_run_mapped(r, w->write_stmt, w->nparams, w->params, w->map));
}

struct db_rows *lock_and_run(struct request *r, const char *lock_stmt, const char *what,
                             const char *id, const char *write_stmt, int nparams,
                             const char *const *params, const struct constraint_field *map)
{
    struct locked_write w = {lock_stmt, what, id, write_stmt, nparams, params, map, NULL};
    return rdb_transaction(r, locked_write_body, &w) ? w.out : NULL;
}

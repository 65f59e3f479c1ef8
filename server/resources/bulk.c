/* See bulk.h. The request is worked in three passes: read and validate every record (no
 * database), then, for upserts, lock the stored records the keys name and merge; then write
 * the creates and the updates with one statement each, in one transaction. */
#include "resources/bulk.h"
#include "http/headers.h"
#include "json/json_text.h"
#include "resources/plumbing.h"
#include "util/strbuf.h"
#include "util/uuid7.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum outcome { PENDING, CREATE, UPDATE, UNCHANGED, INVALID, CONFLICT };

struct record {
    json_t *doc;     /* the record as sent (NULL when unreadable) */
    json_t *merged;  /* upsert: the stored record with doc merged in */
    json_t *changes; /* upsert: {"field": {"from", "to"}} of the merge */
    json_t *errors;  /* [{"field","message"}] when INVALID or CONFLICT */
    enum outcome outcome;
    char id[UUID_STR_LEN];
    const char *version; /* upsert: the stored version */
};

struct batch {
    const struct bulk_kind *k;
    struct record *recs;
    size_t n;
    bool partial, upsert;
};

static void record_error(struct record *rec, enum outcome o, const char *field, const char *msg)
{
    if (!rec->errors)
        rec->errors = json_array();
    json_error_add(rec->errors, field, msg);
    rec->outcome = o;
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->recs[i].doc);
        json_decref(b->recs[i].merged);
        json_decref(b->recs[i].changes);
        json_decref(b->recs[i].errors);
    }
    free(b->recs);
}

/* Splits the body into records: a JSON array, or NDJSON (a malformed line is an error of
 * its own record, not of the request). false with 400/413/415 queued. */
static bool read_records(struct request *r, struct batch *b)
{
    const char *ct = http_header(r, "Content-Type");
    bool ndjson = http_content_type_is(ct, "application/x-ndjson");
    if (!ndjson && !http_content_type_is_json(ct)) {
        http_problem(r, 415, "bulk bodies are application/json (an array) or application/x-ndjson");
        return false;
    }
    if (!r->body || !r->body_len) {
        http_problem(r, 400, "the body holds no records");
        return false;
    }
    size_t cap = 64;
    b->recs = xcalloc(cap, sizeof(*b->recs));
    if (!ndjson) {
        json_error_t err;
        json_t *all = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_array(all)) {
            http_problem(r, 400,
                         all ? "the body must be a JSON array of records"
                             : arena_printf(&r->arena, "malformed JSON at line %d, column %d: %s",
                                            err.line, err.column, err.text));
            json_decref(all);
            return false;
        }
        if (json_array_size(all) > BULK_MAX_RECORDS) {
            json_decref(all);
            http_problem(r, 413, "at most 10000 records per request");
            return false;
        }
        b->n = json_array_size(all);
        b->recs = xrealloc(b->recs, (b->n ? b->n : 1) * sizeof(*b->recs));
        memset(b->recs, 0, (b->n ? b->n : 1) * sizeof(*b->recs));
        for (size_t i = 0; i < b->n; i++)
            b->recs[i].doc = json_incref(json_array_get(all, i));
        json_decref(all);
    } else {
        for (const char *p = r->body, *end = r->body + r->body_len; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const char *line = p;
            p += len + (nl ? 1 : 0);
            while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
                len--;
            if (!len)
                continue; /* blank lines separate nothing */
            if (b->n == BULK_MAX_RECORDS) {
                http_problem(r, 413, "at most 10000 records per request");
                return false;
            }
            if (b->n == cap) {
                cap *= 2;
                b->recs = xrealloc(b->recs, cap * sizeof(*b->recs));
            }
            struct record *rec = &b->recs[b->n++];
            memset(rec, 0, sizeof(*rec));
            json_error_t err;
            rec->doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
            if (!rec->doc)
                record_error(rec, INVALID, "",
                             arena_printf(&r->arena, "malformed JSON at column %d: %s", err.column,
                                          err.text));
        }
    }
    if (b->n == 0) {
        http_problem(r, 400, "the body holds no records");
        return false;
    }
    return true;
}

/* Field validation, the resource's own check, and keys repeated within the request. */
static void validate_records(struct request *r, struct batch *b)
{
    const struct bulk_kind *k = b->k;
    json_t *keys = k->upsert_key ? json_object() : NULL;
    for (size_t i = 0; i < b->n; i++) {
        struct record *rec = &b->recs[i];
        if (rec->outcome == INVALID)
            continue;
        if (!json_is_object(rec->doc)) {
            record_error(rec, INVALID, "", "must be a JSON object");
            continue;
        }
        rec->errors = json_array();
        const char *created_at = k->importable ? take_created_at(r, rec->doc, rec->errors) : NULL;
        if (!json_validate(rec->doc, k->fields, VALIDATE_CREATE, rec->errors) ||
            json_array_size(rec->errors)) {
            rec->outcome = INVALID;
            continue;
        }
        if (created_at)
            json_object_set_new(rec->doc, "created_at", json_string(created_at));
        const char *field = NULL, *msg = k->check ? k->check(rec->doc, &field) : NULL;
        if (msg) {
            record_error(rec, INVALID, field, msg);
            continue;
        }
        const char *key = keys ? json_string_value(json_object_get(rec->doc, k->upsert_key)) : NULL;
        if (key) {
            json_t *first = json_object_get(keys, key);
            if (first) {
                record_error(rec, INVALID, k->upsert_key,
                             arena_printf(&r->arena, "repeats the %s of record %lld", k->upsert_key,
                                          (long long)json_integer_value(first)));
                continue;
            }
            json_object_set_new(keys, key, json_integer((json_int_t)i));
        }
        rec->outcome = CREATE;
        uuid7_new(rec->id);
    }
    json_decref(keys);
}

/* Records that name rows which do not exist (interactions: customer, complaint). */
static bool check_references(struct request *r, struct batch *b)
{
    const struct bulk_kind *k = b->k;
    if (!k->refs_stmt)
        return true;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "[");
    bool any = false;
    for (size_t i = 0; i < b->n; i++) {
        if (b->recs[i].outcome != CREATE)
            continue;
        strbuf_printf(&sb, "%s{\"i\":%zu,\"j\":", any ? "," : "", i);
        json_text_append(&sb, b->recs[i].doc);
        strbuf_puts(&sb, "}");
        any = true;
    }
    strbuf_puts(&sb, "]");
    const char *param = sb.buf;
    struct db_rows *rows = any ? rdb_run(r, k->refs_stmt, 1, &param) : NULL;
    strbuf_free(&sb);
    if (any && !rows)
        return false;
    for (int row = 0; rows && row < db_nrows(rows); row++) {
        size_t i = (size_t)strtoul(db_get(rows, row, 0), NULL, 10);
        const char *field = db_get(rows, row, 1);
        const char *msg = "does not exist";
        for (const char *const *m = k->ref_messages; m && *m; m += 2)
            if (!strcmp(*m, field))
                msg = m[1];
        if (i < b->n)
            record_error(&b->recs[i], INVALID, field, msg);
    }
    return true;
}

/* Upsert: locks the stored records the keys name and merges each record into its match. */
static bool merge_existing(struct request *r, struct batch *b)
{
    const struct bulk_kind *k = b->k;
    json_t *keys = json_array(), *index = json_object();
    for (size_t i = 0; i < b->n; i++) {
        const char *key = json_string_value(json_object_get(b->recs[i].doc, k->upsert_key));
        if (b->recs[i].outcome == CREATE && key) {
            json_array_append_new(keys, json_string(key));
            json_object_set_new(index, key, json_integer((json_int_t)i));
        }
    }
    bool ok = true;
    if (json_array_size(keys)) {
        char *param = json_text(keys);
        struct db_rows *rows = rdb_run(r, k->lookup_stmt, 1, (const char *const *)&param);
        free(param);
        ok = rows != NULL;
        for (int row = 0; ok && row < db_nrows(rows); row++) {
            json_t *at = json_object_get(index, db_get(rows, row, 0));
            if (!at)
                continue;
            struct record *rec = &b->recs[json_integer_value(at)];
            json_t *current = json_load_stored(db_get(rows, row, 1));
            json_object_del(rec->doc, "created_at"); /* a stored record keeps its own */
            bool same = false;
            json_decref(rec->errors);
            rec->errors = json_array();
            rec->merged =
                current ? merge_checked(k->fields, current, rec->doc, rec->errors, &same) : NULL;
            if (!current)
                record_error(rec, INVALID, "", "the stored record could not be read");
            else if (!rec->merged)
                rec->outcome = INVALID;
            else
                rec->outcome = same ? UNCHANGED : UPDATE;
            if (rec->merged) {
                json_decref(rec->changes);
                rec->changes = field_changes(current, rec->merged);
            }
            json_decref(current);
            snprintf(rec->id, sizeof(rec->id), "%s", db_get(rows, row, 3));
            rec->version = db_get(rows, row, 2);
        }
    }
    json_decref(keys);
    json_decref(index);
    return ok;
}

static size_t count(const struct batch *b, enum outcome o)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->recs[i].outcome == o;
    return n;
}

/* One statement for all records of an outcome; records it did not write become conflicts. */
static bool write_records(struct request *r, struct batch *b, enum outcome o)
{
    const struct bulk_kind *k = b->k;
    if (!count(b, o))
        return true;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "[");
    bool first = true;
    for (size_t i = 0; i < b->n; i++) {
        struct record *rec = &b->recs[i];
        if (rec->outcome != o)
            continue;
        strbuf_puts(&sb, first ? "{\"id\":\"" : ",{\"id\":\"");
        strbuf_puts(&sb, rec->id);
        strbuf_puts(&sb, "\",");
        if (o == UPDATE) {
            strbuf_puts(&sb, "\"v\":");
            strbuf_puts(&sb, rec->version);
            strbuf_puts(&sb, ",");
        }
        if (o == UPDATE && k->history) {
            strbuf_puts(&sb, "\"c\":");
            json_text_append(&sb, rec->changes);
            strbuf_puts(&sb, ",");
        }
        strbuf_puts(&sb, "\"j\":");
        json_text_append(&sb, o == UPDATE ? rec->merged : rec->doc);
        strbuf_puts(&sb, "}");
        first = false;
    }
    strbuf_puts(&sb, "]");
    const char *params[] = {sb.buf, r->who.name, role_name(r->who.role)};
    struct db_rows *rows =
        rdb_run(r, o == UPDATE ? k->update_stmt : k->insert_stmt, k->history ? 3 : 1, params);
    strbuf_free(&sb);
    if (!rows)
        return false;
    json_t *written = json_object();
    for (int row = 0; row < db_nrows(rows); row++)
        json_object_set_new(written, db_get(rows, row, 0), json_true());
    for (size_t i = 0; i < b->n; i++)
        if (b->recs[i].outcome == o && !json_object_get(written, b->recs[i].id))
            record_error(&b->recs[i], CONFLICT, k->upsert_key ? k->upsert_key : "",
                         k->conflict_message);
    json_decref(written);
    return true;
}

/* The atomic refusal: every bad index with its field errors. */
static void refuse(struct request *r, const struct batch *b, enum outcome o, int status)
{
    json_t *errors = json_array();
    for (size_t i = 0; i < b->n; i++) {
        if (b->recs[i].outcome != o)
            continue;
        size_t j;
        json_t *e;
        json_array_foreach(b->recs[i].errors, j, e)
        {
            const char *field = json_string_value(json_object_get(e, "field"));
            json_error_add(errors,
                           arena_printf(&r->arena, "[%zu]%s%s", i, *field ? "." : "", field),
                           json_string_value(json_object_get(e, "message")));
        }
    }
    if (status == 422)
        http_problem_fields(r, errors);
    else
        http_problem_errors(
            r, status,
            arena_printf(&r->arena, "%zu records collide with stored ones; nothing was written",
                         count(b, o)),
            errors);
}

static void reply(struct request *r, const struct batch *b)
{
    /* written directly, without a jansson tree of up to 10,000 results */
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "{\"created\":%zu,\"updated\":%zu,\"failed\":%zu,\"results\":[",
                  count(b, CREATE), count(b, UPDATE) + count(b, UNCHANGED),
                  count(b, INVALID) + count(b, CONFLICT));
    for (size_t i = 0; i < b->n; i++) {
        const struct record *rec = &b->recs[i];
        static const int STATUS[] = {[CREATE] = 201,  [UPDATE] = 200,   [UNCHANGED] = 200,
                                     [INVALID] = 422, [CONFLICT] = 409, [PENDING] = 500};
        int status = STATUS[rec->outcome];
        strbuf_printf(&sb, "%s{\"index\":%zu,\"status\":%d,\"id\":", i ? "," : "", i, status);
        if (status < 400) {
            strbuf_json_string(&sb, rec->id);
            strbuf_puts(&sb, ",\"error\":null}");
            continue;
        }
        json_t *error = json_pack("{s:i,s:s,s:O}", "status", status, "title",
                                  http_status_title(status), "errors", rec->errors);
        strbuf_puts(&sb, "null,\"error\":");
        json_text_append(&sb, error);
        strbuf_puts(&sb, "}");
        json_decref(error);
    }
    strbuf_puts(&sb, "]}");
    size_t len;
    char *text = strbuf_take(&sb, &len);
    http_reply_raw(r, 200, "application/json", text, len);
}

static bool bulk_body(struct request *r, void *cls)
{
    struct batch *b = cls;
    /* a repeat after a serialization failure starts from the validated records */
    for (size_t i = 0; i < b->n; i++)
        if (b->recs[i].outcome == UPDATE || b->recs[i].outcome == UNCHANGED ||
            b->recs[i].outcome == CONFLICT) {
            b->recs[i].outcome = CREATE;
            json_decref(b->recs[i].merged);
            b->recs[i].merged = NULL;
            uuid7_new(b->recs[i].id);
        }
    if (!check_references(r, b) || (b->upsert && !merge_existing(r, b)))
        return false;
    if (!b->partial && count(b, INVALID)) {
        refuse(r, b, INVALID, 422);
        return false;
    }
    if (!write_records(r, b, CREATE) || !write_records(r, b, UPDATE))
        return false;
    if (!b->partial && count(b, CONFLICT)) {
        refuse(r, b, CONFLICT, 409);
        return false; /* rolls back what was written */
    }
    reply(r, b);
    return true;
}

void bulk_import(struct request *r, const struct bulk_kind *k)
{
    static const char *const PARAMS[] = {"mode", "upsert", NULL};
    if (!query_only(r, PARAMS))
        return;
    const char *mode = query_get(&r->query, "mode"), *upsert = query_get(&r->query, "upsert");
    if (mode && strcmp(mode, "atomic") != 0 && strcmp(mode, "partial") != 0) {
        http_problem(r, 400, "mode must be atomic or partial");
        return;
    }
    if (upsert && (!k->upsert_key || strcmp(upsert, k->upsert_key) != 0)) {
        http_problem(r, 400,
                     k->upsert_key ? arena_printf(&r->arena, "upsert must be %s", k->upsert_key)
                                   : "upsert is not supported here");
        return;
    }
    struct batch b = {
        .k = k, .partial = mode && !strcmp(mode, "partial"), .upsert = upsert != NULL};
    if (read_records(r, &b)) {
        validate_records(r, &b);
        if (!b.partial && count(&b, INVALID))
            refuse(r, &b, INVALID, 422); /* before touching the database */
        else
            rdb_transaction(r, bulk_body, &b);
    }
    batch_free(&b);
    /* a 10,000-record batch takes tens of MiB in this worker's malloc arena; give it back
     * once the answer is out, or glibc keeps it per thread (RSS grew to 500 MiB in the bulk
     * benchmark) */
    r->trim_heap = true;
}

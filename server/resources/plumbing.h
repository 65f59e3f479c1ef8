/* The steps every handler repeats, written once: JSON body intake, path ids, conditional
 * requests (ETag, If-Match, If-None-Match), record and list responses with keyset cursors,
 * and the Idempotency-Key wrapper around POST handlers. A handler reads like the spec:
 * parse -> validate -> run statement -> reply. */
#ifndef CSRD_PLUMBING_H
#define CSRD_PLUMBING_H
#include <jansson.h>
#include "db/db.h"
#include "http/request.h"
#include "json/validate.h"
#include "resources/rdb.h"

extern const struct db_stmt plumbing_statements[];

/* At start, after db_init: reads the deployment secret that signs list cursors. 0 or -1. */
int plumbing_init(void);

/* The Idempotency-Key protocol around a POST handler (the http_hooks entry): the first
 * request with a key runs h and stores its 2xx answer in the same transaction as its writes;
 * a repeat with the same body within 24 h gets the stored answer (Idempotent-Replayed:
 * true), another body 422. A handler whose answer holds a secret sets resp.stored_body to
 * the answer without it. */
void plumbing_run_idempotent(struct request *r, http_handler h, const char *key);

/* The body as a JSON object: 415 for a non-JSON Content-Type, 400 for malformed JSON or a
 * non-object. Returns a new reference (caller decrefs) or NULL with the problem queued.
 * With allow_empty, an absent body yields an empty object. */
json_t *req_json_object(struct request *r, bool allow_empty);
/* The body as a JSON object validated against spec for a create: NULL with 415/400/422
 * queued otherwise. New reference. */
json_t *req_valid_body(struct request *r, const struct field_spec *spec);
/* Path parameter i as a UUID; 404 (not a UUID cannot name a record) otherwise. */
const char *req_path_uuid(struct request *r, int i);
/* If-Match against the current version: true to go on, false with 412 (or 400) queued. */
bool req_if_match(struct request *r, long version);

/* Single record reply: status, ETag from version, optional Location; json is copied. */
/* The same from a statement's RETURNING (json, version); 409 when it returned no row (a
 * concurrent writer won), and then false. */
bool reply_returned(struct request *r, int status, struct db_rows *rows, const char *location);
void reply_record(struct request *r, int status, const char *json, const char *version,
                  const char *location);
/* GET of one record: 304 when If-None-Match matches, otherwise 200 with ETag. */
void reply_record_get(struct request *r, const char *json, const char *version);

/* GET of the record whose id is path parameter 0, through stmt ($1 = id; columns: json,
 * version); 404 names what. */
void reply_get_by_id(struct request *r, const char *stmt, const char *what);
/* Runs stmt ($1 = id, columns: json, version, ...) that locks the record FOR UPDATE inside
 * the current transaction and checks If-Match. NULL with 404/412 queued otherwise. */
struct db_rows *lock_by_id(struct request *r, const char *stmt, const char *id, const char *what);
/* In one transaction: lock_by_id(lock_stmt, id), then write_stmt with params (violations
 * mapped through map, may be NULL). The write's result once committed, else NULL. */
struct db_rows *lock_and_run(struct request *r, const char *lock_stmt, const char *what,
                             const char *id, const char *write_stmt, int nparams,
                             const char *const *params, const struct constraint_field *map);
/* Merges patch into the stored record (JSON text) under spec: read-only members are
 * stripped from the stored side (so a patch naming them fails validation), members flagged
 * FIELD_IMMUTABLE may be repeated but not changed. Returns the merged document (new
 * reference) or NULL with 422 queued. *current receives the stored writable view (new
 * reference, also on failure when parsed) and *same tells whether nothing changes. */
json_t *patch_merge(struct request *r, const struct field_spec *spec, const char *stored,
                    const json_t *patch, json_t **current, bool *same);
/* The core of patch_merge: strips current's read-only members (in place), merges patch and
 * validates the result, adding field errors to errors. The merged document (new reference)
 * or NULL when there were errors. */
json_t *merge_checked(const struct field_spec *spec, json_t *current, const json_t *patch,
                      json_t *errors, bool *same);
/* {"<member>": {"from": old, "to": new}} for every top-level member that differs between
 * before and after (absent counts as null). New reference. */
json_t *field_changes(const json_t *before, const json_t *after);

/* A record resource whose create and merge-patch follow the common path: validate, insert
 * or lock + merge + validate + update, map constraint violations, reply with ETag. */
struct record_kind {
    const char *what; /* "customer", for 404 details */
    const char *path; /* "/v1/customers", the Location prefix */
    const struct field_spec *fields;
    const char *insert_stmt;     /* $1 id, $2 document -> json, version */
    const char *insert_combined; /* optional: the same for many records (see rdb_create) */
    const char *lock_stmt;       /* $1 id -> json, version, ... (FOR UPDATE) */
    const char *update_stmt;     /* $1 id, $2 version, $3 merged document -> json, version */
    /* the statements also write a history entry: insert takes $3 actor, $4 actor role; update
     * takes $4 actor, $5 actor role, $6 the field changes (JSON) */
    bool history;
    /* admin keys may send created_at on create (historical import, see take_created_at); the
     * insert statement reads it from the document */
    bool importable;
    const struct constraint_field *constraints;
    /* optional: further checks of a create body or a merged document (problem queued) */
    bool (*check)(struct request *r, const json_t *doc);
    /* optional: replaces lock_by_id(lock_stmt), e.g. to refuse records in a final state */
    struct db_rows *(*lock)(struct request *r, const char *id);
    /* optional: more writes in the update's transaction (history events) */
    bool (*after_update)(struct request *r, const char *id, struct db_rows *locked, json_t *before,
                         json_t *after);
};
/* Historical import: takes "created_at" out of doc (read-only in the field tables) and
 * returns it (arena) when the caller is an admin and it is an RFC 3339 timestamp not in the
 * future; otherwise adds a field error. NULL when absent or refused. */
const char *take_created_at(struct request *r, json_t *doc, json_t *errors);
/* The body of a create, validated against fields; with importable, an admin's created_at is
 * checked and kept (take_created_at). New reference, or NULL with 400/415/422 queued. */
json_t *req_create_body(struct request *r, const struct field_spec *fields, bool importable);
/* POST: 201 with the record, ETag and Location. */
void record_create(struct request *r, const struct record_kind *k);
/* PATCH of the record named by path parameter 0; a patch that changes nothing returns the
 * record unchanged (no new version). */
void record_patch(struct request *r, const struct record_kind *k);

/* Lists. */
struct list_params {
    int limit;
    int sort; /* index into the resource's sort names */
    bool desc;
    const char *sort_text;              /* as given (or the default), tags the cursor */
    const char *cursor_key, *cursor_id; /* NULL on the first page */
    bool count;
    char limit_text[24];
};

/* 400 naming the first query parameter that is not in allowed (NULL-terminated) or that is
 * repeated; true when there is none. */
bool query_only(struct request *r, const char *const *allowed);
/* Validates limit, cursor, sort and count, and refuses query parameters that are neither
 * those nor in filters (400). sorts: NULL-terminated field names; default_sort e.g.
 * "-created_at". */
bool list_parse(struct request *r, const char *const *filters, const char *const *sorts,
                const char *default_sort, struct list_params *lp);
/* Replies {"data": [...], "next_cursor": ..., ["total": n]} with a Link header. rows has the
 * record JSON in column 0, the sort key in column 1, the id in column 2, and at most
 * limit + 1 rows (the extra one only says there is a next page). total < 0: omitted. */
void list_reply(struct request *r, struct db_rows *rows, const struct list_params *lp, long total);

/* Query filter helpers: 400 with a message naming the parameter on failure. A NULL value
 * (parameter absent) is always fine. */
bool filter_enum_list(struct request *r, const char *name, const char *const *values);
bool filter_timestamp(struct request *r, const char *name);
bool filter_bool(struct request *r, const char *name, bool *out);
bool filter_uuid(struct request *r, const char *name);
/* A sub-list's owner (/v1/customers/{id}/...): when the page comes back empty, exists_stmt
 * ($1 = id) tells an empty list from a missing owner (404), so the common case costs no
 * extra query. */
struct list_parent {
    const char *exists_stmt, *id, *what;
};
/* Runs the count statement (when lp->count) and the page statement with the same
 * parameters; the last three parameters of both are cursor key, cursor id and limit (the
 * count statement ignores them). Replies with the list envelope, or 404 when parent (may be
 * NULL) does not exist. */
void run_list(struct request *r, const struct list_params *lp, const char *page_stmt,
              const char *count_stmt, int nparams, const char **params,
              const struct list_parent *parent);
#endif

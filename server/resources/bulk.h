/* Bulk import (POST /v1/customers/bulk, /v1/interactions/bulk): a JSON array or NDJSON of up
 * to 10,000 records, each validated by the resource's own field table (the same messages as
 * a single create), written set-based: one INSERT over the whole batch (and, for upserts,
 * one locking lookup and one UPDATE), never a round trip per record.
 * mode=atomic (default): every record is written or none; any invalid record makes a 422
 * naming every bad index ("[3].email"), a conflict with stored records a 409.
 * mode=partial: the good records are written, the answer reports each index.
 * upsert=<key> (customers: external_ref): records whose key exists are merged into the stored
 * record with PATCH semantics (version + 1 when something changes), the others created. */
#ifndef CSRD_BULK_H
#define CSRD_BULK_H
#include "http/request.h"
#include "json/validate.h"

#define BULK_MAX_RECORDS 10000

struct bulk_kind {
    const char *what;                /* "customer" */
    const struct field_spec *fields; /* the single create's table */
    /* $1 = [{"i","id","j"}]: inserts, skipping rows that conflict; RETURNING id */
    const char *insert_stmt;
    /* optional: $1 = [{"i","j"}] -> (i, field) of records that name missing rows */
    const char *refs_stmt;
    const char *const *ref_messages; /* {field, message, ...NULL} for refs_stmt's fields */
    /* optional upsert: the key field, the locking lookup ($1 = JSON array of keys -> key,
     * json, version, id) and the update ($1 = [{"id","v","j"}] RETURNING id) */
    const char *upsert_key, *lookup_stmt, *update_stmt;
    /* optional: a check beyond the field table; a message for *field, or NULL */
    const char *(*check)(const json_t *doc, const char **field);
    const char *conflict_message; /* for a record that collides with a stored one */
    /* the insert and update statements also write history: $2 actor, $3 actor role, and
     * each update element carries "c", its field changes */
    bool history;
    bool importable; /* admin keys may send created_at (take_created_at) */
};

void bulk_import(struct request *r, const struct bulk_kind *k);
#endif

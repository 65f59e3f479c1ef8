/* Interactions: one row per contact. The database guarantees that customer_id exists and
 * that complaint_id, when set, is a complaint of the same customer (composite foreign key);
 * both surface as field-level 422s. occurred_at defaults to now and may lie in the past, but
 * not more than five minutes in the future (clock skew between callers). */
#include "resources/interactions.h"
#include "resources/customers.h"
#include "resources/bulk.h"
#include "resources/export.h"
#include "resources/plumbing.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const DIRECTIONS[] = {"inbound", "outbound", NULL};
static const char *const PURPOSES[] = {"inquiry",   "consultation", "purchase",
                                       "support",   "complaint",    "suggestion",
                                       "follow_up", "other",        NULL};

#define FUTURE_TOLERANCE_MS (5LL * 60 * 1000)

static const struct field_spec INTERACTION_FIELDS[] = {
    {.name = "id", .flags = FIELD_READONLY},
    {.name = "customer_id", .type = F_UUID, .flags = FIELD_REQUIRED | FIELD_IMMUTABLE},
    {.name = "channel", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = CHANNELS},
    {.name = "direction", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = DIRECTIONS},
    {.name = "purpose", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = PURPOSES},
    {.name = "subject", .type = F_STRING, .max = 200},
    {.name = "body", .type = F_STRING, .max = 20000},
    {.name = "occurred_at", .type = F_TIMESTAMP, .flags = FIELD_NOT_NULL},
    {.name = "duration_seconds", .type = F_INT, .min = 0, .max = 7L * 86400},
    {.name = "agent", .type = F_STRING, .min = 1, .max = 100},
    {.name = "location", .type = F_STRING, .max = 200},
    {.name = "experience_score", .type = F_INT, .min = -3, .max = 3},
    {.name = "outcome", .type = F_STRING, .max = 2000},
    {.name = "complaint_id", .type = F_UUID},
    {.name = "version", .flags = FIELD_READONLY},
    {.name = "created_at", .flags = FIELD_READONLY},
    {.name = "updated_at", .flags = FIELD_READONLY},
    {0}};

#define INTERACTION_COLUMNS                                                                        \
    "customer_id, channel, direction, purpose, subject, body, occurred_at, duration_seconds,"      \
    " agent, location, experience_score, outcome, complaint_id"
#define INTERACTION_VALUES                                                                         \
    "(j->>'customer_id')::uuid, j->>'channel', j->>'direction', coalesce(j->>'purpose', 'other')," \
    " j->>'subject', j->>'body',"                                                                  \
    " coalesce(date_trunc('milliseconds', (j->>'occurred_at')::timestamptz), csrd_now()),"         \
    " (j->>'duration_seconds')::integer, j->>'agent', j->>'location',"                             \
    " (j->>'experience_score')::smallint, j->>'outcome', (j->>'complaint_id')::uuid"

/* Filters $1..$8, keyset $9 $10, limit $11. */
#define INTERACTION_FILTERS                                                                        \
    " WHERE ($1::uuid IS NULL OR i.customer_id = $1)"                                              \
    " AND ($2::uuid IS NULL OR i.complaint_id = $2)"                                               \
    " AND ($3::text IS NULL OR i.channel = ANY (string_to_array($3, ',')))"                        \
    " AND ($4::text IS NULL OR i.direction = $4)"                                                  \
    " AND ($5::text IS NULL OR i.purpose = ANY (string_to_array($5, ',')))"                        \
    " AND ($6::text IS NULL OR i.agent = $6)"                                                      \
    " AND ($7::timestamptz IS NULL OR i.occurred_at >= $7)"                                        \
    " AND ($8::timestamptz IS NULL OR i.occurred_at < $8)"

#define INTERACTION_LIST(name, key, cmp, lo, dir)                                                  \
    {                                                                                              \
        name, "SELECT interaction_json(i)::text, i." key                                           \
              "::text, i.id FROM interactions i" INTERACTION_FILTERS " AND (i." key ", i.id) " cmp \
              " (" lo ")"                                                                          \
              " ORDER BY i." key " " dir ", i.id " dir " LIMIT $11"                                \
    }
#define AFTER_9_10                                                                                 \
    "coalesce($9::timestamptz, '-infinity'), coalesce($10::uuid, "                                 \
    "'00000000-0000-0000-0000-000000000000')"
#define BEFORE_9_10                                                                                \
    "coalesce($9::timestamptz, 'infinity'), coalesce($10::uuid, "                                  \
    "'ffffffff-ffff-ffff-ffff-ffffffffffff')"

// clang-format off
const struct db_stmt interactions_statements[] = {
    {"interactions_insert",
     "INSERT INTO interactions (id, " INTERACTION_COLUMNS ")"
     " SELECT $1::uuid, " INTERACTION_VALUES " FROM (SELECT $2::jsonb AS j) s"
     " RETURNING interaction_json(interactions)::text, version"},
    /* the same for creates combined by rdb_create: $1 = [{"id", "j"}] */
    {"interactions_insert_combined",
     "INSERT INTO interactions (id, " INTERACTION_COLUMNS ")"
     " SELECT (e->>'id')::uuid, " INTERACTION_VALUES
     " FROM jsonb_array_elements($1::jsonb) AS x(e), LATERAL (SELECT e->'j' AS j) s"
     " RETURNING interaction_json(interactions)::text, version, id"},
    {"interactions_get",
     "SELECT interaction_json(i)::text, i.version FROM interactions i WHERE i.id = $1", NULL,
     DB_QUICK},
    {"interactions_lock", "SELECT interaction_json(i)::text, i.version FROM interactions i"
                          " WHERE i.id = $1 FOR UPDATE"},
    {"interactions_update",
     "UPDATE interactions SET (" INTERACTION_COLUMNS ") = (SELECT " INTERACTION_VALUES
     " FROM (SELECT $3::jsonb AS j) s), version = version + 1, updated_at = csrd_now()"
     " WHERE id = $1 AND version = $2 RETURNING interaction_json(interactions)::text, version"},
    {"interactions_delete", "DELETE FROM interactions WHERE id = $1"},
    /* bulk: $1 = [{"i", "j"}] -> records naming a missing customer or a complaint of another */
    {"interactions_bulk_refs",
     "SELECT e->>'i', CASE WHEN cu.id IS NULL THEN 'customer_id' ELSE 'complaint_id' END"
     " FROM jsonb_array_elements($1::jsonb) AS x(e)"
     " LEFT JOIN customers cu ON cu.id = (x.e->'j'->>'customer_id')::uuid"
     " WHERE cu.id IS NULL OR (x.e->'j'->>'complaint_id' IS NOT NULL AND NOT EXISTS ("
     " SELECT 1 FROM complaints k WHERE k.id = (x.e->'j'->>'complaint_id')::uuid"
     " AND k.customer_id = cu.id))"},
    /* bulk: $1 = [{"id", "j"}] */
    {"interactions_bulk_insert",
     "INSERT INTO interactions (id, " INTERACTION_COLUMNS ")"
     " SELECT (e->>'id')::uuid, " INTERACTION_VALUES
     " FROM jsonb_array_elements($1::jsonb) AS x(e), LATERAL (SELECT x.e->'j' AS j) s"
     " ON CONFLICT DO NOTHING RETURNING id"},
    INTERACTION_LIST("interactions_list_occurred_at_asc", "occurred_at", ">", AFTER_9_10, "ASC"),
    INTERACTION_LIST("interactions_list_occurred_at_desc", "occurred_at", "<", BEFORE_9_10, "DESC"),
    INTERACTION_LIST("interactions_list_created_at_asc", "created_at", ">", AFTER_9_10, "ASC"),
    INTERACTION_LIST("interactions_list_created_at_desc", "created_at", "<", BEFORE_9_10, "DESC"),
    {"interactions_count", "SELECT count(*) FROM interactions i" INTERACTION_FILTERS
                           " AND $9::text IS NULL AND $10::uuid IS NULL AND $11::int IS NULL"},
    {NULL, NULL}};
// clang-format on

static const struct constraint_field INTERACTION_CONSTRAINTS[] = {
    {"interactions_customer_id_fkey", "customer_id", "no customer with this id", false},
    {"interactions_complaint_fkey", "complaint_id",
     "no complaint with this id belongs to this customer", false},
    {"complaints_interaction_id_customer_id_fkey", "the interaction",
     "is referenced by a complaint and cannot be deleted", true},
    {"follow_ups_interaction_id_customer_id_fkey", "the interaction",
     "is referenced by a follow-up and cannot be deleted", true},
    {0}};

/* occurred_at at most FUTURE_TOLERANCE_MS ahead of the server clock: NULL, or the message
 * for *field. */
static const char *occurred_at_problem(const json_t *doc, const char **field)
{
    int64_t ms;
    const char *at = json_string_value(json_object_get(doc, "occurred_at"));
    *field = "occurred_at";
    if (at && time_rfc3339_to_ms(at, &ms) && ms > (int64_t)time_now_ms() + FUTURE_TOLERANCE_MS)
        return "must not be more than 5 minutes in the future";
    return NULL;
}

static bool occurred_at_acceptable(struct request *r, const json_t *doc)
{
    const char *field, *msg = occurred_at_problem(doc, &field);
    if (msg)
        http_problem_field(r, field, msg);
    return !msg;
}

static const char *const INTERACTION_REF_MESSAGES[] = {
    "customer_id", "no customer with this id", "complaint_id",
    "no complaint with this id belongs to this customer", NULL};

static const struct bulk_kind INTERACTION_BULK = {
    .what = "interaction",
    .fields = INTERACTION_FIELDS,
    .insert_stmt = "interactions_bulk_insert",
    .refs_stmt = "interactions_bulk_refs",
    .ref_messages = INTERACTION_REF_MESSAGES,
    .check = occurred_at_problem,
    .conflict_message = "collides with a stored interaction",
};

static void interactions_bulk(struct request *r)
{
    bulk_import(r, &INTERACTION_BULK);
}

static const struct record_kind INTERACTION = {
    .what = "interaction",
    .path = "/v1/interactions",
    .fields = INTERACTION_FIELDS,
    .insert_stmt = "interactions_insert",
    .insert_combined = "interactions_insert_combined",
    .lock_stmt = "interactions_lock",
    .update_stmt = "interactions_update",
    .constraints = INTERACTION_CONSTRAINTS,
    .check = occurred_at_acceptable,
};

static void interactions_create(struct request *r)
{
    record_create(r, &INTERACTION);
}

static void interactions_get(struct request *r)
{
    reply_get_by_id(r, "interactions_get", "interaction");
}

static void interactions_patch(struct request *r)
{
    record_patch(r, &INTERACTION);
}

static void interactions_delete(struct request *r)
{
    const char *id = req_path_uuid(r, 0);
    if (id && lock_and_run(r, "interactions_lock", "interaction", id, "interactions_delete", 1, &id,
                           INTERACTION_CONSTRAINTS))
        http_reply_empty(r, 204);
}

static const char *const LIST_FILTERS[] = {"customer_id",    "complaint_id",    "channel",
                                           "direction",      "purpose",         "agent",
                                           "occurred_after", "occurred_before", NULL};
static const char *const EXPORT_PARAMS[] = {
    "customer_id", "complaint_id",   "channel",         "direction", "purpose",
    "agent",       "occurred_after", "occurred_before", "bom",       NULL};

/* Validates the filters shared by the lists and the export; fills params[0..7]. */
static bool interaction_filters(struct request *r, const char *customer, const char **params)
{
    const struct query *q = &r->query;
    if (!filter_uuid(r, "customer_id") || !filter_uuid(r, "complaint_id") ||
        !filter_enum_list(r, "channel", CHANNELS) ||
        !filter_enum_list(r, "direction", DIRECTIONS) ||
        !filter_enum_list(r, "purpose", PURPOSES) || !filter_timestamp(r, "occurred_after") ||
        !filter_timestamp(r, "occurred_before"))
        return false;
    if (query_get(q, "direction") && strchr(query_get(q, "direction"), ',')) {
        http_problem(r, 400, "direction takes one value");
        return false;
    }
    const char *values[8] = {customer ? customer : query_get(q, "customer_id"),
                             query_get(q, "complaint_id"),
                             query_get(q, "channel"),
                             query_get(q, "direction"),
                             query_get(q, "purpose"),
                             query_get(q, "agent"),
                             query_get(q, "occurred_after"),
                             query_get(q, "occurred_before")};
    memcpy(params, values, sizeof(values));
    return true;
}

/* The list, for all customers or (customer != NULL) for one. */
static void list_interactions(struct request *r, const char *customer)
{
    static const char *const SORTS[] = {"occurred_at", "created_at", NULL};
    static const char *const STMTS[2][2] = {
        {"interactions_list_occurred_at_asc", "interactions_list_occurred_at_desc"},
        {"interactions_list_created_at_asc", "interactions_list_created_at_desc"}};
    struct list_params lp;
    const char *params[11] = {0};
    if (!list_parse(r, customer ? LIST_FILTERS + 1 : LIST_FILTERS, SORTS, "-occurred_at", &lp) ||
        !interaction_filters(r, customer, params))
        return;
    run_list(r, &lp, STMTS[lp.sort][lp.desc], "interactions_count", 11, params,
             customer ? CUSTOMER_PARENT(customer) : NULL);
}

static void interactions_export(struct request *r)
{
    if (!query_only(r, EXPORT_PARAMS))
        return;
    const char *params[11] = {0};
    if (interaction_filters(r, NULL, params))
        export_reply(r, "interactions_list_created_at_asc", 11, params, INTERACTION_FIELDS);
}

static void interactions_list(struct request *r)
{
    list_interactions(r, NULL);
}

static void customer_interactions(struct request *r)
{
    const char *customer = req_path_uuid(r, 0);
    if (customer)
        list_interactions(r, customer);
}

const struct route interactions_routes[] = {
    {M_GET, "/v1/interactions", interactions_list, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_POST, "/v1/interactions", interactions_create, ROLE_AGENT, ROUTE_IDEMPOTENT, 0},
    {M_POST, "/v1/interactions/bulk", interactions_bulk, ROLE_AGENT,
     ROUTE_IDEMPOTENT | ROUTE_BULK_BODY, 0},
    {M_GET, "/v1/interactions/export", interactions_export, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_GET, "/v1/interactions/{id}", interactions_get, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_PATCH, "/v1/interactions/{id}", interactions_patch, ROLE_AGENT, 0, 0},
    {M_DELETE, "/v1/interactions/{id}", interactions_delete, ROLE_SUPERVISOR, 0, 0},
    {M_GET, "/v1/customers/{id}/interactions", customer_interactions, ROLE_VIEWER, ROUTE_READ_ONLY,
     0},
    {0, NULL, NULL, 0, 0, 0}};

/* The customer file. Writes go through one validation table (CUSTOMER_FIELDS) and one
 * column mapping (CUSTOMER_COLUMNS / CUSTOMER_VALUES, from the validated JSON document), so
 * create and merge-patch can never disagree about what a field means. Reads select the typed
 * columns and csrd renders the JSON (CUSTOMER_JSON, render.h); customer_json in schema/ is
 * the same rendering for what PostgreSQL sends itself. */
#include "resources/customers.h"
#include "resources/render.h"
#include "json/merge_patch.h"
#include "resources/bulk.h"
#include "resources/export.h"
#include "resources/plumbing.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KINDS[] = {"person", "organization", NULL};
static const char *const TIERS[] = {"vip", "key", "regular", "minor", NULL};
static const char *const VALUE_SEGMENTS[] = {"high", "reasonable", "low", "loss", NULL};
static const char *const SIZES[] = {"large", "medium", "small", NULL};
static const char *const STATUSES[] = {"prospect", "active", "inactive", "lost", NULL};
const char *const CHANNELS[] = {"phone", "email",  "sms",    "chat", "web",
                                "visit", "letter", "social", NULL};
static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily", NULL};

static const struct field_spec ADDRESS[] = {{.name = "line1", .type = F_STRING, .max = 200},
                                            {.name = "line2", .type = F_STRING, .max = 200},
                                            {.name = "city", .type = F_STRING, .max = 100},
                                            {.name = "region", .type = F_STRING, .max = 100},
                                            {.name = "postal_code", .type = F_STRING, .max = 20},
                                            {.name = "country", .type = F_COUNTRY},
                                            {0}};

static const struct field_spec CONTACT[] = {
    {.name = "name", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 200},
    {.name = "role", .type = F_STRING, .max = 100},
    {.name = "phone", .type = F_PHONE},
    {.name = "email", .type = F_EMAIL},
    {0}};

static const struct field_spec UNAVAILABLE_TIME[] = {
    {.name = "day", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = DAYS},
    {.name = "from", .type = F_HHMM, .flags = FIELD_REQUIRED},
    {.name = "to", .type = F_HHMM, .flags = FIELD_REQUIRED},
    {.name = "note", .type = F_STRING, .max = 200},
    {0}};

static const struct field_spec CUSTOMER_FIELDS[] = {
    {.name = "id", .flags = FIELD_READONLY},
    {.name = "kind", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = KINDS},
    {.name = "name", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 200},
    {.name = "email", .type = F_EMAIL},
    {.name = "phone", .type = F_PHONE},
    {.name = "address", .type = F_OBJECT, .sub = ADDRESS},
    {.name = "tier", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = TIERS},
    {.name = "value_segment", .type = F_ENUM, .enum_values = VALUE_SEGMENTS},
    {.name = "size", .type = F_ENUM, .enum_values = SIZES},
    {.name = "status", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = STATUSES},
    {.name = "preferred_channel", .type = F_ENUM, .enum_values = CHANNELS},
    {.name = "do_not_contact", .type = F_BOOL, .flags = FIELD_NOT_NULL},
    {.name = "unavailable_times", .type = F_OBJECT_ARRAY, .max = 50, .sub = UNAVAILABLE_TIME},
    {.name = "industry", .type = F_STRING, .min = 1, .max = 100},
    {.name = "legal_representative", .type = F_STRING, .min = 1, .max = 200},
    {.name = "business_scope", .type = F_STRING, .max = 2000},
    {.name = "registered_capital", .type = F_MONEY},
    {.name = "credit_rating", .type = F_STRING, .min = 1, .max = 20},
    {.name = "credit_limit", .type = F_MONEY},
    {.name = "contacts", .type = F_OBJECT_ARRAY, .max = 50, .sub = CONTACT},
    {.name = "birth_date", .type = F_DATE},
    {.name = "occupation", .type = F_STRING, .min = 1, .max = 100},
    {.name = "interests", .type = F_STRING_ARRAY, .max = 50, .item_max = 100},
    {.name = "source", .type = F_STRING, .min = 1, .max = 100},
    {.name = "tags", .type = F_STRING_ARRAY, .max = 50, .item_max = 64},
    {.name = "notes", .type = F_STRING, .max = 10000},
    {.name = "external_ref", .type = F_STRING, .min = 1, .max = 200},
    {.name = "attributes", .type = F_FREE_OBJECT, .max = 16384},
    {.name = "archived_at", .flags = FIELD_READONLY},
    {.name = "version", .flags = FIELD_READONLY},
    {.name = "created_at", .flags = FIELD_READONLY},
    {.name = "updated_at", .flags = FIELD_READONLY},
    {0}};

/* Column <- validated document j. */
#define CUSTOMER_COLUMNS                                                                           \
    "kind, name, email, phone, address, tier, value_segment, size, status, preferred_channel,"     \
    " do_not_contact, unavailable_times, industry, legal_representative, business_scope,"          \
    " registered_capital_amount, registered_capital_currency, credit_rating,"                      \
    " credit_limit_amount, credit_limit_currency, contacts, birth_date, occupation,"               \
    " interests, source, tags, notes, external_ref, attributes"
/* The values of CUSTOMER_COLUMNS from r, the document read as a csrd_customer_input
 * (schema/011): FROM jsonb_populate_record(NULL::csrd_customer_input, <doc>) r. */
#define CUSTOMER_VALUES                                                                            \
    "r.kind, r.name, r.email, r.phone, r.address, coalesce(r.tier, 'regular'), r.value_segment,"   \
    " r.size, coalesce(r.status, 'active'), r.preferred_channel,"                                  \
    " coalesce(r.do_not_contact, false), coalesce(r.unavailable_times, '[]'), r.industry,"         \
    " r.legal_representative, r.business_scope, (r.registered_capital->>'amount')::numeric,"       \
    " r.registered_capital->>'currency', r.credit_rating, (r.credit_limit->>'amount')::numeric,"   \
    " r.credit_limit->>'currency', coalesce(r.contacts, '[]'), r.birth_date, r.occupation,"        \
    " coalesce(r.interests, '{}'), r.source, coalesce(r.tags, '{}'), r.notes, r.external_ref,"     \
    " coalesce(r.attributes, '{}')"
#define READ_CUSTOMER(doc) "jsonb_populate_record(NULL::csrd_customer_input, " doc ") r"

/* created_at of a historical import (admins), else now. */
#define IMPORTED_AT "coalesce(date_trunc('milliseconds', r.created_at), csrd_now())"

/* List filters $1..$10, keyset $11 (key) $12 (id), limit $13. */
#define CUSTOMER_FILTERS                                                                           \
    " WHERE ($1::text IS NULL OR c.tier = ANY (string_to_array($1, ',')))"                         \
    " AND ($2::text IS NULL OR c.status = ANY (string_to_array($2, ',')))"                         \
    " AND ($3::text IS NULL OR c.tags @> ARRAY[$3::text])"                                         \
    " AND ($4::text IS NULL OR c.address->>'city' = $4)"                                           \
    " AND ($5::text IS NULL OR c.address->>'region' = $5)"                                         \
    " AND ($6::text IS NULL OR c.external_ref = $6)"                                               \
    " AND ($7::timestamptz IS NULL OR c.created_at > $7)"                                          \
    " AND ($8::timestamptz IS NULL OR c.updated_at >= $8)"                                         \
    " AND ($9::text IS NULL OR c.search LIKE '%' || csrd_like_escape(lower($9)) || '%'"            \
    "      OR lower($9) <% c.search)"                                                              \
    " AND ($10::boolean OR c.archived_at IS NULL)"

/* A customer as csrd renders it (render.h): the columns, in the order of CUSTOMER_JSON, and
 * the finish hook that turns them into column 0. customer_json in schema/ stays the
 * rendering for what PostgreSQL itself sends (webhook data); a test holds the two equal. */
#define CUSTOMER_ROW(p)                                                                            \
    p "id, " p "kind, " p "name, " p "email, " p "phone, " p "address, " p "tier, " p              \
      "value_segment, " p "size, " p "status, " p "preferred_channel, " p "do_not_contact, " p     \
      "unavailable_times, " p "industry, " p "legal_representative, " p "business_scope, " p       \
      "registered_capital_amount, " p "registered_capital_currency, " p "credit_rating, " p        \
      "credit_limit_amount, " p "credit_limit_currency, " p "contacts, " p "birth_date, " p        \
      "occupation, " p "interests, " p "source, " p "tags, " p "notes, " p "external_ref, " p      \
      "attributes, " p "archived_at, " p "version, " p "created_at, " p "updated_at"

static const struct col_spec CUSTOMER_JSON[] = {{"id", COL_TEXT},
                                                {"kind", COL_TEXT},
                                                {"name", COL_TEXT},
                                                {"email", COL_TEXT},
                                                {"phone", COL_TEXT},
                                                {"address", COL_RAW},
                                                {"tier", COL_TEXT},
                                                {"value_segment", COL_TEXT},
                                                {"size", COL_TEXT},
                                                {"status", COL_TEXT},
                                                {"preferred_channel", COL_TEXT},
                                                {"do_not_contact", COL_BOOL},
                                                {"unavailable_times", COL_RAW},
                                                {"industry", COL_TEXT},
                                                {"legal_representative", COL_TEXT},
                                                {"business_scope", COL_TEXT},
                                                {"registered_capital", COL_MONEY},
                                                {"credit_rating", COL_TEXT},
                                                {"credit_limit", COL_MONEY},
                                                {"contacts", COL_RAW},
                                                {"birth_date", COL_TEXT},
                                                {"occupation", COL_TEXT},
                                                {"interests", COL_TEXTS},
                                                {"source", COL_TEXT},
                                                {"tags", COL_TEXTS},
                                                {"notes", COL_TEXT},
                                                {"external_ref", COL_TEXT},
                                                {"attributes", COL_RAW},
                                                {"archived_at", COL_TS},
                                                {"version", COL_RAW},
                                                {"created_at", COL_TS},
                                                {"updated_at", COL_TS},
                                                {NULL, 0}};

static void customer_rows(struct db_rows *rows)
{
    render_last(rows, CUSTOMER_JSON);
}

#define CUSTOMER_LIST(name, key, cmp, lo, dir)                                                     \
    {                                                                                              \
        name,                                                                                      \
            "SELECT NULL::text, c." key                                                            \
            "::text, c.id, " CUSTOMER_ROW("c.") " FROM customers c" CUSTOMER_FILTERS               \
                                                " AND (c." key ", c.id) " cmp " (" lo ")"          \
                                                " ORDER BY c." key " " dir ", c.id " dir           \
                                                " LIMIT $13",                                      \
            customer_rows                                                                          \
    }

#define TS_AFTER                                                                                   \
    "coalesce($11::timestamptz, '-infinity'), coalesce($12::uuid, "                                \
    "'00000000-0000-0000-0000-000000000000')"
#define TS_BEFORE                                                                                  \
    "coalesce($11::timestamptz, 'infinity'), coalesce($12::uuid, "                                 \
    "'ffffffff-ffff-ffff-ffff-ffffffffffff')"

// clang-format off
const struct db_stmt customers_statements[] = {
    /* a create's history entry stores the fields given ({"f": v}); customer_history_json
       (schema/009) shows them as {"f": {"from": null, "to": v}} */
    {"customers_insert",
     "WITH c AS (INSERT INTO customers (id, created_at, updated_at, " CUSTOMER_COLUMNS ")"
     " SELECT $1::uuid, " IMPORTED_AT ", " IMPORTED_AT ", " CUSTOMER_VALUES
     " FROM " READ_CUSTOMER("$2::jsonb")
     " RETURNING NULL::text AS json, version AS v, " CUSTOMER_ROW("") "),"
     " h AS (INSERT INTO customer_history (customer_id, action, changes, actor, actor_role)"
     " SELECT c.id, 'created', $2::jsonb, $3, $4 FROM c)"
     " SELECT * FROM c", customer_rows},
    /* the same for creates combined by rdb_create: $1 = [{"id", "j", "a", "r"}] */
    {"customers_insert_combined",
     "WITH x AS (SELECT (e->>'id')::uuid AS id, e->'j' AS j, e->>'a' AS a, e->>'r' AS r"
     " FROM jsonb_array_elements($1::jsonb) AS x(e)),"
     " c AS (INSERT INTO customers (id, created_at, updated_at, " CUSTOMER_COLUMNS ")"
     " SELECT x.id, " IMPORTED_AT ", " IMPORTED_AT ", " CUSTOMER_VALUES
     " FROM x, " READ_CUSTOMER("x.j")
     " RETURNING NULL::text AS json, version AS v, " CUSTOMER_ROW("") "),"
     " h AS (INSERT INTO customer_history (customer_id, action, changes, actor, actor_role)"
     " SELECT c.id, 'created', x.j, x.a, x.r FROM c JOIN x ON x.id = c.id)"
     " SELECT * FROM c", customer_rows},
    {"customers_exists", "SELECT 1 FROM customers WHERE id = $1"},
    {"customers_get", "SELECT NULL::text, c.version, " CUSTOMER_ROW("c.")
                      " FROM customers c WHERE c.id = $1", customer_rows, DB_QUICK},
    {"customers_lock", "SELECT NULL::text, c.version, " CUSTOMER_ROW("c.")
                       " FROM customers c WHERE c.id = $1 FOR UPDATE", customer_rows},
    {"customers_update",
     "WITH c AS (UPDATE customers SET (" CUSTOMER_COLUMNS ") = (SELECT " CUSTOMER_VALUES
     " FROM " READ_CUSTOMER("$3::jsonb") "), version = version + 1, updated_at = csrd_now()"
     " WHERE id = $1 AND version = $2"
     " RETURNING NULL::text AS json, version AS v, " CUSTOMER_ROW("") "),"
     " h AS (INSERT INTO customer_history (customer_id, action, changes, actor, actor_role)"
     " SELECT c.id, 'updated', $6::jsonb, $4, $5 FROM c)"
     " SELECT * FROM c", customer_rows},
    {"customers_archive",
     "WITH c AS (UPDATE customers SET archived_at = csrd_now(), version = version + 1,"
     " updated_at = csrd_now() WHERE id = $1 AND archived_at IS NULL RETURNING id, archived_at)"
     " INSERT INTO customer_history (customer_id, action, changes, actor, actor_role)"
     " SELECT c.id, 'archived', jsonb_build_object('archived_at',"
     " jsonb_build_object('from', NULL, 'to', csrd_ts(c.archived_at))), $2, $3 FROM c"},
    {"customers_history",
     "SELECT customer_history_json(h)::text, h.seq::text, h.id FROM customer_history h"
     " WHERE h.customer_id = $1 AND h.seq > coalesce($2::bigint, 0)"
     " AND ($3::uuid IS NULL OR true) ORDER BY h.seq LIMIT $4"},
    {"customers_history_count",
     "SELECT count(*) FROM customer_history h WHERE h.customer_id = $1"
     " AND $2::text IS NULL AND $3::uuid IS NULL AND $4::int IS NULL"},
    CUSTOMER_LIST("customers_list_created_at_asc", "created_at", ">", TS_AFTER, "ASC"),
    CUSTOMER_LIST("customers_list_created_at_desc", "created_at", "<", TS_BEFORE, "DESC"),
    CUSTOMER_LIST("customers_list_updated_at_asc", "updated_at", ">", TS_AFTER, "ASC"),
    CUSTOMER_LIST("customers_list_updated_at_desc", "updated_at", "<", TS_BEFORE, "DESC"),
    CUSTOMER_LIST("customers_list_name_asc", "name", ">",
                  "coalesce($11::text, ''), coalesce($12::uuid, "
                  "'00000000-0000-0000-0000-000000000000')",
                  "ASC"),
    {"customers_list_name_desc",
     "SELECT NULL::text, c.name, c.id, " CUSTOMER_ROW("c.") " FROM customers c" CUSTOMER_FILTERS
     " AND ($12::uuid IS NULL OR (c.name, c.id) < ($11::text, $12::uuid))"
     " ORDER BY c.name DESC, c.id DESC LIMIT $13", customer_rows},
    /* best match first; q ($9) is required for this order */
    {"customers_list_relevance",
     "SELECT NULL::text, csrd_relevance(lower($9), c.search)::text, c.id, " CUSTOMER_ROW("c.")
     " FROM customers c" CUSTOMER_FILTERS
     " AND (csrd_relevance(lower($9), c.search), c.id) < (coalesce($11::real, 'infinity'),"
     " coalesce($12::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))"
     " ORDER BY csrd_relevance(lower($9), c.search) DESC, c.id DESC LIMIT $13", customer_rows},
    /* bulk: $1 = [{"id", "j"}] */
    {"customers_bulk_insert",
     "WITH ins AS (INSERT INTO customers (id, created_at, updated_at, " CUSTOMER_COLUMNS ")"
     " SELECT (e->>'id')::uuid, " IMPORTED_AT ", " IMPORTED_AT ", " CUSTOMER_VALUES
     " FROM jsonb_array_elements($1::jsonb) AS x(e), " READ_CUSTOMER("x.e->'j'")
     " ON CONFLICT DO NOTHING RETURNING id),"
     " h AS (INSERT INTO customer_history (customer_id, action, changes, actor, actor_role)"
     " SELECT ins.id, 'created', x.e->'j', $2, $3"
     " FROM ins JOIN jsonb_array_elements($1::jsonb) AS x(e) ON (x.e->>'id')::uuid = ins.id)"
     " SELECT id FROM ins"},
    {"customers_bulk_lookup",
     "SELECT c.external_ref, customer_json(c)::text, c.version, c.id FROM customers c"
     " WHERE c.external_ref IN (SELECT jsonb_array_elements_text($1::jsonb)) FOR UPDATE"},
    {"customers_bulk_update",
     "WITH upd AS (UPDATE customers c SET (" CUSTOMER_COLUMNS ") = (SELECT " CUSTOMER_VALUES
     " FROM " READ_CUSTOMER("u.e->'j'") "), version = c.version + 1, updated_at = csrd_now()"
     " FROM jsonb_array_elements($1::jsonb) AS u(e)"
     " WHERE c.id = (u.e->>'id')::uuid AND c.version = (u.e->>'v')::integer RETURNING c.id),"
     " h AS (INSERT INTO customer_history (customer_id, action, changes, actor, actor_role)"
     " SELECT upd.id, 'updated', x.e->'c', $2, $3"
     " FROM upd JOIN jsonb_array_elements($1::jsonb) AS x(e) ON (x.e->>'id')::uuid = upd.id)"
     " SELECT id FROM upd"},
    {"customers_count", "SELECT count(*) FROM customers c" CUSTOMER_FILTERS
                        " AND $11::text IS NULL AND $12::uuid IS NULL AND $13::int IS NULL"},
    {NULL, NULL}};
// clang-format on

static const char *const SORTS[] = {"created_at", "updated_at", "name", "relevance", NULL};
static const char *const EXPORT_PARAMS[] = {
    "tier",   "status",           "tag",           "city",
    "region", "external_ref",     "created_after", "updated_since",
    "q",      "include_archived", "bom",           NULL};
static const char *const FILTERS[] = {"tier",
                                      "status",
                                      "tag",
                                      "city",
                                      "region",
                                      "external_ref",
                                      "created_after",
                                      "updated_since",
                                      "q",
                                      "include_archived",
                                      NULL};

static const struct constraint_field CUSTOMER_CONSTRAINTS[] = {
    {"customers_external_ref_key", "external_ref", "already belongs to another customer", false},
    {0}};

static const struct record_kind CUSTOMER = {
    .what = "customer",
    .path = "/v1/customers",
    .fields = CUSTOMER_FIELDS,
    .insert_stmt = "customers_insert",
    .insert_combined = "customers_insert_combined",
    .lock_stmt = "customers_lock",
    .update_stmt = "customers_update",
    .constraints = CUSTOMER_CONSTRAINTS,
    .history = true,
    .importable = true,
};

static void customers_create(struct request *r)
{
    record_create(r, &CUSTOMER);
}

static const struct bulk_kind CUSTOMER_BULK = {
    .what = "customer",
    .fields = CUSTOMER_FIELDS,
    .insert_stmt = "customers_bulk_insert",
    .upsert_key = "external_ref",
    .lookup_stmt = "customers_bulk_lookup",
    .update_stmt = "customers_bulk_update",
    .history = true,
    .importable = true,
    .conflict_message = "already belongs to another customer",
};

static void customers_bulk(struct request *r)
{
    bulk_import(r, &CUSTOMER_BULK);
}

static void customers_get(struct request *r)
{
    reply_get_by_id(r, "customers_get", "customer");
}

static void customers_patch(struct request *r)
{
    record_patch(r, &CUSTOMER);
}

static void customers_archive(struct request *r)
{
    const char *id = req_path_uuid(r, 0);
    const char *params[] = {id, r->who.name, role_name(r->who.role)};
    if (id &&
        lock_and_run(r, "customers_lock", "customer", id, "customers_archive", 3, params, NULL))
        http_reply_empty(r, 204);
}

static void customers_history(struct request *r)
{
    static const char *const HISTORY_SORTS[] = {"at", NULL};
    static const char *const NONE[] = {NULL};
    const char *id = req_path_uuid(r, 0);
    struct list_params lp;
    if (!id || !list_parse(r, NONE, HISTORY_SORTS, "at", &lp))
        return;
    if (lp.desc) {
        http_problem(r, 400, "the history is listed oldest first (sort=at)");
        return;
    }
    const char *params[4] = {id};
    run_list(r, &lp, "customers_history", "customers_history_count", 4, params,
             CUSTOMER_PARENT(id));
}

/* Validates the list filters shared by the list and the export; fills params[0..9]. */
static bool customer_filters(struct request *r, const char **params)
{
    bool archived;
    if (!filter_enum_list(r, "tier", TIERS) || !filter_enum_list(r, "status", STATUSES) ||
        !filter_timestamp(r, "created_after") || !filter_timestamp(r, "updated_since") ||
        !filter_bool(r, "include_archived", &archived))
        return false;
    const struct query *q = &r->query;
    const char *search = query_get(q, "q");
    const char *values[10] = {query_get(q, "tier"),
                              query_get(q, "status"),
                              query_get(q, "tag"),
                              query_get(q, "city"),
                              query_get(q, "region"),
                              query_get(q, "external_ref"),
                              query_get(q, "created_after"),
                              query_get(q, "updated_since"),
                              search && *search ? search : NULL, /* q= matches everything */
                              archived ? "true" : "false"};
    memcpy(params, values, sizeof(values));
    return true;
}

static void customers_export(struct request *r)
{
    if (!query_only(r, EXPORT_PARAMS))
        return;
    const char *params[13] = {0};
    if (customer_filters(r, params))
        export_reply(r, "customers_list_created_at_asc", 13, params, CUSTOMER_FIELDS);
}

static void customers_list(struct request *r)
{
    static const char *const STMTS[4][2] = {
        {"customers_list_created_at_asc", "customers_list_created_at_desc"},
        {"customers_list_updated_at_asc", "customers_list_updated_at_desc"},
        {"customers_list_name_asc", "customers_list_name_desc"},
        {"customers_list_relevance", "customers_list_relevance"}};
    struct list_params lp;
    const char *search = query_get(&r->query, "q");
    bool searching = search && *search;
    const char *params[13] = {0};
    if (!list_parse(r, FILTERS, SORTS, searching ? "relevance" : "-created_at", &lp) ||
        !customer_filters(r, params))
        return;
    if (lp.sort == 3 && !searching) {
        http_problem(r, 400, "sort=relevance needs q");
        return;
    }
    run_list(r, &lp, STMTS[lp.sort][lp.desc], "customers_count", 13, params, NULL);
}

const struct route customers_routes[] = {
    {M_GET, "/v1/customers", customers_list, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_POST, "/v1/customers", customers_create, ROLE_AGENT, ROUTE_IDEMPOTENT, 0},
    {M_POST, "/v1/customers/bulk", customers_bulk, ROLE_AGENT, ROUTE_IDEMPOTENT | ROUTE_BULK_BODY,
     0},
    {M_GET, "/v1/customers/export", customers_export, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_GET, "/v1/customers/{id}", customers_get, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_PATCH, "/v1/customers/{id}", customers_patch, ROLE_AGENT, 0, 0},
    {M_GET, "/v1/customers/{id}/history", customers_history, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_DELETE, "/v1/customers/{id}", customers_archive, ROLE_SUPERVISOR, 0, 0},
    {0, NULL, NULL, 0, 0, 0}};

/* Satisfaction follow-ups. They close the loop on complaints: completing the follow-up of a
 * resolved complaint reopens it (satisfaction <= 2 or the issue not resolved), closes it
 * (satisfaction >= 4 and resolved) or leaves it resolved (3), all in the completion's
 * transaction and with complaint events. A follow-up never lapses silently: a scheduled one
 * whose time has passed is `overdue` (and listed by overdue=true) until it is completed,
 * marked no_response or cancelled. */
#include "resources/follow_ups.h"
#include "resources/complaints.h"
#include "resources/customers.h"
#include "resources/plumbing.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PURPOSES[] = {"complaint_resolution", "post_sale", "periodic", "other",
                                       NULL};
static const char *const METHODS[] = {"phone", "visit", "email", "sms", "survey", NULL};
static const char *const STATUSES[] = {"scheduled", "completed", "no_response", "cancelled", NULL};
static const char *const OUTCOMES[] = {"no_response", NULL};

static const struct field_spec FOLLOW_UP_FIELDS[] = {
    {.name = "id", .flags = FIELD_READONLY},
    {.name = "customer_id", .type = F_UUID, .flags = FIELD_REQUIRED | FIELD_IMMUTABLE},
    {.name = "complaint_id", .type = F_UUID, .flags = FIELD_IMMUTABLE},
    {.name = "interaction_id", .type = F_UUID},
    {.name = "purpose", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = PURPOSES},
    {.name = "method", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = METHODS},
    {.name = "scheduled_at", .type = F_TIMESTAMP, .flags = FIELD_REQUIRED},
    {.name = "assignee", .type = F_STRING, .min = 1, .max = 100},
    {.name = "status", .flags = FIELD_READONLY},
    {.name = "overdue", .flags = FIELD_READONLY},
    {.name = "completed_at", .flags = FIELD_READONLY},
    {.name = "satisfaction", .flags = FIELD_READONLY},
    {.name = "nps", .flags = FIELD_READONLY},
    {.name = "issue_resolved", .flags = FIELD_READONLY},
    {.name = "comment", .flags = FIELD_READONLY},
    {.name = "version", .flags = FIELD_READONLY},
    {.name = "created_at", .flags = FIELD_READONLY},
    {.name = "updated_at", .flags = FIELD_READONLY},
    {0}};

static const struct field_spec COMPLETION_FIELDS[] = {
    {.name = "satisfaction", .type = F_INT, .min = 1, .max = 5},
    {.name = "nps", .type = F_INT, .min = 0, .max = 10},
    {.name = "issue_resolved", .type = F_BOOL},
    {.name = "comment", .type = F_STRING, .max = 5000},
    {.name = "outcome", .type = F_ENUM, .enum_values = OUTCOMES},
    {0}};

static const struct field_spec CANCELLATION_FIELDS[] = {
    {.name = "reason", .type = F_STRING, .min = 1, .max = 5000}, {0}};

#define FOLLOW_UP_COLUMNS                                                                          \
    "customer_id, complaint_id, interaction_id, purpose, method, scheduled_at, assignee"
#define FOLLOW_UP_VALUES                                                                           \
    "(j->>'customer_id')::uuid, (j->>'complaint_id')::uuid, (j->>'interaction_id')::uuid,"         \
    " coalesce(j->>'purpose', 'other'), j->>'method',"                                             \
    " date_trunc('milliseconds', (j->>'scheduled_at')::timestamptz), j->>'assignee'"

/* Filters $1..$6, keyset $7 $8, limit $9. */
#define FOLLOW_UP_FILTERS                                                                          \
    " WHERE ($1::text IS NULL OR f.status = ANY (string_to_array($1, ',')))"                       \
    " AND ($2::text IS NULL OR f.assignee = $2)"                                                   \
    " AND ($3::timestamptz IS NULL OR f.scheduled_at < $3)"                                        \
    " AND ($4::uuid IS NULL OR f.complaint_id = $4)"                                               \
    " AND ($5::uuid IS NULL OR f.customer_id = $5)"                                                \
    " AND ($6::boolean IS NULL OR (f.status = 'scheduled' AND f.scheduled_at < now()) = $6)"
#define FU_ASC                                                                                     \
    "coalesce($7::timestamptz, '-infinity'), coalesce($8::uuid, "                                  \
    "'00000000-0000-0000-0000-000000000000')"
#define FU_DESC                                                                                    \
    "coalesce($7::timestamptz, 'infinity'), coalesce($8::uuid, "                                   \
    "'ffffffff-ffff-ffff-ffff-ffffffffffff')"
#define FOLLOW_UP_LIST(name, key, cmp, lo, dir)                                                    \
    {                                                                                              \
        name, "SELECT follow_up_json(f)::text, f." key                                             \
              "::text, f.id FROM follow_ups f" FOLLOW_UP_FILTERS " AND (f." key ", f.id) " cmp     \
              " (" lo ")"                                                                          \
              " ORDER BY f." key " " dir ", f.id " dir " LIMIT $9"                                 \
    }

// clang-format off
const struct db_stmt follow_ups_statements[] = {
    {"follow_ups_customer", "SELECT do_not_contact FROM customers WHERE id = $1"},
    {"follow_ups_insert", "INSERT INTO follow_ups (id, " FOLLOW_UP_COLUMNS ")"
                          " SELECT $1::uuid, " FOLLOW_UP_VALUES " FROM (SELECT $2::jsonb AS j) s"
                          " RETURNING follow_up_json(follow_ups)::text, version"},
    {"follow_ups_get",
     "SELECT follow_up_json(f)::text, f.version FROM follow_ups f WHERE f.id = $1", NULL,
     DB_QUICK},
    {"follow_ups_lock", "SELECT follow_up_json(f)::text, f.version, f.status, f.customer_id,"
                        " f.complaint_id FROM follow_ups f WHERE f.id = $1 FOR UPDATE"},
    {"follow_ups_update",
     "UPDATE follow_ups SET (" FOLLOW_UP_COLUMNS ") = (SELECT " FOLLOW_UP_VALUES
     " FROM (SELECT $3::jsonb AS j) s), version = version + 1, updated_at = csrd_now()"
     " WHERE id = $1 AND version = $2 RETURNING follow_up_json(follow_ups)::text, version"},
    {"follow_ups_finish",
     "UPDATE follow_ups SET status = $2, completed_at = CASE WHEN $2 = 'cancelled' THEN NULL"
     " ELSE csrd_now() END, satisfaction = $3::smallint, nps = $4::smallint,"
     " issue_resolved = $5::boolean, comment = $6, version = version + 1, updated_at = csrd_now()"
     " WHERE id = $1 RETURNING follow_up_json(follow_ups)::text, version"},
    FOLLOW_UP_LIST("follow_ups_list_scheduled_at_asc", "scheduled_at", ">", FU_ASC, "ASC"),
    FOLLOW_UP_LIST("follow_ups_list_scheduled_at_desc", "scheduled_at", "<", FU_DESC, "DESC"),
    FOLLOW_UP_LIST("follow_ups_list_created_at_asc", "created_at", ">", FU_ASC, "ASC"),
    FOLLOW_UP_LIST("follow_ups_list_created_at_desc", "created_at", "<", FU_DESC, "DESC"),
    {"follow_ups_count", "SELECT count(*) FROM follow_ups f" FOLLOW_UP_FILTERS
                         " AND $7::text IS NULL AND $8::uuid IS NULL AND $9::int IS NULL"},
    {NULL, NULL}};
// clang-format on

static const struct constraint_field FOLLOW_UP_CONSTRAINTS[] = {
    {"follow_ups_customer_id_fkey", "customer_id", "no customer with this id", false},
    {"follow_ups_complaint_id_customer_id_fkey", "complaint_id",
     "no complaint with this id belongs to this customer", false},
    {"follow_ups_interaction_id_customer_id_fkey", "interaction_id",
     "no interaction with this id belongs to this customer", false},
    {0}};

/* 422 unless the document's customer exists and may be contacted. */
static bool customer_contactable(struct request *r, const json_t *doc)
{
    const char *customer = json_string_value(json_object_get(doc, "customer_id"));
    struct db_rows *rows = rdb_run(r, "follow_ups_customer", 1, &customer);
    if (!rows)
        return false;
    if (db_nrows(rows) == 0) {
        http_problem_field(r, "customer_id", "no customer with this id");
        return false;
    }
    if (!strcmp(db_get(rows, 0, 0), "t")) {
        http_problem_field(r, "customer_id", "the customer is marked do_not_contact");
        return false;
    }
    return true;
}

/* Locks the follow-up and insists that it is still scheduled (409 otherwise). */
static struct db_rows *lock_scheduled(struct request *r, const char *id)
{
    struct db_rows *rows = lock_by_id(r, "follow_ups_lock", id, "follow-up");
    if (rows && strcmp(db_get(rows, 0, 2), "scheduled") != 0) {
        http_problem(r, 409,
                     arena_printf(&r->arena, "the follow-up is %s, no longer scheduled",
                                  db_get(rows, 0, 2)));
        return NULL;
    }
    return rows;
}

static const struct record_kind FOLLOW_UP = {
    .what = "follow-up",
    .path = "/v1/follow-ups",
    .fields = FOLLOW_UP_FIELDS,
    .insert_stmt = "follow_ups_insert",
    .lock_stmt = "follow_ups_lock",
    .update_stmt = "follow_ups_update",
    .constraints = FOLLOW_UP_CONSTRAINTS,
    .check = customer_contactable,
    .lock = lock_scheduled,
};

static void follow_ups_create(struct request *r)
{
    record_create(r, &FOLLOW_UP);
}

static void follow_ups_get(struct request *r)
{
    reply_get_by_id(r, "follow_ups_get", "follow-up");
}

static void follow_ups_patch(struct request *r)
{
    record_patch(r, &FOLLOW_UP);
}

/* Validates a completion body; fills the statement parameters. */
static bool completion_valid(struct request *r, json_t *body, bool has_complaint,
                             const char **status)
{
    json_t *errors = json_array();
    bool no_response = json_object_get(body, "outcome") != NULL;
    static const char *const ANSWERS[] = {"satisfaction", "nps", "issue_resolved", NULL};
    if (no_response) {
        for (const char *const *a = ANSWERS; *a; a++)
            if (json_object_get(body, *a))
                json_error_add(errors, *a, "must not be given with outcome no_response");
    } else {
        if (!json_object_get(body, "satisfaction"))
            json_error_add(errors, "satisfaction", "is required (1 to 5)");
        if (has_complaint && !json_object_get(body, "issue_resolved"))
            json_error_add(errors, "issue_resolved",
                           "is required for the follow-up of a complaint");
    }
    if (json_array_size(errors)) {
        http_problem_fields(r, errors);
        return false;
    }
    json_decref(errors);
    *status = no_response ? "no_response" : "completed";
    return true;
}

/* Applies the answer to the follow-up's complaint: records the satisfaction, writes the
 * follow_up_completed event and, when the complaint is resolved, reopens or closes it. */
static bool apply_to_complaint(struct request *r, const char *complaint, const char *customer,
                               const char *follow_up, json_t *body)
{
    struct complaint_state st;
    if (!complaints_lock_state(r, complaint, &st))
        return false;
    if (!st.found)
        return true;
    const char *status = st.status;
    json_t *sat_j = json_object_get(body, "satisfaction");
    if (!sat_j) /* no_response: the complaint stays as it is */
        return complaints_event(r, complaint, customer, "follow_up_completed", NULL, NULL,
                                arena_printf(&r->arena, "follow-up %s: no response", follow_up),
                                NULL);
    long sat = (long)json_integer_value(sat_j);
    bool resolved = json_is_true(json_object_get(body, "issue_resolved"));
    if (!complaints_rate(r, complaint, sat) ||
        !complaints_event(r, complaint, customer, "follow_up_completed", NULL, NULL,
                          arena_printf(&r->arena, "follow-up %s: satisfaction %ld, issue %s",
                                       follow_up, sat, resolved ? "resolved" : "not resolved"),
                          NULL))
        return false;
    if (strcmp(status, "resolved") != 0)
        return true;
    const char *to = (sat <= 2 || !resolved) ? "in_progress" : sat >= 4 ? "closed" : NULL;
    if (!to)
        return true;
    return complaints_move(r, complaint, to, NULL) &&
           complaints_event(r, complaint, customer, !strcmp(to, "closed") ? "transition" : "reopen",
                            "resolved", to,
                            !strcmp(to, "closed") ? "the customer is satisfied"
                                                  : "the customer is not satisfied",
                            NULL);
}

struct completion {
    const char *id;
    json_t *body;
};

static bool completion_body(struct request *r, void *cls)
{
    const struct completion *c = cls;
    json_t *body = c->body;
    const char *status;
    struct db_rows *rows = lock_scheduled(r, c->id), *upd;
    if (!rows)
        return false;
    const char *customer = db_get(rows, 0, 3), *complaint = db_get(rows, 0, 4);
    if (!completion_valid(r, body, complaint != NULL, &status))
        return false;
    char sat[24] = "", nps[24] = "";
    json_t *s = json_object_get(body, "satisfaction"), *n = json_object_get(body, "nps");
    json_t *ir = json_object_get(body, "issue_resolved");
    snprintf(sat, sizeof(sat), "%lld", s ? (long long)json_integer_value(s) : 0LL);
    snprintf(nps, sizeof(nps), "%lld", n ? (long long)json_integer_value(n) : 0LL);
    const char *params[] = {c->id,
                            status,
                            s ? sat : NULL,
                            n ? nps : NULL,
                            ir ? (json_is_true(ir) ? "true" : "false") : NULL,
                            json_string_value(json_object_get(body, "comment"))};
    return (upd = rdb_run(r, "follow_ups_finish", 6, params)) &&
           (!complaint || apply_to_complaint(r, complaint, customer, c->id, body)) &&
           reply_returned(r, 200, upd, NULL);
}

/* The body of an action, validated against spec (422 with every field error). */
static json_t *action_body(struct request *r, const struct field_spec *spec, bool allow_empty)
{
    const char *id = req_path_uuid(r, 0);
    json_t *body = id ? req_json_object(r, allow_empty) : NULL;
    if (!body)
        return NULL;
    json_t *errors = json_array();
    if (!json_validate(body, spec, VALIDATE_CREATE, errors)) {
        http_problem_fields(r, errors);
        json_decref(body);
        return NULL;
    }
    json_decref(errors);
    return body;
}

static void follow_ups_complete(struct request *r)
{
    struct completion c = {r->params[0], action_body(r, COMPLETION_FIELDS, false)};
    if (!c.body)
        return;
    rdb_transaction(r, completion_body, &c);
    json_decref(c.body);
}

static bool cancellation_body(struct request *r, void *cls)
{
    const struct completion *c = cls;
    const char *params[] = {c->id, "cancelled",
                            NULL,  NULL,
                            NULL,  json_string_value(json_object_get(c->body, "reason"))};
    struct db_rows *upd;
    return lock_scheduled(r, c->id) && (upd = rdb_run(r, "follow_ups_finish", 6, params)) &&
           reply_returned(r, 200, upd, NULL);
}

static void follow_ups_cancel(struct request *r)
{
    struct completion c = {r->params[0], action_body(r, CANCELLATION_FIELDS, true)};
    if (!c.body)
        return;
    rdb_transaction(r, cancellation_body, &c);
    json_decref(c.body);
}

static void list_follow_ups(struct request *r, const char *customer)
{
    static const char *const SORTS[] = {"scheduled_at", "created_at", NULL};
    static const char *const FILTERS[] = {"customer_id",  "status",  "assignee", "due_before",
                                          "complaint_id", "overdue", NULL};
    static const char *const STMTS[2][2] = {
        {"follow_ups_list_scheduled_at_asc", "follow_ups_list_scheduled_at_desc"},
        {"follow_ups_list_created_at_asc", "follow_ups_list_created_at_desc"}};
    struct list_params lp;
    bool overdue = false;
    const struct query *q = &r->query;
    if (!list_parse(r, customer ? FILTERS + 1 : FILTERS, SORTS, "scheduled_at", &lp) ||
        !filter_uuid(r, "customer_id") || !filter_uuid(r, "complaint_id") ||
        !filter_enum_list(r, "status", STATUSES) || !filter_timestamp(r, "due_before") ||
        !filter_bool(r, "overdue", &overdue))
        return;
    const char *params[9] = {query_get(q, "status"),
                             query_get(q, "assignee"),
                             query_get(q, "due_before"),
                             query_get(q, "complaint_id"),
                             customer ? customer : query_get(q, "customer_id"),
                             query_get(q, "overdue") ? (overdue ? "true" : "false") : NULL};
    run_list(r, &lp, STMTS[lp.sort][lp.desc], "follow_ups_count", 9, params,
             customer ? CUSTOMER_PARENT(customer) : NULL);
}

static void follow_ups_list(struct request *r)
{
    list_follow_ups(r, NULL);
}

static void customer_follow_ups(struct request *r)
{
    const char *customer = req_path_uuid(r, 0);
    if (customer)
        list_follow_ups(r, customer);
}

const struct route follow_ups_routes[] = {
    {M_GET, "/v1/follow-ups", follow_ups_list, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_POST, "/v1/follow-ups", follow_ups_create, ROLE_AGENT, ROUTE_IDEMPOTENT, 0},
    {M_GET, "/v1/follow-ups/{id}", follow_ups_get, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_PATCH, "/v1/follow-ups/{id}", follow_ups_patch, ROLE_AGENT, 0, 0},
    {M_POST, "/v1/follow-ups/{id}/completion", follow_ups_complete, ROLE_AGENT, ROUTE_IDEMPOTENT,
     0},
    {M_POST, "/v1/follow-ups/{id}/cancellation", follow_ups_cancel, ROLE_AGENT, ROUTE_IDEMPOTENT,
     0},
    {M_GET, "/v1/customers/{id}/follow-ups", customer_follow_ups, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {0, NULL, NULL, 0, 0, 0}};

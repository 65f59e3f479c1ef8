/* Complaints: the record of a grievance, its handling and its result, never deleted.
 * Deadlines come from the SLA policy of the severity at creation (recomputed from the
 * creation time when the severity changes). Status moves only through POST /transitions,
 * along the complaint_transitions table in the database (the one place the workflow is
 * written; a trigger refuses anything else). Every change writes a complaint_events row in
 * the same transaction, with the API key's name and role as actor. */
#include "util/xalloc.h"
#include "json/json_text.h"
#include "resources/complaints.h"
#include "resources/customers.h"
#include "resources/plumbing.h"
#include "util/strbuf.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const COMPLAINT_CHANNELS[] = {"phone", "email",  "sms",    "chat",     "web",
                                                 "visit", "letter", "social", "referral", NULL};
static const char *const CATEGORIES[] = {
    "product_quality", "service_attitude", "delivery", "billing", "after_sales", "other", NULL};
static const char *const SEVERITIES[] = {"low", "medium", "high", "critical", NULL};
static const char *const STATUSES[] = {"new",      "acknowledged", "in_progress", "resolved",
                                       "rejected", "closed",       NULL};

static const struct field_spec COMPLAINT_FIELDS[] = {
    {.name = "id", .flags = FIELD_READONLY},
    {.name = "number", .flags = FIELD_READONLY},
    {.name = "customer_id", .type = F_UUID, .flags = FIELD_REQUIRED | FIELD_IMMUTABLE},
    {.name = "channel",
     .type = F_ENUM,
     .flags = FIELD_REQUIRED | FIELD_IMMUTABLE,
     .enum_values = COMPLAINT_CHANNELS},
    {.name = "category", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = CATEGORIES},
    {.name = "severity", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = SEVERITIES},
    {.name = "subject", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 200},
    {.name = "description", .type = F_STRING, .max = 20000},
    {.name = "desired_outcome", .type = F_STRING, .max = 2000},
    {.name = "status", .flags = FIELD_READONLY},
    {.name = "assignee", .type = F_STRING, .min = 1, .max = 100},
    {.name = "response_channel",
     .type = F_ENUM,
     .flags = FIELD_NOT_NULL,
     .enum_values = COMPLAINT_CHANNELS},
    {.name = "first_response_due_at", .flags = FIELD_READONLY},
    {.name = "resolution_due_at", .flags = FIELD_READONLY},
    {.name = "first_responded_at", .flags = FIELD_READONLY},
    {.name = "resolved_at", .flags = FIELD_READONLY},
    {.name = "closed_at", .flags = FIELD_READONLY},
    {.name = "sla", .flags = FIELD_READONLY},
    {.name = "resolution", .type = F_STRING, .min = 1, .max = 5000},
    {.name = "root_cause", .type = F_STRING, .max = 2000},
    {.name = "compensation", .type = F_MONEY},
    {.name = "escalation_level", .flags = FIELD_READONLY},
    {.name = "reopen_count", .flags = FIELD_READONLY},
    {.name = "customer_satisfaction", .flags = FIELD_READONLY},
    {.name = "interaction_id", .type = F_UUID},
    {.name = "tags", .type = F_STRING_ARRAY, .max = 50, .item_max = 64},
    {.name = "version", .flags = FIELD_READONLY},
    {.name = "created_at", .flags = FIELD_READONLY},
    {.name = "updated_at", .flags = FIELD_READONLY},
    {0}};

static const struct field_spec TRANSITION_FIELDS[] = {
    {.name = "to", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = STATUSES},
    {.name = "note", .type = F_STRING, .min = 1, .max = 5000},
    {.name = "resolution", .type = F_STRING, .min = 1, .max = 5000},
    {0}};

static const struct field_spec ESCALATION_FIELDS[] = {
    {.name = "reason", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 5000}, {0}};

static const char *const CLOCKS[] = {"24x7", "business_hours", NULL};

static const struct field_spec SLA_FIELDS[] = {
    {.name = "first_response_hours",
     .type = F_NUMBER,
     .flags = FIELD_REQUIRED,
     .min = 0,
     .max = 8760},
    {.name = "resolution_hours", .type = F_NUMBER, .flags = FIELD_REQUIRED, .min = 0, .max = 8760},
    {.name = "follow_up_after_hours",
     .type = F_NUMBER,
     .flags = FIELD_REQUIRED,
     .min = 0,
     .max = 8760},
    {.name = "clock", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = CLOCKS},
    {0}};

/* created_at of a historical import (admins), else now; deadlines count from it. */
#define CREATED_AT                                                                                 \
    "coalesce(date_trunc('milliseconds', (j->>'created_at')::timestamptz), csrd_now())"
#define DEADLINE(hours) "csrd_sla_deadline(" CREATED_AT ", p." hours ", p.clock)"

/* The open-deadline half of "breached" is clock-dependent; the partial indexes in schema/
 * serve each branch. */
#define BREACHED                                                                                   \
    "(c.breached_late OR (c.first_responded_at IS NULL AND c.status = 'new'"                       \
    " AND c.first_response_due_at < now()) OR (c.resolved_at IS NULL"                              \
    " AND c.status IN ('new', 'acknowledged', 'in_progress') AND c.resolution_due_at < now()))"

/* Filters $1..$8, keyset $9 $10, limit $11. */
#define COMPLAINT_FILTERS                                                                          \
    " WHERE ($1::text IS NULL OR c.status = ANY (string_to_array($1, ',')))"                       \
    " AND ($2::text IS NULL OR c.severity = ANY (string_to_array($2, ',')))" OTHER_FILTERS
#define OTHER_FILTERS                                                                              \
    " AND ($3::text IS NULL OR c.category = ANY (string_to_array($3, ',')))"                       \
    " AND ($4::text IS NULL OR c.assignee = $4)"                                                   \
    " AND ($5::uuid IS NULL OR c.customer_id = $5)"                                                \
    " AND ($6::text IS NULL OR c.number = $6)"                                                     \
    " AND ($7::timestamptz IS NULL OR c.created_at >= $7)"                                         \
    " AND ($8::timestamptz IS NULL OR c.created_at < $8)"

#define LO_ASC                                                                                     \
    "coalesce($9::timestamptz, '-infinity'), coalesce($10::uuid, "                                 \
    "'00000000-0000-0000-0000-000000000000')"
#define LO_DESC                                                                                    \
    "coalesce($9::timestamptz, 'infinity'), coalesce($10::uuid, "                                  \
    "'ffffffff-ffff-ffff-ffff-ffffffffffff')"
#define COMPLAINT_LIST(name, extra, key, cmp, lo, dir)                                             \
    {                                                                                              \
        name, "SELECT complaint_json(c)::text, c." key                                             \
              "::text, c.id FROM complaints c" COMPLAINT_FILTERS extra " AND (c." key              \
              ", c.id) " cmp " (" lo ")"                                                           \
              " ORDER BY c." key " " dir ", c.id " dir " LIMIT $11"                                \
    }
/* A work queue: one status and one severity ($1, $2), newest or oldest first. The lists'
 * "($1 IS NULL OR ... = ANY (...))" cannot use complaints_status_idx (status, severity,
 * created_at, id) for the order in a generic plan, which then walks the created_at index and
 * filters (1.2-1.6 ms for a page of in_progress/high out of 100,000; 150 ms out of 1,000,000
 * with few open); with equalities and no other filter the page is read straight off the
 * index. It runs in csrd_complaint_queue (schema/013), which keeps one plan per connection
 * instead of planning every page anew. Other filters ($3..$8) must be absent (the handler
 * checks). */
#define COMPLAINT_QUEUE(name, desc)                                                                \
    {                                                                                              \
        name, "SELECT q.json, q.created_at, q.id FROM csrd_complaint_queue($1, $2,"                \
              " $9::timestamptz, $10::uuid, $11::int, " desc ") q WHERE $3::text IS NULL"          \
              " AND $4::text IS NULL AND $5::uuid IS NULL AND $6::text IS NULL"                    \
              " AND $7::timestamptz IS NULL AND $8::timestamptz IS NULL"                           \
    }
#define COMPLAINT_LISTS(prefix, extra)                                                             \
    COMPLAINT_LIST(prefix "created_at_asc", extra, "created_at", ">", LO_ASC, "ASC"),              \
        COMPLAINT_LIST(prefix "created_at_desc", extra, "created_at", "<", LO_DESC, "DESC"),       \
        COMPLAINT_LIST(prefix "updated_at_asc", extra, "updated_at", ">", LO_ASC, "ASC"),          \
        COMPLAINT_LIST(prefix "updated_at_desc", extra, "updated_at", "<", LO_DESC, "DESC"),       \
    {                                                                                              \
        prefix "count", "SELECT count(*) FROM complaints c" COMPLAINT_FILTERS extra                \
                        " AND $9::text IS NULL AND $10::uuid IS NULL AND $11::int IS NULL"         \
    }

// clang-format off
const struct db_stmt complaints_statements[] = {
    {"complaints_insert",
     "WITH c AS (INSERT INTO complaints (id, customer_id, channel, category, severity, subject,"
     " description, desired_outcome, assignee, response_channel, first_response_due_at,"
     " resolution_due_at, resolution, root_cause, compensation_amount, compensation_currency,"
     " interaction_id, tags, created_at, updated_at)"
     " SELECT $1::uuid, (j->>'customer_id')::uuid, j->>'channel', j->>'category', p.severity,"
     " j->>'subject', j->>'description', j->>'desired_outcome', j->>'assignee',"
     " coalesce(j->>'response_channel', j->>'channel'),"
     " " DEADLINE("first_response_hours") ", " DEADLINE("resolution_hours") ","
     " j->>'resolution', j->>'root_cause', (j->'compensation'->>'amount')::numeric,"
     " j->'compensation'->>'currency', (j->>'interaction_id')::uuid, csrd_text_array(j->'tags'),"
     " " CREATED_AT ", " CREATED_AT
     " FROM (SELECT $2::jsonb AS j) s JOIN sla_policies p"
     " ON p.severity = coalesce(s.j->>'severity', 'medium')"
     " RETURNING complaint_json(complaints)::text AS json, version, id, customer_id, status,"
     " created_at),"
     " e AS (INSERT INTO complaint_events (id, complaint_id, customer_id, type, to_value, actor,"
     " actor_role, at) SELECT $3::uuid, c.id, c.customer_id, 'created', c.status, $4, $5,"
     " least(c.created_at, date_trunc('milliseconds', clock_timestamp())) FROM c)"
     " SELECT json, version FROM c"},
    {"complaints_get",
     "SELECT complaint_json(c)::text, c.version FROM complaints c WHERE c.id = $1", NULL,
     DB_QUICK},
    {"complaints_exists", "SELECT 1 FROM complaints WHERE id = $1"},
    /* for actions, which need the state but not the rendered record */
    {"complaints_lock_state", "SELECT NULL, c.version, c.status, c.customer_id, c.assignee,"
                              " c.resolution, c.escalation_level"
                              " FROM complaints c WHERE c.id = $1 FOR UPDATE"},
    {"complaints_lock", "SELECT complaint_json(c)::text, c.version, c.status, c.customer_id,"
                        " c.assignee, c.resolution, c.escalation_level"
                        " FROM complaints c WHERE c.id = $1 FOR UPDATE"},
    {"complaints_update",
     "UPDATE complaints c SET category = j->>'category', severity = j->>'severity',"
     " subject = j->>'subject', description = j->>'description',"
     " desired_outcome = j->>'desired_outcome', assignee = j->>'assignee',"
     " response_channel = j->>'response_channel', resolution = j->>'resolution',"
     " root_cause = j->>'root_cause', compensation_amount = "
     "(j->'compensation'->>'amount')::numeric,"
     " compensation_currency = j->'compensation'->>'currency',"
     " interaction_id = (j->>'interaction_id')::uuid, tags = csrd_text_array(j->'tags'),"
     " first_response_due_at = CASE WHEN c.severity = p.severity THEN c.first_response_due_at"
     " ELSE csrd_sla_deadline(c.created_at, p.first_response_hours, p.clock) END,"
     " resolution_due_at = CASE WHEN c.severity = p.severity THEN c.resolution_due_at"
     " ELSE csrd_sla_deadline(c.created_at, p.resolution_hours, p.clock) END,"
     " version = c.version + 1, updated_at = csrd_now()"
     " FROM (SELECT $3::jsonb AS j) s JOIN sla_policies p ON p.severity = s.j->>'severity'"
     " WHERE c.id = $1 AND c.version = $2 RETURNING complaint_json(c)::text, c.version"},
    {"complaints_transition",
     "UPDATE complaints SET status = $2,"
     " first_responded_at = CASE WHEN status = 'new' THEN csrd_now() ELSE first_responded_at END,"
     " resolved_at = CASE WHEN $2 = 'resolved' THEN csrd_now() WHEN $2 = 'in_progress'"
     " THEN NULL ELSE resolved_at END,"
     " rejected_at = CASE WHEN $2 = 'rejected' THEN csrd_now() WHEN $2 = 'in_progress'"
     " THEN NULL ELSE rejected_at END,"
     " closed_at = CASE WHEN $2 = 'closed' THEN csrd_now() WHEN $2 = 'in_progress'"
     " THEN NULL ELSE closed_at END,"
     " reopen_count = reopen_count + CASE WHEN $2 = 'in_progress'"
     " AND status IN ('resolved', 'rejected', 'closed') THEN 1 ELSE 0 END,"
     " resolution = coalesce($3, resolution), version = version + 1, updated_at = csrd_now()"
     " WHERE id = $1 RETURNING complaint_json(complaints)::text, version"},
    {"complaints_allowed", "SELECT to_status, min_role FROM complaint_transitions"
                           " WHERE from_status = $1 ORDER BY to_status"},
    /* The follow-up a resolution schedules; none for customers who must not be contacted. */
    {"complaints_schedule_follow_up",
     "INSERT INTO follow_ups (id, customer_id, complaint_id, purpose, method, scheduled_at,"
     " assignee) SELECT $2::uuid, c.customer_id, c.id, 'complaint_resolution',"
     " csrd_follow_up_method(c.response_channel),"
     " csrd_now() + p.follow_up_after_hours * interval '1 hour', c.assignee"
     " FROM complaints c JOIN customers cu ON cu.id = c.customer_id"
     " JOIN sla_policies p ON p.severity = c.severity"
     " WHERE c.id = $1 AND NOT cu.do_not_contact RETURNING id, csrd_ts(scheduled_at)"},
    {"complaints_rate",
     "UPDATE complaints SET customer_satisfaction = $2::smallint, version = version + 1,"
     " updated_at = csrd_now() WHERE id = $1"},
    {"complaints_escalate",
     "UPDATE complaints SET escalation_level = escalation_level + 1, version = version + 1,"
     " updated_at = csrd_now() WHERE id = $1 RETURNING complaint_json(complaints)::text, version"},
    {"complaint_event_insert",
     "INSERT INTO complaint_events (id, complaint_id, customer_id, type, from_value, to_value,"
     " note, changes, actor, actor_role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)"},
    {"complaint_events_list",
     "SELECT complaint_event_json(e)::text, e.seq::text, e.id FROM complaint_events e"
     " WHERE e.complaint_id = $1 AND e.seq > coalesce($2::bigint, 0)"
     " AND ($3::uuid IS NULL OR true) ORDER BY e.seq LIMIT $4"},
    {"complaint_events_count", "SELECT count(*) FROM complaint_events e WHERE e.complaint_id = $1"
                               " AND $2::text IS NULL AND $3::uuid IS NULL AND $4::int IS NULL"},
    COMPLAINT_LISTS("complaints_list_", ""),
    COMPLAINT_LISTS("complaints_breached_", " AND " BREACHED),
    COMPLAINT_LISTS("complaints_kept_", " AND NOT " BREACHED),
    COMPLAINT_QUEUE("complaints_queue_asc", "false"),
    COMPLAINT_QUEUE("complaints_queue_desc", "true"),
    {"sla_policies_list",
     "SELECT sla_policy_json(p)::text FROM sla_policies p ORDER BY"
     " array_position(ARRAY['critical', 'high', 'medium', 'low'], p.severity)"},
    {"sla_policies_lock", "SELECT sla_policy_json(p)::text, p.version FROM sla_policies p"
                          " WHERE p.severity = $1 FOR UPDATE"},
    {"sla_policies_update",
     "UPDATE sla_policies SET first_response_hours = $2, resolution_hours = $3,"
     " follow_up_after_hours = $4, clock = coalesce($5, clock), version = version + 1,"
     " updated_at = csrd_now()"
     " WHERE severity = $1 RETURNING sla_policy_json(sla_policies)::text, version"},
    {NULL, NULL}};
// clang-format on

static const struct constraint_field COMPLAINT_CONSTRAINTS[] = {
    {"complaints_customer_id_fkey", "customer_id", "no customer with this id", false},
    {"complaints_interaction_id_customer_id_fkey", "interaction_id",
     "no interaction with this id belongs to this customer", false},
    {"complaints_resolved_has_resolution", "resolution",
     "cannot be removed from a resolved complaint", false},
    {"sla_policies_check", "resolution_hours", "must not be less than first_response_hours", false},
    {0}};

bool complaints_event(struct request *r, const char *complaint_id, const char *customer_id,
                      const char *type, const char *from, const char *to, const char *note,
                      const char *changes)
{
    char id[UUID_STR_LEN];
    uuid7_new(id);
    const char *params[] = {id, complaint_id, customer_id, type,        from,
                            to, note,         changes,     r->who.name, role_name(r->who.role)};
    return rdb_run(r, "complaint_event_insert", 10, params) != NULL;
}

bool complaints_lock_state(struct request *r, const char *id, struct complaint_state *st)
{
    struct db_rows *rows = rdb_run(r, "complaints_lock_state", 1, &id);
    memset(st, 0, sizeof(*st));
    if (!rows)
        return false;
    if (db_nrows(rows) == 0)
        return true;
    st->found = true;
    st->version = strtol(db_get(rows, 0, 1), NULL, 10);
    st->status = db_get(rows, 0, 2);
    st->customer_id = db_get(rows, 0, 3);
    st->assignee = db_get(rows, 0, 4);
    st->resolution = db_get(rows, 0, 5);
    st->escalation_level = strtol(db_get(rows, 0, 6), NULL, 10);
    return true;
}

struct db_rows *complaints_move(struct request *r, const char *id, const char *to,
                                const char *resolution)
{
    const char *params[] = {id, to, resolution};
    return rdb_run(r, "complaints_transition", 3, params);
}

bool complaints_rate(struct request *r, const char *id, long satisfaction)
{
    char text[24];
    snprintf(text, sizeof(text), "%ld", satisfaction);
    const char *params[] = {id, text};
    return rdb_run(r, "complaints_rate", 2, params) != NULL;
}

/* Locks the complaint named by path parameter 0 for an action: 404 when missing, 412 on a
 * stale If-Match. */
static bool lock_for_action(struct request *r, const char *id, struct complaint_state *st)
{
    if (!complaints_lock_state(r, id, st))
        return false;
    if (!st->found) {
        http_problem(r, 404, "no complaint with this id");
        return false;
    }
    return req_if_match(r, st->version);
}

static void complaints_create(struct request *r)
{
    json_t *body = req_create_body(r, COMPLAINT_FIELDS, true);
    if (!body)
        return;
    char id[UUID_STR_LEN], event[UUID_STR_LEN];
    uuid7_new(id);
    uuid7_new(event);
    char *doc = json_text(body);
    const char *params[] = {id, doc, event, r->who.name, role_name(r->who.role)};
    struct db_rows *rows = rdb_run_mapped(r, "complaints_insert", 5, params, COMPLAINT_CONSTRAINTS);
    free(doc);
    json_decref(body);
    if (rows)
        reply_returned(r, 201, rows, arena_printf(&r->arena, "/v1/complaints/%s", id));
}

static void complaints_get(struct request *r)
{
    reply_get_by_id(r, "complaints_get", "complaint");
}

/* Events for a field update: an assignment event when the assignee changed, an update event
 * with {"<field>": {"from", "to"}} for the other changed fields. */
static bool update_events(struct request *r, const char *id, const char *customer, json_t *current,
                          json_t *merged)
{
    json_t *changes = field_changes(current, merged);
    bool ok = true;
    if (json_object_get(changes, "assignee")) {
        ok = complaints_event(r, id, customer, "assignment",
                              json_string_value(json_object_get(current, "assignee")),
                              json_string_value(json_object_get(merged, "assignee")), NULL, NULL);
        json_object_del(changes, "assignee");
    }
    if (ok && json_object_size(changes)) {
        char *text = json_text(changes);
        ok = complaints_event(r, id, customer, "updated", NULL, NULL, NULL, text);
        free(text);
    }
    json_decref(changes);
    return ok;
}

static bool complaint_update_events(struct request *r, const char *id, struct db_rows *locked,
                                    json_t *before, json_t *after)
{
    return update_events(r, id, db_get(locked, 0, 3), before, after);
}

static const struct record_kind COMPLAINT = {
    .what = "complaint",
    .path = "/v1/complaints",
    .fields = COMPLAINT_FIELDS,
    .lock_stmt = "complaints_lock",
    .update_stmt = "complaints_update",
    .constraints = COMPLAINT_CONSTRAINTS,
    .after_update = complaint_update_events,
};

static void complaints_patch(struct request *r)
{
    record_patch(r, &COMPLAINT);
}

/* 409 naming the statuses reachable from `from`, or the least role (403) for `to`. */
static bool transition_allowed(struct request *r, const char *from, const char *to)
{
    struct db_rows *allowed = rdb_run(r, "complaints_allowed", 1, &from);
    if (!allowed)
        return false;
    struct strbuf list;
    strbuf_init(&list);
    for (int i = 0; i < db_nrows(allowed); i++) {
        if (!strcmp(db_get(allowed, i, 0), to)) {
            strbuf_free(&list);
            enum role need = role_parse(db_get(allowed, i, 1));
            if (r->who.role < need) {
                http_problem(r, 403,
                             arena_printf(&r->arena,
                                          "moving a complaint to %s needs the "
                                          "%s role",
                                          to, role_name(need)));
                return false;
            }
            return true;
        }
        strbuf_printf(&list, "%s%s", i ? ", " : "", db_get(allowed, i, 0));
    }
    http_problem(r, 409,
                 arena_printf(&r->arena, "a %s complaint can move to: %s", from,
                              list.buf ? list.buf : "nothing"));
    strbuf_free(&list);
    return false;
}

/* Schedules the resolution follow-up; *note tells what happened, for the resolve event, and
 * *scheduled whether there is a follow-up (none for do_not_contact customers). */
static bool schedule_follow_up(struct request *r, const char *id, const char **note,
                               bool *scheduled)
{
    char fid[UUID_STR_LEN];
    uuid7_new(fid);
    const char *params[] = {id, fid};
    struct db_rows *rows = rdb_run(r, "complaints_schedule_follow_up", 2, params);
    if (!rows)
        return false;
    *scheduled = db_nrows(rows) > 0;
    *note = *scheduled
                ? arena_printf(&r->arena, "follow-up %s scheduled for %s", fid, db_get(rows, 0, 1))
                : "no follow-up scheduled: the customer is marked do_not_contact";
    return true;
}

struct transition {
    const char *id, *to, *note, *resolution;
};

static bool transition_body(struct request *r, void *cls)
{
    const struct transition *t = cls;
    struct complaint_state st;
    if (!lock_for_action(r, t->id, &st) || !transition_allowed(r, st.status, t->to))
        return false;
    if (!strcmp(t->to, "resolved") && !t->resolution && !st.resolution) {
        http_problem_field(r, "resolution", "is required to resolve a complaint");
        return false;
    }
    if (!strcmp(t->to, "rejected") && !t->note) {
        http_problem_field(r, "note", "is required to reject a complaint (the reason)");
        return false;
    }
    struct db_rows *upd = complaints_move(r, t->id, t->to, t->resolution);
    if (!upd)
        return false;
    const char *event_note = t->note, *fu_note = NULL;
    bool scheduled = false;
    if (!strcmp(t->to, "resolved")) {
        if (!schedule_follow_up(r, t->id, &fu_note, &scheduled))
            return false;
        event_note = t->note ? arena_printf(&r->arena, "%s (%s)", t->note, fu_note) : fu_note;
    }
    const char *from = st.status;
    bool reopen =
        !strcmp(t->to, "in_progress") &&
        (!strcmp(from, "resolved") || !strcmp(from, "rejected") || !strcmp(from, "closed"));
    return complaints_event(r, t->id, st.customer_id, reopen ? "reopen" : "transition", from, t->to,
                            event_note, NULL) &&
           (!scheduled || complaints_event(r, t->id, st.customer_id, "follow_up_scheduled", NULL,
                                           NULL, fu_note, NULL)) &&
           reply_returned(r, 200, upd, NULL);
}

static void complaints_transition(struct request *r)
{
    const char *id = req_path_uuid(r, 0);
    json_t *body = id ? req_valid_body(r, TRANSITION_FIELDS) : NULL;
    if (!body)
        return;
    struct transition t = {id, json_string_value(json_object_get(body, "to")),
                           json_string_value(json_object_get(body, "note")),
                           json_string_value(json_object_get(body, "resolution"))};
    rdb_transaction(r, transition_body, &t);
    json_decref(body);
}

struct escalation {
    const char *id, *reason;
};

static bool escalation_body(struct request *r, void *cls)
{
    const struct escalation *e = cls;
    struct complaint_state st;
    struct db_rows *upd;
    if (!lock_for_action(r, e->id, &st))
        return false;
    if (st.escalation_level >= 3) {
        http_problem(r, 409, "the complaint is already at the highest escalation level (3)");
        return false;
    }
    if (!strcmp(st.status, "closed") || !strcmp(st.status, "rejected") ||
        !strcmp(st.status, "resolved")) {
        http_problem(r, 409,
                     arena_printf(&r->arena, "a %s complaint cannot be escalated", st.status));
        return false;
    }
    if (!(upd = rdb_run(r, "complaints_escalate", 1, &e->id)))
        return false;
    char from[24], to[24];
    snprintf(from, sizeof(from), "%ld", st.escalation_level);
    snprintf(to, sizeof(to), "%ld", st.escalation_level + 1);
    return complaints_event(r, e->id, st.customer_id, "escalation", from, to, e->reason, NULL) &&
           reply_returned(r, 200, upd, NULL);
}

static void complaints_escalate(struct request *r)
{
    const char *id = req_path_uuid(r, 0);
    json_t *body = id ? req_valid_body(r, ESCALATION_FIELDS) : NULL;
    if (!body)
        return;
    struct escalation e = {id, json_string_value(json_object_get(body, "reason"))};
    rdb_transaction(r, escalation_body, &e);
    json_decref(body);
}

static void complaints_events(struct request *r)
{
    static const char *const SORTS[] = {"at", NULL};
    static const char *const NONE[] = {NULL};
    const char *id = req_path_uuid(r, 0);
    struct list_params lp;
    if (!id || !list_parse(r, NONE, SORTS, "at", &lp))
        return;
    if (lp.desc) {
        http_problem(r, 400, "events are listed oldest first (sort=at)");
        return;
    }
    const char *params[4] = {id};
    run_list(r, &lp, "complaint_events_list", "complaint_events_count", 4, params,
             &(const struct list_parent){"complaints_exists", id, "complaint"});
}

static void list_complaints(struct request *r, const char *customer)
{
    static const char *const SORTS[] = {"created_at", "updated_at", NULL};
    static const char *const FILTERS[] = {
        "customer_id", "status",       "severity",      "category",       "assignee",
        "number",      "sla_breached", "created_after", "created_before", NULL};
    static const char *const STMTS[3][2][3] = {
        {{"complaints_list_created_at_asc", "complaints_list_created_at_desc"},
         {"complaints_list_updated_at_asc", "complaints_list_updated_at_desc"}},
        {{"complaints_breached_created_at_asc", "complaints_breached_created_at_desc"},
         {"complaints_breached_updated_at_asc", "complaints_breached_updated_at_desc"}},
        {{"complaints_kept_created_at_asc", "complaints_kept_created_at_desc"},
         {"complaints_kept_updated_at_asc", "complaints_kept_updated_at_desc"}}};
    static const char *const COUNTS[] = {"complaints_list_count", "complaints_breached_count",
                                         "complaints_kept_count"};
    struct list_params lp;
    bool breached = false;
    const struct query *q = &r->query;
    if (!list_parse(r, customer ? FILTERS + 1 : FILTERS, SORTS, "-created_at", &lp) ||
        !filter_uuid(r, "customer_id") || !filter_enum_list(r, "status", STATUSES) ||
        !filter_enum_list(r, "severity", SEVERITIES) ||
        !filter_enum_list(r, "category", CATEGORIES) || !filter_timestamp(r, "created_after") ||
        !filter_timestamp(r, "created_before") || !filter_bool(r, "sla_breached", &breached))
        return;
    int family = !query_get(q, "sla_breached") ? 0 : breached ? 1 : 2;
    const char *params[11] = {query_get(q, "status"),
                              query_get(q, "severity"),
                              query_get(q, "category"),
                              query_get(q, "assignee"),
                              customer ? customer : query_get(q, "customer_id"),
                              query_get(q, "number"),
                              query_get(q, "created_after"),
                              query_get(q, "created_before")};
    const char *page = STMTS[family][lp.sort][lp.desc];
    bool others = false;
    for (int i = 2; i < 8; i++)
        others = others || params[i];
    if (family == 0 && lp.sort == 0 && !others && params[0] && !strchr(params[0], ',') &&
        params[1] && !strchr(params[1], ','))
        page = lp.desc ? "complaints_queue_desc" : "complaints_queue_asc"; /* COMPLAINT_QUEUE */
    run_list(r, &lp, page, COUNTS[family], 11, params, customer ? CUSTOMER_PARENT(customer) : NULL);
}

static void complaints_list(struct request *r)
{
    list_complaints(r, NULL);
}

static void customer_complaints(struct request *r)
{
    const char *customer = req_path_uuid(r, 0);
    if (customer)
        list_complaints(r, customer);
}

static void sla_policies_list(struct request *r)
{
    struct db_rows *rows = rdb_run(r, "sla_policies_list", 0, NULL);
    if (!rows)
        return;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "{\"data\":[");
    for (int i = 0; i < db_nrows(rows); i++)
        strbuf_printf(&sb, "%s%s", i ? "," : "", db_get(rows, i, 0));
    strbuf_puts(&sb, "]}");
    size_t len;
    char *body = strbuf_take(&sb, &len);
    http_reply_raw(r, 200, "application/json", body, len);
}

static void sla_policies_put(struct request *r)
{
    const char *severity = r->params[0];
    const char *const *s = SEVERITIES;
    while (*s && strcmp(*s, severity))
        s++;
    if (!*s) {
        http_problem(r, 404, "no SLA policy for this severity (low, medium, high, critical)");
        return;
    }
    json_t *body = req_valid_body(r, SLA_FIELDS);
    if (!body)
        return;
    double first = json_number_value(json_object_get(body, "first_response_hours"));
    double resolution = json_number_value(json_object_get(body, "resolution_hours"));
    double follow = json_number_value(json_object_get(body, "follow_up_after_hours"));
    const char *clock = json_string_value(json_object_get(body, "clock"));
    json_t *errors = json_array();
    if (first <= 0)
        json_error_add(errors, "first_response_hours", "must be greater than 0");
    if (resolution < first)
        json_error_add(errors, "resolution_hours", "must not be less than first_response_hours");
    if (json_array_size(errors)) {
        http_problem_fields(r, errors);
        json_decref(body);
        return;
    }
    json_decref(errors);
    char a[32], b[32], c[32];
    snprintf(a, sizeof(a), "%.6g", first);
    snprintf(b, sizeof(b), "%.6g", resolution);
    snprintf(c, sizeof(c), "%.6g", follow);
    const char *params[] = {severity, a, b, c, clock};
    struct db_rows *upd = lock_and_run(r, "sla_policies_lock", "SLA policy", severity,
                                       "sla_policies_update", 5, params, COMPLAINT_CONSTRAINTS);
    if (upd)
        reply_returned(r, 200, upd, NULL);
    json_decref(body);
}

const struct route complaints_routes[] = {
    {M_GET, "/v1/complaints", complaints_list, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_POST, "/v1/complaints", complaints_create, ROLE_AGENT, ROUTE_IDEMPOTENT, 0},
    {M_GET, "/v1/complaints/{id}", complaints_get, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_PATCH, "/v1/complaints/{id}", complaints_patch, ROLE_AGENT, 0, 0},
    {M_POST, "/v1/complaints/{id}/transitions", complaints_transition, ROLE_AGENT, ROUTE_IDEMPOTENT,
     0},
    {M_POST, "/v1/complaints/{id}/escalations", complaints_escalate, ROLE_SUPERVISOR,
     ROUTE_IDEMPOTENT, 0},
    {M_GET, "/v1/complaints/{id}/events", complaints_events, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_GET, "/v1/customers/{id}/complaints", customer_complaints, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_GET, "/v1/sla-policies", sla_policies_list, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_PUT, "/v1/sla-policies/{severity}", sla_policies_put, ROLE_SUPERVISOR, 0, 0},
    {0, NULL, NULL, 0, 0, 0}};

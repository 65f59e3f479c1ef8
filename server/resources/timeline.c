/* The customer timeline as one keyset-paginated query: each of the four sources
 * (interactions by occurred_at, complaints by created_at, complaint events by at, follow-ups
 * by completion or else scheduled time) is read backwards from the cursor through its own
 * (customer_id, time, id) index and cut at the page size, and the union of those short runs
 * is merged and cut again. A page costs O(4 x limit) rows however long the history is. */
#include "resources/timeline.h"
#include "resources/customers.h"
#include "resources/plumbing.h"

#define BEFORE_CURSOR                                                                              \
    "(coalesce($2::timestamptz, 'infinity'), coalesce($3::uuid, "                                  \
    "'ffffffff-ffff-ffff-ffff-ffffffffffff'))"
#define ITEM(type, at, summary)                                                                    \
    "json_build_object('type', '" type "', 'at', csrd_ts(" at "), 'id', id, 'summary', " summary ")"

// clang-format off
const struct db_stmt timeline_statements[] = {
    {"timeline_page",
     "SELECT item::text, at::text, id FROM ("
     "(SELECT " ITEM("interaction", "i.occurred_at",
                     "i.direction || ' ' || i.channel || ' ' || i.purpose"
                     " || coalesce(': ' || i.subject, '')") " AS item, i.occurred_at AS at, i.id"
     " FROM interactions i WHERE i.customer_id = $1"
     " AND (i.occurred_at, i.id) < " BEFORE_CURSOR
     " ORDER BY i.occurred_at DESC, i.id DESC LIMIT $4)"
     " UNION ALL (SELECT " ITEM("complaint", "c.created_at",
                                "c.number || ' ' || c.severity || ' ' || c.category || ': '"
                                " || c.subject") ", c.created_at, c.id"
     " FROM complaints c WHERE c.customer_id = $1"
     " AND (c.created_at, c.id) < " BEFORE_CURSOR
     " ORDER BY c.created_at DESC, c.id DESC LIMIT $4)"
     " UNION ALL (SELECT " ITEM("complaint_event", "e.at",
                                "(SELECT number FROM complaints WHERE id = e.complaint_id)"
                                " || ' ' || e.type || coalesce(' ' || e.from_value, '')"
                                " || coalesce(' -> ' || e.to_value, '')"
                                " || coalesce(': ' || e.note, '')") ", e.at, e.id"
     " FROM complaint_events e WHERE e.customer_id = $1"
     " AND (e.at, e.id) < " BEFORE_CURSOR
     " ORDER BY e.at DESC, e.id DESC LIMIT $4)"
     " UNION ALL (SELECT " ITEM("follow_up", "coalesce(f.completed_at, f.scheduled_at)",
                                "f.purpose || ' follow-up by ' || f.method || ', ' || f.status"
                                " || coalesce(', satisfaction ' || f.satisfaction, '')")
     ", coalesce(f.completed_at, f.scheduled_at), f.id"
     " FROM follow_ups f WHERE f.customer_id = $1"
     " AND (coalesce(f.completed_at, f.scheduled_at), f.id) < " BEFORE_CURSOR
     " ORDER BY coalesce(f.completed_at, f.scheduled_at) DESC, f.id DESC LIMIT $4)"
     ") t ORDER BY t.at DESC, t.id DESC LIMIT $4"},
    {NULL, NULL}};
// clang-format on

static void customer_timeline(struct request *r)
{
    static const char *const SORTS[] = {"at", NULL};
    static const char *const NONE[] = {NULL};
    struct list_params lp;
    const char *customer = req_path_uuid(r, 0);
    if (!customer || !list_parse(r, NONE, SORTS, "-at", &lp))
        return;
    if (!lp.desc) {
        http_problem(r, 400, "the timeline is newest first (sort=-at)");
        return;
    }
    if (lp.count) {
        http_problem(r, 400, "count is not supported on the timeline");
        return;
    }
    const char *params[4] = {customer};
    run_list(r, &lp, "timeline_page", NULL, 4, params, CUSTOMER_PARENT(customer));
}

const struct route timeline_routes[] = {
    {M_GET, "/v1/customers/{id}/timeline", customer_timeline, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {0, NULL, NULL, 0, 0, 0}};

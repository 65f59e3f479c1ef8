/* Black-box tests of interactions, complaints (workflow, deadlines, events), SLA policies,
 * follow-ups and the customer timeline. */
#include "harness.h"
#include "util/timefmt.h"
#include <sys/wait.h>
#include <unistd.h>

#define HOUR_MS 3600000LL

static const char *customer(const char *extra)
{
    static char ids[16][40];
    static int next;
    char body[512];
    snprintf(body, sizeof(body), "{\"kind\":\"person\",\"name\":\"%s\"%s%s}", unique("rec"),
             extra ? "," : "", extra ? extra : "");
    struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(r, 201);
    char *id = ids[next++ % 16];
    snprintf(id, 40, "%s", r->json ? jstr(r->json, "id") : "");
    return id;
}

/* Creates a complaint for cust; extra ("\"k\":v,...") overrides the defaults. */
static struct resp *complaint(const char *cust, const char *extra)
{
    char more[512];
    snprintf(more, sizeof(more), "{%s}", extra ? extra : "");
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "customer_id", cust, "channel", "phone",
                             "category", "delivery", "subject", "Parcel late");
    json_t *over = json_loads(more, 0, NULL);
    CHECK(over != NULL);
    json_object_update(body, over);
    char *text = json_dumps(body, JSON_COMPACT);
    struct resp *r = req("POST", "/v1/complaints", key_for("agent"), text, NULL);
    CHECK_STATUS(r, 201);
    free(text);
    json_decref(over);
    json_decref(body);
    return r;
}

static const char *cpath(const struct resp *c, const char *suffix)
{
    static char paths[8][160];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 160, "/v1/complaints/%s%s", c->json ? jstr(c->json, "id") : "none",
             suffix ? suffix : "");
    return p;
}

static struct resp *move(const struct resp *c, const char *token, const char *body)
{
    return req("POST", cpath(c, "/transitions"), token, body, NULL);
}

static int64_t ms_of(const json_t *obj, const char *key)
{
    int64_t ms = 0;
    const char *v = jstr(obj, key);
    CHECK(v && time_rfc3339_to_ms(v, &ms));
    return ms;
}

/* The types of the complaint's events, space-separated, oldest first. */
static const char *event_types(const struct resp *c)
{
    static char out[1024];
    struct resp *r = req("GET", cpath(c, "/events?limit=500"), key_for("viewer"), NULL, NULL);
    CHECK_STATUS(r, 200);
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "data"), i, e)
    {
        strncat(out, i ? " " : "", sizeof(out) - strlen(out) - 1);
        strncat(out, jstr(e, "type"), sizeof(out) - strlen(out) - 1);
    }
    return out;
}

/* ---- interactions ------------------------------------------------------------------- */

TEST(interaction_defaults_and_field_checks)
{
    const char *cust = customer(NULL);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"visit\",\"direction\":\"outbound\","
             "\"experience_score\":3,\"duration_seconds\":600}",
             cust);
    struct resp *r = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    CHECK_STATUS(r, 201);
    CHECK_STR(jstr(r->json, "purpose"), "other");
    int64_t at = ms_of(r->json, "occurred_at");
    CHECK(llabs(at - (int64_t)time_now_ms()) < 60000);

    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"fax\",\"direction\":\"sideways\","
             "\"experience_score\":4,\"duration_seconds\":-1}",
             cust);
    r = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"channel\"") &&
          strstr(r->body, "\"field\":\"direction\"") &&
          strstr(r->body, "\"field\":\"experience_score\"") &&
          strstr(r->body, "\"field\":\"duration_seconds\""));
    r = req("POST", "/v1/interactions", key_for("agent"),
            "{\"customer_id\":\"01a20c70-293b-7304-a1e5-000000000000\",\"channel\":\"phone\","
            "\"direction\":\"inbound\"}",
            NULL);
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"customer_id\""));
}

TEST(interaction_time_may_be_past_but_not_far_future)
{
    const char *cust = customer(NULL);
    char body[512], when[48];
    time_format_ms(time_now_ms() - 30LL * 24 * HOUR_MS, when);
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"letter\",\"direction\":\"inbound\","
             "\"occurred_at\":\"%s\"}",
             cust, when);
    struct resp *r = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    CHECK_STATUS(r, 201);
    CHECK_STR(jstr(r->json, "occurred_at"), when);
    time_format_ms(time_now_ms() + 2 * 60000, when);
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"letter\",\"direction\":\"inbound\","
             "\"occurred_at\":\"%s\"}",
             cust, when);
    CHECK_STATUS(req("POST", "/v1/interactions", key_for("agent"), body, NULL), 201);
    time_format_ms(time_now_ms() + 10 * 60000, when);
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"letter\",\"direction\":\"inbound\","
             "\"occurred_at\":\"%s\"}",
             cust, when);
    r = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"occurred_at\""));
}

TEST(interaction_complaint_must_belong_to_the_customer)
{
    const char *a = customer(NULL), *b = customer(NULL);
    struct resp *c = complaint(a, NULL);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"direction\":\"inbound\","
             "\"complaint_id\":\"%s\"}",
             b, jstr(c->json, "id"));
    struct resp *r = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"complaint_id\""));
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"direction\":\"inbound\","
             "\"complaint_id\":\"%s\"}",
             a, jstr(c->json, "id"));
    CHECK_STATUS(req("POST", "/v1/interactions", key_for("agent"), body, NULL), 201);
}

/* Interactions logged at once on one worker share a statement (rdb_create); one that the
 * database refuses (no such customer, a complaint of another customer) fails alone. */
TEST(concurrent_interactions_are_combined_and_a_refused_one_fails_alone)
{
    const char *envs[] = {"CSRD_THREADS=1", NULL};
    server_stop();
    server_start(envs);
    const char *cust = customer(NULL), *other = customer(NULL);
    struct resp *foreign = complaint(other, NULL);
    enum { N = 30, NO_CUSTOMER = 7, WRONG_COMPLAINT = 19 };
    const char *subject = unique("call");
    char bodies[N][400];
    const char *b[N], *tokens[N];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            if (round == 1 && i == NO_CUSTOMER)
                snprintf(bodies[i], sizeof(bodies[i]),
                         "{\"customer_id\":\"01a20c70-293b-7304-a1e5-000000000000\","
                         "\"channel\":\"phone\",\"direction\":\"inbound\",\"subject\":\"%s\"}",
                         subject);
            else if (round == 1 && i == WRONG_COMPLAINT)
                snprintf(bodies[i], sizeof(bodies[i]),
                         "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"direction\":\"inbound\","
                         "\"subject\":\"%s\",\"complaint_id\":\"%s\"}",
                         cust, subject, jstr(foreign->json, "id"));
            else
                snprintf(bodies[i], sizeof(bodies[i]),
                         "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"direction\":\"inbound\","
                         "\"subject\":\"%s\",\"body\":\"round %d call %d\"}",
                         cust, subject, round, i);
            b[i] = bodies[i];
            tokens[i] = key_for("agent");
        }
        struct resp *out[N];
        req_parallel_bodies("POST", "/v1/interactions", b, tokens, N, out);
        for (int i = 0; i < N; i++) {
            if (round == 1 && (i == NO_CUSTOMER || i == WRONG_COMPLAINT)) {
                CHECK_STATUS(out[i], 422);
                CHECK(out[i]->body &&
                      strstr(out[i]->body, i == NO_CUSTOMER ? "\"field\":\"customer_id\""
                                                            : "\"field\":\"complaint_id\""));
                continue;
            }
            CHECK_STATUS(out[i], 201);
            char text[64];
            snprintf(text, sizeof(text), "round %d call %d", round, i);
            CHECK_STR(jstr(out[i]->json, "body"), text);
            CHECK_STR(jstr(out[i]->json, "customer_id"), cust);
        }
        if (round == 0) /* fewer transactions than records: they were combined */
            CHECK(atoi(db_scalar("SELECT count(DISTINCT xmin::text) FROM interactions"
                                 " WHERE subject = $1",
                                 subject)) < N);
    }
    CHECK_STR(db_scalar("SELECT count(*) FROM interactions WHERE subject = $1", subject), "58");
    server_stop();
    server_start(NULL);
}

TEST(interaction_patch_delete_and_customer_list)
{
    const char *cust = customer(NULL);
    char body[256], path[128], list[160];
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"chat\",\"direction\":\"inbound\"}", cust);
    struct resp *r = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    snprintf(path, sizeof(path), "/v1/interactions/%s", jstr(r->json, "id"));
    struct resp *p = req("PATCH", path, key_for("agent"), "{\"outcome\":\"answered\"}", NULL);
    CHECK_STATUS(p, 200);
    CHECK_STR(jstr(p->json, "outcome"), "answered");
    snprintf(body, sizeof(body), "{\"customer_id\":\"%s\"}", customer(NULL));
    p = req("PATCH", path, key_for("agent"), body, NULL);
    CHECK_STATUS(p, 422);
    snprintf(list, sizeof(list), "/v1/customers/%s/interactions", cust);
    CHECK_INT(json_array_size(
                  json_object_get(req("GET", list, key_for("viewer"), NULL, NULL)->json, "data")),
              1);
    CHECK_STATUS(req("GET", "/v1/customers/01a20c70-293b-7304-a1e5-000000000000/interactions",
                     key_for("viewer"), NULL, NULL),
                 404);
    CHECK_STATUS(req("DELETE", path, key_for("agent"), NULL, NULL), 403);
    /* while a complaint refers to it, it cannot be deleted */
    char extra[128];
    snprintf(extra, sizeof(extra), "\"interaction_id\":\"%s\"", strrchr(path, '/') + 1);
    complaint(cust, extra);
    struct resp *conflict = req("DELETE", path, key_for("supervisor"), NULL, NULL);
    CHECK_STATUS(conflict, 409);
    CHECK(conflict->body && strstr(conflict->body, "referenced by a complaint"));
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"chat\",\"direction\":\"inbound\"}", cust);
    r = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    snprintf(path, sizeof(path), "/v1/interactions/%s", jstr(r->json, "id"));
    CHECK_STATUS(req("DELETE", path, key_for("supervisor"), NULL, NULL), 204);
    CHECK_STATUS(req("GET", path, key_for("viewer"), NULL, NULL), 404);
}

/* ---- complaints ---------------------------------------------------------------------- */

TEST(complaint_numbers_are_unique_under_concurrency)
{
    const char *cust = customer(NULL);
    enum { KIDS = 4, EACH = 5 };
    pid_t kids[KIDS];
    for (int i = 0; i < KIDS; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            harness_after_fork();
            int bad = 0;
            for (int j = 0; j < EACH; j++) {
                char body[256];
                snprintf(body, sizeof(body),
                         "{\"customer_id\":\"%s\",\"channel\":\"web\",\"category\":\"billing\","
                         "\"subject\":\"n\"}",
                         cust);
                bad +=
                    req_raw("POST", "/v1/complaints", ADMIN_TOKEN, body, strlen(body), NULL, false)
                        ->status != 201;
            }
            _exit(bad);
        }
    }
    for (int i = 0; i < KIDS; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    char path[160];
    snprintf(path, sizeof(path), "/v1/customers/%s/complaints?limit=500&count=exact", cust);
    struct resp *r = req("GET", path, key_for("viewer"), NULL, NULL);
    CHECK_INT(json_integer_value(json_object_get(r->json, "total")), KIDS * EACH);
    json_t *seen = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r->json, "data"), i, c)
    {
        const char *n = jstr(c, "number");
        CHECK(n && strncmp(n, "CMP-", 4) == 0 && strlen(n) >= 10);
        CHECK(!json_object_get(seen, n));
        json_object_set_new(seen, n, json_true());
    }
    json_decref(seen);
}

TEST(complaint_deadlines_follow_the_severity_policy)
{
    struct resp *c = complaint(customer(NULL), "\"severity\":\"high\",\"channel\":\"letter\"");
    int64_t created = ms_of(c->json, "created_at");
    CHECK_INT(ms_of(c->json, "first_response_due_at") - created, 4 * HOUR_MS);
    CHECK_INT(ms_of(c->json, "resolution_due_at") - created, 72 * HOUR_MS);
    CHECK_STR(jstr(c->json, "response_channel"), "letter");
    CHECK_STR(jstr(c->json, "status"), "new");
    json_t *sla = json_object_get(c->json, "sla");
    CHECK_STR(jstr(sla, "first_response"), "on_track");
    CHECK_STR(jstr(sla, "resolution"), "on_track");
    /* a new severity recomputes both deadlines from the creation time */
    struct resp *p =
        req("PATCH", cpath(c, NULL), key_for("agent"), "{\"severity\":\"critical\"}", NULL);
    CHECK_STATUS(p, 200);
    CHECK_INT(ms_of(p->json, "first_response_due_at") - created, 1 * HOUR_MS);
    CHECK_INT(ms_of(p->json, "resolution_due_at") - created, 24 * HOUR_MS);
    struct resp *d = complaint(customer(NULL), NULL); /* default medium: 24 h / 168 h */
    CHECK_STR(jstr(d->json, "severity"), "medium");
    CHECK_INT(ms_of(d->json, "resolution_due_at") - ms_of(d->json, "created_at"), 168 * HOUR_MS);
}

TEST(complaint_validation_and_read_only_status)
{
    struct resp *r =
        req("POST", "/v1/complaints", key_for("agent"),
            "{\"channel\":\"pigeon\",\"category\":\"mood\",\"severity\":\"dire\"}", NULL);
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"customer_id\"") &&
          strstr(r->body, "\"field\":\"channel\"") && strstr(r->body, "\"field\":\"category\"") &&
          strstr(r->body, "\"field\":\"severity\"") && strstr(r->body, "\"field\":\"subject\""));
    struct resp *c = complaint(customer(NULL), "\"channel\":\"referral\"");
    CHECK_STR(jstr(c->json, "channel"), "referral");
    r = req("PATCH", cpath(c, NULL), key_for("agent"), "{\"status\":\"closed\"}", NULL);
    CHECK_STATUS(r, 422);
    r = req("PATCH", cpath(c, NULL), key_for("agent"), "{\"channel\":\"email\"}", NULL);
    CHECK_STATUS(r, 422);
    CHECK_STATUS(req("PATCH", cpath(c, NULL), key_for("viewer"), "{\"assignee\":\"x\"}", NULL),
                 403);
}

TEST(workflow_refuses_illegal_moves_with_409)
{
    struct resp *c = complaint(customer(NULL), NULL);
    struct resp *r = move(c, key_for("agent"), "{\"to\":\"closed\"}");
    CHECK_STATUS(r, 409);
    CHECK(r->body && strstr(r->body, "acknowledged, in_progress, rejected"));
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"resolved\"}"), 409);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"new\"}"), 409);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"sideways\"}"), 422);
    CHECK_STATUS(move(c, key_for("viewer"), "{\"to\":\"acknowledged\"}"), 403);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"acknowledged\"}"), 200);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"acknowledged\"}"), 409);
}

TEST(resolving_needs_a_resolution_and_rejecting_a_note)
{
    struct resp *c = complaint(customer(NULL), NULL);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"in_progress\"}"), 200);
    struct resp *r = move(c, key_for("agent"), "{\"to\":\"resolved\"}");
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"resolution\""));
    r = move(c, key_for("supervisor"), "{\"to\":\"rejected\"}");
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"note\""));
    r = move(c, key_for("supervisor"), "{\"to\":\"rejected\",\"note\":\"claim is unfounded\"}");
    CHECK_STATUS(r, 200);
    CHECK_STR(jstr(r->json, "status"), "rejected");
}

TEST(agents_cannot_reject_close_escalate_or_reopen_closed)
{
    struct resp *c = complaint(customer(NULL), NULL);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"rejected\",\"note\":\"no\"}"), 403);
    CHECK_STATUS(
        req("POST", cpath(c, "/escalations"), key_for("agent"), "{\"reason\":\"x\"}", NULL), 403);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"in_progress\"}"), 200);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"resolved\",\"resolution\":\"fixed\"}"), 200);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"closed\"}"), 403);
    CHECK_STATUS(move(c, key_for("supervisor"), "{\"to\":\"closed\"}"), 200);
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"in_progress\"}"), 403);
    struct resp *r = move(c, key_for("supervisor"), "{\"to\":\"in_progress\",\"note\":\"again\"}");
    CHECK_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r->json, "reopen_count")), 1);
    CHECK(json_is_null(json_object_get(r->json, "closed_at")));
}

TEST(full_lifecycle_writes_every_event_in_order)
{
    struct resp *c = complaint(customer(NULL), "\"assignee\":\"li.na\"");
    CHECK(json_is_null(json_object_get(c->json, "first_responded_at")));
    struct resp *r = move(c, key_for("agent"), "{\"to\":\"acknowledged\",\"note\":\"called\"}");
    CHECK(jstr(r->json, "first_responded_at") != NULL);
    CHECK_STR(jstr(json_object_get(r->json, "sla"), "first_response"), "met");
    req("PATCH", cpath(c, NULL), key_for("agent"), "{\"assignee\":\"wang.wei\",\"tags\":[\"x\"]}",
        NULL);
    move(c, key_for("agent"), "{\"to\":\"in_progress\"}");
    req("POST", cpath(c, "/escalations"), key_for("supervisor"), "{\"reason\":\"VIP\"}", NULL);
    r = move(c, key_for("agent"), "{\"to\":\"resolved\",\"resolution\":\"replaced\"}");
    CHECK_STATUS(r, 200);
    CHECK(jstr(r->json, "resolved_at") != NULL);
    CHECK_STR(jstr(json_object_get(r->json, "sla"), "resolution"), "met");
    move(c, key_for("supervisor"), "{\"to\":\"closed\"}");
    CHECK_STR(event_types(c), "created transition assignment updated transition escalation "
                              "transition follow_up_scheduled transition");
    struct resp *ev = req("GET", cpath(c, "/events?limit=2"), key_for("viewer"), NULL, NULL);
    json_t *first = json_array_get(json_object_get(ev->json, "data"), 0);
    CHECK_STR(jstr(first, "type"), "created");
    CHECK_STR(jstr(first, "actor_role"), "agent");
    CHECK(jstr(ev->json, "next_cursor") != NULL);
    json_t *assign = json_array_get(json_object_get(ev->json, "data"), 1);
    CHECK_STR(jstr(assign, "from"), "new");
}

TEST(resolution_schedules_a_follow_up)
{
    struct resp *c = complaint(customer(NULL),
                               "\"channel\":\"email\",\"assignee\":\"zhou\",\"severity\":\"high\"");
    move(c, key_for("agent"), "{\"to\":\"in_progress\"}");
    struct resp *r = move(c, key_for("agent"), "{\"to\":\"resolved\",\"resolution\":\"refund\"}");
    CHECK_STATUS(r, 200);
    char path[160];
    snprintf(path, sizeof(path), "/v1/follow-ups?complaint_id=%s", jstr(c->json, "id"));
    struct resp *f = req("GET", path, key_for("viewer"), NULL, NULL);
    CHECK_INT(json_array_size(json_object_get(f->json, "data")), 1);
    json_t *fu = json_array_get(json_object_get(f->json, "data"), 0);
    CHECK_STR(jstr(fu, "purpose"), "complaint_resolution");
    CHECK_STR(jstr(fu, "method"), "email");
    CHECK_STR(jstr(fu, "assignee"), "zhou");
    CHECK_STR(jstr(fu, "status"), "scheduled");
    CHECK_INT(ms_of(fu, "scheduled_at") - ms_of(r->json, "resolved_at"), 24 * HOUR_MS);
}

TEST(do_not_contact_customer_gets_no_follow_up)
{
    const char *cust = customer("\"do_not_contact\":true");
    struct resp *c = complaint(cust, NULL);
    move(c, key_for("agent"), "{\"to\":\"in_progress\"}");
    CHECK_STATUS(move(c, key_for("agent"), "{\"to\":\"resolved\",\"resolution\":\"done\"}"), 200);
    char path[160];
    snprintf(path, sizeof(path), "/v1/follow-ups?complaint_id=%s", jstr(c->json, "id"));
    CHECK_INT(page_size(path, ADMIN_TOKEN), 0);
    struct resp *ev = req("GET", cpath(c, "/events"), ADMIN_TOKEN, NULL, NULL);
    CHECK(ev->body && strstr(ev->body, "do_not_contact"));
    char body[256];
    snprintf(
        body, sizeof(body),
        "{\"customer_id\":\"%s\",\"method\":\"phone\",\"scheduled_at\":\"2030-01-01T09:00:00Z\"}",
        cust);
    struct resp *f = req("POST", "/v1/follow-ups", key_for("agent"), body, NULL);
    CHECK_STATUS(f, 422);
    CHECK(f->body && strstr(f->body, "do_not_contact"));
}

TEST(escalation_stops_at_level_three)
{
    struct resp *c = complaint(customer(NULL), NULL);
    for (int i = 1; i <= 3; i++) {
        struct resp *r = req("POST", cpath(c, "/escalations"), key_for("supervisor"),
                             "{\"reason\":\"louder\"}", NULL);
        CHECK_STATUS(r, 200);
        CHECK_INT(json_integer_value(json_object_get(r->json, "escalation_level")), i);
    }
    CHECK_STATUS(req("POST", cpath(c, "/escalations"), key_for("supervisor"),
                     "{\"reason\":\"louder\"}", NULL),
                 409);
    CHECK_STATUS(req("POST", cpath(c, "/escalations"), key_for("supervisor"), "{}", NULL), 422);
}

TEST(transition_honours_if_match)
{
    struct resp *c = complaint(customer(NULL), NULL);
    const char *stale[] = {"If-Match: \"5\"", NULL};
    CHECK_STATUS(
        req("POST", cpath(c, "/transitions"), key_for("agent"), "{\"to\":\"acknowledged\"}", stale),
        412);
    const char *fresh[] = {"If-Match: \"1\"", NULL};
    CHECK_STATUS(
        req("POST", cpath(c, "/transitions"), key_for("agent"), "{\"to\":\"acknowledged\"}", fresh),
        200);
    /* escalations too: the complaint is now at version 2 */
    CHECK_STATUS(
        req("POST", cpath(c, "/escalations"), key_for("supervisor"), "{\"reason\":\"x\"}", fresh),
        412);
    const char *v2[] = {"If-Match: \"2\"", NULL};
    CHECK_STATUS(
        req("POST", cpath(c, "/escalations"), key_for("supervisor"), "{\"reason\":\"x\"}", v2),
        200);
    /* and complaints are never deleted */
    struct resp *d = req("DELETE", cpath(c, NULL), ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(d, 405);
    CHECK(resp_header(d, "Allow") && !strstr(resp_header(d, "Allow"), "DELETE"));
}

TEST(racing_transitions_from_one_state_only_one_wins)
{
    struct resp *c = complaint(customer(NULL), NULL);
    const char *path = cpath(c, "/transitions");
    enum { N = 6 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            harness_after_fork();
            const char *body = "{\"to\":\"acknowledged\"}";
            struct resp *r = req_raw("POST", path, ADMIN_TOKEN, body, strlen(body), NULL, false);
            _exit(r->status == 200 ? 0 : r->status == 409 ? 1 : 2);
        }
    }
    int wins = 0, conflicts = 0;
    for (int i = 0; i < N; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        wins += WIFEXITED(st) && WEXITSTATUS(st) == 0;
        conflicts += WIFEXITED(st) && WEXITSTATUS(st) == 1;
    }
    CHECK_INT(wins, 1);
    CHECK_INT(conflicts, N - 1);
    CHECK_STR(event_types(c), "created transition");
}

TEST(sla_policies_shape_deadlines_and_breaches)
{
    struct resp *g = req("GET", "/v1/sla-policies", key_for("viewer"), NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK_INT(json_array_size(json_object_get(g->json, "data")), 4);
    CHECK_STATUS(req("PUT", "/v1/sla-policies/low", key_for("agent"),
                     "{\"first_response_hours\":1,\"resolution_hours\":2,"
                     "\"follow_up_after_hours\":1}",
                     NULL),
                 403);
    struct resp *bad = req("PUT", "/v1/sla-policies/low", key_for("supervisor"),
                           "{\"first_response_hours\":5,\"resolution_hours\":2}", NULL);
    CHECK_STATUS(bad, 422);
    CHECK(bad->body && strstr(bad->body, "\"field\":\"follow_up_after_hours\""));
    bad = req("PUT", "/v1/sla-policies/low", key_for("supervisor"),
              "{\"first_response_hours\":5,\"resolution_hours\":2,\"follow_up_after_hours\":1}",
              NULL);
    CHECK_STATUS(bad, 422);
    CHECK(bad->body && strstr(bad->body, "\"field\":\"resolution_hours\""));
    CHECK_STATUS(req("PUT", "/v1/sla-policies/urgent", key_for("supervisor"),
                     "{\"first_response_hours\":1,\"resolution_hours\":2,"
                     "\"follow_up_after_hours\":1}",
                     NULL),
                 404);
    /* 'low' gets a deadline 0.36 s away; only this test uses low complaints */
    struct resp *p = req("PUT", "/v1/sla-policies/low", key_for("supervisor"),
                         "{\"first_response_hours\":0.0001,\"resolution_hours\":0.0001,"
                         "\"follow_up_after_hours\":0}",
                         NULL);
    CHECK_STATUS(p, 200);
    const char *cust = customer(NULL);
    struct resp *c = complaint(cust, "\"severity\":\"low\"");
    struct resp *ok = complaint(cust, "\"severity\":\"medium\"");
    usleep(800000);
    struct resp *now = req("GET", cpath(c, NULL), ADMIN_TOKEN, NULL, NULL);
    CHECK_STR(jstr(json_object_get(now->json, "sla"), "first_response"), "breached");
    char path[200];
    snprintf(path, sizeof(path), "/v1/customers/%s/complaints?sla_breached=true", cust);
    struct resp *list = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_INT(json_array_size(json_object_get(list->json, "data")), 1);
    CHECK_STR(jstr(json_array_get(json_object_get(list->json, "data"), 0), "id"),
              jstr(c->json, "id"));
    snprintf(path, sizeof(path), "/v1/complaints?customer_id=%s&sla_breached=false", cust);
    list = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_INT(json_array_size(json_object_get(list->json, "data")), 1);
    CHECK_STR(jstr(json_array_get(json_object_get(list->json, "data"), 0), "id"),
              jstr(ok->json, "id"));
    /* a late first response stays breached once it happens */
    struct resp *m = move(c, key_for("agent"), "{\"to\":\"in_progress\"}");
    CHECK_STR(jstr(json_object_get(m->json, "sla"), "first_response"), "breached");
    CHECK_STATUS(req("PUT", "/v1/sla-policies/low", key_for("supervisor"),
                     "{\"first_response_hours\":48,\"resolution_hours\":336,"
                     "\"follow_up_after_hours\":24}",
                     NULL),
                 200);
}

TEST(complaint_list_filters)
{
    const char *cust = customer(NULL);
    complaint(cust, "\"severity\":\"high\",\"category\":\"billing\",\"assignee\":\"qa\"");
    struct resp *b = complaint(cust, "\"severity\":\"critical\"");
    move(b, key_for("agent"), "{\"to\":\"in_progress\"}");
    char path[256];
    snprintf(path, sizeof(path), "/v1/complaints?customer_id=%s&status=in_progress", cust);
    CHECK_INT(page_size(path, ADMIN_TOKEN), 1);
    snprintf(path, sizeof(path), "/v1/complaints?customer_id=%s&status=new,in_progress", cust);
    CHECK_INT(page_size(path, ADMIN_TOKEN), 2);
    snprintf(path, sizeof(path),
             "/v1/complaints?customer_id=%s&severity=high&category=billing"
             "&assignee=qa",
             cust);
    CHECK_INT(page_size(path, ADMIN_TOKEN), 1);
    snprintf(path, sizeof(path), "/v1/complaints?number=%s", jstr(b->json, "number"));
    CHECK_INT(page_size(path, ADMIN_TOKEN), 1);
    CHECK_STATUS(req("GET", "/v1/complaints?status=open", ADMIN_TOKEN, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/complaints?sla_breached=maybe", ADMIN_TOKEN, NULL, NULL), 400);
}

/* Pages of one status and one severity, newest first, with cursors and count. */
TEST(a_status_and_severity_list_pages_in_order)
{
    const char *cust = customer(NULL);
    char ids[3][40];
    for (int i = 0; i < 3; i++) {
        struct resp *c = complaint(cust, "\"severity\":\"high\"");
        move(c, key_for("agent"), "{\"to\":\"in_progress\"}");
        snprintf(ids[i], sizeof(ids[i]), "%s", jstr(c->json, "id") ? jstr(c->json, "id") : "");
    }
    move(complaint(cust, "\"severity\":\"low\""), key_for("agent"), "{\"to\":\"in_progress\"}");
    complaint(cust, "\"severity\":\"high\"");
    char path[256];
    snprintf(path, sizeof(path),
             "/v1/complaints?customer_id=%s&status=in_progress&severity=high&limit=2&count=exact",
             cust);
    struct resp *p1 = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(p1, 200);
    json_t *d1 = json_object_get(p1->json, "data");
    CHECK_INT(json_array_size(d1), 2);
    CHECK_INT(json_integer_value(json_object_get(p1->json, "total")), 3);
    CHECK_STR(jstr(json_array_get(d1, 0), "id"), ids[2]); /* newest first */
    CHECK_STR(jstr(json_array_get(d1, 1), "id"), ids[1]);
    const char *cursor = jstr(p1->json, "next_cursor");
    CHECK(cursor != NULL);
    snprintf(path, sizeof(path),
             "/v1/complaints?customer_id=%s&status=in_progress&severity=high&limit=2&cursor=%s",
             cust, cursor ? cursor : "");
    struct resp *p2 = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(p2, 200);
    json_t *d2 = json_object_get(p2->json, "data");
    CHECK_INT(json_array_size(d2), 1);
    CHECK_STR(jstr(json_array_get(d2, 0), "id"), ids[0]);
    CHECK(json_is_null(json_object_get(p2->json, "next_cursor")));
    snprintf(path, sizeof(path),
             "/v1/complaints?customer_id=%s&status=in_progress&severity=high&sort=created_at",
             cust);
    struct resp *asc = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    json_t *d3 = json_object_get(asc->json, "data");
    CHECK_INT(json_array_size(d3), 3);
    CHECK_STR(jstr(json_array_get(d3, 0), "id"), ids[0]);
    CHECK_STR(jstr(json_array_get(d3, 2), "id"), ids[2]);
    for (size_t i = 0; i < json_array_size(d3); i++) {
        CHECK_STR(jstr(json_array_get(d3, i), "status"), "in_progress");
        CHECK_STR(jstr(json_array_get(d3, i), "severity"), "high");
    }
}

/* status + severity alone is a work queue with a statement of its own (complaints_queue_*):
 * it answers what the general list statement answers ("in_progress,in_progress" takes that
 * one). Other tests write meanwhile, so a differing pair is asked again (three tries). */
TEST(a_work_queue_answers_what_the_general_list_answers)
{
    const char *cust = customer(NULL);
    for (int i = 0; i < 3; i++)
        move(complaint(cust, "\"severity\":\"high\""), key_for("agent"),
             "{\"to\":\"in_progress\"}");
    const char *const sorts[] = {"created_at", "-created_at", NULL};
    for (const char *const *s = sorts; *s; s++) {
        bool same = false;
        for (int attempt = 0; attempt < 3 && !same; attempt++) {
            char a[200], b[200];
            snprintf(a, sizeof(a),
                     "/v1/complaints?status=in_progress&severity=high&sort=%s&limit=7", *s);
            snprintf(b, sizeof(b),
                     "/v1/complaints?status=in_progress,in_progress&severity=high&sort=%s&limit=7",
                     *s);
            struct resp *ra = req("GET", a, ADMIN_TOKEN, NULL, NULL),
                        *rb = req("GET", b, ADMIN_TOKEN, NULL, NULL);
            CHECK_STATUS(ra, 200);
            json_t *da = json_object_get(ra->json, "data"), *db = json_object_get(rb->json, "data");
            same = json_array_size(da) >= 3 && json_array_size(da) == json_array_size(db);
            for (size_t i = 0; same && i < json_array_size(da); i++)
                same =
                    !strcmp(jstr(json_array_get(da, i), "id"), jstr(json_array_get(db, i), "id")) &&
                    !strcmp(jstr(json_array_get(da, i), "status"), "in_progress") &&
                    !strcmp(jstr(json_array_get(da, i), "severity"), "high");
        }
        CHECK(same);
    }
}

/* ---- follow-ups ---------------------------------------------------------------------- */

/* A resolved complaint and its scheduled follow-up's path. */
static struct resp *resolved_complaint(char *fu_path, size_t n)
{
    struct resp *c = complaint(customer(NULL), NULL);
    move(c, key_for("agent"), "{\"to\":\"in_progress\"}");
    move(c, key_for("agent"), "{\"to\":\"resolved\",\"resolution\":\"fixed\"}");
    char path[160];
    snprintf(path, sizeof(path), "/v1/follow-ups?complaint_id=%s", jstr(c->json, "id"));
    struct resp *f = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    snprintf(fu_path, n, "/v1/follow-ups/%s",
             jstr(json_array_get(json_object_get(f->json, "data"), 0), "id"));
    return c;
}

static const char *status_of(const struct resp *c)
{
    static char s[32];
    struct resp *r = req("GET", cpath(c, NULL), ADMIN_TOKEN, NULL, NULL);
    snprintf(s, sizeof(s), "%s", jstr(r->json, "status"));
    return s;
}

/* The plain reads: an interaction by id and in the cross-customer list, a follow-up by id,
 * each as written, with the write's ETag. */
TEST(interactions_and_follow_ups_are_read_back_by_id_and_listed)
{
    const char *cust = customer(NULL);
    char body[256], path[160], list[200];
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"email\",\"direction\":\"outbound\","
             "\"purpose\":\"support\",\"subject\":\"Read me back\"}",
             cust);
    struct resp *c = req("POST", "/v1/interactions", key_for("agent"), body, NULL);
    CHECK_STATUS(c, 201);
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", resp_header(c, "ETag") ? resp_header(c, "ETag") : "-");
    snprintf(path, sizeof(path), "/v1/interactions/%s", jstr(c->json, "id"));
    struct resp *g = req("GET", path, key_for("viewer"), NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK_STR(jstr(g->json, "subject"), "Read me back");
    CHECK_STR(jstr(g->json, "customer_id"), cust);
    CHECK_STR(jstr(g->json, "channel"), "email");
    CHECK_STR(resp_header(g, "ETag"), etag);
    snprintf(list, sizeof(list), "/v1/interactions?customer_id=%s&channel=email", cust);
    struct resp *l = req("GET", list, key_for("viewer"), NULL, NULL);
    CHECK_STATUS(l, 200);
    json_t *data = json_object_get(l->json, "data");
    CHECK_INT((long)json_array_size(data), 1);
    CHECK_STR(jstr(json_array_get(data, 0), "id"), jstr(c->json, "id"));
    snprintf(list, sizeof(list), "/v1/interactions?customer_id=%s&channel=phone", cust);
    CHECK_INT((long)json_array_size(
                  json_object_get(req("GET", list, key_for("viewer"), NULL, NULL)->json, "data")),
              0);

    char fu[128];
    struct resp *complaint_of = resolved_complaint(fu, sizeof(fu));
    struct resp *f = req("GET", fu, key_for("viewer"), NULL, NULL);
    CHECK_STATUS(f, 200);
    CHECK_STR(jstr(f->json, "status"), "scheduled");
    CHECK_STR(jstr(f->json, "complaint_id"), jstr(complaint_of->json, "id"));
    CHECK(resp_header(f, "ETag") != NULL);
    CHECK_STATUS(req("GET", "/v1/follow-ups/01a20c70-293b-7304-a1e5-000000000000",
                     key_for("viewer"), NULL, NULL),
                 404);
}

TEST(dissatisfied_answer_reopens_the_complaint)
{
    char fu[128], path[160];
    struct resp *c = resolved_complaint(fu, sizeof(fu));
    snprintf(path, sizeof(path), "%s/completion", fu);
    struct resp *r = req("POST", path, key_for("agent"),
                         "{\"satisfaction\":4,\"nps\":9,\"issue_resolved\":false}", NULL);
    CHECK_STATUS(r, 200);
    CHECK_STR(jstr(r->json, "status"), "completed");
    CHECK_STR(status_of(c), "in_progress");
    struct resp *g = req("GET", cpath(c, NULL), ADMIN_TOKEN, NULL, NULL);
    CHECK_INT(json_integer_value(json_object_get(g->json, "reopen_count")), 1);
    CHECK_INT(json_integer_value(json_object_get(g->json, "customer_satisfaction")), 4);
    CHECK(strstr(event_types(c), "follow_up_completed reopen") != NULL);
}

TEST(low_score_reopens_high_score_closes_three_stays)
{
    char fu[128], path[160];
    struct resp *c = resolved_complaint(fu, sizeof(fu));
    snprintf(path, sizeof(path), "%s/completion", fu);
    CHECK_STATUS(
        req("POST", path, key_for("agent"), "{\"satisfaction\":2,\"issue_resolved\":true}", NULL),
        200);
    CHECK_STR(status_of(c), "in_progress");

    c = resolved_complaint(fu, sizeof(fu));
    snprintf(path, sizeof(path), "%s/completion", fu);
    CHECK_STATUS(
        req("POST", path, key_for("agent"),
            "{\"satisfaction\":5,\"nps\":10,\"issue_resolved\":true,\"comment\":\"great\"}", NULL),
        200);
    CHECK_STR(status_of(c), "closed");
    CHECK(strstr(event_types(c), "follow_up_completed transition") != NULL);

    c = resolved_complaint(fu, sizeof(fu));
    snprintf(path, sizeof(path), "%s/completion", fu);
    CHECK_STATUS(
        req("POST", path, key_for("agent"), "{\"satisfaction\":3,\"issue_resolved\":true}", NULL),
        200);
    CHECK_STR(status_of(c), "resolved");
    struct resp *g = req("GET", cpath(c, NULL), ADMIN_TOKEN, NULL, NULL);
    CHECK_INT(json_integer_value(json_object_get(g->json, "customer_satisfaction")), 3);
}

TEST(no_response_leaves_the_complaint_and_the_follow_up_is_done)
{
    char fu[128], path[160];
    struct resp *c = resolved_complaint(fu, sizeof(fu));
    snprintf(path, sizeof(path), "%s/completion", fu);
    struct resp *r = req("POST", path, key_for("agent"), "{\"outcome\":\"no_response\"}", NULL);
    CHECK_STATUS(r, 200);
    CHECK_STR(jstr(r->json, "status"), "no_response");
    CHECK_STR(status_of(c), "resolved");
    CHECK_STATUS(
        req("POST", path, key_for("agent"), "{\"satisfaction\":5,\"issue_resolved\":true}", NULL),
        409);
    CHECK_STATUS(req("PATCH", fu, key_for("agent"), "{\"assignee\":\"late\"}", NULL), 409);
}

TEST(completion_validation)
{
    char fu[128], path[160];
    resolved_complaint(fu, sizeof(fu));
    snprintf(path, sizeof(path), "%s/completion", fu);
    CHECK_STATUS(req("POST", path, key_for("agent"), "{\"satisfaction\":6,\"nps\":11}", NULL), 422);
    CHECK_STATUS(req("POST", path, key_for("agent"), "{\"nps\":5}", NULL), 422);
    CHECK_STATUS(req("POST", path, key_for("agent"), "{\"satisfaction\":4}", NULL), 422);
    CHECK_STATUS(req("POST", path, key_for("agent"),
                     "{\"outcome\":\"no_response\",\"satisfaction\":4}", NULL),
                 422);
    CHECK_STATUS(req("POST", path, key_for("viewer"), "{\"outcome\":\"no_response\"}", NULL), 403);
}

TEST(overdue_follow_ups_are_listed_until_done)
{
    const char *cust = customer(NULL);
    char body[256], past[48], future[48], list[200];
    time_format_ms(time_now_ms() - 2 * HOUR_MS, past);
    time_format_ms(time_now_ms() + 48 * HOUR_MS, future);
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"method\":\"phone\",\"purpose\":\"post_sale\","
             "\"scheduled_at\":\"%s\"}",
             cust, past);
    struct resp *late = req("POST", "/v1/follow-ups", key_for("agent"), body, NULL);
    CHECK_STATUS(late, 201);
    CHECK(json_is_true(json_object_get(late->json, "overdue")));
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"method\":\"visit\",\"scheduled_at\":\"%s\"}", cust, future);
    struct resp *soon = req("POST", "/v1/follow-ups", key_for("agent"), body, NULL);
    CHECK(json_is_false(json_object_get(soon->json, "overdue")));
    snprintf(list, sizeof(list), "/v1/customers/%s/follow-ups?overdue=true", cust);
    struct resp *r = req("GET", list, ADMIN_TOKEN, NULL, NULL);
    CHECK_INT(json_array_size(json_object_get(r->json, "data")), 1);
    CHECK_STR(jstr(json_array_get(json_object_get(r->json, "data"), 0), "id"),
              jstr(late->json, "id"));
    char path[160];
    snprintf(path, sizeof(path), "/v1/follow-ups/%s/cancellation", jstr(late->json, "id"));
    struct resp *x = req("POST", path, key_for("agent"), NULL, NULL);
    CHECK_STATUS(x, 200);
    CHECK_STR(jstr(x->json, "status"), "cancelled");
    CHECK_INT(page_size(list, ADMIN_TOKEN), 0);
    CHECK_STATUS(req("POST", path, key_for("agent"), NULL, NULL), 409);
    snprintf(path, sizeof(path), "/v1/follow-ups/%s", jstr(soon->json, "id"));
    struct resp *p = req("PATCH", path, key_for("agent"), "{\"assignee\":\"chen\"}", NULL);
    CHECK_STATUS(p, 200);
    CHECK_STR(jstr(p->json, "assignee"), "chen");
}

/* ---- timeline ------------------------------------------------------------------------ */

TEST(timeline_mixes_everything_newest_first)
{
    const char *cust = customer(NULL);
    char body[512], when[48];
    for (int i = 0; i < 5; i++) {
        time_format_ms(time_now_ms() - (int64_t)(i + 1) * 24 * HOUR_MS, when);
        snprintf(body, sizeof(body),
                 "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"direction\":\"inbound\","
                 "\"subject\":\"call %d\",\"occurred_at\":\"%s\"}",
                 cust, i, when);
        CHECK_STATUS(req("POST", "/v1/interactions", key_for("agent"), body, NULL), 201);
    }
    struct resp *c = complaint(cust, NULL);
    move(c, key_for("agent"), "{\"to\":\"in_progress\"}");
    move(c, key_for("agent"), "{\"to\":\"resolved\",\"resolution\":\"ok\"}");
    /* 5 interactions + 1 complaint + 4 events + 1 follow-up */
    char path[256];
    snprintf(path, sizeof(path), "/v1/customers/%s/timeline?limit=3", cust);
    json_t *seen = json_object();
    int count = 0, pages = 0;
    int64_t prev = INT64_MAX;
    const char *types = "";
    char all[512] = "";
    while (pages++ < 20) {
        struct resp *r = req("GET", path, key_for("viewer"), NULL, NULL);
        CHECK_STATUS(r, 200);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r->json, "data"), i, item)
        {
            CHECK(!json_object_get(seen, jstr(item, "id")));
            json_object_set_new(seen, jstr(item, "id"), json_true());
            int64_t at = ms_of(item, "at");
            CHECK(at <= prev);
            prev = at;
            CHECK(jstr(item, "summary") && *jstr(item, "summary"));
            strncat(all, jstr(item, "type"), sizeof(all) - strlen(all) - 2);
            strcat(all, " ");
            count++;
        }
        const char *next = jstr(r->json, "next_cursor");
        if (!next)
            break;
        snprintf(path, sizeof(path), "/v1/customers/%s/timeline?limit=3&cursor=%s", cust, next);
    }
    (void)types;
    CHECK_INT(count, 11);
    CHECK(strstr(all, "follow_up") && strstr(all, "complaint_event") && strstr(all, "complaint ") &&
          strstr(all, "interaction"));
    json_decref(seen);
    CHECK_STATUS(req("GET", "/v1/customers/01a20c70-293b-7304-a1e5-000000000000/timeline",
                     key_for("viewer"), NULL, NULL),
                 404);
}

TEST(interactions_export_follows_the_list_filters)
{
    const char *agent = key_for("agent");
    struct resp *c = req("POST", "/v1/customers", agent,
                         "{\"kind\":\"person\",\"name\":\"Export contact\"}", NULL);
    CHECK_STATUS(c, 201);
    const char *customer = jstr(c->json, "id");
    char body[512], path[256];
    static const char *const CHANNELS[] = {"phone", "email", "visit"};
    for (int i = 0; i < 3; i++) {
        snprintf(
            body, sizeof(body),
            "{\"customer_id\":\"%s\",\"channel\":\"%s\",\"direction\":\"inbound\","
            "\"purpose\":\"inquiry\",\"subject\":\"line one\\nline \\\"two\\\", \xed\x95\x9c\"}",
            customer, CHANNELS[i]);
        CHECK_STATUS(req("POST", "/v1/interactions", agent, body, NULL), 201);
    }
    snprintf(path, sizeof(path), "/v1/interactions/export?customer_id=%s&channel=phone,visit",
             customer);
    struct resp *r = req("GET", path, key_for("viewer"), NULL, NULL);
    CHECK_STATUS(r, 200);
    size_t lines = 0;
    for (const char *p = r->body ? r->body : ""; *p; p++)
        lines += *p == '\n';
    CHECK_INT((long)lines, 2);
    CHECK(r->body && !strstr(r->body, "\"email\""));
    const char *csv[] = {"Accept: text/csv", NULL};
    r = req("GET", path, key_for("viewer"), NULL, csv);
    CHECK_STATUS(r, 200);
    CHECK(r->body && !strncmp(r->body, "id,customer_id,", 15));
    CHECK(r->body && strstr(r->body, ",\"line one\nline \"\"two\"\", \xed\x95\x9c\","));
    CHECK(r->body && strstr(resp_header(r, "Content-Disposition"), "interactions.csv"));
    CHECK_STATUS(
        req("GET", "/v1/interactions/export?direction=inbound,outbound", agent, NULL, NULL), 400);
}

/* ---- business-hours SLA clocks ---------------------------------------------------------- */

/* csrd_business_deadline(start, hours, zone, week, holidays), the one place deadlines are
 * counted in business hours, as UTC RFC 3339. */
static const char *business_deadline(const char *start, const char *hours, const char *zone,
                                     const char *week, const char *holidays)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(csrd_ts(csrd_business_deadline('%s'::timestamptz, %s, '%s',"
             " '%s'::jsonb, '%s'::date[])), 'never')",
             start, hours, zone, week, holidays);
    return db_scalar(sql, NULL);
}

#define OFFICE                                                                                     \
    "{\"mon\": [[\"09:00\", \"18:00\"]], \"tue\": [[\"09:00\", \"18:00\"]],"                       \
    " \"wed\": [[\"09:00\", \"18:00\"]], \"thu\": [[\"09:00\", \"18:00\"]],"                       \
    " \"fri\": [[\"09:00\", \"18:00\"]], \"sat\": [], \"sun\": []}"

TEST(business_hours_deadlines_by_hand)
{
    /* 2026-12-04 is a Friday: 17:00 + 4 business hours = Monday 12:00 (PRODUCT.md's case) */
    CHECK_STR(business_deadline("2026-12-04T17:00:00Z", "4", "UTC", OFFICE, "{}"),
              "2026-12-07T12:00:00.000Z");
    /* the Monday is a holiday: Tuesday 12:00 */
    CHECK_STR(business_deadline("2026-12-04T17:00:00Z", "4", "UTC", OFFICE, "{2026-12-07}"),
              "2026-12-08T12:00:00.000Z");
    /* inside an interval, and zero hours */
    CHECK_STR(business_deadline("2026-12-07T10:00:00Z", "2", "UTC", OFFICE, "{}"),
              "2026-12-07T12:00:00.000Z");
    CHECK_STR(business_deadline("2026-12-05T03:00:00Z", "0", "UTC", OFFICE, "{}"),
              "2026-12-05T03:00:00.000Z");
    /* Berlin over the weekend the clocks go forward (2026-03-29): Friday 17:00 CET + 4 h =
     * Monday 12:00 CEST, which is 10:00 UTC */
    CHECK_STR(business_deadline("2026-03-27T16:00:00Z", "4", "Europe/Berlin", OFFICE, "{}"),
              "2026-03-30T10:00:00.000Z");
    /* open around the clock in Berlin: the short Sunday has 23 open hours */
    CHECK_STR(
        business_deadline("2026-03-28T11:00:00Z", "24", "Europe/Berlin",
                          "{\"mon\": [[\"00:00\", \"24:00\"]], \"tue\": [[\"00:00\", \"24:00\"]],"
                          " \"wed\": [[\"00:00\", \"24:00\"]], \"thu\": [[\"00:00\", \"24:00\"]],"
                          " \"fri\": [[\"00:00\", \"24:00\"]], \"sat\": [[\"00:00\", \"24:00\"]],"
                          " \"sun\": [[\"00:00\", \"24:00\"]]}",
                          "{}"),
        "2026-03-29T11:00:00.000Z");
    /* an interval that ends at midnight: Saturday evenings only */
    CHECK_STR(business_deadline("2026-12-05T21:00:00Z", "5", "UTC",
                                "{\"sat\": [[\"20:00\", \"24:00\"]]}", "{}"),
              "2026-12-12T22:00:00.000Z");
    /* Shanghai, two intervals a day with lunch: Monday 11:00 local + 3 h = 15:30 local */
    CHECK_STR(business_deadline("2026-12-07T03:00:00Z", "3", "Asia/Shanghai",
                                "{\"mon\": [[\"09:00\", \"12:00\"], [\"13:30\", \"18:00\"]]}",
                                "{}"),
              "2026-12-07T07:30:00.000Z");
    /* no open hours at all: never (the API refuses such a calendar) */
    CHECK_STR(business_deadline("2026-12-04T17:00:00Z", "4", "UTC", "{}", "{}"), "never");
}

TEST(sla_calendar_put_validates)
{
    const char *sup = key_for("supervisor");
    struct resp *g = req("GET", "/v1/sla-calendar", key_for("viewer"), NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK(jstr(g->json, "time_zone") != NULL);
    static const char *const bad[][2] = {
        {"{\"time_zone\":\"Mars/Olympus\",\"hours\":" OFFICE "}", "time_zone"},
        {"{\"time_zone\":\"UTC\",\"hours\":{\"mon\":[[\"09:00\",\"25:00\"]]}}", "hours.mon[0]"},
        {"{\"time_zone\":\"UTC\",\"hours\":{\"mon\":[[\"18:00\",\"09:00\"]]}}", "hours.mon[0]"},
        {"{\"time_zone\":\"UTC\",\"hours\":{\"mon\":[[\"09:00\",\"12:00\"],[\"11:00\",\"13:00\"]]}"
         "}",
         "hours.mon[1]"},
        {"{\"time_zone\":\"UTC\",\"hours\":{\"mon\":[[\"1\",\"2\"],[\"3\",\"4\"],[\"5\",\"6\"],"
         "[\"7\",\"8\"],[\"9\",\"10\"]]}}",
         "hours.mon"},
        {"{\"time_zone\":\"UTC\",\"hours\":{\"funday\":[]}}", "hours.funday"},
        {"{\"time_zone\":\"UTC\",\"hours\":{\"mon\":[],\"sun\":[]}}", "hours"},
        {"{\"time_zone\":\"UTC\",\"hours\":" OFFICE ",\"holidays\":[\"2026-02-30\"]}",
         "holidays[0]"},
        {"{\"hours\":" OFFICE "}", "time_zone"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct resp *r = req("PUT", "/v1/sla-calendar", sup, bad[i][0], NULL);
        CHECK_STATUS(r, 422);
        CHECK_STR(jstr(json_array_get(json_object_get(r->json, "errors"), 0), "field"), bad[i][1]);
    }
    CHECK_STATUS(req("PUT", "/v1/sla-calendar", key_for("agent"),
                     "{\"time_zone\":\"UTC\",\"hours\":" OFFICE "}", NULL),
                 403);
}

TEST(business_hours_policy_sets_deadlines_from_the_calendar)
{
    const char *sup = key_for("supervisor");
    struct resp *cal =
        req("PUT", "/v1/sla-calendar", sup,
            "{\"time_zone\":\"UTC\",\"hours\":" OFFICE ",\"holidays\":[\"2026-12-25\"]}", NULL);
    CHECK_STATUS(cal, 200);
    CHECK_STR(json_string_value(json_array_get(json_object_get(cal->json, "holidays"), 0)),
              "2026-12-25");
    struct resp *p = req("PUT", "/v1/sla-policies/high", sup,
                         "{\"first_response_hours\":4,\"resolution_hours\":72,"
                         "\"follow_up_after_hours\":24,\"clock\":\"business_hours\"}",
                         NULL);
    CHECK_STATUS(p, 200);
    CHECK_STR(jstr(p->json, "clock"), "business_hours");
    struct resp *c = req("POST", "/v1/customers", ADMIN_TOKEN,
                         "{\"kind\":\"person\",\"name\":\"After hours\"}", NULL);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"web\",\"category\":\"delivery\","
             "\"severity\":\"high\",\"subject\":\"Friday evening\","
             "\"created_at\":\"2026-11-27T17:00:00Z\"}",
             jstr(c->json, "id"));
    struct resp *k = req("POST", "/v1/complaints", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(k, 201);
    /* imported, filed on Friday 2026-11-27 at 17:00: due Monday 12:00 */
    CHECK_STR(jstr(k->json, "first_response_due_at"), "2026-11-30T12:00:00.000Z");
    /* 72 open hours: Friday 1, a week 45, Monday and Tuesday 18, Wednesday 8 */
    CHECK_STR(jstr(k->json, "resolution_due_at"), "2026-12-09T17:00:00.000Z");
    /* back to the defaults for everyone else */
    CHECK_STATUS(req("PUT", "/v1/sla-policies/high", sup,
                     "{\"first_response_hours\":4,\"resolution_hours\":72,"
                     "\"follow_up_after_hours\":24,\"clock\":\"24x7\"}",
                     NULL),
                 200);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

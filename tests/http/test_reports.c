/* Reports: exact figures on known data sets, hand-computed below. Each data set lives in its
 * own year before any other test's records (1996 for the overview and the agents, 1997 for
 * the trend; the other suites use 2018 and later) and is written with SQL at exact instants,
 * so the figures are the same on a fresh database and on a reused one. "Now" is decades later:
 * every clock still running in these years is past its deadline, every follow-up still scheduled is
 * overdue. The data sets are loaded once and kept (see load_era). */
#include "harness.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads a data set once: under an advisory lock (the tests of one data set may run at the
 * same time), unless a customer named marker (the data set's name and version) exists, the
 * records of customers created in [from, to) and what refers to them are deleted and body
 * runs (PL/pgSQL statements, with decl's variables). */
static void load_era(const char *marker, const char *from, const char *to, const char *decl,
                     const char *body)
{
    static char sql[16384];
    int n = snprintf(
        sql, sizeof(sql),
        "DO $$ DECLARE ids uuid[]; %s BEGIN"
        " PERFORM pg_advisory_xact_lock(hashtext('csrd-test-reports'));"
        " IF EXISTS (SELECT 1 FROM customers WHERE name = '%s' AND created_at >= '%s'"
        " AND created_at < '%s') THEN RETURN; END IF;"
        " ids := ARRAY(SELECT id FROM customers WHERE created_at >= '%s' AND created_at < '%s');"
        " DELETE FROM follow_ups WHERE customer_id = ANY (ids);"
        " UPDATE interactions SET complaint_id = NULL WHERE customer_id = ANY (ids);"
        " DELETE FROM complaint_events WHERE customer_id = ANY (ids);"
        " DELETE FROM complaints WHERE customer_id = ANY (ids);"
        " DELETE FROM interactions WHERE customer_id = ANY (ids);"
        " DELETE FROM customer_history WHERE customer_id = ANY (ids);"
        " DELETE FROM customers WHERE id = ANY (ids); %s END $$",
        decl, marker, from, to, from, to, body);
    CHECK(n > 0 && (size_t)n < sizeof(sql));
    db_scalar(sql, NULL);
}

/* The member at a dotted path ("complaints.first_response.breached"), or NULL. */
static json_t *at(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    return j;
}

static int number_failures(json_t *j, const char *path, double want, const char *file, int line)
{
    json_t *v = at(j, path);
    if (json_is_number(v) && fabs(json_number_value(v) - want) < 1e-9)
        return 0;
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    fprintf(stderr, "%s:%d: %s is %s, expected %g\n", file, line, path, text ? text : "(absent)",
            want);
    free(text);
    return 1;
}
#define CHECK_NUM(j, path, want)                                                                   \
    (check_failures += number_failures(j, path, want, __FILE__, __LINE__))
#define CHECK_NULL(j, path)                                                                        \
    do {                                                                                           \
        json_t *v_ = at(j, path);                                                                  \
        if (!json_is_null(v_)) {                                                                   \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s is not null\n", __FILE__, __LINE__, path);                  \
        }                                                                                          \
    } while (0)

/* 1996: customers (composition at the end of March), complaints, follow-ups and
 * interactions around the window [1996-03-01, 1996-04-01). */
static const char OVERVIEW_DATA[] =
    /* in the window's customer base: c1 vip/active/North, c2 key/active/North,
       prospect regular with an empty region, lost regular without address (one ms before the
       end), key/active/South archived only after the end */
    " INSERT INTO customers (id, kind, name, tier, status, address, created_at, updated_at,"
    " archived_at) VALUES"
    " (c1, 'person', 'overview-v1', 'vip', 'active', '{\"region\":\"North\"}', '1996-01-10Z', "
    "'1996-01-10Z', NULL),"
    " (c2, 'person', 'r2', 'key', 'active', '{\"region\":\"North\"}', '1996-02-01Z', "
    "'1996-02-01Z', NULL),"
    " (gen_random_uuid(), 'person', 'r3', 'regular', 'prospect', '{\"region\":\"\"}', "
    "'1996-03-05Z', '1996-03-05Z', NULL),"
    " (gen_random_uuid(), 'person', 'r4', 'regular', 'lost', NULL, '1996-03-31T23:59:59.999Z', "
    "'1996-03-31T23:59:59.999Z', NULL),"
    " (gen_random_uuid(), 'person', 'r7', 'key', 'active', '{\"region\":\"South\"}', "
    "'1996-03-06Z', '1996-03-06Z', '1996-04-02Z'),"
    /* not in it: created at the end, archived before the end */
    " (gen_random_uuid(), 'person', 'r5', 'minor', 'inactive', '{\"region\":\"South\"}', "
    "'1996-04-01Z', '1996-04-01Z', NULL),"
    " (gen_random_uuid(), 'person', 'r6', 'vip', 'active', NULL, '1996-01-01Z', '1996-01-01Z', "
    "'1996-03-15Z');"
    /* complaints: first response minutes 30, 120 (breached), 45, -, 10, 60; resolution hours
       10, 48 (breached), open (breached), open (breached), rejected in time, 24 */
    " INSERT INTO complaints (id, customer_id, channel, category, severity, subject, status,"
    " response_channel, assignee, created_at, updated_at, first_response_due_at, "
    "first_responded_at,"
    " resolution_due_at, resolved_at, rejected_at, closed_at, resolution, customer_satisfaction)"
    " VALUES"
    " (gen_random_uuid(), c1, 'phone', 'billing', 'high', 'k1', 'resolved', 'phone', 'ann',"
    " '1996-03-02T10:00Z', '1996-03-02T10:00Z', '1996-03-02T11:00Z', '1996-03-02T10:30Z',"
    " '1996-03-03T10:00Z', '1996-03-02T20:00Z', NULL, NULL, 'refund', 5),"
    " (gen_random_uuid(), c1, 'phone', 'billing', 'critical', 'k2', 'closed', 'phone', 'ann',"
    " '1996-03-03T08:00Z', '1996-03-03T08:00Z', '1996-03-03T09:00Z', '1996-03-03T10:00Z',"
    " '1996-03-04T08:00Z', '1996-03-05T08:00Z', NULL, '1996-03-06Z', 'refund', 2),"
    " (gen_random_uuid(), c1, 'email', 'delivery', 'medium', 'k3', 'in_progress', 'email', 'bob',"
    " '1996-03-10T00:00Z', '1996-03-10T00:00Z', '1996-03-10T04:00Z', '1996-03-10T00:45Z',"
    " '1996-03-13T00:00Z', NULL, NULL, NULL, NULL, NULL),"
    " (gen_random_uuid(), c2, 'web', 'other', 'low', 'k4', 'new', 'web', NULL,"
    " '1996-03-20T12:00Z', '1996-03-20T12:00Z', '1996-03-21T12:00Z', NULL,"
    " '1996-04-03T12:00Z', NULL, NULL, NULL, NULL, NULL),"
    " (gen_random_uuid(), c2, 'web', 'product_quality', 'medium', 'k5', 'rejected', 'web', 'bob',"
    " '1996-03-25T00:00Z', '1996-03-25T00:00Z', '1996-03-25T01:00Z', '1996-03-25T00:10Z',"
    " '1996-03-26T00:00Z', NULL, '1996-03-25T05:00Z', NULL, NULL, NULL),"
    " (gen_random_uuid(), c2, 'visit', 'service_attitude', 'high', 'k8', 'resolved', 'visit', "
    "'bob',"
    " '1996-03-28T00:00Z', '1996-03-28T00:00Z', '1996-03-28T04:00Z', '1996-03-28T01:00Z',"
    " '1996-03-31T00:00Z', '1996-03-29T00:00Z', NULL, NULL, 'fixed', 4),"
    /* outside the window: the day before, the end itself */
    " (gen_random_uuid(), c1, 'phone', 'billing', 'low', 'k6', 'new', 'phone', 'ann',"
    " '1996-02-29T23:59:59.999Z', '1996-02-29T23:59:59.999Z', '1996-03-01Z', NULL, '1996-03-02Z',"
    " NULL, NULL, NULL, NULL, NULL),"
    " (gen_random_uuid(), c1, 'phone', 'billing', 'low', 'k7', 'new', 'phone', 'ann',"
    " '1996-04-01Z', '1996-04-01Z', '1996-04-02Z', NULL, '1996-04-03Z', NULL, NULL, NULL, NULL, "
    "NULL);"
    /* follow-ups: completed 5, 4, 2, 3 (no nps), 1 in the window; one completed at its end;
       one scheduled before it; no_response, overdue, cancelled; one scheduled at the end */
    " INSERT INTO follow_ups (id, customer_id, method, scheduled_at, status, completed_at,"
    " satisfaction, nps, created_at, updated_at) SELECT gen_random_uuid(), c1, 'phone', "
    "s::timestamptz,"
    " st, d::timestamptz, sat, n, s::timestamptz, s::timestamptz FROM (VALUES"
    " ('1996-03-04Z', 'completed', '1996-03-05Z', 5, 10),"
    " ('1996-03-05Z', 'completed', '1996-03-06Z', 4, 9),"
    " ('1996-02-20Z', 'completed', '1996-03-07Z', 2, 3),"
    " ('1996-03-07Z', 'completed', '1996-03-08Z', 3, NULL),"
    " ('1996-03-30Z', 'completed', '1996-03-31T23:00Z', 1, 7),"
    " ('1996-03-30Z', 'completed', '1996-04-01Z', 5, 10),"
    " ('1996-03-12Z', 'no_response', '1996-03-12Z', NULL, NULL),"
    " ('1996-03-15Z', 'scheduled', NULL, NULL, NULL),"
    " ('1996-03-16Z', 'cancelled', NULL, NULL, NULL),"
    " ('1996-04-01Z', 'scheduled', NULL, NULL, NULL)) v(s, st, d, sat, n);"
    /* interactions: phone 3, phone -1, email (no score), chat 2; visit at the end and a phone
       call the day before are outside */
    " INSERT INTO interactions (id, customer_id, channel, direction, occurred_at, experience_score,"
    " created_at, updated_at) SELECT gen_random_uuid(), c1, ch, 'inbound', t::timestamptz, sc,"
    " t::timestamptz, t::timestamptz FROM (VALUES ('phone', '1996-03-01Z', 3),"
    " ('phone', '1996-03-02Z', -1), ('email', '1996-03-03Z', NULL), ('chat', '1996-03-04Z', 2),"
    " ('visit', '1996-04-01Z', 1), ('phone', '1996-02-29Z', 3)) v(ch, t, sc);";

static const char *const OVERVIEW_WINDOW = "from=1996-03-01T00:00:00Z&to=1996-04-01T00:00:00Z";

static void overview_data(void)
{
    load_era("overview-v1", "1996-01-01T00:00:00Z", "1997-01-01T00:00:00Z",
             "c1 uuid := gen_random_uuid(); c2 uuid := gen_random_uuid();", OVERVIEW_DATA);
}

TEST(overview_figures_match_a_hand_computed_data_set)
{
    overview_data();
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/overview?%s", OVERVIEW_WINDOW);
    struct resp *r = req("GET", path, key_for("supervisor"), NULL, NULL);
    CHECK_STATUS(r, 200);
    json_t *j = r->json;
    CHECK_STR(jstr(j, "from"), "1996-03-01T00:00:00.000Z");
    CHECK_STR(jstr(j, "to"), "1996-04-01T00:00:00.000Z");
    /* customers existing at the end: r1, r2, r3, r4, r7 */
    CHECK_NUM(j, "customers.total", 5);
    CHECK_NUM(j, "customers.by_tier.vip", 1);
    CHECK_NUM(j, "customers.by_tier.key", 2);
    CHECK_NUM(j, "customers.by_tier.regular", 2);
    CHECK_NUM(j, "customers.by_tier.minor", 0);
    CHECK_NUM(j, "customers.by_status.active", 3);
    CHECK_NUM(j, "customers.by_status.prospect", 1);
    CHECK_NUM(j, "customers.by_status.lost", 1);
    CHECK_NUM(j, "customers.by_status.inactive", 0);
    CHECK_NUM(j, "customers.by_region.North", 2);
    CHECK_NUM(j, "customers.by_region.South", 1);
    CHECK_NUM(j, "customers.by_region.unknown", 2);
    CHECK_INT(json_object_size(at(j, "customers.by_region")), 3);
    /* complaints k1 k2 k3 k4 k5 k8 */
    CHECK_NUM(j, "complaints.total", 6);
    CHECK_NUM(j, "complaints.by_status.new", 1);
    CHECK_NUM(j, "complaints.by_status.acknowledged", 0);
    CHECK_NUM(j, "complaints.by_status.in_progress", 1);
    CHECK_NUM(j, "complaints.by_status.resolved", 2);
    CHECK_NUM(j, "complaints.by_status.rejected", 1);
    CHECK_NUM(j, "complaints.by_status.closed", 1);
    CHECK_NUM(j, "complaints.by_category.billing", 2);
    CHECK_NUM(j, "complaints.by_category.delivery", 1);
    CHECK_NUM(j, "complaints.by_category.other", 1);
    CHECK_NUM(j, "complaints.by_category.product_quality", 1);
    CHECK_NUM(j, "complaints.by_category.service_attitude", 1);
    CHECK_NUM(j, "complaints.by_category.after_sales", 0);
    CHECK_NUM(j, "complaints.by_severity.low", 1);
    CHECK_NUM(j, "complaints.by_severity.medium", 2);
    CHECK_NUM(j, "complaints.by_severity.high", 2);
    CHECK_NUM(j, "complaints.by_severity.critical", 1);
    /* first response: k2 late, k4 never (still new); minutes 10 30 45 60 120 -> 45 (odd) */
    CHECK_NUM(j, "complaints.first_response.breached", 2);
    CHECK_NUM(j, "complaints.first_response.breach_rate", 0.3333);
    CHECK_NUM(j, "complaints.first_response.median_minutes", 45);
    /* resolution: k2 late, k3 and k4 open past due; k5 rejected in time; hours 10 24 48 */
    CHECK_NUM(j, "complaints.resolution.breached", 3);
    CHECK_NUM(j, "complaints.resolution.breach_rate", 0.5);
    CHECK_NUM(j, "complaints.resolution.median_hours", 24);
    /* satisfaction 5 4 2 3 1: mean 3, 4-5 twice; nps answers 10 9 3 7: (2 - 1) / 4 */
    CHECK_NUM(j, "satisfaction.responses", 5);
    CHECK_NUM(j, "satisfaction.average", 3);
    for (int s = 1; s <= 5; s++) {
        char p[40];
        snprintf(p, sizeof(p), "satisfaction.distribution.%d", s);
        CHECK_NUM(j, p, 1);
    }
    CHECK_NUM(j, "satisfaction.satisfied_rate", 0.4);
    CHECK_NUM(j, "satisfaction.nps", 25);
    /* follow-ups scheduled in the window: 5 completed, 1 no_response, 1 overdue, 1 cancelled */
    CHECK_NUM(j, "follow_ups.scheduled", 7);
    CHECK_NUM(j, "follow_ups.completed", 5);
    CHECK_NUM(j, "follow_ups.no_response", 1);
    CHECK_NUM(j, "follow_ups.overdue", 1);
    CHECK_NUM(j, "follow_ups.cancelled", 1);
    CHECK_NUM(j, "follow_ups.completion_rate", 0.7143); /* 5 / 7 */
    /* interactions: phone 2, email 1, chat 1; scores 3 -1 2 -> 1.33 */
    CHECK_NUM(j, "interactions.total", 4);
    CHECK_NUM(j, "interactions.by_channel.phone", 2);
    CHECK_NUM(j, "interactions.by_channel.email", 1);
    CHECK_NUM(j, "interactions.by_channel.chat", 1);
    CHECK_NUM(j, "interactions.by_channel.visit", 0);
    CHECK_NUM(j, "interactions.average_experience_score", 1.33);

    /* the same as CSV: one metric per row */
    const char *csv[] = {"Accept: text/csv", NULL};
    struct resp *c = req("GET", path, key_for("admin"), NULL, csv);
    CHECK_STATUS(c, 200);
    CHECK(strstr(resp_header(c, "Content-Type"), "text/csv") != NULL);
    CHECK(c->body && !strncmp(c->body, "metric,value\r\nfrom,1996-03-01T00:00:00.000Z\r\n", 45));
    CHECK(c->body && strstr(c->body, "\r\ncomplaints.first_response.median_minutes,45\r\n"));
    CHECK(c->body && strstr(c->body, "\r\nsatisfaction.nps,25\r\n"));
    CHECK(c->body && strstr(c->body, "\r\ncustomers.by_region.unknown,2\r\n"));
}

TEST(overview_of_an_empty_window_has_zeros_and_null_rates)
{
    overview_data();
    struct resp *r =
        req("GET", "/v1/reports/overview?from=1995-01-01T00:00:00Z&to=1995-02-01T00:00:00Z",
            key_for("supervisor"), NULL, NULL);
    CHECK_STATUS(r, 200);
    json_t *j = r->json;
    CHECK_NUM(j, "customers.total", 0);
    CHECK_INT(json_object_size(at(j, "customers.by_region")), 0);
    CHECK_NUM(j, "complaints.total", 0);
    CHECK_NUM(j, "complaints.first_response.breached", 0);
    CHECK_NULL(j, "complaints.first_response.breach_rate");
    CHECK_NULL(j, "complaints.first_response.median_minutes");
    CHECK_NULL(j, "complaints.resolution.breach_rate");
    CHECK_NULL(j, "complaints.resolution.median_hours");
    CHECK_NUM(j, "satisfaction.responses", 0);
    CHECK_NULL(j, "satisfaction.average");
    CHECK_NULL(j, "satisfaction.satisfied_rate");
    CHECK_NULL(j, "satisfaction.nps");
    CHECK_NULL(j, "follow_ups.completion_rate");
    CHECK_NULL(j, "interactions.average_experience_score");
    const char *csv[] = {"Accept: text/csv", NULL};
    struct resp *c =
        req("GET", "/v1/reports/overview?from=1995-01-01T00:00:00Z&to=1995-02-01T00:00:00Z",
            key_for("supervisor"), NULL, csv);
    CHECK(c->body && strstr(c->body, "\r\nsatisfaction.nps,\r\n")); /* null: an empty field */
}

TEST(agents_report_per_assignee_with_even_and_odd_medians)
{
    overview_data();
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/agents?%s", OVERVIEW_WINDOW);
    struct resp *r = req("GET", path, key_for("supervisor"), NULL, NULL);
    CHECK_STATUS(r, 200);
    json_t *data = json_object_get(r->json, "data");
    CHECK_INT(json_array_size(data), 3);
    /* bob: k3 k5 k8 (k3 open past due; only k8 resolved: 24 h; satisfaction 4) */
    json_t *bob = json_array_get(data, 0);
    CHECK_STR(jstr(bob, "assignee"), "bob");
    CHECK_NUM(bob, "complaints", 3);
    CHECK_NUM(bob, "open", 1);
    CHECK_NUM(bob, "breached", 1);
    CHECK_NUM(bob, "median_resolution_hours", 24);
    CHECK_NUM(bob, "average_satisfaction", 4);
    /* ann: k1 k2 (k2 late twice; 10 h and 48 h -> 29; satisfaction 5 and 2) */
    json_t *ann = json_array_get(data, 1);
    CHECK_STR(jstr(ann, "assignee"), "ann");
    CHECK_NUM(ann, "complaints", 2);
    CHECK_NUM(ann, "open", 0);
    CHECK_NUM(ann, "breached", 1);
    CHECK_NUM(ann, "median_resolution_hours", 29);
    CHECK_NUM(ann, "average_satisfaction", 3.5);
    /* unassigned: k4 */
    json_t *none = json_array_get(data, 2);
    CHECK_NULL(none, "assignee");
    CHECK_NUM(none, "complaints", 1);
    CHECK_NUM(none, "open", 1);
    CHECK_NUM(none, "breached", 1);
    CHECK_NULL(none, "median_resolution_hours");
    CHECK_NULL(none, "average_satisfaction");

    const char *csv[] = {"Accept: text/csv", NULL};
    struct resp *c = req("GET", path, key_for("supervisor"), NULL, csv);
    CHECK_STATUS(c, 200);
    CHECK_STR(c->body, "assignee,complaints,open,breached,median_resolution_hours,"
                       "average_satisfaction\r\n"
                       "bob,3,1,1,24,4\r\n"
                       "ann,2,0,1,29,3.5\r\n"
                       ",1,1,1,,\r\n");
}

/* 1997: complaints around the end of March, when Berlin moved its clocks forward (30 March,
 * 02:00 CET -> 03:00 CEST), created at (UTC) T1 03-29 22:30, T2 03-29 23:30, T3 03-30 22:30,
 * T4 03-31 21:30, T5 03-31 22:30, T6 04-01 22:30; T1 resolved 03-31 22:15, T2 03-30 21:59
 * (both in time); T3-T6 still new, past due. Follow-ups completed 03-29 23:10 (4), 03-30 21:00
 * (5), 03-31 22:05 (2). */
static const char TREND_DATA[] =
    " INSERT INTO customers (id, kind, name, created_at, updated_at)"
    " VALUES (c, 'person', 'trend-v2', '1997-01-01Z', '1997-01-01Z');"
    " INSERT INTO complaints (id, customer_id, channel, category, severity, subject, status,"
    " response_channel, created_at, updated_at, first_response_due_at, first_responded_at,"
    " resolution_due_at, resolved_at, resolution)"
    " SELECT gen_random_uuid(), c, 'phone', 'billing', 'medium', 't', st, 'phone',"
    " t::timestamptz, t::timestamptz, t::timestamptz + interval '1 day', r::timestamptz,"
    " t::timestamptz + interval '7 days', d::timestamptz, CASE WHEN d IS NOT NULL THEN 'ok' END"
    " FROM (VALUES ('1997-03-29T22:30Z', 'resolved', '1997-03-29T22:40Z', '1997-03-31T22:15Z'),"
    " ('1997-03-29T23:30Z', 'resolved', '1997-03-29T23:40Z', '1997-03-30T21:59Z'),"
    " ('1997-03-30T22:30Z', 'new', NULL, NULL), ('1997-03-31T21:30Z', 'new', NULL, NULL),"
    " ('1997-03-31T22:30Z', 'new', NULL, NULL), ('1997-04-01T22:30Z', 'new', NULL, NULL))"
    " v(t, st, r, d);"
    " INSERT INTO follow_ups (id, customer_id, method, scheduled_at, status, completed_at,"
    " satisfaction, created_at, updated_at) SELECT gen_random_uuid(), c, 'phone', '1997-03-01Z',"
    " 'completed', t::timestamptz, s, '1997-03-01Z', '1997-03-01Z' FROM (VALUES"
    " ('1997-03-29T23:10Z', 4), ('1997-03-30T21:00Z', 5), ('1997-03-31T22:05Z', 2)) v(t, s);";

static void trend_data(void)
{
    load_era("trend-v2", "1997-01-01T00:00:00Z", "1998-01-01T00:00:00Z",
             "c uuid := gen_random_uuid();", TREND_DATA);
}

static void check_bucket(json_t *data, size_t i, const char *start, int created, int resolved,
                         int breached, double satisfaction /* NAN: null */)
{
    json_t *b = json_array_get(data, i);
    if (!b) {
        check_failures++;
        fprintf(stderr, "no bucket %zu\n", i);
        return;
    }
    CHECK_STR(jstr(b, "start"), start);
    CHECK_NUM(b, "created", created);
    CHECK_NUM(b, "resolved", resolved);
    CHECK_NUM(b, "breached", breached);
    if (isnan(satisfaction))
        CHECK_NULL(b, "average_satisfaction");
    else
        CHECK_NUM(b, "average_satisfaction", satisfaction);
}

TEST(trend_buckets_follow_local_midnight_across_a_dst_change_and_a_month_end)
{
    trend_data();
    /* local days 29 March - 1 April in Berlin; 30 March has 23 hours */
    struct resp *r = req("GET",
                         "/v1/reports/complaints/trend?interval=day&tz=Europe/Berlin"
                         "&from=1997-03-29T00:00:00%2B01:00&to=1997-04-02T00:00:00%2B02:00",
                         key_for("supervisor"), NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK_STR(jstr(r->json, "interval"), "day");
    CHECK_STR(jstr(r->json, "tz"), "Europe/Berlin");
    json_t *data = json_object_get(r->json, "data");
    CHECK_INT(json_array_size(data), 4);
    check_bucket(data, 0, "1997-03-28T23:00:00.000Z", 1, 0, 0, NAN);
    check_bucket(data, 1, "1997-03-29T23:00:00.000Z", 1, 1, 0, 4.5);
    check_bucket(data, 2, "1997-03-30T22:00:00.000Z", 2, 0, 2, NAN);
    check_bucket(data, 3, "1997-03-31T22:00:00.000Z", 1, 1, 1, 2);
}

TEST(trend_by_month_and_by_week_in_utc_lists_empty_buckets)
{
    trend_data();
    struct resp *r = req("GET",
                         "/v1/reports/complaints/trend?interval=month"
                         "&from=1997-02-01T00:00:00Z&to=1997-05-01T00:00:00Z",
                         key_for("admin"), NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK_STR(jstr(r->json, "tz"), "UTC");
    json_t *data = json_object_get(r->json, "data");
    CHECK_INT(json_array_size(data), 3);
    check_bucket(data, 0, "1997-02-01T00:00:00.000Z", 0, 0, 0, NAN);
    check_bucket(data, 1, "1997-03-01T00:00:00.000Z", 5, 2, 3, 3.67); /* (4 + 5 + 2) / 3 */
    check_bucket(data, 2, "1997-04-01T00:00:00.000Z", 1, 0, 1, NAN);

    /* weeks from Monday; the window starts on a Wednesday, so the first bucket is partial */
    r = req("GET",
            "/v1/reports/complaints/trend?interval=week"
            "&from=1997-03-26T12:00:00Z&to=1997-04-02T00:00:00Z",
            key_for("supervisor"), NULL, NULL);
    CHECK_STATUS(r, 200);
    data = json_object_get(r->json, "data");
    CHECK_INT(json_array_size(data), 2);
    check_bucket(data, 0, "1997-03-24T00:00:00.000Z", 3, 1, 1, 4.5);
    check_bucket(data, 1, "1997-03-31T00:00:00.000Z", 3, 1, 3, 2);

    const char *csv[] = {"Accept: text/csv", NULL};
    r = req("GET",
            "/v1/reports/complaints/trend?interval=week"
            "&from=1997-03-26T12:00:00Z&to=1997-04-02T00:00:00Z",
            key_for("supervisor"), NULL, csv);
    CHECK_STATUS(r, 200);
    CHECK_STR(r->body, "start,created,resolved,breached,average_satisfaction\r\n"
                       "1997-03-24T00:00:00.000Z,3,1,1,4.5\r\n"
                       "1997-03-31T00:00:00.000Z,3,1,3,2\r\n");
}

/* complaint_stats (the trend's 15-minute summary) against the tables it summarises, in one
 * snapshot: 0 buckets may differ. */
static const char STATS_DIFFER[] =
    "WITH raw AS (SELECT b, sum(c) AS c, sum(l) AS l, sum(r) AS r, sum(ss) AS ss, sum(sn) AS sn"
    " FROM (SELECT csrd_stat_bucket(created_at) AS b, 1 AS c, breached_late::int AS l, 0 AS r,"
    " 0 AS ss, 0 AS sn FROM complaints"
    " UNION ALL SELECT csrd_stat_bucket(resolved_at), 0, 0, 1, 0, 0 FROM complaints"
    " WHERE resolved_at IS NOT NULL"
    " UNION ALL SELECT csrd_stat_bucket(completed_at), 0, 0, 0, satisfaction, 1 FROM follow_ups"
    " WHERE status = 'completed') x GROUP BY b),"
    " st AS (SELECT bucket AS b, sum(created) AS c, sum(breached_late) AS l, sum(resolved) AS r,"
    " sum(sat_sum) AS ss, sum(sat_n) AS sn FROM complaint_stats GROUP BY bucket)"
    " SELECT count(*) FROM raw FULL JOIN st USING (b)"
    " WHERE (coalesce(raw.c, 0), coalesce(raw.l, 0), coalesce(raw.r, 0), coalesce(raw.ss, 0),"
    " coalesce(raw.sn, 0)) IS DISTINCT FROM (coalesce(st.c, 0), coalesce(st.l, 0),"
    " coalesce(st.r, 0), coalesce(st.ss, 0), coalesce(st.sn, 0))";

static struct resp *move(const char *complaint, const char *token, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/complaints/%s/transitions", complaint);
    return req("POST", path, token, body, NULL);
}

TEST(the_trend_summary_agrees_with_the_complaints_after_every_kind_of_change)
{
    trend_data(); /* SQL inserts and deletes */
    const char *agent = key_for("agent"), *sup = key_for("supervisor");
    struct resp *cu =
        req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"stats\"}", NULL);
    CHECK_STATUS(cu, 201);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"category\":\"billing\","
             "\"subject\":\"stats\"}",
             jstr(cu->json, "id"));
    for (int i = 0; i < 2; i++) {
        struct resp *k = req("POST", "/v1/complaints", agent, body, NULL);
        CHECK_STATUS(k, 201);
        char id[40];
        snprintf(id, sizeof(id), "%s", jstr(k->json, "id") ? jstr(k->json, "id") : "");
        CHECK_STATUS(move(id, agent, "{\"to\":\"in_progress\"}"), 200);
        CHECK_STATUS(move(id, agent, "{\"to\":\"resolved\",\"resolution\":\"fixed\"}"), 200);
        if (i == 0) { /* reopened: its resolution leaves the summary again */
            CHECK_STATUS(move(id, sup, "{\"to\":\"in_progress\",\"note\":\"not fixed\"}"), 200);
            continue;
        }
        char path[160];
        snprintf(path, sizeof(path), "/v1/follow-ups?complaint_id=%s", id);
        struct resp *f = req("GET", path, agent, NULL, NULL);
        json_t *fu = json_array_get(json_object_get(f->json, "data"), 0);
        CHECK(fu != NULL);
        snprintf(path, sizeof(path), "/v1/follow-ups/%s/completion", fu ? jstr(fu, "id") : "none");
        CHECK_STATUS(req("POST", path, agent,
                         "{\"satisfaction\":5,\"nps\":10,\"issue_resolved\":true}", NULL),
                     200);
    }
    CHECK_STR(db_scalar(STATS_DIFFER, NULL), "0");
}

TEST(reports_are_for_supervisors_and_refuse_bad_windows)
{
    const char *const paths[] = {"/v1/reports/overview", "/v1/reports/complaints/trend",
                                 "/v1/reports/agents", NULL};
    for (const char *const *p = paths; *p; p++) {
        CHECK_STATUS(req("GET", *p, key_for("agent"), NULL, NULL), 403);
        CHECK_STATUS(req("GET", *p, key_for("viewer"), NULL, NULL), 403);
        CHECK_STATUS(req("GET", *p, NULL, NULL, NULL), 401);
        struct resp *ok = req("GET", *p, key_for("supervisor"), NULL, NULL); /* last 30 days */
        CHECK_STATUS(ok, 200);
        CHECK(jstr(ok->json, "from") && jstr(ok->json, "to"));
        char path[300];
        const char *const bad[] = {
            "from=yesterday",
            "to=2026-13-01T00:00:00Z",
            "from=2026-02-01T00:00:00Z&to=2026-02-01T00:00:00Z", /* empty */
            "from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z", /* reversed */
            "from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:01Z", /* over 1827 days */
            "from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z",
            "since=2026-01-01T00:00:00Z",
            NULL};
        for (const char *const *b = bad; *b; b++) {
            snprintf(path, sizeof(path), "%s?%s", *p, *b);
            struct resp *r = req("GET", path, key_for("supervisor"), NULL, NULL);
            CHECK_STATUS(r, 400);
            CHECK(strstr(resp_header(r, "Content-Type"), "application/problem+json") != NULL);
        }
        /* exactly five years of 1827 days is allowed */
        snprintf(path, sizeof(path), "%s?from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", *p);
        CHECK_STATUS(req("GET", path, key_for("supervisor"), NULL, NULL), 200);
        const char *xml[] = {"Accept: application/xml", NULL};
        CHECK_STATUS(req("GET", *p, key_for("supervisor"), NULL, xml), 406);
    }
    const char *const bad_trend[] = {"interval=year", "interval=", "tz=Mars/Olympus",
                                     "tz=utc",        "tz=",       NULL};
    for (const char *const *b = bad_trend; *b; b++) {
        char path[200];
        snprintf(path, sizeof(path), "/v1/reports/complaints/trend?%s", *b);
        CHECK_STATUS(req("GET", path, key_for("supervisor"), NULL, NULL), 400);
    }
    CHECK_STATUS(req("GET", "/v1/reports/complaints/trend?tz=Asia/Seoul&interval=week",
                     key_for("supervisor"), NULL, NULL),
                 200);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

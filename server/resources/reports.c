/* /v1/reports: what a service manager reads every morning. Every figure is computed by
 * PostgreSQL in one statement per report over index-backed window scans (schema/010); csrd
 * only checks the query, passes the JSON through, or flattens it into CSV. */
#include "resources/reports.h"
#include "json/json_text.h"
#include "log.h"
#include "resources/export.h"
#include "resources/plumbing.h"
#include "util/strbuf.h"
#include "util/timefmt.h"
#include "util/xalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS         86400000LL
#define MAX_WINDOW_MS  (1827 * DAY_MS) /* five years, two of them leap years */
#define DEFAULT_WINDOW (30 * DAY_MS)

/* The window: $1 from, $2 to as given (NULL: to = now, from = to - 30 days). WF and WT are
 * written into each scan (not read from the CTE w, which would rule out parallel plans). */
#define WT "coalesce($2::timestamptz, csrd_now())"
#define WF "coalesce($1::timestamptz, coalesce($2::timestamptz, csrd_now()) - interval '30 days')"
#define WINDOW                                                                                     \
    "w AS (SELECT b.f, a.t FROM (SELECT coalesce($2::timestamptz, csrd_now()) AS t) a,"            \
    " LATERAL (SELECT coalesce($1::timestamptz, a.t - interval '30 days') AS f) b)"

/* A clock is breached when it stopped after its deadline or runs past it now: the same rule
 * as the sla member of a complaint (csrd_sla_state). */
#define FR_BREACHED  "coalesce(c.first_responded_at, now()) > c.first_response_due_at"
#define RES_BREACHED "coalesce(c.resolved_at, c.rejected_at, now()) > c.resolution_due_at"
#define OPEN_STATUS  "c.status IN ('new', 'acknowledged', 'in_progress')"
#define RESOLUTION_MEDIAN_HOURS                                                                    \
    "csrd_round2(percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', c.resolved_at"     \
    " - c.created_at) / 3600) FILTER (WHERE c.resolved_at IS NOT NULL)::numeric)"

#define N(col, v) "'" v "', count(*) FILTER (WHERE " col " = '" v "')"
#define S(col, v) "'" v "', coalesce(sum(n) FILTER (WHERE " col " = '" v "'), 0)::bigint"

// clang-format off
const struct db_stmt reports_statements[] = {
    {"reports_zones", "SELECT name FROM pg_timezone_names"},
    /* customers existing at the end of the window (created before it, not archived by then);
       complaints created, follow-ups completed (satisfaction) or scheduled, interactions
       that occurred in it */
    {"reports_overview",
     "WITH " WINDOW ","
     " cu AS MATERIALIZED (SELECT c.tier, c.status,"
     " coalesce(nullif(btrim(c.address->>'region'), ''), 'unknown') AS region, count(*) AS n"
     " FROM customers c WHERE c.created_at < " WT
     " AND (c.archived_at IS NULL OR c.archived_at >= " WT ") GROUP BY 1, 2, 3),"
     " co AS (SELECT count(*) AS total,"
     " json_build_object(" N("c.status", "new") ", " N("c.status", "acknowledged") ", "
     N("c.status", "in_progress") ", " N("c.status", "resolved") ", " N("c.status", "rejected")
     ", " N("c.status", "closed") ") AS by_status,"
     " json_build_object(" N("c.category", "product_quality") ", "
     N("c.category", "service_attitude") ", " N("c.category", "delivery") ", "
     N("c.category", "billing") ", " N("c.category", "after_sales") ", " N("c.category", "other")
     ") AS by_category,"
     " json_build_object(" N("c.severity", "low") ", " N("c.severity", "medium") ", "
     N("c.severity", "high") ", " N("c.severity", "critical") ") AS by_severity,"
     " count(*) FILTER (WHERE " FR_BREACHED ") AS fr_breached,"
     " csrd_round2(percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch',"
     " c.first_responded_at - c.created_at) / 60)"
     " FILTER (WHERE c.first_responded_at IS NOT NULL)::numeric) AS fr_median,"
     " count(*) FILTER (WHERE " RES_BREACHED ") AS res_breached,"
     " " RESOLUTION_MEDIAN_HOURS " AS res_median"
     " FROM complaints c WHERE c.created_at >= " WF " AND c.created_at < " WT "),"
     " sa AS (SELECT count(*) AS responses, csrd_round2(avg(f.satisfaction)) AS average,"
     " json_build_object('1', count(*) FILTER (WHERE f.satisfaction = 1),"
     " '2', count(*) FILTER (WHERE f.satisfaction = 2), '3', count(*) FILTER (WHERE f.satisfaction = 3),"
     " '4', count(*) FILTER (WHERE f.satisfaction = 4), '5', count(*) FILTER (WHERE f.satisfaction = 5))"
     " AS distribution, count(*) FILTER (WHERE f.satisfaction >= 4) AS satisfied,"
     " count(f.nps) AS nps_n, count(*) FILTER (WHERE f.nps >= 9) AS promoters,"
     " count(*) FILTER (WHERE f.nps <= 6) AS detractors"
     " FROM follow_ups f WHERE f.status = 'completed' AND f.completed_at >= " WF
     " AND f.completed_at < " WT "),"
     " fu AS (SELECT count(*) FILTER (WHERE f.status <> 'cancelled') AS scheduled,"
     " count(*) FILTER (WHERE f.status = 'completed') AS completed,"
     " count(*) FILTER (WHERE f.status = 'no_response') AS no_response,"
     " count(*) FILTER (WHERE f.status = 'scheduled' AND f.scheduled_at < now()) AS overdue,"
     " count(*) FILTER (WHERE f.status = 'cancelled') AS cancelled"
     " FROM follow_ups f WHERE f.scheduled_at >= " WF " AND f.scheduled_at < " WT "),"
     " it AS (SELECT count(*) AS total,"
     " json_build_object(" N("i.channel", "phone") ", " N("i.channel", "email") ", "
     N("i.channel", "sms") ", " N("i.channel", "chat") ", " N("i.channel", "web") ", "
     N("i.channel", "visit") ", " N("i.channel", "letter") ", " N("i.channel", "social")
     ") AS by_channel, csrd_round2(avg(i.experience_score)) AS average"
     " FROM interactions i WHERE i.occurred_at >= " WF " AND i.occurred_at < " WT ")"
     " SELECT json_build_object('from', csrd_ts(w.f), 'to', csrd_ts(w.t),"
     " 'customers', (SELECT json_build_object('total', coalesce(sum(n), 0)::bigint,"
     " 'by_tier', json_build_object(" S("tier", "vip") ", " S("tier", "key") ", "
     S("tier", "regular") ", " S("tier", "minor") "),"
     " 'by_status', json_build_object(" S("status", "prospect") ", " S("status", "active") ", "
     S("status", "inactive") ", " S("status", "lost") "),"
     " 'by_region', (SELECT coalesce(json_object_agg(region, n ORDER BY region), '{}')"
     " FROM (SELECT region, sum(n)::bigint AS n FROM cu GROUP BY region) r)) FROM cu),"
     " 'complaints', json_build_object('total', co.total, 'by_status', co.by_status,"
     " 'by_category', co.by_category, 'by_severity', co.by_severity,"
     " 'first_response', json_build_object('breached', co.fr_breached,"
     " 'breach_rate', csrd_rate(co.fr_breached, co.total), 'median_minutes', co.fr_median),"
     " 'resolution', json_build_object('breached', co.res_breached,"
     " 'breach_rate', csrd_rate(co.res_breached, co.total), 'median_hours', co.res_median)),"
     " 'satisfaction', json_build_object('responses', sa.responses, 'average', sa.average,"
     " 'distribution', sa.distribution, 'satisfied_rate', csrd_rate(sa.satisfied, sa.responses),"
     " 'nps', CASE WHEN sa.nps_n > 0 THEN round(100.0 * (sa.promoters - sa.detractors)"
     " / sa.nps_n, 1)::float8 END),"
     " 'follow_ups', json_build_object('scheduled', fu.scheduled, 'completed', fu.completed,"
     " 'overdue', fu.overdue, 'no_response', fu.no_response, 'cancelled', fu.cancelled,"
     " 'completion_rate', csrd_rate(fu.completed, fu.completed + fu.no_response + fu.overdue)),"
     " 'interactions', json_build_object('total', it.total, 'by_channel', it.by_channel,"
     " 'average_experience_score', it.average))::text"
     " FROM w, co, sa, fu, it"},
    /* $3 interval (day|week|month), $4 time zone: buckets start at local midnight there;
       the figures per bucket come from csrd_trend (schema/012: 15-minute summary rows) */
    {"reports_trend",
     "WITH " WINDOW ","
     " b AS (SELECT s AS ls FROM w, generate_series(date_trunc($3, w.f AT TIME ZONE $4),"
     " w.t AT TIME ZONE $4, ('1 ' || $3)::interval) s WHERE s < w.t AT TIME ZONE $4),"
     " x AS (SELECT t.* FROM w, csrd_trend(w.f, w.t, $3, $4) t)"
     " SELECT json_build_object('interval', $3, 'tz', $4, 'from', csrd_ts(w.f),"
     " 'to', csrd_ts(w.t), 'data', coalesce((SELECT json_agg(json_build_object("
     " 'start', csrd_ts(b.ls AT TIME ZONE $4), 'created', coalesce(x.created, 0),"
     " 'resolved', coalesce(x.resolved, 0), 'breached', coalesce(x.breached, 0),"
     " 'average_satisfaction', csrd_round2(x.sat_avg)) ORDER BY b.ls)"
     " FROM b LEFT JOIN x USING (ls)), '[]'))::text FROM w"},
    /* complaints created in the window, per assignee (null: unassigned) */
    {"reports_agents",
     "WITH " WINDOW ","
     " a AS (SELECT c.assignee, count(*) AS complaints,"
     " count(*) FILTER (WHERE " OPEN_STATUS ") AS open,"
     " count(*) FILTER (WHERE " FR_BREACHED " OR " RES_BREACHED ") AS breached,"
     " " RESOLUTION_MEDIAN_HOURS " AS median_resolution_hours,"
     " csrd_round2(avg(c.customer_satisfaction)) AS average_satisfaction"
     " FROM complaints c WHERE c.created_at >= " WF " AND c.created_at < " WT
     " GROUP BY c.assignee)"
     " SELECT json_build_object('from', csrd_ts(w.f), 'to', csrd_ts(w.t),"
     " 'data', coalesce((SELECT json_agg(json_build_object('assignee', a.assignee,"
     " 'complaints', a.complaints, 'open', a.open, 'breached', a.breached,"
     " 'median_resolution_hours', a.median_resolution_hours,"
     " 'average_satisfaction', a.average_satisfaction)"
     " ORDER BY a.complaints DESC, a.assignee NULLS LAST) FROM a), '[]'))::text FROM w"},
    {NULL, NULL}};
// clang-format on

/* The IANA zone names PostgreSQL knows, read once per process (pg_timezone_names takes
 * ~50 ms; the list changes only with a tzdata upgrade, which restarts the database and, in
 * practice, csrd). Sorted for bsearch. */
static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;
static char **zones;
static size_t nzones;

static int zone_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 known, 0 unknown, -1 failure (problem queued). The list is read without the lock held
 * (a request waiting for the database gives its worker thread to others, which may ask for
 * the list too); the first reader to finish installs it. */
static int zone_known(struct request *r, const char *tz)
{
    pthread_mutex_lock(&zones_lock);
    bool have = zones != NULL;
    pthread_mutex_unlock(&zones_lock);
    if (!have) {
        struct db_rows *rows = rdb_run(r, "reports_zones", 0, NULL);
        if (!rows)
            return -1;
        size_t n = (size_t)db_nrows(rows);
        char **list = xcalloc(n ? n : 1, sizeof(*list));
        for (size_t i = 0; i < n; i++)
            list[i] = xstrdup(db_get(rows, (int)i, 0));
        qsort(list, n, sizeof(*list), zone_cmp);
        pthread_mutex_lock(&zones_lock);
        if (!zones) {
            zones = list;
            nzones = n;
            list = NULL;
        }
        pthread_mutex_unlock(&zones_lock);
        if (list) { /* another request was first */
            for (size_t i = 0; i < n; i++)
                free(list[i]);
            free(list);
        }
    }
    return bsearch(&tz, zones, nzones, sizeof(*zones), zone_cmp) != NULL;
}

/* from/to: RFC 3339, from < to, at most five years apart (either may be left out). */
static bool window_ok(struct request *r, const char **from, const char **to)
{
    *from = query_get(&r->query, "from");
    *to = query_get(&r->query, "to");
    int64_t f = 0, t = (int64_t)time_now_ms();
    if (*to && !time_rfc3339_to_ms(*to, &t)) {
        http_problem(r, 400, "to must be an RFC 3339 timestamp (2026-01-31T00:00:00Z)");
        return false;
    }
    if (*from && !time_rfc3339_to_ms(*from, &f)) {
        http_problem(r, 400, "from must be an RFC 3339 timestamp (2026-01-01T00:00:00Z)");
        return false;
    }
    if (!*from)
        f = t - DEFAULT_WINDOW;
    if (f >= t) {
        http_problem(r, 400, "from must be before to");
        return false;
    }
    if (t - f > MAX_WINDOW_MS) {
        http_problem(r, 400, "the window from..to may span at most five years (1827 days)");
        return false;
    }
    return true;
}

/* CSV of a report: a "data" list becomes one row per entry with the given columns; any
 * other report one "metric,value" row per figure, the metric its dotted path. */
static void csv_flatten(struct strbuf *out, const char *path, const json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            char sub[256]; /* the report's own member names, a few levels deep */
            snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", k);
            csv_flatten(out, sub, m);
        }
        return;
    }
    export_csv_field(out, path);
    strbuf_puts(out, ",");
    if (json_is_string(v)) {
        export_csv_field(out, json_string_value(v));
    } else if (!json_is_null(v)) {
        char *text = json_text(v);
        strbuf_puts(out, text);
        free(text);
    }
    strbuf_puts(out, "\r\n");
}

static void csv_table(struct strbuf *out, const json_t *data, const char *const *columns)
{
    for (const char *const *c = columns; *c; c++) {
        strbuf_puts(out, c == columns ? "" : ",");
        export_csv_field(out, *c);
    }
    strbuf_puts(out, "\r\n");
    size_t i;
    const json_t *row;
    json_array_foreach((json_t *)data, i, row)
    {
        for (const char *const *c = columns; *c; c++) {
            strbuf_puts(out, c == columns ? "" : ",");
            const json_t *v = json_object_get(row, *c);
            if (json_is_string(v)) {
                export_csv_field(out, json_string_value(v));
            } else if (v && !json_is_null(v)) {
                char *text = json_text(v);
                strbuf_puts(out, text);
                free(text);
            }
        }
        strbuf_puts(out, "\r\n");
    }
}

/* Accept: JSON (default) or text/csv; 406 otherwise. *csv tells which. */
static bool negotiate(struct request *r, bool *csv)
{
    const char *accept = http_header(r, "Accept");
    *csv = accept && export_accepts(accept, "text/csv");
    if (!accept || *csv || export_accepts(accept, "application/json") ||
        export_accepts(accept, "*/*") || export_accepts(accept, "application/*"))
        return true;
    http_problem(r, 406, "reports are application/json or text/csv (Accept)");
    return false;
}

/* Runs the report statement and replies with its JSON, or its CSV (columns NULL: metric,
 * value rows). */
static void run_report(struct request *r, bool csv, const char *stmt, int nparams,
                       const char *const *params, const char *const *columns)
{
    struct db_rows *rows = rdb_run(r, stmt, nparams, params);
    if (!rows)
        return;
    const char *json = db_get(rows, 0, 0);
    http_add_header(r, "Cache-Control", "no-store");
    if (!csv) {
        http_reply_raw(r, 200, "application/json", xstrdup(json), strlen(json));
        return;
    }
    json_t *doc = json_load_stored(json);
    if (!json_is_object(doc)) {
        json_decref(doc);
        http_problem(r, 500, "the report could not be read");
        return;
    }
    struct strbuf out;
    strbuf_init(&out);
    if (columns) {
        csv_table(&out, json_object_get(doc, "data"), columns);
    } else {
        strbuf_puts(&out, "metric,value\r\n");
        csv_flatten(&out, "", doc);
    }
    json_decref(doc);
    size_t len;
    char *body = strbuf_take(&out, &len);
    http_reply_raw(r, 200, "text/csv; charset=utf-8", body, len);
}

/* What every report checks first: the parameters it knows, the window, the format. */
static bool report_query(struct request *r, const char *const *allowed, const char **from,
                         const char **to, bool *csv)
{
    return query_only(r, allowed) && window_ok(r, from, to) && negotiate(r, csv);
}

static void reports_overview(struct request *r)
{
    static const char *const allowed[] = {"from", "to", NULL};
    const char *from, *to;
    bool csv;
    if (!report_query(r, allowed, &from, &to, &csv))
        return;
    const char *params[] = {from, to};
    run_report(r, csv, "reports_overview", 2, params, NULL);
}

static void reports_trend(struct request *r)
{
    static const char *const allowed[] = {"interval", "from", "to", "tz", NULL};
    static const char *const columns[] = {
        "start", "created", "resolved", "breached", "average_satisfaction", NULL};
    const char *from, *to;
    bool csv;
    if (!report_query(r, allowed, &from, &to, &csv))
        return;
    const char *interval = query_get(&r->query, "interval");
    if (!interval)
        interval = "day";
    if (strcmp(interval, "day") && strcmp(interval, "week") && strcmp(interval, "month")) {
        http_problem(r, 400, "interval must be day, week or month");
        return;
    }
    const char *tz = query_get(&r->query, "tz");
    if (!tz)
        tz = "UTC";
    int known = strlen(tz) > 64 ? 0 : zone_known(r, tz);
    if (known < 0)
        return;
    if (!known) {
        http_problem(r, 400, "tz must be an IANA time zone such as Asia/Shanghai");
        return;
    }
    const char *params[] = {from, to, interval, tz};
    run_report(r, csv, "reports_trend", 4, params, columns);
}

static void reports_agents(struct request *r)
{
    static const char *const allowed[] = {"from", "to", NULL};
    static const char *const columns[] = {"assignee",
                                          "complaints",
                                          "open",
                                          "breached",
                                          "median_resolution_hours",
                                          "average_satisfaction",
                                          NULL};
    const char *from, *to;
    bool csv;
    if (!report_query(r, allowed, &from, &to, &csv))
        return;
    const char *params[] = {from, to};
    run_report(r, csv, "reports_agents", 2, params, columns);
}

const struct route reports_routes[] = {
    {M_GET, "/v1/reports/overview", reports_overview, ROLE_SUPERVISOR, ROUTE_READ_ONLY, 0},
    {M_GET, "/v1/reports/complaints/trend", reports_trend, ROLE_SUPERVISOR, ROUTE_READ_ONLY, 0},
    {M_GET, "/v1/reports/agents", reports_agents, ROLE_SUPERVISOR, ROUTE_READ_ONLY, 0},
    {0, NULL, NULL, 0, 0, 0}};

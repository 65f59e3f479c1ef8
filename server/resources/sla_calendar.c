/* The SLA calendar: one per deployment, replaced whole by PUT. Validation here; the deadline
 * arithmetic is csrd_business_deadline in schema/008_sla_calendar.sql, the one place it is
 * written. */
#include "resources/sla_calendar.h"
#include "json/json_text.h"
#include "resources/plumbing.h"
#include "util/timefmt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

// clang-format off
const struct db_stmt sla_calendar_statements[] = {
    {"sla_calendar_get",
     "SELECT sla_calendar_json(c)::text, c.version FROM sla_calendar c WHERE c.id = 1"},
    {"sla_calendar_lock",
     "SELECT sla_calendar_json(c)::text, c.version FROM sla_calendar c WHERE c.id = 1"
     " AND $1::text IS NOT NULL FOR UPDATE"},
    {"sla_calendar_zone", "SELECT 1 FROM pg_timezone_names WHERE name = $1"},
    {"sla_calendar_update",
     "UPDATE sla_calendar c SET time_zone = j->>'time_zone', hours = j->'hours',"
     " holidays = ARRAY(SELECT DISTINCT d::date FROM jsonb_array_elements_text("
     " coalesce(j->'holidays', '[]')) d ORDER BY 1), version = c.version + 1,"
     " updated_at = csrd_now() FROM (SELECT $2::jsonb AS j) s WHERE c.id = 1 AND $1 = '1'"
     " RETURNING sla_calendar_json(c)::text, c.version"},
    {NULL, NULL}};
// clang-format on

/* "HH:MM" as minutes; "24:00" only where allow_24. -1 when malformed. */
static int minutes(const json_t *v, bool allow_24)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
        return -1;
    return h * 60 + m;
}

/* Field errors of a calendar body; *open_minutes receives the week's open time. */
static void calendar_errors(const json_t *body, json_t *errors, int *open_minutes)
{
    *open_minutes = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        if (strcmp(k, "time_zone") && strcmp(k, "hours") && strcmp(k, "holidays"))
            json_error_add(errors, k, "is not a known field");
    }
    const json_t *tz = json_object_get(body, "time_zone");
    if (!json_is_string(tz) || !*json_string_value(tz) || strlen(json_string_value(tz)) > 64)
        json_error_add(errors, "time_zone", "is required: an IANA time zone such as Asia/Shanghai");
    const json_t *hours = json_object_get(body, "hours");
    if (!json_is_object(hours)) {
        json_error_add(errors, "hours", "is required: {\"mon\": [[\"09:00\", \"18:00\"]], ...}");
    } else {
        json_object_foreach((json_t *)hours, k, v)
        {
            char path[64];
            snprintf(path, sizeof(path), "hours.%.8s", k);
            const char *const *d = DAYS;
            while (*d && strcmp(*d, k))
                d++;
            if (!*d) {
                json_error_add(errors, path, "is not a day (mon, tue, wed, thu, fri, sat, sun)");
                continue;
            }
            if (!json_is_array(v) || json_array_size(v) > 4) {
                json_error_add(errors, path, "must be a list of at most 4 [from, to] intervals");
                continue;
            }
            int last_end = -1;
            size_t i;
            json_t *iv;
            json_array_foreach(v, i, iv)
            {
                char ipath[96];
                snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
                int from = json_array_size(iv) == 2 ? minutes(json_array_get(iv, 0), false) : -1;
                int to = json_array_size(iv) == 2 ? minutes(json_array_get(iv, 1), true) : -1;
                if (!json_is_array(iv) || from < 0 || to < 0)
                    json_error_add(errors, ipath,
                                   "must be [\"HH:MM\", \"HH:MM\"] (\"24:00\" ends at midnight)");
                else if (to <= from)
                    json_error_add(errors, ipath, "must end after it starts");
                else if (from < last_end)
                    json_error_add(errors, ipath, "must start after the previous interval ends");
                else {
                    last_end = to;
                    *open_minutes += to - from;
                }
            }
        }
    }
    const json_t *holidays = json_object_get(body, "holidays");
    if (holidays && !json_is_null(holidays)) {
        size_t i;
        json_t *h;
        if (!json_is_array(holidays) || json_array_size(holidays) > 1000)
            json_error_add(errors, "holidays", "must be a list of at most 1000 dates");
        else
            json_array_foreach(holidays, i, h)
            {
                const char *s = json_string_value(h);
                if (!s || !time_date_valid(s)) {
                    char hpath[32];
                    snprintf(hpath, sizeof(hpath), "holidays[%zu]", i);
                    json_error_add(errors, hpath, "must be a date (YYYY-MM-DD)");
                }
            }
    }
}

static void sla_calendar_get(struct request *r)
{
    struct db_rows *rows = rdb_run(r, "sla_calendar_get", 0, NULL);
    if (rows && db_nrows(rows) == 1)
        reply_record_get(r, db_get(rows, 0, 0), db_get(rows, 0, 1));
    else if (rows)
        http_problem(r, 500, "the SLA calendar is missing");
}

static void sla_calendar_put(struct request *r)
{
    json_t *body = req_json_object(r, false);
    if (!body)
        return;
    json_t *errors = json_array();
    int open_minutes;
    calendar_errors(body, errors, &open_minutes);
    const char *tz = json_string_value(json_object_get(body, "time_zone"));
    if (!json_array_size(errors) && open_minutes == 0)
        json_error_add(errors, "hours",
                       "has no open hours: business-hours deadlines would never come");
    if (!json_array_size(errors)) {
        struct db_rows *zone = rdb_run(r, "sla_calendar_zone", 1, &tz);
        if (!zone)
            goto done;
        if (db_nrows(zone) == 0)
            json_error_add(errors, "time_zone", "is not a known IANA time zone");
    }
    if (json_array_size(errors)) {
        http_problem_fields(r, errors);
        errors = NULL;
        goto done;
    }
    char *doc = json_text(body);
    const char *one = "1";
    const char *params[] = {one, doc};
    struct db_rows *upd = lock_and_run(r, "sla_calendar_lock", "SLA calendar", one,
                                       "sla_calendar_update", 2, params, NULL);
    free(doc);
    if (upd)
        reply_returned(r, 200, upd, NULL);
done:
    json_decref(errors);
    json_decref(body);
}

const struct route sla_calendar_routes[] = {
    {M_GET, "/v1/sla-calendar", sla_calendar_get, ROLE_VIEWER, ROUTE_READ_ONLY, 0},
    {M_PUT, "/v1/sla-calendar", sla_calendar_put, ROLE_SUPERVISOR, 0, 0},
    {0, NULL, NULL, 0, 0, 0}};

/* The change feed: entries after a position, oldest first, never beyond the horizon below
 * which no entry can appear any more (csrd_change_horizon), so that a poller that always
 * asks for after=<next_after> sees every change exactly once and in order. Read on the
 * primary: the horizon is a property of the primary's running transactions. */
#include "resources/changes.h"
#include "resources/plumbing.h"
#include "util/strbuf.h"
#include "util/text.h"
#include <stdio.h>
#include <string.h>

// clang-format off
const struct db_stmt changes_statements[] = {
    {"changes_page",
     /* ORDER BY the table's column: the output column seq::text is also called seq, and
      * text order puts 1000000000 before 999999999 */
     "SELECT c.seq::text, json_build_object('seq', c.seq, 'entity', c.entity, 'id', c.id,"
     " 'action', c.action, 'at', csrd_ts(c.at))::text"
     " FROM changes c WHERE c.seq > $1::bigint AND c.seq < csrd_change_horizon()"
     " ORDER BY c.seq LIMIT $2::integer"},
    {NULL, NULL}};
// clang-format on

static void changes_list(struct request *r)
{
    static const char *const ALLOWED[] = {"after", "limit", NULL};
    if (!query_only(r, ALLOWED))
        return;
    long after = 0, limit = 100;
    const char *v = query_get(&r->query, "after");
    if (v && !text_parse_long(v, 0, 9007199254740991L, &after)) {
        http_problem(r, 400, "after must be a seq from this feed (an integer, 0 for the start)");
        return;
    }
    v = query_get(&r->query, "limit");
    if (v && !text_parse_long(v, 1, 1000, &limit)) {
        http_problem(r, 400, "limit must be an integer from 1 to 1000");
        return;
    }
    char after_text[24], limit_text[24];
    snprintf(after_text, sizeof(after_text), "%ld", after);
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    const char *params[] = {after_text, limit_text};
    struct db_rows *rows = rdb_run(r, "changes_page", 2, params);
    if (!rows)
        return;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "{\"data\":[");
    int n = db_nrows(rows);
    for (int i = 0; i < n; i++)
        strbuf_printf(&sb, "%s%s", i ? "," : "", db_get(rows, i, 1));
    strbuf_printf(&sb, "],\"next_after\":%s}", n ? db_get(rows, n - 1, 0) : after_text);
    size_t len;
    char *body = strbuf_take(&sb, &len);
    http_reply_raw(r, 200, "application/json", body, len);
}

const struct route changes_routes[] = {{M_GET, "/v1/changes", changes_list, ROLE_VIEWER, 0, 0},
                                       {0, NULL, NULL, 0, 0, 0}};

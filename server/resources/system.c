/* Probes, metrics and the spec. /healthz never touches the database (the process is alive);
 * /readyz does (this instance can serve). */
#include "util/xalloc.h"
#include "resources/system.h"
#include "db/db.h"
#include "http/metrics.h"
#include "http/server.h"
#include "log.h"
#include "util/embedded.h"
#include "util/strbuf.h"
#include "util/yaml_json.h"
#include <stdlib.h>
#include <string.h>

static char *spec_json; /* written once by system_init, read-only afterwards */
static size_t spec_len;

int system_init(void)
{
    char err[256] = "";
    json_t *spec = yaml_to_json(embedded_spec[0].data, embedded_spec[0].len, err, sizeof(err));
    if (!spec) {
        log_error("api-spec/openapi.yaml: %s", err);
        return -1;
    }
    spec_json = xjson_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(spec);
    spec_len = strlen(spec_json);
    return 0;
}

void system_shutdown(void)
{
    free(spec_json);
    spec_json = NULL;
}

static void reply_text(struct request *r, int status, const char *type, const char *text)
{
    char *body = xstrdup(text);
    http_reply_raw(r, status, type, body, strlen(body));
}

static void healthz(struct request *r)
{
    reply_text(r, 200, "application/json", "{\"status\":\"ok\"}");
}

static void readyz(struct request *r)
{
    if (http_draining()) { /* SIGTERM with CSRD_DRAIN_S: still serving, about to stop */
        http_add_header(r, "Retry-After", "1");
        http_problem(r, 503, "this instance is shutting down");
        return;
    }
    struct db_error err;
    if (!r->db && db_session_open(DB_PRIMARY, true, &r->db, &err) != DB_OK) {
        http_problem_db(r, &err);
        return;
    }
    if (db_ping(r->db) == DB_OK)
        reply_text(r, 200, "application/json", "{\"status\":\"ready\"}");
    else
        http_problem_db(r, db_last_error(r->db));
}

static void metrics(struct request *r)
{
    struct strbuf sb;
    strbuf_init(&sb);
    metrics_render(&sb);
    size_t len;
    char *body = strbuf_take(&sb, &len);
    http_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static void openapi(struct request *r)
{
    char *body = xmalloc(spec_len + 1);
    memcpy(body, spec_json, spec_len + 1);
    http_reply_raw(r, 200, "application/json", body, spec_len);
}

const struct route system_routes[] = {{M_GET, "/healthz", healthz, ROLE_NONE, 0, 0},
                                      {M_GET, "/readyz", readyz, ROLE_NONE, 0, 0},
                                      {M_GET, "/metrics", metrics, ROLE_VIEWER, 0, 0},
                                      {M_GET, "/v1/openapi.json", openapi, ROLE_NONE, 0, 0},
                                      {0, NULL, NULL, 0, 0, 0}};

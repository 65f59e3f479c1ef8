/* Probes, metrics, the spec and its documentation page. /healthz never touches the database
 * (the process is alive); /readyz does (this instance can serve). */
#include "util/xalloc.h"
#include "resources/system.h"
#include "db/db.h"
#include "http/metrics.h"
#include "http/server.h"
#include "log.h"
#include "util/embedded.h"
#include "util/strbuf.h"
#include "util/yaml_json.h"
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

/* server/resources/docs.html, embedded by CMakeLists.txt like the spec */
extern const struct embedded_file embedded_docs[];

static char *spec_json; /* written once by system_init, read-only afterwards */
static size_t spec_len;
static char docs_csp[512]; /* likewise: the Content-Security-Policy of /docs */

/* "'sha256-<base64>'" of the text between the page's first `open` tag and `close` tag (the
 * CSP hash of an inline element; the tags must carry no attributes); -1 when absent. */
static int inline_hash(const char *html, size_t len, const char *open, const char *close, char *out,
                       size_t size)
{
    const char *start = memmem(html, len, open, strlen(open));
    if (!start)
        return -1;
    start += strlen(open);
    const char *end = memmem(start, len - (size_t)(start - html), close, strlen(close));
    if (!end)
        return -1;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)start, (size_t)(end - start), md);
    unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    EVP_EncodeBlock(b64, md, SHA256_DIGEST_LENGTH);
    snprintf(out, size, "'sha256-%s'", (const char *)b64);
    return 0;
}

/* The page's only script and style sheet are inline; the policy allows exactly those (by
 * hash) and fetches from this origin, nothing else. */
static int docs_init(void)
{
    char script[64], style[64];
    if (inline_hash(embedded_docs[0].data, embedded_docs[0].len, "<script>", "</script>", script,
                    sizeof(script)) < 0 ||
        inline_hash(embedded_docs[0].data, embedded_docs[0].len, "<style>", "</style>", style,
                    sizeof(style)) < 0) {
        log_error("docs.html: no inline <script> or <style>");
        return -1;
    }
    snprintf(docs_csp, sizeof(docs_csp),
             "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; "
             "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
             script, style);
    return 0;
}

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
    return docs_init();
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

/* The API documentation: a page that fetches /v1/openapi.json and renders it. */
static void docs(struct request *r)
{
    char *body = xmalloc(embedded_docs[0].len + 1);
    memcpy(body, embedded_docs[0].data, embedded_docs[0].len + 1);
    http_add_header(r, "Content-Security-Policy", docs_csp);
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    http_add_header(r, "Referrer-Policy", "no-referrer");
    http_reply_raw(r, 200, "text/html; charset=utf-8", body, embedded_docs[0].len);
}

const struct route system_routes[] = {{M_GET, "/healthz", healthz, ROLE_NONE, 0, 0},
                                      {M_GET, "/readyz", readyz, ROLE_NONE, 0, 0},
                                      {M_GET, "/metrics", metrics, ROLE_VIEWER, 0, 0},
                                      {M_GET, "/v1/openapi.json", openapi, ROLE_NONE, 0, 0},
                                      {M_GET, "/docs", docs, ROLE_NONE, 0, 0},
                                      {0, NULL, NULL, 0, 0, 0}};

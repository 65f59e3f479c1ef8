/* Webhook registrations. The secret (whsec_ + 32 random bytes) is made here, shown in the
 * 201 only (an Idempotency-Key replay answers without it), and kept for signing. */
#include "resources/webhooks.h"
#include "config.h"
#include "json/json_text.h"
#include "resources/plumbing.h"
#include "util/text.h"
#include "util/uuid7.h"
#include "util/xalloc.h"
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#define EVENTS(entity)                                                                             \
    entity ".created", entity ".updated", entity ".archived", entity ".deleted",                   \
        entity ".transitioned", entity ".escalated", entity ".completed", entity ".cancelled"
static const char *const EVENT_NAMES[] = {
    "*", EVENTS("customer"), EVENTS("interaction"), EVENTS("complaint"), EVENTS("follow_up"), NULL};

static const struct field_spec WEBHOOK_FIELDS[] = {
    {.name = "id", .flags = FIELD_READONLY},
    {.name = "url", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 8, .max = 2000},
    {.name = "events",
     .type = F_ENUM_ARRAY,
     .flags = FIELD_REQUIRED,
     .max = 33,
     .enum_values = EVENT_NAMES},
    {.name = "description", .type = F_STRING, .max = 500},
    {.name = "active", .type = F_BOOL, .flags = FIELD_NOT_NULL},
    {.name = "failing_since", .flags = FIELD_READONLY},
    {.name = "version", .flags = FIELD_READONLY},
    {.name = "created_at", .flags = FIELD_READONLY},
    {.name = "updated_at", .flags = FIELD_READONLY},
    {0}};

#define WEBHOOK_LIST(name, cmp, lo, dir)                                                           \
    {                                                                                              \
        name, "SELECT webhook_json(w)::text, w.created_at::text, w.id FROM webhooks w"             \
              " WHERE (w.created_at, w.id) " cmp " (" lo ")"                                       \
              " ORDER BY w.created_at " dir ", w.id " dir " LIMIT $3"                              \
    }

// clang-format off
const struct db_stmt webhooks_statements[] = {
    /* new deliveries start after the entries that exist now */
    {"webhooks_insert",
     "INSERT INTO webhooks (id, url, events, description, active, secret, fed_up_to)"
     " SELECT $1::uuid, j->>'url', csrd_text_array(j->'events'), j->>'description',"
     " coalesce((j->>'active')::boolean, true), $3, csrd_change_horizon()"
     " FROM (SELECT $2::jsonb AS j) s RETURNING webhook_json(webhooks)::text, version"},
    {"webhooks_get", "SELECT webhook_json(w)::text, w.version FROM webhooks w WHERE w.id = $1"},
    {"webhooks_exists", "SELECT 1 FROM webhooks WHERE id = $1"},
    {"webhooks_lock",
     "SELECT webhook_json(w)::text, w.version FROM webhooks w WHERE w.id = $1 FOR UPDATE"},
    /* reactivating starts a new failing streak */
    {"webhooks_update",
     "UPDATE webhooks w SET url = j->>'url', events = csrd_text_array(j->'events'),"
     " description = j->>'description', active = (j->>'active')::boolean,"
     " failing_since = CASE WHEN (j->>'active')::boolean AND NOT w.active THEN NULL"
     " ELSE w.failing_since END, version = w.version + 1, updated_at = csrd_now()"
     " FROM (SELECT $3::jsonb AS j) s WHERE w.id = $1 AND w.version = $2"
     " RETURNING webhook_json(w)::text, w.version"},
    {"webhooks_delete", "DELETE FROM webhooks WHERE id = $1"},
    WEBHOOK_LIST("webhooks_list_asc", ">",
                 "coalesce($1::timestamptz, '-infinity'),"
                 " coalesce($2::uuid, '00000000-0000-0000-0000-000000000000')", "ASC"),
    WEBHOOK_LIST("webhooks_list_desc", "<",
                 "coalesce($1::timestamptz, 'infinity'),"
                 " coalesce($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')", "DESC"),
    /* the delivery log, newest first */
    {"webhooks_deliveries",
     "SELECT webhook_delivery_json(d)::text, d.seq::text, d.id FROM webhook_deliveries d"
     " WHERE d.webhook_id = $1 AND d.seq < coalesce($2::bigint, 9223372036854775807)"
     " AND ($3::uuid IS NULL OR true) ORDER BY d.seq DESC LIMIT $4"},
    {"webhooks_deliveries_count",
     "SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = $1"
     " AND $2::text IS NULL AND $3::uuid IS NULL AND $4::int IS NULL"},
    {NULL, NULL}};
// clang-format on

/* ---- address rules ---------------------------------------------------------------------- */

bool webhooks_address_allowed(const struct sockaddr *sa)
{
    if (cfg->webhook_allow_private)
        return true;
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        unsigned b0 = a >> 24, b1 = (a >> 16) & 0xff;
        return !(b0 == 0 || b0 == 10 || b0 == 127 || (b0 == 169 && b1 == 254) ||
                 (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168) ||
                 (b0 == 100 && (b1 & 0xc0) == 64) || b0 >= 224);
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct sockaddr_in v4 = {.sin_family = AF_INET};
            memcpy(&v4.sin_addr, a->s6_addr + 12, 4);
            return webhooks_address_allowed((const struct sockaddr *)&v4);
        }
        return !(IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
                 IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
                 (a->s6_addr[0] & 0xfe) == 0xfc /* unique local fc00::/7 */);
    }
    return false;
}

const char *webhooks_url_problem(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    const char *problem = NULL;
    if (!u)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        problem = "must be an absolute http or https URL";
    } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        problem = "must use http or https";
    } else {
        /* literal addresses and names that resolve now; delivery checks every connection */
        char name[256];
        snprintf(name, sizeof(name), "%s", host);
        if (name[0] == '[') {
            memmove(name, name + 1, strlen(name));
            name[strcspn(name, "]")] = '\0';
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        if (getaddrinfo(name, NULL, &hints, &ai) == 0) {
            for (struct addrinfo *p = ai; p && !problem; p = p->ai_next)
                if (!webhooks_address_allowed(p->ai_addr))
                    problem = "points to a loopback, private or link-local address"
                              " (CSRD_WEBHOOK_ALLOW_PRIVATE=1 allows that)";
            freeaddrinfo(ai);
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return problem;
}

static bool url_acceptable(struct request *r, const json_t *doc)
{
    const char *problem = webhooks_url_problem(json_string_value(json_object_get(doc, "url")));
    if (problem)
        http_problem_field(r, "url", problem);
    return !problem;
}

/* ---- handlers ----------------------------------------------------------------------------- */

static void webhooks_create(struct request *r)
{
    json_t *body = req_create_body(r, WEBHOOK_FIELDS, false);
    if (!body)
        return;
    if (url_acceptable(r, body)) {
        unsigned char raw[32];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
            abort();
        const char *secret =
            arena_printf(&r->arena, "whsec_%s", text_b64url_encode(&r->arena, raw, sizeof(raw)));
        char id[UUID_STR_LEN];
        uuid7_new(id);
        char *doc = json_text(body);
        const char *params[] = {id, doc, secret};
        struct db_rows *rows = rdb_run(r, "webhooks_insert", 3, params);
        free(doc);
        json_t *hook = rows && db_nrows(rows) ? json_loads(db_get(rows, 0, 0), 0, NULL) : NULL;
        if (hook) {
            /* the secret is in this answer only; a replay answers without it */
            r->resp.stored_body = arena_strdup(&r->arena, db_get(rows, 0, 0));
            json_object_set_new(hook, "secret", json_string(secret));
            char *text = json_text(hook);
            json_decref(hook);
            char etag[32];
            snprintf(etag, sizeof(etag), "\"%s\"", db_get(rows, 0, 1));
            http_add_header(r, "ETag", etag);
            http_add_header(r, "Location", arena_printf(&r->arena, "/v1/webhooks/%s", id));
            http_reply_raw(r, 201, "application/json", text, strlen(text));
        } else if (rows) {
            http_problem(r, 500, "the new webhook could not be rendered");
        }
    }
    json_decref(body);
}

static const struct record_kind WEBHOOK = {
    .what = "webhook",
    .path = "/v1/webhooks",
    .fields = WEBHOOK_FIELDS,
    .lock_stmt = "webhooks_lock",
    .update_stmt = "webhooks_update",
    .check = url_acceptable,
};

static void webhooks_get(struct request *r)
{
    reply_get_by_id(r, "webhooks_get", "webhook");
}

static void webhooks_patch(struct request *r)
{
    record_patch(r, &WEBHOOK);
}

static void webhooks_delete(struct request *r)
{
    const char *id = req_path_uuid(r, 0);
    if (id && lock_and_run(r, "webhooks_lock", "webhook", id, "webhooks_delete", 1, &id, NULL))
        http_reply_empty(r, 204);
}

static void webhooks_list(struct request *r)
{
    static const char *const SORTS[] = {"created_at", NULL};
    static const char *const NONE[] = {NULL};
    struct list_params lp;
    if (!list_parse(r, NONE, SORTS, "-created_at", &lp))
        return;
    if (lp.count) {
        http_problem(r, 400, "count is not supported on this list");
        return;
    }
    const char *params[] = {lp.cursor_key, lp.cursor_id, lp.limit_text};
    struct db_rows *rows =
        rdb_run(r, lp.desc ? "webhooks_list_desc" : "webhooks_list_asc", 3, params);
    if (rows)
        list_reply(r, rows, &lp, -1);
}

static void webhooks_deliveries(struct request *r)
{
    static const char *const SORTS[] = {"seq", NULL};
    static const char *const NONE[] = {NULL};
    const char *id = req_path_uuid(r, 0);
    struct list_params lp;
    if (!id || !list_parse(r, NONE, SORTS, "-seq", &lp))
        return;
    if (!lp.desc) {
        http_problem(r, 400, "the delivery log is newest first (sort=-seq)");
        return;
    }
    const char *params[4] = {id};
    run_list(r, &lp, "webhooks_deliveries", "webhooks_deliveries_count", 4, params,
             &(const struct list_parent){"webhooks_exists", id, "webhook"});
}

const struct route webhooks_routes[] = {
    {M_GET, "/v1/webhooks", webhooks_list, ROLE_ADMIN, 0, 0},
    {M_POST, "/v1/webhooks", webhooks_create, ROLE_ADMIN, ROUTE_IDEMPOTENT, 0},
    {M_GET, "/v1/webhooks/{id}", webhooks_get, ROLE_ADMIN, 0, 0},
    {M_PATCH, "/v1/webhooks/{id}", webhooks_patch, ROLE_ADMIN, 0, 0},
    {M_DELETE, "/v1/webhooks/{id}", webhooks_delete, ROLE_ADMIN, 0, 0},
    {M_GET, "/v1/webhooks/{id}/deliveries", webhooks_deliveries, ROLE_ADMIN, 0, 0},
    {0, NULL, NULL, 0, 0, 0}};

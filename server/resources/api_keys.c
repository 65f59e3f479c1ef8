/* API keys. The token is generated here, returned once in the 201 body, and only its SHA-256
 * hash is stored; listing shows the first 12 characters (token_prefix) to tell keys apart.
 * Revocation is a soft delete (revoked_at) so that audit trails keep their actor. */
#include "util/xalloc.h"
#include "json/json_text.h"
#include "resources/api_keys.h"
#include "auth.h"
#include "resources/plumbing.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROLES[] = {"viewer", "agent", "supervisor", "admin", NULL};

static const struct field_spec API_KEY_FIELDS[] = {
    {.name = "name", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 100},
    {.name = "role", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = ROLES},
    {.name = "expires_at", .type = F_TIMESTAMP},
    {0}};

#define API_KEY_LIST(name, cmp, lo, dir)                                                           \
    {                                                                                              \
        name, "SELECT api_key_json(k)::text, k.created_at::text, k.id FROM api_keys k"             \
              " WHERE ($1::text IS NULL OR k.role = ANY (string_to_array($1, ',')))"               \
              " AND ($2::boolean OR k.revoked_at IS NULL)"                                         \
              " AND (k.created_at, k.id) " cmp " (" lo ")"                                         \
              " ORDER BY k.created_at " dir ", k.id " dir " LIMIT $5"                              \
    }

// clang-format off
const struct db_stmt api_keys_statements[] = {
    {"api_keys_insert", "INSERT INTO api_keys (id, name, role, token_hash, token_prefix,"
                        " expires_at, created_by_id, created_by_name)"
                        " VALUES ($1, $2, $3, $4, $5, date_trunc('milliseconds', $6::timestamptz),"
                        " $7, $8) RETURNING api_key_json(api_keys)::text, version"},
    {"api_keys_get", "SELECT api_key_json(k)::text, k.version FROM api_keys k WHERE k.id = $1"},
    {"api_keys_lock", "SELECT api_key_json(k)::text, k.version FROM api_keys k WHERE k.id = $1"
                      " FOR UPDATE"},
    /* the NOTIFY is delivered to every instance when the transaction commits */
    {"api_keys_revoke", "UPDATE api_keys SET revoked_at = csrd_now(), version = version + 1,"
                        " updated_at = csrd_now(), revoked_by_id = $2, revoked_by_name = $3"
                        " WHERE id = $1 AND revoked_at IS NULL"
                        " RETURNING pg_notify('csrd_api_key_revoked', id::text)"},
    API_KEY_LIST("api_keys_list_asc", ">",
                 "coalesce($3::timestamptz, '-infinity'), coalesce($4::uuid, "
                 "'00000000-0000-0000-0000-000000000000')",
                 "ASC"),
    API_KEY_LIST("api_keys_list_desc", "<",
                 "coalesce($3::timestamptz, 'infinity'), coalesce($4::uuid, "
                 "'ffffffff-ffff-ffff-ffff-ffffffffffff')",
                 "DESC"),
    {NULL, NULL}};
// clang-format on

static void api_keys_create(struct request *r)
{
    json_t *body = req_valid_body(r, API_KEY_FIELDS);
    if (!body)
        return;
    const char *expires = json_string_value(json_object_get(body, "expires_at"));
    int64_t expires_ms = 0;
    if (expires && time_rfc3339_to_ms(expires, &expires_ms) &&
        expires_ms <= (int64_t)time_now_ms()) {
        json_decref(body);
        http_problem_field(r, "expires_at", "must lie in the future");
        return;
    }
    char id[UUID_STR_LEN], token[49], hash[65], prefix[13];
    uuid7_new(id);
    auth_new_token(token, hash);
    snprintf(prefix, sizeof(prefix), "%.12s", token);
    const char *params[] = {id,
                            json_string_value(json_object_get(body, "name")),
                            json_string_value(json_object_get(body, "role")),
                            hash,
                            prefix,
                            expires,
                            r->who.key_id,
                            r->who.name};
    struct db_rows *rows = rdb_run(r, "api_keys_insert", 8, params);
    json_decref(body);
    if (!rows || !reply_returned(r, 201, rows, arena_printf(&r->arena, "/v1/api-keys/%s", id)))
        return;
    /* The token is shown in this answer only: an Idempotency-Key replay gets the key
     * without it, and nothing that holds the token is ever stored. */
    json_t *key = json_loads(db_get(rows, 0, 0), 0, NULL);
    if (!key) {
        http_problem(r, 500, "the new key could not be rendered");
        return;
    }
    r->resp.stored_body = arena_strdup(&r->arena, db_get(rows, 0, 0));
    json_object_set_new(key, "token", json_string(token));
    char *text = json_text(key);
    json_decref(key);
    http_reply_raw(r, 201, "application/json", text, strlen(text));
}

static void api_keys_get(struct request *r)
{
    reply_get_by_id(r, "api_keys_get", "API key");
}

static void api_keys_revoke(struct request *r)
{
    const char *id = req_path_uuid(r, 0);
    const char *params[] = {id, r->who.key_id, r->who.name};
    if (!id || !lock_and_run(r, "api_keys_lock", "API key", id, "api_keys_revoke", 3, params, NULL))
        return;
    auth_forget(id);
    http_reply_empty(r, 204);
}

static void api_keys_list(struct request *r)
{
    static const char *const SORTS[] = {"created_at", NULL};
    static const char *const FILTERS[] = {"role", "include_revoked", NULL};
    struct list_params lp;
    bool revoked;
    if (!list_parse(r, FILTERS, SORTS, "-created_at", &lp) || !filter_enum_list(r, "role", ROLES) ||
        !filter_bool(r, "include_revoked", &revoked))
        return;
    if (lp.count) {
        http_problem(r, 400, "count is not supported on this list");
        return;
    }
    const char *params[] = {query_get(&r->query, "role"), revoked ? "true" : "false", lp.cursor_key,
                            lp.cursor_id, lp.limit_text};
    struct db_rows *rows =
        rdb_run(r, lp.desc ? "api_keys_list_desc" : "api_keys_list_asc", 5, params);
    if (rows)
        list_reply(r, rows, &lp, -1);
}

const struct route api_keys_routes[] = {
    {M_GET, "/v1/api-keys", api_keys_list, ROLE_ADMIN, 0, 0},
    {M_POST, "/v1/api-keys", api_keys_create, ROLE_ADMIN, ROUTE_IDEMPOTENT, 0},
    {M_GET, "/v1/api-keys/{id}", api_keys_get, ROLE_ADMIN, 0, 0},
    {M_DELETE, "/v1/api-keys/{id}", api_keys_revoke, ROLE_ADMIN, 0, 0},
    {0, NULL, NULL, 0, 0, 0}};

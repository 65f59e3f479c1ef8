/* Black-box tests of /v1/api-keys and of what keys can do. */
#include "harness.h"
#include "util/timefmt.h"
#include <unistd.h>

static struct resp *new_key(const char *role)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"%s\"}", unique("k"), role);
    return req("POST", "/v1/api-keys", ADMIN_TOKEN, body, NULL);
}

TEST(admin_creates_a_key_and_sees_the_token_once)
{
    struct resp *r = new_key("agent");
    CHECK_STATUS(r, 201);
    const char *token = jstr(r->json, "token");
    CHECK(token && strncmp(token, "csrd_", 5) == 0 && strlen(token) >= 40);
    CHECK(resp_header(r, "Location") != NULL);
    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s", jstr(r->json, "id"));
    struct resp *g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK(json_object_get(g->json, "token") == NULL);
    CHECK(g->body && !strstr(g->body, token));
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 200);
}

TEST(list_shows_no_secrets)
{
    struct resp *k = new_key("viewer");
    struct resp *r = req("GET", "/v1/api-keys?limit=500", ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(r, 200);
    CHECK(r->body && !strstr(r->body, jstr(k->json, "token")));
    CHECK(r->body && !strstr(r->body, "token_hash"));
}

TEST(only_admins_manage_keys)
{
    const char *sup = key_for("supervisor");
    CHECK_STATUS(req("GET", "/v1/api-keys", sup, NULL, NULL), 403);
    CHECK_STATUS(req("POST", "/v1/api-keys", sup, "{\"name\":\"x\",\"role\":\"admin\"}", NULL),
                 403);
}

TEST(revoked_key_is_refused_at_once)
{
    struct resp *k = new_key("agent");
    const char *token = jstr(k->json, "token");
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 200);
    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s", jstr(k->json, "id"));
    CHECK_STATUS(req("DELETE", path, ADMIN_TOKEN, NULL, NULL), 204);
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 401);
    struct resp *g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK(jstr(g->json, "revoked_at") != NULL);
}

TEST(keys_expire_and_record_their_last_use_and_the_admins_who_made_and_revoked_them)
{
    char body[256], at[48];
    time_format_ms(time_now_ms() - 1000, at);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"agent\",\"expires_at\":\"%s\"}",
             unique("exp"), at);
    struct resp *past = req("POST", "/v1/api-keys", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(past, 422);
    CHECK(past->body && strstr(past->body, "\"field\":\"expires_at\""));
    CHECK_STATUS(req("POST", "/v1/api-keys", ADMIN_TOKEN,
                     "{\"name\":\"x\",\"role\":\"agent\",\"expires_at\":\"tomorrow\"}", NULL),
                 422);

    uint64_t expiry = time_now_ms() + 5000; /* room for the uses below, even under valgrind */
    time_format_ms(expiry, at);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"agent\",\"expires_at\":\"%s\"}",
             unique("exp"), at);
    struct resp *k = req("POST", "/v1/api-keys", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(k, 201);
    CHECK_STR(jstr(k->json, "expires_at"), at);
    CHECK(json_is_null(json_object_get(k->json, "last_used_at")));
    CHECK(json_is_null(json_object_get(k->json, "revoked_by")));
    json_t *by = json_object_get(k->json, "created_by");
    CHECK_STR(jstr(by, "name"), "admin (CSRD_ADMIN_TOKEN)");
    CHECK(jstr(by, "id") != NULL);
    const char *token = jstr(k->json, "token");
    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s", jstr(k->json, "id"));

    /* the first use is recorded; another within the minute does not write again */
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 200);
    struct resp *g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(g, 200);
    char used[48] = "";
    snprintf(used, sizeof(used), "%s",
             jstr(g->json, "last_used_at") ? jstr(g->json, "last_used_at") : "");
    CHECK(used[0] != '\0');
    CHECK_INT((long)json_integer_value(json_object_get(g->json, "version")), 1);
    usleep(1200 * 1000); /* past the key cache (CSRD_AUTH_CACHE_MS, 1 s) */
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 200);
    CHECK_STR(jstr(req("GET", path, ADMIN_TOKEN, NULL, NULL)->json, "last_used_at"), used);

    /* expired: 401, like a revoked key */
    uint64_t now = time_now_ms();
    if (now < expiry + 1200) /* past the expiry and the key cache */
        usleep((useconds_t)(expiry + 1200 - now) * 1000);
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 401);

    /* a use a minute after the last one is written again */
    struct resp *k2 = new_key("viewer");
    const char *t2 = jstr(k2->json, "token");
    char p2[128];
    snprintf(p2, sizeof(p2), "/v1/api-keys/%s", jstr(k2->json, "id"));
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", t2, NULL, NULL), 200);
    db_scalar("UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1"
              " RETURNING 1",
              jstr(k2->json, "id"));
    usleep(1200 * 1000);
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", t2, NULL, NULL), 200);
    CHECK_STR(db_scalar("SELECT last_used_at > now() - interval '1 minute' FROM api_keys"
                        " WHERE id = $1",
                        jstr(k2->json, "id")),
              "t");

    /* revocation records its admin */
    CHECK_STATUS(req("DELETE", p2, ADMIN_TOKEN, NULL, NULL), 204);
    struct resp *rv = req("GET", p2, ADMIN_TOKEN, NULL, NULL);
    CHECK_STR(jstr(json_object_get(rv->json, "revoked_by"), "name"), "admin (CSRD_ADMIN_TOKEN)");
}

TEST(revocation_reaches_every_instance_at_once)
{
    /* both instances would trust a verified key for 10 minutes: only the notification can
     * make the second one refuse it */
    const char *env[] = {"CSRD_AUTH_CACHE_MS=600000", NULL};
    server_stop();
    server_start(env);
    server_select(1);
    server_start(env);
    server_select(0);
    struct resp *k = new_key("viewer");
    const char *token = jstr(k->json, "token");
    server_select(1);
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 200); /* now cached */
    server_select(0);
    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s", jstr(k->json, "id"));
    CHECK_STATUS(req("DELETE", path, ADMIN_TOKEN, NULL, NULL), 204);
    server_select(1);
    long status = 0;
    for (int i = 0; i < 50 && status != 401; i++) { /* delivery is asynchronous: up to 5 s */
        status = req("GET", "/v1/customers?limit=1", token, NULL, NULL)->status;
        if (status != 401)
            usleep(100000);
    }
    CHECK_INT(status, 401);
    server_stop();
    server_select(0);
    server_stop();
    server_start(NULL);
}

TEST(key_validation_is_422)
{
    struct resp *r =
        req("POST", "/v1/api-keys", ADMIN_TOKEN, "{\"name\":\"\",\"role\":\"root\"}", NULL);
    CHECK_STATUS(r, 422);
    CHECK(r->body && strstr(r->body, "\"field\":\"role\"") &&
          strstr(r->body, "\"field\":\"name\""));
}

TEST(unknown_key_is_404)
{
    CHECK_STATUS(
        req("DELETE", "/v1/api-keys/01a20c70-293b-7304-a1e5-000000000000", ADMIN_TOKEN, NULL, NULL),
        404);
}

TEST(idempotent_key_creation_stores_no_token_and_replays_without_it)
{
    char body[128], hdr[96];
    const char *name = unique("idem-key");
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"agent\"}", name);
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", name);
    const char *h[] = {hdr, NULL};
    struct resp *first = req("POST", "/v1/api-keys", ADMIN_TOKEN, body, h);
    CHECK_STATUS(first, 201);
    const char *token = jstr(first->json, "token");
    CHECK(token != NULL);
    if (!token)
        return;
    /* nothing stored holds the secret: not the stored response, not its headers */
    CHECK_STR(db_scalar("SELECT count(*) FROM idempotency_keys WHERE strpos(body, $1) > 0"
                        " OR strpos(coalesce(headers, ''), $1) > 0",
                        token),
              "0");
    CHECK_STR(db_scalar("SELECT count(*) FROM idempotency_keys WHERE key = $1", name), "1");
    /* the replay names the same key, without the token */
    struct resp *again = req("POST", "/v1/api-keys", ADMIN_TOKEN, body, h);
    CHECK_STATUS(again, 201);
    CHECK_STR(resp_header(again, "Idempotent-Replayed"), "true");
    CHECK_STR(jstr(again->json, "id"), jstr(first->json, "id"));
    CHECK(json_object_get(again->json, "token") == NULL);
    CHECK(again->body && !strstr(again->body, token));
    CHECK_STR(resp_header(again, "Location"), resp_header(first, "Location"));
    /* and the key works: one key was made, not two */
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", token, NULL, NULL), 200);
    CHECK_STR(db_scalar("SELECT count(*) FROM api_keys WHERE name = $1", name), "1");
}

TEST(keys_are_checked_on_the_primary_not_on_a_lagging_replica)
{
    /* A "replica" that still holds the key as it was before the revocation: a schema that
     * shadows api_keys with a copy taken earlier, put first on the replica URL's search_path
     * (every other table resolves to the primary's). */
    struct resp *k = new_key("viewer");
    CHECK_STATUS(k, 201);
    const char *token = jstr(k->json, "token");
    db_scalar("DROP SCHEMA IF EXISTS csrd_lagging_replica CASCADE", NULL);
    db_scalar("CREATE SCHEMA csrd_lagging_replica", NULL);
    db_scalar("CREATE TABLE csrd_lagging_replica.api_keys"
              " (LIKE public.api_keys INCLUDING ALL)",
              NULL);
    db_scalar("INSERT INTO csrd_lagging_replica.api_keys SELECT * FROM public.api_keys", NULL);
    db_scalar("CREATE FUNCTION csrd_lagging_replica.api_key_json(k csrd_lagging_replica.api_keys)"
              " RETURNS json LANGUAGE sql AS"
              " $$ SELECT public.api_key_json(ROW(k.*)::public.api_keys) $$",
              NULL);
    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s", jstr(k->json, "id"));
    CHECK_STATUS(req("DELETE", path, ADMIN_TOKEN, NULL, NULL), 204);

    char env[1200];
    snprintf(env, sizeof(env),
             "CSRD_READ_DATABASE_URL=%s%soptions=-csearch_path%%3Dcsrd_lagging_replica%%2Cpublic",
             getenv("DATABASE_URL"), strchr(getenv("DATABASE_URL"), '?') ? "&" : "?");
    const char *envs[] = {env, "CSRD_AUTH_CACHE_MS=0", NULL};
    server_stop();
    server_start(envs);
    struct resp *list = req("GET", "/v1/customers?limit=1", token, NULL, NULL);
    CHECK_STATUS(list, 401);
    CHECK_STATUS(req("GET", path, token, NULL, NULL), 401);
    /* valid keys still read, through the replica */
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", key_for("viewer"), NULL, NULL), 200);
    server_stop();
    db_scalar("DROP SCHEMA csrd_lagging_replica CASCADE", NULL);
    server_start(NULL);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

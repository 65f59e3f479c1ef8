/* Fault injection: PostgreSQL stopped and started under a running csrd. Runs serially
 * (RUN_SERIAL), because it takes the shared test database away from everyone. Needs
 * CSRD_TEST_PG_CTL ("scripts/pg-ctl.sh DATADIR PORT"), which scripts/test.sh sets. */
#include "harness.h"

#include <sys/wait.h>
#include <unistd.h>

static void pg_ctl(const char *action)
{
    const char *ctl = getenv("CSRD_TEST_PG_CTL");
    if (!ctl) {
        fprintf(stderr, "CSRD_TEST_PG_CTL is not set (run through scripts/test.sh)\n");
        check_failures++;
        return;
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s", ctl, action);
    CHECK_INT(system(cmd), 0);
}

TEST(database_restart_gives_503_then_recovers_at_once)
{
    const char *agent = key_for("agent"); /* keys are made while the database is up */
    struct resp *c =
        req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"F\"}", NULL);
    CHECK_STATUS(c, 201);
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));

    pg_ctl("stop");
    struct resp *r = req("GET", path, agent, NULL, NULL);
    CHECK_STATUS(r, 503);
    CHECK(resp_header(r, "Retry-After") != NULL);
    CHECK_STR(resp_header(r, "Content-Type"), "application/problem+json");
    for (int i = 0; i < 6; i++) /* more than the pool: every connection meets the outage */
        CHECK_STATUS(
            req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"G\"}", NULL), 503);
    CHECK_STATUS(req("GET", "/readyz", NULL, NULL, NULL), 503);
    CHECK_STATUS(req("GET", "/healthz", NULL, NULL, NULL), 200);
    pg_ctl("start");

    /* the first requests after the restart already succeed: no client-visible warm-up */
    CHECK_STATUS(req("GET", "/readyz", NULL, NULL, NULL), 200);
    json_t *ids = json_array();
    for (int i = 0; i < 8; i++) {
        struct resp *p = req("POST", "/v1/customers", agent,
                             "{\"kind\":\"person\",\"name\":\"After restart\"}", NULL);
        CHECK_STATUS(p, 201);
        if (p->status == 201)
            json_array_append_new(ids, json_string(jstr(p->json, "id")));
        CHECK_STATUS(req("GET", path, agent, NULL, NULL), 200);
    }
    /* every record answered 201 exists */
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        char p2[128];
        snprintf(p2, sizeof(p2), "/v1/customers/%s", json_string_value(id));
        CHECK_STATUS(req("GET", p2, agent, NULL, NULL), 200);
    }
    json_decref(ids);
}

TEST(connections_closed_while_idle_cost_no_request)
{
    /* An administrator (or a failover) ends csrd's backends while they sit in its pool. The
     * next writes must not meet the dead connections: a write's first statement cannot be
     * sent again after a loss, so each would answer 503 for an outage long over. Only this
     * server's backends are ended (its own application_name), so other tests run on. */
    char app[64], env[1200];
    snprintf(app, sizeof(app), "%s", unique("csrd-idle-"));
    snprintf(env, sizeof(env), "DATABASE_URL=%s%sapplication_name=%s", getenv("DATABASE_URL"),
             strchr(getenv("DATABASE_URL"), '?') ? "&" : "?", app);
    /* every request looks its key up, and no background job finds the loss first */
    const char *envs[] = {env, "CSRD_AUTH_CACHE_MS=0", "CSRD_WEBHOOK_POLL_MS=60000", NULL};
    server_stop();
    server_start(envs);
    const char *agent = key_for("agent");
    /* several connections in use at once, so that the pool holds more than one */
    const char *paths[8];
    struct resp *c =
        req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"Idle\"}", NULL);
    CHECK_STATUS(c, 201);
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
    for (int i = 0; i < 8; i++)
        paths[i] = path;
    struct resp *got[8];
    req_parallel("GET", paths, 8, agent, got);
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(got[i], 200);
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(req("PATCH", path, agent, "{\"notes\":\"warm\"}", NULL), 200);
    CHECK(atoi(db_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                         app)) > 0);

    char pids[512];
    snprintf(pids, sizeof(pids), "%s",
             db_scalar("SELECT string_agg(pid::text, ',') FROM pg_stat_activity"
                       " WHERE application_name = $1",
                       app));
    db_scalar("SELECT count(pg_terminate_backend(pid::int))"
              " FROM unnest(string_to_array($1, ',')) AS pid",
              pids);
    for (int i = 0; i < 100 && atoi(db_scalar("SELECT count(*) FROM pg_stat_activity"
                                              " WHERE pid::text = ANY(string_to_array($1, ','))",
                                              pids)) > 0;
         i++)
        usleep(20000);

    for (int i = 0; i < 8; i++) {
        CHECK_STATUS(req("POST", "/v1/customers", agent,
                         "{\"kind\":\"person\",\"name\":\"After the kill\"}", NULL),
                     201);
        CHECK_STATUS(req("PATCH", path, agent, "{\"notes\":\"after\"}", NULL), 200);
        CHECK_STATUS(req("GET", path, agent, NULL, NULL), 200);
    }
    server_stop();
    server_start(NULL);
}

/* Start order (compose, systemd): csrd started while PostgreSQL is still down waits for it
 * (CSRD_DB_WAIT_S) and becomes ready once it is up, instead of exiting. */
TEST(csrd_started_before_its_database_becomes_ready_once_the_database_is_up)
{
    server_stop();
    pg_ctl("stop");
    fflush(NULL);
    pid_t starter = fork();
    if (starter == 0) { /* the database comes up two seconds after csrd was started */
        sleep(2);
        const char *ctl = getenv("CSRD_TEST_PG_CTL");
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "%s start", ctl ? ctl : "false");
        _exit(system(cmd) == 0 ? 0 : 1);
    }
    static const char *const envs[] = {"CSRD_DB_WAIT_S=60", NULL};
    server_start(envs); /* returns once /healthz answers, i.e. after migrations ran */
    int st = -1;
    CHECK(waitpid(starter, &st, 0) == starter && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STATUS(req("GET", "/readyz", NULL, NULL, NULL), 200);
    CHECK_STATUS(req("POST", "/v1/customers", key_for("agent"),
                     "{\"kind\":\"person\",\"name\":\"Started before the database\"}", NULL),
                 201);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

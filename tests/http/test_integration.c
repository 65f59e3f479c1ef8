/* Black-box tests of the integration surface: the change feed under concurrent writers. */
#include "harness.h"
#include <libpq-fe.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Polls the feed from *after to its current end; appends the entries to all (borrowed into a
 * new array) and checks that seq strictly increases. */
static void poll_feed(long long *after, json_t *all)
{
    for (;;) {
        char path[96];
        snprintf(path, sizeof(path), "/v1/changes?after=%lld&limit=1000", *after);
        struct resp *r = req("GET", path, key_for("viewer"), NULL, NULL);
        CHECK_STATUS(r, 200);
        json_t *data = json_object_get(r->json, "data");
        size_t i;
        json_t *e;
        json_array_foreach(data, i, e)
        {
            long long seq = (long long)json_integer_value(json_object_get(e, "seq"));
            CHECK(seq > *after);
            *after = seq;
            json_array_append(all, e);
        }
        CHECK(json_integer_value(json_object_get(r->json, "next_after")) == *after);
        if (json_array_size(data) < 1000)
            return;
    }
}

TEST(change_feed_hands_out_every_change_once_and_in_order_under_concurrent_writers)
{
    long long after = 0;
    json_t *ignored = json_array();
    poll_feed(&after, ignored); /* the feed's current end */
    json_decref(ignored);

    enum { WRITERS = 6, EACH = 25 };
    int fds[2];
    CHECK(pipe(fds) == 0);
    const char *agent = key_for("agent");
    pid_t kids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            harness_after_fork();
            close(fds[0]);
            for (int i = 0; i < EACH; i++) {
                struct resp *c = req("POST", "/v1/customers", agent,
                                     "{\"kind\":\"person\",\"name\":\"Feed writer\"}", NULL);
                if (c->status == 201) { /* only acknowledged changes are promised */
                    char line[64];
                    int n = snprintf(line, sizeof(line), "%s\n", jstr(c->json, "id"));
                    if (write(fds[1], line, (size_t)n) != n)
                        _exit(3);
                }
            }
            _exit(0);
        }
    }
    close(fds[1]);
    /* poll while the writers run, and once more after they are done */
    json_t *seen = json_array();
    for (int i = 0; i < 20; i++) {
        poll_feed(&after, seen);
        usleep(20000);
    }
    for (int w = 0; w < WRITERS; w++) {
        int st;
        waitpid(kids[w], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    poll_feed(&after, seen);

    char buf[WRITERS * EACH * 40];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(buf) - 1 && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    int acknowledged = 0;
    for (char *save = NULL, *id = strtok_r(buf, "\n", &save); id;
         id = strtok_r(NULL, "\n", &save)) {
        acknowledged++;
        int found = 0;
        size_t i;
        json_t *e;
        json_array_foreach(seen, i, e)
        {
            if (!strcmp(jstr(e, "id"), id)) {
                found++;
                CHECK_STR(jstr(e, "entity"), "customer");
                CHECK_STR(jstr(e, "action"), "created");
            }
        }
        if (found != 1)
            fprintf(stderr, "customer %s is in the feed %d times\n", id, found);
        CHECK_INT(found, 1);
    }
    CHECK_INT(acknowledged, WRITERS * EACH);
    json_decref(seen);
}

TEST(change_feed_waits_for_a_transaction_that_commits_late)
{
    /* A writer takes its place in the feed first but commits last: an earlier entry must not
     * be skipped because a later one was handed out while it was still invisible. */
    long long after = 0;
    json_t *ignored = json_array();
    poll_feed(&after, ignored);
    json_decref(ignored);
    PGconn *slow = PQconnectdb(getenv("DATABASE_URL"));
    CHECK(PQstatus(slow) == CONNECTION_OK);
    PGresult *res = PQexec(slow, "BEGIN; INSERT INTO customers (id, kind, name)"
                                 " VALUES (gen_random_uuid(), 'person', 'Committed late')"
                                 " RETURNING id");
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
    char late[40] = "";
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        snprintf(late, sizeof(late), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    struct resp *c = req("POST", "/v1/customers", key_for("agent"),
                         "{\"kind\":\"person\",\"name\":\"Committed early\"}", NULL);
    CHECK_STATUS(c, 201);
    json_t *seen = json_array();
    poll_feed(&after, seen); /* the early one is committed, but must wait for the late one */
    size_t i;
    json_t *e;
    json_array_foreach(seen, i, e)
    {
        CHECK(strcmp(jstr(e, "id"), jstr(c->json, "id")) != 0);
    }
    res = PQexec(slow, "COMMIT");
    CHECK(PQresultStatus(res) == PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(slow);
    poll_feed(&after, seen);
    int late_at = -1, early_at = -1;
    json_array_foreach(seen, i, e)
    {
        if (!strcmp(jstr(e, "id"), late))
            late_at = (int)i;
        if (!strcmp(jstr(e, "id"), jstr(c->json, "id")))
            early_at = (int)i;
    }
    CHECK(late_at >= 0 && early_at > late_at); /* both, in the order they took their places */
    json_decref(seen);
}

TEST(change_feed_names_each_kind_of_change)
{
    long long after = 0;
    json_t *ignored = json_array();
    poll_feed(&after, ignored);
    json_decref(ignored);
    const char *agent = key_for("agent"), *sup = key_for("supervisor");
    struct resp *c =
        req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"Feed kinds\"}", NULL);
    CHECK_STATUS(c, 201);
    const char *customer = jstr(c->json, "id");
    char path[160], body[512];
    snprintf(path, sizeof(path), "/v1/customers/%s", customer);
    CHECK_STATUS(req("PATCH", path, agent, "{\"notes\":\"n\"}", NULL), 200);
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"category\":\"delivery\","
             "\"subject\":\"late\"}",
             customer);
    struct resp *k = req("POST", "/v1/complaints", agent, body, NULL);
    CHECK_STATUS(k, 201);
    char cpath[160];
    snprintf(cpath, sizeof(cpath), "/v1/complaints/%s/transitions", jstr(k->json, "id"));
    CHECK_STATUS(req("POST", cpath, agent, "{\"to\":\"in_progress\"}", NULL), 200);
    snprintf(cpath, sizeof(cpath), "/v1/complaints/%s/escalations", jstr(k->json, "id"));
    CHECK_STATUS(req("POST", cpath, sup, "{\"reason\":\"key account\"}", NULL), 200);
    CHECK_STATUS(req("DELETE", path, sup, NULL, NULL), 204);

    json_t *seen = json_array();
    poll_feed(&after, seen);
    static const char *const WANT[][2] = {{"customer", "created"},    {"customer", "updated"},
                                          {"complaint", "created"},   {"complaint", "transitioned"},
                                          {"complaint", "escalated"}, {"customer", "archived"}};
    size_t next = 0, i;
    json_t *e;
    json_array_foreach(seen, i, e)
    {
        const char *id = jstr(e, "id");
        if (strcmp(id, customer) != 0 && strcmp(id, jstr(k->json, "id")) != 0)
            continue;
        if (next < 6 && !strcmp(jstr(e, "entity"), WANT[next][0]) &&
            !strcmp(jstr(e, "action"), WANT[next][1]))
            next++;
    }
    CHECK_INT((long)next, 6);
    json_decref(seen);
    CHECK_STATUS(req("GET", "/v1/changes?after=-1", agent, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/changes?limit=1001", agent, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/changes?since=1", agent, NULL, NULL), 400);
    CHECK_STATUS(req("GET", "/v1/changes", NULL, NULL, NULL), 401);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

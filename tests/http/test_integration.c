/* Black-box tests of the integration surface: the change feed under concurrent writers. */
#include "harness.h"
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <signal.h>
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
            if (seq <= *after) {
                char *text = json_dumps(e, 0);
                fprintf(stderr, "feed: seq %lld after %lld (%s): %s\n", seq, *after, path,
                        text ? text : "?");
                free(text);
            }
            CHECK(seq > *after);
            *after = seq;
            json_array_append(all, e);
        }
        CHECK(json_integer_value(json_object_get(r->json, "next_after")) == *after);
        if (json_array_size(data) < 1000)
            return;
    }
}

/* A client process: 0 in the child (with the harness's connections of its own), the child's
 * pid in the parent. */
static pid_t fork_client(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        harness_after_fork();
    return pid;
}

/* A loopback port nobody listens on now: bound and released (0 if none could be had). */
static int free_loopback_port(void)
{
    int port = 0, probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (probe >= 0 && bind(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(probe, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (probe >= 0)
        close(probe);
    return port;
}

static int port_of(const char *base_url)
{
    const char *colon = strrchr(base_url, ':');
    return colon ? atoi(colon + 1) : 0;
}

/* Two csrd instances behind HAProxy (Debian's haproxy, checking /readyz every 200 ms): one is
 * stopped with SIGTERM while requests keep coming (CSRD_DRAIN_S=2: the check takes it out
 * while it still answers), and none of them fails; started again on its port, it rejoins. */
TEST(haproxy_loses_no_request_when_an_instance_drains_and_takes_it_back)
{
    const char *envs[] = {"CSRD_DRAIN_S=2", NULL};
    server_stop();
    server_start(envs);
    server_select(1);
    server_start(envs);
    int port_b = port_of(server_base());
    server_select(0);
    int port_a = port_of(server_base());

    char dir[] = "/tmp/csrd-haproxy-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char cfg_path[128], proxy[64];
    snprintf(cfg_path, sizeof(cfg_path), "%s/haproxy.cfg", dir);
    int port_p = free_loopback_port();
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port_p);
    FILE *f = fopen(cfg_path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f,
            "global\n  maxconn 512\n"
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n"
            "  timeout server 30s\n  retries 2\n  option redispatch\n"
            "frontend fe\n  bind 127.0.0.1:%d\n  default_backend csrd\n"
            "backend csrd\n  balance roundrobin\n  option httpchk GET /readyz\n"
            "  http-check expect status 200\n  default-server inter 200ms fall 2 rise 2\n"
            "  server a 127.0.0.1:%d check\n  server b 127.0.0.1:%d check\n",
            port_p, port_a, port_b);
    fclose(f);
    fflush(NULL);
    pid_t hp = fork();
    if (hp == 0) {
        execlp("haproxy", "haproxy", "-db", "-q", "-f", cfg_path, (char *)NULL);
        perror("exec haproxy (scripts/test.sh installs it)");
        _exit(127);
    }
    bool up = false;
    int failures = check_failures; /* refusals while HAProxy starts do not count */
    for (int i = 0; i < 100 && !up; i++) {
        usleep(100 * 1000);
        up = req_via(proxy, "GET", "/healthz", NULL, NULL)->status == 200;
    }
    check_failures = failures;
    CHECK(up);
    usleep(600 * 1000); /* both servers checked up */

    const char *agent = key_for("agent");
    struct resp *c = req_via(proxy, "POST", "/v1/customers", agent,
                             "{\"kind\":\"person\",\"name\":\"Balanced\"}");
    CHECK_STATUS(c, 201);
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));

    /* four clients send requests without a pause for 6 s; b gets SIGTERM a second in and is
     * gone two seconds later */
    enum { CLIENTS = 4 };
    pid_t clients[CLIENTS];
    for (int k = 0; k < CLIENTS; k++) {
        if ((clients[k] = fork_client()) != 0)
            continue;
        int sent = 0, failed = 0;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        time_t until = ts.tv_sec + 6;
        while (clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && ts.tv_sec < until) {
            struct resp *g = req_via(proxy, "GET", path, agent, NULL);
            struct resp *p = req_via(proxy, "POST", "/v1/customers", agent,
                                     "{\"kind\":\"person\",\"name\":\"Under load\"}");
            sent += 2;
            failed += (g->status != 200) + (p->status != 201);
        }
        fprintf(stderr, "client %d: %d requests through HAProxy, %d failed\n", k, sent, failed);
        _exit(failed > 0 ? 1 : sent > 10 ? 0 : 2);
    }
    usleep(1000 * 1000);
    server_select(1);
    server_signal(SIGTERM);
    server_select(0);
    for (int k = 0; k < CLIENTS; k++) {
        int st = 0;
        waitpid(clients[k], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    server_select(1);
    server_stop(); /* reaps b: it exited 0 after its drain */

    /* b comes back on its port and HAProxy sends it requests again */
    char listen_b[64];
    snprintf(listen_b, sizeof(listen_b), "CSRD_LISTEN=127.0.0.1:%d", port_b);
    const char *again[] = {listen_b, NULL};
    server_start(again);
    usleep(1000 * 1000); /* rise 2 x 200 ms */
    server_select(0);
    for (int i = 0; i < 20; i++)
        CHECK_STATUS(req_via(proxy, "GET", path, agent, NULL), 200);
    server_select(1);
    struct resp *m = req("GET", "/metrics", ADMIN_TOKEN, NULL, NULL);
    CHECK(m->body && strstr(m->body, "route=\"/v1/customers/{id}\",status=\"200\""));
    server_stop();
    server_select(0);

    kill(hp, SIGTERM);
    waitpid(hp, NULL, 0);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    server_stop();
    server_start(NULL);
}

/* scripts/ of the source tree, from CSRD_TEST_PG_CTL ("DIR/pg-ctl.sh DATADIR PORT"). */
static bool scripts_dir(char *out, size_t n)
{
    const char *ctl = getenv("CSRD_TEST_PG_CTL");
    const char *end = ctl ? strstr(ctl, "/pg-ctl.sh") : NULL;
    if (!end) {
        fprintf(stderr, "CSRD_TEST_PG_CTL is not set (run through scripts/test.sh)\n");
        return false;
    }
    snprintf(out, n, "%.*s", (int)(end - ctl), ctl);
    return true;
}

/* Read-your-writes over a real streaming replica that applies WAL 300 ms late: two csrd
 * instances read from it (CSRD_READ_DATABASE_URL). What one of them answers to a write, the
 * other never reads older when the client sends back the write's CSRD-Consistency-Token; a
 * lookup by id finds a new record even without it. */
TEST(a_lagging_replica_never_shows_a_client_less_than_it_wrote)
{
    char scripts[512], dir[128], cmd[1200], url[256];
    if (!scripts_dir(scripts, sizeof(scripts))) {
        check_failures++;
        return;
    }
    snprintf(dir, sizeof(dir), "/tmp/%s", unique("csrd-replica")); /* the script makes it */
    const char *at = strrchr(getenv("DATABASE_URL"), ':');         /* ...@127.0.0.1:PORT/csrd */
    int primary = at ? atoi(at + 1) : 0;
    int port = free_loopback_port();
    snprintf(cmd, sizeof(cmd), "%s/pg-replica.sh start %s/data %d %d 1s", scripts, dir, primary,
             port);
    CHECK_INT(system(cmd), 0);
    static char env_read[300];
    snprintf(url, sizeof(url), "postgresql://csrd@127.0.0.1:%d/csrd?application_name=csrd-replica",
             port);
    snprintf(env_read, sizeof(env_read), "CSRD_READ_DATABASE_URL=%s", url);
    const char *envs[] = {env_read, NULL};
    server_stop();
    server_start(envs);
    server_select(1);
    server_start(envs);
    server_select(0);
    const char *agent = key_for("agent"), *tag = unique("ryw");
    /* the replica really lags: a record written now is not there yet */
    char body[256];
    int missed_without = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(body, sizeof(body),
                 "{\"kind\":\"person\",\"name\":\"Replica %d\",\"external_ref\":\"%s-%d\"}", i, tag,
                 i);
        server_select(0);
        struct resp *c = req("POST", "/v1/customers", agent, body, NULL);
        CHECK_STATUS(c, 201);
        const char *token = resp_header(c, "CSRD-Consistency-Token");
        CHECK(token != NULL);
        char tok[64] = "", path[128], hdr[128], list[256];
        snprintf(tok, sizeof(tok), "%s", token ? token : "0/0");
        snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
        snprintf(hdr, sizeof(hdr), "CSRD-Consistency-Token: %s", tok);
        snprintf(list, sizeof(list), "/v1/customers?external_ref=%s-%d", tag, i);
        const char *with[] = {hdr, NULL};
        server_select(1);
        /* at once, without the token: the list reads the replica, a second behind */
        struct resp *bare = req("GET", list, agent, NULL, NULL);
        if (bare->status == 200 && json_array_size(json_object_get(bare->json, "data")) == 0)
            missed_without++;
        /* by id: found, with the token and without it (the primary is asked) */
        struct resp *g = req("GET", path, agent, NULL, with);
        CHECK_STATUS(g, 200);
        CHECK_STR(jstr(g->json, "name"), jstr(c->json, "name"));
        CHECK_STATUS(req("GET", path, agent, NULL, NULL), 200);
        /* a list: with the token it has the record */
        struct resp *l = req("GET", list, agent, NULL, with);
        CHECK_STATUS(l, 200);
        CHECK_INT((long)json_array_size(json_object_get(l->json, "data")), 1);
        /* a change through the other instance: its token shows the new version */
        char etag[32], if_match[64];
        snprintf(etag, sizeof(etag), "%s", resp_header(g, "ETag") ? resp_header(g, "ETag") : "");
        snprintf(if_match, sizeof(if_match), "If-Match: %s", etag);
        const char *hm[] = {if_match, NULL};
        struct resp *u = req("PATCH", path, agent, "{\"notes\":\"changed\"}", hm);
        CHECK_STATUS(u, 200);
        const char *t2 = resp_header(u, "CSRD-Consistency-Token");
        snprintf(hdr, sizeof(hdr), "CSRD-Consistency-Token: %s", t2 ? t2 : "0/0");
        server_select(0);
        struct resp *g2 = req("GET", path, agent, NULL, with);
        CHECK_STATUS(g2, 200);
        CHECK_STR(jstr(g2->json, "notes"), "changed");
    }
    /* the test would prove nothing if the replica were not behind */
    CHECK(missed_without > 0);
    fprintf(stderr, "lists without the token missed the new record %d times of 10\n",
            missed_without);
    /* reads with an older token go to the replica: once it has replayed that token, a record
     * written since is not in its lists yet, while the new token finds it (the primary) */
    usleep(1500 * 1000);
    struct resp *w0 =
        req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"Before\"}", NULL);
    char t0[128];
    snprintf(t0, sizeof(t0), "CSRD-Consistency-Token: %s",
             resp_header(w0, "CSRD-Consistency-Token") ? resp_header(w0, "CSRD-Consistency-Token")
                                                       : "0/0");
    usleep(1500 * 1000); /* the replica has replayed t0 */
    snprintf(body, sizeof(body),
             "{\"kind\":\"person\",\"name\":\"After\",\"external_ref\":\"%s-late\"}", tag);
    struct resp *w1 = req("POST", "/v1/customers", agent, body, NULL);
    CHECK_STATUS(w1, 201);
    char t1[128], late[256];
    snprintf(t1, sizeof(t1), "CSRD-Consistency-Token: %s",
             resp_header(w1, "CSRD-Consistency-Token") ? resp_header(w1, "CSRD-Consistency-Token")
                                                       : "0/0");
    snprintf(late, sizeof(late), "/v1/customers?external_ref=%s-late", tag);
    const char *old_token[] = {t0, NULL}, *new_token[] = {t1, NULL};
    struct resp *from_replica = req("GET", late, agent, NULL, old_token);
    CHECK_STATUS(from_replica, 200);
    CHECK_INT((long)json_array_size(json_object_get(from_replica->json, "data")), 0);
    struct resp *from_primary = req("GET", late, agent, NULL, new_token);
    CHECK_STATUS(from_primary, 200);
    CHECK_INT((long)json_array_size(json_object_get(from_primary->json, "data")), 1);
    /* a malformed token is refused */
    const char *bad[] = {"CSRD-Consistency-Token: yesterday", NULL};
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", agent, NULL, bad), 400);
    /* with no replica configured, writes carry no token */
    server_select(1);
    server_stop();
    server_select(0);
    server_stop();
    server_start(NULL);
    struct resp *plain =
        req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"No replica\"}", NULL);
    CHECK_STATUS(plain, 201);
    CHECK(resp_header(plain, "CSRD-Consistency-Token") == NULL);
    snprintf(cmd, sizeof(cmd), "%s/pg-replica.sh stop %s/data %d %d && rm -rf %s", scripts, dir,
             primary, port, dir);
    CHECK_INT(system(cmd), 0);
}

/* A replica that cannot be reached (nothing listens on port 1) costs no read: reads go to
 * the primary while it is down, by id, in lists and with a consistency token. */
TEST(reads_fall_back_to_the_primary_while_the_replica_is_unreachable)
{
    const char *envs[] = {"CSRD_READ_DATABASE_URL=postgresql://csrd@127.0.0.1:1/csrd", NULL};
    server_stop();
    server_start(envs);
    const char *agent = key_for("agent");
    struct resp *c = req("POST", "/v1/customers", agent,
                         "{\"kind\":\"person\",\"name\":\"No replica up\"}", NULL);
    CHECK_STATUS(c, 201);
    const char *token = resp_header(c, "CSRD-Consistency-Token");
    CHECK(token != NULL);
    char path[128], hdr[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
    snprintf(hdr, sizeof(hdr), "CSRD-Consistency-Token: %s", token ? token : "0/0");
    const char *with[] = {hdr, NULL};
    for (int i = 0; i < 3; i++) { /* the first finds the replica down, the others skip it */
        CHECK_STATUS(req("GET", path, agent, NULL, NULL), 200);
        CHECK_STATUS(req("GET", path, agent, NULL, with), 200);
        struct resp *l = req("GET", "/v1/customers?limit=5", agent, NULL, NULL);
        CHECK_STATUS(l, 200);
        CHECK(json_array_size(json_object_get(l->json, "data")) > 0);
        CHECK_STATUS(req("GET", "/v1/interactions?limit=1", agent, NULL, NULL), 200);
    }
    usleep(1200 * 1000); /* past the pause: the replica is tried again, and skipped again */
    CHECK_STATUS(req("GET", path, agent, NULL, NULL), 200);
    CHECK_STATUS(req("GET", "/readyz", NULL, NULL, NULL), 200);
    server_stop();
    server_start(NULL);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Failover: a primary with a synchronous streaming replica (scripts/pg-failover.sh), csrd
 * with a multi-host DATABASE_URL (target_session_attrs=read-write). Four clients create
 * customers without a pause; the primary is crashed (pg_ctl -m immediate) and the replica
 * promoted. Writes resume within 10 s, and every customer answered 201 is on the new
 * primary exactly once, under the id it was answered with. Requests that failed meanwhile
 * may or may not have been stored (a client that must know sends Idempotency-Key). */
TEST(a_crashed_primary_fails_over_to_its_sync_replica_losing_no_acknowledged_write)
{
    char scripts[512], dir[128], cmd[1200];
    if (!scripts_dir(scripts, sizeof(scripts))) {
        check_failures++;
        return;
    }
    snprintf(dir, sizeof(dir), "/tmp/%s", unique("csrd-failover"));
    int p1 = free_loopback_port(), p2 = free_loopback_port();
    snprintf(cmd, sizeof(cmd), "%s/pg-failover.sh start %s %d %d", scripts, dir, p1, p2);
    CHECK_INT(system(cmd), 0);
    static char env_db[300];
    snprintf(env_db, sizeof(env_db),
             "DATABASE_URL=postgresql://csrd@127.0.0.1:%d,127.0.0.1:%d/csrd"
             "?target_session_attrs=read-write&connect_timeout=2",
             p1, p2);
    const char *envs[] = {env_db, NULL};
    server_stop();
    server_start(envs); /* migrates the new cluster and makes its admin key */

    enum { CLIENTS = 4 };
    pid_t clients[CLIENTS];
    char stop_file[160];
    snprintf(stop_file, sizeof(stop_file), "%s/stop", dir);
    for (int k = 0; k < CLIENTS; k++) {
        if ((clients[k] = fork_client()) != 0)
            continue;
        char path[200];
        snprintf(path, sizeof(path), "%s/client-%d.txt", dir, k);
        FILE *out = fopen(path, "w");
        if (!out)
            _exit(3);
        long long until = mono_ms() + 40000; /* a bound, in case the parent is gone */
        for (int n = 0; access(stop_file, F_OK) != 0 && mono_ms() < until; n++) {
            char body[128];
            snprintf(body, sizeof(body), "{\"kind\":\"person\",\"name\":\"fo-%d-%d\"}", k, n);
            struct resp *c = req("POST", "/v1/customers", ADMIN_TOKEN, body, NULL);
            const char *id = c->status == 201 ? jstr(c->json, "id") : NULL;
            fprintf(out, "%lld %ld fo-%d-%d %s\n", mono_ms(), c->status, k, n, id ? id : "-");
            if (c->status != 201)
                usleep(50 * 1000); /* no busy loop against a refusing server */
        }
        fclose(out);
        _exit(0);
    }
    usleep(1500 * 1000);
    snprintf(cmd, sizeof(cmd), "%s/pg-failover.sh crash %s", scripts, dir);
    long long crashed = mono_ms();
    CHECK_INT(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/pg-failover.sh promote %s", scripts, dir);
    CHECK_INT(system(cmd), 0);
    /* writes resume: the first 201 after the crash */
    long long resumed = 0;
    while (!resumed && mono_ms() - crashed < 20000) {
        struct resp *r = req("POST", "/v1/customers", ADMIN_TOKEN,
                             "{\"kind\":\"person\",\"name\":\"fo-probe\"}", NULL);
        if (r->status == 201)
            resumed = mono_ms();
        else
            usleep(100 * 1000);
    }
    CHECK(resumed > 0);
    fprintf(stderr, "writes resumed %lld ms after the primary crashed\n", resumed - crashed);
    CHECK(resumed > 0 && resumed - crashed < 10000);
    usleep(1000 * 1000); /* the clients write to the new primary for a while */
    FILE *sf = fopen(stop_file, "w");
    CHECK(sf != NULL);
    if (sf)
        fclose(sf);
    for (int k = 0; k < CLIENTS; k++) {
        int st = 0;
        waitpid(clients[k], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    /* every 201 is on the new primary once, under its id */
    char url[200];
    snprintf(url, sizeof(url), "postgresql://csrd@127.0.0.1:%d/csrd", p2);
    PGconn *db = PQconnectdb(url);
    CHECK(PQstatus(db) == CONNECTION_OK);
    int acknowledged = 0, before = 0, after = 0, refused = 0, wrong = 0;
    for (int k = 0; k < CLIENTS && PQstatus(db) == CONNECTION_OK; k++) {
        char path[200], line[256];
        snprintf(path, sizeof(path), "%s/client-%d.txt", dir, k);
        FILE *in = fopen(path, "r");
        CHECK(in != NULL);
        while (in && fgets(line, sizeof(line), in)) {
            long long at;
            long status;
            char name[64], id[64];
            if (sscanf(line, "%lld %ld %63s %63s", &at, &status, name, id) != 4)
                continue;
            if (status != 201) {
                refused++;
                continue;
            }
            acknowledged++;
            if (at < crashed)
                before++;
            else
                after++;
            const char *params[] = {name};
            PGresult *res =
                PQexecParams(db, "SELECT count(*), min(id::text) FROM customers WHERE name = $1", 1,
                             NULL, params, NULL, NULL, 0);
            bool ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
                      !strcmp(PQgetvalue(res, 0, 0), "1") && !strcmp(PQgetvalue(res, 0, 1), id);
            if (!ok && wrong++ < 5)
                fprintf(stderr, "%s (answered 201 as %s): %s rows on the new primary\n", name, id,
                        PQresultStatus(res) == PGRES_TUPLES_OK ? PQgetvalue(res, 0, 0) : "?");
            PQclear(res);
        }
        if (in)
            fclose(in);
    }
    PQfinish(db);
    fprintf(stderr, "201 before the crash: %d, after: %d; refused meanwhile: %d\n", before, after,
            refused);
    CHECK_INT(wrong, 0);
    CHECK(before > 0 && after > 0); /* it proves nothing unless both sides were written */

    server_stop();
    server_start(NULL);
    snprintf(cmd, sizeof(cmd), "%s/pg-failover.sh stop %s", scripts, dir);
    CHECK_INT(system(cmd), 0);
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
        kids[w] = fork_client();
        if (kids[w] == 0) {
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

TEST(change_feed_order_is_numeric_across_digit_boundaries)
{
    /* seq once sorted as text: 100001 before 99999 (seen in CI when transaction ids passed
     * 10^9 / 2^16). Two entries of a long finished "transaction" straddle a boundary. */
    db_scalar("INSERT INTO changes (seq, entity, id, action) VALUES"
              " (99999, 'customer', gen_random_uuid(), 'updated'),"
              " (100001, 'customer', gen_random_uuid(), 'updated') ON CONFLICT DO NOTHING",
              NULL);
    struct resp *r = req("GET", "/v1/changes?after=99990&limit=2", key_for("viewer"), NULL, NULL);
    CHECK_STATUS(r, 200);
    json_t *data = json_object_get(r->json, "data");
    CHECK_INT((long)json_integer_value(json_object_get(json_array_get(data, 0), "seq")), 99999);
    CHECK_INT((long)json_integer_value(json_object_get(json_array_get(data, 1), "seq")), 100001);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "next_after")), 100001);
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

/* ---- bulk import ---------------------------------------------------------------------- */

static struct resp *bulk(const char *path, const char *content_type, const char *body)
{
    char ct[96];
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
    const char *h[] = {ct, NULL};
    return req("POST", path, key_for("agent"), body, h);
}

static long result_status(const struct resp *r, size_t i)
{
    json_t *e = json_array_get(json_object_get(r->json, "results"), i);
    return (long)json_integer_value(json_object_get(e, "status"));
}

static const char *count_by_ref(const char *ref)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/customers?external_ref=%s&count=exact", ref);
    struct resp *r = req("GET", path, key_for("viewer"), NULL, NULL);
    static char out[16];
    snprintf(out, sizeof(out), "%lld",
             (long long)json_integer_value(json_object_get(r->json, "total")));
    return out;
}

TEST(bulk_atomic_writes_all_or_nothing)
{
    const char *p = unique("ba");
    char body[1024];
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"One\",\"external_ref\":\"%s-1\"},"
             "{\"kind\":\"person\",\"name\":\"Two\",\"external_ref\":\"%s-2\",\"email\":\"nope\"},"
             "{\"kind\":\"organization\",\"name\":\"\",\"external_ref\":\"%s-3\"}]",
             p, p, p);
    struct resp *r = bulk("/v1/customers/bulk", "application/json", body);
    CHECK_STATUS(r, 422);
    json_t *errors = json_object_get(r->json, "errors");
    CHECK_INT((long)json_array_size(errors), 2);
    CHECK_STR(jstr(json_array_get(errors, 0), "field"), "[1].email");
    CHECK_STR(jstr(json_array_get(errors, 1), "field"), "[2].name");
    char ref[96];
    snprintf(ref, sizeof(ref), "%s-1", p);
    CHECK_STR(count_by_ref(ref), "0"); /* the good record was not written either */

    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"One\",\"external_ref\":\"%s-1\"},"
             "{\"kind\":\"person\",\"name\":\"Two\",\"external_ref\":\"%s-2\"}]",
             p, p);
    r = bulk("/v1/customers/bulk", "application/json", body);
    CHECK_STATUS(r, 200);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "created")), 2);
    CHECK_INT(result_status(r, 0), 201);
    CHECK_STR(count_by_ref(ref), "1");
    /* the same again collides with what is stored: 409, nothing written */
    r = bulk("/v1/customers/bulk", "application/json", body);
    CHECK_STATUS(r, 409);
    CHECK_STR(jstr(json_array_get(json_object_get(r->json, "errors"), 1), "field"),
              "[1].external_ref");
    CHECK_STR(count_by_ref(ref), "1");
}

TEST(bulk_partial_reports_each_index_and_ndjson_lines_stand_alone)
{
    const char *p = unique("bp");
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"kind\":\"person\",\"name\":\"Fine\",\"external_ref\":\"%s-1\"}\n"
             "{\"kind\":\"person\",\"name\":\"Broken\",\n"
             "\n"
             "{\"kind\":\"alien\",\"name\":\"Bad kind\"}\r\n"
             "{\"kind\":\"person\",\"name\":\"Repeat\",\"external_ref\":\"%s-1\"}\n"
             "[1,2]\n"
             "{\"kind\":\"person\",\"name\":\"Also fine\",\"tier\":\"vip\"}",
             p, p);
    struct resp *r = bulk("/v1/customers/bulk?mode=partial", "application/x-ndjson", body);
    CHECK_STATUS(r, 200);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "created")), 2);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "failed")), 4);
    static const long WANT[] = {201, 422, 422, 422, 422, 201};
    for (size_t i = 0; i < 6; i++)
        CHECK_INT(result_status(r, i), WANT[i]);
    json_t *rep = json_array_get(json_object_get(r->json, "results"), 3);
    char *rep_text = json_dumps(json_object_get(rep, "error"), 0);
    CHECK(rep_text && strstr(rep_text, "repeats the external_ref of record 0"));
    free(rep_text);
    const char *id = jstr(json_array_get(json_object_get(r->json, "results"), 5), "id");
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", id ? id : "none");
    struct resp *g = req("GET", path, key_for("viewer"), NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK_STR(jstr(g->json, "tier"), "vip");
    /* atomic: the malformed line is a 422 of its index */
    r = bulk("/v1/customers/bulk", "application/x-ndjson", body);
    CHECK_STATUS(r, 422);
    CHECK_STR(jstr(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "[1]");
}

TEST(bulk_upsert_by_external_ref_is_idempotent)
{
    const char *p = unique("bu");
    char body[1024], ref[96];
    snprintf(ref, sizeof(ref), "%s-1", p);
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"Kept\",\"external_ref\":\"%s-1\",\"tags\":[\"a\"]},"
             "{\"kind\":\"person\",\"name\":\"Other\",\"external_ref\":\"%s-2\"}]",
             p, p);
    struct resp *r = bulk("/v1/customers/bulk?upsert=external_ref", "application/json", body);
    CHECK_STATUS(r, 200);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "created")), 2);
    const char *id = jstr(json_array_get(json_object_get(r->json, "results"), 0), "id");
    char path[128];
    snprintf(path, sizeof(path), "/v1/customers/%s", id ? id : "none");
    /* the same request again: matched, nothing changes, no new version */
    r = bulk("/v1/customers/bulk?upsert=external_ref", "application/json", body);
    CHECK_STATUS(r, 200);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "created")), 0);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "updated")), 2);
    CHECK_STR(jstr(json_array_get(json_object_get(r->json, "results"), 0), "id"), id);
    struct resp *g = req("GET", path, key_for("viewer"), NULL, NULL);
    CHECK_INT((long)json_integer_value(json_object_get(g->json, "version")), 1);
    /* a change merges like PATCH: given members change, others stay */
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"Renamed\",\"external_ref\":\"%s\"}]", ref);
    r = bulk("/v1/customers/bulk?upsert=external_ref", "application/json", body);
    CHECK_STATUS(r, 200);
    CHECK_INT(result_status(r, 0), 200);
    g = req("GET", path, key_for("viewer"), NULL, NULL);
    CHECK_STR(jstr(g->json, "name"), "Renamed");
    CHECK_STR(json_string_value(json_array_get(json_object_get(g->json, "tags"), 0)), "a");
    CHECK_INT((long)json_integer_value(json_object_get(g->json, "version")), 2);
    CHECK_STR(count_by_ref(ref), "1");
    /* a merge that breaks a rule is that record's 422 */
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"x\",\"external_ref\":\"%s\",\"tier\":null}]", ref);
    r = bulk("/v1/customers/bulk?upsert=external_ref&mode=partial", "application/json", body);
    CHECK_STATUS(r, 200);
    CHECK_INT(result_status(r, 0), 422);
}

TEST(bulk_limits_and_refusals)
{
    /* 10,001 records: 413 */
    size_t n = 10001, len = n * 3 + 8;
    char *many = malloc(len);
    size_t o = 0;
    many[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        memcpy(many + o, i ? ",{}" : "{}", i ? 3 : 2);
        o += i ? 3 : 2;
    }
    many[o++] = ']';
    many[o] = '\0';
    CHECK_STATUS(bulk("/v1/customers/bulk", "application/json", many), 413);
    free(many);
    /* bodies over CSRD_MAX_BODY (64 KiB in these tests) but within the bulk limit are read */
    size_t big = 100 * 1000;
    char *body = malloc(big + 256);
    o = (size_t)sprintf(body, "[{\"kind\":\"person\",\"name\":\"Big notes\",\"notes\":\"");
    memset(body + o, 'n', 9000);
    o += 9000;
    o += (size_t)sprintf(body + o, "\"}");
    while (o < big) {
        o += (size_t)sprintf(
            body + o, ",{\"kind\":\"person\",\"name\":\"Filler\",\"tags\":[\"bulk-filler\"]}");
    }
    strcpy(body + o, "]");
    struct resp *r = bulk("/v1/customers/bulk", "application/json", body);
    CHECK_STATUS(r, 200);
    free(body);
    CHECK_STATUS(bulk("/v1/customers/bulk", "text/plain", "[]"), 415);
    CHECK_STATUS(bulk("/v1/customers/bulk", "application/json", "[]"), 400);
    CHECK_STATUS(bulk("/v1/customers/bulk", "application/json", "{\"kind\":\"person\"}"), 400);
    CHECK_STATUS(bulk("/v1/customers/bulk?mode=some", "application/json", "[{}]"), 400);
    CHECK_STATUS(bulk("/v1/interactions/bulk?upsert=external_ref", "application/json", "[{}]"),
                 400);
    const char *ct[] = {"Content-Type: application/json", NULL};
    CHECK_STATUS(req("POST", "/v1/customers/bulk", key_for("viewer"), "[{}]", ct), 403);
}

TEST(bulk_body_limit_is_its_own_and_refused_before_reading)
{
    server_stop();
    const char *env[] = {"CSRD_MAX_BULK_BODY=2048", NULL};
    server_start(env);
    char body[4096];
    size_t o = (size_t)sprintf(body, "[");
    while (o < 3000)
        o += (size_t)sprintf(body + o, "%s{\"kind\":\"person\",\"name\":\"x\"}", o > 1 ? "," : "");
    strcpy(body + o, "]");
    CHECK_STATUS(bulk("/v1/customers/bulk", "application/json", body), 413);
    server_stop();
    server_start(NULL);
}

TEST(bulk_interactions_check_their_references)
{
    struct resp *c = req("POST", "/v1/customers", key_for("agent"),
                         "{\"kind\":\"person\",\"name\":\"Bulk contacts\"}", NULL);
    CHECK_STATUS(c, 201);
    const char *customer = jstr(c->json, "id");
    char body[1024];
    snprintf(body, sizeof(body),
             "[{\"customer_id\":\"%s\",\"channel\":\"phone\",\"direction\":\"inbound\"},"
             "{\"customer_id\":\"01a20c70-293b-7304-a1e5-70de586757ac\",\"channel\":\"sms\","
             "\"direction\":\"outbound\"},"
             "{\"customer_id\":\"%s\",\"channel\":\"email\",\"direction\":\"inbound\","
             "\"complaint_id\":\"01a20c70-293b-7304-a1e5-70de586757ad\"}]",
             customer, customer);
    struct resp *r = bulk("/v1/interactions/bulk", "application/json", body);
    CHECK_STATUS(r, 422);
    json_t *errors = json_object_get(r->json, "errors");
    CHECK_STR(jstr(json_array_get(errors, 0), "field"), "[1].customer_id");
    CHECK_STR(jstr(json_array_get(errors, 1), "field"), "[2].complaint_id");
    char path[160];
    snprintf(path, sizeof(path), "/v1/customers/%s/interactions", customer);
    CHECK_INT((long)page_size(path, key_for("viewer")), 0);
    r = bulk("/v1/interactions/bulk?mode=partial", "application/json", body);
    CHECK_STATUS(r, 200);
    CHECK_INT((long)json_integer_value(json_object_get(r->json, "created")), 1);
    CHECK_INT((long)page_size(path, key_for("viewer")), 1);
}

TEST(bulk_honours_idempotency_key)
{
    const char *p = unique("bi");
    char body[512], key[96];
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"Once\",\"external_ref\":\"%s\"}]", p);
    snprintf(key, sizeof(key), "Idempotency-Key: %s", p);
    const char *h[] = {"Content-Type: application/json", key, NULL};
    struct resp *a = req("POST", "/v1/customers/bulk", key_for("agent"), body, h);
    CHECK_STATUS(a, 200);
    struct resp *b = req("POST", "/v1/customers/bulk", key_for("agent"), body, h);
    CHECK_STATUS(b, 200);
    CHECK_STR(resp_header(b, "Idempotent-Replayed"), "true");
    CHECK_STR(b->body, a->body);
    CHECK_STR(count_by_ref(p), "1");
}

/* ---- field-level history --------------------------------------------------------------- */

TEST(a_customer_with_history_cannot_be_deleted_by_hand)
{
    /* the history keeps its customer with a delete guard instead of a foreign key checked on
     * every create and update (schema/014): deleting such a customer in SQL is refused with
     * the foreign key's SQLSTATE, and removing its history first lets it go */
    struct resp *c =
        req("POST", "/v1/customers", ADMIN_TOKEN, "{\"kind\":\"person\",\"name\":\"Kept\"}", NULL);
    CHECK_STATUS(c, 201);
    const char *id = c->json ? jstr(c->json, "id") : "";
    PGconn *db = PQconnectdb(getenv("DATABASE_URL"));
    CHECK(PQstatus(db) == CONNECTION_OK);
    const char *p[] = {id};
    PGresult *res =
        PQexecParams(db, "DELETE FROM customers WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
    CHECK(PQresultStatus(res) == PGRES_FATAL_ERROR);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    CHECK_STR(state ? state : "", "23503");
    PQclear(res);
    res = PQexecParams(db,
                       "WITH h AS (DELETE FROM customer_history WHERE customer_id = $1)"
                       " SELECT 1",
                       1, NULL, p, NULL, NULL, 0);
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
    PQclear(res);
    res = PQexecParams(db, "DELETE FROM customers WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
    CHECK(PQresultStatus(res) == PGRES_COMMAND_OK && !strcmp(PQcmdTuples(res), "1"));
    PQclear(res);
    PQfinish(db);
    char path[160];
    snprintf(path, sizeof(path), "/v1/customers/%s", id);
    CHECK_STATUS(req("GET", path, ADMIN_TOKEN, NULL, NULL), 404);
}

TEST(customer_history_lists_every_change_with_its_fields)
{
    const char *agent = key_for("agent"), *sup = key_for("supervisor");
    struct resp *c = req("POST", "/v1/customers", agent,
                         "{\"kind\":\"person\",\"name\":\"Hist\",\"tier\":\"vip\"}", NULL);
    CHECK_STATUS(c, 201);
    char path[160], hist[200];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
    snprintf(hist, sizeof(hist), "%s/history", path);
    CHECK_STATUS(
        req("PATCH", path, agent, "{\"name\":\"History\",\"email\":\"h@example.com\"}", NULL), 200);
    CHECK_STATUS(req("PATCH", path, agent, "{\"name\":\"History\"}", NULL), 200); /* no change */
    CHECK_STATUS(req("DELETE", path, sup, NULL, NULL), 204);
    struct resp *h = req("GET", hist, key_for("viewer"), NULL, NULL);
    CHECK_STATUS(h, 200);
    json_t *data = json_object_get(h->json, "data");
    CHECK_INT((long)json_array_size(data), 3);
    json_t *created = json_array_get(data, 0), *updated = json_array_get(data, 1),
           *archived = json_array_get(data, 2);
    CHECK_STR(jstr(created, "action"), "created");
    CHECK_STR(jstr(json_object_get(json_object_get(created, "changes"), "tier"), "to"), "vip");
    CHECK(json_is_null(
        json_object_get(json_object_get(json_object_get(created, "changes"), "tier"), "from")));
    CHECK_STR(jstr(updated, "action"), "updated");
    json_t *changes = json_object_get(updated, "changes");
    CHECK_INT((long)json_object_size(changes), 2);
    CHECK_STR(jstr(json_object_get(changes, "name"), "from"), "Hist");
    CHECK_STR(jstr(json_object_get(changes, "name"), "to"), "History");
    CHECK(json_is_null(json_object_get(json_object_get(changes, "email"), "from")));
    CHECK_STR(jstr(updated, "actor_role"), "agent");
    CHECK_STR(jstr(archived, "action"), "archived");
    CHECK_STR(jstr(archived, "actor_role"), "supervisor");
    CHECK(json_object_get(json_object_get(archived, "changes"), "archived_at") != NULL);
    CHECK_STATUS(req("GET", "/v1/customers/01a20c70-293b-7304-a1e5-70de586757ac/history",
                     key_for("viewer"), NULL, NULL),
                 404);
    snprintf(hist, sizeof(hist), "%s/history?sort=-at", path);
    CHECK_STATUS(req("GET", hist, key_for("viewer"), NULL, NULL), 400);
}

TEST(bulk_upsert_writes_history_too)
{
    const char *p = unique("bh");
    char body[512];
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"Before\",\"external_ref\":\"%s\"}]", p);
    struct resp *r = bulk("/v1/customers/bulk?upsert=external_ref", "application/json", body);
    CHECK_STATUS(r, 200);
    const char *id = jstr(json_array_get(json_object_get(r->json, "results"), 0), "id");
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"After\",\"external_ref\":\"%s\"}]", p);
    CHECK_STATUS(bulk("/v1/customers/bulk?upsert=external_ref", "application/json", body), 200);
    char hist[160];
    snprintf(hist, sizeof(hist), "/v1/customers/%s/history", id ? id : "none");
    struct resp *h = req("GET", hist, key_for("viewer"), NULL, NULL);
    json_t *data = json_object_get(h->json, "data");
    CHECK_INT((long)json_array_size(data), 2);
    json_t *name = json_object_get(json_object_get(json_array_get(data, 1), "changes"), "name");
    CHECK_STR(jstr(name, "from"), "Before");
    CHECK_STR(jstr(name, "to"), "After");
}

TEST(complaint_updated_events_carry_from_and_to)
{
    const char *agent = key_for("agent");
    struct resp *c =
        req("POST", "/v1/customers", agent, "{\"kind\":\"person\",\"name\":\"Ev\"}", NULL);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"category\":\"delivery\","
             "\"subject\":\"late\",\"assignee\":\"li\"}",
             jstr(c->json, "id"));
    struct resp *k = req("POST", "/v1/complaints", agent, body, NULL);
    CHECK_STATUS(k, 201);
    char path[160], events[200];
    snprintf(path, sizeof(path), "/v1/complaints/%s", jstr(k->json, "id"));
    snprintf(events, sizeof(events), "%s/events", path);
    CHECK_STATUS(req("PATCH", path, agent,
                     "{\"subject\":\"very late\",\"severity\":\"high\",\"assignee\":\"wang\"}",
                     NULL),
                 200);
    struct resp *e = req("GET", events, agent, NULL, NULL);
    json_t *data = json_object_get(e->json, "data");
    json_t *updated = NULL, *assignment = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(data, i, ev)
    {
        if (!strcmp(jstr(ev, "type"), "updated"))
            updated = ev;
        if (!strcmp(jstr(ev, "type"), "assignment"))
            assignment = ev;
    }
    CHECK(updated && assignment);
    json_t *changes = json_object_get(updated, "changes");
    CHECK_STR(jstr(json_object_get(changes, "subject"), "from"), "late");
    CHECK_STR(jstr(json_object_get(changes, "subject"), "to"), "very late");
    CHECK_STR(jstr(json_object_get(changes, "severity"), "from"), "medium");
    CHECK(json_object_get(changes, "assignee") == NULL); /* its own assignment event */
    CHECK_STR(jstr(assignment, "from"), "li");
    CHECK_STR(jstr(assignment, "to"), "wang");
}

/* ---- historical import ------------------------------------------------------------------ */

TEST(admins_import_records_with_their_original_dates)
{
    struct resp *c = req("POST", "/v1/customers", ADMIN_TOKEN,
                         "{\"kind\":\"person\",\"name\":\"Legacy\","
                         "\"created_at\":\"2019-03-04T05:06:07.890Z\"}",
                         NULL);
    CHECK_STATUS(c, 201);
    CHECK_STR(jstr(c->json, "created_at"), "2019-03-04T05:06:07.890Z");
    CHECK_STR(jstr(c->json, "updated_at"), "2019-03-04T05:06:07.890Z");
    char body[512];
    snprintf(
        body, sizeof(body),
        "{\"customer_id\":\"%s\",\"channel\":\"letter\",\"category\":\"billing\","
        "\"severity\":\"high\",\"subject\":\"old\",\"created_at\":\"2019-03-05T10:00:00+08:00\"}",
        jstr(c->json, "id"));
    struct resp *k = req("POST", "/v1/complaints", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(k, 201);
    CHECK_STR(jstr(k->json, "created_at"), "2019-03-05T02:00:00.000Z");
    /* high: 4 h to the first response, 72 h to the resolution, counted from created_at */
    CHECK_STR(jstr(k->json, "first_response_due_at"), "2019-03-05T06:00:00.000Z");
    CHECK_STR(jstr(k->json, "resolution_due_at"), "2019-03-08T02:00:00.000Z");
    /* bulk too */
    const char *ref = unique("imp");
    snprintf(body, sizeof(body),
             "[{\"kind\":\"person\",\"name\":\"Bulk legacy\",\"external_ref\":\"%s\","
             "\"created_at\":\"2018-01-01T00:00:00Z\"}]",
             ref);
    const char *ct[] = {"Content-Type: application/json", NULL};
    struct resp *b = req("POST", "/v1/customers/bulk", ADMIN_TOKEN, body, ct);
    CHECK_STATUS(b, 200);
    char path[160];
    snprintf(path, sizeof(path), "/v1/customers/%s",
             jstr(json_array_get(json_object_get(b->json, "results"), 0), "id"));
    struct resp *g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STR(jstr(g->json, "created_at"), "2018-01-01T00:00:00.000Z");
}

TEST(other_roles_and_bad_dates_cannot_import)
{
    struct resp *r =
        req("POST", "/v1/customers", key_for("supervisor"),
            "{\"kind\":\"person\",\"name\":\"x\",\"created_at\":\"2019-01-01T00:00:00Z\"}", NULL);
    CHECK_STATUS(r, 422);
    CHECK_STR(jstr(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "created_at");
    r = req("POST", "/v1/customers", ADMIN_TOKEN,
            "{\"kind\":\"person\",\"name\":\"x\",\"created_at\":\"2999-01-01T00:00:00Z\"}", NULL);
    CHECK_STATUS(r, 422);
    r = req("POST", "/v1/customers", ADMIN_TOKEN,
            "{\"kind\":\"person\",\"name\":\"x\",\"created_at\":\"yesterday\"}", NULL);
    CHECK_STATUS(r, 422);
    const char *ct[] = {"Content-Type: application/json", NULL};
    r = req("POST", "/v1/customers/bulk", key_for("agent"),
            "[{\"kind\":\"person\",\"name\":\"x\",\"created_at\":\"2019-01-01T00:00:00Z\"}]", ct);
    CHECK_STATUS(r, 422);
    CHECK_STR(jstr(json_array_get(json_object_get(r->json, "errors"), 0), "field"),
              "[0].created_at");
    /* created_at stays read-only for PATCH, admin or not */
    struct resp *c =
        req("POST", "/v1/customers", ADMIN_TOKEN, "{\"kind\":\"person\",\"name\":\"y\"}", NULL);
    char path[160];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
    CHECK_STATUS(req("PATCH", path, ADMIN_TOKEN, "{\"created_at\":\"2019-01-01T00:00:00Z\"}", NULL),
                 422);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

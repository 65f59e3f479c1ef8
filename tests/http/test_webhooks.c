/* Black-box tests of webhooks: registration, and delivery to a receiver on loopback run by
 * this test program (a thread that answers as each test tells it), checking signatures,
 * retries with back-off, order, the delivery log, timeouts and redirects. */
#include "harness.h"
#include "util/text.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the receiver -------------------------------------------------------------------------- */

#define MAX_SEEN 64

struct seen {
    char signature[200], webhook_id[64];
    char *body;
};

static struct {
    pthread_mutex_t lock;
    int fd, port;
    int fail_first;    /* answer 500 to this many requests, then 200 */
    bool never_answer; /* hold every request without an answer */
    bool redirect;     /* answer 302 */
    int n;
    struct seen seen[MAX_SEEN];
} rx = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *header_value(const char *head, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = head; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)strcspn(v, "\r\n"), v);
            break;
        }
    return out;
}

static void *receiver(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(rx.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[65536];
        size_t got = 0;
        char *end = NULL;
        bool complete = false;
        ssize_t k;
        while (got < sizeof(buf) - 1 && (k = read(c, buf + got, sizeof(buf) - 1 - got)) > 0) {
            got += (size_t)k;
            buf[got] = '\0';
            if ((end = strstr(buf, "\r\n\r\n"))) {
                char cl[32];
                size_t want = (size_t)atol(header_value(buf, "Content-Length", cl, sizeof(cl)));
                if ((complete = got >= (size_t)(end + 4 - buf) + want))
                    break;
            }
        }
        if (!complete) { /* csrd gave up on this attempt (its timeout) and will send it again: */
            close(c);    /* half a request is not a delivery */
            continue;
        }
        pthread_mutex_lock(&rx.lock);
        int i = rx.n < MAX_SEEN ? rx.n++ : MAX_SEEN - 1;
        bool hold = rx.never_answer, redirect = rx.redirect;
        int status = i < rx.fail_first ? 500 : 200;
        if (end) {
            header_value(buf, "Csrd-Signature", rx.seen[i].signature, sizeof(rx.seen[i].signature));
            header_value(buf, "Csrd-Webhook-Id", rx.seen[i].webhook_id,
                         sizeof(rx.seen[i].webhook_id));
            free(rx.seen[i].body);
            rx.seen[i].body = strdup(end + 4);
        }
        pthread_mutex_unlock(&rx.lock);
        if (hold) {
            sleep(3);
        } else if (redirect) {
            const char *a = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n"
                            "Content-Length: 0\r\nConnection: close\r\n\r\n";
            CHECK(write(c, a, strlen(a)) > 0);
        } else {
            char a[128];
            snprintf(a, sizeof(a),
                     "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
            CHECK(write(c, a, strlen(a)) > 0);
        }
        close(c);
    }
}

static void receiver_start(void)
{
    rx.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    CHECK(bind(rx.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(getsockname(rx.fd, (struct sockaddr *)&a, &len) == 0);
    CHECK(listen(rx.fd, 16) == 0);
    rx.port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, receiver, NULL);
    pthread_detach(t);
}

static int received(void)
{
    pthread_mutex_lock(&rx.lock);
    int n = rx.n;
    pthread_mutex_unlock(&rx.lock);
    return n;
}

static bool wait_for(int n, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (received() >= n)
            return true;
        usleep(50000);
    }
    return false;
}

/* A server that may deliver to loopback, looks often and gives up on a receiver soon. */
static void delivering_server(void)
{
    server_stop();
    const char *env[] = {"CSRD_WEBHOOK_ALLOW_PRIVATE=1", "CSRD_WEBHOOK_POLL_MS=100",
                         "CSRD_WEBHOOK_TIMEOUT_MS=1000", NULL};
    server_start(env);
}

static struct resp *register_hook(const char *events, const char **secret)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/hook\",\"events\":%s}", rx.port,
             events);
    struct resp *w = req("POST", "/v1/webhooks", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(w, 201);
    *secret = jstr(w->json, "secret");
    return w;
}

/* Csrd-Signature: t=<s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")> */
static bool signature_valid(const struct seen *s, const char *secret)
{
    const char *t = strstr(s->signature, "t="), *v1 = strstr(s->signature, ",v1=");
    if (!t || !v1 || !secret || !s->body)
        return false;
    char msg[70000];
    snprintf(msg, sizeof(msg), "%.*s.%s", (int)(v1 - t - 2), t + 2, s->body);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, strlen(msg), md, &len);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    text_hex(md, len, hex);
    long age = (long)time(NULL) - atol(t + 2);
    return !strcmp(hex, v1 + 4) && age >= 0 && age < 60;
}

/* ---- registration -------------------------------------------------------------------------- */

/* webhook w's delivery log, asked every 50 ms (at most tries times) until its entry index (0 =
 * the newest) has member equal to want (want NULL: present and not null); the last answer */
static struct resp *deliveries_until(const struct resp *w, size_t index, const char *member,
                                     const char *want, int tries)
{
    char log[200];
    snprintf(log, sizeof(log), "/v1/webhooks/%s/deliveries", jstr(w->json, "id"));
    struct resp *d = NULL;
    for (int i = 0; i < tries; i++) {
        d = req("GET", log, ADMIN_TOKEN, NULL, NULL);
        const char *v = jstr(json_array_get(json_object_get(d->json, "data"), index), member);
        if (v && (!want || !strcmp(v, want)))
            break;
        usleep(50000);
    }
    return d;
}

TEST(webhook_registration_shows_the_secret_once)
{
    struct resp *w = req("POST", "/v1/webhooks", ADMIN_TOKEN,
                         "{\"url\":\"https://hooks.example.com/csrd\",\"events\":[\"*\"],"
                         "\"description\":\"erp\"}",
                         NULL);
    CHECK_STATUS(w, 201);
    const char *secret = jstr(w->json, "secret");
    CHECK(secret && !strncmp(secret, "whsec_", 6));
    CHECK(resp_header(w, "Location") != NULL);
    char path[160];
    snprintf(path, sizeof(path), "/v1/webhooks/%s", jstr(w->json, "id"));
    struct resp *g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(g, 200);
    CHECK(json_object_get(g->json, "secret") == NULL);
    CHECK(g->body && secret && !strstr(g->body, secret));
    struct resp *l = req("GET", "/v1/webhooks?limit=500", ADMIN_TOKEN, NULL, NULL);
    CHECK_STATUS(l, 200);
    CHECK(l->body && secret && !strstr(l->body, secret));
    struct resp *p = req("PATCH", path, ADMIN_TOKEN,
                         "{\"events\":[\"complaint.transitioned\"],\"active\":false}", NULL);
    CHECK_STATUS(p, 200);
    CHECK(json_is_false(json_object_get(p->json, "active")));
    char deliveries[200];
    snprintf(deliveries, sizeof(deliveries), "%s/deliveries", path);
    CHECK_STATUS(req("GET", deliveries, ADMIN_TOKEN, NULL, NULL), 200);
    CHECK_STATUS(req("DELETE", path, ADMIN_TOKEN, NULL, NULL), 204);
    CHECK_STATUS(req("GET", path, ADMIN_TOKEN, NULL, NULL), 404);
    CHECK_STATUS(req("GET", deliveries, ADMIN_TOKEN, NULL, NULL), 404);
}

TEST(webhook_registration_refusals)
{
    const char *bad[] = {
        "{\"url\":\"ftp://example.com/x\",\"events\":[\"*\"]}",
        "{\"url\":\"http://127.0.0.1:9/x\",\"events\":[\"*\"]}",     /* loopback */
        "{\"url\":\"http://10.1.2.3/x\",\"events\":[\"*\"]}",        /* private */
        "{\"url\":\"http://169.254.169.254/x\",\"events\":[\"*\"]}", /* link-local */
        "{\"url\":\"http://[::1]:9/x\",\"events\":[\"*\"]}",
        "{\"url\":\"not a url\",\"events\":[\"*\"]}",
        "{\"url\":\"https://example.com/x\",\"events\":[\"customer.exploded\"]}",
        "{\"url\":\"https://example.com/x\",\"events\":[]}",
        "{\"url\":\"https://example.com/x\"}",
        NULL};
    for (const char *const *b = bad; *b; b++) {
        struct resp *r = req("POST", "/v1/webhooks", ADMIN_TOKEN, *b, NULL);
        if (r->status != 422)
            fprintf(stderr, "accepted: %s\n", *b);
        CHECK_STATUS(r, 422);
    }
    CHECK_STATUS(req("POST", "/v1/webhooks", key_for("supervisor"),
                     "{\"url\":\"https://example.com/x\",\"events\":[\"*\"]}", NULL),
                 403);
    CHECK_STATUS(req("GET", "/v1/webhooks", key_for("supervisor"), NULL, NULL), 403);
    /* an Idempotency-Key replay names the webhook without its secret, and none is stored */
    const char *key = unique("wh");
    char hdr[96];
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", key);
    const char *h[] = {hdr, NULL};
    const char *body = "{\"url\":\"https://example.com/idem\",\"events\":[\"*\"]}";
    struct resp *a = req("POST", "/v1/webhooks", ADMIN_TOKEN, body, h);
    struct resp *b = req("POST", "/v1/webhooks", ADMIN_TOKEN, body, h);
    CHECK_STATUS(b, 201);
    CHECK_STR(jstr(b->json, "id"), jstr(a->json, "id"));
    CHECK(json_object_get(b->json, "secret") == NULL);
    CHECK_STR(db_scalar("SELECT count(*) FROM idempotency_keys WHERE strpos(body, $1) > 0",
                        jstr(a->json, "secret")),
              "0");
    char path[160];
    snprintf(path, sizeof(path), "/v1/webhooks/%s", jstr(a->json, "id"));
    CHECK_STATUS(req("DELETE", path, ADMIN_TOKEN, NULL, NULL), 204);
}

static void unregister(const struct resp *w)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/webhooks/%s", jstr(w->json, "id"));
    CHECK_STATUS(req("DELETE", path, ADMIN_TOKEN, NULL, NULL), 204);
}

/* ---- delivery ------------------------------------------------------------------------------ */

TEST(deliveries_are_signed_retried_with_backoff_and_in_order)
{
    receiver_start();
    delivering_server();
    rx.fail_first = 2;
    const char *secret;
    struct resp *w = register_hook("[\"customer.created\",\"customer.updated\"]", &secret);
    struct resp *c = req("POST", "/v1/customers", key_for("agent"),
                         "{\"kind\":\"person\",\"name\":\"Hooked\"}", NULL);
    CHECK_STATUS(c, 201);
    char path[160];
    snprintf(path, sizeof(path), "/v1/customers/%s", jstr(c->json, "id"));
    CHECK_STATUS(req("PATCH", path, key_for("agent"), "{\"notes\":\"changed\"}", NULL), 200);
    /* created: 500, 500 (after 1 s), 200 (after 2 s more); then updated: 200 */
    CHECK(wait_for(4, 20));
    pthread_mutex_lock(&rx.lock);
    long long last_seq = 0;
    for (int i = 0; i < rx.n && i < 4; i++) {
        CHECK(signature_valid(&rx.seen[i], secret));
        CHECK_STR(rx.seen[i].webhook_id, jstr(w->json, "id"));
        json_t *b = json_loads(rx.seen[i].body, 0, NULL);
        CHECK(b != NULL);
        const char *want = i < 3 ? "customer.created" : "customer.updated";
        CHECK_STR(jstr(b, "event"), want);
        CHECK_STR(jstr(b, "entity"), "customer");
        CHECK_STR(jstr(b, "entity_id"), jstr(c->json, "id"));
        CHECK_STR(jstr(json_object_get(b, "data"), "name"), "Hooked");
        long long seq = (long long)json_integer_value(json_object_get(b, "seq"));
        CHECK(i < 3 ? (i == 0 || seq == last_seq) : seq > last_seq); /* retries repeat, then on */
        last_seq = seq;
        json_decref(b);
    }
    pthread_mutex_unlock(&rx.lock);
    /* the last outcome is recorded just after the answer */
    struct resp *d = deliveries_until(w, 0, "status", "delivered", 40);
    json_t *data = json_object_get(d->json, "data");
    CHECK_INT((long)json_array_size(data), 2);
    json_t *created = json_array_get(data, 1), *updated = json_array_get(data, 0);
    CHECK_STR(jstr(created, "status"), "delivered");
    CHECK_INT((long)json_integer_value(json_object_get(created, "attempts")), 3);
    CHECK_INT((long)json_integer_value(json_object_get(created, "last_status_code")), 200);
    CHECK_STR(jstr(updated, "status"), "delivered");
    CHECK_INT((long)json_integer_value(json_object_get(updated, "attempts")), 1);
    unregister(w);
    server_stop();
    server_start(NULL);
}

TEST(a_failing_receiver_holds_back_later_deliveries_and_never_slows_the_api)
{
    receiver_start();
    delivering_server();
    rx.never_answer = true;
    const char *secret;
    struct resp *w = register_hook("[\"customer.created\"]", &secret);
    for (int i = 0; i < 2; i++)
        CHECK_STATUS(req("POST", "/v1/customers", key_for("agent"),
                         "{\"kind\":\"person\",\"name\":\"Held\"}", NULL),
                     201);
    CHECK(wait_for(1, 10));
    /* while the receiver hangs, the API answers (delivery runs on its own thread) */
    CHECK_STATUS(req("GET", "/v1/customers?limit=1", key_for("viewer"), NULL, NULL), 200);
    /* until the 1 s delivery timeout has been recorded */
    struct resp *d = deliveries_until(w, 1, "last_error", NULL, 300);
    json_t *data = json_object_get(d->json, "data");
    CHECK_INT((long)json_array_size(data), 2);
    json_t *first = json_array_get(data, 1), *second = json_array_get(data, 0);
    CHECK_STR(jstr(first, "status"), "pending");
    CHECK(json_integer_value(json_object_get(first, "attempts")) >= 1);
    CHECK(jstr(first, "last_error") != NULL);
    CHECK(jstr(first, "next_attempt_at") != NULL);
    CHECK_INT((long)json_integer_value(json_object_get(second, "attempts")), 0); /* held back */
    rx.never_answer = false;
    unregister(w);
    server_stop();
    server_start(NULL);
}

TEST(redirects_are_not_followed)
{
    receiver_start();
    delivering_server();
    rx.redirect = true;
    const char *secret;
    struct resp *w = register_hook("[\"customer.created\"]", &secret);
    CHECK_STATUS(req("POST", "/v1/customers", key_for("agent"),
                     "{\"kind\":\"person\",\"name\":\"Redirected\"}", NULL),
                 201);
    CHECK(wait_for(1, 10));
    usleep(300 * 1000);
    char log[200];
    snprintf(log, sizeof(log), "/v1/webhooks/%s/deliveries", jstr(w->json, "id"));
    struct resp *d = req("GET", log, ADMIN_TOKEN, NULL, NULL);
    json_t *first = json_array_get(json_object_get(d->json, "data"), 0);
    CHECK_STR(jstr(first, "status"), "pending");
    CHECK_INT((long)json_integer_value(json_object_get(first, "last_status_code")), 302);
    CHECK_INT(received(), 1); /* nothing went to the Location */
    unregister(w);
    server_stop();
    server_start(NULL);
}

TEST(two_instances_share_deliveries_and_send_each_once)
{
    receiver_start();
    const char *env[] = {"CSRD_WEBHOOK_ALLOW_PRIVATE=1", "CSRD_WEBHOOK_POLL_MS=50",
                         "CSRD_WEBHOOK_TIMEOUT_MS=1000", NULL};
    server_stop();
    server_start(env);
    server_select(1);
    server_start(env);
    server_select(0);
    const char *secret;
    struct resp *w = register_hook("[\"customer.created\"]", &secret);
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        server_select(i % 2); /* writes through both */
        CHECK_STATUS(req("POST", "/v1/customers", ADMIN_TOKEN,
                         "{\"kind\":\"person\",\"name\":\"Shared\"}", NULL),
                     201);
    }
    server_select(0);
    CHECK(wait_for(N, 20));
    usleep(500 * 1000); /* a duplicate would arrive meanwhile */
    pthread_mutex_lock(&rx.lock);
    CHECK_INT(rx.n, N);
    long long last = 0;
    for (int i = 0; i < rx.n; i++) {
        json_t *b = json_loads(rx.seen[i].body, 0, NULL);
        long long seq = (long long)json_integer_value(json_object_get(b, "seq"));
        CHECK(seq > last); /* in order, each once */
        last = seq;
        CHECK(signature_valid(&rx.seen[i], secret));
        json_decref(b);
    }
    pthread_mutex_unlock(&rx.lock);
    unregister(w);
    server_select(1);
    server_stop();
    server_select(0);
    server_stop();
    server_start(NULL);
}

TEST(deliveries_survive_a_restart)
{
    receiver_start();
    delivering_server();
    const char *secret;
    struct resp *w = register_hook("[\"customer.created\"]", &secret);
    server_stop();
    /* a change made while no csrd runs */
    const char *id = db_scalar("INSERT INTO customers (id, kind, name) VALUES"
                               " (gen_random_uuid(), 'person', 'While down') RETURNING id",
                               NULL);
    char want[64];
    snprintf(want, sizeof(want), "%s", id);
    delivering_server();
    CHECK(wait_for(1, 10));
    pthread_mutex_lock(&rx.lock);
    json_t *b = rx.n ? json_loads(rx.seen[0].body, 0, NULL) : NULL;
    pthread_mutex_unlock(&rx.lock);
    CHECK_STR(jstr(b, "entity_id"), want);
    json_decref(b);
    unregister(w);
    server_stop();
    server_start(NULL);
}

TEST(a_day_of_failures_fails_the_delivery_and_deactivates_the_webhook)
{
    receiver_start();
    delivering_server();
    rx.fail_first = 1000;
    const char *secret;
    struct resp *w = register_hook("[\"customer.created\"]", &secret);
    CHECK_STATUS(req("POST", "/v1/customers", key_for("agent"),
                     "{\"kind\":\"person\",\"name\":\"Never taken\"}", NULL),
                 201);
    CHECK(wait_for(1, 10));
    /* wait until the first failure is recorded, so that nothing races the clock change */
    deliveries_until(w, 0, "last_error", NULL, 400);
    /* a day passes: the first attempt and the failing streak began 25 hours ago (one
     * statement, so the delivery job sees both or neither) */
    db_scalar("WITH d AS (UPDATE webhook_deliveries SET first_attempt_at = now() - interval"
              " '25 hours', next_attempt_at = now() WHERE webhook_id = $1 RETURNING webhook_id)"
              " UPDATE webhooks SET failing_since = now() - interval '25 hours'"
              " WHERE id IN (SELECT webhook_id FROM d)",
              jstr(w->json, "id"));
    char path[160], log[200];
    snprintf(path, sizeof(path), "/v1/webhooks/%s", jstr(w->json, "id"));
    snprintf(log, sizeof(log), "%s/deliveries", path);
    struct resp *g = NULL;
    for (int i = 0; i < 600; i++) {
        g = req("GET", path, ADMIN_TOKEN, NULL, NULL);
        if (json_is_false(json_object_get(g->json, "active")))
            break;
        usleep(50000);
    }
    CHECK(json_is_false(json_object_get(g->json, "active")));
    struct resp *d = req("GET", log, ADMIN_TOKEN, NULL, NULL);
    CHECK_STR(jstr(json_array_get(json_object_get(d->json, "data"), 0), "status"), "failed");
    /* PATCH active back: a new streak */
    struct resp *p = req("PATCH", path, ADMIN_TOKEN, "{\"active\":true}", NULL);
    CHECK_STATUS(p, 200);
    CHECK(json_is_null(json_object_get(p->json, "failing_since")));
    rx.fail_first = 0;
    unregister(w);
    server_stop();
    server_start(NULL);
}

TEST(a_hanging_receiver_does_not_hold_up_other_webhooks)
{
    receiver_start();
    /* a receiver that takes the connection and never answers (the backlog accepts it) */
    int hang = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    CHECK(bind(hang, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(getsockname(hang, (struct sockaddr *)&a, &len) == 0);
    CHECK(listen(hang, 16) == 0);
    server_stop();
    const char *env[] = {"CSRD_WEBHOOK_ALLOW_PRIVATE=1", "CSRD_WEBHOOK_POLL_MS=100",
                         "CSRD_WEBHOOK_TIMEOUT_MS=5000", NULL};
    server_start(env);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"url\":\"http://127.0.0.1:%d/hang\",\"events\":[\"customer.created\"]}",
             ntohs(a.sin_port));
    struct resp *stuck = req("POST", "/v1/webhooks", ADMIN_TOKEN, body, NULL);
    CHECK_STATUS(stuck, 201);
    const char *secret;
    struct resp *w = register_hook("[\"customer.created\"]", &secret);
    CHECK_STATUS(req("POST", "/v1/customers", key_for("agent"),
                     "{\"kind\":\"person\",\"name\":\"Two receivers\"}", NULL),
                 201);
    CHECK(wait_for(1, 10));
    /* the healthy webhook's delivery is done and recorded while the other one is still being
     * waited for (deliveries run side by side, not in rounds that wait for the slowest) */
    char stuck_log[200];
    snprintf(stuck_log, sizeof(stuck_log), "/v1/webhooks/%s/deliveries", jstr(stuck->json, "id"));
    struct resp *ok = deliveries_until(w, 0, "status", "delivered", 40);
    CHECK_STR(jstr(json_array_get(json_object_get(ok->json, "data"), 0), "status"), "delivered");
    struct resp *d = req("GET", stuck_log, ADMIN_TOKEN, NULL, NULL);
    json_t *pending = json_array_get(json_object_get(d->json, "data"), 0);
    CHECK_STR(jstr(pending, "status"), "pending");
    CHECK(jstr(pending, "last_error") == NULL); /* its first attempt has not ended yet */
    unregister(stuck);
    unregister(w);
    close(hang);
    server_stop();
    server_start(NULL);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

/* Black-box tests of the limits on the request head (CSRD_MAX_URL, CSRD_MAX_HEADER_BYTES,
 * CSRD_MAX_HEADERS, CSRD_MAX_QUERY_PARAMS): every oversized or malformed head gets a complete,
 * well-framed 4xx within milliseconds, never silence or a half-written answer. Plain sockets
 * instead of libcurl, so that the framing (status line, Content-Length, what follows it, who
 * closes) is seen as the client sees it; each exchange has a deadline of 2 s. */
#include "harness.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 2000

struct raw {
    int status;        /* 0: no status line arrived */
    bool complete;     /* a head and exactly Content-Length bytes after it, nothing more */
    bool problem;      /* Content-Type: application/problem+json */
    bool closed;       /* the server closed the connection */
    long ms;           /* until the response was complete (or the deadline) */
    char text[131072]; /* everything received, NUL-terminated */
    size_t len;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int connect_server(void)
{
    int fd = server_connect();
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Sends what the server takes before the deadline; a server that stops reading an oversized
 * request (and answers or closes) ends the sending early. */
static void send_request(int fd, const char *req, size_t len, long deadline)
{
    size_t off = 0;
    while (off < len && now_ms() < deadline) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT | POLLIN};
            poll(&pf, 1, 50);
            if (pf.revents & (POLLIN | POLLHUP | POLLERR))
                return; /* it answers (or closes) before taking everything */
            continue;
        }
        return; /* EPIPE / ECONNRESET: the server closed */
    }
}

static const char *find_header(const char *head, size_t head_len, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = head; p && p < head + head_len; p = strstr(p, "\r\n")) {
        p += (p == head) ? 0 : 2;
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            p += n + 1;
            while (*p == ' ')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Reads one response: until it is complete (then briefly longer, to see anything that follows
 * it), the server closes, or the deadline passes. head_only: the request was a HEAD. */
static void read_response(int fd, struct raw *r, bool head_only, long start, long deadline)
{
    memset(r, 0, sizeof(*r));
    long complete_at = 0;
    for (;;) {
        long t = now_ms();
        long until = complete_at ? complete_at + 100 : deadline;
        if (t >= until)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, (int)(until - t)) <= 0)
            continue;
        ssize_t n = recv(fd, r->text + r->len, sizeof(r->text) - 1 - r->len, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            r->closed = true; /* FIN, or a reset after the server closed */
            break;
        }
        r->len += (size_t)n;
        r->text[r->len] = '\0';
        const char *end = strstr(r->text, "\r\n\r\n");
        if (!complete_at && end) {
            const char *cl = find_header(r->text, (size_t)(end - r->text), "Content-Length");
            size_t want = (size_t)(end + 4 - r->text) + (cl && !head_only ? strtoul(cl, 0, 10) : 0);
            if (cl && r->len >= want) {
                complete_at = now_ms();
                r->ms = complete_at - start;
            }
        }
    }
    if (!complete_at)
        r->ms = now_ms() - start;
    if (r->len >= 12 && !strncmp(r->text, "HTTP/1.", 7))
        r->status = atoi(r->text + 9);
    const char *end = strstr(r->text, "\r\n\r\n");
    if (end) {
        size_t head_len = (size_t)(end - r->text);
        const char *cl = find_header(r->text, head_len, "Content-Length");
        const char *ct = find_header(r->text, head_len, "Content-Type");
        size_t body = r->len - head_len - 4;
        r->complete = cl && body == (head_only ? 0 : strtoul(cl, 0, 10));
        r->problem = ct && !strncmp(ct, "application/problem+json", 24);
    }
}

static struct raw *exchange_on(int fd, const char *req, size_t len)
{
    static struct raw r;
    long start = now_ms();
    send_request(fd, req, len, start + DEADLINE_MS);
    read_response(fd, &r, !strncmp(req, "HEAD ", 5), start, start + DEADLINE_MS);
    return &r;
}

static struct raw *exchange(const char *req, size_t len)
{
    int fd = connect_server();
    struct raw *r = exchange_on(fd, req, len);
    close(fd);
    return r;
}

/* A request of the given method and target with extra header lines ("Name: value\r\n"...). */
static char *build(const char *method, const char *target, const char *extra)
{
    struct strbuf b;
    strbuf_init(&b);
    strbuf_printf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, target,
                  extra ? extra : "");
    return b.buf;
}

/* A complete problem response with the status, well within the deadline. */
#define CHECK_ANSWER(resp, want_status)                                                            \
    do {                                                                                           \
        const struct raw *r_ = (resp);                                                             \
        int w_ = (want_status);                                                                    \
        if (r_->status != w_ || !r_->complete || !r_->problem || r_->ms > DEADLINE_MS / 2) {       \
            check_failures++;                                                                      \
            fprintf(stderr,                                                                        \
                    "%s:%d: wanted a complete %d problem response at once; got status %d, "        \
                    "complete %d, problem %d, %ld ms, %zu bytes: %.300s\n",                        \
                    __FILE__, __LINE__, w_, r_->status, r_->complete, r_->problem, r_->ms,         \
                    r_->len, r_->text);                                                            \
        }                                                                                          \
    } while (0)

/* Any complete 4xx with the status within the deadline: libmicrohttpd's own text/html answer
 * where a head does not fit its connection pool at all (csrd never sees that request). */
#define CHECK_ANY_ANSWER(resp, want_status)                                                        \
    do {                                                                                           \
        const struct raw *r_ = (resp);                                                             \
        int w_ = (want_status);                                                                    \
        if (r_->status != w_ || !r_->complete || r_->ms > DEADLINE_MS / 2) {                       \
            check_failures++;                                                                      \
            fprintf(stderr,                                                                        \
                    "%s:%d: wanted a complete %d response at once; got status %d, complete %d, "   \
                    "%ld ms, %zu bytes: %.300s\n",                                                 \
                    __FILE__, __LINE__, w_, r_->status, r_->complete, r_->ms, r_->len, r_->text);  \
        }                                                                                          \
    } while (0)

/* /v1/complaints?a=0&a=1&... (numbered) or ?a&a&a... (bare keys, 2 bytes each) */
static char *query_of(int n, bool numbered)
{
    struct strbuf b;
    strbuf_init(&b);
    strbuf_puts(&b, "/v1/complaints?");
    for (int i = 0; i < n; i++) {
        strbuf_puts(&b, i ? "&a" : "a");
        if (numbered)
            strbuf_printf(&b, "=%d", i);
    }
    return b.buf;
}

TEST(many_query_params_get_400_at_once_and_the_connection_stays_usable)
{
    /* 260 parameters (1.4 KB): libmicrohttpd 0.9.75 ran out of its connection pool while
     * splitting them and then never answered */
    int fd = connect_server();
    char *q = query_of(260, true);
    char *req = build("GET", q, NULL);
    struct raw *r = exchange_on(fd, req, strlen(req));
    CHECK_ANSWER(r, 400);
    CHECK(strstr(r->text, "too many query parameters") != NULL);
    CHECK(!r->closed);
    char *again = build("GET", "/healthz", NULL); /* the same keep-alive connection */
    r = exchange_on(fd, again, strlen(again));
    CHECK_INT(r->status, 200);
    close(fd);
    free(q);
    free(req);
    free(again);

    for (int n = 33; n <= 3000; n += n < 300 ? 7 : 211) { /* bare keys: 2 bytes each */
        char *t = query_of(n, false);
        char *m = build("GET", t, "Connection: close\r\n");
        struct raw *a = exchange(m, strlen(m));
        CHECK_ANSWER(a, strlen(t) > 4096 ? 414 : 400);
        free(t);
        free(m);
    }
}

TEST(many_header_fields_get_431)
{
    for (int n = 100; n <= 1500; n += n < 260 ? 1 : 37) {
        struct strbuf h;
        strbuf_init(&h);
        for (int i = 0; i < n; i++)
            strbuf_printf(&h, "X-H%d: v\r\n", i);
        char *m = build("GET", "/healthz", h.buf);
        struct raw *r = exchange(m, strlen(m));
        if (n <= 400)
            CHECK_ANSWER(r, 431);
        else /* towards the pool's size libmicrohttpd may answer 431 itself */
            CHECK_ANY_ANSWER(r, 431);
        strbuf_free(&h);
        free(m);
    }
}

TEST(a_long_header_gets_431_never_silence)
{
    /* a head of 8 KiB is fine, one of any larger size up to the connection's pool is 431 */
    char *big = xmalloc(80000);
    for (size_t len = 7000; len <= 76000; len += len < 17000 ? 61 : 947) {
        int n = snprintf(big, 80000, "X-Big: %*s\r\n", (int)len, "");
        memset(big + 7, 'a', (size_t)n - 9);
        char *m = build("GET", "/healthz", big);
        struct raw *r = exchange(m, strlen(m));
        if (strlen(m) <= 8192)
            CHECK_INT(r->status, 200);
        else if (len < 60000)
            CHECK_ANSWER(r, 431);
        else /* at the pool's size libmicrohttpd may answer 431 itself */
            CHECK_ANY_ANSWER(r, 431);
        free(m);
    }
    memset(big, 0, 80000);
    snprintf(big, 80000, "X-Big: %16000s\r\n", "x");
    char *m = build("HEAD", "/healthz", big);
    struct raw *r = exchange(m, strlen(m));
    CHECK_ANSWER(r, 431); /* the head only, no body */
    CHECK(r->closed);
    free(m);
    free(big);
}

TEST(a_long_url_gets_414)
{
    char *path = xmalloc(70000);
    for (size_t len = 4000; len <= 65000; len += len < 9000 ? 97 : 3001) {
        snprintf(path, 70000, "/healthz/%0*d", (int)len - 9, 7);
        char *m = build("GET", path, "Connection: close\r\n");
        struct raw *r = exchange(m, strlen(m));
        if (len <= 4096)
            CHECK_ANSWER(r, 404);
        else
            CHECK_ANSWER(r, 414);
        free(m);
    }
    free(path);
}

TEST(many_cookies_get_one_clean_431)
{
    /* csrd reads no cookies, but libmicrohttpd splits the Cookie header into the same pool;
     * 0.9.75 then sent its own 431 head twice (the second inside the first one's body) */
    for (int n = 100; n <= 800; n += 7) {
        struct strbuf h;
        strbuf_init(&h);
        strbuf_puts(&h, "Cookie: ");
        for (int i = 0; i < n; i++)
            strbuf_printf(&h, "%sc%d=v", i ? "; " : "", i);
        strbuf_puts(&h, "\r\n");
        char *m = build("GET", "/healthz", h.buf);
        struct raw *r = exchange(m, strlen(m));
        CHECK_ANSWER(r, 431);
        strbuf_free(&h);
        free(m);
    }
}

TEST(head_limits_are_configurable)
{
    server_stop();
    const char *env[] = {"CSRD_MAX_URL=512", "CSRD_MAX_HEADER_BYTES=2048", "CSRD_MAX_HEADERS=20",
                         "CSRD_MAX_QUERY_PARAMS=4", NULL};
    server_start(env);
    char *m = build("GET", "/v1/complaints?a=1&b=2&c=3&d=4&e=5", NULL);
    CHECK_ANSWER(exchange(m, strlen(m)), 400);
    free(m);
    m = build("GET", "/v1/complaints?a=1&b=2&c=3&d=4", NULL);
    CHECK_INT(exchange(m, strlen(m))->status, 401); /* the limit lets it through to auth */
    free(m);

    char path[600];
    snprintf(path, sizeof(path), "/healthz/%0550d", 1);
    m = build("GET", path, NULL);
    CHECK_ANSWER(exchange(m, strlen(m)), 414);
    free(m);

    struct strbuf h;
    strbuf_init(&h);
    for (int i = 0; i < 20; i++)
        strbuf_printf(&h, "X-H%d: v\r\n", i);
    m = build("GET", "/healthz", h.buf); /* 21 fields with Host */
    CHECK_ANSWER(exchange(m, strlen(m)), 431);
    free(m);
    strbuf_free(&h);
    strbuf_init(&h);
    strbuf_printf(&h, "X-Big: %2100d\r\n", 1);
    m = build("GET", "/healthz", h.buf);
    CHECK_ANSWER(exchange(m, strlen(m)), 431);
    free(m);
    strbuf_free(&h);
    m = build("GET", "/healthz", "X-Small: 1\r\n");
    CHECK_INT(exchange(m, strlen(m))->status, 200);
    free(m);
    server_stop();
    server_start(NULL);
}

int main(int argc, char **argv)
{
    return harness_main(argc, argv);
}

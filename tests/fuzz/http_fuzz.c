/* HTTP-level fuzzer for csrd: speaks raw HTTP/1.1 over TCP to a running server from several
 * threads (spec-generated, mutated and hostile requests, broken framing) and fails on 5xx other
 * than 503, on well-formed requests left unanswered and when /healthz stops answering 200. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_TIMEOUT 5.0 /* seconds a completely sent request may wait for its answer */
#define PRINT_LIMIT    24000
#define COUNT(a)       (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a)     ((a)[rn((r), (uint32_t)COUNT(a))])

/* ------------------------------------------------------------------ byte buffers */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t n = b->cap ? b->cap : 256;
    while (n < b->len + extra + 1)
        n *= 2;
    char *p = realloc(b->p, n);
    if (!p) {
        fputs("http_fuzz: out of memory\n", stderr);
        abort();
    }
    b->p = p;
    b->cap = n;
}

static void buf_add(buf_t *b, const void *d, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_adds(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_addc(buf_t *b, char c)
{
    buf_add(b, &c, 1);
}

static void buf_rep(buf_t *b, const char *s, size_t times)
{
    size_t n = strlen(s);
    buf_reserve(b, n * times);
    for (size_t i = 0; i < times; i++)
        buf_add(b, s, n);
}

static void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void buf_clear(buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

static void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void buf_insert(buf_t *b, size_t at, const void *d, size_t n)
{
    if (at > b->len)
        at = b->len;
    buf_reserve(b, n);
    memmove(b->p + at + n, b->p + at, b->len - at);
    memcpy(b->p + at, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_erase(buf_t *b, size_t at, size_t n)
{
    if (at >= b->len)
        return;
    if (n > b->len - at)
        n = b->len - at;
    memmove(b->p + at, b->p + at + n, b->len - at - n);
    b->len -= n;
    b->p[b->len] = 0;
}

static const char *buf_str(const buf_t *b)
{
    return b->p ? b->p : "";
}

/* ------------------------------------------------------------------ randomness and time */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rnd64(rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Independent streams per worker: the seed and the worker number, hashed. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return z ^ (z >> 33);
}

static uint32_t rn(rng_t *r, uint32_t n)
{
    return n ? (uint32_t)(rnd64(r) % n) : 0;
}

static int chance(rng_t *r, unsigned pct)
{
    return rn(r, 100) < pct;
}

static uint32_t rrange(rng_t *r, uint32_t lo, uint32_t hi)
{
    return lo + rn(r, hi - lo + 1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ms_until(double t)
{
    double d = (t - now_s()) * 1000.0;
    if (d <= 0)
        return 0;
    if (d > 60000)
        d = 60000;
    return (int)d + 1;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ options and shared state */

static struct {
    int port;
    const char *token;
    double seconds;
    uint64_t seed;
    int threads;
    const char *spec;
    const char *save_dir;
    const char *replay;
    int wait_ready;
    int max_print;
    const char *trace;
} opt = {.seconds = 60, .threads = 4, .max_print = 25};

enum { ROLE_VIEWER, ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_N };
static const char *const role_names[ROLE_N] = {"viewer", "agent", "supervisor", "admin"};
static char role_tokens[ROLE_N][200];

enum { RES_CUSTOMERS, RES_INTERACTIONS, RES_COMPLAINTS, RES_FOLLOW_UPS, RES_API_KEYS, RES_N };
static const char *const res_names[RES_N] = {"customers", "interactions", "complaints",
                                             "follow-ups", "api-keys"};

enum { K_VALID, K_MUTATED, K_QUERY, K_HEADERS, K_TARGET, K_FRAMING, K_READBACK, K_N };
static const char *const kind_names[K_N] = {"valid",  "mutated", "query",    "headers",
                                            "target", "framing", "read-back"};

/* What a request may legitimately get back. */
enum {
    EXP_ANSWER,          /* well-formed request line and headers: an HTTP answer is due */
    EXP_ANSWER_OR_CLOSE, /* malformed syntax or framing: an answer or a close */
    EXP_NONE             /* deliberately incomplete or aborted: nothing is due */
};

enum { SEND_OK, SEND_CUT, SEND_EARLY, SEND_TIMEOUT, SEND_NOCONN };
enum {
    RD_OK,
    RD_EOF_NONE,
    RD_EOF_PARTIAL,
    RD_RESET_NONE,
    RD_RESET_PARTIAL,
    RD_TIMEOUT_NONE,
    RD_TIMEOUT_PARTIAL,
    RD_GARBAGE
};

enum {
    ODD_CLOSED_ALLOWED,
    ODD_HELD_ALLOWED,
    ODD_STALE_RETRY,
    ODD_SEND_CUT,
    ODD_PIPELINE_CUT,
    ODD_DELIBERATE,
    ODD_EARLY_ANSWER,
    ODD_EXTRA_BYTES,
    ODD_503,
    ODD_ALLOWED_5XX,
    ODD_CONNECT_ERROR,
    ODD_N
};
static const char *const odd_names[ODD_N] = {
    "closed without an answer (allowed: malformed syntax or framing)",
    "held open, neither answered nor closed within 2 s (allowed: malformed syntax or framing)",
    "kept-alive connection closed before answering (request retried on a fresh one)",
    "server stopped reading before the request was completely sent",
    "pipelined requests left unanswered after an answer with Connection: close",
    "deliberately incomplete or aborted requests (nothing due)",
    "answers to deliberately incomplete requests",
    "bytes after a complete answer to a malformed request",
    "503 answers",
    "505/501 answers to an unsupported HTTP version or transfer coding (allowed)",
    "connect() errors other than refusal",
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    long sent[K_N];
    long cls[K_N][6]; /* index 0: no answer, 1..5: status class */
    long status[600];
    long odd[ODD_N];
    long interim;
    int odd_printed[ODD_N];
} st;

/* Oddities by request label, for the summary. */
#define MAX_ODD_LABELS 64
static struct {
    char label[48];
    long count;
} g_odd_labels[ODD_N][MAX_ODD_LABELS];

/* Answers to spec-shaped requests by route (coverage). */
#define MAX_ROUTES 96
static struct {
    char route[80];
    long cls[6];
    long s422, s201;
} g_routes[MAX_ROUTES];
static int g_nroutes;

#define MAX_SIGS 200
static struct {
    char sig[320];
    long count;
    int number;
} g_sigs[MAX_SIGS];
static int g_nsigs;
static long g_failures;
static struct {
    char label[48];
    long count;
} g_label_fails[64];
static int g_printed;
static atomic_int g_stop;
static double g_deadline;
static json_t *g_spec;

/* ------------------------------------------------------------------ connections and I/O */

typedef struct {
    int fd;
    long uses;
    buf_t in;
    size_t off;
} conn_t;

static void conn_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->uses = 0;
    buf_clear(&c->in);
    c->off = 0;
}

/* Connects to 127.0.0.1:port; returns 0 or an errno value. */
static int conn_open(conn_t *c)
{
    conn_close(c);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            return e;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, 5000) != 1) {
            close(fd);
            return ETIMEDOUT;
        }
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            close(fd);
            return err;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    return 0;
}

/* Sends until done, the deadline, a close/reset, or (when stop_on_input) an early answer. */
static int send_bytes(conn_t *c, const char *p, size_t n, size_t *sent, double deadline,
                      int stop_on_input)
{
    while (*sent < n) {
        ssize_t w = send(c->fd, p + *sent, n - *sent, MSG_NOSIGNAL);
        if (w > 0) {
            *sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLOUT | POLLIN};
            int ms = ms_until(deadline);
            if (ms <= 0 || poll(&pfd, 1, ms) == 0)
                return SEND_TIMEOUT;
            if (stop_on_input && (pfd.revents & POLLIN) && !(pfd.revents & POLLOUT))
                return SEND_EARLY;
            if (pfd.revents & (POLLERR | POLLHUP))
                return SEND_CUT;
            continue;
        }
        return SEND_CUT;
    }
    return SEND_OK;
}

typedef struct {
    int status;
    int close;
    int interim;
    size_t extra; /* bytes that followed the answer (appended to raw) */
    buf_t raw;    /* the bytes of this answer (or of what arrived) */
    buf_t body;   /* the body, de-chunked */
} resp_t;

static void resp_free(resp_t *r)
{
    buf_free(&r->raw);
    buf_free(&r->body);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses one answer at p[0..n). Returns 1 complete, 2 interim (1xx), 0 more needed, -1 not
 * HTTP. On 1 and 2 *used is its length; on 1 the body goes to r->body. */
static int parse_response(const char *p, size_t n, int head, int eof, resp_t *r, size_t *used)
{
    if (memcmp(p, "HTTP/1.", n < 7 ? n : 7) != 0)
        return -1;
    const char *e = memmem(p, n, "\r\n\r\n", 4);
    if (!e)
        return n > 65536 ? -1 : 0;
    size_t hlen = (size_t)(e - p) + 4;
    if (hlen < 16 || p[8] != ' ' || !isdigit((unsigned char)p[9]) ||
        !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) ||
        (p[12] != ' ' && p[12] != '\r'))
        return -1;
    int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    long long clen = -1;
    int chunked = 0, close_ = 0;
    const char *line = memchr(p, '\n', hlen) + 1;
    while (line < p + hlen - 2) {
        const char *le = memchr(line, '\n', (size_t)(p + hlen - line));
        size_t ll = (size_t)(le - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        const char *colon = memchr(line, ':', ll);
        if (!colon)
            return -1;
        size_t nl = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vl = ll - nl - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        if (nl == 14 && !strncasecmp(line, "content-length", 14)) {
            clen = 0;
            if (!vl)
                return -1;
            for (size_t i = 0; i < vl; i++) {
                if (!isdigit((unsigned char)v[i]) || clen > 100000000000LL)
                    return -1;
                clen = clen * 10 + (v[i] - '0');
            }
        } else if (nl == 17 && !strncasecmp(line, "transfer-encoding", 17)) {
            chunked = memmem(v, vl, "chunked", 7) != NULL;
        } else if (nl == 10 && !strncasecmp(line, "connection", 10)) {
            for (size_t i = 0; i + 5 <= vl; i++)
                if (!strncasecmp(v + i, "close", 5))
                    close_ = 1;
        }
        line = le + 1;
    }
    r->status = status;
    r->close = close_;
    if (status >= 100 && status < 200) {
        *used = hlen;
        return 2;
    }
    buf_clear(&r->body);
    size_t total;
    if (head || status == 204 || status == 304) {
        total = hlen;
    } else if (chunked) {
        size_t pos = hlen;
        for (;;) {
            const char *le = memmem(p + pos, n - pos, "\r\n", 2);
            if (!le)
                return n - pos > 1024 ? -1 : 0;
            uint64_t size = 0;
            size_t i = pos, digits = 0;
            for (; p + i < le && hexval((unsigned char)p[i]) >= 0; i++, digits++) {
                if (size > (1ULL << 36))
                    return -1;
                size = size * 16 + (uint64_t)hexval((unsigned char)p[i]);
            }
            if (!digits || (p + i < le && p[i] != ';'))
                return -1;
            pos = (size_t)(le - p) + 2;
            if (size == 0) {
                for (;;) {
                    le = memmem(p + pos, n - pos, "\r\n", 2);
                    if (!le)
                        return 0;
                    size_t l = (size_t)(le - (p + pos));
                    pos += l + 2;
                    if (!l)
                        break;
                }
                break;
            }
            if (n - pos < size + 2)
                return 0;
            if (p[pos + size] != '\r' || p[pos + size + 1] != '\n')
                return -1;
            buf_add(&r->body, p + pos, size);
            pos += size + 2;
        }
        total = pos;
    } else if (clen >= 0) {
        if (n - hlen < (size_t)clen)
            return 0;
        total = hlen + (size_t)clen;
        buf_add(&r->body, p + hlen, (size_t)clen);
    } else {
        if (!eof)
            return 0;
        total = n;
        buf_add(&r->body, p + hlen, n - hlen);
        r->close = 1;
    }
    *used = total;
    return 1;
}

/* Reads one answer (skipping 1xx) from c until the deadline. */
static int read_response(conn_t *c, int head, double deadline, resp_t *r)
{
    int eof = 0, reset = 0;
    r->status = 0;
    r->close = 0;
    r->interim = 0;
    r->extra = 0;
    buf_clear(&r->raw);
    buf_clear(&r->body);
    for (;;) {
        size_t avail = c->in.len - c->off;
        if (avail) {
            size_t used = 0;
            int pr = parse_response(c->in.p + c->off, avail, head, eof, r, &used);
            if (pr == 2) {
                c->off += used;
                r->interim++;
                continue;
            }
            if (pr == 1) {
                buf_add(&r->raw, c->in.p + c->off, used);
                c->off += used;
                if (c->off == c->in.len) {
                    buf_clear(&c->in);
                    c->off = 0;
                }
                return RD_OK;
            }
            if (pr < 0) {
                buf_add(&r->raw, c->in.p + c->off, avail);
                return RD_GARBAGE;
            }
        }
        if (eof) {
            buf_add(&r->raw, c->in.p + c->off, avail);
            if (reset)
                return avail ? RD_RESET_PARTIAL : RD_RESET_NONE;
            return avail ? RD_EOF_PARTIAL : RD_EOF_NONE;
        }
        int ms = ms_until(deadline);
        if (ms <= 0) {
            buf_add(&r->raw, c->in.p + c->off, avail);
            return avail ? RD_TIMEOUT_PARTIAL : RD_TIMEOUT_NONE;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, ms) <= 0)
            continue;
        if (c->off && c->off == c->in.len) {
            buf_clear(&c->in);
            c->off = 0;
        }
        buf_reserve(&c->in, 65536);
        ssize_t k = recv(c->fd, c->in.p + c->in.len, 65536, 0);
        if (k > 0) {
            c->in.len += (size_t)k;
            c->in.p[c->in.len] = 0;
        } else if (k == 0) {
            eof = 1;
        } else if (errno != EAGAIN && errno != EINTR) {
            eof = 1;
            reset = 1;
        }
    }
}

/* ------------------------------------------------------------------ requests and reporting */

typedef struct {
    buf_t bytes;
    int kind;
    int expect;
    int head;
    int close_after;
    int creates;     /* resource a 201 creates, or -1 */
    int allow_5xx;   /* 505 or 501 that this request may legitimately get, else 0 */
    char route[200]; /* method and path template: part of the failure signature */
    char label[48];  /* what is hostile about it (fixed words): part of the signature */
    buf_t note;      /* the details (values used, sizes) */
    buf_t ctx;       /* the request that created the record this one addresses */
    buf_t ctx_last;  /* the last request that changed it with a 2xx answer */
    int pool_res;    /* that record's resource, or -1 */
    char pool_id[48];
} req_t;

typedef struct {
    int send;
    size_t sent;
    int read;
    int reused;
    double waited;
} outcome_t;

typedef struct worker {
    int id;
    rng_t r;
    conn_t c;
    long n;
    pthread_t th;
    char idem_key[80];
    buf_t prev_req, prev_resp; /* the last exchange on the current connection */
} worker_t;

static void req_init(req_t *q, int kind, const char *label)
{
    memset(q, 0, sizeof *q);
    q->kind = kind;
    q->creates = -1;
    q->pool_res = -1;
    snprintf(q->label, sizeof q->label, "%s", label);
}

static void req_free(req_t *q)
{
    buf_free(&q->bytes);
    buf_free(&q->note);
    buf_free(&q->ctx);
    buf_free(&q->ctx_last);
}

static void esc_byte(buf_t *o, unsigned char c, int newlines)
{
    switch (c) {
    case '\r':
        buf_adds(o, "\\r");
        break;
    case '\n':
        buf_adds(o, newlines ? "\\n\n    " : "\\n");
        break;
    case '\t':
        buf_adds(o, "\\t");
        break;
    case '\\':
        buf_adds(o, "\\\\");
        break;
    default:
        if (c >= 0x20 && c < 0x7f)
            buf_addc(o, (char)c);
        else
            buf_printf(o, "\\x%02X", c);
    }
}

/* C-style escaping; a unit of 1..8 bytes repeated k >= 8 times (at least 64 bytes) is written
 * \{unit x k}. Output stops after `limit` characters. */
static void escape_bytes(buf_t *o, const char *p, size_t n, size_t limit)
{
    size_t start = o->len, i = 0;
    buf_adds(o, "    ");
    while (i < n) {
        if (o->len - start > limit) {
            buf_printf(o, "\n    ... (%zu more bytes not shown)", n - i);
            break;
        }
        size_t best_u = 0, best_k = 0;
        for (size_t u = 1; u <= 8 && i + 2 * u <= n; u++) {
            size_t k = 1;
            while (i + (k + 1) * u <= n && memcmp(p + i, p + i + k * u, u) == 0)
                k++;
            if (k >= 8 && k * u >= 64 && k * u > best_k * best_u) {
                best_u = u;
                best_k = k;
            }
        }
        if (best_u) {
            buf_adds(o, "\\{");
            for (size_t j = 0; j < best_u; j++)
                esc_byte(o, (unsigned char)p[i + j], 0);
            buf_printf(o, " x %zu}", best_k);
            i += best_u * best_k;
            continue;
        }
        esc_byte(o, (unsigned char)p[i], 1);
        i++;
    }
    buf_addc(o, '\n');
}

static const char *read_desc(int rd)
{
    switch (rd) {
    case RD_OK:
        return "answer";
    case RD_EOF_NONE:
        return "no answer: the server closed the connection";
    case RD_RESET_NONE:
        return "no answer: the connection was reset";
    case RD_TIMEOUT_NONE:
        return "no answer and no close within the deadline";
    case RD_EOF_PARTIAL:
        return "incomplete answer, then the server closed the connection";
    case RD_RESET_PARTIAL:
        return "incomplete answer, then the connection was reset";
    case RD_TIMEOUT_PARTIAL:
        return "incomplete answer, nothing more within the deadline";
    default:
        return "bytes that are not an HTTP/1.x answer";
    }
}

static const char *send_desc(int s)
{
    switch (s) {
    case SEND_OK:
        return "all sent";
    case SEND_CUT:
        return "the server closed or reset the connection while it was being sent";
    case SEND_EARLY:
        return "the server answered before it was completely sent";
    case SEND_TIMEOUT:
        return "the server stopped reading it";
    default:
        return "no connection";
    }
}

static void describe(buf_t *o, const worker_t *w, const req_t *q, const outcome_t *oc,
                     const resp_t *r)
{
    buf_printf(o, "kind: %s   label: %s   route: %s   seed %" PRIu64, kind_names[q->kind], q->label,
               q->route, opt.seed);
    if (w)
        buf_printf(o, "   worker %d request #%ld", w->id, w->n);
    buf_addc(o, '\n');
    if (q->note.len)
        buf_printf(o, "note: %s\n", buf_str(&q->note));
    buf_printf(o, "request (%zu bytes; %s):\n", q->bytes.len,
               oc->send == SEND_OK ? "all sent" : send_desc(oc->send));
    escape_bytes(o, q->bytes.p, q->bytes.len, PRINT_LIMIT);
    buf_printf(o, "response (%s after %.2f s%s", read_desc(oc->read), oc->waited,
               oc->reused ? ", on a kept-alive connection" : ", on a fresh connection");
    if (r && r->extra)
        buf_printf(o, "; the last %zu bytes shown came after the answer", r->extra);
    buf_adds(o, "):\n");
    if (r && r->raw.len)
        escape_bytes(o, r->raw.p, r->raw.len, 4000);
    if (q->ctx.len) {
        buf_adds(o, "context: the record in the path was created by:\n");
        escape_bytes(o, q->ctx.p, q->ctx.len, 4000);
    }
    if (q->ctx_last.len) {
        buf_adds(o, "context: and last changed (2xx) by:\n");
        escape_bytes(o, q->ctx_last.p, q->ctx_last.len, 4000);
    }
    if (w && oc->reused && w->prev_req.len) {
        buf_adds(o, "context: the previous request on this connection:\n");
        escape_bytes(o, w->prev_req.p, w->prev_req.len, 4000);
        buf_adds(o, "context: and its answer as parsed:\n");
        escape_bytes(o, w->prev_resp.p, w->prev_resp.len, 4000);
    }
}

static void save_file(const char *name, const char *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", opt.save_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(p, 1, n, f);
    fclose(f);
}

/* Records a failure; the first of each signature is printed in full. A 5xx is told apart by
 * route and problem detail, a missing answer (or stray bytes after one) by the kind of request. */
static void fail(const worker_t *w, const req_t *q, const char *why, const outcome_t *oc,
                 const resp_t *r)
{
    char sig[320];
    if (oc->read == RD_OK && r->extra) {
        if (q->kind == K_VALID || q->kind == K_READBACK)
            snprintf(sig, sizeof sig, "%s (answered %d) | %s", why, r->status, q->route);
        else
            snprintf(sig, sizeof sig, "%s (answered %d) | %s | %s", why, r->status,
                     kind_names[q->kind], q->label);
    } else if (oc->read == RD_OK) {
        json_t *j = r->body.len ? json_loadb(r->body.p, r->body.len, 0, NULL) : NULL;
        const char *detail = json_string_value(json_object_get(j, "detail"));
        snprintf(sig, sizeof sig, "%s (%.80s) | %s", why, detail ? detail : "no detail", q->route);
        json_decref(j);
    } else {
        snprintf(sig, sizeof sig, "%s | %s | %s", why, kind_names[q->kind], q->label);
    }
    pthread_mutex_lock(&g_mu);
    g_failures++;
    for (size_t l = 0; l < COUNT(g_label_fails); l++) {
        if (!g_label_fails[l].label[0])
            snprintf(g_label_fails[l].label, sizeof g_label_fails[l].label, "%s", q->label);
        if (!strcmp(g_label_fails[l].label, q->label)) {
            g_label_fails[l].count++;
            break;
        }
    }
    int i;
    for (i = 0; i < g_nsigs; i++)
        if (!strcmp(g_sigs[i].sig, sig))
            break;
    if (i < g_nsigs) {
        g_sigs[i].count++;
        pthread_mutex_unlock(&g_mu);
        return;
    }
    int number = g_nsigs + 1;
    if (g_nsigs < MAX_SIGS) {
        snprintf(g_sigs[g_nsigs].sig, sizeof g_sigs[0].sig, "%s", sig);
        g_sigs[g_nsigs].count = 1;
        g_sigs[g_nsigs].number = number;
        g_nsigs++;
    }
    if (g_printed >= opt.max_print) {
        pthread_mutex_unlock(&g_mu);
        return;
    }
    g_printed++;
    buf_t o = {0};
    buf_printf(&o, "\n=== FAILURE %d: %s ===\n", number, why);
    describe(&o, w, q, oc, r);
    if (opt.save_dir) {
        char name[64];
        snprintf(name, sizeof name, "failure-%d.req", number);
        save_file(name, q->bytes.p, q->bytes.len);
        snprintf(name, sizeof name, "failure-%d.txt", number);
        save_file(name, o.p, o.len);
        buf_printf(&o,
                   "(raw request saved as %s/failure-%d.req; replay: http_fuzz --port P "
                   "--replay FILE)\n",
                   opt.save_dir, number);
    }
    fwrite(o.p, 1, o.len, stdout);
    fflush(stdout);
    buf_free(&o);
    pthread_mutex_unlock(&g_mu);
}

/* True (most of the time) once requests of this label have failed ten times: the run then
 * spends its time elsewhere. */
static int saturated(rng_t *r, const char *label)
{
    long n = 0;
    pthread_mutex_lock(&g_mu);
    for (size_t l = 0; l < COUNT(g_label_fails) && g_label_fails[l].label[0]; l++)
        if (!strcmp(g_label_fails[l].label, label))
            n = g_label_fails[l].count;
    pthread_mutex_unlock(&g_mu);
    return n >= 10 && chance(r, 90);
}

/* Counts an oddity; the first of each sort is printed (not a failure). */
static void odd(const worker_t *w, const req_t *q, int which, const outcome_t *oc, const resp_t *r)
{
    pthread_mutex_lock(&g_mu);
    st.odd[which]++;
    for (int i = 0; q && i < MAX_ODD_LABELS; i++) {
        if (!g_odd_labels[which][i].label[0])
            snprintf(g_odd_labels[which][i].label, sizeof g_odd_labels[0][0].label, "%s", q->label);
        if (!strcmp(g_odd_labels[which][i].label, q->label)) {
            g_odd_labels[which][i].count++;
            break;
        }
    }
    int show = q && oc && which != ODD_DELIBERATE && which != ODD_STALE_RETRY && which != ODD_503 &&
               st.odd_printed[which] < 1;
    if (show) {
        st.odd_printed[which]++;
        buf_t o = {0};
        buf_printf(&o, "\n--- odd (not a failure): %s ---\n", odd_names[which]);
        describe(&o, w, q, oc, r);
        fwrite(o.p, 1, o.len, stdout);
        fflush(stdout);
        buf_free(&o);
    }
    pthread_mutex_unlock(&g_mu);
}

/* Counts and checks one exchange against the rules in README.md. */
static void judge(const worker_t *w, const req_t *q, const outcome_t *oc, const resp_t *r)
{
    int cls = oc->read == RD_OK ? r->status / 100 : 0;
    if (cls < 0 || cls > 5)
        cls = 0;
    pthread_mutex_lock(&g_mu);
    st.sent[q->kind]++;
    st.cls[q->kind][cls]++;
    if (oc->read == RD_OK && r->status > 0 && r->status < 600)
        st.status[r->status]++;
    st.interim += r->interim;
    if (q->kind == K_VALID || q->kind == K_READBACK) {
        int i;
        for (i = 0; i < g_nroutes && strcmp(g_routes[i].route, q->route); i++)
            ;
        if (i == g_nroutes && g_nroutes < MAX_ROUTES)
            snprintf(g_routes[g_nroutes++].route, sizeof g_routes[0].route, "%.79s", q->route);
        if (i < g_nroutes) {
            g_routes[i].cls[cls]++;
            g_routes[i].s201 += oc->read == RD_OK && r->status == 201;
            g_routes[i].s422 += oc->read == RD_OK && r->status == 422;
        }
    }
    pthread_mutex_unlock(&g_mu);

    if (opt.trace && strstr(q->route, opt.trace)) {
        pthread_mutex_lock(&g_mu);
        printf("trace: %-9s %-16s %-40s -> %d %.*s\n", kind_names[q->kind], q->label, q->route,
               oc->read == RD_OK ? r->status : -oc->read,
               (int)(r->body.len > 160 ? 160 : r->body.len), buf_str(&r->body));
        pthread_mutex_unlock(&g_mu);
    }
    char why[96];
    if (oc->read == RD_OK) {
        if (q->expect == EXP_NONE)
            odd(w, q, ODD_EARLY_ANSWER, NULL, NULL);
        if (r->status == 503) {
            odd(w, q, ODD_503, oc, r);
        } else if (r->status >= 500 && r->status == q->allow_5xx) {
            odd(w, q, ODD_ALLOWED_5XX, oc, r);
        } else if (r->status >= 500) {
            snprintf(why, sizeof why, "answered %d", r->status);
            fail(w, q, why, oc, r);
        } else if (r->status < 100 || r->status >= 600) {
            snprintf(why, sizeof why, "answered with status %d", r->status);
            fail(w, q, why, oc, r);
        }
        return;
    }
    if (oc->read == RD_GARBAGE) {
        fail(w, q, "answer is not HTTP/1.x", oc, r);
        return;
    }
    if (q->expect == EXP_NONE)
        return;
    if (oc->send != SEND_OK) {
        odd(w, q, ODD_SEND_CUT, oc, r);
        return;
    }
    int partial = oc->read == RD_EOF_PARTIAL || oc->read == RD_RESET_PARTIAL ||
                  oc->read == RD_TIMEOUT_PARTIAL;
    int timeout = oc->read == RD_TIMEOUT_NONE;
    if (partial) {
        fail(w, q, "incomplete answer", oc, r);
    } else if (q->expect == EXP_ANSWER) {
        fail(w, q, timeout ? "no answer within 5 s" : "connection closed without an answer", oc, r);
    } else {
        odd(w, q, timeout ? ODD_HELD_ALLOWED : ODD_CLOSED_ALLOWED, oc, r);
    }
}

/* ------------------------------------------------------------------ record pool */

#define POOL_N 64
static struct {
    char id[RES_N][POOL_N][48];
    buf_t ctx[RES_N][POOL_N];  /* the creating request */
    buf_t last[RES_N][POOL_N]; /* the last request that changed it (2xx) */
    unsigned n[RES_N], next[RES_N];
    char cursor[16][600];
    char cursor_path[16][128];
    unsigned ncur, nextcur;
} g_pool;
static pthread_mutex_t g_pool_mu = PTHREAD_MUTEX_INITIALIZER;

static void pool_add(int res, const char *id, const char *ctx, size_t ctxlen)
{
    pthread_mutex_lock(&g_pool_mu);
    unsigned i = g_pool.next[res];
    g_pool.next[res] = (i + 1) % POOL_N;
    if (g_pool.n[res] < POOL_N)
        g_pool.n[res]++;
    snprintf(g_pool.id[res][i], sizeof g_pool.id[0][0], "%s", id);
    buf_clear(&g_pool.ctx[res][i]);
    buf_add(&g_pool.ctx[res][i], ctx, ctxlen > 8192 ? 8192 : ctxlen);
    buf_clear(&g_pool.last[res][i]);
    pthread_mutex_unlock(&g_pool_mu);
}

static void pool_changed(int res, const char *id, const char *req, size_t len)
{
    pthread_mutex_lock(&g_pool_mu);
    for (unsigned i = 0; i < g_pool.n[res]; i++) {
        if (strcmp(g_pool.id[res][i], id))
            continue;
        buf_clear(&g_pool.last[res][i]);
        buf_add(&g_pool.last[res][i], req, len > 8192 ? 8192 : len);
    }
    pthread_mutex_unlock(&g_pool_mu);
}

static int pool_pick(rng_t *r, int res, char *id, size_t idsz, buf_t *ctx, buf_t *last)
{
    pthread_mutex_lock(&g_pool_mu);
    if (!g_pool.n[res]) {
        pthread_mutex_unlock(&g_pool_mu);
        return 0;
    }
    unsigned i = rn(r, g_pool.n[res]);
    snprintf(id, idsz, "%s", g_pool.id[res][i]);
    if (ctx) {
        buf_clear(ctx);
        buf_add(ctx, g_pool.ctx[res][i].p, g_pool.ctx[res][i].len);
    }
    if (last) {
        buf_clear(last);
        buf_add(last, g_pool.last[res][i].p, g_pool.last[res][i].len);
    }
    pthread_mutex_unlock(&g_pool_mu);
    return 1;
}

static void cursor_add(const char *path, const char *cursor)
{
    if (strlen(cursor) >= sizeof g_pool.cursor[0])
        return;
    pthread_mutex_lock(&g_pool_mu);
    unsigned i = g_pool.nextcur;
    g_pool.nextcur = (i + 1) % 16;
    if (g_pool.ncur < 16)
        g_pool.ncur++;
    snprintf(g_pool.cursor[i], sizeof g_pool.cursor[0], "%s", cursor);
    snprintf(g_pool.cursor_path[i], sizeof g_pool.cursor_path[0], "%s", path);
    pthread_mutex_unlock(&g_pool_mu);
}

/* A cursor seen on `path` (any path if NULL); 0 if none. */
static int cursor_pick(rng_t *r, const char *path, char *out, size_t n)
{
    int found = 0;
    pthread_mutex_lock(&g_pool_mu);
    if (g_pool.ncur) {
        unsigned start = rn(r, g_pool.ncur);
        for (unsigned k = 0; k < g_pool.ncur && !found; k++) {
            unsigned i = (start + k) % g_pool.ncur;
            if (!path || !strcmp(path, g_pool.cursor_path[i])) {
                snprintf(out, n, "%s", g_pool.cursor[i]);
                found = 1;
            }
        }
    }
    pthread_mutex_unlock(&g_pool_mu);
    return found;
}

/* ------------------------------------------------------------------ the spec */

typedef struct {
    char method[8];
    const char *path;
    json_t *params; /* resolved parameter objects */
    json_t *body;   /* resolved request schema or NULL */
    int body_required;
    int patch;
    const char *ctypes[4];
    int nctypes;
    int res;     /* resource named by the {id} in the path, or -1 */
    int creates; /* resource a 201 creates, or -1 */
} op_t;

static op_t *g_ops;
static int g_nops;

static json_t *deref(json_t *n)
{
    for (int depth = 0; depth < 16 && json_is_object(n); depth++) {
        const char *ref = json_string_value(json_object_get(n, "$ref"));
        if (!ref || strncmp(ref, "#/", 2) != 0)
            return n;
        json_t *cur = g_spec;
        const char *s = ref + 2;
        while (*s && cur) {
            char part[128];
            size_t l = strcspn(s, "/");
            if (l >= sizeof part)
                return NULL;
            memcpy(part, s, l);
            part[l] = 0;
            cur = json_object_get(cur, part);
            s += l;
            if (*s == '/')
                s++;
        }
        n = cur;
    }
    return n;
}

static int res_of_path(const char *path)
{
    if (strncmp(path, "/v1/", 4) != 0)
        return -1;
    for (int i = 0; i < RES_N; i++) {
        size_t l = strlen(res_names[i]);
        if (!strncmp(path + 4, res_names[i], l) && (path[4 + l] == '/' || !path[4 + l]))
            return i;
    }
    return -1;
}

static const op_t *find_op(const char *method, const char *path)
{
    for (int i = 0; i < g_nops; i++)
        if (!strcmp(g_ops[i].method, method) && !strcmp(g_ops[i].path, path))
            return &g_ops[i];
    return NULL;
}

static int schema_is_generic(json_t *s)
{
    s = deref(s);
    return !s || (!json_object_get(s, "properties") && !json_object_get(s, "allOf"));
}

static int load_ops(void)
{
    static const char *const methods[] = {"get", "put", "post", "patch", "delete"};
    json_t *paths = json_object_get(g_spec, "paths");
    size_t cap = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        for (size_t m = 0; m < COUNT(methods); m++) {
            json_t *o = json_object_get(item, methods[m]);
            if (!json_is_object(o))
                continue;
            if ((size_t)g_nops == cap) {
                cap = cap ? cap * 2 : 32;
                g_ops = realloc(g_ops, cap * sizeof *g_ops);
                if (!g_ops)
                    abort();
            }
            op_t *op = &g_ops[g_nops++];
            memset(op, 0, sizeof *op);
            for (size_t i = 0; methods[m][i] && i < sizeof op->method - 1; i++)
                op->method[i] = (char)toupper((unsigned char)methods[m][i]);
            op->path = path;
            op->params = json_array();
            size_t i;
            json_t *p;
            json_array_foreach(json_object_get(item, "parameters"), i, p)
            {
                json_t *d = deref(p);
                if (d)
                    json_array_append(op->params, d);
            }
            json_array_foreach(json_object_get(o, "parameters"), i, p)
            {
                json_t *d = deref(p);
                if (d)
                    json_array_append(op->params, d);
            }
            json_t *rb = deref(json_object_get(o, "requestBody"));
            if (rb) {
                op->body_required = json_is_true(json_object_get(rb, "required"));
                json_t *content = json_object_get(rb, "content");
                const char *ct;
                json_t *cv;
                json_object_foreach(content, ct, cv)
                {
                    if (op->nctypes < 4)
                        op->ctypes[op->nctypes++] = ct;
                }
                json_t *media = json_object_get(content, "application/json");
                if (!media && op->nctypes)
                    media = json_object_get(content, op->ctypes[0]);
                op->body = deref(json_object_get(media, "schema"));
            }
            int res = res_of_path(path);
            op->res = strchr(path, '{') && res >= 0 ? res : -1;
            op->creates = -1;
            if (!strcmp(op->method, "POST") && res >= 0 && !strchr(path, '{'))
                op->creates = res;
        }
    }
    /* PATCH bodies described only as "object": borrow the create schema without `required` */
    for (int i = 0; i < g_nops; i++) {
        op_t *op = &g_ops[i];
        if (strcmp(op->method, "PATCH") || !op->body || !schema_is_generic(op->body))
            continue;
        char coll[200];
        snprintf(coll, sizeof coll, "%s", op->path);
        char *brace = strstr(coll, "/{");
        if (!brace)
            continue;
        *brace = 0;
        const op_t *post = find_op("POST", coll);
        if (post && post->body) {
            op->body = post->body;
            op->patch = 1;
        }
    }
    return g_nops;
}

/* ------------------------------------------------------------------ value corpora */

static const char *const hostile_numbers[] = {
    "0",
    "-0",
    "1",
    "-1",
    "0.0",
    "-0.0",
    "1e19",
    "1E19",
    "-1e19",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "5e-324",
    "-5e-324",
    "2.2250738585072014e-308",
    "9007199254740993",
    "-9007199254740993",
    "12345678901234567890",
    "-12345678901234567890",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967296",
    "1e400",
    "-1e400",
    "1e-400",
    "0.1",
    "1.5",
    "3.0",
    "1e0",
    "100e-2",
    "0e0",
    "1E+2",
    "32767",
    "32768",
    "65536",
    "604800",
    "604801",
    "8760",
    "8760.0001",
    "1e-7",
    "0.000000000000000000001",
    "123456789012345678901234567890123456789",
    "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"};

/* Boundary numbers that JSON parsers accept (no overflowing integer literals): free-form members
 * store them, so they come back when the record is read. */
static const char *const free_numbers[] = {"0",
                                           "-0",
                                           "-0.0",
                                           "1e19",
                                           "1E19",
                                           "-1e19",
                                           "1e308",
                                           "-1e308",
                                           "1.7976931348623157e308",
                                           "5e-324",
                                           "-5e-324",
                                           "2.2250738585072014e-308",
                                           "9007199254740993",
                                           "-9007199254740993",
                                           "9223372036854775807",
                                           "-9223372036854775808",
                                           "2147483648",
                                           "-2147483649",
                                           "4294967296",
                                           "0.1",
                                           "1.5",
                                           "3.0",
                                           "1e0",
                                           "100e-2",
                                           "0e0",
                                           "1E+2",
                                           "1e-400",
                                           "0.000000000000000000001",
                                           "1e-7",
                                           "1.0000000000000002",
                                           "123456789.123456789"};

static const char *const hostile_strings[] = {"\"\"",
                                              "\" \"",
                                              "\"\\u0000\"",
                                              "\"a\\u0000b\"",
                                              "\"\\ud800\"",
                                              "\"\\udfff\"",
                                              "\"\\ud800\\u0041\"",
                                              "\"\\udc00\\ud800\"",
                                              "\"\\ud83d\\ude00\"",
                                              "\"\\uffff\"",
                                              "\"\\ufffe\"",
                                              "\"\\ufeffbom\"",
                                              "\"\xc2\x80\xdf\xbf\"",
                                              "\"\xe0\xa0\x80\xef\xbf\xbf\"",
                                              "\"\xf0\x90\x80\x80\"",
                                              "\"\xf4\x8f\xbf\xbf\"",
                                              "\"\xf3\xa0\x80\x81\"",
                                              "\"\xf0\xa0\x80\x80\"",
                                              "\"\xf0\x9f\x98\x80\"",
                                              "\"\xe2\x80\xae\"",
                                              "\"e\xcc\x81\"",
                                              "\"'; DROP TABLE customers; --\"",
                                              "\"%s%s%n\"",
                                              "\"\\\\\"",
                                              "\"\\\"\"",
                                              "\"\\/\"",
                                              "\"${x}\"",
                                              "\"../../etc/passwd\"",
                                              "\"<script>\"",
                                              "\"NaN\"",
                                              "\"1e19\"",
                                              "\"-0\"",
                                              "\"\xff\xfe\"",
                                              "\"\xc0\xaf\"",
                                              "\"\xed\xa0\x80\"",
                                              "\"\xf4\x90\x80\x80\"",
                                              "\"\xc3\"",
                                              "\"\x80\"",
                                              "\"a\001b\"",
                                              "\"tab\there\"",
                                              "\"2026-02-30T10:00:00Z\"",
                                              "\"2026-12-01T25:61:61Z\"",
                                              "\"0000-01-01T00:00:00Z\"",
                                              "\"9999-12-31T23:59:59.999Z\"",
                                              "\"275760-09-13T00:00:00Z\"",
                                              "\"294277-01-10T04:00:54.775807Z\"",
                                              "\"-infinity\"",
                                              "\"infinity\"",
                                              "\"epoch\"",
                                              "\"now\"",
                                              "\"2016-12-31T23:59:60Z\"",
                                              "\"2026-12-01T10:00:00.123456789Z\"",
                                              "\"2026-12-01T10:00:00+14:00\"",
                                              "\"2026-12-01T10:00:00-12:59\"",
                                              "\"2026-12-01 10:00:00\"",
                                              "\"2026-12-01\"",
                                              "\"2026-12-01T10:00:00+99:99\"",
                                              "\"0001-01-01T00:00:00Z\"",
                                              "\"1969-12-31T23:59:59.999Z\"",
                                              "\"00000000-0000-0000-0000-000000000000\"",
                                              "\"ffffffff-ffff-ffff-ffff-ffffffffffff\"",
                                              "\"{01a2326a-b879-787b-94ff-698bc8c8a02a}\"",
                                              "\"01a2326ab879787b94ff698bc8c8a02a\"",
                                              "\"01A2326A-B879-787B-94FF-698BC8C8A02A\"",
                                              "\"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz\"",
                                              "\"24:00\"",
                                              "\"23:60\"",
                                              "\"-1:00\"",
                                              "\"9:5\"",
                                              "\"99999999999999999.99999\"",
                                              "\"0.00001\"",
                                              "\"-1.00\"",
                                              "\"1e3\"",
                                              "\"QQQ\"",
                                              "\"cny\"",
                                              "\"+\"",
                                              "\"+86 0000000000000000000000\"",
                                              "\"a@b\"",
                                              "\"@.\"",
                                              "\"\\u00e9\\u0301\""};

static const char *const wrong_types[] = {"null",
                                          "true",
                                          "false",
                                          "[]",
                                          "{}",
                                          "[null]",
                                          "[[]]",
                                          "{\"a\":1}",
                                          "\"\"",
                                          "0",
                                          "[1,\"a\",null,true,{}]",
                                          "\"0\""};

static const char *const garbage_tokens[] = {
    "NaN",        "Infinity",   "-Infinity", "undefined", "0x10", "01",        "1.",
    "+1",         ".5",         "1e",        "tru",       "nul",  "'str'",     "\"unterminated",
    "[1,]",       "{\"a\":1,}", "{,}",       "/*c*/1",    "1 2",  "\"\\x41\"", "\"\\u12\"",
    "\"\\uZZZZ\""};

static const char *const long_units[] = {"a",       "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                         "\\u0000", "\\ud800",  "x\\\"",        "\xe4\xb8\xad",
                                         " ",       "\\\\"};

static const char *const words[] = {"alpha",
                                    "Zo\xc3\xab",
                                    "\xe5\xbc\xa0\xe4\xb8\x89",
                                    "\xea\xb9\x80\xeb\xaf\xbc\xec\xa4\x80",
                                    "M\xc3\xbcller",
                                    "O'Brien",
                                    "Jos\xc3\xa9",
                                    "\xc3\x85ngstr\xc3\xb6m",
                                    "\xc5\x81\xc3\xb3\x64\xc5\xba",
                                    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
                                    "\xce\x95\xce\xbb\xce\xbb\xce\xac\xce\xb4\xce\xb1",
                                    "test",
                                    "delivery",
                                    "late parcel",
                                    "refund",
                                    "x"};

/* Name-based values for fields and parameters whose schema says little: a name, then its values
 * separated by '|'. */
static const char *const hints[][2] = {
    {"email", "fuzz@example.cn|a.b@mail.example.com"},
    {"phone", "+86 138-0013-8000|+49 30 1234567|+1-202-555-0143"},
    {"currency", "CNY|USD|EUR|JPY"},
    {"country", "CN|DE|US|KR"},
    {"from", "09:00|00:00|13:30"},
    {"to", "18:00|24:00|23:59"},
    {"amount", "120.50|0|9999999999999999.9999|1"},
    {"response_channel", "phone|email|visit|letter|chat"},
    {"channel", "phone|email|visit|letter|chat"},
    {"tier", "vip|key|regular,minor|vip,key"},
    {"status", "active|prospect,lost|new|in_progress,new|scheduled|completed"},
    {"role", "viewer|agent|supervisor,admin"},
    {"severity", "low|high|critical"},
    {"category", "delivery|billing|other"},
    {"direction", "inbound|outbound"},
    {"purpose", "inquiry|other|post_sale"},
    {"q", "\xe5\xbc\xa0\xe4\xb8\x89|Zo\xc3\xab|ERP|138|li|\xea\xb9\x80\xeb\xaf\xbc"},
    {"assignee", "li.na|wang.wei"},
    {"agent", "li.na|wang.wei"},
    {"city", "Shanghai|Hangzhou"},
    {"region", "Zhejiang"},
    {"tag", "vip"},
    {"number", "CMP-000001"},
};

/* Appends a hinted value for `name` to o; 0 if there is no hint. */
static int hint(rng_t *r, const char *name, buf_t *o)
{
    for (size_t i = 0; name && i < COUNT(hints); i++) {
        if (strcmp(hints[i][0], name))
            continue;
        const char *v = hints[i][1];
        unsigned n = 1;
        for (const char *c = v; *c; c++)
            n += *c == '|';
        for (unsigned k = rn(r, n); k; k--)
            v = strchr(v, '|') + 1;
        buf_add(o, v, strcspn(v, "|"));
        return 1;
    }
    return 0;
}

static void put_jstr(buf_t *o, const char *s)
{
    buf_addc(o, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf_addc(o, '\\');
            buf_addc(o, (char)c);
        } else if (c < 0x20) {
            buf_printf(o, "\\u%04x", c);
        } else {
            buf_addc(o, (char)c);
        }
    }
    buf_addc(o, '"');
}

static void timestamp(rng_t *r, char *out, size_t n, int future)
{
    time_t t = time(NULL) - (time_t)rn(r, 400 * 86400);
    if (future)
        t += (time_t)rn(r, 800 * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rn(r, 1000));
}

static void random_uuid(rng_t *r, char *out, size_t n)
{
    uint64_t a = rnd64(r), b = rnd64(r);
    snprintf(out, n, "%08x-%04x-7%03x-%04x-%012" PRIx64, (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xfff),
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)), (uint64_t)(b & 0xffffffffffffULL));
}

/* ------------------------------------------------------------------ JSON body generator */

typedef struct {
    rng_t *r;
    buf_t *o;
    buf_t *notes;
    int hostile; /* percent chance that a value is replaced by a hostile one */
    int patch;
    int depth;
    char path[200];
} gen_t;

static void gen_value(gen_t *g, json_t *schema, const char *name);

static void note(gen_t *g, const char *what, const char *text, size_t len)
{
    if (!g->notes || g->notes->len > 600)
        return;
    buf_printf(g->notes, "%s%s %s", g->notes->len ? "; " : "", g->path[0] ? g->path : "(body)",
               what);
    if (text) {
        buf_adds(g->notes, " ");
        buf_add(g->notes, text, len > 48 ? 48 : len);
        if (len > 48)
            buf_adds(g->notes, "...");
    }
}

static size_t path_push(gen_t *g, const char *name)
{
    size_t l = strlen(g->path);
    snprintf(g->path + l, sizeof g->path - l, "%s%s", l ? "." : "", name);
    return l;
}

static void deep_nesting(gen_t *g)
{
    static const unsigned depths[] = {100, 1000, 2047, 2048, 2049, 5000, 30000};
    unsigned d = PICK(g->r, depths);
    int objects = chance(g->r, 50);
    char what[64];
    snprintf(what, sizeof what, "nested %u deep (%s)", d, objects ? "objects" : "arrays");
    note(g, what, NULL, 0);
    buf_rep(g->o, objects ? "{\"a\":" : "[", d);
    buf_adds(g->o, "1");
    buf_rep(g->o, objects ? "}" : "]", d);
}

static void big_container(gen_t *g)
{
    unsigned n = PICK(g->r, ((const unsigned[]){100, 2000, 20000}));
    switch (rn(g->r, 3)) {
    case 0:
        buf_addc(g->o, '{');
        for (unsigned i = 0; i < n; i++)
            buf_printf(g->o, "%s\"k%u\":%u", i ? "," : "", i, i);
        buf_addc(g->o, '}');
        note(g, "object with many keys", NULL, 0);
        break;
    case 1:
        buf_addc(g->o, '[');
        for (unsigned i = 0; i < n; i++)
            buf_printf(g->o, "%s%u", i ? "," : "", i);
        buf_addc(g->o, ']');
        note(g, "long array", NULL, 0);
        break;
    default:
        buf_addc(g->o, '{');
        for (unsigned i = 0; i < n / 10 + 2; i++)
            buf_printf(g->o, "%s\"a\":%u", i ? "," : "", i);
        buf_addc(g->o, '}');
        note(g, "object with duplicate keys", NULL, 0);
    }
}

static void long_string(gen_t *g, json_t *schema)
{
    static const unsigned lens[] = {255, 256, 1000, 4097, 65536, 300000};
    json_int_t max = json_integer_value(json_object_get(schema, "maxLength"));
    unsigned n = PICK(g->r, lens);
    if (max > 0 && chance(g->r, 50))
        n = (unsigned)max + (unsigned)rn(g->r, 2);
    const char *unit = PICK(g->r, long_units);
    buf_addc(g->o, '"');
    buf_rep(g->o, unit, n);
    buf_addc(g->o, '"');
    char what[96];
    snprintf(what, sizeof what, "string of %u x '%s'", n, unit);
    note(g, what, NULL, 0);
}

static void gen_hostile(gen_t *g, json_t *schema)
{
    unsigned c = rn(g->r, 100);
    const char *t;
    if (c < 25) {
        t = PICK(g->r, hostile_numbers);
    } else if (c < 55) {
        t = PICK(g->r, hostile_strings);
    } else if (c < 72) {
        t = PICK(g->r, wrong_types);
    } else if (c < 84) {
        long_string(g, schema);
        return;
    } else if (c < 89) {
        deep_nesting(g);
        return;
    } else if (c < 94) {
        big_container(g);
        return;
    } else {
        t = PICK(g->r, garbage_tokens);
    }
    note(g, "=", t, strlen(t));
    buf_adds(g->o, t);
}

static void gen_word(gen_t *g, json_int_t maxlen)
{
    const char *w = PICK(g->r, words);
    if (maxlen > 0 && maxlen < 12)
        w = "x";
    put_jstr(g->o, w);
}

/* A random JSON value for free-form objects (`attributes`): boundary numbers welcome. */
static void gen_free(gen_t *g, int depth)
{
    unsigned c = rn(g->r, depth >= 3 ? 4 : 6);
    switch (c == 3 ? 0 : c) { /* numbers twice as often as the rest */
    case 0:
        if (chance(g->r, 80)) {
            const char *t = PICK(g->r, free_numbers);
            note(g, "=", t, strlen(t));
            buf_adds(g->o, t);
        } else {
            buf_printf(g->o, "%d", (int)rn(g->r, 2000) - 1000);
        }
        break;
    case 1:
        if (chance(g->r, 30)) {
            const char *t = PICK(g->r, hostile_strings);
            note(g, "=", t, strlen(t));
            buf_adds(g->o, t);
        } else {
            gen_word(g, 0);
        }
        break;
    case 2:
        buf_adds(g->o, PICK(g->r, ((const char *const[]){"true", "false", "null"})));
        break;
    case 4: {
        buf_addc(g->o, '{');
        unsigned n = rn(g->r, 5);
        for (unsigned i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, "k%u", rn(g->r, 100));
            if (i)
                buf_addc(g->o, ',');
            if (chance(g->r, 10)) {
                const char *k =
                    PICK(g->r, ((const char *const[]){"\"\"", "\"\\u0000\"", "\"\xe5\xbc\xa0\"",
                                                      "\"\\ud800\"", "\"$x\""}));
                buf_adds(g->o, k);
            } else {
                put_jstr(g->o, key);
            }
            buf_addc(g->o, ':');
            size_t l = path_push(g, key);
            gen_free(g, depth + 1);
            g->path[l] = 0;
        }
        buf_addc(g->o, '}');
        break;
    }
    default: {
        buf_addc(g->o, '[');
        unsigned n = rn(g->r, 5);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                buf_addc(g->o, ',');
            gen_free(g, depth + 1);
        }
        buf_addc(g->o, ']');
    }
    }
}

static void gen_free_object(gen_t *g)
{
    if (g->hostile && chance(g->r, g->hostile)) {
        if (chance(g->r, 50))
            deep_nesting(g);
        else
            big_container(g);
        return;
    }
    buf_addc(g->o, '{');
    unsigned n = rrange(g->r, 1, 4);
    for (unsigned i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "x%u", i);
        if (i)
            buf_addc(g->o, ',');
        put_jstr(g->o, key);
        buf_addc(g->o, ':');
        size_t l = path_push(g, key);
        gen_free(g, 1);
        g->path[l] = 0;
    }
    buf_addc(g->o, '}');
}

static void collect_props(json_t *s, json_t *props, json_t *req)
{
    s = deref(s);
    if (!json_is_object(s))
        return;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(s, "allOf"), i, x) collect_props(x, props, req);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(s, "properties"), k, v) json_object_set(props, k, v);
    json_array_foreach(json_object_get(s, "required"), i, x) json_array_append(req, x);
}

static int in_array(json_t *arr, const char *s)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i,
                       x) if (json_is_string(x) && !strcmp(json_string_value(x), s)) return 1;
    return 0;
}

static void gen_object(gen_t *g, json_t *schema, const char *name)
{
    json_t *props = json_object(), *req = json_array();
    collect_props(schema, props, req);
    if (!json_object_size(props)) {
        (void)name;
        gen_free_object(g);
        json_decref(props);
        json_decref(req);
        return;
    }
    int hostile_obj = g->hostile && chance(g->r, g->hostile);
    unsigned trick = hostile_obj ? rn(g->r, 5) : 99;
    const char *drop = NULL;
    if (trick == 0 && json_array_size(req))
        drop = json_string_value(json_array_get(req, rn(g->r, (uint32_t)json_array_size(req))));
    buf_addc(g->o, '{');
    int first = 1;
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v)
    {
        int required = !g->patch && in_array(req, k);
        if (drop && !strcmp(drop, k)) {
            note(g, "without required", k, strlen(k));
            continue;
        }
        /* free-form members take any JSON: they are where boundary values get stored */
        json_t *d = deref(v);
        int free_form = json_is_object(d) && !json_object_get(d, "properties") &&
                        !json_object_get(d, "allOf") && !json_object_get(d, "oneOf") &&
                        json_is_string(json_object_get(d, "type")) &&
                        !strcmp(json_string_value(json_object_get(d, "type")), "object");
        if (!required && !chance(g->r, free_form ? 80 : 45))
            continue;
        if (!first)
            buf_addc(g->o, ',');
        first = 0;
        put_jstr(g->o, k);
        buf_addc(g->o, ':');
        size_t l = path_push(g, k);
        gen_value(g, v, k);
        g->path[l] = 0;
        if (trick == 1) {
            buf_addc(g->o, ',');
            put_jstr(g->o, k);
            buf_addc(g->o, ':');
            gen_value(g, v, k);
            note(g, "duplicate key", k, strlen(k));
            trick = 99;
        }
    }
    if (trick == 2 || trick == 3 || trick == 4) {
        const char *extra = trick == 2   ? "\"unknown_field\":1"
                            : trick == 3 ? "\"__proto__\":{}"
                                         : "\"\":null";
        buf_adds(g->o, first ? "" : ",");
        buf_adds(g->o, extra);
        note(g, "extra member", extra, strlen(extra));
    }
    buf_addc(g->o, '}');
    json_decref(props);
    json_decref(req);
}

static const char *pick_type(gen_t *g, json_t *schema)
{
    json_t *t = json_object_get(schema, "type");
    if (json_is_string(t))
        return json_string_value(t);
    if (json_is_array(t) && json_array_size(t)) {
        const char *types[8];
        size_t n = 0, i;
        json_t *x;
        int nullable = 0;
        json_array_foreach(t, i, x)
        {
            const char *s = json_string_value(x);
            if (!s)
                continue;
            if (!strcmp(s, "null"))
                nullable = 1;
            else if (n < 8)
                types[n++] = s;
        }
        if ((nullable && chance(g->r, 10)) || !n)
            return "null";
        return types[rn(g->r, (uint32_t)n)];
    }
    if (json_object_get(schema, "properties") || json_object_get(schema, "allOf"))
        return "object";
    return NULL;
}

static void gen_string(gen_t *g, json_t *schema, const char *name)
{
    const char *fmt = json_string_value(json_object_get(schema, "format"));
    json_int_t maxlen = json_integer_value(json_object_get(schema, "maxLength"));
    char tmp[80];
    if (fmt && !strcmp(fmt, "uuid")) {
        int res = -1;
        if (name && !strcmp(name, "customer_id"))
            res = RES_CUSTOMERS;
        else if (name && !strcmp(name, "complaint_id"))
            res = RES_COMPLAINTS;
        else if (name && !strcmp(name, "interaction_id"))
            res = RES_INTERACTIONS;
        if (res < 0 || chance(g->r, 5) || !pool_pick(g->r, res, tmp, sizeof tmp, NULL, NULL))
            random_uuid(g->r, tmp, sizeof tmp);
        put_jstr(g->o, tmp);
    } else if (fmt && !strcmp(fmt, "date-time")) {
        timestamp(g->r, tmp, sizeof tmp, name && !strcmp(name, "scheduled_at"));
        put_jstr(g->o, tmp);
    } else if (fmt && !strcmp(fmt, "date")) {
        snprintf(tmp, sizeof tmp, "%04u-%02u-%02u", rrange(g->r, 1920, 2025), rrange(g->r, 1, 12),
                 rrange(g->r, 1, 28));
        put_jstr(g->o, tmp);
    } else if (name && !strcmp(name, "external_ref")) {
        snprintf(tmp, sizeof tmp, "fuzz-%016" PRIx64, rnd64(g->r));
        put_jstr(g->o, tmp);
    } else if (json_object_get(schema, "pattern")) {
        snprintf(tmp, sizeof tmp, "%u.%02u", rn(g->r, 100000), rn(g->r, 100));
        put_jstr(g->o, tmp);
    } else {
        buf_t h = {0};
        if (hint(g->r, name, &h))
            put_jstr(g->o, h.p);
        else
            gen_word(g, maxlen);
        buf_free(&h);
    }
}

static void gen_value(gen_t *g, json_t *schema, const char *name)
{
    schema = deref(schema);
    if (!schema) {
        gen_free(g, 0);
        return;
    }
    if (g->depth > 20) {
        buf_adds(g->o, "null");
        return;
    }
    json_t *alts = json_object_get(schema, "oneOf");
    if (!alts)
        alts = json_object_get(schema, "anyOf");
    if (json_array_size(alts)) {
        gen_value(g, json_array_get(alts, rn(g->r, (uint32_t)json_array_size(alts))), name);
        return;
    }
    if (g->hostile && chance(g->r, g->hostile)) {
        gen_hostile(g, schema);
        return;
    }
    json_t *en = json_object_get(schema, "enum");
    if (json_array_size(en)) {
        char *s = json_dumps(json_array_get(en, rn(g->r, (uint32_t)json_array_size(en))),
                             JSON_ENCODE_ANY);
        buf_adds(g->o, s ? s : "null");
        free(s);
        return;
    }
    const char *type = pick_type(g, schema);
    if (!type) {
        gen_free(g, 0);
    } else if (!strcmp(type, "null")) {
        buf_adds(g->o, "null");
    } else if (!strcmp(type, "object")) {
        g->depth++;
        if (name && !strcmp(name, "attributes"))
            gen_free_object(g);
        else
            gen_object(g, schema, name);
        g->depth--;
    } else if (!strcmp(type, "array")) {
        json_t *items = json_object_get(schema, "items");
        json_int_t maxn = json_integer_value(json_object_get(schema, "maxItems"));
        unsigned n = rn(g->r, 4);
        if (maxn > 0 && n > maxn)
            n = (unsigned)maxn;
        buf_addc(g->o, '[');
        g->depth++;
        for (unsigned i = 0; i < n; i++) {
            if (i)
                buf_addc(g->o, ',');
            gen_value(g, items, NULL);
        }
        g->depth--;
        buf_addc(g->o, ']');
    } else if (!strcmp(type, "string")) {
        gen_string(g, schema, name);
    } else if (!strcmp(type, "integer") || !strcmp(type, "number")) {
        json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
        double lo = mn ? json_number_value(mn) : 0, hi = mx ? json_number_value(mx) : 1000;
        if (json_object_get(schema, "exclusiveMinimum"))
            lo = json_number_value(json_object_get(schema, "exclusiveMinimum")) + 1;
        if (hi < lo)
            hi = lo;
        long v = (long)lo + (long)rn(g->r, (uint32_t)(hi - lo + 1));
        if (!strcmp(type, "number") && chance(g->r, 30) && v < (long)hi)
            buf_printf(g->o, "%ld.5", v);
        else
            buf_printf(g->o, "%ld", v);
    } else if (!strcmp(type, "boolean")) {
        buf_adds(g->o, chance(g->r, 50) ? "true" : "false");
    } else {
        gen_free(g, 0);
    }
}

/* ------------------------------------------------------------------ request shapes */

enum { FR_NONE, FR_CL, FR_CHUNKED };

typedef struct {
    char method[1100];
    buf_t target;
    char version[32];
    buf_t headers; /* complete lines, each ending in CRLF */
    buf_t body;
    int framing;
} shape_t;

static void shape_free(shape_t *s)
{
    buf_free(&s->target);
    buf_free(&s->headers);
    buf_free(&s->body);
}

static void hdr_remove(buf_t *h, const char *name)
{
    size_t nl = strlen(name), i = 0;
    while (i < h->len) {
        char *e = memchr(h->p + i, '\n', h->len - i);
        size_t end = e ? (size_t)(e - h->p) + 1 : h->len;
        if (end - i > nl && !strncasecmp(h->p + i, name, nl) && h->p[i + nl] == ':') {
            buf_erase(h, i, end - i);
            continue;
        }
        i = end;
    }
}

static void emit_chunked(rng_t *r, buf_t *out, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = rrange(r, 1, 4096);
        if (k > n - i)
            k = n - i;
        if (chance(r, 10))
            buf_printf(out, "%zx;ext=1\r\n", k);
        else
            buf_printf(out, "%zX\r\n", k);
        buf_add(out, p + i, k);
        buf_adds(out, "\r\n");
        i += k;
    }
    buf_adds(out, "0\r\n\r\n");
}

static void shape_emit(rng_t *r, const shape_t *s, buf_t *out)
{
    buf_adds(out, s->method);
    buf_addc(out, ' ');
    buf_add(out, s->target.p, s->target.len);
    if (s->version[0]) {
        buf_addc(out, ' ');
        buf_adds(out, s->version);
    }
    buf_adds(out, "\r\n");
    buf_add(out, s->headers.p, s->headers.len);
    if (s->framing == FR_CL)
        buf_printf(out, "Content-Length: %zu\r\n", s->body.len);
    else if (s->framing == FR_CHUNKED)
        buf_adds(out, "Transfer-Encoding: chunked\r\n");
    buf_adds(out, "\r\n");
    if (s->framing == FR_CHUNKED)
        emit_chunked(r, out, s->body.p, s->body.len);
    else if (s->framing == FR_CL)
        buf_add(out, s->body.p, s->body.len);
}

static void pct_encode(buf_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',')
            buf_addc(o, (char)c);
        else
            buf_printf(o, "%%%02X", c);
    }
}

static const char *auth_token(rng_t *r)
{
    unsigned c = rn(r, 100);
    if (c < 40)
        return role_tokens[ROLE_ADMIN];
    if (c < 65)
        return role_tokens[ROLE_SUPERVISOR];
    if (c < 85)
        return role_tokens[ROLE_AGENT];
    if (c < 95)
        return role_tokens[ROLE_VIEWER];
    return NULL;
}

static void gen_param_value(worker_t *w, const op_t *op, json_t *param, buf_t *out)
{
    const char *name = json_string_value(json_object_get(param, "name"));
    json_t *sch = deref(json_object_get(param, "schema"));
    json_t *en = json_object_get(sch, "enum");
    char tmp[700];
    if (json_array_size(en)) {
        json_t *v = json_array_get(en, rn(&w->r, (uint32_t)json_array_size(en)));
        if (json_is_string(v))
            buf_adds(out, json_string_value(v));
        return;
    }
    const char *type = json_string_value(json_object_get(sch, "type"));
    const char *fmt = json_string_value(json_object_get(sch, "format"));
    if (!type)
        type = "string";
    if (name && !strcmp(name, "cursor")) {
        if (cursor_pick(&w->r, op->path, tmp, sizeof tmp))
            buf_adds(out, tmp);
        return;
    }
    if (!strcmp(type, "integer")) {
        json_t *mn = json_object_get(sch, "minimum"), *mx = json_object_get(sch, "maximum");
        long lo = mn ? (long)json_integer_value(mn) : 0,
             hi = mx ? (long)json_integer_value(mx) : 100;
        buf_printf(out, "%ld", lo + (long)rn(&w->r, (uint32_t)(hi - lo + 1)));
    } else if (!strcmp(type, "boolean")) {
        buf_adds(out, chance(&w->r, 50) ? "true" : "false");
    } else if (fmt && !strcmp(fmt, "date-time")) {
        timestamp(&w->r, tmp, sizeof tmp, 0);
        buf_adds(out, tmp);
    } else if ((fmt && !strcmp(fmt, "uuid")) || (name && strstr(name, "_id"))) {
        int res = name && !strcmp(name, "complaint_id") ? RES_COMPLAINTS : RES_CUSTOMERS;
        if (!pool_pick(&w->r, res, tmp, sizeof tmp, NULL, NULL))
            random_uuid(&w->r, tmp, sizeof tmp);
        buf_adds(out, tmp);
    } else if (!hint(&w->r, name, out)) {
        buf_adds(out, PICK(&w->r, words));
    }
}

static json_t *find_param(const op_t *op, const char *name, const char *in)
{
    size_t i;
    json_t *p;
    json_array_foreach(op->params, i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        const char *where = json_string_value(json_object_get(p, "in"));
        if (n && where && !strcmp(n, name) && !strcmp(where, in))
            return p;
    }
    return NULL;
}

static int op_is_list(const op_t *op)
{
    return find_param(op, "limit", "query") != NULL;
}

/* A request to `op` the way a client following the spec would send it (with `hostile` percent of
 * body values replaced by boundary or wrong values). */
static void shape_for_op(worker_t *w, shape_t *s, req_t *q, const op_t *op, int hostile)
{
    rng_t *r = &w->r;
    snprintf(s->method, sizeof s->method, "%s", op->method);
    snprintf(s->version, sizeof s->version, "HTTP/1.1");
    snprintf(q->route, sizeof q->route, "%s %s", op->method, op->path);
    q->creates = op->creates;
    /* path */
    for (const char *p = op->path; *p;) {
        if (*p != '{') {
            buf_addc(&s->target, *p++);
            continue;
        }
        const char *e = strchr(p, '}');
        if (!e)
            break;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(e - p - 1), p + 1);
        json_t *param = find_param(op, name, "path");
        char id[80];
        if (!strcmp(name, "id")) {
            if (op->res < 0 || chance(r, 8) ||
                !pool_pick(r, op->res, id, sizeof id, &q->ctx, &q->ctx_last)) {
                random_uuid(r, id, sizeof id);
            } else {
                q->pool_res = op->res;
                snprintf(q->pool_id, sizeof q->pool_id, "%.47s", id);
            }
            buf_adds(&s->target, id);
        } else if (param) {
            buf_t v = {0};
            gen_param_value(w, op, param, &v);
            pct_encode(&s->target, v.p, v.len);
            buf_free(&v);
        }
        p = e + 1;
    }
    /* query */
    if (!strcmp(op->method, "GET")) {
        char sep = '?';
        size_t i;
        json_t *p;
        json_array_foreach(op->params, i, p)
        {
            const char *in = json_string_value(json_object_get(p, "in"));
            const char *name = json_string_value(json_object_get(p, "name"));
            if (!in || !name || strcmp(in, "query") || !chance(r, 25))
                continue;
            buf_t v = {0};
            gen_param_value(w, op, p, &v);
            if (v.len || strcmp(name, "cursor")) {
                buf_addc(&s->target, sep);
                sep = '&';
                buf_adds(&s->target, name);
                buf_addc(&s->target, '=');
                pct_encode(&s->target, v.p, v.len);
            }
            buf_free(&v);
        }
    }
    /* headers */
    buf_printf(&s->headers, "Host: 127.0.0.1:%d\r\n", opt.port);
    const char *tok = auth_token(r);
    if (tok)
        buf_printf(&s->headers, "Authorization: Bearer %s\r\n", tok);
    int id_path = strstr(op->path, "{id}") != NULL;
    if (id_path && strcmp(op->method, "GET") && chance(r, 30))
        buf_printf(&s->headers, "If-Match: %s\r\n",
                   PICK(r, ((const char *const[]){"\"1\"", "\"2\"", "\"3\"", "*"})));
    if (id_path && !strcmp(op->method, "GET") && chance(r, 20))
        buf_printf(&s->headers, "If-None-Match: %s\r\n",
                   PICK(r, ((const char *const[]){"\"1\"", "\"2\"", "*", "W/\"1\""})));
    if (!strcmp(op->method, "POST") && chance(r, 20))
        buf_printf(&s->headers, "Idempotency-Key: fuzz-%016" PRIx64 "\r\n", rnd64(r));
    if (chance(r, 20))
        buf_printf(&s->headers, "X-Request-Id: fuzz-%d-%ld\r\n", w->id, w->n);
    if (chance(r, 30))
        buf_adds(&s->headers, "Accept: application/json\r\n");
    if (chance(r, 4)) {
        buf_adds(&s->headers, "Connection: close\r\n");
        q->close_after = 1;
    }
    /* body */
    if (op->body && (op->body_required || chance(r, 60))) {
        const char *ct =
            op->nctypes ? op->ctypes[rn(r, (uint32_t)op->nctypes)] : "application/json";
        buf_printf(&s->headers, "Content-Type: %s\r\n", ct);
        gen_t g = {
            .r = r, .o = &s->body, .notes = &q->note, .hostile = hostile, .patch = op->patch};
        gen_value(&g, op->body, NULL);
        s->framing = FR_CL;
    } else if (strcmp(op->method, "GET") && chance(r, 30)) {
        s->framing = FR_CL; /* Content-Length: 0 */
    }
}

/* Creates and patches are picked more often: records with odd values must exist before they
 * can be read back and changed. */
static const op_t *pick_op(rng_t *r, int need_body, int need_get)
{
    for (int tries = 0; tries < 200; tries++) {
        const op_t *op = &g_ops[rn(r, (uint32_t)g_nops)];
        if (need_body && !op->body)
            continue;
        if (need_get && strcmp(op->method, "GET"))
            continue;
        if (!need_get && op->creates < 0 && strcmp(op->method, "PATCH") && chance(r, 50))
            continue;
        return op;
    }
    return &g_ops[0];
}

/* ------------------------------------------------------------------ running requests */

static void harvest(worker_t *w, const req_t *q, const resp_t *r, const char *path, int list);
static void read_back(worker_t *w, int res, const char *id, const req_t *origin);

static int connect_or_stop(worker_t *w, const req_t *q, outcome_t *oc)
{
    int e = conn_open(&w->c);
    if (!e)
        return 1;
    oc->send = SEND_NOCONN;
    if (e == ECONNREFUSED) {
        resp_t none = {0};
        oc->read = RD_EOF_NONE;
        fail(w, q, "server refuses connections", oc, &none);
        atomic_store(&g_stop, 1);
    } else {
        odd(w, q, ODD_CONNECT_ERROR, NULL, NULL);
        sleep_ms(50);
    }
    return 0;
}

/* One request, one answer; fresh connection when asked or when none is open. */
static int exchange(worker_t *w, const req_t *q, int fresh, resp_t *r, outcome_t *oc)
{
    memset(oc, 0, sizeof *oc);
    if (w->c.fd >= 0 && w->c.in.len > w->c.off) {
        conn_close(&w->c); /* bytes nobody asked for: already counted when they came */
    }
    if (fresh || w->c.fd < 0) {
        if (!connect_or_stop(w, q, oc))
            return 0;
    }
    if (!w->c.uses) {
        buf_clear(&w->prev_req);
        buf_clear(&w->prev_resp);
    }
    oc->reused = w->c.uses > 0;
    double t0 = now_s();
    oc->send = send_bytes(&w->c, q->bytes.p, q->bytes.len, &oc->sent, t0 + ANSWER_TIMEOUT, 1);
    double t1 = now_s();
    double wait = oc->send != SEND_OK ? 1.0 : q->expect == EXP_ANSWER ? ANSWER_TIMEOUT : 2.0;
    oc->read = read_response(&w->c, q->head, t1 + wait, r);
    oc->waited = now_s() - t1;
    w->c.uses++;
    if (oc->read == RD_OK && !r->close && w->c.in.len == w->c.off &&
        (q->head || r->status == 204 || r->status == 304)) {
        /* an answer without a body: make sure none follows */
        struct pollfd pfd = {.fd = w->c.fd, .events = POLLIN};
        if (poll(&pfd, 1, 30) == 1) {
            buf_reserve(&w->c.in, 4096);
            ssize_t k = recv(w->c.fd, w->c.in.p + w->c.in.len, 4096, 0);
            if (k > 0)
                w->c.in.len += (size_t)k;
        }
    }
    if (oc->read == RD_OK && w->c.in.len > w->c.off && strcmp(q->label, "long-body")) {
        /* more than one answer to one request, or an answer longer than it says */
        r->extra = w->c.in.len - w->c.off;
        buf_add(&r->raw, w->c.in.p + w->c.off, r->extra);
        if (q->expect == EXP_ANSWER)
            fail(w, q, "answer followed by bytes that belong to no request", oc, r);
        else
            odd(w, q, ODD_EXTRA_BYTES, oc, r);
        conn_close(&w->c);
    }
    if (oc->read != RD_OK || r->close || q->close_after || q->expect != EXP_ANSWER)
        conn_close(&w->c);
    return 1;
}

/* Sends q, judges the answer, retries once on a fresh connection when a kept-alive one turns
 * out to be closed, and harvests ids and cursors. */
static void run_req(worker_t *w, req_t *q, int fresh, const char *list_path)
{
    resp_t r = {0};
    outcome_t oc;
    w->n++;
    if (!exchange(w, q, fresh, &r, &oc)) {
        resp_free(&r);
        return;
    }
    if (oc.reused && q->expect == EXP_ANSWER &&
        ((oc.send == SEND_OK && (oc.read == RD_EOF_NONE || oc.read == RD_RESET_NONE)) ||
         (oc.send == SEND_CUT && r.raw.len == 0))) {
        odd(w, q, ODD_STALE_RETRY, &oc, &r);
        if (!exchange(w, q, 1, &r, &oc)) {
            resp_free(&r);
            return;
        }
    }
    judge(w, q, &oc, &r);
    buf_clear(&w->prev_req);
    buf_clear(&w->prev_resp);
    if (w->c.fd >= 0) {
        buf_add(&w->prev_req, q->bytes.p, q->bytes.len > 8192 ? 8192 : q->bytes.len);
        buf_add(&w->prev_resp, r.raw.p, r.raw.len > 8192 ? 8192 : r.raw.len);
    }
    if (oc.read == RD_OK && q->pool_res >= 0 && r.status >= 200 && r.status < 300 &&
        strncmp(q->bytes.p, "GET ", 4) && strncmp(q->bytes.p, "HEAD ", 5))
        pool_changed(q->pool_res, q->pool_id, q->bytes.p, q->bytes.len);
    if (oc.read == RD_OK)
        harvest(w, q, &r, list_path, list_path != NULL);
    resp_free(&r);
}

static void harvest(worker_t *w, const req_t *q, const resp_t *r, const char *path, int list)
{
    if (r->status != 201 && !(list && r->status == 200))
        return;
    if (!r->body.len || r->body.p[0] != '{')
        return;
    json_t *j = json_loadb(r->body.p, r->body.len, 0, NULL);
    if (!j)
        return;
    if (r->status == 201 && q->creates >= 0) {
        const char *id = json_string_value(json_object_get(j, "id"));
        if (id && strlen(id) == 36) {
            if (q->creates != RES_API_KEYS)
                pool_add(q->creates, id, q->bytes.p, q->bytes.len);
            if (q->note.len || chance(&w->r, 40))
                read_back(w, q->creates, id, q);
        }
    }
    const char *cur = json_string_value(json_object_get(j, "next_cursor"));
    if (list && cur && path)
        cursor_add(path, cur);
    json_decref(j);
}

/* GET and a small PATCH of a record just created: a record the server accepted must stay
 * readable and patchable. */
static void read_back(worker_t *w, int res, const char *id, const req_t *origin)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/%s/{id}", res_names[res]);
    for (int step = 0; step < 2; step++) {
        const op_t *op = find_op(step ? "PATCH" : "GET", path);
        if (!op)
            continue;
        req_t q;
        req_init(&q, K_READBACK, step ? "patch after create" : "get after create");
        snprintf(q.route, sizeof q.route, "%s %s", op->method, op->path);
        buf_printf(&q.bytes, "%s /v1/%s/%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", op->method,
                   res_names[res], id, opt.port);
        buf_printf(&q.bytes, "Authorization: Bearer %s\r\n", role_tokens[ROLE_ADMIN]);
        if (step) {
            /* the first plain string member of the patch schema */
            json_t *props = json_object(), *req = json_array();
            collect_props(op->body, props, req);
            const char *field = NULL, *k;
            json_t *v;
            json_object_foreach(props, k, v)
            {
                json_t *d = deref(v);
                if (!field && !json_object_get(d, "enum") && !json_object_get(d, "format") &&
                    json_integer_value(json_object_get(d, "maxLength")) >= 100 &&
                    strcmp(k, "name") && strcmp(k, "subject"))
                    field = k;
            }
            buf_t body = {0};
            buf_adds(&body, "{");
            if (field) {
                put_jstr(&body, field);
                buf_adds(&body, ":\"fuzz read-back\"");
            }
            buf_adds(&body, "}");
            buf_printf(&q.bytes,
                       "Content-Type: application/merge-patch+json\r\nContent-Length: %zu\r\n\r\n",
                       body.len);
            buf_add(&q.bytes, body.p, body.len);
            buf_free(&body);
            json_decref(props);
            json_decref(req);
        } else {
            buf_adds(&q.bytes, "\r\n");
        }
        buf_add(&q.ctx, origin->bytes.p, origin->bytes.len > 8192 ? 8192 : origin->bytes.len);
        buf_printf(&q.note, "record %s", id);
        q.pool_res = res == RES_API_KEYS ? -1 : res;
        snprintf(q.pool_id, sizeof q.pool_id, "%s", id);
        run_req(w, &q, 0, NULL);
        req_free(&q);
    }
}

/* ------------------------------------------------------------------ request kinds */

static void do_valid(worker_t *w)
{
    static const int hostility[] = {0, 0, 0, 5, 10, 20};
    const op_t *op = pick_op(&w->r, 0, 0);
    shape_t s = {0};
    req_t q;
    req_init(&q, K_VALID, "spec");
    shape_for_op(w, &s, &q, op, PICK(&w->r, hostility));
    if (chance(&w->r, 5) && !strcmp(op->method, "GET")) {
        snprintf(s.method, sizeof s.method, "HEAD");
        q.head = 1;
        snprintf(q.route, sizeof q.route, "HEAD %s", op->path);
    }
    shape_emit(&w->r, &s, &q.bytes);
    run_req(w, &q, chance(&w->r, 25), op_is_list(op) ? op->path : NULL);
    shape_free(&s);
    req_free(&q);
}

static const char *const bad_utf8[] = {
    "\xff",     "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xf8\x88\x80\x80\x80",
    "\xe2\x82", "\x80\x80"};

static void mutate(rng_t *r, buf_t *b, buf_t *notes)
{
    static const char *const inserts[] = {"]", "}}}", "\"", ",,",   "NaN",  "/*x*/", "\\u",
                                          ":", "[{",  "\\", "\x00", "\t\n", "1e999", "\"\\ud800\""};
    unsigned n = rrange(r, 1, 4);
    for (unsigned k = 0; k < n; k++) {
        size_t at = b->len ? rn(r, (uint32_t)b->len) : 0;
        switch (rn(r, 8)) {
        case 0:
            if (b->len) {
                b->p[at] ^= (char)(1u << rn(r, 8));
                buf_printf(notes, "%sbit flip at %zu", notes->len ? "; " : "", at);
            }
            break;
        case 1:
            if (b->len) {
                static const unsigned char bytes[] = {0x00, 0xff, '"',  '{',  '}',  ',',
                                                      ':',  '\\', 0x80, 0xc0, 0x7f, '\n'};
                b->p[at] = (char)PICK(r, bytes);
                buf_printf(notes, "%sbyte set at %zu", notes->len ? "; " : "", at);
            }
            break;
        case 2:
            buf_printf(notes, "%struncated to %zu", notes->len ? "; " : "", at);
            b->len = at;
            if (b->p)
                b->p[at] = 0;
            break;
        case 3: {
            size_t len = rn(r, (uint32_t)(b->len - at) + 1);
            buf_t copy = {0};
            buf_add(&copy, b->p + at, len);
            unsigned times = chance(r, 80) ? 1 : rrange(r, 2, 200);
            if (len && len * times > 512 * 1024)
                times = (unsigned)(512 * 1024 / len) + 1;
            for (unsigned i = 0; i < times; i++)
                buf_insert(b, at, copy.p, copy.len);
            buf_printf(notes, "%sspan of %zu duplicated x%u at %zu", notes->len ? "; " : "", len,
                       times, at);
            buf_free(&copy);
            break;
        }
        case 4: {
            size_t len = rn(r, (uint32_t)(b->len - at) + 1);
            buf_erase(b, at, len);
            buf_printf(notes, "%s%zu bytes deleted at %zu", notes->len ? "; " : "", len, at);
            break;
        }
        case 5: {
            const char *t = PICK(r, inserts);
            buf_insert(b, at, t, *t ? strlen(t) : 1);
            buf_printf(notes, "%sinserted token at %zu", notes->len ? "; " : "", at);
            break;
        }
        case 6: {
            const char *t = PICK(r, bad_utf8);
            buf_insert(b, at, t, strlen(t));
            buf_printf(notes, "%sinvalid UTF-8 at %zu", notes->len ? "; " : "", at);
            break;
        }
        default: {
            char garbage[16];
            unsigned len = rrange(r, 1, sizeof garbage);
            for (unsigned i = 0; i < len; i++)
                garbage[i] = (char)rn(r, 256);
            buf_insert(b, at, garbage, len);
            buf_printf(notes, "%s%u random bytes at %zu", notes->len ? "; " : "", len, at);
        }
        }
    }
}

static void do_mutated(worker_t *w)
{
    const op_t *op = pick_op(&w->r, 1, 0);
    shape_t s = {0};
    req_t q;
    req_init(&q, K_MUTATED, "body mutation");
    shape_for_op(w, &s, &q, op, chance(&w->r, 50) ? 0 : 5);
    if (!s.body.len) {
        hdr_remove(&s.headers, "Content-Type");
        buf_adds(&s.headers, "Content-Type: application/json\r\n");
        buf_adds(&s.body, "{}");
    }
    s.framing = FR_CL;
    buf_clear(&q.note);
    mutate(&w->r, &s.body, &q.note);
    shape_emit(&w->r, &s, &q.bytes);
    q.creates = -1;
    run_req(w, &q, chance(&w->r, 25), NULL);
    shape_free(&s);
    req_free(&q);
}

static void query_value(rng_t *r, buf_t *o)
{
    static const char *const vals[] = {
        "%00",    "a%00b",     "%",     "%G1",    "%e",     "%%",           "%C0%80",
        "%FF%FE", "%ED%A0%80", "+",     "%2B",    "%C3%28", "%F4%90%80%80", "%E2%82",
        "%u0041", "%25",       "%2525", "%0D%0A", "%5B%5D", "%EF%BB%BF",    "%F0%9F%98%80",
        "1%",     "%%%",       "%-1",   "%0"};
    buf_adds(o, PICK(r, vals));
}

static void do_query(worker_t *w)
{
    rng_t *r = &w->r;
    const op_t *op = pick_op(r, 0, 1);
    for (int i = 0; i < 10 && !op_is_list(op); i++)
        op = pick_op(r, 0, 1);
    shape_t s = {0};
    req_t q;
    req_init(&q, K_QUERY, "");
    shape_for_op(w, &s, &q, op, 0); /* for the path and the headers */
    buf_clear(&q.note);
    char *qm = memchr(s.target.p, '?', s.target.len);
    if (qm)
        s.target.len = (size_t)(qm - s.target.p);
    /* parameter names the operation knows */
    const char *names[32];
    size_t nn = 0, i;
    json_t *p;
    json_array_foreach(op->params, i, p)
    {
        const char *in = json_string_value(json_object_get(p, "in"));
        if (in && !strcmp(in, "query") && nn < 32)
            names[nn++] = json_string_value(json_object_get(p, "name"));
    }
    if (!nn)
        names[nn++] = "limit";
    buf_t *t = &s.target;
    char tmp[700];
    unsigned mode = rn(r, 9);
    if (mode < 2 && saturated(r, "many-params"))
        mode = rrange(r, 2, 8);
    switch (mode) {
    case 0:
    case 1: {
        unsigned n = chance(r, 75) ? rrange(r, 100, 400) : rrange(r, 20, 1200);
        int same = chance(r, 30);
        for (unsigned k = 0; k < n; k++) {
            buf_addc(t, k ? '&' : '?');
            if (same)
                buf_adds(t, names[0]);
            else if (chance(r, 50))
                buf_adds(t, names[rn(r, (uint32_t)nn)]);
            else
                buf_printf(t, "p%u", k);
            buf_adds(t, chance(r, 90) ? "=1" : "");
        }
        snprintf(q.label, sizeof q.label, "many-params");
        buf_printf(&q.note, "%u parameters%s", n, same ? " (one repeated key)" : "");
        break;
    }
    case 2: {
        static const unsigned lens[] = {1000, 4000, 8000, 12000, 15000, 20000, 40000};
        unsigned n = PICK(r, lens);
        const char *name = chance(r, 50) ? "q" : names[rn(r, (uint32_t)nn)];
        buf_printf(t, "?%s=", name);
        buf_rep(t, PICK(r, ((const char *const[]){"a", "%E5%BC%A0", "%00", "+", "%25"})), n / 3);
        snprintf(q.label, sizeof q.label, "long-value");
        buf_printf(&q.note, "%s of about %u bytes", name, n);
        break;
    }
    case 3: {
        unsigned n = rrange(r, 1, 6);
        for (unsigned k = 0; k < n; k++) {
            buf_addc(t, k ? '&' : '?');
            if (chance(r, 30))
                query_value(r, t);
            else
                buf_adds(t, names[rn(r, (uint32_t)nn)]);
            buf_addc(t, '=');
            query_value(r, t);
        }
        snprintf(q.label, sizeof q.label, "bad-escapes");
        break;
    }
    case 4: {
        unsigned n = rrange(r, 2, 50);
        const char *name = names[rn(r, (uint32_t)nn)];
        for (unsigned k = 0; k < n; k++) {
            json_t *param = find_param(op, name, "query");
            buf_printf(t, "%c%s=", k ? '&' : '?', name);
            buf_t v = {0};
            if (param)
                gen_param_value(w, op, param, &v);
            pct_encode(t, v.p, v.len);
            buf_free(&v);
        }
        snprintf(q.label, sizeof q.label, "repeated-keys");
        buf_printf(&q.note, "%s x%u", name, n);
        break;
    }
    case 5: {
        snprintf(q.label, sizeof q.label, "bad-cursor");
        buf_adds(t, "?cursor=");
        unsigned c = rn(r, 6);
        if (c == 0 && cursor_pick(r, NULL, tmp, sizeof tmp)) {
            size_t l = strlen(tmp);
            if (l)
                tmp[rn(r, (uint32_t)l)] ^= (char)(1u << rn(r, 6));
            pct_encode(t, tmp, strlen(tmp));
            buf_adds(&q.note, "a real cursor with one flipped bit (possibly from another list)");
        } else if (c == 1 && cursor_pick(r, NULL, tmp, sizeof tmp)) {
            pct_encode(t, tmp, strlen(tmp));
            buf_adds(&q.note, "a real cursor of some list");
        } else if (c == 2) {
            buf_rep(t, "QUFB", rrange(r, 1, 3000));
            buf_adds(&q.note, "long base64");
        } else if (c == 3) {
            static const char *const raw[] = {
                "eyJ9",
                "eyJhIjoxfQ",
                "eyJhIjoxfQ==",
                "bnVsbA",
                "W10",
                "MQ",
                "%00",
                "",
                "////",
                "-_-_",
                "e30",
                "eyJ0IjoiOTk5OTktMTItMzFUMjM6NTk6NTlaIiwiaWQiOiJ4In0",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
            buf_adds(t, PICK(r, raw));
            buf_adds(&q.note, "made-up cursor");
        } else {
            for (unsigned k = rrange(r, 1, 64); k; k--)
                buf_printf(t, "%%%02X", rn(r, 256));
            buf_adds(&q.note, "random bytes");
        }
        if (chance(r, 30))
            buf_adds(t, PICK(r, ((const char *const[]){"&sort=name", "&sort=-updated_at",
                                                       "&limit=1", "&count=exact"})));
        break;
    }
    case 6: {
        static const char *const bad[] = {"limit=0",
                                          "limit=-1",
                                          "limit=501",
                                          "limit=1e3",
                                          "limit=abc",
                                          "limit=",
                                          "limit=99999999999999999999",
                                          "limit=1.5",
                                          "limit=%2B1",
                                          "limit=0x10",
                                          "count=EXACT",
                                          "count=",
                                          "include_archived=maybe",
                                          "include_archived=",
                                          "sort=-",
                                          "sort=--name",
                                          "sort=relevance",
                                          "sort=",
                                          "created_after=garbage",
                                          "created_after=9999-99-99",
                                          "updated_since=2026-02-30T00:00:00Z",
                                          "occurred_after=-infinity",
                                          "due_before=275760-09-13T00:00:00Z",
                                          "tier=,,,,",
                                          "status=a,b",
                                          "q=%00",
                                          "q=",
                                          "overdue=1",
                                          "sla_breached=yes",
                                          "role=root",
                                          "customer_id=not-a-uuid",
                                          "customer_id=00000000-0000-0000-0000-000000000000",
                                          "include_revoked=TRUE"};
        unsigned n = rrange(r, 1, 4);
        for (unsigned k = 0; k < n; k++) {
            buf_addc(t, k ? '&' : '?');
            buf_adds(t, PICK(r, bad));
        }
        snprintf(q.label, sizeof q.label, "bad-values");
        break;
    }
    case 7: {
        static const char *const odd_q[] = {
            "?",     "??",         "?&&&", "?=",         "?=x",      "?a",           "?a=b=c",
            "#frag", "?limit=1#x", ";p=1", "?&limit=1&", "?%3D=%3D", "?a[]=1&a[]=2", "?a.b=1"};
        buf_adds(t, PICK(r, odd_q));
        snprintf(q.label, sizeof q.label, "odd-structure");
        break;
    }
    default: {
        snprintf(q.label, sizeof q.label, "raw-bytes");
        buf_adds(t, "?q=");
        buf_adds(t, chance(r, 50) ? PICK(r, bad_utf8) : "\xe5\xbc\xa0\xe4\xb8\x89");
        if (chance(r, 20)) {
            const char *c = PICK(r, ((const char *const[]){"\x01", "\x7f", " x", "\t", ""}));
            buf_add(t, c, *c ? strlen(c) : 1); /* "" stands for a NUL byte */
            snprintf(q.label, sizeof q.label, "ctl-in-target");
            q.expect = EXP_ANSWER_OR_CLOSE;
        }
    }
    }
    shape_emit(r, &s, &q.bytes);
    run_req(w, &q, chance(r, 25), NULL);
    shape_free(&s);
    req_free(&q);
}

static void do_headers(worker_t *w)
{
    rng_t *r = &w->r;
    const op_t *op = pick_op(r, 0, 0);
    shape_t s = {0};
    req_t q;
    req_init(&q, K_HEADERS, "");
    shape_for_op(w, &s, &q, op, 0);
    buf_t *h = &s.headers;
    unsigned n = rrange(r, 1, 3);
    char lab[48] = "";
    for (unsigned k = 0; k < n; k++) {
        unsigned c = rn(r, 13);
        const char *this_label = "";
        switch (c) {
        case 0: {
            static const unsigned lens[] = {1000, 8000, 15000, 17000, 30000, 65000};
            unsigned len = PICK(r, lens);
            const char *name = PICK(
                r, ((const char *const[]){"X-Fuzz-Big", "Authorization", "If-Match", "X-Request-Id",
                                          "Idempotency-Key", "Content-Type", "Cookie"}));
            hdr_remove(h, name);
            buf_printf(h, "%s: ", name);
            if (!strcmp(name, "Authorization"))
                buf_adds(h, "Bearer ");
            buf_rep(h, "a", len);
            buf_adds(h, "\r\n");
            buf_printf(&q.note, "%s%s of %u bytes", q.note.len ? "; " : "", name, len);
            this_label = "huge-header";
            break;
        }
        case 1: {
            static const unsigned counts[] = {20, 50, 100, 200, 400, 1000};
            unsigned cnt = PICK(r, counts);
            for (unsigned i = 0; i < cnt; i++)
                buf_printf(h, "X-F%u: v\r\n", i);
            buf_printf(&q.note, "%s%u extra headers", q.note.len ? "; " : "", cnt);
            this_label = "many-headers";
            break;
        }
        case 2:
        case 3: {
            static const char *const vals[] = {"",
                                               "\"\"",
                                               "\"",
                                               "1",
                                               "\"1",
                                               "W/",
                                               "W/\"1\"",
                                               "\"1\", \"2\"",
                                               "*, \"1\"",
                                               "\"99999999999999999999\"",
                                               "\"-1\"",
                                               "\"0\"",
                                               "\"1.5\"",
                                               "\"1e3\"",
                                               "\"\xe5\xbc\xa0\"",
                                               "\"1\"garbage",
                                               " \"1\" ",
                                               "\"\\\"\"",
                                               "**",
                                               "\"\x80\"",
                                               ",,,,",
                                               "\"18446744073709551616\"",
                                               "\"9223372036854775807\""};
            const char *name = c == 2 ? "If-Match" : "If-None-Match";
            const char *v = PICK(r, vals);
            hdr_remove(h, name);
            buf_printf(h, "%s: %s\r\n", name, v);
            buf_printf(&q.note, "%s%s: %s", q.note.len ? "; " : "", name, v);
            this_label = c == 2 ? "bad-if-match" : "bad-if-none-match";
            break;
        }
        case 4: {
            hdr_remove(h, "Idempotency-Key");
            unsigned v = rn(r, 6);
            if (v == 0 && w->idem_key[0]) {
                buf_printf(h, "Idempotency-Key: %s\r\n", w->idem_key);
                buf_printf(&q.note, "%sIdempotency-Key reused from an earlier request",
                           q.note.len ? "; " : "");
            } else if (v == 1) {
                buf_adds(h, "Idempotency-Key: ");
                buf_rep(h, "k", PICK(r, ((const unsigned[]){255, 256, 1000, 10000})));
                buf_adds(h, "\r\n");
            } else if (v == 2) {
                buf_adds(h, "Idempotency-Key: \r\n");
            } else if (v == 3) {
                buf_adds(h, "Idempotency-Key: \xe5\xbc\xa0\xe4\xb8\x89\xff\r\n");
            } else {
                snprintf(w->idem_key, sizeof w->idem_key, "fuzz-idem-%d-%u", w->id, rn(r, 50));
                buf_printf(h, "Idempotency-Key: %s\r\n", w->idem_key);
            }
            this_label = "idempotency-key";
            break;
        }
        case 5: {
            static const char *const cts[] = {"text/plain",
                                              "application/json; charset=utf-16",
                                              "application/json; charset=utf-8",
                                              "APPLICATION/JSON",
                                              "application/json;;;",
                                              "",
                                              "multipart/form-data; boundary=x",
                                              "application/x-www-form-urlencoded",
                                              "application/merge-patch+json",
                                              "application/json; charset=\"utf-8\"",
                                              "application/jsonx",
                                              "application/",
                                              "*/*",
                                              "application/json; boundary",
                                              "application/json\xff"};
            const char *v = PICK(r, cts);
            hdr_remove(h, "Content-Type");
            buf_printf(h, "Content-Type: %s\r\n", v);
            buf_printf(&q.note, "%sContent-Type: %s", q.note.len ? "; " : "", v);
            this_label = "content-type";
            break;
        }
        case 6: {
            static const char *const auths[] = {"",           "Bearer",       "Bearer ",
                                                "Basic YTpi", "bearer %s",    "Bearer  %s",
                                                "Bearer %s ", "Bearer %sx",   "Bearer \xe5\xbc\xa0",
                                                "Token %s",   "Bearer %s, x", "Bearer\t%s",
                                                "BEARER %s"};
            const char *v = PICK(r, auths);
            hdr_remove(h, "Authorization");
            buf_adds(h, "Authorization: ");
            const char *pct = strstr(v, "%s");
            if (pct) {
                buf_add(h, v, (size_t)(pct - v));
                buf_adds(h, role_tokens[ROLE_ADMIN]);
                buf_adds(h, pct + 2);
            } else {
                buf_adds(h, v);
            }
            buf_adds(h, "\r\n");
            this_label = "authorization";
            break;
        }
        case 7: {
            static const char *const ids[] = {"",           "\xe5\xbc\xa0\xe4\xb8\x89",
                                              "\"quoted\"", "\\",
                                              "%n%s",       "\xff\xfe",
                                              "{\"a\":1}",  "a b c",
                                              "<script>"};
            hdr_remove(h, "X-Request-Id");
            buf_adds(h, "X-Request-Id: ");
            if (chance(r, 30))
                buf_rep(h, "r", PICK(r, ((const unsigned[]){200, 1000, 10000})));
            else
                buf_adds(h, PICK(r, ids));
            buf_adds(h, "\r\n");
            this_label = "request-id";
            break;
        }
        case 8: {
            const char *name =
                PICK(r, ((const char *const[]){"Content-Type", "Authorization", "If-Match", "Host",
                                               "X-Request-Id", "Idempotency-Key"}));
            buf_printf(h, "%s: %s\r\n", name, chance(r, 50) ? "dup" : "\"1\"");
            buf_printf(&q.note, "%sextra %s", q.note.len ? "; " : "", name);
            this_label = "duplicate-headers";
            break;
        }
        case 9: {
            static const char *const lines[] = {"X-A:no-space\r\n",      "X-B: trailing   \r\n",
                                                "X-C:\tb\r\n",           "x-lower: 1\r\n",
                                                "X-Empty:\r\n",          "X_Under: 1\r\n",
                                                "X-Hi: \xe5\xbc\xa0\r\n"};
            buf_adds(h, PICK(r, lines));
            if (chance(r, 20)) {
                buf_adds(h, "X-");
                buf_rep(h, "N", 2000);
                buf_adds(h, ": 1\r\n");
            }
            this_label = "header-syntax";
            break;
        }
        case 10: {
            static const char *const lines[] = {
                "Expect: 100-continue\r\n",
                "Expect: garbage\r\n",
                "Connection: keep-alive\r\n",
                "Connection: Upgrade\r\nUpgrade: websocket\r\n",
                "Connection: x, y, close\r\n",
                "TE: trailers\r\n",
                "Accept: text/csv\r\n",
                "Accept: */*;q=0\r\n",
                "Accept-Encoding: gzip, br\r\n",
                "Origin: http://evil.example\r\n",
                "Origin: null\r\nAccess-Control-Request-Method: DELETE\r\n",
                "Range: bytes=0-1\r\n",
                "Cookie: a=b\r\n",
                "Forwarded: for=1.2.3.4\r\n",
                "X-Forwarded-For: ::1\r\n",
                "Keep-Alive: timeout=1\r\n"};
            const char *l = PICK(r, lines);
            buf_adds(h, l);
            if (strstr(l, "close"))
                q.close_after = 1;
            this_label = "misc-headers";
            break;
        }
        case 11: {
            hdr_remove(h, "Host");
            unsigned v = rn(r, 4);
            if (v == 1)
                buf_adds(h, "Host: a\r\nHost: b\r\n");
            else if (v == 2)
                buf_adds(h, "Host: \r\n");
            else if (v == 3) {
                buf_adds(h, "Host: ");
                buf_rep(h, "h", 5000);
                buf_adds(h, "\r\n");
            }
            this_label = "host";
            break;
        }
        default: {
            static const char *const ctl[] = {"\x00", "\x01", "\x7f", "\x1b[0m", "\x0b"};
            const char *v = PICK(r, ctl);
            buf_adds(h, "X-Ctl: a");
            buf_add(h, v, *v ? strlen(v) : 1);
            buf_adds(h, "b\r\n");
            q.expect = EXP_ANSWER_OR_CLOSE;
            this_label = "ctl-in-header";
        }
        }
        if (!lab[0] || !strcmp(this_label, "ctl-in-header"))
            snprintf(lab, sizeof lab, "%s", this_label);
    }
    snprintf(q.label, sizeof q.label, "%s", lab);
    if (q.expect == EXP_ANSWER_OR_CLOSE)
        snprintf(q.label, sizeof q.label, "ctl-in-header");
    else if (h->p && h->len > 8192 &&
             (strcasestr(h->p, "\r\nCookie:") || !strncasecmp(h->p, "Cookie:", 7))) {
        /* libmicrohttpd 0.9.75 parses cookies into the connection's pool itself; with a Cookie
         * in a head that uses up about half the pool (68 KiB by default; many headers use it
         * up sooner) it answers its own 431 twice, before csrd is called (see
         * tests/fuzz/README.md): allowed, not csrd's to fix. Over CSRD_MAX_HEADER_BYTES csrd
         * answers 431 anyway. */
        q.expect = EXP_ANSWER_OR_CLOSE;
        snprintf(q.label, sizeof q.label, "huge-cookie-libmicrohttpd");
    }
    shape_emit(r, &s, &q.bytes);
    run_req(w, &q, chance(r, 30), NULL);
    shape_free(&s);
    req_free(&q);
}

static void do_target(worker_t *w)
{
    rng_t *r = &w->r;
    const op_t *op = pick_op(r, 0, 0);
    shape_t s = {0};
    req_t q;
    req_init(&q, K_TARGET, "");
    shape_for_op(w, &s, &q, op, 0);
    char id[80];
    switch (rn(r, 5)) {
    case 0: {
        static const char *const methods[] = {"get",    "PROPFIND", "FOO",      "TRACE",
                                              "HEAD",   "OPTIONS",  "PUT",      "PATCH",
                                              "DELETE", "POST",     "M-SEARCH", "CONNECT"};
        const char *m = PICK(r, methods);
        if (chance(r, 10)) {
            memset(s.method, 'A', 1000);
            s.method[1000] = 0;
            snprintf(q.route, sizeof q.route, "A*1000 %s", op->path);
        } else {
            snprintf(s.method, sizeof s.method, "%s", m);
            snprintf(q.route, sizeof q.route, "%s %s", m, op->path);
        }
        if (!strcmp(s.method, "HEAD"))
            q.head = 1;
        if (!strcmp(m, "OPTIONS") && chance(r, 50))
            buf_adds(&s.headers, "Origin: http://127.0.0.1\r\nAccess-Control-Request-Method: "
                                 "PATCH\r\nAccess-Control-Request-Headers: if-match\r\n");
        snprintf(q.label, sizeof q.label, "method");
        q.creates = -1;
        break;
    }
    case 1: {
        static const char *const paths[] = {"/",
                                            "//v1//customers",
                                            "/v1/customers/",
                                            "/v1/customers/../api-keys",
                                            "/v1/./customers",
                                            "/v1/customers/%2e%2e/api-keys",
                                            "/V1/CUSTOMERS",
                                            "/v1/customers?",
                                            "*",
                                            "/v1/customers/x/y/z/w",
                                            "/v1/%00",
                                            "/v1/customers%00",
                                            "/%2F%2F",
                                            "/v1/customers;a=b",
                                            "/v1/openapi.json/../../etc/passwd",
                                            "/healthz/",
                                            "/v1/customers/%E5%BC%A0",
                                            "/v1/customers/\xe5\xbc\xa0",
                                            "/v1/\xff\xfe",
                                            "/v1/sla-policies/extreme",
                                            "/v1/sla-policies/",
                                            "/metrics?x=1"};
        buf_clear(&s.target);
        if (chance(r, 10)) {
            buf_printf(&s.target, "http://127.0.0.1:%d%s", opt.port, op->path);
            snprintf(q.route, sizeof q.route, "%.40s absolute-form", s.method);
        } else if (chance(r, 10)) {
            buf_adds(&s.target, "/v1/customers/");
            buf_rep(&s.target, "c", PICK(r, ((const unsigned[]){300, 5000, 15000, 20000})));
            snprintf(q.route, sizeof q.route, "%.40s /v1/customers/<long>", s.method);
        } else {
            const char *p = PICK(r, paths);
            buf_adds(&s.target, p);
            snprintf(q.route, sizeof q.route, "%.40s %s", s.method, p);
        }
        snprintf(q.label, sizeof q.label, "path");
        q.creates = -1;
        break;
    }
    case 2: {
        static const char *const ids[] = {"00000000-0000-0000-0000-000000000000",
                                          "ffffffff-ffff-ffff-ffff-ffffffffffff",
                                          "%7B01a2326a-b879-787b-94ff-698bc8c8a02a%7D",
                                          "01a2326ab879787b94ff698bc8c8a02a",
                                          "-1",
                                          "1e19",
                                          "0",
                                          "%00",
                                          "%E5%BC%A0",
                                          "null",
                                          "01a2326a-b879-787b-94ff-698bc8c8a02",
                                          "01a2326a-b879-787b-94ff-698bc8c8a02aa",
                                          "g1a2326a-b879-787b-94ff-698bc8c8a02a",
                                          "01a2326a_b879_787b_94ff_698bc8c8a02a",
                                          "%30%31a2326a-b879-787b-94ff-698bc8c8a02a"};
        const char *brace = strstr(op->path, "{id}");
        if (!brace) {
            op = find_op("GET", "/v1/customers/{id}");
            if (!op)
                break;
            brace = strstr(op->path, "{id}");
        }
        buf_clear(&s.target);
        buf_clear(&q.ctx); /* the pooled record of the shape is not the one addressed now */
        buf_clear(&q.ctx_last);
        q.pool_res = -1;
        buf_add(&s.target, op->path, (size_t)(brace - op->path));
        if (chance(r, 20) && op->res >= 0 && pool_pick(r, op->res, id, sizeof id, NULL, NULL)) {
            for (char *c = id; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            buf_adds(&s.target, id);
        } else {
            buf_adds(&s.target, PICK(r, ids));
        }
        buf_adds(&s.target, brace + 4);
        snprintf(q.route, sizeof q.route, "%.40s %s", s.method, op->path);
        snprintf(q.label, sizeof q.label, "odd-id");
        q.creates = -1;
        break;
    }
    case 3: {
        static const char *const good[] = {"HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/9.9",
                                           "HTTP/1.1"};
        static const char *const bad[] = {"HTTP/1.10",      "http/1.1", "HTTP/1",   "HTTP/1.1x", "",
                                          "HTTP/1.1 extra", "HTTP/",    "HTTP/a.b", "HTTPS/1.1"};
        if (chance(r, 50)) {
            const char *v = PICK(r, good);
            snprintf(s.version, sizeof s.version, "%s", v);
            if (!strcmp(v, "HTTP/1.0"))
                q.close_after = 1;
            else if (strncmp(v, "HTTP/1.", 7))
                q.allow_5xx = 505;
            snprintf(q.label, sizeof q.label, "version");
        } else {
            snprintf(s.version, sizeof s.version, "%s", PICK(r, bad));
            q.expect = EXP_ANSWER_OR_CLOSE;
            snprintf(q.label, sizeof q.label, "bad-version");
        }
        buf_printf(&q.note, "version '%s'", s.version);
        break;
    }
    default: {
        static const char *const methods[] = {"GE T", "G\x01T", "", "GET\t", "(GET)", "GET:"};
        snprintf(s.method, sizeof s.method, "%s", PICK(r, methods));
        q.expect = EXP_ANSWER_OR_CLOSE;
        snprintf(q.label, sizeof q.label, "bad-method");
        snprintf(q.route, sizeof q.route, "<bad method> %s", op->path);
        q.creates = -1;
    }
    }
    shape_emit(r, &s, &q.bytes);
    run_req(w, &q, chance(r, 30), NULL);
    shape_free(&s);
    req_free(&q);
}

/* Sends q (possibly in slow pieces) on a fresh connection, then waits up to wait_ms for
 * anything; judges only what arrives. Used for deliberately incomplete requests. */
static void run_incomplete(worker_t *w, req_t *q, size_t send_len, unsigned wait_ms, int rst)
{
    resp_t r = {0};
    outcome_t oc = {0};
    w->n++;
    if (!connect_or_stop(w, q, &oc))
        return;
    oc.send = send_bytes(&w->c, q->bytes.p, send_len, &oc.sent, now_s() + 2, 0);
    if (rst) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(w->c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        conn_close(&w->c);
        odd(w, q, ODD_DELIBERATE, NULL, NULL);
        pthread_mutex_lock(&g_mu);
        st.sent[q->kind]++;
        st.cls[q->kind][0]++;
        pthread_mutex_unlock(&g_mu);
        return;
    }
    double t1 = now_s();
    oc.read = read_response(&w->c, q->head, t1 + wait_ms / 1000.0, &r);
    oc.waited = now_s() - t1;
    conn_close(&w->c);
    odd(w, q, ODD_DELIBERATE, NULL, NULL);
    judge(w, q, &oc, &r);
    resp_free(&r);
}

/* A well-formed request for pipelines and slow sends. */
static void wellformed(worker_t *w, req_t *q)
{
    const op_t *op = pick_op(&w->r, 0, 0);
    shape_t s = {0};
    req_init(q, K_FRAMING, "");
    shape_for_op(w, &s, q, op, chance(&w->r, 50) ? 0 : 10);
    hdr_remove(&s.headers, "Connection");
    q->close_after = 0;
    q->creates = -1;
    shape_emit(&w->r, &s, &q->bytes);
    shape_free(&s);
}

static void do_pipeline(worker_t *w)
{
    rng_t *r = &w->r;
    unsigned k = rrange(r, 2, 8);
    req_t parts[8];
    req_t all;
    req_init(&all, K_FRAMING, "pipeline");
    for (unsigned i = 0; i < k; i++) {
        wellformed(w, &parts[i]);
        if (chance(r, 10) && !saturated(r, "pipeline")) {
            /* one member with many parameters: it must still be answered in order */
            buf_t *b = &parts[i].bytes;
            char *sp = memchr(b->p, ' ', b->len);
            char *sp2 = sp ? memchr(sp + 1, ' ', b->len - (size_t)(sp + 1 - b->p)) : NULL;
            if (sp2 && !memchr(sp, '?', (size_t)(sp2 - sp))) {
                buf_t extra = {0};
                unsigned n = rrange(r, 100, 400);
                for (unsigned j = 0; j < n; j++)
                    buf_printf(&extra, "%cp%u=1", j ? '&' : '?', j);
                buf_insert(b, (size_t)(sp2 - b->p), extra.p, extra.len);
                buf_printf(&parts[i].note, "%u parameters", n);
                buf_free(&extra);
            }
        }
        buf_add(&all.bytes, parts[i].bytes.p, parts[i].bytes.len);
    }
    w->n++;
    outcome_t oc = {0};
    if (!connect_or_stop(w, &all, &oc))
        goto out;
    /* in one write or in a few random pieces */
    size_t sent = 0;
    int sst = SEND_OK;
    while (sent < all.bytes.len && sst == SEND_OK) {
        size_t piece =
            chance(r, 50) ? all.bytes.len - sent : rrange(r, 1, (uint32_t)(all.bytes.len - sent));
        size_t done = 0;
        sst = send_bytes(&w->c, all.bytes.p + sent, piece, &done, now_s() + ANSWER_TIMEOUT, 0);
        sent += done;
    }
    double t1 = now_s();
    int closed = 0;
    /* The first member with a body over csrd's default CSRD_MAX_BODY (1 MiB): csrd answers it
     * 413 and closes the connection at once, and closing with unread request bytes makes the
     * kernel send a reset, which may destroy answers to earlier members still on their way
     * to us. Those cut answers are allowed (odd), not failures. */
    unsigned oversized = k;
    for (unsigned i = 0; i < k && oversized == k; i++)
        if (parts[i].bytes.len > 1048576)
            oversized = i;
    for (unsigned i = 0; i < k; i++) {
        resp_t resp = {0};
        outcome_t o = {.send = sst, .sent = sent};
        req_t *q = &parts[i];
        if (closed) {
            odd(w, q, ODD_PIPELINE_CUT, NULL, NULL);
            continue;
        }
        o.read = read_response(&w->c, 0, t1 + ANSWER_TIMEOUT + i * 0.5, &resp);
        o.waited = now_s() - t1;
        if (o.read != RD_OK && i < oversized && oversized < k) {
            odd(w, q, ODD_PIPELINE_CUT, NULL, NULL);
            closed = 1;
            resp_free(&resp);
            continue;
        }
        /* report with the whole pipeline as the request */
        req_t view;
        req_init(&view, K_FRAMING, "pipeline");
        buf_add(&view.bytes, all.bytes.p, all.bytes.len);
        buf_printf(&view.note, "member %u of %u: %s%s%s", i + 1, k, q->route,
                   q->note.len ? " - " : "", buf_str(&q->note));
        snprintf(view.route, sizeof view.route, "%s", q->route);
        judge(w, &view, &o, &resp);
        req_free(&view);
        if (o.read != RD_OK) {
            closed = 1;
        } else if (resp.close) {
            closed = 1;
        }
        resp_free(&resp);
    }
    conn_close(&w->c);
out:
    for (unsigned i = 0; i < k; i++)
        req_free(&parts[i]);
    req_free(&all);
}

static void do_slow(worker_t *w, int complete)
{
    rng_t *r = &w->r;
    req_t q;
    wellformed(w, &q);
    snprintf(q.label, sizeof q.label, complete ? "slow-send" : "slow-abort");
    if (!complete)
        q.expect = EXP_NONE;
    w->n++;
    outcome_t oc = {0};
    if (!connect_or_stop(w, &q, &oc)) {
        req_free(&q);
        return;
    }
    size_t stop = complete ? q.bytes.len : rn(r, (uint32_t)q.bytes.len);
    double budget = now_s() + 1.5;
    size_t sent = 0;
    int sst = SEND_OK;
    unsigned pieces = 0;
    while (sent < stop && sst == SEND_OK) {
        size_t piece = now_s() > budget ? stop - sent : rrange(r, 1, 64);
        if (piece > stop - sent)
            piece = stop - sent;
        size_t done = 0;
        sst = send_bytes(&w->c, q.bytes.p + sent, piece, &done, now_s() + ANSWER_TIMEOUT, 0);
        sent += done;
        pieces++;
        if (sent < stop)
            sleep_ms(rrange(r, 10, 150));
    }
    buf_printf(&q.note, "%s%zu of %zu bytes in %u pieces", q.note.len ? "; " : "", sent,
               q.bytes.len, pieces);
    resp_t resp = {0};
    oc.send = sst;
    oc.sent = sent;
    double t1 = now_s();
    if (complete) {
        oc.read = read_response(&w->c, 0, t1 + ANSWER_TIMEOUT, &resp);
    } else {
        oc.read = read_response(&w->c, 0, t1 + 0.2, &resp);
        odd(w, &q, ODD_DELIBERATE, NULL, NULL);
    }
    oc.waited = now_s() - t1;
    conn_close(&w->c);
    judge(w, &q, &oc, &resp);
    resp_free(&resp);
    req_free(&q);
}

static void body_request_head(worker_t *w, req_t *q, shape_t *s)
{
    const op_t *op = pick_op(&w->r, 1, 0);
    req_init(q, K_FRAMING, "");
    shape_for_op(w, s, q, op, 0);
    q->creates = -1;
    hdr_remove(&s->headers, "Connection");
    if (!s->body.len) {
        buf_adds(&s->headers, "Content-Type: application/json\r\n");
        buf_adds(&s->body, "{}");
    }
    s->framing = FR_NONE;
}

static void do_framing(worker_t *w)
{
    rng_t *r = &w->r;
    unsigned c = rn(r, 14);
    if (c == 5) {
        do_pipeline(w);
        return;
    }
    if (c == 6 || c == 7) {
        do_slow(w, c == 6);
        return;
    }
    shape_t s = {0};
    req_t q;
    body_request_head(w, &q, &s);
    switch (c) {
    case 0: /* good chunked body */
        s.framing = FR_CHUNKED;
        shape_emit(r, &s, &q.bytes);
        snprintf(q.label, sizeof q.label, "chunked");
        run_req(w, &q, 1, NULL);
        break;
    case 1: { /* bad chunk size or chunk framing */
        static const char *const sizes[] = {"zz",
                                            "-1",
                                            "ffffffffffffffffffff",
                                            "0x10",
                                            " 10",
                                            "1;",
                                            "",
                                            "10000000000000000",
                                            "+5",
                                            "5 5",
                                            "FFFFFFFFFFFFFFFF",
                                            "7fffffffffffffff"};
        buf_adds(&s.headers, "Transfer-Encoding: chunked\r\n");
        shape_emit(r, &s, &q.bytes);
        const char *sz = PICK(r, sizes);
        if (chance(r, 30)) {
            buf_printf(&q.bytes, "%zx\r\n", s.body.len > 1 ? s.body.len - 1 : 0);
            buf_add(&q.bytes, s.body.p, s.body.len);
            buf_adds(&q.bytes, "\r\n0\r\n\r\n");
            buf_adds(&q.note, "chunk data longer than its size");
        } else {
            buf_printf(&q.bytes, "%s\r\n", sz);
            buf_add(&q.bytes, s.body.p, s.body.len);
            buf_adds(&q.bytes, "\r\n0\r\n\r\n");
            buf_printf(&q.note, "chunk size '%s'", sz);
        }
        q.expect = EXP_ANSWER_OR_CLOSE;
        snprintf(q.label, sizeof q.label, "bad-chunk");
        run_req(w, &q, 1, NULL);
        break;
    }
    case 2: /* chunked body that never ends */
        buf_adds(&s.headers, "Transfer-Encoding: chunked\r\n");
        shape_emit(r, &s, &q.bytes);
        buf_printf(&q.bytes, "%zx\r\n", s.body.len);
        buf_add(&q.bytes, s.body.p, s.body.len);
        buf_adds(&q.bytes, "\r\n");
        q.expect = EXP_NONE;
        snprintf(q.label, sizeof q.label, "chunked-unfinished");
        run_incomplete(w, &q, q.bytes.len, 300, 0);
        break;
    case 3: /* Content-Length larger than the body sent */
        buf_printf(&s.headers, "Content-Length: %zu\r\n", s.body.len + rrange(r, 1, 100000));
        shape_emit(r, &s, &q.bytes);
        buf_add(&q.bytes, s.body.p, s.body.len);
        q.expect = EXP_NONE;
        snprintf(q.label, sizeof q.label, "short-body");
        run_incomplete(w, &q, q.bytes.len, 300, 0);
        break;
    case 4: { /* Content-Length smaller than the body: the rest is a second (garbage) request */
        size_t cl = rn(r, (uint32_t)s.body.len + 1);
        buf_printf(&s.headers, "Content-Length: %zu\r\n", cl);
        shape_emit(r, &s, &q.bytes);
        buf_add(&q.bytes, s.body.p, s.body.len);
        buf_printf(&q.note, "Content-Length %zu, body %zu bytes", cl, s.body.len);
        snprintf(q.label, sizeof q.label, "long-body");
        q.close_after = 1;
        run_req(w, &q, 1, NULL);
        break;
    }
    case 8:
    case 9: { /* complete request, then close (with a reset) or half-close */
        s.framing = FR_CL;
        shape_emit(r, &s, &q.bytes);
        if (c == 8) {
            q.expect = EXP_NONE;
            snprintf(q.label, sizeof q.label, "early-close");
            size_t len = chance(r, 50) ? q.bytes.len : rn(r, (uint32_t)q.bytes.len);
            run_incomplete(w, &q, len, 0, 1);
        } else {
            resp_t resp = {0};
            outcome_t oc = {0};
            snprintf(q.label, sizeof q.label, "half-close");
            q.expect = EXP_ANSWER_OR_CLOSE;
            w->n++;
            if (connect_or_stop(w, &q, &oc)) {
                oc.send = send_bytes(&w->c, q.bytes.p, q.bytes.len, &oc.sent,
                                     now_s() + ANSWER_TIMEOUT, 0);
                shutdown(w->c.fd, SHUT_WR);
                double t1 = now_s();
                oc.read = read_response(&w->c, 0, t1 + 2.0, &resp);
                oc.waited = now_s() - t1;
                conn_close(&w->c);
                judge(w, &q, &oc, &resp);
            }
            resp_free(&resp);
        }
        break;
    }
    case 10: { /* bad Content-Length */
        static const char *const cls[] = {"abc",
                                          "-1",
                                          "+5",
                                          "1 2",
                                          "18446744073709551616",
                                          "99999999999999999999999",
                                          "0x10",
                                          "",
                                          " 5",
                                          "5,5",
                                          "1.0",
                                          "\xff"};
        const char *v = PICK(r, cls);
        buf_printf(&s.headers, "Content-Length: %s\r\n", v);
        if (chance(r, 30))
            buf_printf(&s.headers, "Content-Length: %zu\r\n", s.body.len);
        shape_emit(r, &s, &q.bytes);
        buf_add(&q.bytes, s.body.p, s.body.len);
        buf_printf(&q.note, "Content-Length '%s'", v);
        q.expect = EXP_ANSWER_OR_CLOSE;
        snprintf(q.label, sizeof q.label, "bad-content-length");
        run_req(w, &q, 1, NULL);
        break;
    }
    case 11: { /* conflicting or unknown transfer codings */
        static const char *const tes[] = {"chunked",
                                          "gzip",
                                          "chunked, gzip",
                                          "xchunked",
                                          "chunked\r\nTransfer-Encoding: chunked",
                                          "identity",
                                          "CHUNKED"};
        const char *v = PICK(r, tes);
        buf_printf(&s.headers, "Transfer-Encoding: %s\r\n", v);
        if (chance(r, 60))
            buf_printf(&s.headers, "Content-Length: %zu\r\n", s.body.len);
        shape_emit(r, &s, &q.bytes);
        emit_chunked(r, &q.bytes, s.body.p, s.body.len);
        buf_printf(&q.note, "Transfer-Encoding '%s'", v);
        q.expect = EXP_ANSWER_OR_CLOSE;
        q.allow_5xx = 501;
        snprintf(q.label, sizeof q.label, "transfer-encoding");
        run_req(w, &q, 1, NULL);
        break;
    }
    case 12: { /* not HTTP at all, or broken line structure */
        static const char *const raw[] = {"\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03",
                                          "\r\n\r\n",
                                          "GET\r\n\r\n",
                                          "\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                          "GET /healthz HTTP/1.1\nHost: x\n\n",
                                          "GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
                                          "GET /healthz HTTP/1.1\r\nNoColon\r\n\r\n",
                                          "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n",
                                          "GET /healthz HTTP/1.1\r\n: empty-name\r\n\r\n",
                                          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                                          "\x00\x00\x00\x00",
                                          "GET / HTTP/1.1\r\r\n\r\n"};
        buf_clear(&q.bytes);
        buf_clear(&q.ctx);
        buf_clear(&q.ctx_last);
        buf_clear(&q.note);
        q.pool_res = -1;
        unsigned v = rn(r, (uint32_t)COUNT(raw) + 1);
        if (v == COUNT(raw)) {
            for (unsigned i = rrange(r, 1, 2000); i; i--)
                buf_addc(&q.bytes, (char)rn(r, 256));
            buf_adds(&q.note, "random bytes");
        } else {
            const char *t = raw[v];
            buf_add(&q.bytes, t, *t ? strlen(t) : 4);
        }
        snprintf(q.route, sizeof q.route, "(raw bytes)");
        q.expect = EXP_ANSWER_OR_CLOSE;
        q.allow_5xx = 505;
        snprintf(q.label, sizeof q.label, "garbage");
        run_req(w, &q, 1, NULL);
        break;
    }
    default: { /* over the body limit */
        size_t n = rrange(r, 1048577, 3 * 1048576);
        buf_printf(&s.headers, "Content-Length: %zu\r\n", n);
        shape_emit(r, &s, &q.bytes);
        buf_addc(&q.bytes, '"');
        buf_reserve(&q.bytes, n);
        memset(q.bytes.p + q.bytes.len, 'a', n - 1);
        q.bytes.len += n - 1;
        q.bytes.p[q.bytes.len] = 0;
        buf_printf(&q.note, "body of %zu bytes", n);
        snprintf(q.label, sizeof q.label, "huge-body");
        run_req(w, &q, 1, NULL);
    }
    }
    shape_free(&s);
    req_free(&q);
}

/* ------------------------------------------------------------------ threads */

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    static const int weights[] = {30, 15, 15, 15, 8, 17}; /* valid .. framing */
    while (!atomic_load(&g_stop) && now_s() < g_deadline) {
        unsigned x = rn(&w->r, 100), k = 0, acc = 0;
        for (k = 0; k < COUNT(weights); k++) {
            acc += (unsigned)weights[k];
            if (x < acc)
                break;
        }
        switch (k) {
        case K_VALID:
            do_valid(w);
            break;
        case K_MUTATED:
            do_mutated(w);
            break;
        case K_QUERY:
            do_query(w);
            break;
        case K_HEADERS:
            do_headers(w);
            break;
        case K_TARGET:
            do_target(w);
            break;
        default:
            do_framing(w);
        }
    }
    conn_close(&w->c);
    return NULL;
}

/* GET /healthz on a fresh connection: 0 when it answers 200. */
static int health_once(req_t *q, outcome_t *oc, resp_t *r)
{
    conn_t c = {.fd = -1};
    memset(oc, 0, sizeof *oc);
    int e = conn_open(&c);
    if (e) {
        oc->send = SEND_NOCONN;
        oc->read = RD_EOF_NONE;
        buf_clear(&r->raw);
        return e == ECONNREFUSED ? -2 : -1;
    }
    oc->send = send_bytes(&c, q->bytes.p, q->bytes.len, &oc->sent, now_s() + ANSWER_TIMEOUT, 0);
    double t1 = now_s();
    oc->read = read_response(&c, 0, t1 + ANSWER_TIMEOUT, r);
    oc->waited = now_s() - t1;
    conn_close(&c);
    buf_free(&c.in);
    return oc->read == RD_OK && r->status == 200 ? 0 : -1;
}

static void health_request(req_t *q)
{
    req_init(q, K_VALID, "healthz");
    snprintf(q->route, sizeof q->route, "GET /healthz");
    buf_printf(&q->bytes,
               "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
               opt.port);
}

static void *health_main(void *arg)
{
    (void)arg;
    req_t q;
    resp_t r = {0};
    outcome_t oc;
    health_request(&q);
    int bad = 0;
    while (!atomic_load(&g_stop)) {
        for (int i = 0; i < 10 && !atomic_load(&g_stop); i++)
            sleep_ms(100);
        if (atomic_load(&g_stop))
            break;
        int rc = health_once(&q, &oc, &r);
        if (!rc) {
            bad = 0;
            continue;
        }
        fail(NULL, &q, rc == -2 ? "server refuses connections" : "/healthz did not answer 200", &oc,
             &r);
        if (rc == -2 || ++bad >= 3)
            atomic_store(&g_stop, 1);
    }
    req_free(&q);
    resp_free(&r);
    return NULL;
}

/* ------------------------------------------------------------------ setup */

/* A plain request on its own connection; the answer's body goes to body. */
static int simple(const char *method, const char *path, const char *token, const char *json,
                  buf_t *body, buf_t *request)
{
    conn_t c = {.fd = -1};
    buf_t q = {0};
    buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n", method, path,
               opt.port);
    if (token)
        buf_printf(&q, "Authorization: Bearer %s\r\n", token);
    if (json)
        buf_printf(&q, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   strlen(json), json);
    else
        buf_adds(&q, "\r\n");
    if (request) {
        buf_clear(request);
        buf_add(request, q.p, q.len);
    }
    int status = -1;
    if (!conn_open(&c)) {
        size_t sent = 0;
        resp_t r = {0};
        if (send_bytes(&c, q.p, q.len, &sent, now_s() + 10, 0) == SEND_OK &&
            read_response(&c, 0, now_s() + 10, &r) == RD_OK) {
            status = r.status;
            if (body) {
                buf_clear(body);
                buf_add(body, r.body.p, r.body.len);
            }
        }
        resp_free(&r);
        conn_close(&c);
    }
    buf_free(&c.in);
    buf_free(&q);
    return status;
}

static int create(const char *path, const char *json, int res, char *id_out, size_t idsz)
{
    buf_t body = {0}, request = {0};
    int status = simple("POST", path, role_tokens[ROLE_ADMIN], json, &body, &request);
    json_t *j = status == 201 ? json_loadb(body.p, body.len, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(j, "id"));
    int ok = id != NULL;
    if (ok) {
        pool_add(res, id, request.p, request.len);
        snprintf(id_out, idsz, "%s", id);
    } else {
        fprintf(stderr, "http_fuzz: setup: POST %s answered %d: %.300s\n", path, status,
                buf_str(&body));
    }
    json_decref(j);
    buf_free(&body);
    buf_free(&request);
    return ok;
}

static int setup(void)
{
    char body[512];
    for (int i = 0; i < ROLE_N; i++) {
        buf_t resp = {0};
        snprintf(body, sizeof body, "{\"name\":\"fuzz\",\"role\":\"%s\"}", role_names[i]);
        int status = simple("POST", "/v1/api-keys", opt.token, body, &resp, NULL);
        json_t *j = status == 201 ? json_loadb(resp.p, resp.len, 0, NULL) : NULL;
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (!tok || strlen(tok) >= sizeof role_tokens[0]) {
            fprintf(stderr, "http_fuzz: setup: POST /v1/api-keys (%s) answered %d: %.300s\n",
                    role_names[i], status, buf_str(&resp));
            json_decref(j);
            buf_free(&resp);
            return 0;
        }
        snprintf(role_tokens[i], sizeof role_tokens[i], "%s", tok);
        json_decref(j);
        buf_free(&resp);
    }
    char customer[64], interaction[64], complaint[64], follow_up[64];
    if (!create("/v1/customers", "{\"kind\":\"person\",\"name\":\"x\"}", RES_CUSTOMERS, customer,
                sizeof customer))
        return 0;
    snprintf(body, sizeof body,
             "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"direction\":\"inbound\"}", customer);
    if (!create("/v1/interactions", body, RES_INTERACTIONS, interaction, sizeof interaction))
        return 0;
    snprintf(body, sizeof body,
             "{\"customer_id\":\"%s\",\"channel\":\"phone\",\"category\":\"delivery\","
             "\"subject\":\"s\"}",
             customer);
    if (!create("/v1/complaints", body, RES_COMPLAINTS, complaint, sizeof complaint))
        return 0;
    snprintf(body, sizeof body,
             "{\"customer_id\":\"%s\",\"method\":\"phone\",\"scheduled_at\":"
             "\"2026-12-01T10:00:00Z\"}",
             customer);
    if (!create("/v1/follow-ups", body, RES_FOLLOW_UPS, follow_up, sizeof follow_up))
        return 0;
    return 1;
}

/* The SLA policies are shared state: remember them and put them back at the end. */
/* The shared SLA state the fuzzer may change: the policies and the calendar, as
 * {"data": [policies], "calendar": {...}}. */
static json_t *sla_snapshot(void)
{
    buf_t body = {0};
    json_t *j = NULL;
    if (simple("GET", "/v1/sla-policies", role_tokens[ROLE_ADMIN], NULL, &body, NULL) == 200)
        j = json_loadb(body.p, body.len, 0, NULL);
    buf_free(&body);
    buf_t cal = {0};
    if (j && simple("GET", "/v1/sla-calendar", role_tokens[ROLE_ADMIN], NULL, &cal, NULL) == 200)
        json_object_set_new(j, "calendar", json_loadb(cal.p, cal.len, 0, NULL));
    buf_free(&cal);
    return j;
}

static int sla_restore(json_t *snap)
{
    int ok = 1;
    size_t i;
    json_t *p;
    json_t *cal = json_object_get(snap, "calendar");
    if (json_is_object(cal)) {
        json_t *b =
            json_pack("{s:O,s:O,s:O}", "time_zone", json_object_get(cal, "time_zone"), "hours",
                      json_object_get(cal, "hours"), "holidays", json_object_get(cal, "holidays"));
        char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
        buf_t resp = {0};
        int status =
            text ? simple("PUT", "/v1/sla-calendar", role_tokens[ROLE_ADMIN], text, &resp, NULL)
                 : -1;
        if (status != 200) {
            fprintf(stderr, "http_fuzz: could not restore the SLA calendar (%d): %.300s\n", status,
                    buf_str(&resp));
            ok = 0;
        }
        buf_free(&resp);
        free(text);
        json_decref(b);
    }
    json_array_foreach(json_object_get(snap, "data"), i, p)
    {
        const char *sev = json_string_value(json_object_get(p, "severity"));
        if (!sev)
            continue;
        json_t *b = json_pack("{s:O,s:O,s:O}", "first_response_hours",
                              json_object_get(p, "first_response_hours"), "resolution_hours",
                              json_object_get(p, "resolution_hours"), "follow_up_after_hours",
                              json_object_get(p, "follow_up_after_hours"));
        if (b && json_object_get(p, "clock")) /* 24x7 or business_hours */
            json_object_set(b, "clock", json_object_get(p, "clock"));
        char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
        char path[128];
        snprintf(path, sizeof path, "/v1/sla-policies/%s", sev);
        buf_t resp = {0};
        int status = text ? simple("PUT", path, role_tokens[ROLE_ADMIN], text, &resp, NULL) : -1;
        if (status != 200) {
            fprintf(stderr, "http_fuzz: could not restore SLA policy %s (%d): %.300s\n", sev,
                    status, buf_str(&resp));
            ok = 0;
        }
        buf_free(&resp);
        free(text);
        json_decref(b);
    }
    return ok;
}

static json_t *load_spec(void)
{
    json_error_t err;
    if (opt.spec) {
        json_t *j = json_load_file(opt.spec, 0, &err);
        if (!j)
            fprintf(stderr,
                    "http_fuzz: %s:%d: %s (the spec must be JSON, as served at "
                    "/v1/openapi.json)\n",
                    opt.spec, err.line, err.text);
        return j;
    }
    buf_t body = {0};
    int status = simple("GET", "/v1/openapi.json", NULL, NULL, &body, NULL);
    json_t *j = status == 200 ? json_loadb(body.p, body.len, 0, &err) : NULL;
    if (!j)
        fprintf(stderr, "http_fuzz: GET /v1/openapi.json answered %d\n", status);
    buf_free(&body);
    return j;
}

/* ------------------------------------------------------------------ replay and summary */

static int replay(void)
{
    FILE *f = fopen(opt.replay, "rb");
    if (!f) {
        perror(opt.replay);
        return 2;
    }
    req_t q;
    req_init(&q, K_VALID, "replay");
    snprintf(q.route, sizeof q.route, "%s", opt.replay);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&q.bytes, chunk, n);
    fclose(f);
    worker_t w = {.id = 0, .c = {.fd = -1}};
    resp_t r = {0};
    outcome_t oc;
    int rc = 2;
    if (exchange(&w, &q, 1, &r, &oc)) {
        buf_t o = {0};
        describe(&o, NULL, &q, &oc, &r);
        fwrite(o.p, 1, o.len, stdout);
        buf_free(&o);
        rc = oc.read == RD_OK && (r.status < 500 || r.status == 503) ? 0 : 1;
    }
    conn_close(&w.c);
    buf_free(&w.c.in);
    resp_free(&r);
    req_free(&q);
    return rc;
}

static void summary(double elapsed)
{
    long total = 0, cls[6] = {0};
    for (int k = 0; k < K_N; k++) {
        total += st.sent[k];
        for (int c = 0; c < 6; c++)
            cls[c] += st.cls[k][c];
    }
    printf("\n=== http_fuzz summary ===\n");
    printf("seed %" PRIu64 ", port %d, %d workers, %.1f s, %ld requests (%.0f/s)\n", opt.seed,
           opt.port, opt.threads, elapsed, total, elapsed > 0 ? total / elapsed : 0.0);
    printf("by status class: 2xx %ld, 3xx %ld, 4xx %ld, 5xx %ld (%ld of them allowed 505/501), "
           "no answer %ld (1xx interim: %ld)\n",
           cls[2], cls[3], cls[4], cls[5], st.odd[ODD_ALLOWED_5XX], cls[0], st.interim);
    printf("by status:");
    for (int s = 0; s < 600; s++)
        if (st.status[s])
            printf(" %d:%ld", s, st.status[s]);
    printf("\n%-10s %8s %8s %8s %8s %8s %8s\n", "kind", "sent", "2xx", "3xx", "4xx", "5xx", "none");
    for (int k = 0; k < K_N; k++)
        printf("%-10s %8ld %8ld %8ld %8ld %8ld %8ld\n", kind_names[k], st.sent[k], st.cls[k][2],
               st.cls[k][3], st.cls[k][4], st.cls[k][5], st.cls[k][0]);
    printf("spec-shaped requests (valid, read-back) by route: 2xx (201) / 4xx (422) / 5xx\n");
    for (int i = 0; i < g_nroutes; i++)
        printf("  %-45s %5ld (%ld) / %5ld (%ld) / %ld\n", g_routes[i].route, g_routes[i].cls[2],
               g_routes[i].s201, g_routes[i].cls[4], g_routes[i].s422, g_routes[i].cls[5]);
    printf("odd:\n");
    for (int i = 0; i < ODD_N; i++) {
        if (!st.odd[i])
            continue;
        printf("  %6ld  %s\n         ", st.odd[i], odd_names[i]);
        for (int l = 0; l < MAX_ODD_LABELS && g_odd_labels[i][l].label[0]; l++)
            printf(" %s:%ld", g_odd_labels[i][l].label, g_odd_labels[i][l].count);
        printf("\n");
    }
    printf("failures: %ld (%d distinct)\n", g_failures, g_nsigs);
    for (int i = 0; i < g_nsigs; i++)
        printf("  [%d] x%ld  %s\n", g_sigs[i].number, g_sigs[i].count, g_sigs[i].sig);
    printf("replay: http_fuzz --port %d --token <admin token> --seed %" PRIu64
           " --threads %d --seconds %.0f (ids and timing differ between runs)\n",
           opt.port, opt.seed, opt.threads, opt.seconds);
}

static void usage(void)
{
    fputs("usage: http_fuzz --port N --token ADMIN_TOKEN [--seconds S] [--seed N] [--threads N]\n"
          "                 [--spec FILE.json] [--save-dir DIR] [--max-print N]\n"
          "                 [--wait-ready S] [--trace ROUTE-SUBSTRING]\n"
          "       http_fuzz --port N --replay FILE\n",
          stderr);
}

static int parse_args(int argc, char **argv)
{
    int have_seed = 0;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 0;
        }
        if (!strcmp(a, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(a, "--token"))
            opt.token = v;
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--seed")) {
            if (*v) {
                opt.seed = strtoull(v, NULL, 10);
                have_seed = 1;
            }
        } else if (!strcmp(a, "--threads"))
            opt.threads = atoi(v);
        else if (!strcmp(a, "--spec"))
            opt.spec = v;
        else if (!strcmp(a, "--save-dir"))
            opt.save_dir = v;
        else if (!strcmp(a, "--replay"))
            opt.replay = v;
        else if (!strcmp(a, "--wait-ready"))
            opt.wait_ready = atoi(v);
        else if (!strcmp(a, "--max-print"))
            opt.max_print = atoi(v);
        else if (!strcmp(a, "--trace"))
            opt.trace = v;
        else {
            usage();
            return 0;
        }
    }
    if (!have_seed)
        opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    if (opt.port <= 0 || opt.port > 65535 || (!opt.replay && !opt.token) || opt.threads < 1 ||
        opt.threads > 64) {
        usage();
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!parse_args(argc, argv))
        return 2;
    if (opt.replay)
        return replay();
    if (opt.save_dir)
        mkdir(opt.save_dir, 0777);
    if (opt.wait_ready > 0) {
        req_t q;
        resp_t r = {0};
        outcome_t oc;
        health_request(&q);
        double until = now_s() + opt.wait_ready;
        int ok = 0;
        while (!(ok = !health_once(&q, &oc, &r)) && now_s() < until)
            sleep_ms(100);
        req_free(&q);
        resp_free(&r);
        if (!ok) {
            fprintf(stderr, "http_fuzz: /healthz did not answer 200 within %d s\n", opt.wait_ready);
            return 2;
        }
    }
    printf("http_fuzz: seed %" PRIu64 ", port %d, %d workers, %.0f s\n", opt.seed, opt.port,
           opt.threads, opt.seconds);
    g_spec = load_spec();
    if (!g_spec || load_ops() == 0) {
        fputs("http_fuzz: no operations in the spec\n", stderr);
        json_decref(g_spec);
        return 2;
    }
    int rc = 2;
    json_t *sla = NULL;
    worker_t *workers = NULL;
    if (!setup())
        goto out;
    sla = sla_snapshot();
    printf("http_fuzz: %d operations; keys for %d roles and one record of each kind created\n",
           g_nops, ROLE_N);
    double start = now_s();
    g_deadline = start + opt.seconds;
    workers = calloc((size_t)opt.threads, sizeof *workers);
    pthread_t health;
    pthread_create(&health, NULL, health_main, NULL);
    for (int i = 0; i < opt.threads; i++) {
        workers[i].id = i;
        workers[i].r.s = mix64(opt.seed ^ mix64((uint64_t)i + 1));
        workers[i].c.fd = -1;
        pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);
    }
    for (int i = 0; i < opt.threads; i++)
        pthread_join(workers[i].th, NULL);
    int stopped_early = atomic_load(&g_stop);
    atomic_store(&g_stop, 1);
    pthread_join(health, NULL);
    double elapsed = now_s() - start;
    if (!stopped_early) {
        req_t q;
        resp_t r = {0};
        outcome_t oc;
        health_request(&q);
        if (health_once(&q, &oc, &r))
            fail(NULL, &q, "/healthz did not answer 200 after the run", &oc, &r);
        req_free(&q);
        resp_free(&r);
        if (sla && !sla_restore(sla))
            g_failures++;
    }
    summary(elapsed);
    rc = g_failures ? 1 : 0;
    printf("http_fuzz: %s\n", rc ? "FAILED" : "passed");
out:
    if (workers) {
        for (int i = 0; i < opt.threads; i++) {
            buf_free(&workers[i].c.in);
            buf_free(&workers[i].prev_req);
            buf_free(&workers[i].prev_resp);
        }
        free(workers);
    }
    json_decref(sla);
    for (int i = 0; i < g_nops; i++)
        json_decref(g_ops[i].params);
    free(g_ops);
    for (int i = 0; i < RES_N; i++) {
        for (int j = 0; j < POOL_N; j++) {
            buf_free(&g_pool.ctx[i][j]);
            buf_free(&g_pool.last[i][j]);
        }
    }
    json_decref(g_spec);
    return rc;
}

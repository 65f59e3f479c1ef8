/* See webhook_delivery.h. The loop: when slots are free, feed (one statement, which also
 * takes a snapshot of each record for its payload, so that retries send the same body), claim up to
 * BATCH due deliveries (one statement; a 60 s lease marks them taken), send them all at once with
 * curl_multi outside any transaction, record each outcome (one statement each). Retries back off
 * exponentially from 1 s, doubling up to an hour apart, for 24 h; then the delivery is
 * failed. A webhook failing for 24 h in a row is deactivated. */
#include "jobs/webhook_delivery.h"
#include "config.h"
#include "log.h"
#include "resources/webhooks.h"
#include "util/strbuf.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/xalloc.h"
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 16 /* deliveries in flight at once */

/* The API's JSON of the record a feed entry names (table t, columns entity and id). */
#define RECORD_OF(t, id)                                                                           \
    "CASE " t ".entity"                                                                            \
    " WHEN 'customer' THEN (SELECT customer_json(x) FROM customers x WHERE x.id = " t "." id ")"   \
    " WHEN 'interaction' THEN (SELECT interaction_json(x) FROM interactions x"                     \
    " WHERE x.id = " t "." id ")"                                                                  \
    " WHEN 'complaint' THEN (SELECT complaint_json(x) FROM complaints x WHERE x.id = " t "." id    \
    ")"                                                                                            \
    " WHEN 'follow_up' THEN (SELECT follow_up_json(x) FROM follow_ups x WHERE x.id = " t "." id    \
    ")"                                                                                            \
    " END"

// clang-format off
const struct db_stmt webhook_delivery_statements[] = {
    /* new feed entries below the horizon become deliveries of every active webhook that
     * wants them; instances feeding at once skip each other's webhooks */
    {"deliveries_feed",
     "WITH w AS (SELECT id, events, fed_up_to FROM webhooks WHERE active"
     " FOR UPDATE SKIP LOCKED), h AS (SELECT csrd_change_horizon() AS top),"
     " ins AS (INSERT INTO webhook_deliveries (webhook_id, seq, event, entity, entity_id, at,"
     " data) SELECT w.id, c.seq, c.entity || '.' || c.action, c.entity, c.id, c.at,"
     " (" RECORD_OF("c", "id") ")::jsonb"
     " FROM w JOIN changes c ON c.seq >= w.fed_up_to AND c.seq < (SELECT top FROM h)"
     " WHERE '*' = ANY (w.events) OR c.entity || '.' || c.action = ANY (w.events)"
     " ON CONFLICT DO NOTHING)"
     " UPDATE webhooks x SET fed_up_to = greatest(x.fed_up_to, (SELECT top FROM h))"
     " FROM w WHERE x.id = w.id"},
    /* the oldest pending delivery of each webhook, when due and not leased */
    {"deliveries_claim",
     "UPDATE webhook_deliveries d SET leased_until = now() + interval '60 seconds',"
     " attempts = d.attempts + 1, first_attempt_at = coalesce(d.first_attempt_at, now())"
     " FROM (SELECT d2.id FROM webhook_deliveries d2"
     " JOIN webhooks w2 ON w2.id = d2.webhook_id AND w2.active"
     " WHERE d2.status = 'pending' AND d2.next_attempt_at <= now()"
     " AND (d2.leased_until IS NULL OR d2.leased_until < now())"
     " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d2.webhook_id"
     " AND e.status = 'pending' AND e.seq < d2.seq)"
     " ORDER BY d2.next_attempt_at LIMIT $1::integer FOR UPDATE OF d2 SKIP LOCKED) c, webhooks w"
     " WHERE d.id = c.id AND w.id = d.webhook_id"
     " RETURNING d.id, d.webhook_id, d.seq, d.event, d.entity, d.entity_id, csrd_ts(d.at),"
     " w.url, w.secret, d.data::text"},
    {"deliveries_succeeded",
     "WITH d AS (UPDATE webhook_deliveries SET status = 'delivered', delivered_at = csrd_now(),"
     " last_status_code = $2::integer, last_error = NULL, leased_until = NULL"
     " WHERE id = $1 RETURNING webhook_id)"
     " UPDATE webhooks SET failing_since = NULL FROM d"
     " WHERE webhooks.id = d.webhook_id AND failing_since IS NOT NULL"},
    /* back off 1 s, 2 s, 4 s ... at most an hour apart; give up 24 h after the first try */
    {"deliveries_failed",
     "WITH d AS (UPDATE webhook_deliveries SET last_status_code = $2::integer,"
     " last_error = $3, leased_until = NULL,"
     " status = CASE WHEN now() - first_attempt_at >= interval '24 hours' THEN 'failed'"
     " ELSE 'pending' END,"
     " next_attempt_at = now() + least(power(2, least(attempts - 1, 20)), 3600)"
     " * interval '1 second'"
     " WHERE id = $1 RETURNING webhook_id)"
     " UPDATE webhooks w SET failing_since = coalesce(w.failing_since, now()),"
     " active = w.active AND coalesce(w.failing_since, now()) > now() - interval '24 hours'"
     " FROM d WHERE w.id = d.webhook_id"},
    {NULL, NULL}};
// clang-format on

static pthread_t thread;
static atomic_bool stopping;
static bool running;

struct delivery {
    char id[37], webhook_id[37];
    char *body; /* malloc'd */
    struct curl_slist *headers;
    CURL *easy;
    char error[CURL_ERROR_SIZE];
};

/* Refuses connections to addresses webhooks may not reach, at connect time (after DNS). */
static curl_socket_t open_socket(void *cls, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)cls;
    (void)purpose;
    if (!webhooks_address_allowed(&a->addr))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

/* Csrd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")> */
static void sign(const char *secret, const char *body, struct curl_slist **headers)
{
    char t[24];
    snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
    struct strbuf msg;
    strbuf_init(&msg);
    strbuf_printf(&msg, "%s.%s", t, body);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg.buf, msg.len, md,
         &len);
    strbuf_free(&msg);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    text_hex(md, len, hex);
    char header[200];
    snprintf(header, sizeof(header), "Csrd-Signature: t=%s,v1=%s", t, hex);
    *headers = curl_slist_append(*headers, header);
}

static size_t discard(char *p, size_t size, size_t n, void *cls)
{
    (void)p;
    (void)cls;
    return size * n;
}

static void prepare(struct delivery *d, struct db_rows *rows, int row)
{
    snprintf(d->id, sizeof(d->id), "%s", db_get(rows, row, 0));
    snprintf(d->webhook_id, sizeof(d->webhook_id), "%s", db_get(rows, row, 1));
    const char *record = db_get(rows, row, 9);
    struct strbuf b;
    strbuf_init(&b);
    strbuf_puts(&b, "{\"id\":");
    strbuf_json_string(&b, d->id);
    strbuf_printf(&b, ",\"seq\":%s,\"event\":", db_get(rows, row, 2));
    strbuf_json_string(&b, db_get(rows, row, 3));
    strbuf_puts(&b, ",\"entity\":");
    strbuf_json_string(&b, db_get(rows, row, 4));
    strbuf_puts(&b, ",\"entity_id\":");
    strbuf_json_string(&b, db_get(rows, row, 5));
    strbuf_puts(&b, ",\"at\":");
    strbuf_json_string(&b, db_get(rows, row, 6));
    strbuf_printf(&b, ",\"data\":%s}", record ? record : "null");
    d->body = strbuf_take(&b, NULL);

    char header[80];
    d->headers = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(header, sizeof(header), "Csrd-Webhook-Id: %s", d->webhook_id);
    d->headers = curl_slist_append(d->headers, header);
    d->headers = curl_slist_append(d->headers, "Expect:");
    sign(db_get(rows, row, 8), d->body, &d->headers);

    CURL *e = d->easy = curl_easy_init();
    if (!e)
        abort();
    curl_easy_setopt(e, CURLOPT_URL, db_get(rows, row, 7));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* never follow redirects */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->webhook_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->error);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "csrd-webhooks/1");
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
}

static void record(struct db_session *s, struct delivery *d, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
    char code_text[16];
    snprintf(code_text, sizeof(code_text), "%ld", code);
    struct db_rows *rows;
    if (rc == CURLE_OK && code >= 200 && code <= 299) {
        const char *params[] = {d->id, code_text};
        if (db_exec(s, "deliveries_succeeded", 2, params, &rows) != DB_OK)
            log_warn("webhook delivery %s: cannot record success: %s", d->id,
                     db_last_error(s)->message);
        return;
    }
    char error[300];
    if (rc != CURLE_OK)
        snprintf(error, sizeof(error), "%s", d->error[0] ? d->error : curl_easy_strerror(rc));
    else
        snprintf(error, sizeof(error), "the receiver answered %ld", code);
    const char *params[] = {d->id, code ? code_text : NULL, error};
    if (db_exec(s, "deliveries_failed", 3, params, &rows) != DB_OK)
        log_warn("webhook delivery %s: cannot record failure: %s", d->id,
                 db_last_error(s)->message);
}

/* Deliveries being sent; the job thread's own. */
static struct delivery *flight[BATCH];
static int in_flight;

/* Feeds new entries and starts up to `slots` due deliveries; returns how many started. */
static int claim_and_start(CURLM *multi, int slots)
{
    struct db_session *s;
    struct db_error err;
    struct db_rows *rows;
    if (db_session_open(DB_PRIMARY, false, &s, &err) != DB_OK)
        return 0;
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", slots);
    const char *params[] = {limit};
    if (db_exec(s, "deliveries_feed", 0, NULL, &rows) != DB_OK ||
        db_exec(s, "deliveries_claim", 1, params, &rows) != DB_OK) {
        log_warn("webhook delivery: %s", db_last_error(s)->message);
        db_session_close(s);
        return 0;
    }
    int n = db_nrows(rows);
    if (n > slots) /* never: the statement's LIMIT */
        n = slots;
    for (int i = 0; i < n; i++) {
        struct delivery *d = xcalloc(1, sizeof(*d));
        prepare(d, rows, i);
        curl_multi_add_handle(multi, d->easy);
        flight[in_flight++] = d;
    }
    db_session_close(s); /* no connection is held while requests run */
    return n;
}

static void delivery_free(CURLM *multi, struct delivery *d)
{
    curl_multi_remove_handle(multi, d->easy);
    curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    free(d->body);
    for (int i = 0; i < in_flight; i++)
        if (flight[i] == d) {
            flight[i] = flight[--in_flight];
            break;
        }
    free(d);
}

/* Records the outcome of every finished delivery. */
static void finish_done(CURLM *multi)
{
    struct db_session *s = NULL;
    struct db_error err;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct delivery *d = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        if (!s && db_session_open(DB_PRIMARY, false, &s, &err) != DB_OK)
            s = NULL; /* the outcome is lost; the lease runs out and the delivery is retried */
        if (s)
            record(s, d, m->data.result);
        delivery_free(multi, d);
    }
    db_session_close(s);
}

/* Deliveries run side by side: a receiver that hangs holds one slot (and its webhook's
 * later deliveries) until its timeout, never the others. */
static void *loop(void *arg)
{
    (void)arg;
    CURLM *multi = curl_multi_init();
    if (!multi)
        abort();
    uint64_t next_claim = 0;
    while (!atomic_load(&stopping)) {
        uint64_t now = time_mono_us() / 1000;
        if (now >= next_claim && in_flight < BATCH) {
            int started = claim_and_start(multi, BATCH - in_flight);
            next_claim = started ? now : now + (uint64_t)cfg->webhook_poll_ms;
        }
        int transfers = 0;
        curl_multi_perform(multi, &transfers);
        finish_done(multi);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    /* transfers still running are abandoned: their leases run out and they are retried */
    while (in_flight > 0)
        delivery_free(multi, flight[in_flight - 1]);
    curl_multi_cleanup(multi);
    return NULL;
}

int webhook_delivery_start(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    atomic_store(&stopping, false);
    if (pthread_create(&thread, NULL, loop, NULL) != 0)
        return -1;
    running = true;
    return 0;
}

void webhook_delivery_stop(void)
{
    if (!running)
        return;
    atomic_store(&stopping, true);
    pthread_join(thread, NULL);
    running = false;
    curl_global_cleanup();
}

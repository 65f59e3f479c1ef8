/* Fixed-size tables sized by the route table, so recording is two atomic adds and no lock. */
#include "http/metrics.h"
#include "db/db.h"
#include "http/router.h"
#include <stdatomic.h>
#include <stdio.h>

#define MAX_ROUTES 129
#define NSTATUS    600
static const double BUCKETS_MS[] = {0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};
#define NBUCKETS (sizeof(BUCKETS_MS) / sizeof(BUCKETS_MS[0]))

static atomic_ulong requests[MAX_ROUTES][NSTATUS];
static atomic_ulong latency_buckets[NBUCKETS + 1];
static atomic_ulong latency_sum_us, latency_count;

void metrics_record(int route_index, int status, uint64_t latency_us)
{
    int ri = route_index + 1;
    if (ri < 0 || ri >= MAX_ROUTES || status < 100 || status >= NSTATUS)
        return;
    atomic_fetch_add_explicit(&requests[ri][status], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKETS && (double)latency_us / 1000.0 > BUCKETS_MS[b])
        b++;
    atomic_fetch_add_explicit(&latency_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_us, latency_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_count, 1, memory_order_relaxed);
}

void metrics_render(struct strbuf *out)
{
    strbuf_puts(out, "# HELP csrd_http_requests_total HTTP requests by route and status.\n"
                     "# TYPE csrd_http_requests_total counter\n");
    for (int ri = 0; ri < MAX_ROUTES; ri++) {
        const struct route *rt = ri > 0 ? router_at((size_t)(ri - 1)) : NULL;
        if (ri > 0 && !rt)
            break;
        for (int s = 100; s < NSTATUS; s++) {
            unsigned long n = atomic_load_explicit(&requests[ri][s], memory_order_relaxed);
            if (!n)
                continue;
            strbuf_printf(out,
                          "csrd_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} "
                          "%lu\n",
                          rt ? router_method_text(rt->method) : "", rt ? rt->pattern : "unmatched",
                          s, n);
        }
    }
    strbuf_puts(out, "# HELP csrd_http_request_duration_seconds Time from the request's first "
                     "byte to its response.\n"
                     "# TYPE csrd_http_request_duration_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += atomic_load_explicit(&latency_buckets[b], memory_order_relaxed);
        strbuf_printf(out, "csrd_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
                      BUCKETS_MS[b] / 1000.0, cum);
    }
    cum += atomic_load_explicit(&latency_buckets[NBUCKETS], memory_order_relaxed);
    strbuf_printf(out, "csrd_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    strbuf_printf(out, "csrd_http_request_duration_seconds_sum %.6f\n",
                  (double)atomic_load(&latency_sum_us) / 1e6);
    strbuf_printf(out, "csrd_http_request_duration_seconds_count %lu\n",
                  atomic_load(&latency_count));
    int size, in_use;
    long waits, failures;
    db_pool_stats(&size, &in_use, &waits, &failures);
    strbuf_printf(out,
                  "# HELP csrd_db_pool_size Database connections the pool may hold.\n"
                  "# TYPE csrd_db_pool_size gauge\ncsrd_db_pool_size %d\n"
                  "# HELP csrd_db_pool_in_use Database connections checked out now.\n"
                  "# TYPE csrd_db_pool_in_use gauge\ncsrd_db_pool_in_use %d\n"
                  "# HELP csrd_db_pool_waits_total Requests that waited for a connection.\n"
                  "# TYPE csrd_db_pool_waits_total counter\ncsrd_db_pool_waits_total %ld\n"
                  "# HELP csrd_db_connect_failures_total Failed connection attempts.\n"
                  "# TYPE csrd_db_connect_failures_total counter\n"
                  "csrd_db_connect_failures_total %ld\n",
                  size, in_use, waits, failures);
}

/* Prometheus counters: requests by route and status, a latency histogram, pool gauges.
 * Lock-free (relaxed atomics); rendered on GET /metrics. */
#ifndef CSRD_METRICS_H
#define CSRD_METRICS_H
#include <stdint.h>
#include "util/strbuf.h"

/* route_index -1 stands for requests that matched no route. */
void metrics_record(int route_index, int status, uint64_t latency_us);
void metrics_render(struct strbuf *out);
#endif

/* The libmicrohttpd daemons: accept connections on event-loop workers (or, CSRD_IO=threads,
 * on libmicrohttpd's thread pool), accumulate bodies within limits, and run each complete
 * request through CORS, routing, auth, rate limiting and its handler. */
#ifndef CSRD_SERVER_H
#define CSRD_SERVER_H
#include "http/request.h"

/* What the layers above plug into the HTTP layer (it never calls them by name). */
struct http_hooks {
    /* Runs the handler of a ROUTE_IDEMPOTENT route when the request carries an
     * Idempotency-Key (the key's value is passed, checked for shape by the caller). */
    void (*run_idempotent)(struct request *r, http_handler h, const char *key);
    /* Runs after every route's handler (optional): headers that depend on what it did. */
    void (*after_handler)(struct request *r);
};

/* Starts listening per cfg; 0 or -1 (logged). Prints the bound address. hooks is kept. */
int http_start(const struct http_hooks *hooks);
/* The drain before a stop (CSRD_DRAIN_S): requests are still served, /readyz answers 503 so
 * that load balancers take this instance out, and every answer closes its connection so that
 * keep-alive clients reconnect elsewhere. */
void http_drain_begin(void);
bool http_draining(void);
/* Stops accepting, waits (up to 10 s) for in-flight requests, stops the workers. */
void http_stop(void);
#endif

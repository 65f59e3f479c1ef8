/* The libmicrohttpd daemon: accepts connections on the internal thread pool, accumulates
 * bodies within limits, and runs each complete request through CORS, routing, auth, rate
 * limiting and its handler. */
#ifndef CSRD_SERVER_H
#define CSRD_SERVER_H

/* Starts listening per cfg; 0 or -1 (logged). Prints the bound address. */
int http_start(void);
/* Stops accepting, waits (up to 10 s) for in-flight requests, stops the workers. */
void http_stop(void);
#endif

/* Black-box HTTP test harness: starts a real build/csrd against the PostgreSQL named by
 * DATABASE_URL on a free loopback port, sends requests with libcurl, and checks every
 * response against api-spec/openapi.yaml as served by /v1/openapi.json (the path, method and
 * status must be documented; a JSON body must match its schema). */
#ifndef CSRD_HARNESS_H
#define CSRD_HARNESS_H
#include <jansson.h>
#include <stdbool.h>
#include "../unit/check.h"

#define ADMIN_TOKEN "csrd-test-admin-token-0123456789"

struct resp {
    long status;
    char *body;
    size_t len;
    char *headers; /* raw header block */
    json_t *json;  /* parsed body when it is JSON, else NULL (owned by the harness) */
};

/* Starts csrd with extra "NAME=value" environment entries (NULL-terminated, may be NULL). */
void server_start(const char *const *env);
/* SIGTERM, then waits: a clean exit (status 0) is checked. */
void server_stop(void);
/* req() sent to base_url (e.g. a proxy in front of the servers) instead of the current
 * server; checked against the spec likewise. */
struct resp *req_via(const char *base_url, const char *method, const char *path, const char *token,
                     const char *body);
/* Sends sig to the current server (it keeps counting as running; server_stop reaps it). */
void server_signal(int sig);
const char *server_base(void);
/* A plain TCP connection to the server (blocking; the test closes it), for raw requests the
 * libcurl path cannot send. */
int server_connect(void);
/* Chooses the server slot (0, the default, or 1) that server_start/stop and requests use. */
void server_select(int slot);
/* Call first thing in a forked child that sends requests: gives it its own connection. */
void harness_after_fork(void);

/* Sends a request. headers: NULL-terminated "Name: value" strings or NULL. A JSON body gets
 * Content-Type: application/json unless headers name another. Responses live until exit. */
struct resp *req(const char *method, const char *path, const char *token, const char *body,
                 const char *const *headers);
/* n requests without a body, all sent at once on connections of their own (curl_multi);
 * answers in out[i], each checked against the spec. */
void req_parallel(const char *method, const char *const *paths, int n, const char *token,
                  struct resp **out);
/* n requests to one path, with JSON bodies[i] and tokens[i], all sent at once likewise. */
void req_parallel_bodies(const char *method, const char *path, const char *const *bodies,
                         const char *const *tokens, int n, struct resp **out);
/* The same without the spec check (for deliberately broken requests whose answers the spec
 * documents only generally, e.g. raw bytes). */
struct resp *req_raw(const char *method, const char *path, const char *token, const char *body,
                     size_t body_len, const char *const *headers, bool check_spec);
const char *resp_header(const struct resp *r, const char *name); /* static buffer */
/* GET of a list path: how many records its page holds (the status is checked: 200). */
size_t page_size(const char *path, const char *token);
const char *jstr(const json_t *j, const char *key); /* borrowed or NULL */

/* Runs SQL directly on the test database (DATABASE_URL) with up to one text parameter ($1,
 * may be NULL when unused): the first column of the first row as text (static buffer; "" when
 * no row or NULL). A failed statement fails the test. For checks of what is stored. */
const char *db_scalar(const char *sql, const char *param);

/* A fresh API key of the role; returns its token (static storage per role). */
const char *key_for(const char *role);
/* A random lower-case suffix, unique enough to scope records to one test run. */
const char *unique(const char *prefix);

#define CHECK_STATUS(r, want)                                                                      \
    do {                                                                                           \
        const struct resp *check_r_ = (r); /* once: r is often a request */                        \
        if (check_r_->status != (want)) {                                                          \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: status %ld, expected %d; body: %.500s\n", __FILE__, __LINE__,  \
                    check_r_->status, (want), check_r_->body ? check_r_->body : "");               \
        }                                                                                          \
    } while (0)

/* main() for an HTTP test program: starts the server, runs the named test(s), stops it. */
int harness_main(int argc, char **argv);
#endif

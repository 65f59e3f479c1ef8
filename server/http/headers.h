/* Parsing of the request headers whose grammar matters to the contract: Content-Type,
 * If-Match / If-None-Match entity tags, Idempotency-Key and X-Request-Id. Pure functions,
 * unit-tested and fuzzed (tests/fuzz/lib). */
#ifndef CSRD_HEADERS_H
#define CSRD_HEADERS_H
#include <stdbool.h>

/* application/json, or application/<x>+json, optionally with parameters; a charset
 * parameter other than utf-8 is refused. */
bool http_content_type_is_json(const char *ct);
/* Same test for a specific media type (e.g. "application/x-ndjson"). */
bool http_content_type_is(const char *ct, const char *type);

enum etag_match { ETAG_NO_MATCH = 0, ETAG_MATCH = 1, ETAG_MALFORMED = -1 };
/* Compares an If-Match / If-None-Match value ("*", "\"3\"", "W/\"3\"", lists) with the
 * record's version. Weak comparison: W/ tags match their strong form. */
enum etag_match http_etag_match(const char *header, long version);

/* An Idempotency-Key: 1 to 255 visible ASCII characters (it is stored and compared as is). */
bool http_idempotency_key_ok(const char *key);
/* A client's X-Request-Id that csrd may echo and log: 1 to 64 of [A-Za-z0-9-_.:], so that
 * nothing a client sends can split a log line or a response header. NULL is refused. */
bool http_request_id_acceptable(const char *id);
#endif

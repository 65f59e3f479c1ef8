/* Parsing of the request headers whose grammar matters to the contract: Content-Type,
 * If-Match / If-None-Match entity tags. Pure functions, unit-tested. */
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
#endif

/* PostgreSQL's text output of values csrd renders to JSON itself (sessions run with
 * TimeZone UTC and DateStyle ISO): timestamps and text arrays. */
#ifndef CSRD_PGTEXT_H
#define CSRD_PGTEXT_H
#include <stdbool.h>
#include "util/strbuf.h"

/* "2026-12-01 19:40:43.12+00" -> "2026-12-01T19:40:43.120Z" (milliseconds, truncated, as
 * csrd_ts writes them). false, out untouched, for anything else (another offset, BC). */
bool pgtext_timestamp(const char *in, char out[32]);
/* A one-dimensional text[] literal ({a,"b c",NULL}) appended as a JSON array of strings
 * (NULL elements as null). false when the literal is malformed (out may hold a part). */
bool pgtext_array_json(struct strbuf *out, const char *in);
#endif

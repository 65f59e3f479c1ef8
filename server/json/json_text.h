/* JSON text for documents that travel to PostgreSQL and back. jansson writes reals with 17
 * significant digits (0.1 becomes 0.10000000000000001, and PostgreSQL keeps every digit), so
 * a number would change on its first write and could drift on later ones. Here every real is
 * written in the shortest form that reads back as the same double (0.1 stays 0.1), which
 * makes a stored record's numbers stable across any number of PATCHes. */
#ifndef CSRD_JSON_TEXT_H
#define CSRD_JSON_TEXT_H
#include <jansson.h>
#include <stdbool.h>

/* Compact JSON text of j (object member order kept); malloc'd, the caller frees. */
char *json_text(const json_t *j);
/* The same text appended to sb. */
struct strbuf;
void json_text_append(struct strbuf *sb, const json_t *j);
/* The largest magnitude a JSON number may have: PostgreSQL writes numbers without exponent,
 * and an integral value of 2^63 or more would come back as an integer jansson cannot hold.
 * true when every number in j (recursively) is within it; otherwise adds a field error to
 * errors for each one beyond, named below `base` ("attributes.x", "attributes.list[2]"). */
bool json_numbers_storable(const json_t *j, const char *base, json_t *errors);
/* Reads a record PostgreSQL rendered (new reference, NULL when it is not JSON). Records
 * stored before numbers were checked at the door may hold integers beyond 64 bits (1e19
 * written back as 20 digits): they are read as reals, so that the record can still be shown
 * and patched (its validation then names the field, json_numbers_storable) instead of failing
 * every request that reads it. */
json_t *json_load_stored(const char *text);
#endif

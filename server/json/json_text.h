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
/* The largest magnitude a JSON number may have: PostgreSQL writes numbers without exponent,
 * and an integral value of 2^63 or more would come back as an integer jansson cannot hold.
 * true when every number in j (recursively) is within it; *path then is untouched, else it
 * names the first offending member below `base` ("attributes.x", "attributes.list[2]"). */
bool json_numbers_storable(const json_t *j, const char *base, char *path, size_t path_len);
#endif

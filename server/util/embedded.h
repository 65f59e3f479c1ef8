/* Files compiled into the binary by cmake/embed.cmake: the schema migrations (in name
 * order) and the OpenAPI spec. Arrays end with a {NULL, NULL, 0} entry. */
#ifndef CSRD_EMBEDDED_H
#define CSRD_EMBEDDED_H
#include <stddef.h>

struct embedded_file {
    const char *name;
    const char *data;
    size_t len;
};

extern const struct embedded_file embedded_schema[];
extern const struct embedded_file embedded_spec[];
#endif

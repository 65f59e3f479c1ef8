/* YAML (the subset OpenAPI documents use: mappings, sequences, scalars) to jansson, so the
 * spec is written as YAML in api-spec/ and served as /v1/openapi.json. */
#ifndef CSRD_YAML_JSON_H
#define CSRD_YAML_JSON_H
#include <jansson.h>
#include <stddef.h>

/* Returns a new reference, or NULL with a message in err (size errlen). Anchors and aliases
 * are refused. Plain scalars become null/true/false/integers/reals where YAML 1.2's core
 * schema says so; quoted scalars stay strings. */
json_t *yaml_to_json(const char *text, size_t len, char *err, size_t errlen);
#endif

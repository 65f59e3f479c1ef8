/* JSON Merge Patch (RFC 7396). */
#ifndef CSRD_MERGE_PATCH_H
#define CSRD_MERGE_PATCH_H
#include <jansson.h>

/* Returns a new reference: target (borrowed, not modified) with patch (borrowed) applied. */
json_t *json_merge_patch(const json_t *target, const json_t *patch);
#endif

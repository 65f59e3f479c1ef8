/* libFuzzer harness: JSON Merge Patch (json/merge_patch.c). The input is two JSON texts, the
 * target on the first line and the patch on the rest, each parsed as csrd parses bodies
 * (JSON_REJECT_DUPLICATES; any value, since a nested patch member may be anything). Checks what
 * PATCH relies on: the target is left as it was, applying the same patch twice changes nothing
 * more (RFC 7396 patches are idempotent), and the result's JSON text (json/json_text.c, what
 * travels to PostgreSQL) reads back. */
#include "json/json_text.h"
#include "json/merge_patch.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const uint8_t *data, size_t size)
{
    return json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
}

static void check_text_reads_back(const json_t *j)
{
    char *text = json_text(j);
    json_t *back = json_load_stored(text);
    if (!back)
        abort();
    json_decref(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    json_t *target = load(data, (size_t)(nl - data));
    json_t *patch = load(nl + 1, size - (size_t)(nl + 1 - data));
    if (target && patch) {
        json_t *before = json_deep_copy(target);
        json_t *once = json_merge_patch(target, patch);
        if (!once || !json_equal(before, target))
            abort();
        json_t *twice = json_merge_patch(once, patch);
        if (!twice || !json_equal(once, twice))
            abort();
        if (json_is_object(once)) /* what is stored: a record */
            check_text_reads_back(once);
        json_decref(twice);
        json_decref(once);
        json_decref(before);
    }
    json_decref(patch);
    json_decref(target);
    return 0;
}

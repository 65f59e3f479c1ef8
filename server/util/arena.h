/* Per-request bump allocator. Everything a request allocates for its own bookkeeping
 * (copied headers, path parameters, formatted strings) comes from its arena and dies with it
 * in one arena_free(), so error paths need no per-object free. Not thread-safe: one owner. */
#ifndef CSRD_ARENA_H
#define CSRD_ARENA_H
#include <stddef.h>

struct arena_block;
struct arena {
    struct arena_block *head;
};

void arena_init(struct arena *a);
/* Returns zeroed memory owned by the arena; aborts on out-of-memory. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);
#endif

/* Allocation that cannot fail: on exhaustion the process aborts, as the arena does. One
 * policy for the whole server instead of unchecked results scattered through handlers (a
 * server out of memory cannot answer sensibly anyway; the supervisor restarts it). */
#ifndef CSRD_XALLOC_H
#define CSRD_XALLOC_H
#include <jansson.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* json_dumps that aborts on failure; the result is malloc'd (caller frees). */
char *xjson_dumps(const json_t *j, size_t flags);
#endif

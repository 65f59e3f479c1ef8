/* Coroutines for the event-loop workers: a request's handler runs on a stack of its own and
 * gives the thread back while it waits for the database, so a worker thread carries many
 * requests without blocking (lwan and Kore work the same way). Built on ucontext, with the
 * annotations AddressSanitizer and valgrind need to follow a stack switch. A coroutine never
 * leaves the thread that started it. */
#ifndef CSRD_CORO_H
#define CSRD_CORO_H
#include <stdbool.h>

struct coro;
typedef void (*coro_fn)(void *arg);

/* A coroutine that will run fn(arg) when first resumed. Stacks are cached per thread. */
struct coro *coro_new(coro_fn fn, void *arg);
/* Runs c until it yields or returns; true when fn has returned (c is then freed). Only from
 * outside any coroutine, on the thread that made c. */
bool coro_resume(struct coro *c);
/* From inside a coroutine: back to whoever resumed it. */
void coro_yield(void);
/* The coroutine running on this thread, NULL outside one. */
struct coro *coro_current(void);
/* Frees this thread's cached stacks (at thread exit). */
void coro_thread_cleanup(void);
#endif

/* A worker thread's event loop (one epoll set) and what coroutines wait for on it: a socket
 * becoming ready, a deadline, or a wake-up from any thread. The waiting calls also work
 * outside a coroutine, where they block the calling thread (poll, a condition variable), so
 * the database layer has one code path for request handlers, streamed responses and
 * background jobs alike. */
#ifndef CSRD_EVLOOP_H
#define CSRD_EVLOOP_H
#include "util/coro.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct evloop;

/* A loop for the calling thread (which then owns it); NULL when epoll or eventfd fail. */
struct evloop *evloop_new(void);
void evloop_free(struct evloop *l);
/* Watches fd (level-triggered, readable): evloop_run calls cb(cls) while it is. 0 or -1. */
int evloop_watch(struct evloop *l, int fd, void (*cb)(void *cls), void *cls);
/* Stops watching fd (before it is closed). */
void evloop_unwatch(struct evloop *l, int fd);
/* cb(cls) runs at the start of every evloop_run, before the loop waits: for work that
 * coroutines leave to be done once per round (a pipeline's sync). */
void evloop_before_wait(struct evloop *l, void (*cb)(void *cls), void *cls);
/* The calling thread's loop, NULL on threads without one. */
struct evloop *evloop_current(void);
/* One round: waits at most timeout_ms (-1: no limit) for anything to happen, then resumes the
 * coroutines whose waits ended and calls the callbacks of ready watched descriptors. */
void evloop_run(struct evloop *l, int timeout_ms);
/* Starts fn(arg) as a coroutine on the calling thread's loop and runs it until it first
 * waits. True when it has already returned. */
bool evloop_spawn(coro_fn fn, void *arg);
/* Coroutines started on l that have not returned yet. */
int evloop_active(const struct evloop *l);

/* Monotonic microseconds, for deadlines. */
int64_t ev_now_us(void);
/* Waits until fd is ready for events (POLLIN and/or POLLOUT) or deadline_us passes (0: no
 * deadline). 1 ready, 0 timed out, -1 error. */
int ev_wait_fd(int fd, short events, int64_t deadline_us);

/* Parking: a coroutine waits for another thread (or coroutine) to hand it something. */
struct ev_park {
    atomic_int state;
    struct coro *coro;
    struct evloop *loop;
    int64_t deadline_us;
    struct ev_park *tnext, *tprev; /* the loop's timed waits */
};
/* Only in a coroutine: prepares pk before it is published to the unparker. */
void ev_park_init(struct ev_park *pk);
/* Yields until ev_unpark(pk) (true) or until deadline_us (0: none) passes (false). */
bool ev_park_wait(struct ev_park *pk, int64_t deadline_us);
/* From any thread: wakes pk's coroutine unless it has timed out already (false then). Must be
 * called while whatever pk's owner reads after waking is still guarded (see db/pool.c). */
bool ev_unpark(struct ev_park *pk);
#endif

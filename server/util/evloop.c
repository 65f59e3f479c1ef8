/* epoll + eventfd event loop for coroutines; see evloop.h.
 *
 * A wait is an ev_park whose state goes PARKED -> WOKEN (the awaited thing happened) or
 * PARKED -> TIMED_OUT (the deadline passed), decided by one compare-and-swap, so exactly one
 * side resumes the coroutine. Wake-ups from other threads go through a queue guarded by a
 * mutex and an eventfd; the loop drains the queue after each epoll_wait. Descriptor waits
 * use EPOLLONESHOT registrations (armed with one epoll_ctl per wait, disarmed by delivery),
 * so an event never arrives for a wait that is over. */
#include "util/xalloc.h"
#include "util/evloop.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum { PARK_IDLE, PARK_PARKED, PARK_WOKEN, PARK_TIMED_OUT };
enum src_kind { SRC_WAKE, SRC_WATCH, SRC_FD };

struct src {
    enum src_kind kind;
};

struct watch {
    struct src s;
    int fd;
    void (*cb)(void *cls);
    void *cls;
    struct watch *next;
};

struct fdwait {
    struct src s;
    struct ev_park pk;
};

struct hook {
    void (*cb)(void *cls);
    void *cls;
    struct hook *next;
};

struct evloop {
    int ep, wake_fd;
    struct src wake_src;
    struct watch *watches;
    struct hook *hooks;
    struct ev_park *timed; /* parks with a deadline, unordered (there are few) */
    int active;
    bool unwatched;       /* a watch went away during this round */
    pthread_mutex_t lock; /* guards queue */
    struct ev_park **queue;
    size_t nqueue, capqueue;
};

static _Thread_local struct evloop *this_loop;

int64_t ev_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct evloop *evloop_new(void)
{
    struct evloop *l = xcalloc(1, sizeof(*l));
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->wake_src.kind = SRC_WAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->wake_src};
    if (l->ep < 0 || l->wake_fd < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake_fd, &ev) != 0) {
        if (l->ep >= 0)
            close(l->ep);
        if (l->wake_fd >= 0)
            close(l->wake_fd);
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    this_loop = l;
    return l;
}

void evloop_free(struct evloop *l)
{
    if (!l)
        return;
    for (struct watch *w = l->watches, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    for (struct hook *h = l->hooks, *next; h; h = next) {
        next = h->next;
        free(h);
    }
    close(l->ep);
    close(l->wake_fd);
    free(l->queue);
    pthread_mutex_destroy(&l->lock);
    if (this_loop == l)
        this_loop = NULL;
    free(l);
    coro_thread_cleanup();
}

int evloop_watch(struct evloop *l, int fd, void (*cb)(void *cls), void *cls)
{
    struct watch *w = xcalloc(1, sizeof(*w));
    w->s.kind = SRC_WATCH;
    w->fd = fd;
    w->cb = cb;
    w->cls = cls;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->s};
    /* EEXIST: a coroutine waited on fd before (a disarmed one-shot registration) */
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0 &&
        (errno != EEXIST || epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) != 0)) {
        free(w);
        return -1;
    }
    w->next = l->watches;
    l->watches = w;
    return 0;
}

void evloop_unwatch(struct evloop *l, int fd)
{
    for (struct watch **pw = &l->watches; *pw; pw = &(*pw)->next)
        if ((*pw)->fd == fd) {
            struct watch *w = *pw;
            *pw = w->next;
            epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
            l->unwatched = true; /* events already fetched may still name it */
            free(w);
            return;
        }
}

void evloop_before_wait(struct evloop *l, void (*cb)(void *cls), void *cls)
{
    struct hook *h = xcalloc(1, sizeof(*h));
    h->cb = cb;
    h->cls = cls;
    h->next = l->hooks;
    l->hooks = h;
}

struct evloop *evloop_current(void)
{
    return this_loop;
}

int evloop_active(const struct evloop *l)
{
    return l->active;
}

static void resume(struct evloop *l, struct coro *c)
{
    if (coro_resume(c))
        l->active--;
}

bool evloop_spawn(coro_fn fn, void *arg)
{
    struct evloop *l = this_loop;
    if (!l)
        abort(); /* only worker threads start coroutines */
    struct coro *c = coro_new(fn, arg);
    l->active++;
    if (coro_resume(c)) {
        l->active--;
        return true;
    }
    return false;
}

static void timed_unlink(struct evloop *l, struct ev_park *pk)
{
    if (!pk->deadline_us)
        return;
    if (pk->tprev)
        pk->tprev->tnext = pk->tnext;
    else
        l->timed = pk->tnext;
    if (pk->tnext)
        pk->tnext->tprev = pk->tprev;
    pk->tnext = pk->tprev = NULL;
}

static bool park_decide(struct ev_park *pk, int to)
{
    int expect = PARK_PARKED;
    return atomic_compare_exchange_strong(&pk->state, &expect, to);
}

void ev_park_init(struct ev_park *pk)
{
    memset(pk, 0, sizeof(*pk));
    pk->coro = coro_current();
    pk->loop = this_loop;
    if (!pk->coro || !pk->loop)
        abort();
    atomic_store(&pk->state, PARK_PARKED);
}

bool ev_park_wait(struct ev_park *pk, int64_t deadline_us)
{
    struct evloop *l = pk->loop;
    pk->deadline_us = deadline_us;
    if (deadline_us) {
        pk->tprev = NULL;
        pk->tnext = l->timed;
        if (l->timed)
            l->timed->tprev = pk;
        l->timed = pk;
    }
    coro_yield();
    return atomic_load(&pk->state) == PARK_WOKEN;
}

bool ev_unpark(struct ev_park *pk)
{
    if (!park_decide(pk, PARK_WOKEN))
        return false;
    struct evloop *l = pk->loop;
    pthread_mutex_lock(&l->lock);
    if (l->nqueue == l->capqueue) {
        l->capqueue = l->capqueue ? 2 * l->capqueue : 16;
        l->queue = xrealloc(l->queue, l->capqueue * sizeof(*l->queue));
    }
    l->queue[l->nqueue++] = pk;
    bool first = l->nqueue == 1;
    pthread_mutex_unlock(&l->lock);
    if (first && l != this_loop) {
        uint64_t one = 1;
        ssize_t n = write(l->wake_fd, &one, sizeof(one)); /* EAGAIN: already pending */
        (void)n;
    }
    return true;
}

int ev_wait_fd(int fd, short events, int64_t deadline_us)
{
    if (!coro_current() || !this_loop) {
        for (;;) {
            int timeout = -1;
            if (deadline_us) {
                int64_t left = deadline_us - ev_now_us();
                if (left <= 0)
                    return 0;
                timeout = (int)((left + 999) / 1000);
            }
            struct pollfd p = {.fd = fd, .events = events};
            int n = poll(&p, 1, timeout);
            if (n > 0)
                return 1;
            if (n == 0)
                return 0;
            if (errno != EINTR)
                return -1;
        }
    }
    struct evloop *l = this_loop;
    struct fdwait fw = {.s.kind = SRC_FD};
    ev_park_init(&fw.pk);
    struct epoll_event ev = {.events = EPOLLONESHOT, .data.ptr = &fw.s};
    if (events & POLLIN)
        ev.events |= EPOLLIN;
    if (events & POLLOUT)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) != 0 &&
        (errno != ENOENT || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0))
        return -1;
    if (ev_park_wait(&fw.pk, deadline_us))
        return 1;
    /* timed out: disarm, so that no event can name this finished wait */
    struct epoll_event off = {.events = EPOLLONESHOT, .data.ptr = NULL};
    epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &off);
    return 0;
}

static void drain_queue(struct evloop *l)
{
    for (;;) {
        pthread_mutex_lock(&l->lock);
        size_t n = l->nqueue;
        struct ev_park *batch[64];
        if (n == 0) {
            pthread_mutex_unlock(&l->lock);
            return;
        }
        if (n > 64)
            n = 64;
        memcpy(batch, l->queue, n * sizeof(*batch));
        memmove(l->queue, l->queue + n, (l->nqueue - n) * sizeof(*l->queue));
        l->nqueue -= n;
        pthread_mutex_unlock(&l->lock);
        for (size_t i = 0; i < n; i++) {
            timed_unlink(l, batch[i]);
            resume(l, batch[i]->coro);
        }
    }
}

static void expire(struct evloop *l)
{
    if (!l->timed)
        return;
    int64_t now = ev_now_us();
    for (bool again = true; again;) {
        again = false;
        for (struct ev_park *pk = l->timed; pk; pk = pk->tnext)
            if (pk->deadline_us <= now) {
                timed_unlink(l, pk);
                if (park_decide(pk, PARK_TIMED_OUT))
                    resume(l, pk->coro);
                again = true; /* the list may have changed while it ran */
                break;
            }
    }
}

static bool watch_known(const struct evloop *l, const struct src *s)
{
    for (const struct watch *w = l->watches; w; w = w->next)
        if (&w->s == s)
            return true;
    return false;
}

void evloop_run(struct evloop *l, int timeout_ms)
{
    for (struct hook *h = l->hooks; h; h = h->next)
        h->cb(h->cls);
    pthread_mutex_lock(&l->lock);
    bool queued = l->nqueue > 0;
    pthread_mutex_unlock(&l->lock);
    if (queued) {
        timeout_ms = 0;
    } else if (l->timed) {
        int64_t first = l->timed->deadline_us;
        for (struct ev_park *pk = l->timed; pk; pk = pk->tnext)
            if (pk->deadline_us < first)
                first = pk->deadline_us;
        int64_t left = (first - ev_now_us() + 999) / 1000;
        if (left < 0)
            left = 0;
        if (timeout_ms < 0 || left < timeout_ms)
            timeout_ms = (int)left;
    }
    struct epoll_event evs[64];
    int n = epoll_wait(l->ep, evs, 64, timeout_ms);
    l->unwatched = false;
    for (int i = 0; i < n; i++) {
        struct src *s = evs[i].data.ptr;
        if (!s || (l->unwatched && s->kind == SRC_WATCH && !watch_known(l, s)))
            continue;
        if (s->kind == SRC_WAKE) {
            uint64_t v;
            ssize_t r = read(l->wake_fd, &v, sizeof(v));
            (void)r;
        } else if (s->kind == SRC_WATCH) {
            struct watch *w = (struct watch *)s;
            w->cb(w->cls);
        } else {
            struct fdwait *fw = (struct fdwait *)s;
            if (park_decide(&fw->pk, PARK_WOKEN)) {
                timed_unlink(l, &fw->pk);
                resume(l, fw->pk.coro);
            }
        }
    }
    drain_queue(l);
    expire(l);
}

/* Unit tests: coroutines and the event loop they wait on (util/coro.h, util/evloop.h). */
#include "check.h"
#include "util/coro.h"
#include "util/evloop.h"
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Runs the loop until no coroutine is left or about two seconds have passed. */
static void run_until_idle(struct evloop *l)
{
    int64_t end = ev_now_us() + 2000000;
    while (evloop_active(l) > 0 && ev_now_us() < end)
        evloop_run(l, 10);
}

static char trace[64];

static void note(char c)
{
    size_t n = strlen(trace);
    if (n + 1 < sizeof(trace)) {
        trace[n] = c;
        trace[n + 1] = '\0';
    }
}

struct pair {
    struct ev_park park;
    bool woken;
    char name;
};

static void parker(void *arg)
{
    struct pair *p = arg;
    note(p->name);
    ev_park_init(&p->park);
    p->woken = ev_park_wait(&p->park, 0);
    note((char)(p->name - 'a' + 'A'));
}

TEST(coroutines_run_until_they_wait_and_resume_when_woken)
{
    struct evloop *l = evloop_new();
    CHECK(l != NULL);
    trace[0] = '\0';
    struct pair a = {.name = 'a'}, b = {.name = 'b'};
    CHECK(!evloop_spawn(parker, &a)); /* runs up to its wait, then the caller goes on */
    CHECK(!evloop_spawn(parker, &b));
    CHECK_STR(trace, "ab");
    CHECK_INT(evloop_active(l), 2);
    CHECK(ev_unpark(&b.park));
    CHECK(!ev_unpark(&b.park)); /* one wake-up per wait */
    evloop_run(l, 0);
    CHECK_STR(trace, "abB");
    CHECK(ev_unpark(&a.park));
    run_until_idle(l);
    CHECK_STR(trace, "abBA");
    CHECK(a.woken && b.woken);
    CHECK_INT(evloop_active(l), 0);
    evloop_free(l);
}

static void quick(void *arg)
{
    *(int *)arg = 42;
}

TEST(a_coroutine_that_never_waits_finishes_inside_spawn)
{
    struct evloop *l = evloop_new();
    int v = 0;
    CHECK(evloop_spawn(quick, &v));
    CHECK_INT(v, 42);
    CHECK_INT(evloop_active(l), 0);
    evloop_free(l);
}

struct timed {
    struct ev_park park;
    int64_t waited_us;
    int result; /* 1 woken, 0 timed out */
};

static void timed_wait(void *arg)
{
    struct timed *t = arg;
    ev_park_init(&t->park);
    int64_t start = ev_now_us();
    t->result = ev_park_wait(&t->park, start + 30000) ? 1 : 0;
    t->waited_us = ev_now_us() - start;
}

TEST(a_park_with_a_deadline_times_out_and_refuses_a_late_wake)
{
    struct evloop *l = evloop_new();
    struct timed t = {.result = -1};
    CHECK(!evloop_spawn(timed_wait, &t));
    run_until_idle(l);
    CHECK_INT(t.result, 0);
    CHECK(t.waited_us >= 30000);
    CHECK(!ev_unpark(&t.park)); /* the coroutine has moved on */
    evloop_free(l);
}

static void *wake_later(void *arg)
{
    usleep(20000);
    ev_unpark(arg);
    return NULL;
}

TEST(another_thread_wakes_a_parked_coroutine)
{
    struct evloop *l = evloop_new();
    struct timed t = {.result = -1};
    CHECK(!evloop_spawn(timed_wait, &t)); /* deadline 30 ms, woken after 20 */
    t.park.deadline_us += 2000000;        /* not a race against the machine's load */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, wake_later, &t.park) == 0);
    int64_t start = ev_now_us();
    evloop_run(l, 5000); /* sleeps in epoll_wait until the eventfd says so */
    run_until_idle(l);
    pthread_join(th, NULL);
    CHECK_INT(t.result, 1);
    CHECK(ev_now_us() - start < 1000000);
    evloop_free(l);
}

struct fdw {
    int fd;
    int64_t deadline_us;
    int result;
    char got;
};

static void fd_waiter(void *arg)
{
    struct fdw *w = arg;
    w->result = ev_wait_fd(w->fd, POLLIN, w->deadline_us);
    if (w->result == 1 && read(w->fd, &w->got, 1) != 1)
        w->result = -2;
}

TEST(a_coroutine_waits_for_a_socket_without_holding_the_thread)
{
    struct evloop *l = evloop_new();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct fdw w1 = {.fd = sv[0], .result = -1};
    CHECK(!evloop_spawn(fd_waiter, &w1));
    evloop_run(l, 0); /* nothing to read yet: still waiting */
    CHECK_INT(w1.result, -1);
    CHECK(write(sv[1], "x", 1) == 1);
    run_until_idle(l);
    CHECK_INT(w1.result, 1);
    CHECK(w1.got == 'x');

    /* again on the same descriptor (the registration is re-armed), now timing out */
    struct fdw w2 = {.fd = sv[0], .result = -1, .deadline_us = ev_now_us() + 20000};
    CHECK(!evloop_spawn(fd_waiter, &w2));
    run_until_idle(l);
    CHECK_INT(w2.result, 0);

    /* a byte arriving after the timeout wakes nobody, and a later wait still sees it */
    CHECK(write(sv[1], "y", 1) == 1);
    evloop_run(l, 20);
    struct fdw w3 = {.fd = sv[0], .result = -1};
    evloop_spawn(fd_waiter, &w3);
    run_until_idle(l);
    CHECK_INT(w3.result, 1);
    CHECK(w3.got == 'y');
    close(sv[0]);
    close(sv[1]);
    evloop_free(l);
}

TEST(outside_a_coroutine_the_waits_block_the_thread)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_INT(ev_wait_fd(sv[0], POLLIN, ev_now_us() + 10000), 0);
    CHECK(write(sv[1], "z", 1) == 1);
    CHECK_INT(ev_wait_fd(sv[0], POLLIN, ev_now_us() + 1000000), 1);
    close(sv[0]);
    close(sv[1]);
}

static int depth_sum(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    return n == 0 ? 0 : pad[0] + depth_sum(n - 1);
}

static void deep(void *arg)
{
    *(int *)arg = depth_sum(100); /* about 100 KiB of stack */
}

TEST(a_coroutine_has_room_for_a_deep_call_chain)
{
    struct evloop *l = evloop_new();
    int v = 0;
    CHECK(evloop_spawn(deep, &v));
    CHECK_INT(v, 5050);
    evloop_free(l);
}

static void watched(void *cls)
{
    char c;
    if (read(*(int *)cls, &c, 1) == 1)
        note(c);
}

TEST(watched_descriptors_call_back_while_readable)
{
    struct evloop *l = evloop_new();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    trace[0] = '\0';
    CHECK(evloop_watch(l, sv[0], watched, &sv[0]) == 0);
    CHECK(write(sv[1], "pq", 2) == 2);
    evloop_run(l, 100);
    evloop_run(l, 100);
    CHECK_STR(trace, "pq");
    evloop_unwatch(l, sv[0]);
    CHECK(write(sv[1], "r", 1) == 1);
    evloop_run(l, 20);
    CHECK_STR(trace, "pq");
    close(sv[0]);
    close(sv[1]);
    evloop_free(l);
}

int main(int argc, char **argv)
{
    return check_main(argc, argv);
}

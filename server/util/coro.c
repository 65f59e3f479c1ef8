/* ucontext coroutines; see coro.h. swapcontext saves and restores the signal mask (one
 * rt_sigprocmask per switch): measured, it is well under a microsecond per switch on these
 * machines, against the tens of microseconds a blocked thread's wake-up costs. */
#include "util/xalloc.h"
#include "util/coro.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CORO_VALGRIND 1
#endif

/* Handlers keep their buffers on the heap or in the arena, but jansson, the validator and
 * the number check recurse to the documents' depth limit (2048 levels): at 64-128 bytes a
 * level that alone is up to 256 KiB, so 256 KiB stacks overflowed on a body nested 2046 deep
 * (found by the HTTP fuzzer). 1 MiB leaves a margin of four; sanitizer builds, whose frames
 * are several times larger, get 4 MiB. Pages are only committed when touched; a guard page
 * below catches an overflow. */
#ifdef CORO_ASAN
#define STACK_SIZE (4 * 1024 * 1024)
#else
#define STACK_SIZE (1024 * 1024)
#endif
#define STACK_CACHE 64

struct coro {
    ucontext_t ctx;
    ucontext_t *back; /* the resumer's context */
    char *map;        /* guard page + stack */
    coro_fn fn;
    void *arg;
    bool done;
    unsigned vg_id;
#ifdef CORO_ASAN
    void *fake_stack;
    const void *back_bottom;
    size_t back_size;
#endif
};

static _Thread_local struct coro *current;
static _Thread_local ucontext_t resumer;
static _Thread_local char *cache[STACK_CACHE];
static _Thread_local int ncache;

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

static char *stack_get(void)
{
    if (ncache > 0)
        return cache[--ncache];
    size_t pg = page_size();
    char *m = mmap(NULL, STACK_SIZE + pg, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        abort(); /* the same policy as xalloc: out of memory ends the process */
    if (mprotect(m, pg, PROT_NONE) != 0)
        abort();
    return m;
}

static void stack_put(char *m)
{
    if (ncache < STACK_CACHE) {
        cache[ncache++] = m;
        return;
    }
    munmap(m, STACK_SIZE + page_size());
}

void coro_thread_cleanup(void)
{
    while (ncache > 0)
        munmap(cache[--ncache], STACK_SIZE + page_size());
}

static void entry(void)
{
    struct coro *c = current;
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->back_bottom, &c->back_size);
#endif
    c->fn(c->arg);
    c->done = true;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(NULL, c->back_bottom, c->back_size); /* for good */
#endif
    setcontext(c->back);
    abort(); /* not reached */
}

struct coro *coro_new(coro_fn fn, void *arg)
{
    struct coro *c = xcalloc(1, sizeof(*c));
    c->map = stack_get();
    c->fn = fn;
    c->arg = arg;
    char *base = c->map + page_size();
#ifdef CORO_VALGRIND
    c->vg_id = VALGRIND_STACK_REGISTER(base, base + STACK_SIZE);
#endif
    if (getcontext(&c->ctx) != 0)
        abort();
    c->ctx.uc_stack.ss_sp = base;
    c->ctx.uc_stack.ss_size = STACK_SIZE;
    c->ctx.uc_link = NULL;
    makecontext(&c->ctx, entry, 0);
    return c;
}

static void coro_free(struct coro *c)
{
#ifdef CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(c->vg_id);
#endif
    stack_put(c->map);
    free(c);
}

bool coro_resume(struct coro *c)
{
    if (current) /* only the loop resumes; a coroutine never resumes another */
        abort();
    current = c;
    c->back = &resumer;
#ifdef CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, c->map + page_size(), STACK_SIZE);
#endif
    swapcontext(&resumer, &c->ctx);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    current = NULL;
    if (!c->done)
        return false;
    coro_free(c);
    return true;
}

void coro_yield(void)
{
    struct coro *c = current;
    if (!c)
        abort();
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(&c->fake_stack, c->back_bottom, c->back_size);
#endif
    swapcontext(&c->ctx, c->back);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(c->fake_stack, &c->back_bottom, &c->back_size);
#endif
}

struct coro *coro_current(void)
{
    return current;
}

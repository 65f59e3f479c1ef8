/* Open-addressed table of buckets under one mutex: the critical section is a few
 * arithmetic operations, far below the cost of the request it guards. */
#include "http/ratelimit.h"
#include "util/timefmt.h"
#include <math.h>
#include <pthread.h>
#include <string.h>

#define SLOTS 4096

struct bucket {
    char key[37];
    double tokens;
    uint64_t last_ms;
};

static struct bucket table[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned hash_key(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bool ratelimit_allow(const char *key_id, double rate, struct ratelimit_state *st)
{
    uint64_t now = time_mono_us() / 1000; /* a wall-clock step back must not refill buckets */
    double burst = rate < 1 ? 1 : rate;
    pthread_mutex_lock(&lock);
    unsigned h = hash_key(key_id) % SLOTS;
    struct bucket *b = NULL, *oldest = &table[h];
    for (unsigned i = 0; i < 16; i++) {
        struct bucket *c = &table[(h + i) % SLOTS];
        if (!c->key[0] || !strcmp(c->key, key_id)) {
            b = c;
            break;
        }
        if (c->last_ms < oldest->last_ms)
            oldest = c;
    }
    if (!b)
        b = oldest, b->key[0] = '\0';
    if (!b->key[0]) {
        strncpy(b->key, key_id, sizeof(b->key) - 1);
        b->tokens = burst;
        b->last_ms = now;
    }
    if (now > b->last_ms)
        b->tokens += (double)(now - b->last_ms) / 1000.0 * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_ms = now;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    double tokens = b->tokens;
    pthread_mutex_unlock(&lock);
    st->limit = (int)burst;
    st->remaining = (int)floor(tokens);
    st->reset = (int)ceil((burst - tokens) / rate);
    st->retry_after = ok ? 0 : (int)ceil((1.0 - tokens) / rate);
    if (!ok && st->retry_after < 1)
        st->retry_after = 1;
    return ok;
}

/* A direct-mapped table under one rwlock; see auth_cache.h for the generation rule. */
#include "auth_cache.h"
#include <pthread.h>
#include <string.h>

#define CACHE_SLOTS 1024

struct cache_entry {
    char hash[65];
    struct principal who;
    uint64_t expires_ms;
};

static struct cache_entry cache[CACHE_SLOTS];
static uint64_t generation; /* guarded by cache_lock */
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;

static unsigned slot_of(const char *hash)
{
    unsigned v = 0;
    for (int i = 0; i < 8 && hash[i]; i++)
        v = v * 31 + (unsigned char)hash[i];
    return v % CACHE_SLOTS;
}

uint64_t auth_cache_generation(void)
{
    pthread_rwlock_rdlock(&cache_lock);
    uint64_t g = generation;
    pthread_rwlock_unlock(&cache_lock);
    return g;
}

bool auth_cache_get(const char *hash, uint64_t now_ms, struct principal *out)
{
    bool hit = false;
    const struct cache_entry *e = &cache[slot_of(hash)];
    pthread_rwlock_rdlock(&cache_lock);
    if (!strcmp(e->hash, hash) && e->expires_ms > now_ms) {
        *out = e->who;
        hit = true;
    }
    pthread_rwlock_unlock(&cache_lock);
    return hit;
}

bool auth_cache_put(const char *hash, const struct principal *who, uint64_t gen,
                    uint64_t expires_ms)
{
    if (strlen(hash) >= sizeof(cache[0].hash))
        return false;
    struct cache_entry *e = &cache[slot_of(hash)];
    pthread_rwlock_wrlock(&cache_lock);
    bool current = gen == generation;
    if (current) {
        memcpy(e->hash, hash, strlen(hash) + 1); /* length checked above */
        e->who = *who;
        e->expires_ms = expires_ms;
    }
    pthread_rwlock_unlock(&cache_lock);
    return current;
}

void auth_cache_forget(const char *key_id)
{
    pthread_rwlock_wrlock(&cache_lock);
    generation++;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (!strcmp(cache[i].who.key_id, key_id))
            memset(&cache[i], 0, sizeof(cache[i]));
    pthread_rwlock_unlock(&cache_lock);
}

void auth_cache_forget_all(void)
{
    pthread_rwlock_wrlock(&cache_lock);
    generation++;
    memset(cache, 0, sizeof(cache));
    pthread_rwlock_unlock(&cache_lock);
}

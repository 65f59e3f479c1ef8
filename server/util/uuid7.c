/* UUID v7 on libuuid's uuid_t and formatter. The 74 random bits come from a per-thread
 * xoshiro128** generator seeded once from getrandom(): ids need uniqueness, not secrecy
 * (tokens use getrandom() directly), and a syscall per id was measurable on the request
 * path (every request gets a generated X-Request-Id). */
#include "util/uuid7.h"
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

static _Thread_local uint32_t rng[4];
static _Thread_local bool rng_seeded;

static uint32_t rotl(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

static uint32_t rng_next(void)
{
    if (!rng_seeded) {
        if (getrandom(rng, sizeof(rng), 0) != (ssize_t)sizeof(rng)) {
            uuid_t fallback; /* libuuid's own source */
            uuid_generate_random(fallback);
            memcpy(rng, fallback, sizeof(rng));
        }
        rng[0] |= 1; /* never the all-zero state */
        rng_seeded = true;
    }
    uint32_t result = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 9;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 11);
    return result;
}

void uuid7_make(uint64_t unix_ms, char out[UUID_STR_LEN])
{
    uuid_t u = {0};
    for (int i = 0; i < 16; i += 4) {
        uint32_t v = rng_next();
        memcpy(u + i, &v, 4);
    }
    for (int i = 0; i < 6; i++)
        u[i] = (unsigned char)(unix_ms >> (40 - 8 * i));
    u[6] = (unsigned char)(0x70 | (u[6] & 0x0f));
    u[8] = (unsigned char)(0x80 | (u[8] & 0x3f));
    uuid_unparse_lower(u, out);
}

void uuid7_new(char out[UUID_STR_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uuid7_make((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, out);
}

bool uuid_is_valid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

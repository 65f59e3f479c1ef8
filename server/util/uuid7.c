/* UUID v7 on libuuid's uuid_t and formatter; randomness from getrandom(). */
#include "util/uuid7.h"
#include <ctype.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

void uuid7_make(uint64_t unix_ms, char out[UUID_STR_LEN])
{
    uuid_t u;
    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
        uuid_generate_random(u); /* fallback: libuuid's own source */
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

bool uuid7_unix_ms(const char *s, uint64_t *ms)
{
    uuid_t u;
    if (!uuid_is_valid(s) || uuid_parse(s, u) != 0 || (u[6] >> 4) != 7)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = (v << 8) | u[i];
    *ms = v;
    return true;
}

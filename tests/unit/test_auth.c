/* Unit tests: the auth cache's generation rule (a revocation that lands between a key's
 * database lookup and the caching of its answer must win) and expiry. */
#include "auth_cache.h"
#include "check.h"
#include <stdio.h>
#include <string.h>

static struct principal key(const char *id)
{
    struct principal p;
    memset(&p, 0, sizeof(p));
    snprintf(p.key_id, sizeof(p.key_id), "%s", id);
    snprintf(p.name, sizeof(p.name), "test key");
    p.role = ROLE_AGENT;
    return p;
}

TEST(auth_cache_hit_until_expiry)
{
    struct principal who = key("01a20c70-293b-7304-a1e5-70de58670001"), out;
    const char *hash = "1111111111111111111111111111111111111111111111111111111111111111";
    CHECK(auth_cache_put(hash, &who, auth_cache_generation(), 1000));
    CHECK(auth_cache_get(hash, 999, &out));
    CHECK_STR(out.key_id, who.key_id);
    CHECK(out.role == ROLE_AGENT);
    CHECK(!auth_cache_get(hash, 1000, &out)); /* expired */
}

TEST(revocation_between_lookup_and_put_is_not_undone)
{
    struct principal who = key("01a20c70-293b-7304-a1e5-70de58670002"), out;
    const char *hash = "2222222222222222222222222222222222222222222222222222222222222222";
    /* request thread: reads the generation, then asks the database (key still valid) */
    uint64_t gen = auth_cache_generation();
    /* listener thread: the revocation notice arrives meanwhile */
    auth_cache_forget(who.key_id);
    /* request thread: stores the answer it got before the revocation */
    CHECK(!auth_cache_put(hash, &who, gen, 1000));
    CHECK(!auth_cache_get(hash, 1, &out));
    /* a lookup that starts after the revocation may cache (the database then says revoked,
     * so in practice nothing is put; a valid key is cached as usual) */
    CHECK(auth_cache_put(hash, &who, auth_cache_generation(), 1000));
    CHECK(auth_cache_get(hash, 1, &out));
}

TEST(forget_all_also_refuses_older_lookups)
{
    struct principal who = key("01a20c70-293b-7304-a1e5-70de58670003"), out;
    const char *hash = "3333333333333333333333333333333333333333333333333333333333333333";
    uint64_t gen = auth_cache_generation();
    auth_cache_forget_all();
    CHECK(!auth_cache_put(hash, &who, gen, 1000));
    CHECK(!auth_cache_get(hash, 1, &out));
}

TEST(forget_drops_every_entry_of_the_key)
{
    struct principal who = key("01a20c70-293b-7304-a1e5-70de58670004"), out;
    const char *h1 = "4444444444444444444444444444444444444444444444444444444444444444";
    const char *h2 = "5555555555555555555555555555555555555555555555555555555555555555";
    CHECK(auth_cache_put(h1, &who, auth_cache_generation(), 1000));
    CHECK(auth_cache_put(h2, &who, auth_cache_generation(), 1000));
    auth_cache_forget(who.key_id);
    CHECK(!auth_cache_get(h1, 1, &out));
    CHECK(!auth_cache_get(h2, 1, &out));
}

int main(int argc, char **argv)
{
    return check_main(argc, argv);
}

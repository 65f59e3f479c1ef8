/* Unit tests: Content-Type and entity-tag parsing, query helpers. */
#include "check.h"
#include "http/headers.h"
#include "http/query.h"
#include "http/ratelimit.h"

TEST(rate_limit_bucket_reports_its_state)
{
    /* 3 per second: a burst of 3, then refusals; each answer describes the bucket */
    struct ratelimit_state st;
    const char *key = "01a20c70-0000-7000-8000-0000000ra7e1";
    CHECK(ratelimit_allow(key, 3, &st));
    CHECK_INT(st.limit, 3);
    CHECK_INT(st.remaining, 2);
    CHECK_INT(st.reset, 1); /* one token used: full again within a second */
    CHECK_INT(st.retry_after, 0);
    CHECK(ratelimit_allow(key, 3, &st));
    CHECK(ratelimit_allow(key, 3, &st));
    CHECK_INT(st.remaining, 0);
    CHECK(!ratelimit_allow(key, 3, &st));
    CHECK_INT(st.remaining, 0);
    CHECK_INT(st.retry_after, 1);
    CHECK(st.reset >= 1 && st.reset <= 2);
    /* a slow rate: one request per 10 s, so the next comes after up to 10 s */
    const char *slow = "01a20c70-0000-7000-8000-0000000ra7e2";
    CHECK(ratelimit_allow(slow, 0.1, &st));
    CHECK_INT(st.limit, 1);
    CHECK_INT(st.remaining, 0);
    CHECK(!ratelimit_allow(slow, 0.1, &st));
    CHECK(st.retry_after >= 9 && st.retry_after <= 10);
    CHECK(st.reset >= 9 && st.reset <= 10);
    /* other keys have buckets of their own */
    CHECK(ratelimit_allow("01a20c70-0000-7000-8000-0000000ra7e3", 3, &st));
    CHECK_INT(st.remaining, 2);
}

TEST(content_type_json)
{
    CHECK(http_content_type_is_json("application/json"));
    CHECK(http_content_type_is_json("application/json; charset=utf-8"));
    CHECK(http_content_type_is_json("Application/JSON;charset=UTF-8"));
    CHECK(http_content_type_is_json("application/merge-patch+json"));
    CHECK(!http_content_type_is_json("application/json; charset=latin1"));
    CHECK(!http_content_type_is_json("text/plain"));
    CHECK(!http_content_type_is_json("application/jsonx"));
    CHECK(!http_content_type_is_json("application/x-www-form-urlencoded"));
    CHECK(!http_content_type_is_json(NULL));
    CHECK(http_content_type_is("application/x-ndjson", "application/x-ndjson"));
    CHECK(!http_content_type_is("application/x-ndjsonx", "application/x-ndjson"));
}

TEST(etag_matching)
{
    CHECK_INT(http_etag_match("\"3\"", 3), ETAG_MATCH);
    CHECK_INT(http_etag_match("W/\"3\"", 3), ETAG_MATCH);
    CHECK_INT(http_etag_match("\"2\", \"3\"", 3), ETAG_MATCH);
    CHECK_INT(http_etag_match("*", 7), ETAG_MATCH);
    CHECK_INT(http_etag_match("\"4\"", 3), ETAG_NO_MATCH);
    CHECK_INT(http_etag_match("\"abc\"", 3), ETAG_NO_MATCH);
    CHECK_INT(http_etag_match("3", 3), ETAG_MALFORMED);
    CHECK_INT(http_etag_match("\"3", 3), ETAG_MALFORMED);
    CHECK_INT(http_etag_match("", 3), ETAG_MALFORMED);
    CHECK_INT(http_etag_match("\"3\" x", 3), ETAG_MALFORMED);
}

TEST(query_unknown_and_repeated)
{
    struct query q = {.n = 3, .args = {{"limit", "5"}, {"tier", "vip"}, {"limit", "6"}}};
    static const char *const allowed[] = {"limit", "tier", NULL};
    CHECK_STR(query_unknown_or_repeated(&q, allowed), "limit");
    q.n = 2;
    CHECK(query_unknown_or_repeated(&q, allowed) == NULL);
    static const char *const narrow[] = {"limit", NULL};
    CHECK_STR(query_unknown_or_repeated(&q, narrow), "tier");
    CHECK_STR(query_get(&q, "tier"), "vip");
    CHECK(query_get(&q, "x") == NULL);
}

TEST(query_sort_and_bool)
{
    static const char *const sorts[] = {"created_at", "name", NULL};
    int i;
    bool desc, b;
    CHECK(query_parse_sort("-name", sorts, &i, &desc) && i == 1 && desc);
    CHECK(query_parse_sort("created_at", sorts, &i, &desc) && i == 0 && !desc);
    CHECK(!query_parse_sort("-email", sorts, &i, &desc));
    CHECK(query_parse_bool("true", &b) && b);
    CHECK(query_parse_bool("0", &b) && !b);
    CHECK(!query_parse_bool("yes", &b));
}

int main(int argc, char **argv)
{
    return check_main(argc, argv);
}

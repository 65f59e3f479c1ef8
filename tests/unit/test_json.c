/* Unit tests: field validation, JSON Merge Patch, YAML to JSON. */
#include "check.h"
#include "json/json_text.h"
#include "json/merge_patch.h"
#include "json/validate.h"
#include "util/yaml_json.h"

static const char *const COLORS[] = {"red", "green", NULL};
static const struct field_spec SUB[] = {
    {.name = "code", .type = F_COUNTRY},
    {.name = "n", .type = F_INT, .flags = FIELD_REQUIRED, .min = 0, .max = 9},
    {0}};
static const struct field_spec SPEC[] = {
    {.name = "id", .flags = FIELD_READONLY},
    {.name = "name", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 5},
    {.name = "color", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = COLORS},
    {.name = "email", .type = F_EMAIL},
    {.name = "phone", .type = F_PHONE},
    {.name = "money", .type = F_MONEY},
    {.name = "sub", .type = F_OBJECT, .sub = SUB},
    {.name = "subs", .type = F_OBJECT_ARRAY, .max = 2, .sub = SUB},
    {.name = "tags", .type = F_STRING_ARRAY, .max = 3, .item_max = 4},
    {.name = "born", .type = F_DATE},
    {.name = "flag", .type = F_BOOL},
    {.name = "attrs", .type = F_FREE_OBJECT, .max = 20},
    {0}};

/* Validates text; returns the errors as compact JSON (caller frees). */
static char *errors_of(const char *text, enum validate_mode mode)
{
    json_t *obj = json_loads(text, 0, NULL), *errors = json_array();
    if (!obj)
        return strdup("unparsable test input");
    json_validate(obj, SPEC, mode, errors);
    char *out = json_dumps(errors, JSON_COMPACT);
    json_decref(obj);
    json_decref(errors);
    return out;
}

#define CHECK_ERRORS(text, mode, expected)                                                         \
    do {                                                                                           \
        char *got_ = errors_of(text, mode);                                                        \
        CHECK_STR(got_, expected);                                                                 \
        free(got_);                                                                                \
    } while (0)

TEST(validate_accepts_a_good_document)
{
    CHECK_ERRORS("{\"name\":\"Ann\",\"color\":\"red\",\"email\":\"a@b.cn\","
                 "\"phone\":\"+86 138-0013-8000\",\"money\":{\"amount\":\"120.50\","
                 "\"currency\":\"CNY\"},\"sub\":{\"code\":\"CN\",\"n\":3},\"subs\":[{\"n\":1}],"
                 "\"tags\":[\"a\",\"b\"],\"born\":\"1990-01-02\",\"flag\":true,"
                 "\"attrs\":{\"k\":1}}",
                 VALIDATE_CREATE, "[]");
}

/* Found by tests/fuzz/lib: a member name cut at 200 bytes inside a character made a path
 * that is not UTF-8, the error was dropped, and the unknown member passed. */
TEST(validate_keeps_the_error_of_a_long_non_ascii_member_name)
{
    char text[512] = "{\"name\":\"Ann\",\"";
    size_t o = strlen(text);
    memset(text + o, 'a', 199);
    o += 199;
    o += (size_t)sprintf(text + o, "\xc3\xa9\":1}"); /* é straddles byte 200 */
    json_t *obj = json_loads(text, 0, NULL), *errors = json_array();
    CHECK(obj != NULL);
    CHECK(!json_validate(obj, SPEC, VALIDATE_CREATE, errors));
    CHECK_INT((long)json_array_size(errors), 1);
    const char *field = json_string_value(json_object_get(json_array_get(errors, 0), "field"));
    CHECK(field && strlen(field) == 199); /* cut before the é, not through it */
    json_decref(obj);
    json_decref(errors);
}

/* The same for the number check's paths, shared by every level of a deep document. */
TEST(numbers_storable_names_a_deep_member_with_a_long_non_ascii_name)
{
    char text[600] = "{\"";
    size_t o = 2;
    memset(text + o, 'b', 243); /* "attributes." + 243 bytes: the é straddles byte 255 */
    o += 243;
    o += (size_t)sprintf(text + o, "\xc3\xa9\":{\"x\":1e300}}");
    json_t *obj = json_loads(text, 0, NULL), *errors = json_array();
    CHECK(obj != NULL);
    CHECK(!json_numbers_storable(obj, "attributes", errors));
    CHECK_INT((long)json_array_size(errors), 1);
    const char *field = json_string_value(json_object_get(json_array_get(errors, 0), "field"));
    CHECK(field && strncmp(field, "attributes.bbb", 14) == 0 && strlen(field) == 254);
    json_decref(obj);
    json_decref(errors);
}

TEST(validate_required_and_unknown_and_readonly)
{
    CHECK_ERRORS("{\"id\":\"x\",\"bogus\":1}", VALIDATE_CREATE,
                 "[{\"field\":\"id\",\"message\":\"is read-only\"},"
                 "{\"field\":\"bogus\",\"message\":\"is not a known field\"},"
                 "{\"field\":\"name\",\"message\":\"is required\"}]");
}

TEST(validate_not_null_fields)
{
    /* absent on create: the server default applies; null: refused */
    CHECK_ERRORS("{\"name\":\"Ann\"}", VALIDATE_CREATE, "[]");
    CHECK_ERRORS("{\"name\":\"Ann\",\"color\":null}", VALIDATE_CREATE,
                 "[{\"field\":\"color\",\"message\":\"must not be null\"}]");
    /* after a merge patch, absence means the patch nulled it */
    CHECK_ERRORS("{\"name\":\"Ann\"}", VALIDATE_MERGED,
                 "[{\"field\":\"color\",\"message\":\"must not be null\"}]");
}

TEST(validate_types_and_ranges)
{
    char *e = errors_of("{\"name\":\"toolong\",\"color\":\"blue\",\"email\":\"nope\","
                        "\"phone\":\"12345\",\"born\":\"1990-02-30\",\"flag\":\"yes\"}",
                        VALIDATE_CREATE);
    CHECK(strstr(e, "\"field\":\"name\",\"message\":\"must be 1 to 5 characters long\""));
    CHECK(strstr(e, "\"field\":\"color\",\"message\":\"must be one of: red, green\""));
    CHECK(strstr(e, "\"field\":\"email\""));
    CHECK(strstr(e, "\"field\":\"phone\""));
    CHECK(strstr(e, "\"field\":\"born\""));
    CHECK(strstr(e, "\"field\":\"flag\""));
    free(e);
}

TEST(validate_counts_characters_not_bytes)
{
    CHECK_ERRORS("{\"name\":\"张三李四王\"}", VALIDATE_CREATE, "[]");
    CHECK_ERRORS("{\"name\":\"\"}", VALIDATE_CREATE,
                 "[{\"field\":\"name\",\"message\":\"must be 1 to 5 characters long\"}]");
}

TEST(validate_nested_paths)
{
    CHECK_ERRORS("{\"name\":\"A\",\"sub\":{\"code\":\"XX\"},\"subs\":[{\"n\":1},{\"n\":10}]}",
                 VALIDATE_CREATE,
                 "[{\"field\":\"sub.code\",\"message\":\"must be an ISO 3166-1 alpha-2 country "
                 "code\"},{\"field\":\"sub.n\",\"message\":\"is required\"},"
                 "{\"field\":\"subs[1].n\",\"message\":\"must be an integer from 0 to 9\"}]");
}

TEST(validate_money)
{
    CHECK_ERRORS("{\"name\":\"A\",\"money\":{\"amount\":\"1.2.3\",\"currency\":\"XYZ\"}}",
                 VALIDATE_CREATE,
                 "[{\"field\":\"money.amount\",\"message\":\"must be a non-negative decimal "
                 "string such as \\\"120.50\\\"\"},{\"field\":\"money.currency\",\"message\":"
                 "\"must be an ISO 4217 currency code\"}]");
    CHECK_ERRORS("{\"name\":\"A\",\"money\":{\"amount\":12}}", VALIDATE_CREATE,
                 "[{\"field\":\"money.amount\",\"message\":\"must be a string\"},"
                 "{\"field\":\"money.currency\",\"message\":\"is required\"}]");
}

TEST(validate_arrays)
{
    char *e = errors_of("{\"name\":\"A\",\"tags\":[\"a\",\"a\",\"toolong\",5]}", VALIDATE_CREATE);
    CHECK(strstr(e, "must be an array of at most 3 items"));
    free(e);
    CHECK_ERRORS("{\"name\":\"A\",\"tags\":[\"a\",\"a\"]}", VALIDATE_CREATE,
                 "[{\"field\":\"tags[1]\",\"message\":\"is a duplicate\"}]");
    CHECK_ERRORS("{\"name\":\"A\",\"attrs\":{\"k\":\"0123456789012345\"}}", VALIDATE_CREATE,
                 "[{\"field\":\"attrs\",\"message\":\"must serialise to at most 20 bytes\"}]");
}

TEST(format_checks)
{
    CHECK(valid_email("a.b+c@example.co.uk"));
    CHECK(!valid_email("a@b"));
    CHECK(!valid_email("@b.cn"));
    CHECK(!valid_email("a b@c.cn"));
    CHECK(!valid_email("a@@b.cn"));
    CHECK(valid_phone("+8613800138000"));
    CHECK(valid_phone("+1 415-555-0100"));
    CHECK(!valid_phone("+12345"));            /* 5 digits */
    CHECK(!valid_phone("+1234567890123456")); /* 16 digits */
    CHECK(!valid_phone("13800138000"));
    CHECK(!valid_phone("+1--2345678"));
    CHECK(valid_country("CN") && valid_country("KR") && !valid_country("cn") &&
          !valid_country("ZZ"));
    CHECK(valid_currency("CNY") && !valid_currency("ABC"));
    CHECK(valid_decimal("0", false) && valid_decimal("120.50", false) &&
          !valid_decimal("-1", false) && valid_decimal("-1", true) && !valid_decimal(".5", false) &&
          !valid_decimal("1.", false) && !valid_decimal("1e5", false));
}

static char *patched(const char *target, const char *patch)
{
    json_t *t = json_loads(target, 0, NULL), *p = json_loads(patch, 0, NULL);
    json_t *r = json_merge_patch(t, p);
    char *out = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(t);
    json_decref(p);
    json_decref(r);
    return out;
}

TEST(merge_patch_rfc7396_examples)
{
    static const char *const cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"e\":null}", "{\"a\":1}", "{\"a\":1,\"e\":null}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = patched(cases[i][0], cases[i][1]);
        CHECK_STR(got, cases[i][2]);
        free(got);
    }
}

TEST(yaml_to_json_types)
{
    const char *y = "a: 1\nb: -2.5\nc: true\nd: null\ne: '1'\nf: [x, 2]\ng:\n  h: ~\n"
                    "i: \"quoted\"\nj: 1.0.0\n";
    char err[128] = "";
    json_t *j = yaml_to_json(y, strlen(y), err, sizeof(err));
    CHECK(j != NULL);
    char *out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(out, "{\"a\":1,\"b\":-2.5,\"c\":true,\"d\":null,\"e\":\"1\",\"f\":[\"x\",2],"
                   "\"g\":{\"h\":null},\"i\":\"quoted\",\"j\":\"1.0.0\"}");
    free(out);
    json_decref(j);
}

TEST(yaml_to_json_errors)
{
    char err[128] = "";
    CHECK(yaml_to_json("a: [1, 2", 8, err, sizeof(err)) == NULL);
    CHECK(err[0] != '\0');
    err[0] = '\0';
    const char *alias = "a: &x 1\nb: *x\n";
    CHECK(yaml_to_json(alias, strlen(alias), err, sizeof(err)) == NULL);
}

TEST(json_text_writes_the_shortest_real_that_reads_back)
{
    static const double values[] = {
        0.1,    1.5e-7, 5e-324, 1e308,  -1e308, 2.5, 1.0 / 3.0,
        123.45, -0.0,   1e18,   9.2e18, 1e-300, 0.3, 6.02214076e23 / 1e6};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        json_t *j = json_pack("{s:f}", "x", values[i]);
        char *text = json_text(j);
        json_t *back = json_loads(text, JSON_DECODE_ANY, NULL);
        CHECK(back != NULL);
        json_t *x = json_object_get(back, "x");
        CHECK(x && json_number_value(x) == values[i]);
        CHECK(strlen(text) < 40);
        free(text);
        json_decref(back);
        json_decref(j);
    }
    json_t *j =
        json_loads("{\"a\":0.1,\"b\":1.5e-7,\"c\":9007199254740993,\"d\":\"\\u00e9\\\"\\n\","
                   "\"e\":[true,false,null,{}],\"f\":\"\\ud83d\\ude00\"}",
                   0, NULL);
    char *text = json_text(j);
    CHECK_STR(text, "{\"a\":0.1,\"b\":1.5e-07,\"c\":9007199254740993,\"d\":\"\xc3\xa9\\\"\\u000a\","
                    "\"e\":[true,false,null,{}],\"f\":\"\xf0\x9f\x98\x80\"}");
    free(text);
    json_decref(j);
}

TEST(numbers_beyond_64_bits_are_not_storable)
{
    json_t *errors = json_array();
    json_t *ok =
        json_loads("{\"a\":9.2e18,\"b\":[-9.2e18,1e-300],\"c\":9223372036854775807}", 0, NULL);
    CHECK(json_numbers_storable(ok, "attributes", errors));
    CHECK_INT((long)json_array_size(errors), 0);
    json_t *big = json_loads("{\"a\":1,\"b\":{\"list\":[0,1e19]},\"x\":-1e308}", 0, NULL);
    CHECK(!json_numbers_storable(big, "attributes", errors));
    CHECK_INT((long)json_array_size(errors), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
              "attributes.b.list[1]");
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 1), "field")),
              "attributes.x");
    json_decref(ok);
    json_decref(big);
    json_decref(errors);
}

TEST(stored_integers_beyond_64_bits_are_read_as_reals)
{
    json_t *j = json_load_stored("{\"x\": 10000000000000000000, \"y\": 5, \"z\": [2.5, 7]}");
    CHECK(j != NULL);
    CHECK(json_is_real(json_object_get(j, "x")) &&
          json_real_value(json_object_get(j, "x")) == 1e19);
    CHECK(json_is_integer(json_object_get(j, "y")));
    CHECK(json_is_integer(json_array_get(json_object_get(j, "z"), 1)));
    CHECK(json_is_real(json_array_get(json_object_get(j, "z"), 0)));
    json_decref(j);
}

int main(int argc, char **argv)
{
    return check_main(argc, argv);
}

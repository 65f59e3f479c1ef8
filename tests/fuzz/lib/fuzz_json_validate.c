/* libFuzzer harness: a request body as csrd reads it (json_loadb with JSON_REJECT_DUPLICATES,
 * like req_json_object in resources/plumbing.c) validated against a customer-shaped field
 * table in both modes, and, as a merge patch would, stripped of read-only members and merged
 * into a valid record before VALIDATE_MERGED. The table is a copy of CUSTOMER_FIELDS from
 * resources/customers.c (those files hold database statements and are not linked here):
 * strings, enums, email, phone, country, dates, times of day, money, nested objects, arrays of
 * strings and objects, free-form objects; plus the types customers do not use (int, number,
 * timestamp, uuid, enum array) so that every check in json/validate.c is reached. */
#include "json/merge_patch.h"
#include "json/validate.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const KINDS[] = {"person", "organization", NULL};
static const char *const TIERS[] = {"vip", "key", "regular", "minor", NULL};
static const char *const STATUSES[] = {"prospect", "active", "inactive", "lost", NULL};
static const char *const CHANNELS[] = {"phone", "email",  "sms",    "chat", "web",
                                       "visit", "letter", "social", NULL};
static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily", NULL};

static const struct field_spec ADDRESS[] = {{.name = "line1", .type = F_STRING, .max = 200},
                                            {.name = "city", .type = F_STRING, .max = 100},
                                            {.name = "postal_code", .type = F_STRING, .max = 20},
                                            {.name = "country", .type = F_COUNTRY},
                                            {0}};

static const struct field_spec CONTACT[] = {
    {.name = "name", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 200},
    {.name = "phone", .type = F_PHONE},
    {.name = "email", .type = F_EMAIL},
    {0}};

static const struct field_spec UNAVAILABLE_TIME[] = {
    {.name = "day", .type = F_ENUM, .flags = FIELD_REQUIRED, .enum_values = DAYS},
    {.name = "from", .type = F_HHMM, .flags = FIELD_REQUIRED},
    {.name = "to", .type = F_HHMM, .flags = FIELD_REQUIRED},
    {.name = "note", .type = F_STRING, .max = 200},
    {0}};

static const struct field_spec FIELDS[] = {
    {.name = "id", .flags = FIELD_READONLY},
    {.name = "kind",
     .type = F_ENUM,
     .flags = FIELD_REQUIRED | FIELD_IMMUTABLE,
     .enum_values = KINDS},
    {.name = "name", .type = F_STRING, .flags = FIELD_REQUIRED, .min = 1, .max = 200},
    {.name = "email", .type = F_EMAIL},
    {.name = "phone", .type = F_PHONE},
    {.name = "address", .type = F_OBJECT, .sub = ADDRESS},
    {.name = "tier", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = TIERS},
    {.name = "status", .type = F_ENUM, .flags = FIELD_NOT_NULL, .enum_values = STATUSES},
    {.name = "channels", .type = F_ENUM_ARRAY, .max = 8, .enum_values = CHANNELS},
    {.name = "do_not_contact", .type = F_BOOL, .flags = FIELD_NOT_NULL},
    {.name = "unavailable_times", .type = F_OBJECT_ARRAY, .max = 50, .sub = UNAVAILABLE_TIME},
    {.name = "credit_limit", .type = F_MONEY},
    {.name = "contacts", .type = F_OBJECT_ARRAY, .max = 50, .sub = CONTACT},
    {.name = "birth_date", .type = F_DATE},
    {.name = "tags", .type = F_STRING_ARRAY, .max = 50, .item_max = 64},
    {.name = "notes", .type = F_STRING, .max = 10000},
    {.name = "attributes", .type = F_FREE_OBJECT, .max = 16384},
    {.name = "rating", .type = F_INT, .min = 1, .max = 5},
    {.name = "score", .type = F_NUMBER, .min = -100, .max = 100},
    {.name = "due_at", .type = F_TIMESTAMP},
    {.name = "customer_id", .type = F_UUID},
    {.name = "version", .flags = FIELD_READONLY},
    {.name = "created_at", .flags = FIELD_READONLY},
    {0}};

/* A stored record that passes VALIDATE_MERGED, as PostgreSQL would send it back. */
static const char STORED[] =
    "{\"id\":\"0190a0a0-0000-7000-8000-000000000001\",\"kind\":\"person\",\"name\":\"Ann\","
    "\"tier\":\"regular\",\"status\":\"active\",\"do_not_contact\":false,"
    "\"address\":{\"city\":\"Lyon\",\"country\":\"FR\"},\"tags\":[\"a\"],"
    "\"version\":3,\"created_at\":\"2026-01-02T03:04:05.678Z\"}";

/* Does doc hold a member the table refuses (unknown or read-only)? Then validation must fail:
 * an error that gets lost on the way would let the member through to the database. */
static bool has_refused_member(const json_t *doc)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        const struct field_spec *f = FIELDS;
        while (f->name && strcmp(f->name, key))
            f++;
        if (!f->name || (f->flags & FIELD_READONLY))
            return true;
    }
    return false;
}

static void validate_all_modes(const json_t *doc)
{
    for (int mode = VALIDATE_CREATE; mode <= VALIDATE_MERGED; mode++) {
        json_t *errors = json_array();
        bool ok = json_validate(doc, FIELDS, (enum validate_mode)mode, errors);
        /* the contract: true exactly when no error was added */
        if (ok != (json_array_size(errors) == 0))
            abort();
        if (ok && json_is_object(doc) && has_refused_member(doc))
            abort();
        json_decref(errors);
    }
}

/* The PATCH path of plumbing.c's merge_checked, without the database. */
static void validate_as_patch(const json_t *patch)
{
    json_t *current = json_loads(STORED, 0, NULL);
    if (!current)
        abort();
    json_strip_readonly(current, FIELDS);
    json_t *merged = json_merge_patch(current, patch);
    json_t *errors = json_array();
    json_validate(merged, FIELDS, VALIDATE_MERGED, errors);
    json_decref(errors);
    json_decref(merged);
    json_decref(current);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (!body)
        return 0;
    /* csrd refuses non-objects before validating; the validator must cope regardless */
    validate_all_modes(body);
    if (json_is_object(body))
        validate_as_patch(body);
    json_decref(body);
    return 0;
}

/* Declarative validation of JSON request bodies. A resource describes its writable fields in
 * a table of struct field_spec; json_validate() walks a body against it and collects every
 * problem as {"field", "message"} so that one 422 names them all. Unknown fields are errors. */
#ifndef CSRD_VALIDATE_H
#define CSRD_VALIDATE_H
#include <jansson.h>
#include <stdbool.h>

enum field_type {
    F_STRING, /* min..max characters (code points) */
    F_ENUM,   /* one of enum_values */
    F_BOOL,
    F_INT,       /* min..max */
    F_NUMBER,    /* integer or real within min..max */
    F_DATE,      /* YYYY-MM-DD */
    F_TIMESTAMP, /* RFC 3339 */
    F_HHMM,      /* 00:00..24:00 */
    F_EMAIL,
    F_PHONE,   /* + and 6-15 digits, spaces and dashes allowed */
    F_COUNTRY, /* ISO 3166-1 alpha-2 */
    F_MONEY,   /* {"amount": "decimal string", "currency": ISO 4217} */
    F_UUID,
    F_OBJECT,       /* nested table in sub */
    F_FREE_OBJECT,  /* any JSON object, at most max bytes serialised */
    F_STRING_ARRAY, /* at most max items, each 1..item_max characters, no duplicates */
    F_ENUM_ARRAY,   /* at most max items from enum_values */
    F_OBJECT_ARRAY, /* at most max items, each validated against sub */
};

#define FIELD_REQUIRED  1u /* must be present and not null */
#define FIELD_NOT_NULL  2u /* may be absent (server default) but never null */
#define FIELD_READONLY  4u /* server-managed: present in output, refused in input */
#define FIELD_IMMUTABLE 8u /* set on create, never changed by a patch */

struct field_spec {
    const char *name;
    enum field_type type;
    unsigned flags;
    long min, max;
    long item_max;
    const char *const *enum_values; /* NULL-terminated */
    const struct field_spec *sub;   /* terminated by an entry with name == NULL */
};

enum validate_mode {
    VALIDATE_CREATE, /* a POST body */
    VALIDATE_MERGED, /* a stored record after a merge patch: absence of a NOT_NULL field
                        means the patch set it to null */
};

/* Validates obj against spec. Appends {"field","message"} objects to errors (borrowed,
 * must be an array). Returns true when nothing was appended by this call. */
bool json_validate(const json_t *obj, const struct field_spec *spec, enum validate_mode mode,
                   json_t *errors);
/* Removes the READONLY members of spec from obj (used before merging a patch into a stored
 * record). */
void json_strip_readonly(json_t *obj, const struct field_spec *spec);
/* Appends a {"field","message"} error. */
void json_error_add(json_t *errors, const char *field, const char *message);

/* The individual format checks, exported for unit tests and other resources. */
bool valid_email(const char *s);
bool valid_phone(const char *s);
bool valid_country(const char *s);
bool valid_currency(const char *s);
bool valid_decimal(const char *s, bool allow_negative);
long utf8_length(const char *s);
#endif

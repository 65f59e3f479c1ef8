/* See json_text.h. */
#include "json/json_text.h"
#include "json/validate.h"
#include "util/strbuf.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest "%.*g" form (1..17 digits) that strtod reads back as v. */
static void write_real(struct strbuf *sb, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* "%g" may write an integral value without a point or exponent ("3"): still the same
     * JSON number, so it is left that way */
    strbuf_puts(sb, buf);
}

static void write_value(struct strbuf *sb, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        bool first = true;
        strbuf_puts(sb, "{");
        json_object_foreach((json_t *)j, k, v)
        {
            if (!first)
                strbuf_puts(sb, ",");
            first = false;
            strbuf_json_string(sb, k);
            strbuf_puts(sb, ":");
            write_value(sb, v);
        }
        strbuf_puts(sb, "}");
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        strbuf_puts(sb, "[");
        json_array_foreach(j, i, v)
        {
            if (i)
                strbuf_puts(sb, ",");
            write_value(sb, v);
        }
        strbuf_puts(sb, "]");
        break;
    }
    case JSON_STRING:
        strbuf_json_string(sb, json_string_value(j));
        break;
    case JSON_INTEGER:
        strbuf_printf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        break;
    case JSON_REAL:
        write_real(sb, json_real_value(j));
        break;
    case JSON_TRUE:
        strbuf_puts(sb, "true");
        break;
    case JSON_FALSE:
        strbuf_puts(sb, "false");
        break;
    case JSON_NULL:
        strbuf_puts(sb, "null");
        break;
    }
}

char *json_text(const json_t *j)
{
    struct strbuf sb;
    strbuf_init(&sb);
    write_value(&sb, j);
    return strbuf_take(&sb, NULL);
}

void json_text_append(struct strbuf *sb, const json_t *j)
{
    write_value(sb, j);
}

/* Whether a member needs a look of its own (a container, or a real out of range): the
 * path of a member is only formatted then (bulk imports check millions of members). */
static bool worth_a_look(const json_t *v)
{
    return json_is_object(v) || json_is_array(v) ||
           (json_is_real(v) && !(fabs(json_real_value(v)) < 0x1p63));
}

/* Appends "." key to path (len bytes used, cap in all), cut so that it fits and ends on a
 * character boundary: an error whose path is not valid UTF-8 would be lost (json_pack
 * refuses it). Returns the new length. */
static size_t append_key(char *path, size_t len, size_t cap, const char *key)
{
    if (len + 2 > cap - 1) /* no room for "." and one byte */
        return len;
    size_t n = strlen(key), room = cap - 1 - len - 1;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80)
            n--;
    }
    path[len] = '.';
    memcpy(path + len + 1, key, n);
    path[len + 1 + n] = '\0';
    return len + 1 + n;
}

/* One level of json_numbers_storable. path holds the member's path in a buffer shared by
 * all levels (len of it used): a document may nest 2048 deep, and a path buffer per level
 * would take more stack than a request's coroutine has. */
static bool numbers_storable(const json_t *j, char *path, size_t len, size_t cap, json_t *errors)
{
    const char *k;
    json_t *v;
    size_t i;
    bool ok = true;
    switch (json_typeof(j)) {
    case JSON_REAL:
        if (fabs(json_real_value(j)) < 0x1p63)
            return true;
        json_error_add(errors, path,
                       "is a number beyond what can be stored: numbers must lie within the signed"
                       " 64-bit range (about -9.2e18 to 9.2e18)");
        return false;
    case JSON_OBJECT:
        json_object_foreach((json_t *)j, k, v)
        {
            if (!worth_a_look(v))
                continue;
            size_t sub = append_key(path, len, cap, k);
            ok = numbers_storable(v, path, sub, cap, errors) && ok;
            path[len] = '\0';
        }
        return ok;
    case JSON_ARRAY:
        json_array_foreach(j, i, v)
        {
            if (!worth_a_look(v))
                continue;
            int n = snprintf(path + len, cap - len, "[%zu]", i); /* ASCII: cut anywhere */
            size_t sub = n < 0 ? len : len + (size_t)n < cap ? len + (size_t)n : cap - 1;
            ok = numbers_storable(v, path, sub, cap, errors) && ok;
            path[len] = '\0';
        }
        return ok;
    default:
        return true;
    }
}

bool json_numbers_storable(const json_t *j, const char *base, json_t *errors)
{
    char path[256];
    size_t len = strnlen(base, sizeof(path) - 1); /* base: a field path csrd made */
    while (len > 0 && ((unsigned char)base[len] & 0xc0) == 0x80)
        len--;
    memcpy(path, base, len);
    path[len] = '\0';
    return numbers_storable(j, path, len, sizeof(path), errors);
}

/* A real that holds an integer jansson can carry, as that integer (new reference), else
 * NULL. */
static json_t *as_integer(const json_t *v)
{
    double d = json_real_value(v);
    if (!json_is_real(v) || fabs(d) >= 0x1p63 || d != floor(d))
        return NULL;
    return json_integer((json_int_t)d);
}

/* Reals that hold an integer jansson can carry become integers again. */
static void integralize(json_t *j)
{
    const char *k;
    json_t *v, *n;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, k, v)
        {
            if ((n = as_integer(v)))
                json_object_set_new(j, k, n);
            else
                integralize(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if ((n = as_integer(v)))
                json_array_set_new(j, i, n);
            else
                integralize(v);
        }
    }
}

json_t *json_load_stored(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    if (j)
        return j;
    /* an integer beyond 64 bits: stored before numbers were checked at the door */
    j = json_loads(text, JSON_DECODE_INT_AS_REAL, NULL);
    if (j)
        integralize(j);
    return j;
}

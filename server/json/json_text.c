/* See json_text.h. */
#include "json/json_text.h"
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

bool json_numbers_storable(const json_t *j, const char *base, char *path, size_t path_len)
{
    const char *k;
    json_t *v;
    size_t i;
    char sub[256];
    switch (json_typeof(j)) {
    case JSON_REAL:
        if (fabs(json_real_value(j)) < 0x1p63)
            return true;
        snprintf(path, path_len, "%s", base);
        return false;
    case JSON_OBJECT:
        json_object_foreach((json_t *)j, k, v)
        {
            snprintf(sub, sizeof(sub), "%s.%s", base, k);
            if (!json_numbers_storable(v, sub, path, path_len))
                return false;
        }
        return true;
    case JSON_ARRAY:
        json_array_foreach(j, i, v)
        {
            snprintf(sub, sizeof(sub), "%s[%zu]", base, i);
            if (!json_numbers_storable(v, sub, path, path_len))
                return false;
        }
        return true;
    default:
        return true;
    }
}

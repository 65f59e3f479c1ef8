/* The walker behind every 422. Messages are short, lower-case sentences meant for people;
 * the field path (address.country, contacts[1].email) is what programs key on. */
#include "json/validate.h"
#include "json/json_text.h"
#include "util/text.h"
#include "util/timefmt.h"
#include "util/uuid7.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ISO3166[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

static const char ISO4217[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "
    "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP "
    "MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR "
    "RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT "
    "TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW "
    "ZWL";

static bool code_in_list(const char *s, size_t n, const char *list)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    for (const char *p = list; *p; p += n + 1) {
        if (!strncmp(p, s, n))
            return true;
        if (!p[n])
            break;
    }
    return false;
}

bool valid_country(const char *s)
{
    return code_in_list(s, 2, ISO3166);
}

bool valid_currency(const char *s)
{
    return code_in_list(s, 3, ISO4217);
}

bool valid_email(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n > 254 || !at || at == s || strchr(at + 1, '@') || at - s > 64)
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == ';')
            return false;
    const char *dom = at + 1, *dot = strrchr(dom, '.');
    if (!dot || dot == dom || !dot[1] || dom[0] == '.' || strstr(dom, ".."))
        return false;
    return true;
}

bool valid_phone(const char *s)
{
    if (s[0] != '+')
        return false;
    int digits = 0;
    char prev = '+';
    for (const char *p = s + 1; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digits++;
        } else if (*p == ' ' || *p == '-') {
            if (prev == ' ' || prev == '-' || prev == '+')
                return false;
        } else {
            return false;
        }
        prev = *p;
    }
    return digits >= 6 && digits <= 15 && prev >= '0' && prev <= '9';
}

bool valid_decimal(const char *s, bool allow_negative)
{
    const char *p = s;
    if (*p == '-') {
        if (!allow_negative)
            return false;
        p++;
    }
    int intd = 0, fracd = 0;
    while (*p >= '0' && *p <= '9')
        p++, intd++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, fracd++;
        if (fracd == 0)
            return false;
    }
    return *p == '\0' && intd >= 1 && intd <= 16 && fracd <= 4;
}

long utf8_length(const char *s)
{
    long n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

void json_error_add(json_t *errors, const char *field, const char *message)
{
    json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "message", message));
}

static bool enum_has(const char *const *values, const char *s)
{
    for (; *values; values++)
        if (!strcmp(*values, s))
            return true;
    return false;
}

static void enum_message(char *buf, size_t n, const char *const *values)
{
    size_t off = (size_t)snprintf(buf, n, "must be one of: ");
    for (const char *const *v = values; *v && off < n; v++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", v == values ? "" : ", ", *v);
}

static void validate_value(const json_t *v, const struct field_spec *f, const char *path,
                           enum validate_mode mode, json_t *errors);

/* Shortens a cut at len bytes of s (len <= strlen(s)) so that it does not split a UTF-8
 * sequence: json_pack refuses invalid UTF-8, and the error carrying the path would be lost. */
static size_t utf8_cut(const char *s, size_t len)
{
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
        len--;
    return len;
}

/* prefix.key (key alone at the top), at most 200 bytes of key, cut to fit n on character
 * boundaries. A bulk import joins millions of these: no printf. */
static void join_path(char *out, size_t n, const char *prefix, const char *key)
{
    size_t lp = strlen(prefix), lk = strnlen(key, 200);
    if (lp > n - 2)
        lp = utf8_cut(prefix, n - 2);
    memcpy(out, prefix, lp);
    if (lp)
        out[lp++] = '.';
    if (lk > n - 1 - lp)
        lk = n - 1 - lp;
    lk = utf8_cut(key, lk);
    memcpy(out + lp, key, lk);
    out[lp + lk] = '\0';
}

static bool validate_object(const json_t *obj, const struct field_spec *spec, const char *prefix,
                            enum validate_mode mode, json_t *errors)
{
    size_t before = json_array_size(errors);
    char path[256];
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct field_spec *f = spec;
        while (f->name && strcmp(f->name, key))
            f++;
        if (f->name && !(f->flags & FIELD_READONLY))
            continue;
        join_path(path, sizeof(path), prefix, key);
        json_error_add(errors, path, f->name ? "is read-only" : "is not a known field");
    }
    for (const struct field_spec *f = spec; f->name; f++) {
        if (f->flags & FIELD_READONLY)
            continue;
        v = json_object_get(obj, f->name);
        const char *msg = NULL;
        if (!v || json_is_null(v)) {
            if (f->flags & FIELD_REQUIRED)
                msg = "is required";
            else if ((f->flags & FIELD_NOT_NULL) && (v || mode == VALIDATE_MERGED))
                msg = "must not be null";
            if (msg) {
                join_path(path, sizeof(path), prefix, f->name);
                json_error_add(errors, path, msg);
            }
            continue;
        }
        join_path(path, sizeof(path), prefix, f->name);
        validate_value(v, f, path, mode, errors);
    }
    return json_array_size(errors) == before;
}

static void validate_string_like(const char *s, const struct field_spec *f, const char *path,
                                 json_t *errors)
{
    char msg[512];
    long len = utf8_length(s);
    switch (f->type) {
    case F_STRING:
        if (len < (f->min ? f->min : 0) || (f->max && len > f->max)) {
            snprintf(msg, sizeof(msg), "must be %ld to %ld characters long", f->min, f->max);
            json_error_add(errors, path, msg);
        }
        break;
    case F_ENUM:
        if (!enum_has(f->enum_values, s)) {
            enum_message(msg, sizeof(msg), f->enum_values);
            json_error_add(errors, path, msg);
        }
        break;
    case F_DATE:
        if (!time_date_valid(s))
            json_error_add(errors, path, "must be a date (YYYY-MM-DD)");
        break;
    case F_TIMESTAMP:
        if (!time_rfc3339_valid(s))
            json_error_add(errors, path, "must be an RFC 3339 timestamp");
        break;
    case F_HHMM:
        if (!time_hhmm_valid(s))
            json_error_add(errors, path, "must be a time of day (HH:MM)");
        break;
    case F_EMAIL:
        if (!valid_email(s))
            json_error_add(errors, path, "must be an email address");
        break;
    case F_PHONE:
        if (!valid_phone(s))
            json_error_add(errors, path,
                           "must be + and 6 to 15 digits (spaces and dashes allowed)");
        break;
    case F_COUNTRY:
        if (!valid_country(s))
            json_error_add(errors, path, "must be an ISO 3166-1 alpha-2 country code");
        break;
    case F_UUID:
        if (!uuid_is_valid(s))
            json_error_add(errors, path, "must be a UUID");
        break;
    default:
        break;
    }
}

static void validate_value(const json_t *v, const struct field_spec *f, const char *path,
                           enum validate_mode mode, json_t *errors)
{
    char msg[300], sub[300];
    switch (f->type) {
    case F_STRING:
    case F_ENUM:
    case F_DATE:
    case F_TIMESTAMP:
    case F_HHMM:
    case F_EMAIL:
    case F_PHONE:
    case F_COUNTRY:
    case F_UUID:
        if (!json_is_string(v))
            json_error_add(errors, path, "must be a string");
        else
            validate_string_like(json_string_value(v), f, path, errors);
        break;
    case F_BOOL:
        if (!json_is_boolean(v))
            json_error_add(errors, path, "must be true or false");
        break;
    case F_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min ||
            json_integer_value(v) > f->max) {
            snprintf(msg, sizeof(msg), "must be an integer from %ld to %ld", f->min, f->max);
            json_error_add(errors, path, msg);
        }
        break;
    case F_NUMBER:
        if (!json_is_number(v) || json_number_value(v) < (double)f->min ||
            json_number_value(v) > (double)f->max) {
            snprintf(msg, sizeof(msg), "must be a number from %ld to %ld", f->min, f->max);
            json_error_add(errors, path, msg);
        }
        break;
    case F_MONEY: {
        if (!json_is_object(v)) {
            json_error_add(errors, path, "must be an object {amount, currency}");
            break;
        }
        static const struct field_spec money[] = {
            {.name = "amount", .type = F_STRING, .flags = FIELD_REQUIRED, .max = 40},
            {.name = "currency", .type = F_STRING, .flags = FIELD_REQUIRED, .max = 3},
            {0}};
        if (!validate_object(v, money, path, mode, errors))
            break;
        const char *amount = json_string_value(json_object_get(v, "amount"));
        const char *cur = json_string_value(json_object_get(v, "currency"));
        snprintf(sub, sizeof(sub), "%s.amount", path);
        if (!valid_decimal(amount, f->min < 0))
            json_error_add(errors, sub,
                           f->min < 0 ? "must be a decimal string such as \"120.50\""
                                      : "must be a non-negative decimal string such as "
                                        "\"120.50\"");
        snprintf(sub, sizeof(sub), "%s.currency", path);
        if (!valid_currency(cur))
            json_error_add(errors, sub, "must be an ISO 4217 currency code");
        break;
    }
    case F_OBJECT:
        if (!json_is_object(v))
            json_error_add(errors, path, "must be an object");
        else
            validate_object(v, f->sub, path, VALIDATE_CREATE, errors);
        break;
    case F_FREE_OBJECT:
        if (!json_is_object(v)) {
            json_error_add(errors, path, "must be an object");
        } else {
            char *dump = json_text(v);
            if ((long)strlen(dump) > f->max) {
                snprintf(msg, sizeof(msg), "must serialise to at most %ld bytes", f->max);
                json_error_add(errors, path, msg);
            }
            free(dump);
            json_numbers_storable(v, path, errors);
        }
        break;
    case F_STRING_ARRAY:
    case F_ENUM_ARRAY:
    case F_OBJECT_ARRAY: {
        if (!json_is_array(v) || (long)json_array_size(v) > f->max) {
            snprintf(msg, sizeof(msg), "must be an array of at most %ld items", f->max);
            json_error_add(errors, path, msg);
            break;
        }
        size_t i;
        json_t *item;
        json_array_foreach((json_t *)v, i, item)
        {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (f->type == F_OBJECT_ARRAY) {
                if (!json_is_object(item))
                    json_error_add(errors, sub, "must be an object");
                else
                    validate_object(item, f->sub, sub, VALIDATE_CREATE, errors);
                continue;
            }
            if (!json_is_string(item)) {
                json_error_add(errors, sub, "must be a string");
                continue;
            }
            const char *s = json_string_value(item);
            if (f->type == F_ENUM_ARRAY) {
                if (!enum_has(f->enum_values, s)) {
                    enum_message(msg, sizeof(msg), f->enum_values);
                    json_error_add(errors, sub, msg);
                }
            } else if (utf8_length(s) < 1 || utf8_length(s) > f->item_max) {
                snprintf(msg, sizeof(msg), "must be 1 to %ld characters long", f->item_max);
                json_error_add(errors, sub, msg);
            }
            for (size_t j = 0; j < i; j++)
                if (json_equal(json_array_get(v, j), item)) {
                    json_error_add(errors, sub, "is a duplicate");
                    break;
                }
        }
        break;
    }
    }
}

bool json_validate(const json_t *obj, const struct field_spec *spec, enum validate_mode mode,
                   json_t *errors)
{
    return validate_object(obj, spec, "", mode, errors);
}

void json_strip_readonly(json_t *obj, const struct field_spec *spec)
{
    for (const struct field_spec *f = spec; f->name; f++)
        if (f->flags & FIELD_READONLY)
            json_object_del(obj, f->name);
}

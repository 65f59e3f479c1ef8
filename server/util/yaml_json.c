/* Recursive descent over libyaml's event stream. */
#include "util/yaml_json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static json_t *yaml_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(v, n);
    if (n == 0 || !strcmp(v, "null") || !strcmp(v, "~"))
        return json_null();
    if (!strcmp(v, "true"))
        return json_true();
    if (!strcmp(v, "false"))
        return json_false();
    char *end;
    long long i = strtoll(v, &end, 10);
    if (*end == '\0' && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')))
        return json_integer(i);
    double d = strtod(v, &end);
    if (*end == '\0' && (v[0] == '-' || v[0] == '.' || (v[0] >= '0' && v[0] <= '9')))
        return json_real(d);
    return json_stringn(v, n);
}

/* Parses the node whose first event is *ev (already taken). */
static json_t *yaml_node(yaml_parser_t *p, yaml_event_t *ev, char *err, size_t errlen)
{
    json_t *out = NULL;
    yaml_event_t e;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return yaml_scalar(ev);
    case YAML_SEQUENCE_START_EVENT:
        out = json_array();
        for (;;) {
            if (!yaml_parser_parse(p, &e))
                goto parse_error;
            if (e.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&e);
                return out;
            }
            json_t *item = yaml_node(p, &e, err, errlen);
            yaml_event_delete(&e);
            if (!item)
                goto fail;
            json_array_append_new(out, item);
        }
    case YAML_MAPPING_START_EVENT:
        out = json_object();
        for (;;) {
            if (!yaml_parser_parse(p, &e))
                goto parse_error;
            if (e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                return out;
            }
            if (e.type != YAML_SCALAR_EVENT) {
                yaml_event_delete(&e);
                snprintf(err, errlen, "mapping key is not a scalar");
                goto fail;
            }
            char *key = strndup((const char *)e.data.scalar.value, e.data.scalar.length);
            yaml_event_delete(&e);
            if (!yaml_parser_parse(p, &e)) {
                free(key);
                goto parse_error;
            }
            json_t *val = yaml_node(p, &e, err, errlen);
            yaml_event_delete(&e);
            if (!val) {
                free(key);
                goto fail;
            }
            json_object_set_new(out, key, val);
            free(key);
        }
    case YAML_ALIAS_EVENT:
        snprintf(err, errlen, "aliases are not supported");
        return NULL;
    default:
        snprintf(err, errlen, "unexpected YAML event %d", ev->type);
        return NULL;
    }
parse_error:
    snprintf(err, errlen, "line %zu: %s", p->problem_mark.line + 1,
             p->problem ? p->problem : "parse error");
fail:
    json_decref(out);
    return NULL;
}

json_t *yaml_to_json(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_event_t ev;
    json_t *doc = NULL;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "cannot initialise the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errlen, "line %zu: %s", p.problem_mark.line + 1,
                     p.problem ? p.problem : "parse error");
            json_decref(doc);
            doc = NULL;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (!doc && (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT ||
                     t == YAML_SCALAR_EVENT)) {
            doc = yaml_node(&p, &ev, err, errlen);
            yaml_event_delete(&ev);
            if (!doc)
                break;
            continue;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (!doc && err[0] == '\0')
        snprintf(err, errlen, "empty document");
    return doc;
}

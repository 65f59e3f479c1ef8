/* See render.h. */
#include "resources/render.h"
#include "log.h"
#include "util/pgtext.h"
#include <string.h>

int render_width(const struct col_spec *spec)
{
    int n = 0;
    for (const struct col_spec *c = spec; c->name; c++)
        n += c->kind == COL_MONEY ? 2 : 1;
    return n;
}

void render_row(struct strbuf *out, const struct db_rows *rows, int row, int col,
                const struct col_spec *spec)
{
    strbuf_puts(out, "{");
    for (const struct col_spec *c = spec; c->name; c++) {
        if (c != spec)
            strbuf_puts(out, ",");
        strbuf_json_string(out, c->name);
        strbuf_puts(out, ":");
        const char *v = db_get(rows, row, col++);
        if (c->kind == COL_MONEY) {
            const char *currency = db_get(rows, row, col++);
            if (!v) {
                strbuf_puts(out, "null");
                continue;
            }
            strbuf_puts(out, "{\"amount\":");
            strbuf_json_string(out, v);
            strbuf_puts(out, ",\"currency\":");
            if (currency)
                strbuf_json_string(out, currency);
            else
                strbuf_puts(out, "null");
            strbuf_puts(out, "}");
            continue;
        }
        if (!v) {
            strbuf_puts(out, "null");
            continue;
        }
        char ts[32];
        size_t mark = out->len;
        switch (c->kind) {
        case COL_RAW:
            strbuf_puts(out, v);
            break;
        case COL_BOOL:
            strbuf_puts(out, v[0] == 't' ? "true" : "false");
            break;
        case COL_TS:
            if (pgtext_timestamp(v, ts)) {
                strbuf_json_string(out, ts);
                break;
            }
            log_warn("render: %s: unexpected timestamp text %s", c->name, v);
            strbuf_json_string(out, v);
            break;
        case COL_TEXTS:
            if (pgtext_array_json(out, v))
                break;
            log_warn("render: %s: unexpected array text", c->name);
            out->len = mark;
            out->buf[mark] = '\0';
            strbuf_puts(out, "[]");
            break;
        case COL_TEXT:
        case COL_MONEY:
            strbuf_json_string(out, v);
            break;
        }
    }
    strbuf_puts(out, "}");
}

void render_last(struct db_rows *rows, const struct col_spec *spec)
{
    int col = db_ncols(rows) - render_width(spec);
    if (col < 1)
        return;
    for (int i = 0; i < db_nrows(rows); i++) {
        struct strbuf sb;
        strbuf_init(&sb);
        render_row(&sb, rows, i, col, spec);
        db_set_first(rows, i, strbuf_take(&sb, NULL));
    }
}

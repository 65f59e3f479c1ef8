/* Records rendered to JSON in csrd from typed columns, instead of by PostgreSQL (a
 * json_build_object with to_char per timestamp cost the database a third of its throughput
 * on a lookup by id). A statement selects its usual columns with a placeholder in column 0
 * and the record's columns last; its finish hook (struct db_stmt) renders each row into
 * column 0, so every consumer reads db_get(rows, i, 0) as before. */
#ifndef CSRD_RENDER_H
#define CSRD_RENDER_H
#include "db/db.h"
#include "util/strbuf.h"

enum col_kind {
    COL_TEXT,  /* JSON string (uuid, text, date) */
    COL_RAW,   /* as it is: integers, json/jsonb */
    COL_BOOL,  /* t/f */
    COL_TS,    /* timestamptz -> 2026-01-02T03:04:05.678Z */
    COL_TEXTS, /* text[] -> array of strings */
    COL_MONEY, /* two columns, amount (numeric) and currency -> {"amount": "1.50", ...} | null */
};

struct col_spec {
    const char *name; /* NULL ends the list */
    enum col_kind kind;
};

/* How many columns spec reads. */
int render_width(const struct col_spec *spec);
/* {"name": value, ...} from row's columns col.. */
void render_row(struct strbuf *out, const struct db_rows *rows, int row, int col,
                const struct col_spec *spec);
/* The finish hook's work: every row's last render_width(spec) columns into column 0. */
void render_last(struct db_rows *rows, const struct col_spec *spec);
#endif

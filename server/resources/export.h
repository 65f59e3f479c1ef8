/* Exports: every record a list's filters match, streamed as NDJSON (one record per line, the
 * default) or CSV (Accept: text/csv; RFC 4180 quoting, CRLF, a header row, nested values as
 * JSON text, UTF-8, an optional byte-order mark with ?bom=true for spreadsheets). The records
 * are read in keyset pages of the list statement, oldest first, each page on a connection of
 * the stream pool taken for that page only: memory stays constant however many rows there
 * are, a slow reader holds neither a worker thread nor a connection between pages, and a
 * client that goes away frees everything at once. Pages are separate snapshots: a record
 * changed during the export appears once, in its state when its page was read. */
#ifndef CSRD_EXPORT_H
#define CSRD_EXPORT_H
#include "http/request.h"
#include "json/validate.h"
#include "util/strbuf.h"

/* page_stmt is a list statement ordered by (created_at, id) ascending whose last three
 * parameters are cursor key, cursor id and limit; params holds the nparams - 3 filters
 * (copied). columns names the CSV columns in order (the record's members; FIELD_READONLY
 * entries included). Replies 200 with the stream, 406 when Accept allows neither
 * format, or 503 when no stream connection is free within a few seconds. */
void export_reply(struct request *r, const char *page_stmt, int nparams, const char *const *params,
                  const struct field_spec *columns);

/* One RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
void export_csv_field(struct strbuf *out, const char *s);
/* Whether an Accept header lists type (parameters and q-values ignored). */
bool export_accepts(const char *accept, const char *type);
#endif

/* /v1/reports: overview, complaint trend and per-agent figures over a time window. */
#ifndef CSRD_REPORTS_H
#define CSRD_REPORTS_H
#include "db/db.h"
#include "http/router.h"

extern const struct route reports_routes[];
extern const struct db_stmt reports_statements[];
#endif

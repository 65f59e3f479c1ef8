/* /v1/customers/{id}/timeline: everything about one customer, newest first. */
#ifndef CSRD_TIMELINE_H
#define CSRD_TIMELINE_H
#include "db/db.h"
#include "http/router.h"

extern const struct route timeline_routes[];
extern const struct db_stmt timeline_statements[];
#endif

/* GET /v1/changes: the change feed other systems poll (see schema/005_change_feed.sql). */
#ifndef CSRD_CHANGES_H
#define CSRD_CHANGES_H
#include "db/db.h"
#include "http/router.h"

extern const struct route changes_routes[];
extern const struct db_stmt changes_statements[];
#endif

/* /v1/interactions and /v1/customers/{id}/interactions: every contact with a customer. */
#ifndef CSRD_INTERACTIONS_H
#define CSRD_INTERACTIONS_H
#include "db/db.h"
#include "http/router.h"

extern const struct route interactions_routes[];
extern const struct db_stmt interactions_statements[];
#endif

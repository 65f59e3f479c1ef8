/* /v1/follow-ups (completion, cancellation) and /v1/customers/{id}/follow-ups. */
#ifndef CSRD_FOLLOW_UPS_H
#define CSRD_FOLLOW_UPS_H
#include "db/db.h"
#include "http/router.h"

extern const struct route follow_ups_routes[];
extern const struct db_stmt follow_ups_statements[];
#endif

/* /v1/customers: the customer file (create, read, merge-patch, archive, list, search). */
#ifndef CSRD_CUSTOMERS_H
#define CSRD_CUSTOMERS_H
#include "db/db.h"
#include "http/router.h"

extern const struct route customers_routes[];
extern const struct db_stmt customers_statements[];
extern const char *const CHANNELS[]; /* interaction channels, shared with later resources */

/* The owner of the /v1/customers/{id}/... sub-lists. */
#define CUSTOMER_PARENT(id) (&(const struct list_parent){"customers_exists", (id), "customer"})
#endif

/* /v1/customers: the customer file (create, read, merge-patch, archive, list, search). */
#ifndef CSRD_CUSTOMERS_H
#define CSRD_CUSTOMERS_H
#include "db/db.h"
#include "http/router.h"

extern const struct route customers_routes[];
extern const struct db_stmt customers_statements[];
extern const char *const CHANNELS[]; /* interaction channels, shared with later resources */

/* For /v1/customers/{id}/...: path parameter 0 names an existing customer (archived ones
 * included). Returns the id, or NULL with 404 queued. */
const char *customers_path_customer(struct request *r);
#endif

/* /v1/complaints (with transitions, escalations, events), /v1/sla-policies, and
 * /v1/customers/{id}/complaints. */
#ifndef CSRD_COMPLAINTS_H
#define CSRD_COMPLAINTS_H
#include "db/db.h"
#include "http/router.h"

extern const struct route complaints_routes[];
extern const struct db_stmt complaints_statements[];

/* Writes a complaint event in the current transaction, with the caller as actor. changes
 * may be NULL (JSON text otherwise). false with a problem queued on failure. */
bool complaints_event(struct request *r, const char *complaint_id, const char *customer_id,
                      const char *type, const char *from, const char *to, const char *note,
                      const char *changes);
#endif

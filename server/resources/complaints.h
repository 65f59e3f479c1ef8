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

/* A complaint's workflow state, locked FOR UPDATE in the current transaction. Strings point
 * into the request's results. */
struct complaint_state {
    bool found;
    long version, escalation_level;
    const char *status, *customer_id, *assignee, *resolution;
};
/* Fills *st (found = false when there is no such complaint); false with a problem queued
 * when the statement fails. */
bool complaints_lock_state(struct request *r, const char *id, struct complaint_state *st);
/* Moves a locked complaint to `to` (the caller has checked the workflow), keeping the
 * resolution when NULL. RETURNING json, version; NULL with a problem queued on failure. */
struct db_rows *complaints_move(struct request *r, const char *id, const char *to,
                                const char *resolution);
/* Records the latest follow-up's satisfaction on the complaint. */
bool complaints_rate(struct request *r, const char *id, long satisfaction);
#endif

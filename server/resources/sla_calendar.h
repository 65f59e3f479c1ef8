/* /v1/sla-calendar: the business hours that 'business_hours' SLA policies count in. */
#ifndef CSRD_SLA_CALENDAR_H
#define CSRD_SLA_CALENDAR_H
#include "db/db.h"
#include "http/router.h"

extern const struct route sla_calendar_routes[];
extern const struct db_stmt sla_calendar_statements[];
#endif

/* /v1/webhooks (admin): registrations and their delivery log. Delivery itself is the job in
 * jobs/webhook_delivery.c. */
#ifndef CSRD_WEBHOOKS_H
#define CSRD_WEBHOOKS_H
#include <stdbool.h>
#include <sys/socket.h>
#include "db/db.h"
#include "http/router.h"

extern const struct route webhooks_routes[];
extern const struct db_stmt webhooks_statements[];

/* Why a webhook URL is refused (http/https only; no loopback, private or link-local address
 * unless CSRD_WEBHOOK_ALLOW_PRIVATE), or NULL when it is acceptable. Hosts that do not
 * resolve now are accepted: delivery checks the address it actually connects to. */
const char *webhooks_url_problem(const char *url);
/* Whether csrd may connect to this address (the same rule, for delivery). */
bool webhooks_address_allowed(const struct sockaddr *sa);
#endif

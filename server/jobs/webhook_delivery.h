/* The webhook delivery job: one thread per csrd instance that feeds new change-feed entries
 * into deliveries, claims due ones with a lease, sends them with libcurl (multi interface,
 * in parallel across webhooks, in seq order within one) and records the outcome. Several
 * instances share the work safely: see schema/007_webhooks.sql. */
#ifndef CSRD_WEBHOOK_DELIVERY_H
#define CSRD_WEBHOOK_DELIVERY_H
#include "db/db.h"

extern const struct db_stmt webhook_delivery_statements[];

int webhook_delivery_start(void);
/* Stops the thread after the round in flight (at most the delivery timeout). */
void webhook_delivery_stop(void);
#endif

/* /v1/api-keys: admin-only management of API keys. */
#ifndef CSRD_API_KEYS_H
#define CSRD_API_KEYS_H
#include "db/db.h"
#include "http/router.h"

extern const struct route api_keys_routes[];
extern const struct db_stmt api_keys_statements[];
#endif

/* Operational endpoints: /healthz, /readyz, /metrics, /v1/openapi.json. */
#ifndef CSRD_SYSTEM_H
#define CSRD_SYSTEM_H
#include "http/router.h"

extern const struct route system_routes[];
/* Converts the embedded OpenAPI YAML to JSON once, at start. 0 or -1 (logged). */
int system_init(void);
void system_shutdown(void);
#endif

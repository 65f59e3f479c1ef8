/* SHA-256 as lower-case hex, for API-key hashes and idempotency fingerprints. */
#ifndef CSRD_SHA256_H
#define CSRD_SHA256_H
#include <stddef.h>
#define SHA256_HEX_LEN 65
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);
#endif

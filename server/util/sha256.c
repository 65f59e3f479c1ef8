/* Thin wrapper over OpenSSL's one-shot SHA256(): a vetted implementation, not our own.
 * (EVP_Digest with EVP_sha256() costs an algorithm fetch per call in OpenSSL 3; it showed up
 * at 4 % of CPU in the GET benchmark, the one-shot function does not.) */
#include "util/sha256.h"
#include "util/text.h"
#include <openssl/sha.h>

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    text_hex(md, SHA256_DIGEST_LENGTH, out);
}

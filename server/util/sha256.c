/* Thin wrapper over OpenSSL's one-shot EVP digest: a vetted implementation, not our own. */
#include "util/sha256.h"
#include "util/text.h"
#include <openssl/evp.h>

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    text_hex(md, 32, out);
}

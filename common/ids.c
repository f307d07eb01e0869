/* SPDX-License-Identifier: Apache-2.0 */
/* UUID strings (libuuid): generation and strict validation. */
#include "ids.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <string.h>
#include <uuid/uuid.h>

/*
 * Random (version 4) UUIDs from OpenSSL's per-thread DRBG: no system call per id. libuuid's
 * uuid_generate_random makes six (getrandom, and getpid, getuid, gettid… to re-seed random()),
 * and the server makes an id for every request. libuuid remains the fallback.
 */
void mse_uuid_new(char out[MSE_UUID_STR_LEN + 1])
{
    uuid_t u;
    if (RAND_bytes(u, (int)sizeof(u)) == 1) {
        u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
        u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    } else {
        uuid_generate_random(u);
    }
    uuid_unparse_lower(u, out);
}

bool mse_uuid_valid(const char *s)
{
    if (strlen(s) != MSE_UUID_STR_LEN)
        return false;
    for (int i = 0; i < MSE_UUID_STR_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* UUID strings (libuuid): generation and strict validation. */
#include "ids.h"

#include <ctype.h>
#include <string.h>
#include <uuid/uuid.h>

void mse_uuid_new(char out[MSE_UUID_STR_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
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

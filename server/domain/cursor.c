/* SPDX-License-Identifier: Apache-2.0 */
/* Opaque pagination cursors: which list they belong to and the last key a page showed. */
#include "cursor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"

void cursor_encode(char kind, int64_t key, char out[CURSOR_MAX])
{
    char plain[32];
    int n = snprintf(plain, sizeof(plain), "%c.%lld", kind, (long long)key);
    mse_crypto_b64url(plain, (size_t)n, out, CURSOR_MAX);
}

enum mse_rc cursor_decode(const char *text, char kind, int64_t *key)
{
    uint8_t *plain = NULL;
    size_t len = 0;
    enum mse_rc rc = mse_crypto_b64url_decode(text, CURSOR_MAX, &plain, &len);
    if (rc != MSE_OK)
        return rc == MSE_ERR_NOMEM ? rc : MSE_ERR_INVALID;
    char text_key[32];
    rc = MSE_ERR_INVALID;
    if (len > 2 && len < sizeof(text_key) && plain[0] == (uint8_t)kind && plain[1] == '.') {
        memcpy(text_key, plain + 2, len - 2);
        text_key[len - 2] = '\0';
        rc = mse_parse_int(text_key, 0, INT64_MAX, key);
    }
    free(plain);
    return rc;
}

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
    /* Back to standard base64 with padding, which the OpenSSL decoder wants. */
    char std[CURSOR_MAX + 4];
    size_t n = strlen(text);
    if (n == 0 || n >= CURSOR_MAX)
        return MSE_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return MSE_ERR_INVALID;
        std[i] = c;
    }
    while (n % 4)
        std[n++] = '=';
    std[n] = '\0';
    uint8_t *plain = NULL;
    size_t len = 0;
    enum mse_rc rc = mse_crypto_b64_decode(std, n, &plain, &len);
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

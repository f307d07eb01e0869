/* SPDX-License-Identifier: Apache-2.0 */
/* SyncState tokens: an authenticated, opaque encoding of a per-folder watermark. */
#include "syncstate.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

#define STATE_VERSION 1
#define STATE_BODY    30 /* version, scope, generation, epoch, mailbox, folder, watermark */
#define STATE_MAC     16 /* truncated HMAC-SHA256 */

static uint8_t state_key[32];

void syncstate_key_init(const uint8_t key[32])
{
    memcpy(state_key, key, sizeof(state_key));
}

/* Big-endian fields: the layout is part of the state format. */
static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* HMAC-SHA256 of the body under the process key, truncated to STATE_MAC bytes. */
static void state_mac(const uint8_t *body, uint8_t out[STATE_MAC])
{
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    HMAC(EVP_sha256(), state_key, sizeof(state_key), body, STATE_BODY, full, &n);
    memcpy(out, full, STATE_MAC);
}

void syncstate_format(const struct syncstate *s, char out[SYNCSTATE_MAX])
{
    uint8_t raw[STATE_BODY + STATE_MAC];
    raw[0] = STATE_VERSION;
    raw[1] = (uint8_t)s->scope;
    put_be(raw + 2, s->generation, 4);
    put_be(raw + 6, s->epoch, 4);
    put_be(raw + 10, s->mailbox, 4);
    put_be(raw + 14, s->folder, 8);
    put_be(raw + 22, s->watermark, 8);
    state_mac(raw, raw + STATE_BODY);
    EVP_EncodeBlock((unsigned char *)out, raw, (int)sizeof(raw));
}

enum mse_rc syncstate_parse(const char *text, struct syncstate *out)
{
    size_t len = strlen(text);
    uint8_t *raw = NULL;
    size_t n = 0;
    if (len == 0 || len >= SYNCSTATE_MAX || mse_crypto_b64_decode(text, len, &raw, &n) != MSE_OK)
        return MSE_ERR_INVALID;
    enum mse_rc rc = MSE_ERR_INVALID;
    uint8_t mac[STATE_MAC];
    if (n != STATE_BODY + STATE_MAC || raw[0] != STATE_VERSION)
        goto out;
    state_mac(raw, mac);
    if (!mse_crypto_equal(mac, raw + STATE_BODY, STATE_MAC))
        goto out;
    out->scope = (enum syncstate_scope)raw[1];
    out->generation = (uint32_t)get_be(raw + 2, 4);
    out->epoch = (uint32_t)get_be(raw + 6, 4);
    out->mailbox = (uint32_t)get_be(raw + 10, 4);
    out->folder = get_be(raw + 14, 8);
    out->watermark = get_be(raw + 22, 8);
    rc = MSE_OK;
out:
    free(raw);
    return rc;
}

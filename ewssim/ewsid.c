/* SPDX-License-Identifier: Apache-2.0 */
/* Opaque EWS ids (ItemId, FolderId, AttachmentId, occurrence ids) and ChangeKeys. */
#include "ewsid.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

static const uint8_t id_magic[3] = { 0x00, 0x03, 0x24 };

/* Big-endian encoding keeps ids readable in hex dumps and stable across hosts. */
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

/* Raw id length: attachments and occurrences carry a third number. */
static size_t id_length(enum ewsid_kind kind)
{
    return (kind == EWSID_ATTACHMENT || kind == EWSID_OCCURRENCE) ? 24 : 16;
}

void ewsid_format(const struct ewsid *id, char out[EWSID_MAX])
{
    uint8_t raw[24];
    memcpy(raw, id_magic, 3);
    raw[3] = (uint8_t)id->kind;
    put_be(raw + 4, id->mailbox, 4);
    put_be(raw + 8, id->num, 8);
    put_be(raw + 16, id->extra, 8);
    mse_crypto_b64url(raw, id_length(id->kind), out, EWSID_MAX);
}

/* The id's bytes, at most 24 of them. */
static enum mse_rc b64url_decode(const char *text, uint8_t *out, size_t *n)
{
    uint8_t *dec = NULL;
    size_t dlen = 0;
    if (mse_crypto_b64url_decode(text, EWSID_MAX, &dec, &dlen) != MSE_OK)
        return MSE_ERR_INVALID;
    enum mse_rc rc = MSE_ERR_INVALID;
    if (dlen <= 24) {
        memcpy(out, dec, dlen);
        *n = dlen;
        rc = MSE_OK;
    }
    free(dec);
    return rc;
}

enum mse_rc ewsid_parse(const char *text, struct ewsid *out)
{
    uint8_t raw[24];
    size_t n = 0;
    if (!text || b64url_decode(text, raw, &n) != MSE_OK || n < 16 || memcmp(raw, id_magic, 3))
        return MSE_ERR_INVALID;
    enum ewsid_kind kind = (enum ewsid_kind)raw[3];
    if ((kind != EWSID_ITEM && kind != EWSID_FOLDER && kind != EWSID_ATTACHMENT &&
         kind != EWSID_OCCURRENCE) ||
        n != id_length(kind))
        return MSE_ERR_INVALID;
    out->kind = kind;
    out->mailbox = (uint32_t)get_be(raw + 4, 4);
    out->num = get_be(raw + 8, 8);
    out->extra = n == 24 ? get_be(raw + 16, 8) : 0;
    if (out->num == 0)
        return MSE_ERR_INVALID;
    return MSE_OK;
}

void ewsid_change_key(enum ewsid_kind kind, uint64_t num, uint32_t n, char out[EWSID_MAX])
{
    /* Exchange's ChangeKeys start with a 4-byte type ("CQAAAB…" for messages). */
    uint8_t raw[12] = { kind == EWSID_FOLDER ? 0x01 : 0x09, 0, 0, 0 };
    put_be(raw + 4, num & 0xFFFFFFFFu, 4);
    put_be(raw + 8, n, 4);
    char tmp[EWSID_MAX];
    mse_crypto_b64url(raw, sizeof(raw), tmp, sizeof(tmp));
    memcpy(out, tmp, EWSID_MAX);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Opaque EWS ids (ItemId, FolderId, AttachmentId, occurrence ids) and ChangeKeys. */
#ifndef EWSSIM_EWSID_H
#define EWSSIM_EWSID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

/*
 * An id is base64url (no padding) of: 3 magic bytes (so ids start "AAMk" like Exchange's),
 * a kind byte, the mailbox index (4 bytes) and a number (8 bytes), plus for attachments the
 * attachment number and for occurrences the original start time (8 bytes each). Big-endian.
 */
enum ewsid_kind {
    EWSID_ITEM = 'I',
    EWSID_FOLDER = 'F',
    EWSID_ATTACHMENT = 'A',
    EWSID_OCCURRENCE = 'O'
};

struct ewsid {
    enum ewsid_kind kind;
    uint32_t mailbox;
    uint64_t num;
    uint64_t extra; /* attachment number or occurrence original start */
};

#define EWSID_MAX 48 /* text length including the terminator */

void ewsid_format(const struct ewsid *id, char out[EWSID_MAX]);
/* MSE_ERR_INVALID for anything that is not an id this simulator made. */
enum mse_rc ewsid_parse(const char *text, struct ewsid *out) MSE_WUR;
/* ChangeKey text for an object of the given kind at change number n. */
void ewsid_change_key(enum ewsid_kind kind, uint64_t num, uint32_t n, char out[EWSID_MAX]);

#endif

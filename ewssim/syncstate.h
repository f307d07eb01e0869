/* SPDX-License-Identifier: Apache-2.0 */
/* SyncState tokens: an authenticated, opaque encoding of a per-folder watermark. */
#ifndef EWSSIM_SYNCSTATE_H
#define EWSSIM_SYNCSTATE_H

#include <stdint.h>

#include "mse/rc.h"

enum syncstate_scope { SYNCSTATE_ITEMS = 1, SYNCSTATE_HIERARCHY = 2 };

struct syncstate {
    enum syncstate_scope scope;
    uint32_t generation; /* store generation (resets) */
    uint32_t epoch;      /* mailbox epoch (explicit invalidation) */
    uint32_t mailbox;
    uint64_t folder; /* synced folder, or the hierarchy's root folder */
    uint64_t watermark;
};

#define SYNCSTATE_MAX 96 /* base64 text including the terminator */

/*
 * Sets the process-wide MAC key (random at start-up): states from another process or
 * edited by hand are refused. Call once before any other function here.
 */
void syncstate_key_init(const uint8_t key[32]);
void syncstate_format(const struct syncstate *s, char out[SYNCSTATE_MAX]);
/* MSE_ERR_INVALID when the text is not a state this process made (bad base64, length, MAC). */
enum mse_rc syncstate_parse(const char *text, struct syncstate *out) MSE_WUR;

#endif

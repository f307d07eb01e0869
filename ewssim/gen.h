/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic generated organisations and lazily generated bodies and attachment bytes. */
#ifndef EWSSIM_GEN_H
#define EWSSIM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"
#include "store.h"

/* Sizes of a generated organisation (EWS_SIM_GENERATE="mailboxes=…,folders=…,…"). */
struct gen_params {
    unsigned mailboxes;        /* 1..100000 */
    unsigned folders;          /* extra mail folders per mailbox, 0..1000 */
    unsigned items;            /* messages per folder (Inbox and each extra folder), 0..1000000 */
    unsigned appointments;     /* calendar items per mailbox, 0..1000000 */
    unsigned attachment_bytes; /* size of the attachment every 10th item gets, 0..10 MiB */
    unsigned groups;           /* distribution groups, 0..10000 */
    uint64_t seed;
};

/* Defaults, then "key=value,…" overrides. MSE_ERR_INVALID with err naming the bad part. */
enum mse_rc gen_params_parse(const char *spec, uint64_t seed, struct gen_params *out,
                             struct mse_err *err) MSE_WUR;
/* Builds the organisation. Bodies and attachment bytes are generated only when read. */
enum mse_rc gen_build(const struct gen_params *p, struct org **out, struct mse_err *err) MSE_WUR;

/* Body text of a generated item (deterministic in seed). *out malloc'd. */
enum mse_rc gen_body(uint64_t seed, size_t len, char **out) MSE_WUR;
/* Bytes of an attachment: its stored content or the generated one. *out malloc'd. */
enum mse_rc gen_attachment_content(const struct sim_attachment *a, uint8_t **out) MSE_WUR;
/* SplitMix64 step, the generator's only source of randomness. */
uint64_t gen_next(uint64_t *state);

#endif

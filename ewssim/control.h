/* SPDX-License-Identifier: Apache-2.0 */
/* The /_sim/ control API: JSON to inspect and change the organisation and inject faults. */
#ifndef EWSSIM_CONTROL_H
#define EWSSIM_CONTROL_H

#include <stddef.h>

#include "ews.h"
#include "sim.h"

/* Query-string access, so this module does not depend on libmicrohttpd. */
struct control_query {
    const char *(*get)(void *cls, const char *name);
    void *cls;
};

/* Answers one control request (path starts with /_sim). Always fills out. */
enum mse_rc control_handle(struct sim *sim, const char *method, const char *path,
                           const struct control_query *q, const char *body, size_t len,
                           struct mse_log_ctx *log, struct ews_reply *out) MSE_WUR;

#endif

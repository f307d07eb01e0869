/* SPDX-License-Identifier: Apache-2.0 */
/* The one place that writes RFC 9457 problem documents, logs them and counts them. */
#ifndef MSE_PROBLEM_H
#define MSE_PROBLEM_H

#include <stdbool.h>

#include "mse/rc.h"
#include "verr.h"

struct request;

/*
 * Sends a problem document with status, the status's title, and detail (printf-style).
 * Extra response headers must be added with http_add_header before the call.
 */
void problem_send(struct request *req, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/*
 * Same with a problem type URI other than about:blank, for errors a client must tell apart
 * (workers: "urn:mse:problem:lease-lost", "…:checkpoint-conflict", "…:mailbox-locked").
 */
void problem_send_typed(struct request *req, unsigned status, const char *type, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* Sends a problem with the collected field errors (422 unless status says otherwise). */
void problem_send_fields(struct request *req, unsigned status, const char *detail,
                         const struct verr *v);
/* Maps a result code from a lower layer to the right problem (404, 409, 503, 500 …). */
void problem_send_rc(struct request *req, enum mse_rc rc, const char *detail);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd glue: a thread pool serving /EWS/Exchange.asmx and the /_sim/ control API. */
#ifndef EWSSIM_HTTP_H
#define EWSSIM_HTTP_H

#include "mse/rc.h"
#include "sim.h"

/* Starts the daemon on the configured address; sets sim->port to the bound port. */
enum mse_rc http_start(struct sim *sim, struct mse_err *err) MSE_WUR;
/* Stops accepting, lets in-flight requests finish (up to a few seconds) and stops. */
void http_stop(struct sim *sim);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Reading settings from the environment with range checks and precise errors. */
#ifndef MSE_CONFIG_H
#define MSE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

/* Value of name, or def when unset or empty. Never NULL unless def is NULL. */
const char *mse_env_str(const char *name, const char *def);
/*
 * Integer in [min, max] from name, def when unset. A malformed or out-of-range value gives
 * MSE_ERR_INVALID with err naming the variable and the accepted range.
 */
enum mse_rc mse_env_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                        struct mse_err *err) MSE_WUR;
/* Boolean: 1/true/yes/on or 0/false/no/off. */
enum mse_rc mse_env_bool(const char *name, bool def, bool *out, struct mse_err *err) MSE_WUR;
/* Strict decimal integer parse of the whole string, within [min, max]. */
enum mse_rc mse_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) MSE_WUR;
/*
 * Splits "host:port" (IPv4, name, or "[v6]:port") into host and port.
 * host must hold at least 256 bytes.
 */
enum mse_rc mse_parse_hostport(const char *s, char *host, size_t host_size, uint16_t *port) MSE_WUR;

#endif

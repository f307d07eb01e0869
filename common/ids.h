/* SPDX-License-Identifier: Apache-2.0 */
/* UUID strings (libuuid): generation and strict validation. */
#ifndef MSE_IDS_H
#define MSE_IDS_H

#include <stdbool.h>

#define MSE_UUID_STR_LEN 36

/* Writes a fresh random (v4) UUID in lowercase canonical form; out holds 37 bytes. */
void mse_uuid_new(char out[MSE_UUID_STR_LEN + 1]);
/* True for the canonical 8-4-4-4-12 hex form, any case. */
bool mse_uuid_valid(const char *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The master key for data sealed at rest (AES-256-GCM), and sealing to PostgreSQL bytea text. */
#ifndef MSE_SECRETS_H
#define MSE_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "mse/rc.h"

struct secrets {
    uint8_t key[MSE_AEAD_KEY_LEN];
};

/*
 * Reads the key from key_file (32 raw bytes, or 64 hex digits and an optional newline). With
 * key_file NULL, uses <data_dir>/master.key, creating it (mode 0600, 32 random bytes) when
 * missing. err says what is wrong with the file.
 */
enum mse_rc secrets_load(const char *key_file, const char *data_dir, struct secrets *out,
                         struct mse_err *err) MSE_WUR;

/*
 * Seals n bytes bound to aad and writes them as bytea hex text ("\\x…") to a malloc'd *out.
 */
enum mse_rc secrets_seal(const struct secrets *s, const char *aad, const void *plain, size_t n,
                         char **out) MSE_WUR;
/*
 * Opens bytea hex text made by secrets_seal with the same aad; *out is malloc'd and
 * NUL-terminated (*len excludes the NUL). MSE_ERR_CRYPTO when the key or aad differ.
 */
enum mse_rc secrets_open(const struct secrets *s, const char *aad, const char *hex, char **out,
                         size_t *len) MSE_WUR;

#endif

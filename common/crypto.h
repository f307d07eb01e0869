/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL-backed primitives: randomness, hashes, password hashing, sealed secrets. */
#ifndef MSE_CRYPTO_H
#define MSE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

#define MSE_SHA256_LEN     32
#define MSE_SHA256_HEX_LEN 64
#define MSE_AEAD_KEY_LEN   32
/* Sealed blob = 12-byte nonce + ciphertext + 16-byte tag. */
#define MSE_AEAD_OVERHEAD (12 + 16)

/* Fills buf with n cryptographically strong random bytes. */
enum mse_rc mse_crypto_random(void *buf, size_t n) MSE_WUR;
/* Writes 2n lowercase hex digits and a NUL into out (size >= 2n + 1). */
void mse_crypto_hex(const void *data, size_t n, char *out);
/* Decodes exactly 2n hex digits into out. MSE_ERR_INVALID on a bad digit or length. */
enum mse_rc mse_crypto_unhex(const char *hex, void *out, size_t n) MSE_WUR;
/* Writes the SHA-256 of data as 64 hex digits + NUL (out size >= 65). */
void mse_crypto_sha256_hex(const void *data, size_t n, char *out);
void mse_crypto_sha256(const void *data, size_t n, uint8_t out[MSE_SHA256_LEN]);
/* Base64url without padding; out size >= 4 * ceil(n / 3) + 1. */
void mse_crypto_b64url(const void *data, size_t n, char *out, size_t out_size);
/*
 * Base64url decoding of text without padding, shorter than max characters (the cap of what
 * the caller ever encodes). MSE_ERR_INVALID for an empty or longer text, a character outside
 * the alphabet or a bad length; *out is malloc'd (caller frees).
 */
enum mse_rc mse_crypto_b64url_decode(const char *text, size_t max, uint8_t **out,
                                     size_t *out_len) MSE_WUR;
/* Standard base64 decoding (RFC 4648, padding optional). *out is malloc'd; caller frees. */
enum mse_rc mse_crypto_b64_decode(const char *in, size_t len, uint8_t **out,
                                  size_t *out_len) MSE_WUR;
/* Comparison whose time does not depend on where the inputs differ. */
bool mse_crypto_equal(const void *a, const void *b, size_t n);

/*
 * Password hash in the self-describing form "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
 * out size >= 160. iterations 0 means the default (600,000, OWASP 2023).
 */
enum mse_rc mse_crypto_password_hash(const char *password, unsigned iterations, char *out,
                                     size_t out_size) MSE_WUR;
/* True when password matches a hash made by mse_crypto_password_hash. */
bool mse_crypto_password_verify(const char *password, const char *encoded);

/* AES-256-GCM. aad may be NULL. out must hold n + MSE_AEAD_OVERHEAD bytes. */
enum mse_rc mse_crypto_seal(const uint8_t key[MSE_AEAD_KEY_LEN], const void *plain, size_t n,
                            const char *aad, uint8_t *out) MSE_WUR;
/* Opens a sealed blob of n bytes; out must hold n - MSE_AEAD_OVERHEAD bytes. */
enum mse_rc mse_crypto_open(const uint8_t key[MSE_AEAD_KEY_LEN], const uint8_t *sealed, size_t n,
                            const char *aad, uint8_t *out) MSE_WUR;

#endif

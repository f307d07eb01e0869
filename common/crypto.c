/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL-backed primitives: randomness, hashes, password hashing, sealed secrets. */
#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PBKDF2_DEFAULT_ITERATIONS 600000u
#define PBKDF2_SALT_LEN           16

enum mse_rc mse_crypto_random(void *buf, size_t n)
{
    if (n > INT32_MAX || RAND_bytes(buf, (int)n) != 1)
        return MSE_ERR_CRYPTO;
    return MSE_OK;
}

void mse_crypto_hex(const void *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum mse_rc mse_crypto_unhex(const char *hex, void *out, size_t n)
{
    uint8_t *o = out;
    if (strlen(hex) != 2 * n)
        return MSE_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return MSE_ERR_INVALID;
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    return MSE_OK;
}

void mse_crypto_sha256(const void *data, size_t n, uint8_t out[MSE_SHA256_LEN])
{
    unsigned int len = MSE_SHA256_LEN;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

void mse_crypto_sha256_hex(const void *data, size_t n, char *out)
{
    uint8_t md[MSE_SHA256_LEN];
    mse_crypto_sha256(data, n, md);
    mse_crypto_hex(md, sizeof(md), out);
}

void mse_crypto_b64url(const void *data, size_t n, char *out, size_t out_size)
{
    static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const uint8_t *p = data;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < out_size; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
}

enum mse_rc mse_crypto_b64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    /* OpenSSL's block decoder wants padding; skip whitespace and count what is left. */
    size_t cap = len / 4 * 3 + 3;
    uint8_t *buf = malloc(cap + 1);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    enum mse_rc rc = MSE_ERR_NOMEM;
    if (!buf || !ctx)
        goto out;
    rc = MSE_ERR_INVALID;
    int n1 = 0, n2 = 0;
    EVP_DecodeInit(ctx);
    if (len > INT32_MAX ||
        EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)in, (int)len) < 0 ||
        EVP_DecodeFinal(ctx, buf + n1, &n2) < 0)
        goto out;
    *out = buf;
    *out_len = (size_t)(n1 + n2);
    buf = NULL;
    rc = MSE_OK;
out:
    free(buf);
    EVP_ENCODE_CTX_free(ctx);
    return rc;
}

enum mse_rc mse_crypto_b64url_decode(const char *text, size_t max, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    size_t n = strlen(text);
    if (n == 0 || n >= max)
        return MSE_ERR_INVALID;
    /* Back to the standard alphabet with padding, which the OpenSSL decoder wants. */
    char *std = malloc(n + 4);
    if (!std)
        return MSE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            free(std);
            return MSE_ERR_INVALID;
        }
        std[i] = c;
    }
    while (n % 4)
        std[n++] = '=';
    std[n] = '\0';
    enum mse_rc rc = mse_crypto_b64_decode(std, n, out, out_len);
    free(std);
    return rc;
}

bool mse_crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

static enum mse_rc pbkdf2(const char *password, const uint8_t *salt, size_t salt_len,
                          unsigned iterations, uint8_t out[32])
{
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iterations,
                          EVP_sha256(), 32, out) != 1)
        return MSE_ERR_CRYPTO;
    return MSE_OK;
}

enum mse_rc mse_crypto_password_hash(const char *password, unsigned iterations, char *out,
                                     size_t out_size)
{
    uint8_t salt[PBKDF2_SALT_LEN], hash[32];
    char salt_hex[2 * PBKDF2_SALT_LEN + 1], hash_hex[65];
    if (iterations == 0)
        iterations = PBKDF2_DEFAULT_ITERATIONS;
    enum mse_rc rc = mse_crypto_random(salt, sizeof(salt));
    if (rc == MSE_OK)
        rc = pbkdf2(password, salt, sizeof(salt), iterations, hash);
    if (rc != MSE_OK)
        return rc;
    mse_crypto_hex(salt, sizeof(salt), salt_hex);
    mse_crypto_hex(hash, sizeof(hash), hash_hex);
    int n = snprintf(out, out_size, "pbkdf2-sha256$%u$%s$%s", iterations, salt_hex, hash_hex);
    return n > 0 && (size_t)n < out_size ? MSE_OK : MSE_ERR_TOO_LARGE;
}

bool mse_crypto_password_verify(const char *password, const char *encoded)
{
    unsigned iterations;
    char salt_hex[2 * PBKDF2_SALT_LEN + 1], hash_hex[65];
    uint8_t salt[PBKDF2_SALT_LEN], want[32], got[32];
    if (sscanf(encoded, "pbkdf2-sha256$%u$%32[0-9a-f]$%64[0-9a-f]", &iterations, salt_hex,
               hash_hex) != 3)
        return false;
    if (iterations == 0 || iterations > 10000000u ||
        mse_crypto_unhex(salt_hex, salt, sizeof(salt)) != MSE_OK ||
        mse_crypto_unhex(hash_hex, want, sizeof(want)) != MSE_OK ||
        pbkdf2(password, salt, sizeof(salt), iterations, got) != MSE_OK)
        return false;
    return mse_crypto_equal(want, got, sizeof(got));
}

/* Runs AES-256-GCM in either direction; tag is read (decrypt) or written (encrypt). */
static enum mse_rc aead(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *in,
                        size_t n, const char *aad, uint8_t *out, uint8_t *tag)
{
    enum mse_rc rc = MSE_ERR_CRYPTO;
    int len = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return MSE_ERR_NOMEM;
    if (n > INT32_MAX || EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1)
        goto out;
    if (aad && EVP_CipherUpdate(ctx, NULL, &len, (const uint8_t *)aad, (int)strlen(aad)) != 1)
        goto out;
    if (EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1)
        goto out;
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
        goto out;
    rc = MSE_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

enum mse_rc mse_crypto_seal(const uint8_t key[MSE_AEAD_KEY_LEN], const void *plain, size_t n,
                            const char *aad, uint8_t *out)
{
    enum mse_rc rc = mse_crypto_random(out, 12);
    if (rc != MSE_OK)
        return rc;
    return aead(1, key, out, plain, n, aad, out + 12, out + 12 + n);
}

enum mse_rc mse_crypto_open(const uint8_t key[MSE_AEAD_KEY_LEN], const uint8_t *sealed, size_t n,
                            const char *aad, uint8_t *out)
{
    if (n < MSE_AEAD_OVERHEAD)
        return MSE_ERR_INVALID;
    size_t body = n - MSE_AEAD_OVERHEAD;
    /* The tag buffer is only read when decrypting; copy it so the input stays const. */
    uint8_t tag[16];
    memcpy(tag, sealed + 12 + body, 16);
    return aead(0, key, sealed, sealed + 12, body, aad, out, tag);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The master key for data sealed at rest (AES-256-GCM), and sealing to PostgreSQL bytea text. */
#include "secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MASTER_KEY_NAME "master.key"

/* Accepts exactly 32 raw bytes, or 64 hex digits with an optional line break. */
static enum mse_rc key_parse(const uint8_t *data, size_t n, struct secrets *out)
{
    if (n == MSE_AEAD_KEY_LEN) {
        memcpy(out->key, data, n);
        return MSE_OK;
    }
    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        n--;
    char hex[2 * MSE_AEAD_KEY_LEN + 1];
    if (n != 2 * MSE_AEAD_KEY_LEN)
        return MSE_ERR_INVALID;
    memcpy(hex, data, n);
    hex[n] = '\0';
    return mse_crypto_unhex(hex, out->key, MSE_AEAD_KEY_LEN);
}

static enum mse_rc key_read(const char *path, struct secrets *out, struct mse_err *err)
{
    uint8_t data[160];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->msg, sizeof(err->msg), "cannot read the master key %.400s: %s", path,
                 strerror(errno));
        return MSE_ERR_IO;
    }
    size_t n = fread(data, 1, sizeof(data), f);
    fclose(f);
    enum mse_rc rc = key_parse(data, n, out);
    if (rc != MSE_OK)
        snprintf(err->msg, sizeof(err->msg),
                 "the master key %.400s must hold 32 raw bytes or 64 hex digits", path);
    memset(data, 0, sizeof(data));
    return rc;
}

/*
 * Creates a fresh key file: written under a temporary name, then linked into place, so that
 * servers starting together agree on one key and none reads a half-written file.
 */
static enum mse_rc key_create(const char *path, struct mse_err *err)
{
    uint8_t key[MSE_AEAD_KEY_LEN];
    char tmp[4200];
    enum mse_rc rc = mse_crypto_random(key, sizeof(key));
    if (rc != MSE_OK)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    memset(key, 0, sizeof(key));
    if (ok && link(tmp, path) != 0 && errno != EEXIST)
        ok = false;
    if (!ok)
        snprintf(err->msg, sizeof(err->msg), "cannot create %.400s: %s", path, strerror(errno));
    unlink(tmp);
    return ok ? MSE_OK : MSE_ERR_IO;
}

enum mse_rc secrets_load(const char *key_file, const char *data_dir, struct secrets *out,
                         struct mse_err *err)
{
    if (key_file)
        return key_read(key_file, out, err);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", data_dir, MASTER_KEY_NAME);
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err->msg, sizeof(err->msg), "cannot create MSE_DATA_DIR %.400s: %s", data_dir,
                 strerror(errno));
        return MSE_ERR_IO;
    }
    enum mse_rc rc = key_create(path, err);
    return rc == MSE_OK ? key_read(path, out, err) : rc;
}

enum mse_rc secrets_seal(const struct secrets *s, const char *aad, const void *plain, size_t n,
                         char **out)
{
    *out = NULL;
    size_t sealed_len = n + MSE_AEAD_OVERHEAD;
    uint8_t *sealed = malloc(sealed_len);
    char *hex = malloc(2 * sealed_len + 3);
    enum mse_rc rc = MSE_ERR_NOMEM;
    if (!sealed || !hex)
        goto out;
    rc = mse_crypto_seal(s->key, plain, n, aad, sealed);
    if (rc != MSE_OK)
        goto out;
    hex[0] = '\\';
    hex[1] = 'x';
    mse_crypto_hex(sealed, sealed_len, hex + 2);
    *out = hex;
    hex = NULL;
out:
    free(sealed);
    free(hex);
    return rc;
}

enum mse_rc secrets_open(const struct secrets *s, const char *aad, const char *hex, char **out,
                         size_t *len)
{
    *out = NULL;
    if (strncmp(hex, "\\x", 2) != 0)
        return MSE_ERR_INVALID;
    hex += 2;
    size_t hex_len = strlen(hex);
    if (hex_len % 2 || hex_len / 2 < MSE_AEAD_OVERHEAD)
        return MSE_ERR_INVALID;
    size_t n = hex_len / 2;
    uint8_t *sealed = malloc(n);
    char *plain = malloc(n - MSE_AEAD_OVERHEAD + 1);
    enum mse_rc rc = MSE_ERR_NOMEM;
    if (!sealed || !plain)
        goto out;
    rc = mse_crypto_unhex(hex, sealed, n);
    if (rc == MSE_OK)
        rc = mse_crypto_open(s->key, sealed, n, aad, (uint8_t *)plain);
    if (rc != MSE_OK)
        goto out;
    plain[n - MSE_AEAD_OVERHEAD] = '\0';
    *len = n - MSE_AEAD_OVERHEAD;
    *out = plain;
    plain = NULL;
out:
    free(sealed);
    free(plain);
    return rc;
}

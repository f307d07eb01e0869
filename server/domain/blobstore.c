/* SPDX-License-Identifier: Apache-2.0 */
/* The content store's shared part: staging and hashing writes, verifying reads. */
#include "blobstore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobstore_impl.h"
#include "crypto.h"

bool blobstore_sha_ok(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

const char *blobstore_backend_name(const struct blobstore *bs)
{
    return bs->ops->name;
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static enum mse_rc dir_make(const char *dir, struct mse_err *err)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return MSE_OK;
    snprintf(err->msg, sizeof(err->msg), "cannot create %.300s: %s", dir, strerror(errno));
    return MSE_ERR_IO;
}

enum mse_rc blobstore_sync_dir(const char *dir, struct mse_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot sync %.300s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return MSE_ERR_IO;
    }
    close(fd);
    return MSE_OK;
}

int blobstore_tmpfile(struct blobstore *bs)
{
    return open(bs->tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static char *dup_or_null(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    *ok &= !s || d;
    return d;
}

/* The s3 settings, each named when missing. */
static enum mse_rc s3_settings(struct blobstore *bs, const struct blobstore_config *c,
                               struct mse_err *err)
{
    const char *need[][2] = { { c->s3_endpoint, "MSE_S3_ENDPOINT" },
                              { c->s3_bucket, "MSE_S3_BUCKET" },
                              { c->s3_region, "MSE_S3_REGION" },
                              { c->s3_access_key, "MSE_S3_ACCESS_KEY_ID" },
                              { c->s3_secret_key, "MSE_S3_SECRET_ACCESS_KEY" } };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (!need[i][0] || !*need[i][0]) {
            snprintf(err->msg, sizeof(err->msg), "%s must be set when MSE_BLOB_BACKEND is s3",
                     need[i][1]);
            return MSE_ERR_INVALID;
        }
    }
    bool ok = true;
    size_t n = strlen(c->s3_access_key) + strlen(c->s3_secret_key) + 2;
    bs->endpoint = dup_or_null(c->s3_endpoint, &ok);
    bs->bucket = dup_or_null(c->s3_bucket, &ok);
    bs->region = dup_or_null(c->s3_region, &ok);
    bs->userpwd = malloc(n);
    bs->sigv4 = malloc(strlen(c->s3_region) + 16);
    if (!ok || !bs->userpwd || !bs->sigv4)
        return MSE_ERR_NOMEM;
    snprintf(bs->userpwd, n, "%s:%s", c->s3_access_key, c->s3_secret_key);
    snprintf(bs->sigv4, strlen(c->s3_region) + 16, "aws:amz:%s:s3", c->s3_region);
    /* A trailing slash would make every path "//bucket/…". */
    size_t e = strlen(bs->endpoint);
    while (e > 0 && bs->endpoint[e - 1] == '/')
        bs->endpoint[--e] = '\0';
    return MSE_OK;
}

enum mse_rc blobstore_new(const struct blobstore_config *cfg, struct blobstore **out,
                          struct mse_err *err)
{
    struct blobstore *bs = calloc(1, sizeof(*bs));
    enum mse_rc rc = MSE_ERR_NOMEM;
    *out = NULL;
    if (!bs)
        return rc;
    bs->ops = cfg->backend == BLOBSTORE_S3 ? &blobstore_s3_ops : &blobstore_fs_ops;
    bs->root = path_join(cfg->dir, "blobs");
    bs->tmp = bs->root ? path_join(bs->root, "tmp") : NULL;
    if (!bs->tmp)
        goto out;
    rc = cfg->backend == BLOBSTORE_S3 ? s3_settings(bs, cfg, err) : MSE_OK;
    if (rc == MSE_OK)
        rc = dir_make(cfg->dir, err);
    if (rc == MSE_OK)
        rc = dir_make(bs->root, err);
    if (rc == MSE_OK)
        rc = dir_make(bs->tmp, err);
out:
    if (rc != MSE_OK) {
        blobstore_free(bs);
        return rc;
    }
    *out = bs;
    return MSE_OK;
}

void blobstore_free(struct blobstore *bs)
{
    if (!bs)
        return;
    if (bs->ops->cleanup)
        bs->ops->cleanup(bs);
    if (bs->userpwd)
        OPENSSL_cleanse(bs->userpwd, strlen(bs->userpwd));
    free(bs->root);
    free(bs->tmp);
    free(bs->endpoint);
    free(bs->bucket);
    free(bs->region);
    free(bs->userpwd);
    free(bs->sigv4);
    free(bs);
}

static void digest_hex(EVP_MD_CTX *md, char sha[BLOBSTORE_SHA_HEX])
{
    unsigned char d[MSE_SHA256_LEN];
    unsigned n = 0;
    EVP_DigestFinal_ex(md, d, &n);
    mse_crypto_hex(d, sizeof(d), sha);
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Copies the producer's content into fd, hashing it; durable (fsync'd) on MSE_OK. */
static enum mse_rc stage(int fd, blobstore_read_fn fn, void *arg, char sha[BLOBSTORE_SHA_HEX],
                         int64_t *size, struct mse_err *err)
{
    enum mse_rc rc = MSE_ERR_NOMEM;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = malloc(BLOBSTORE_CHUNK);
    if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
        goto out;
    rc = MSE_ERR_IO;
    *size = 0;
    for (;;) {
        ssize_t n = fn(arg, buf, BLOBSTORE_CHUNK);
        if (n < 0) {
            snprintf(err->msg, sizeof(err->msg), "the content could not be read");
            goto out;
        }
        if (n == 0)
            break;
        if (!write_all(fd, buf, (size_t)n)) {
            snprintf(err->msg, sizeof(err->msg), "cannot stage content: %s", strerror(errno));
            goto out;
        }
        EVP_DigestUpdate(md, buf, (size_t)n);
        *size += n;
    }
    /* The rename that follows must not outlive the content it names. */
    if (fsync(fd) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot sync staged content: %s", strerror(errno));
        goto out;
    }
    digest_hex(md, sha);
    rc = MSE_OK;
out:
    EVP_MD_CTX_free(md);
    free(buf);
    return rc;
}

enum mse_rc blobstore_put_stream(struct blobstore *bs, blobstore_read_fn fn, void *arg,
                                 const char *want, char sha[BLOBSTORE_SHA_HEX], int64_t *size,
                                 struct mse_err *err)
{
    char *path = path_join(bs->tmp, "put-XXXXXX");
    if (!path)
        return MSE_ERR_NOMEM;
    enum mse_rc rc = MSE_ERR_IO;
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot create a staging file in %.300s: %s", bs->tmp,
                 strerror(errno));
        free(path);
        return rc;
    }
    rc = stage(fd, fn, arg, sha, size, err);
    if (rc == MSE_OK && want && strcmp(want, sha) != 0) {
        snprintf(err->msg, sizeof(err->msg), "the content's SHA-256 is %s, not %s", sha, want);
        rc = MSE_ERR_INVALID;
    }
    if (rc == MSE_OK && lseek(fd, 0, SEEK_SET) != 0)
        rc = MSE_ERR_IO;
    if (rc == MSE_OK)
        rc = bs->ops->commit(bs, sha, fd, path, *size, err);
    else
        unlink(path);
    close(fd);
    free(path);
    return rc;
}

struct mem_reader {
    const char *p;
    size_t left;
};

static ssize_t mem_read(void *arg, void *buf, size_t cap)
{
    struct mem_reader *m = arg;
    size_t n = m->left < cap ? m->left : cap;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (ssize_t)n;
}

enum mse_rc blobstore_put(struct blobstore *bs, const void *data, size_t len, const char *want,
                          char sha[BLOBSTORE_SHA_HEX], struct mse_err *err)
{
    struct mem_reader m = { data ? data : "", len };
    int64_t size = 0;
    return blobstore_put_stream(bs, mem_read, &m, want, sha, &size, err);
}

/* Reads fd to its end, hashing and handing each chunk to fn (NULL: hash only). */
static enum mse_rc verify(int fd, const char *sha, blobstore_write_fn fn, void *arg, int64_t *size,
                          struct mse_err *err)
{
    enum mse_rc rc = MSE_ERR_NOMEM;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = malloc(BLOBSTORE_CHUNK), got[BLOBSTORE_SHA_HEX];
    if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
        goto out;
    rc = MSE_ERR_IO;
    *size = 0;
    for (;;) {
        ssize_t n = read(fd, buf, BLOBSTORE_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err->msg, sizeof(err->msg), "cannot read blob %s: %s", sha, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        *size += n;
        if (fn && !fn(arg, buf, (size_t)n)) {
            snprintf(err->msg, sizeof(err->msg), "the reader of blob %s stopped", sha);
            goto out;
        }
    }
    digest_hex(md, got);
    rc = strcmp(got, sha) == 0 ? MSE_OK : MSE_ERR_CRYPTO;
    if (rc != MSE_OK)
        snprintf(err->msg, sizeof(err->msg), "blob %s is corrupt: its content hashes to %s", sha,
                 got);
out:
    EVP_MD_CTX_free(md);
    free(buf);
    return rc;
}

static enum mse_rc open_checked(struct blobstore *bs, const char *sha, int *fd, struct mse_err *err)
{
    *fd = -1;
    if (!blobstore_sha_ok(sha)) {
        snprintf(err->msg, sizeof(err->msg), "a blob address is 64 lowercase hex digits");
        return MSE_ERR_INVALID;
    }
    return bs->ops->open(bs, sha, fd, err);
}

enum mse_rc blobstore_get(struct blobstore *bs, const char *sha, blobstore_write_fn fn, void *arg,
                          struct mse_err *err)
{
    int fd;
    int64_t size = 0;
    enum mse_rc rc = open_checked(bs, sha, &fd, err);
    if (rc == MSE_OK)
        rc = verify(fd, sha, fn, arg, &size, err);
    if (fd >= 0)
        close(fd);
    return rc;
}

enum mse_rc blobstore_open_verified(struct blobstore *bs, const char *sha, int *fd, int64_t *size,
                                    struct mse_err *err)
{
    enum mse_rc rc = open_checked(bs, sha, fd, err);
    if (rc == MSE_OK)
        rc = verify(*fd, sha, NULL, NULL, size, err);
    if (rc == MSE_OK && lseek(*fd, 0, SEEK_SET) != 0)
        rc = MSE_ERR_IO;
    if (rc != MSE_OK && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

enum mse_rc blobstore_stat(struct blobstore *bs, const char *sha, bool *exists, int64_t *size,
                           struct mse_err *err)
{
    *exists = false;
    *size = 0;
    if (!blobstore_sha_ok(sha))
        return MSE_OK;
    return bs->ops->stat(bs, sha, exists, size, err);
}

enum mse_rc blobstore_delete(struct blobstore *bs, const char *sha, struct mse_err *err)
{
    if (!blobstore_sha_ok(sha))
        return MSE_OK;
    return bs->ops->remove(bs, sha, err);
}

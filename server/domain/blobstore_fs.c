/* SPDX-License-Identifier: Apache-2.0 */
/* The `fs` blob backend: one file per blob, <root>/<first two hex digits>/<sha256>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobstore_impl.h"

/* Room for "<root>/ab/<64 hex>". */
#define FS_PATH_MAX 4096

static enum mse_rc blob_path(const struct blobstore *bs, const char *sha, char dir[FS_PATH_MAX],
                             char file[FS_PATH_MAX], struct mse_err *err)
{
    int a = snprintf(dir, FS_PATH_MAX, "%s/%.2s", bs->root, sha);
    int b = snprintf(file, FS_PATH_MAX, "%s/%s", dir, sha);
    if (a < 0 || b < 0 || a >= FS_PATH_MAX || b >= FS_PATH_MAX) {
        snprintf(err->msg, sizeof(err->msg), "the blob directory's path is too long");
        return MSE_ERR_INVALID;
    }
    return MSE_OK;
}

static enum mse_rc fs_stat(struct blobstore *bs, const char *sha, bool *exists, int64_t *size,
                           struct mse_err *err)
{
    char dir[FS_PATH_MAX], file[FS_PATH_MAX];
    struct stat st;
    enum mse_rc rc = blob_path(bs, sha, dir, file, err);
    if (rc != MSE_OK)
        return rc;
    if (stat(file, &st) == 0) {
        *exists = true;
        *size = st.st_size;
        return MSE_OK;
    }
    if (errno == ENOENT)
        return MSE_OK;
    snprintf(err->msg, sizeof(err->msg), "cannot stat blob %s: %s", sha, strerror(errno));
    return MSE_ERR_IO;
}

/*
 * rename() replaces atomically, so concurrent puts of one content each install a complete,
 * identical file. The directory is synced so that the new name survives a crash; a fan-out
 * directory created here is synced into its parent too.
 */
static enum mse_rc fs_commit(struct blobstore *bs, const char *sha, int fd, const char *path,
                             int64_t size, struct mse_err *err)
{
    (void)fd;
    (void)size;
    char dir[FS_PATH_MAX], file[FS_PATH_MAX];
    enum mse_rc rc = blob_path(bs, sha, dir, file, err);
    bool created = rc == MSE_OK && mkdir(dir, 0700) == 0;
    if (rc == MSE_OK && !created && errno != EEXIST) {
        snprintf(err->msg, sizeof(err->msg), "cannot create %.300s: %s", dir, strerror(errno));
        rc = MSE_ERR_IO;
    }
    if (rc == MSE_OK && created)
        rc = blobstore_sync_dir(bs->root, err);
    if (rc == MSE_OK && rename(path, file) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot install blob %s: %s", sha, strerror(errno));
        rc = MSE_ERR_IO;
    }
    if (rc == MSE_OK)
        rc = blobstore_sync_dir(dir, err);
    if (rc != MSE_OK)
        unlink(path);
    return rc;
}

static enum mse_rc fs_open(struct blobstore *bs, const char *sha, int *fd, struct mse_err *err)
{
    char dir[FS_PATH_MAX], file[FS_PATH_MAX];
    enum mse_rc rc = blob_path(bs, sha, dir, file, err);
    if (rc != MSE_OK)
        return rc;
    *fd = open(file, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0)
        return MSE_OK;
    if (errno == ENOENT) {
        snprintf(err->msg, sizeof(err->msg), "blob %s is not stored", sha);
        return MSE_ERR_NOT_FOUND;
    }
    snprintf(err->msg, sizeof(err->msg), "cannot open blob %s: %s", sha, strerror(errno));
    return MSE_ERR_IO;
}

static enum mse_rc fs_remove(struct blobstore *bs, const char *sha, struct mse_err *err)
{
    char dir[FS_PATH_MAX], file[FS_PATH_MAX];
    enum mse_rc rc = blob_path(bs, sha, dir, file, err);
    if (rc != MSE_OK)
        return rc;
    if (unlink(file) == 0)
        return blobstore_sync_dir(dir, err);
    if (errno == ENOENT)
        return MSE_OK;
    snprintf(err->msg, sizeof(err->msg), "cannot delete blob %s: %s", sha, strerror(errno));
    return MSE_ERR_IO;
}

const struct blobstore_ops blobstore_fs_ops = {
    .name = "fs",
    .commit = fs_commit,
    .open = fs_open,
    .stat = fs_stat,
    .remove = fs_remove,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* What a blob store backend provides; the shared part (blobstore.c) hashes and verifies. */
#ifndef MSE_BLOBSTORE_IMPL_H
#define MSE_BLOBSTORE_IMPL_H

#include "blobstore.h"

struct blobstore_ops {
    const char *name;
    /*
     * Makes the staged, fsync'd file (fd open on path, size bytes, hashing to sha) the blob.
     * The backend consumes path (renames or unlinks it); the caller closes fd.
     */
    enum mse_rc (*commit)(struct blobstore *bs, const char *sha, int fd, const char *path,
                          int64_t size, struct mse_err *err);
    /* A descriptor at the start of the stored (unverified) content; MSE_ERR_NOT_FOUND. */
    enum mse_rc (*open)(struct blobstore *bs, const char *sha, int *fd, struct mse_err *err);
    enum mse_rc (*stat)(struct blobstore *bs, const char *sha, bool *exists, int64_t *size,
                        struct mse_err *err);
    enum mse_rc (*remove)(struct blobstore *bs, const char *sha, struct mse_err *err);
    void (*cleanup)(struct blobstore *bs);
};

struct blobstore {
    const struct blobstore_ops *ops;
    char *root; /* <dir>/blobs */
    char *tmp;  /* <dir>/blobs/tmp: staging, on the same file system as root */
    /* s3 */
    char *endpoint, *bucket, *region, *userpwd, *sigv4;
};

extern const struct blobstore_ops blobstore_fs_ops;
extern const struct blobstore_ops blobstore_s3_ops;

/* fsync of a directory, so that a rename or creation in it survives a crash. */
enum mse_rc blobstore_sync_dir(const char *dir, struct mse_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content store: immutable blobs addressed by their SHA-256, behind one interface with
 * two backends, `fs` (files under a directory) and `s3` (any S3-compatible object store).
 * Every read is checked against the address before the caller sees a byte as good.
 */
#ifndef MSE_BLOBSTORE_H
#define MSE_BLOBSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mse/rc.h"

#define BLOBSTORE_SHA_HEX 65 /* 64 lowercase hex digits and a NUL */
/* Bytes moved per read or write while streaming: memory use does not grow with the blob. */
#define BLOBSTORE_CHUNK (64 * 1024)

enum blobstore_backend {
    BLOBSTORE_FS,
    BLOBSTORE_S3,
};

struct blobstore_config {
    enum blobstore_backend backend;
    /* fs: blobs live in <dir>/blobs; both backends stage writes and s3 reads in <dir>/blobs/tmp. */
    const char *dir;
    /* s3 only; path-style requests <endpoint>/<bucket>/<sha256>. */
    const char *s3_endpoint; /* http(s)://host[:port], no trailing slash needed */
    const char *s3_bucket;
    const char *s3_region;
    const char *s3_access_key;
    const char *s3_secret_key; /* never logged nor put into an error message */
};

struct blobstore;

/*
 * Opens a store (creating the fs directories). The strings in cfg are copied. Errors:
 * MSE_ERR_INVALID (a missing s3 setting, named in err), MSE_ERR_IO, MSE_ERR_NOMEM.
 */
enum mse_rc blobstore_new(const struct blobstore_config *cfg, struct blobstore **out,
                          struct mse_err *err) MSE_WUR;
/* Frees the store; NULL is fine. */
void blobstore_free(struct blobstore *bs);
/* "fs" or "s3": what the blobs table records as the backend of a blob. */
const char *blobstore_backend_name(const struct blobstore *bs);

/*
 * Reads up to cap bytes into buf; returns how many (0 = end of content) or -1 on failure.
 * The producer of a streamed put.
 */
typedef ssize_t (*blobstore_read_fn)(void *arg, void *buf, size_t cap);
/* Takes n bytes of content; false aborts the get (MSE_ERR_IO). The consumer of a get. */
typedef bool (*blobstore_write_fn)(void *arg, const void *data, size_t n);

/*
 * Stores the content read from fn until it reports the end, hashing as it streams; writes
 * the address into sha and the size into *size. Content that is stored already is not
 * written again. The blob is durable (fsync'd or acknowledged by the object store) when
 * this returns MSE_OK. When want is non-NULL the content must hash to it: otherwise
 * MSE_ERR_INVALID and nothing is stored.
 */
enum mse_rc blobstore_put_stream(struct blobstore *bs, blobstore_read_fn fn, void *arg,
                                 const char *want, char sha[BLOBSTORE_SHA_HEX], int64_t *size,
                                 struct mse_err *err) MSE_WUR;
/* blobstore_put_stream over a buffer. */
enum mse_rc blobstore_put(struct blobstore *bs, const void *data, size_t len, const char *want,
                          char sha[BLOBSTORE_SHA_HEX], struct mse_err *err) MSE_WUR;

/*
 * Streams the blob to fn in chunks of at most BLOBSTORE_CHUNK bytes, hashing as it goes.
 * MSE_ERR_NOT_FOUND when absent; MSE_ERR_CRYPTO when the content does not hash to its
 * address (what fn was given must then be thrown away); MSE_ERR_IO, MSE_ERR_UNAVAILABLE.
 */
enum mse_rc blobstore_get(struct blobstore *bs, const char *sha, blobstore_write_fn fn, void *arg,
                          struct mse_err *err) MSE_WUR;

/*
 * Opens the blob as a file descriptor positioned at its start whose content was verified
 * against the address (fs: the blob's file; s3: an unlinked staging file). The caller owns
 * *fd (close it) and may hand it to a sender such as libmicrohttpd. Errors as blobstore_get.
 */
enum mse_rc blobstore_open_verified(struct blobstore *bs, const char *sha, int *fd, int64_t *size,
                                    struct mse_err *err) MSE_WUR;

/* *exists and, when it does, *size. An unreachable store is MSE_ERR_UNAVAILABLE. */
enum mse_rc blobstore_stat(struct blobstore *bs, const char *sha, bool *exists, int64_t *size,
                           struct mse_err *err) MSE_WUR;

/*
 * Removes the blob (absent is fine). Only the collector of unreferenced uploads and retention
 * (once nothing references it) call this: content that anything references is never deleted.
 */
enum mse_rc blobstore_delete(struct blobstore *bs, const char *sha, struct mse_err *err) MSE_WUR;

/*
 * An unlinked file in the store's staging directory (on the disk the store writes to), for
 * content received before it is put; -1 with errno on failure. The caller closes it.
 */
int blobstore_tmpfile(struct blobstore *bs);

/* True when s is 64 lowercase hex digits (a blob address). */
bool blobstore_sha_ok(const char *s);

#endif

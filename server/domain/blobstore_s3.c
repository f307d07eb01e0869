/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `s3` blob backend: one object per blob, <endpoint>/<bucket>/<sha256> (path-style, which
 * every S3-compatible store accepts), each request signed by libcurl's AWS SigV4 support.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blobstore_impl.h"

/* SHA-256 of the empty payload: what SigV4 signs for a request without a body. */
#define S3_EMPTY_SHA         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_CONNECT_TIMEOUT_S 10L
/* A transfer slower than this many bytes/s for S3_LOW_SPEED_S seconds is abandoned. */
#define S3_LOW_SPEED_BPS 1024L
#define S3_LOW_SPEED_S   30L

struct s3_req {
    const char *method;
    const char *payload_sha; /* the body's SHA-256 (hex), signed as x-amz-content-sha256 */
    int in_fd;               /* PUT: the body; -1 otherwise */
    int64_t in_size;
    int out_fd; /* GET: where the body goes; -1 otherwise */
    long status;
    curl_off_t length; /* HEAD: Content-Length */
};

static size_t s3_read(char *buf, size_t size, size_t n, void *arg)
{
    const struct s3_req *r = arg;
    ssize_t got;
    do
        got = read(r->in_fd, buf, size * n);
    while (got < 0 && errno == EINTR);
    return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

static size_t s3_write(char *data, size_t size, size_t n, void *arg)
{
    const struct s3_req *r = arg;
    size_t total = size * n, done = 0;
    /* Only a 200's body is content; an error document is dropped. */
    if (r->status != 200 || r->out_fd < 0)
        return total;
    while (done < total) {
        ssize_t w = write(r->out_fd, data + done, total - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        done += (size_t)w;
    }
    return total;
}

/* The status line arrives before the body: remember it so that s3_write knows what it gets. */
static size_t s3_header(char *data, size_t size, size_t n, void *arg)
{
    struct s3_req *r = arg;
    long code;
    if (size * n > 9 && strncmp(data, "HTTP/", 5) == 0 && sscanf(data, "%*s %ld", &code) == 1)
        r->status = code;
    return size * n;
}

static void s3_options(CURL *c, struct blobstore *bs, struct s3_req *r)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, bs->sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, bs->userpwd);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, S3_LOW_SPEED_BPS);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, S3_LOW_SPEED_S);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (r->in_fd >= 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, s3_read);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->in_size);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/*
 * Sends one request for the blob's object and fills r->status. A transport failure is
 * MSE_ERR_UNAVAILABLE; the message names the endpoint and bucket, never the credentials.
 */
static enum mse_rc s3_request(struct blobstore *bs, const char *sha, struct s3_req *r,
                              struct mse_err *err)
{
    char url[2048], sig[128];
    int n = snprintf(url, sizeof(url), "%s/%s/%s", bs->endpoint, bs->bucket, sha);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(err->msg, sizeof(err->msg), "MSE_S3_ENDPOINT and MSE_S3_BUCKET are too long");
        return MSE_ERR_INVALID;
    }
    snprintf(sig, sizeof(sig), "x-amz-content-sha256: %s", r->payload_sha);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, sig);
    /* Objects are immutable: an Expect round trip before each upload buys nothing. */
    struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
    enum mse_rc rc = MSE_ERR_NOMEM;
    if (!c || !h2)
        goto out;
    h = h2;
    s3_options(c, bs, r);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode cc = curl_easy_perform(c);
    rc = MSE_ERR_UNAVAILABLE;
    if (cc != CURLE_OK) {
        snprintf(err->msg, sizeof(err->msg), "s3 %s %.200s/%.60s/%s: %s", r->method, bs->endpoint,
                 bs->bucket, sha, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->length);
    rc = MSE_OK;
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

/* A status the operation did not expect: 5xx may pass, anything else is a misconfiguration. */
static enum mse_rc s3_status_rc(struct blobstore *bs, const char *sha, const struct s3_req *r,
                                struct mse_err *err)
{
    snprintf(err->msg, sizeof(err->msg), "s3 %s %.200s/%.60s/%s answered %ld", r->method,
             bs->endpoint, bs->bucket, sha, r->status);
    return r->status >= 500 ? MSE_ERR_UNAVAILABLE : MSE_ERR_IO;
}

static enum mse_rc s3_commit(struct blobstore *bs, const char *sha, int fd, const char *path,
                             int64_t size, struct mse_err *err)
{
    struct s3_req r = {
        .method = "PUT", .payload_sha = sha, .in_fd = fd, .in_size = size, .out_fd = -1
    };
    enum mse_rc rc = s3_request(bs, sha, &r, err);
    unlink(path);
    if (rc == MSE_OK && r.status != 200)
        rc = s3_status_rc(bs, sha, &r, err);
    return rc;
}

static enum mse_rc s3_open(struct blobstore *bs, const char *sha, int *fd, struct mse_err *err)
{
    int out = blobstore_tmpfile(bs);
    if (out < 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot create a staging file in %.300s: %s", bs->tmp,
                 strerror(errno));
        return MSE_ERR_IO;
    }
    struct s3_req r = { .method = "GET", .payload_sha = S3_EMPTY_SHA, .in_fd = -1, .out_fd = out };
    enum mse_rc rc = s3_request(bs, sha, &r, err);
    if (rc == MSE_OK && r.status == 404) {
        snprintf(err->msg, sizeof(err->msg), "blob %s is not stored", sha);
        rc = MSE_ERR_NOT_FOUND;
    } else if (rc == MSE_OK && r.status != 200) {
        rc = s3_status_rc(bs, sha, &r, err);
    }
    if (rc == MSE_OK && lseek(out, 0, SEEK_SET) != 0)
        rc = MSE_ERR_IO;
    if (rc != MSE_OK) {
        close(out);
        return rc;
    }
    *fd = out;
    return MSE_OK;
}

static enum mse_rc s3_stat(struct blobstore *bs, const char *sha, bool *exists, int64_t *size,
                           struct mse_err *err)
{
    struct s3_req r = { .method = "HEAD", .payload_sha = S3_EMPTY_SHA, .in_fd = -1, .out_fd = -1 };
    enum mse_rc rc = s3_request(bs, sha, &r, err);
    if (rc != MSE_OK || r.status == 404)
        return rc;
    if (r.status != 200)
        return s3_status_rc(bs, sha, &r, err);
    *exists = true;
    *size = r.length >= 0 ? (int64_t)r.length : 0;
    return MSE_OK;
}

static enum mse_rc s3_remove(struct blobstore *bs, const char *sha, struct mse_err *err)
{
    struct s3_req r = {
        .method = "DELETE", .payload_sha = S3_EMPTY_SHA, .in_fd = -1, .out_fd = -1
    };
    enum mse_rc rc = s3_request(bs, sha, &r, err);
    if (rc == MSE_OK && r.status != 204 && r.status != 200 && r.status != 404)
        rc = s3_status_rc(bs, sha, &r, err);
    return rc;
}

const struct blobstore_ops blobstore_s3_ops = {
    .name = "s3",
    .commit = s3_commit,
    .open = s3_open,
    .stat = s3_stat,
    .remove = s3_remove,
};

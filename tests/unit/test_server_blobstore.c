/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blob store's contract, run against whichever backend the environment names:
 * MSE_TEST_BLOB_BACKEND=fs (default, a fresh directory) or s3 (MSE_S3_* name a bucket; the
 * test tests/api/test_blobstore.py starts a real S3-protocol server and runs this suite).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka.h needs the above first
#include <cmocka.h>
#include <curl/curl.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blobstore.h"
#include "crypto.h"

/* Asserts a store call's result, showing the store's message when it is not the one wanted. */
#define assert_rc(call, want)                                                                      \
    do {                                                                                           \
        err.msg[0] = '\0';                                                                         \
        enum mse_rc rc_ = (call);                                                                  \
        if (rc_ != (want))                                                                         \
            print_error("store: %s\n", err.msg);                                                   \
        assert_int_equal(rc_, (want));                                                             \
    } while (0)

static struct blobstore *store;
static bool is_fs;
static char dir[256];

static int store_open(void **state)
{
    (void)state;
    const char *backend = getenv("MSE_TEST_BLOB_BACKEND");
    is_fs = !backend || strcmp(backend, "s3") != 0;
    snprintf(dir, sizeof(dir), "%s/mse-blobstore-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    struct blobstore_config cfg = {
        .backend = is_fs ? BLOBSTORE_FS : BLOBSTORE_S3,
        .dir = dir,
        .s3_endpoint = getenv("MSE_S3_ENDPOINT"),
        .s3_bucket = getenv("MSE_S3_BUCKET"),
        .s3_region = getenv("MSE_S3_REGION"),
        .s3_access_key = getenv("MSE_S3_ACCESS_KEY_ID"),
        .s3_secret_key = getenv("MSE_S3_SECRET_ACCESS_KEY"),
    };
    struct mse_err err = { { 0 } };
    if (blobstore_new(&cfg, &store, &err) != MSE_OK) {
        fprintf(stderr, "blobstore_new: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int store_close(void **state)
{
    (void)state;
    blobstore_free(store);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct collect {
    char *data;
    size_t len, cap, max_chunk;
};

static bool collect_write(void *arg, const void *data, size_t n)
{
    struct collect *c = arg;
    if (n > c->max_chunk)
        c->max_chunk = n;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->data = realloc(c->data, c->cap);
        if (!c->data)
            return false;
    }
    memcpy(c->data + c->len, data, n);
    c->len += n;
    return true;
}

static void test_round_trip(void **state)
{
    (void)state;
    const char text[] = "round trip content";
    char sha[BLOBSTORE_SHA_HEX], want[BLOBSTORE_SHA_HEX];
    struct mse_err err;
    mse_crypto_sha256_hex(text, sizeof(text) - 1, want);
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, NULL, sha, &err), MSE_OK);
    assert_string_equal(sha, want);
    struct collect c = { 0 };
    assert_rc(blobstore_get(store, sha, collect_write, &c, &err), MSE_OK);
    assert_int_equal(c.len, sizeof(text) - 1);
    assert_memory_equal(c.data, text, c.len);
    free(c.data);
    bool exists = false;
    int64_t size = -1;
    assert_rc(blobstore_stat(store, sha, &exists, &size, &err), MSE_OK);
    assert_true(exists);
    assert_int_equal(size, sizeof(text) - 1);
    assert_string_equal(blobstore_backend_name(store), is_fs ? "fs" : "s3");
}

static void test_empty_content(void **state)
{
    (void)state;
    char sha[BLOBSTORE_SHA_HEX];
    struct mse_err err;
    assert_rc(blobstore_put(store, NULL, 0, NULL, sha, &err), MSE_OK);
    struct collect c = { 0 };
    assert_rc(blobstore_get(store, sha, collect_write, &c, &err), MSE_OK);
    assert_int_equal(c.len, 0);
    free(c.data);
}

static unsigned files_in(const char *path)
{
    unsigned n = 0;
    DIR *d = opendir(path);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_stored_once(void **state)
{
    (void)state;
    const char text[] = "the same content twice";
    char a[BLOBSTORE_SHA_HEX], b[BLOBSTORE_SHA_HEX], fan[400];
    struct mse_err err;
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, NULL, a, &err), MSE_OK);
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, a, b, &err), MSE_OK);
    assert_string_equal(a, b);
    /* No staging file is left behind, and one address holds one file. */
    snprintf(fan, sizeof(fan), "%s/blobs/tmp", dir);
    assert_int_equal(files_in(fan), 0);
    if (is_fs) {
        snprintf(fan, sizeof(fan), "%s/blobs/%.2s", dir, a);
        assert_int_equal(files_in(fan), 1);
    }
}

static void test_wrong_address_refused(void **state)
{
    (void)state;
    const char text[] = "content with a claimed address";
    char sha[BLOBSTORE_SHA_HEX], want[BLOBSTORE_SHA_HEX];
    struct mse_err err;
    memset(want, 'a', 64);
    want[64] = '\0';
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, want, sha, &err), MSE_ERR_INVALID);
    bool exists = true;
    int64_t size;
    assert_rc(blobstore_stat(store, sha, &exists, &size, &err), MSE_OK);
    assert_false(exists);
}

static void test_missing(void **state)
{
    (void)state;
    char sha[BLOBSTORE_SHA_HEX];
    struct mse_err err;
    mse_crypto_sha256_hex("never stored", 12, sha);
    struct collect c = { 0 };
    assert_rc(blobstore_get(store, sha, collect_write, &c, &err), MSE_ERR_NOT_FOUND);
    int fd = 7;
    int64_t size;
    assert_rc(blobstore_open_verified(store, sha, &fd, &size, &err), MSE_ERR_NOT_FOUND);
    assert_int_equal(fd, -1);
    bool exists = true;
    assert_rc(blobstore_stat(store, sha, &exists, &size, &err), MSE_OK);
    assert_false(exists);
    assert_rc(blobstore_delete(store, sha, &err), MSE_OK);
    free(c.data);
}

static void test_delete(void **state)
{
    (void)state;
    const char text[] = "collected later";
    char sha[BLOBSTORE_SHA_HEX];
    struct mse_err err;
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, NULL, sha, &err), MSE_OK);
    assert_rc(blobstore_delete(store, sha, &err), MSE_OK);
    struct collect c = { 0 };
    assert_rc(blobstore_get(store, sha, collect_write, &c, &err), MSE_ERR_NOT_FOUND);
    free(c.data);
}

static void test_open_verified(void **state)
{
    (void)state;
    const char text[] = "served from a descriptor";
    char sha[BLOBSTORE_SHA_HEX], got[sizeof(text)] = { 0 };
    struct mse_err err;
    int fd = -1;
    int64_t size = 0;
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, NULL, sha, &err), MSE_OK);
    assert_rc(blobstore_open_verified(store, sha, &fd, &size, &err), MSE_OK);
    assert_int_equal(size, sizeof(text) - 1);
    assert_int_equal(read(fd, got, sizeof(got)), sizeof(text) - 1);
    assert_string_equal(got, text);
    close(fd);
}

/* fs: a flipped byte on disk is found on every read path. */
static void test_corruption_detected(void **state)
{
    (void)state;
    if (!is_fs)
        skip();
    const char text[] = "content that will rot";
    char sha[BLOBSTORE_SHA_HEX], path[400];
    struct mse_err err;
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, NULL, sha, &err), MSE_OK);
    snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", dir, sha, sha);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fputc('R', f), 'R');
    fclose(f);
    struct collect c = { 0 };
    assert_rc(blobstore_get(store, sha, collect_write, &c, &err), MSE_ERR_CRYPTO);
    assert_non_null(strstr(err.msg, "corrupt"));
    free(c.data);
    int fd = 7;
    int64_t size;
    assert_rc(blobstore_open_verified(store, sha, &fd, &size, &err), MSE_ERR_CRYPTO);
    assert_int_equal(fd, -1);
    /* A put of the right content repairs it. */
    char again[BLOBSTORE_SHA_HEX];
    assert_rc(blobstore_put(store, text, sizeof(text) - 1, sha, again, &err), MSE_OK);
    assert_rc(blobstore_open_verified(store, sha, &fd, &size, &err), MSE_OK);
    close(fd);
}

#define CONCURRENT     8
#define CONCURRENT_LEN (512 * 1024)
static char *shared_content;

static void *put_same(void *arg)
{
    char *sha = arg;
    struct mse_err err;
    if (blobstore_put(store, shared_content, CONCURRENT_LEN, NULL, sha, &err) != MSE_OK)
        sha[0] = '\0';
    return NULL;
}

static void test_concurrent_puts(void **state)
{
    (void)state;
    shared_content = malloc(CONCURRENT_LEN);
    assert_non_null(shared_content);
    for (size_t i = 0; i < CONCURRENT_LEN; i++)
        shared_content[i] = (char)(i * 31 + 7);
    pthread_t t[CONCURRENT];
    char sha[CONCURRENT][BLOBSTORE_SHA_HEX];
    for (int i = 0; i < CONCURRENT; i++)
        assert_int_equal(pthread_create(&t[i], NULL, put_same, sha[i]), 0);
    for (int i = 0; i < CONCURRENT; i++)
        pthread_join(t[i], NULL);
    for (int i = 1; i < CONCURRENT; i++)
        assert_string_equal(sha[i], sha[0]);
    struct mse_err err;
    struct collect c = { 0 };
    assert_rc(blobstore_get(store, sha[0], collect_write, &c, &err), MSE_OK);
    assert_int_equal(c.len, CONCURRENT_LEN);
    assert_memory_equal(c.data, shared_content, CONCURRENT_LEN);
    free(c.data);
    free(shared_content);
}

/* A producer of LARGE_LEN deterministic bytes, handed out in whatever pieces are asked. */
#define LARGE_LEN ((int64_t)48 * 1024 * 1024 + 12345)
struct gen {
    int64_t at;
};

static ssize_t gen_read(void *arg, void *buf, size_t cap)
{
    struct gen *g = arg;
    int64_t left = LARGE_LEN - g->at;
    size_t n = left < (int64_t)cap ? (size_t)left : cap;
    unsigned char *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((g->at + (int64_t)i) * 2654435761u >> 13);
    g->at += (int64_t)n;
    return (ssize_t)n;
}

struct hashing {
    EVP_MD_CTX *md;
    int64_t len;
    size_t max_chunk;
};

static bool hashing_write(void *arg, const void *data, size_t n)
{
    struct hashing *h = arg;
    EVP_DigestUpdate(h->md, data, n);
    h->len += (int64_t)n;
    if (n > h->max_chunk)
        h->max_chunk = n;
    return true;
}

static void test_large_streamed(void **state)
{
    (void)state;
    struct gen g = { 0 };
    char sha[BLOBSTORE_SHA_HEX], got[BLOBSTORE_SHA_HEX];
    int64_t size = 0;
    struct mse_err err;
    assert_rc(blobstore_put_stream(store, gen_read, &g, NULL, sha, &size, &err), MSE_OK);
    assert_int_equal(size, LARGE_LEN);
    struct hashing h = { EVP_MD_CTX_new(), 0, 0 };
    assert_true(EVP_DigestInit_ex(h.md, EVP_sha256(), NULL));
    assert_rc(blobstore_get(store, sha, hashing_write, &h, &err), MSE_OK);
    unsigned char d[32];
    unsigned n;
    EVP_DigestFinal_ex(h.md, d, &n);
    EVP_MD_CTX_free(h.md);
    mse_crypto_hex(d, sizeof(d), got);
    assert_string_equal(got, sha);
    assert_int_equal(h.len, LARGE_LEN);
    /* Streamed: the reader never got more than one chunk at a time. */
    assert_true(h.max_chunk <= BLOBSTORE_CHUNK);
}

static void test_bad_address(void **state)
{
    (void)state;
    struct mse_err err;
    struct collect c = { 0 };
    assert_rc(blobstore_get(store, "../../etc/passwd", collect_write, &c, &err), MSE_ERR_INVALID);
    assert_false(
            blobstore_sha_ok("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_empty_content),
        cmocka_unit_test(test_stored_once),     cmocka_unit_test(test_wrong_address_refused),
        cmocka_unit_test(test_missing),         cmocka_unit_test(test_delete),
        cmocka_unit_test(test_open_verified),   cmocka_unit_test(test_corruption_detected),
        cmocka_unit_test(test_concurrent_puts), cmocka_unit_test(test_large_streamed),
        cmocka_unit_test(test_bad_address),
    };
    int failed = cmocka_run_group_tests(tests, store_open, store_close);
    curl_global_cleanup();
    return failed;
}

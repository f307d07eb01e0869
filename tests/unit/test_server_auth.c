/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the auth building blocks: failure back-off, token cache, ETags, cursors, verr. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cursor.h"
#include "etag.h"
#include "ratelimit.h"
#include "token_cache.h"
#include "verr.h"

static void test_ratelimit_delay_doubles_after_the_free_failures(void **state)
{
    (void)state;
    assert_int_equal(ratelimit_delay_ms(0, 5, 1000, 300000), 0);
    assert_int_equal(ratelimit_delay_ms(4, 5, 1000, 300000), 0);
    assert_int_equal(ratelimit_delay_ms(5, 5, 1000, 300000), 1000);
    assert_int_equal(ratelimit_delay_ms(6, 5, 1000, 300000), 2000);
    assert_int_equal(ratelimit_delay_ms(7, 5, 1000, 300000), 4000);
    assert_int_equal(ratelimit_delay_ms(13, 5, 1000, 300000), 256000);
    assert_int_equal(ratelimit_delay_ms(14, 5, 1000, 300000), 300000);
    assert_int_equal(ratelimit_delay_ms(UINT_MAX, 5, 1000, 300000), 300000);
}

static void test_ratelimit_backoff(void **state)
{
    (void)state;
    /* Two free failures, then 1 s, 2 s, 4 s capped at 3 s; forgotten after 10 s of quiet. */
    struct ratelimit *rl = ratelimit_new(1000, 3000, 10000, 4);
    assert_non_null(rl);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 0), 0);
    ratelimit_fail(rl, "a:1.2.3.4", 1000);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 1000), 0);
    ratelimit_fail(rl, "a:1.2.3.4", 2000);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 2000), 1000);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 2999), 1);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 3000), 0);
    /* The same failures weigh differently for a key allowed more of them. */
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 3, 2000), 0);
    ratelimit_fail(rl, "a:1.2.3.4", 3000);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 3000), 2000);
    ratelimit_fail(rl, "a:1.2.3.4", 5000);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 5000), 3000);
    /* Other keys are untouched. */
    assert_int_equal(ratelimit_blocked(rl, "p:1.2.3.4 admin", 2, 5000), 0);
    /* Quiet for the forget time: the key starts over with its free failures. */
    ratelimit_fail(rl, "a:1.2.3.4", 15000);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 15000), 0);
    /* Cleared (it authenticated): starts over too. */
    ratelimit_fail(rl, "a:1.2.3.4", 15100);
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 15100), 1000);
    ratelimit_clear(rl, "a:1.2.3.4");
    assert_int_equal(ratelimit_blocked(rl, "a:1.2.3.4", 2, 15100), 0);
    ratelimit_free(rl);
    assert_null(ratelimit_new(0, 1000, 1000, 4));
    assert_null(ratelimit_new(2000, 1000, 1000, 4));
    assert_null(ratelimit_new(1000, 1000, 1000, 0));
    ratelimit_free(NULL);
}

static void test_ratelimit_eviction(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1000, 60000, 60000, 2);
    ratelimit_fail(rl, "k1", 100);
    ratelimit_fail(rl, "k2", 200);
    assert_true(ratelimit_blocked(rl, "k1", 1, 300) > 0);
    /* Full: the least recently failing key makes room. */
    ratelimit_fail(rl, "k3", 300);
    assert_int_equal(ratelimit_blocked(rl, "k1", 1, 300), 0);
    assert_true(ratelimit_blocked(rl, "k2", 1, 300) > 0);
    assert_true(ratelimit_blocked(rl, "k3", 1, 300) > 0);
    ratelimit_free(rl);
}

static void principal_set(struct principal *p, const char *uuid, enum principal_kind kind)
{
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    snprintf(p->client_uuid, sizeof(p->client_uuid), "%s", uuid);
    snprintf(p->client_id, sizeof(p->client_id), "client-%c", uuid[0]);
}

static void test_token_cache(void **state)
{
    (void)state;
    struct token_cache *c = token_cache_new(64, 5000);
    uint8_t h1[MSE_SHA256_LEN], h2[MSE_SHA256_LEN];
    struct principal p, got;
    mse_crypto_sha256("token-one", 9, h1);
    mse_crypto_sha256("token-two", 9, h2);
    principal_set(&p, "11111111-1111-1111-1111-111111111111", PRINCIPAL_ADMIN);
    uint64_t gen = token_cache_generation(c);
    assert_false(token_cache_get(c, h1, 0, &got));
    token_cache_put(c, h1, &p, gen, 0, 60000);
    assert_true(token_cache_get(c, h1, 4999, &got));
    assert_string_equal(got.client_uuid, p.client_uuid);
    assert_false(token_cache_get(c, h1, 5000, &got)); /* the cache's own bound */
    assert_false(token_cache_get(c, h2, 0, &got));
    /* A token expiring sooner than the bound is kept only until then. */
    token_cache_put(c, h2, &p, gen, 0, 1000);
    assert_false(token_cache_get(c, h2, 1000, &got));
    /* Evicting a client forgets its tokens and refuses puts based on older reads. */
    token_cache_put(c, h1, &p, gen, 10000, 70000);
    assert_true(token_cache_get(c, h1, 10001, &got));
    token_cache_evict_client(c, p.client_uuid);
    assert_false(token_cache_get(c, h1, 10001, &got));
    token_cache_put(c, h1, &p, gen, 10002, 70000);
    assert_false(token_cache_get(c, h1, 10003, &got));
    gen = token_cache_generation(c);
    token_cache_put(c, h1, &p, gen, 10002, 70000);
    assert_true(token_cache_get(c, h1, 10003, &got));
    token_cache_evict_token(c, h1);
    assert_false(token_cache_get(c, h1, 10003, &got));
    token_cache_free(c);
    /* A zero bound disables caching. */
    c = token_cache_new(8, 0);
    token_cache_put(c, h1, &p, token_cache_generation(c), 0, 60000);
    assert_false(token_cache_get(c, h1, 0, &got));
    token_cache_free(c);
    token_cache_free(NULL);
}

static void test_etag_if_match(void **state)
{
    (void)state;
    char tag[ETAG_MAX];
    etag_format(7, tag);
    assert_string_equal(tag, "\"7\"");
    assert_int_equal(etag_if_match(NULL, 7), ETAG_ABSENT);
    assert_int_equal(etag_if_match("\"7\"", 7), ETAG_MATCH);
    assert_int_equal(etag_if_match(" * ", 7), ETAG_MATCH);
    assert_int_equal(etag_if_match("\"6\", \"7\"", 7), ETAG_MATCH);
    assert_int_equal(etag_if_match("\"6\"", 7), ETAG_MISMATCH);
    assert_int_equal(etag_if_match("W/\"7\"", 7), ETAG_MISMATCH); /* strong comparison */
    assert_int_equal(etag_if_match("\"70\"", 7), ETAG_MISMATCH);
    assert_int_equal(etag_if_match("7", 7), ETAG_MALFORMED);
    assert_int_equal(etag_if_match("\"7", 7), ETAG_MALFORMED);
    assert_int_equal(etag_if_match("", 7), ETAG_MALFORMED);
    assert_int_equal(etag_if_match("\"7\" \"8\"", 7), ETAG_MALFORMED);
    assert_int_equal(etag_if_match("*, \"7\"", 7), ETAG_MALFORMED);
}

static void test_cursor(void **state)
{
    (void)state;
    char c[CURSOR_MAX];
    int64_t key = 0;
    cursor_encode('t', 123456789, c);
    assert_int_equal(cursor_decode(c, 't', &key), MSE_OK);
    assert_int_equal(key, 123456789);
    assert_int_equal(cursor_decode(c, 's', &key), MSE_ERR_INVALID); /* another list's */
    assert_int_equal(cursor_decode("", 't', &key), MSE_ERR_INVALID);
    assert_int_equal(cursor_decode("!!!", 't', &key), MSE_ERR_INVALID);
    assert_int_equal(cursor_decode("dC4tMQ", 't', &key), MSE_ERR_INVALID); /* "t.-1" */
    assert_int_equal(cursor_decode("dC54", 't', &key), MSE_ERR_INVALID);   /* "t.x" */
    cursor_encode('a', INT64_MAX, c);
    assert_int_equal(cursor_decode(c, 'a', &key), MSE_OK);
    assert_true(key == INT64_MAX);
}

static void test_verr_cap(void **state)
{
    (void)state;
    struct verr v;
    verr_init(&v);
    for (int i = 0; i < MSE_MAX_FIELD_ERRORS + 10; i++)
        verr_add(&v, "f", "error %d", i);
    assert_int_equal(v.count, MSE_MAX_FIELD_ERRORS + 10);
    assert_int_equal(v.kept, MSE_MAX_FIELD_ERRORS);
    assert_true(verr_has(&v, "f") && !verr_has(&v, "g"));
    verr_cleanup(&v);
    verr_cleanup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_delay_doubles_after_the_free_failures),
        cmocka_unit_test(test_ratelimit_backoff),
        cmocka_unit_test(test_ratelimit_eviction),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_etag_if_match),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_verr_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

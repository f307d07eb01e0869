/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the EWS session pool: maps run every call once, failures cancel the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ews.h"
#include "ews_pool.h"
#include "timefmt.h"

#define CALLS 64

/* What the calls of one map saw. No request is sent: the sessions only carry the flags. */
struct probe {
    atomic_uint calls[CALLS];
    atomic_uint running;
    atomic_uint most_running;
    size_t fail_at;   /* this call returns false (SIZE_MAX: none) */
    int64_t sleep_ms; /* every call waits this long on its session (a request in flight) */
    struct ews_session *sessions[CALLS];
    atomic_bool cancelled[CALLS];
};

static bool probe_call(void *ctx, size_t i, struct ews_session *s)
{
    struct probe *p = ctx;
    unsigned now = atomic_fetch_add(&p->running, 1) + 1;
    unsigned most = atomic_load(&p->most_running);
    while (now > most && !atomic_compare_exchange_weak(&p->most_running, &most, now))
        ;
    atomic_fetch_add(&p->calls[i], 1);
    p->sessions[i] = s;
    if (i == p->fail_at) {
        atomic_fetch_sub(&p->running, 1);
        return false;
    }
    bool slept = ews_session_sleep(s, p->sleep_ms);
    atomic_store(&p->cancelled[i], !slept);
    atomic_fetch_sub(&p->running, 1);
    return i != p->fail_at && slept;
}

struct fixture {
    struct ews_config cfg;
    struct ews_session *main;
    struct ews_pool *pool;
    atomic_bool stop;
};

static int setup(void **state)
{
    static struct fixture f;
    struct mse_err err;
    ews_config_defaults(&f.cfg);
    f.cfg.url = "http://127.0.0.1:9/EWS/Exchange.asmx";
    f.cfg.auth = EWS_AUTH_NONE;
    atomic_init(&f.stop, false);
    assert_int_equal(ews_session_new(&f.cfg, &f.main, &err), MSE_OK);
    assert_int_equal(ews_session_set_mailbox(f.main, "user@example.com"), MSE_OK);
    ews_session_set_stop(f.main, &f.stop);
    assert_int_equal(ews_pool_new(f.main, 4, &f.pool), MSE_OK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ews_pool_free(f->pool);
    ews_session_free(f->main);
    return 0;
}

static void probe_init(struct probe *p, size_t fail_at, int64_t sleep_ms)
{
    memset(p, 0, sizeof(*p));
    p->fail_at = fail_at;
    p->sleep_ms = sleep_ms;
}

/* Every call runs exactly once, several at a time, on sessions other than the main one. */
static void test_map_runs_each_call_once(void **state)
{
    struct fixture *f = *state;
    struct probe p;
    probe_init(&p, SIZE_MAX, 50);
    assert_int_equal(ews_pool_map(f->pool, 12, probe_call, &p), MSE_OK);
    for (size_t i = 0; i < 12; i++) {
        assert_int_equal(atomic_load(&p.calls[i]), 1);
        assert_non_null(p.sessions[i]);
        assert_ptr_not_equal(p.sessions[i], f->main);
    }
    assert_int_equal(atomic_load(&p.calls[12]), 0);
    assert_true(atomic_load(&p.most_running) > 1);
    assert_true(atomic_load(&p.most_running) <= 4);
    assert_int_equal(ews_pool_map(f->pool, 0, probe_call, &p), MSE_OK);
}

/* A failing call ends the requests in flight beside it and keeps the rest from starting. */
static void test_map_failure_cancels_the_rest(void **state)
{
    struct fixture *f = *state;
    struct probe p;
    probe_init(&p, 2, 10000); /* call 2 fails at once; the others would wait 10 s each */
    int64_t t0 = mse_time_mono_ms();
    assert_int_equal(ews_pool_map(f->pool, CALLS, probe_call, &p), MSE_ERR_UNAVAILABLE);
    assert_true(mse_time_mono_ms() - t0 < 5000);
    size_t ran = 0;
    for (size_t i = 0; i < CALLS; i++) {
        ran += atomic_load(&p.calls[i]);
        if (i != 2 && atomic_load(&p.calls[i]))
            assert_true(atomic_load(&p.cancelled[i]));
    }
    assert_int_equal(atomic_load(&p.calls[2]), 1);
    assert_true(ran < CALLS); /* the failure kept later calls from starting */
    /* The pool is usable again: the cancellation does not stick. */
    probe_init(&p, SIZE_MAX, 1);
    assert_int_equal(ews_pool_map(f->pool, 8, probe_call, &p), MSE_OK);
    for (size_t i = 0; i < 8; i++)
        assert_false(atomic_load(&p.cancelled[i]));
}

/* The background call runs beside the caller; a cancelled wait ends its request. */
static void test_background_start_wait_cancel(void **state)
{
    struct fixture *f = *state;
    struct probe p;
    probe_init(&p, SIZE_MAX, 20);
    assert_false(ews_pool_busy(f->pool));
    assert_int_equal(ews_pool_start(f->pool, probe_call, &p), MSE_OK);
    assert_true(ews_pool_busy(f->pool));
    assert_int_equal(ews_pool_start(f->pool, probe_call, &p), MSE_ERR_INVALID);
    ews_pool_wait(f->pool, false);
    assert_false(ews_pool_busy(f->pool));
    assert_int_equal(atomic_load(&p.calls[0]), 1);
    assert_false(atomic_load(&p.cancelled[0]));

    probe_init(&p, SIZE_MAX, 60000);
    int64_t t0 = mse_time_mono_ms();
    assert_int_equal(ews_pool_start(f->pool, probe_call, &p), MSE_OK);
    ews_pool_wait(f->pool, true);
    assert_true(mse_time_mono_ms() - t0 < 5000);
    assert_true(atomic_load(&p.cancelled[0]));
    ews_pool_wait(f->pool, false); /* nothing running: returns */
}

/* The job's stop flag reaches the side sessions too. */
static void test_stop_reaches_side_sessions(void **state)
{
    struct fixture *f = *state;
    struct probe p;
    probe_init(&p, SIZE_MAX, 60000);
    assert_int_equal(ews_pool_start(f->pool, probe_call, &p), MSE_OK);
    atomic_store(&f->stop, true);
    int64_t t0 = mse_time_mono_ms();
    ews_pool_wait(f->pool, false);
    assert_true(mse_time_mono_ms() - t0 < 5000);
    assert_true(atomic_load(&p.cancelled[0]));
    atomic_store(&f->stop, false);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_runs_each_call_once),
        cmocka_unit_test(test_map_failure_cancels_the_rest),
        cmocka_unit_test(test_background_start_wait_cancel),
        cmocka_unit_test(test_stop_reaches_side_sessions),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}

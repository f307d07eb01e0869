/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the in-process metrics registry and its Prometheus rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static const char *const methods[] = { "GET", "POST" };
static const char *const patterns[] = { "/a", "/b/{id}" };

static int setup(void **state)
{
    (void)state;
    return metrics_init(2) == MSE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    metrics_cleanup();
    return 0;
}

static void test_requests_by_route_and_status(void **state)
{
    (void)state;
    metrics_observe_request(0, 200, 300);
    metrics_observe_request(0, 200, 2000);
    metrics_observe_request(0, 404, 20000000);
    metrics_observe_request(SIZE_MAX, 404, 10);
    struct mse_buf b;
    mse_buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(&b, methods, patterns), MSE_OK);
    assert_non_null(strstr(
            b.data, "mse_http_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 2\n"));
    assert_non_null(strstr(
            b.data, "mse_http_requests_total{method=\"GET\",route=\"/a\",status=\"404\"} 1\n"));
    /* Buckets are cumulative; 20 s exceeds every finite bucket. */
    assert_non_null(strstr(b.data, "route=\"/a\",le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(b.data, "route=\"/a\",le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(b.data, "route=\"/a\",le=\"10\"} 2\n"));
    assert_non_null(strstr(b.data, "route=\"/a\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.data, "route=\"unmatched\",status=\"404\"} 1\n"));
    /* Routes nobody called are left out. */
    assert_null(strstr(b.data, "/b/{id}"));
    mse_buf_cleanup(&b);
}

static void test_counters(void **state)
{
    (void)state;
    metrics_count(METRIC_LEASE_EXPIRIES, 2);
    metrics_count(METRIC_LEASE_EXPIRIES, 1);
    struct mse_buf b;
    mse_buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(&b, methods, patterns), MSE_OK);
    assert_non_null(strstr(b.data, "# TYPE mse_lease_expiries_total counter\n"
                                   "mse_lease_expiries_total 3\n"));
    mse_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_by_route_and_status),
        cmocka_unit_test(test_counters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

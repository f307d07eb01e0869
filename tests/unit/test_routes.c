/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the route matcher and SQLSTATE mapping (no socket, no database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "routes.h"

static void h(struct request *req)
{
    (void)req;
}

static const struct route table[] = {
    { "GET", "/api/v1/sites", h, ROLE_READ, 0 },
    { "POST", "/api/v1/sites", h, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/sites/{id}", h, ROLE_READ, 0 },
    { "PATCH", "/api/v1/sites/{id}", h, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/sites/{id}/credentials", h, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/mailboxes/{address}/items", h, ROLE_READ, 0 },
};
#define N (sizeof(table) / sizeof(table[0]))

static enum route_result find(const char *method, const char *path, struct route_match *m)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    return route_find(table, N, method, buf, m);
}

static void test_exact_and_placeholder_matches(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(find("GET", "/api/v1/sites", &m), ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[0]);
    assert_int_equal(find("PATCH", "/api/v1/sites/abc", &m), ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[3]);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "abc");
    assert_int_equal(find("GET", "/api/v1/mailboxes/a@example.com/items", &m), ROUTE_FOUND);
    assert_string_equal(m.params[0], "a@example.com");
}

static void test_head_uses_get(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(find("HEAD", "/api/v1/sites/x", &m), ROUTE_FOUND);
    assert_ptr_equal(m.route, &table[2]);
}

static void test_405_lists_allowed_methods(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(find("DELETE", "/api/v1/sites", &m), ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_int_equal(find("GET", "/api/v1/sites/x/credentials", &m), ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "POST");
}

static void test_404_cases(void **state)
{
    (void)state;
    struct route_match m;
    const char *paths[] = { "/",
                            "/api",
                            "/api/v1/sites/",
                            "/api/v1//sites",
                            "/api/v1/sites/a/b",
                            "api/v1/sites",
                            "/api/v1/sites/x/credentials/y" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        assert_int_equal(find("GET", paths[i], &m), ROUTE_NOT_FOUND);
    char deep[64] = { 0 };
    for (int i = 0; i < 20; i++)
        memcpy(deep + 2 * i, "/a", 2);
    assert_int_equal(find("GET", deep, &m), ROUTE_NOT_FOUND);
}

static void test_sqlstate_mapping(void **state)
{
    (void)state;
    assert_int_equal(db_error_rc("23505"), MSE_ERR_CONFLICT);
    assert_int_equal(db_error_rc("23503"), MSE_ERR_CONFLICT);
    assert_int_equal(db_error_rc("40001"), MSE_ERR_CONFLICT);
    assert_int_equal(db_error_rc("22P02"), MSE_ERR_INVALID);
    assert_int_equal(db_error_rc("23514"), MSE_ERR_INVALID);
    assert_int_equal(db_error_rc("08006"), MSE_ERR_UNAVAILABLE);
    assert_int_equal(db_error_rc("57P01"), MSE_ERR_UNAVAILABLE);
    assert_int_equal(db_error_rc(""), MSE_ERR_UNAVAILABLE);
    assert_int_equal(db_error_rc("42P01"), MSE_ERR_DB);
}

static void test_server_table_is_well_formed(void **state)
{
    (void)state;
    for (size_t i = 0; i < routes_count; i++) {
        const struct route *r = &routes_table[i];
        assert_non_null(r->handler);
        assert_int_equal(r->pattern[0], '/');
        /* No two rows share method and pattern. */
        for (size_t j = i + 1; j < routes_count; j++)
            assert_false(!strcmp(r->method, routes_table[j].method) &&
                         !strcmp(r->pattern, routes_table[j].pattern));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_placeholder_matches),
        cmocka_unit_test(test_head_uses_get),
        cmocka_unit_test(test_405_lists_allowed_methods),
        cmocka_unit_test(test_404_cases),
        cmocka_unit_test(test_sqlstate_mapping),
        cmocka_unit_test(test_server_table_is_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

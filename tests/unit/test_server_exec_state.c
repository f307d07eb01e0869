/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for exec_state.c: every legal transition and every illegal one, the state sets
 * the SQL tests, the spellings against schema 010's CHECK lists, and the derived task fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec_state.h"

/* Events a worker sends under its fence: legal exactly while the execution is leased. */
static bool fenced_event(enum exec_event e)
{
    return e == EV_HEARTBEAT || e == EV_MEMBERSHIP || e == EV_PROGRESS || e == EV_SUBMIT ||
           e == EV_FINISH_MAILBOX || e == EV_LOCK_GRANTED || e == EV_LOCK_DENIED || e == EV_STOP ||
           e == EV_COMPLETE || e == EV_COMPLETE_STOPPED || e == EV_RELEASE || e == EV_LEASE_EXPIRED;
}

/*
 * The expected outcome of (from, event), written from docs/worker-protocol.md rather than
 * read from the table: false when illegal.
 */
static bool expected(enum exec_state from, enum exec_event ev, enum exec_state *to,
                     enum task_live *live)
{
    switch (ev) {
    case EV_QUEUE:
        *to = EXEC_QUEUED, *live = LIVE_QUEUED;
        return from == EXEC_NONE;
    case EV_SKIP:
        *to = EXEC_SKIPPED, *live = LIVE_IDLE;
        return from == EXEC_NONE;
    case EV_CLAIM:
        *to = EXEC_RUNNING, *live = LIVE_RUNNING;
        return from == EXEC_QUEUED;
    case EV_CANCEL:
        *to = EXEC_CANCELLED, *live = LIVE_IDLE;
        return from == EXEC_QUEUED;
    case EV_LOCK_GRANTED:
        *to = EXEC_RUNNING, *live = LIVE_RUNNING;
        break;
    case EV_LOCK_DENIED:
        *to = EXEC_WAITING, *live = LIVE_WAITING;
        break;
    case EV_COMPLETE:
        *to = EXEC_COMPLETED, *live = LIVE_IDLE;
        break;
    case EV_COMPLETE_STOPPED:
        *to = EXEC_CANCELLED, *live = LIVE_IDLE;
        break;
    case EV_RELEASE:
    case EV_LEASE_EXPIRED:
        *to = EXEC_QUEUED, *live = LIVE_QUEUED;
        break;
    default: /* the fenced writes that change no state */
        *to = from, *live = from == EXEC_WAITING ? LIVE_WAITING : LIVE_RUNNING;
        break;
    }
    assert_true(fenced_event(ev));
    return from == EXEC_RUNNING || from == EXEC_WAITING;
}

static void test_every_pair(void **state)
{
    (void)state;
    unsigned legal = 0;
    for (int f = 0; f < EXEC_STATE_COUNT; f++)
        for (int e = 0; e < EXEC_EVENT_COUNT; e++) {
            enum exec_state to = EXEC_NONE;
            enum task_live live = LIVE_IDLE;
            struct exec_transition got = { .from = EXEC_STATE_COUNT };
            bool ok = expected((enum exec_state)f, (enum exec_event)e, &to, &live);
            enum mse_rc rc = exec_state_next((enum exec_state)f, (enum exec_event)e, &got);
            if (!ok) {
                if (rc != MSE_ERR_CONFLICT)
                    fail_msg("%s from %s: legal, want illegal",
                             exec_state_event_name((enum exec_event)e),
                             exec_state_name((enum exec_state)f) ?: "none");
                assert_int_equal(got.from, EXEC_STATE_COUNT); /* untouched */
                continue;
            }
            legal++;
            if (rc != MSE_OK)
                fail_msg("%s from %s: illegal, want legal",
                         exec_state_event_name((enum exec_event)e),
                         exec_state_name((enum exec_state)f) ?: "none");
            assert_int_equal(got.from, f);
            assert_int_equal(got.event, e);
            assert_int_equal(got.to, to);
            assert_int_equal(got.live, live);
        }
    size_t n;
    exec_state_transitions(&n);
    assert_int_equal(legal, n); /* no row of the table is unreachable or repeated */
}

static void test_final_states_take_nothing(void **state)
{
    (void)state;
    struct exec_transition t;
    for (int f = 0; f < EXEC_STATE_COUNT; f++)
        for (int e = 0; e < EXEC_EVENT_COUNT && exec_state_final((enum exec_state)f); e++)
            assert_int_equal(exec_state_next((enum exec_state)f, (enum exec_event)e, &t),
                             MSE_ERR_CONFLICT);
    /* The table's live state is what the task shows while the execution is in `to`. */
    size_t n;
    const struct exec_transition *tab = exec_state_transitions(&n);
    for (size_t i = 0; i < n; i++) {
        enum task_live want = LIVE_IDLE;
        if (exec_state_active(tab[i].to))
            assert_int_equal(exec_state_live_parse(exec_state_name(tab[i].to), &want), MSE_OK);
        assert_int_equal(tab[i].live, want);
    }
}

/* Every state is reached from nothing and every active one can still end. */
static void test_reachability(void **state)
{
    (void)state;
    size_t n;
    const struct exec_transition *tab = exec_state_transitions(&n);
    bool seen[EXEC_STATE_COUNT] = { [EXEC_NONE] = true };
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++)
            if (seen[tab[i].from] && !seen[tab[i].to])
                seen[tab[i].to] = grew = true;
    }
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        assert_true(seen[s]);
    bool ends[EXEC_STATE_COUNT] = { 0 };
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        ends[s] = exec_state_final((enum exec_state)s);
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++)
            if (ends[tab[i].to] && !ends[tab[i].from])
                ends[tab[i].from] = grew = true;
    }
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        assert_true(ends[s]);
}

static bool mbox_expected(enum mbox_state from, enum mbox_event ev, enum mbox_state *to)
{
    static const enum mbox_state finish[] = {
        [MEV_FINISH_HEALTHY] = MBOX_HEALTHY,
        [MEV_FINISH_WARNING] = MBOX_WARNING,
        [MEV_FINISH_ERROR] = MBOX_ERROR,
        [MEV_FINISH_SKIPPED] = MBOX_SKIPPED,
    };
    if (exec_state_mbox_final(from))
        return false; /* a mailbox ends once per execution */
    switch (ev) {
    case MEV_LOCK_GRANTED:
        *to = MBOX_SYNCING;
        return true;
    case MEV_LOCK_DENIED:
        *to = MBOX_WAITING_FOR_LOCK;
        return true;
    case MEV_REQUEUE:
        *to = MBOX_PENDING; /* a pending one was never started: nothing to hand back */
        return from != MBOX_PENDING;
    case MEV_EXEC_END:
        *to = MBOX_SKIPPED;
        return true;
    default:
        *to = finish[ev];
        return true;
    }
}

static void test_mailbox_pairs(void **state)
{
    (void)state;
    unsigned legal = 0;
    for (int f = 0; f < MBOX_STATE_COUNT; f++)
        for (int e = 0; e < MBOX_EVENT_COUNT; e++) {
            enum mbox_state want = MBOX_STATE_COUNT, got = MBOX_STATE_COUNT;
            bool ok = mbox_expected((enum mbox_state)f, (enum mbox_event)e, &want);
            enum mse_rc rc = exec_state_mbox_next((enum mbox_state)f, (enum mbox_event)e, &got);
            if (!ok) {
                if (rc != MSE_ERR_CONFLICT)
                    fail_msg("mailbox event %d from %s: legal, want illegal", e,
                             exec_state_mbox_name((enum mbox_state)f));
                assert_int_equal(got, MBOX_STATE_COUNT);
                continue;
            }
            legal++;
            assert_int_equal(rc, MSE_OK);
            assert_int_equal(got, want);
        }
    size_t n;
    exec_state_mbox_transitions(&n);
    assert_int_equal(legal, n);
}

/* The names inside a "('a', 'b')" list, as a bit set over table. */
static unsigned sql_set(const char *list, const char *(*name)(int), int count)
{
    unsigned bits = 0;
    for (int i = 0; i < count; i++) {
        const char *s = name(i);
        char quoted[64];
        if (!s)
            continue;
        snprintf(quoted, sizeof(quoted), "'%s'", s);
        if (strstr(list, quoted))
            bits |= 1u << i;
    }
    return bits;
}

static const char *exec_name_i(int i)
{
    return exec_state_name((enum exec_state)i);
}

static const char *mbox_name_i(int i)
{
    return exec_state_mbox_name((enum mbox_state)i);
}

/* Count of quoted words in a list: to prove the schema names no state the enum lacks. */
static unsigned quoted_words(const char *list)
{
    unsigned n = 0;
    for (const char *p = list; (p = strchr(p, '\'')); p++, n++)
        p = strchr(p + 1, '\'');
    return n;
}

static void test_sql_sets(void **state)
{
    (void)state;
    unsigned active = 0, leased = 0, unfinished = 0, attempted = 0;
    for (int s = 0; s < EXEC_STATE_COUNT; s++) {
        active |= exec_state_active((enum exec_state)s) ? 1u << s : 0;
        leased |= exec_state_leased((enum exec_state)s) ? 1u << s : 0;
    }
    assert_int_equal(sql_set(EXS_SQL_ACTIVE, exec_name_i, EXEC_STATE_COUNT), active);
    assert_int_equal(sql_set(EXS_SQL_LEASED, exec_name_i, EXEC_STATE_COUNT), leased);
    /* Leased = where the fenced writes are legal. */
    for (int s = 0; s < EXEC_STATE_COUNT; s++) {
        struct exec_transition t;
        bool ok = exec_state_next((enum exec_state)s, EV_PROGRESS, &t) == MSE_OK;
        assert_int_equal(ok, exec_state_leased((enum exec_state)s));
    }
    for (int s = 0; s < MBOX_STATE_COUNT; s++) {
        enum mbox_state to;
        unfinished |= !exec_state_mbox_final((enum mbox_state)s) ? 1u << s : 0;
        attempted |=
                exec_state_mbox_next((enum mbox_state)s, MEV_REQUEUE, &to) == MSE_OK ? 1u << s : 0;
    }
    assert_int_equal(sql_set(MBS_SQL_UNFINISHED, mbox_name_i, MBOX_STATE_COUNT), unfinished);
    assert_int_equal(sql_set(MBS_SQL_PASSED, mbox_name_i, MBOX_STATE_COUNT),
                     1u << MBOX_HEALTHY | 1u << MBOX_WARNING);
    /* The metrics list every state, none twice. */
    assert_int_equal(sql_set(EXS_SQL_LIST_ALL, exec_name_i, EXEC_STATE_COUNT),
                     (1u << EXEC_STATE_COUNT) - 2);
    assert_int_equal(quoted_words(EXS_SQL_LIST_ALL), EXEC_STATE_COUNT - 1);
    assert_int_equal(sql_set(MBS_SQL_LIST_ALL, mbox_name_i, MBOX_STATE_COUNT),
                     (1u << MBOX_STATE_COUNT) - 1);
    assert_int_equal(quoted_words(MBS_SQL_LIST_ALL), MBOX_STATE_COUNT);
    assert_int_equal(sql_set(MBS_SQL_ATTEMPTED, mbox_name_i, MBOX_STATE_COUNT), attempted);
}

/* The file's text; the caller frees it. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 18];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    assert_true(n < sizeof(buf) - 1); /* all of it */
    buf[n] = '\0';
    return strdup(buf);
}

/* The n-th (from 0) "state IN (…)" list after `after` in text, copied into out. */
static void check_list(const char *text, const char *after, char *out, size_t cap)
{
    const char *p = strstr(text, after);
    assert_non_null(p);
    p = strstr(p, " IN (");
    assert_non_null(p);
    const char *end = strchr(p, ')');
    assert_non_null(end);
    size_t n = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void test_schema_spellings(void **state)
{
    (void)state;
    char *schema = slurp(MSE_SCHEMA_DIR "/010_executions.sql");
    char list[512];
    unsigned all = (1u << EXEC_STATE_COUNT) - 1 - 1u; /* all but EXEC_NONE */
    check_list(schema, "state            text NOT NULL CHECK (state", list, sizeof(list));
    assert_int_equal(sql_set(list, exec_name_i, EXEC_STATE_COUNT), all);
    assert_int_equal(quoted_words(list), EXEC_STATE_COUNT - 1);
    check_list(schema, "CREATE TABLE execution_mailboxes", list, sizeof(list));
    assert_int_equal(sql_set(list, mbox_name_i, MBOX_STATE_COUNT), (1u << MBOX_STATE_COUNT) - 1);
    assert_int_equal(quoted_words(list), MBOX_STATE_COUNT);
    check_list(schema, "CHECK (live_state", list, sizeof(list));
    for (int l = LIVE_QUEUED; l < TASK_LIVE_COUNT; l++) {
        char q[32];
        snprintf(q, sizeof(q), "'%s'", exec_state_live_name((enum task_live)l));
        assert_non_null(strstr(list, q));
    }
    assert_int_equal(quoted_words(list), TASK_LIVE_COUNT - 1);
    check_list(schema, "CHECK (health", list, sizeof(list));
    for (int r = RESULT_OK; r <= RESULT_FAILED; r++) {
        char q[32];
        snprintf(q, sizeof(q), "'%s'", exec_state_result_name((enum exec_result)r));
        assert_non_null(strstr(list, q));
    }
    free(schema);
}

/* The statements spell states through exec_state.h only: no quoted state in their sources. */
static void test_no_state_literals(void **state)
{
    (void)state;
    static const char *const files[] = { "/server/db/db_exec.c", "/server/db/db_retry.c",
                                         "/server/db/db_task.c" };
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[512];
        snprintf(path, sizeof(path), "%s%s", MSE_SOURCE_DIR, files[f]);
        char *text = slurp(path);
        for (int i = 0; i < EXEC_STATE_COUNT + MBOX_STATE_COUNT; i++) {
            const char *name =
                    i < EXEC_STATE_COUNT ? exec_name_i(i) : mbox_name_i(i - EXEC_STATE_COUNT);
            char quoted[64];
            if (!name)
                continue;
            snprintf(quoted, sizeof(quoted), "'%s'", name);
            if (strstr(text, quoted))
                fail_msg("%s spells %s as a literal; use exec_state.h", files[f], quoted);
        }
        free(text);
    }
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int s = EXEC_QUEUED; s < EXEC_STATE_COUNT; s++) {
        enum exec_state got = EXEC_NONE;
        assert_int_equal(exec_state_parse(exec_state_name((enum exec_state)s), &got), MSE_OK);
        assert_int_equal(got, s);
    }
    for (int s = 0; s < MBOX_STATE_COUNT; s++) {
        enum mbox_state got = MBOX_STATE_COUNT;
        assert_int_equal(exec_state_mbox_parse(exec_state_mbox_name((enum mbox_state)s), &got),
                         MSE_OK);
        assert_int_equal(got, s);
    }
    enum exec_state e;
    enum task_live l = LIVE_RUNNING;
    assert_null(exec_state_name(EXEC_NONE));
    assert_int_equal(exec_state_parse(NULL, &e), MSE_ERR_INVALID);
    assert_int_equal(exec_state_parse("Running", &e), MSE_ERR_INVALID);
    assert_int_equal(exec_state_live_parse(NULL, &l), MSE_OK);
    assert_int_equal(l, LIVE_IDLE);
    assert_int_equal(exec_state_live_parse("completed", &l), MSE_ERR_INVALID);
    for (int i = 0; i < EXEC_EVENT_COUNT; i++)
        assert_non_null(exec_state_event_name((enum exec_event)i));
    assert_null(exec_state_name(EXEC_STATE_COUNT));
}

static void test_task_status(void **state)
{
    (void)state;
    assert_string_equal(exec_state_task_status_name(exec_state_task_status(LIVE_IDLE, true)),
                        "scheduled");
    assert_string_equal(exec_state_task_status_name(exec_state_task_status(LIVE_IDLE, false)),
                        "disabled");
    /* A disabled task still shows the execution it has (a stop is what ends it). */
    assert_string_equal(exec_state_task_status_name(exec_state_task_status(LIVE_RUNNING, false)),
                        "running");
    assert_string_equal(exec_state_task_status_name(exec_state_task_status(LIVE_WAITING, true)),
                        "waiting");
    assert_string_equal(exec_state_task_status_name(exec_state_task_status(LIVE_QUEUED, true)),
                        "queued");
}

static void test_health_and_end(void **state)
{
    (void)state;
    struct {
        struct exec_tally t;
        const char *health, *end, *result, *detail;
    } cases[] = {
        { { 2, 0, 0, 2, false, false },
          "ok",
          "completed",
          "ok",
          "Completed: 2 of 2 mailboxes processed (2 healthy, 0 warning, 0 error)" },
        { { 0, 0, 0, 0, false, false },
          "ok",
          "completed",
          "ok",
          "Completed: 0 of 0 mailboxes processed (0 healthy, 0 warning, 0 error)" },
        { { 1, 1, 0, 3, false, false },
          "warning",
          "completed",
          "warning",
          "Completed: 2 of 3 mailboxes processed (1 healthy, 1 warning, 0 error)" },
        { { 1, 1, 1, 3, false, false },
          "errors",
          "completed",
          "errors",
          "Completed: 3 of 3 mailboxes processed (1 healthy, 1 warning, 1 error)" },
        { { 0, 0, 2, 2, false, false },
          "failed",
          "completed",
          "failed",
          "Completed: 2 of 2 mailboxes processed (0 healthy, 0 warning, 2 error)" },
        { { 0, 0, 0, 0, true, false },
          "failed",
          "completed",
          "failed",
          "Failed: 0 of 0 mailboxes processed (0 healthy, 0 warning, 0 error)" },
        { { 1, 0, 0, 4, false, true },
          "ok",
          "cancelled",
          "cancelled",
          "Stopped: 1 of 4 mailboxes processed (1 healthy, 0 warning, 0 error)" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum exec_result r;
        char d[128];
        assert_string_equal(exec_state_result_name(exec_state_health(&cases[i].t)),
                            cases[i].health);
        assert_string_equal(exec_state_name(exec_state_end(&cases[i].t, &r)), cases[i].end);
        assert_string_equal(exec_state_result_name(r), cases[i].result);
        assert_int_equal(exec_state_end_detail(&cases[i].t, d, sizeof(d)), MSE_OK);
        assert_string_equal(d, cases[i].detail);
    }
    char small[8], cmd[128];
    assert_int_equal(exec_state_end_detail(&cases[0].t, small, sizeof(small)), MSE_ERR_TOO_LARGE);
    assert_int_equal(exec_state_mailbox_command(2, 5, "a@example.org", cmd, sizeof(cmd)), MSE_OK);
    assert_string_equal(cmd, "Processing mailbox 2 of 5: a@example.org");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pair),        cmocka_unit_test(test_final_states_take_nothing),
        cmocka_unit_test(test_reachability),      cmocka_unit_test(test_mailbox_pairs),
        cmocka_unit_test(test_sql_sets),          cmocka_unit_test(test_schema_spellings),
        cmocka_unit_test(test_no_state_literals), cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_task_status),       cmocka_unit_test(test_health_and_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

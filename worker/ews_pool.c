/* SPDX-License-Identifier: Apache-2.0 */
/* Side sessions of a mailbox pass, and the threads that run EWS calls on them side by side. */
#include "ews_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "mse/limits.h"

struct ews_pool {
    const struct ews_session *main;
    unsigned width;
    struct ews_session *map_s[MSE_EWS_PARALLEL_MAX]; /* created when first needed */
    struct ews_session *bg_s;
    atomic_bool map_cancel; /* ends the requests of the map running now */
    atomic_bool bg_cancel;  /* ends the background call's requests */
    bool bg_running;
    pthread_t bg_thread;
    ews_pool_fn bg_fn;
    void *bg_ctx;
};

/* One ews_pool_map: the calls are handed out in order to whichever runner is free. */
struct map_run {
    struct ews_pool *p;
    size_t n;
    atomic_size_t next;
    atomic_bool failed;
    ews_pool_fn fn;
    void *ctx;
};

struct map_runner {
    struct map_run *run;
    struct ews_session *s;
    pthread_t thread;
};

enum mse_rc ews_pool_new(const struct ews_session *main, unsigned width, struct ews_pool **out)
{
    struct ews_pool *p = calloc(1, sizeof(*p));
    *out = p;
    if (!p)
        return MSE_ERR_NOMEM;
    p->main = main;
    p->width = width < 1 ? 1 : width > MSE_EWS_PARALLEL_MAX ? MSE_EWS_PARALLEL_MAX : width;
    atomic_init(&p->map_cancel, false);
    atomic_init(&p->bg_cancel, false);
    return MSE_OK;
}

void ews_pool_free(struct ews_pool *p)
{
    if (!p)
        return;
    ews_pool_wait(p, true);
    for (unsigned i = 0; i < p->width; i++)
        ews_session_free(p->map_s[i]);
    ews_session_free(p->bg_s);
    free(p);
}

void ews_pool_stats_add(const struct ews_pool *p, struct ews_stats *sum)
{
    for (unsigned i = 0; p && i < p->width; i++) {
        if (p->map_s[i])
            ews_stats_add(sum, ews_session_stats(p->map_s[i]));
    }
    if (p && p->bg_s)
        ews_stats_add(sum, ews_session_stats(p->bg_s));
}

/* The session in *slot, cloned from the main one first if need be; NULL: no memory. */
static struct ews_session *pool_session(struct ews_pool *p, struct ews_session **slot,
                                        const atomic_bool *cancel)
{
    struct mse_err err;
    if (!*slot && ews_session_clone(p->main, slot, &err) == MSE_OK)
        ews_session_set_cancel(*slot, cancel);
    return *slot;
}

/* Takes calls until none is left or one failed. */
static void map_loop(struct map_run *r, struct ews_session *s)
{
    while (!atomic_load(&r->failed)) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n)
            return;
        if (!r->fn(r->ctx, i, s)) {
            atomic_store(&r->failed, true);
            atomic_store(&r->p->map_cancel, true);
        }
    }
}

static void *map_thread(void *arg)
{
    struct map_runner *m = arg;
    map_loop(m->run, m->s);
    return NULL;
}

enum mse_rc ews_pool_map(struct ews_pool *p, size_t n, ews_pool_fn fn, void *ctx)
{
    struct map_run run = { .p = p, .n = n, .fn = fn, .ctx = ctx };
    struct map_runner m[MSE_EWS_PARALLEL_MAX];
    bool started[MSE_EWS_PARALLEL_MAX] = { false };
    atomic_init(&run.next, 0);
    atomic_init(&run.failed, false);
    if (n == 0)
        return MSE_OK;
    size_t k = n < p->width ? n : p->width;
    for (size_t j = 0; j < k; j++) {
        if (!pool_session(p, &p->map_s[j], &p->map_cancel)) {
            if (j == 0)
                return MSE_ERR_NOMEM;
            k = j; /* fewer runners */
        }
    }
    atomic_store(&p->map_cancel, false);
    for (size_t j = 1; j < k; j++) {
        m[j] = (struct map_runner){ .run = &run, .s = p->map_s[j] };
        started[j] = pthread_create(&m[j].thread, NULL, map_thread, &m[j]) == 0;
    }
    map_loop(&run, p->map_s[0]);
    for (size_t j = 1; j < k; j++) {
        if (started[j])
            pthread_join(m[j].thread, NULL);
    }
    atomic_store(&p->map_cancel, false);
    return atomic_load(&run.failed) ? MSE_ERR_UNAVAILABLE : MSE_OK;
}

static void *bg_thread(void *arg)
{
    struct ews_pool *p = arg;
    (void)p->bg_fn(p->bg_ctx, 0, p->bg_s);
    return NULL;
}

enum mse_rc ews_pool_start(struct ews_pool *p, ews_pool_fn fn, void *ctx)
{
    if (p->bg_running)
        return MSE_ERR_INVALID;
    if (!pool_session(p, &p->bg_s, &p->bg_cancel))
        return MSE_ERR_NOMEM;
    atomic_store(&p->bg_cancel, false);
    p->bg_fn = fn;
    p->bg_ctx = ctx;
    if (pthread_create(&p->bg_thread, NULL, bg_thread, p) != 0)
        return MSE_ERR_NOMEM;
    p->bg_running = true;
    return MSE_OK;
}

void ews_pool_wait(struct ews_pool *p, bool cancel)
{
    if (!p->bg_running)
        return;
    if (cancel)
        atomic_store(&p->bg_cancel, true);
    pthread_join(p->bg_thread, NULL);
    p->bg_running = false;
    atomic_store(&p->bg_cancel, false);
}

bool ews_pool_busy(const struct ews_pool *p)
{
    return p && p->bg_running;
}

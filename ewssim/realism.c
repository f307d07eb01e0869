/* SPDX-License-Identifier: Apache-2.0 */
/* Latency, bandwidth and concurrency throttling (realism.h). */
#include "realism.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "timefmt.h"

static const struct {
    const char *env;
    size_t off;
    int64_t max;
    int64_t def;
} knobs[] = {
    { "EWS_SIM_LATENCY_MS", offsetof(struct realism_settings, latency_ms), 60000, 0 },
    { "EWS_SIM_JITTER_MS", offsetof(struct realism_settings, jitter_ms), 60000, 0 },
    { "EWS_SIM_LATENCY_US_PER_KIB", offsetof(struct realism_settings, us_per_kib), 1000000, 0 },
    { "EWS_SIM_BANDWIDTH_KIBPS", offsetof(struct realism_settings, bandwidth_kibps), 10000000, 0 },
    { "EWS_SIM_MAX_CONCURRENCY", offsetof(struct realism_settings, max_concurrency), 10000, 0 },
    { "EWS_SIM_BUSY_BACKOFF_MS", offsetof(struct realism_settings, busy_backoff_ms), 600000, 500 },
};

#define KNOB(s, i) ((unsigned *)((char *)(s) + knobs[i].off))

enum mse_rc realism_settings_load(struct realism_settings *s, struct mse_err *err)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
        int64_t v = 0;
        if (mse_env_int(knobs[i].env, knobs[i].def, 0, knobs[i].max, &v, err) != MSE_OK)
            return MSE_ERR_INVALID;
        *KNOB(s, i) = (unsigned)v;
    }
    return MSE_OK;
}

const char *realism_settings_check(const struct realism_settings *s)
{
    static const char *const names[] = { "latency_ms",      "jitter_ms",       "us_per_kib",
                                         "bandwidth_kibps", "max_concurrency", "busy_backoff_ms" };
    for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
        if ((int64_t) * (const unsigned *)((const char *)s + knobs[i].off) > knobs[i].max)
            return names[i];
    }
    return NULL;
}

void realism_init(struct realism *r, const struct realism_settings *s, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    r->s = *s;
    r->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

/* ---- the timer heap (under the lock) ---- */

static void heap_swap(struct realism *r, size_t a, size_t b)
{
    struct realism_timer t = r->heap[a];
    r->heap[a] = r->heap[b];
    r->heap[b] = t;
}

static bool heap_push(struct realism *r, struct realism_timer t)
{
    if (r->nheap == r->capheap) {
        size_t cap = r->capheap ? r->capheap * 2 : 64;
        struct realism_timer *h = realloc(r->heap, cap * sizeof(*h));
        if (!h)
            return false;
        r->heap = h;
        r->capheap = cap;
    }
    size_t i = r->nheap++;
    r->heap[i] = t;
    while (i > 0 && r->heap[(i - 1) / 2].due_us > r->heap[i].due_us) {
        heap_swap(r, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return true;
}

static struct realism_timer heap_pop(struct realism *r)
{
    struct realism_timer top = r->heap[0];
    r->heap[0] = r->heap[--r->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < r->nheap && r->heap[l].due_us < r->heap[m].due_us)
            m = l;
        if (l + 1 < r->nheap && r->heap[l + 1].due_us < r->heap[m].due_us)
            m = l + 1;
        if (m == i)
            break;
        heap_swap(r, i, m);
        i = m;
    }
    return top;
}

/* The pacer: resumes each connection when its reply is due; everything at once on stop. */
static void *pacer(void *arg)
{
    struct realism *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        if (r->nheap == 0) {
            if (r->stopping)
                break;
            pthread_cond_wait(&r->wake, &r->lock);
            continue;
        }
        int64_t now = mse_time_mono_us();
        if (!r->stopping && r->heap[0].due_us > now) {
            int64_t due = r->heap[0].due_us;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + (due - now) * 1000;
            ts.tv_sec += (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&r->wake, &r->lock, &ts);
            continue;
        }
        struct realism_timer t = heap_pop(r);
        pthread_mutex_unlock(&r->lock);
        r->resume(t.conn);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

enum mse_rc realism_start(struct realism *r, realism_resume_fn resume)
{
    r->resume = resume;
    if (pthread_create(&r->thread, NULL, pacer, r) != 0)
        return MSE_ERR_NOMEM;
    r->started = true;
    return MSE_OK;
}

void realism_stop(struct realism *r)
{
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    if (r->started)
        pthread_join(r->thread, NULL);
    r->started = false;
}

void realism_cleanup(struct realism *r)
{
    free(r->heap);
    r->heap = NULL;
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
}

void realism_configure(struct realism *r, const struct realism_settings *s)
{
    pthread_mutex_lock(&r->lock);
    r->s = *s;
    for (unsigned i = 0; i < r->naccounts; i++) {
        struct realism_account *a = &r->accounts[i];
        a->peak = a->in_flight;
        a->admitted = a->throttled = 0;
    }
    r->untracked_throttled = 0;
    pthread_mutex_unlock(&r->lock);
}

void realism_settings_get(struct realism *r, struct realism_settings *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->s;
    pthread_mutex_unlock(&r->lock);
}

unsigned realism_accounts(struct realism *r, struct realism_account *out, unsigned max)
{
    pthread_mutex_lock(&r->lock);
    unsigned n = r->naccounts < max ? r->naccounts : max;
    memcpy(out, r->accounts, n * sizeof(*out));
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* The account's row, added when new; NULL when the table is full or the name too long. */
static struct realism_account *account_row(struct realism *r, const char *name, unsigned *slot)
{
    for (unsigned i = 0; i < r->naccounts; i++) {
        if (strcmp(r->accounts[i].name, name) == 0) {
            *slot = i + 1;
            return &r->accounts[i];
        }
    }
    if (r->naccounts == REALISM_MAX_ACCOUNTS || strlen(name) >= sizeof(r->accounts[0].name))
        return NULL;
    struct realism_account *a = &r->accounts[r->naccounts++];
    memset(a, 0, sizeof(*a));
    snprintf(a->name, sizeof(a->name), "%s", name);
    *slot = r->naccounts;
    return a;
}

bool realism_enter(struct realism *r, const char *account, unsigned *slot, unsigned *backoff_ms)
{
    *slot = 0;
    *backoff_ms = 0;
    pthread_mutex_lock(&r->lock);
    unsigned s = 0;
    struct realism_account *a = account_row(r, account, &s);
    bool ok = true;
    if (!a) {
        /* Too many accounts to tell apart: let them through rather than throttle blindly. */
    } else if (r->s.max_concurrency && a->in_flight >= r->s.max_concurrency) {
        a->throttled++;
        *backoff_ms = r->s.busy_backoff_ms;
        ok = false;
    } else {
        a->in_flight++;
        if (a->in_flight > a->peak)
            a->peak = a->in_flight;
        a->admitted++;
        *slot = s;
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

void realism_leave(struct realism *r, unsigned slot)
{
    if (!slot)
        return;
    pthread_mutex_lock(&r->lock);
    if (slot <= r->naccounts && r->accounts[slot - 1].in_flight > 0)
        r->accounts[slot - 1].in_flight--;
    pthread_mutex_unlock(&r->lock);
}

/* splitmix64: jitter must be reproducible for a given EWS_SIM_SEED, not secure. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t realism_delay_us(struct realism *r, size_t len)
{
    pthread_mutex_lock(&r->lock);
    const struct realism_settings *s = &r->s;
    int64_t delay = 0;
    if (!r->stopping && r->started) {
        int64_t now = mse_time_mono_us();
        int64_t ready = now + (int64_t)s->latency_ms * 1000 +
                        (int64_t)((double)s->us_per_kib * (double)len / 1024.0);
        if (s->jitter_ms)
            ready += (int64_t)(next_random(&r->rng) % ((uint64_t)s->jitter_ms * 1000 + 1));
        if (s->bandwidth_kibps) {
            /* The reply goes on the link once processed and once the link is free. */
            int64_t start = ready > r->link_free_us ? ready : r->link_free_us;
            r->link_free_us =
                    start + (int64_t)((double)len * 1e6 / ((double)s->bandwidth_kibps * 1024.0));
            ready = r->link_free_us;
        }
        delay = ready - now;
    }
    pthread_mutex_unlock(&r->lock);
    return delay > 0 ? delay : 0;
}

bool realism_schedule(struct realism *r, void *conn, int64_t delay_us)
{
    pthread_mutex_lock(&r->lock);
    bool ok = !r->stopping && r->started &&
              heap_push(r, (struct realism_timer){ mse_time_mono_us() + delay_us, conn });
    if (ok)
        pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

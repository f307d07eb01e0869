/* SPDX-License-Identifier: Apache-2.0 */
/* The process-wide limit on concurrent EWS requests (ews_gate.h). */
#include "ews_gate.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "timefmt.h"

/* Waiters look at stop/cancel this often (they are atomics, not signalled). */
#define GATE_SLICE_MS 50
/* Requests answered without throttling before the gate lets one more through again. */
#define GATE_PROBE_AFTER 64

struct ews_gate {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned limit;     /* configured */
    unsigned allowed;   /* learnt: halved by each throttling, regained one at a time */
    unsigned successes; /* answers since the last throttling or regained place */
    unsigned in_flight;
    unsigned peak;
    uint64_t waits;
    int64_t closed_until_ms; /* monotonic; back-off deadline */
    int64_t backoff_ms;
};

enum mse_rc ews_gate_new(unsigned limit, struct ews_gate **out)
{
    struct ews_gate *g = calloc(1, sizeof(*g));
    if (!g)
        return MSE_ERR_NOMEM;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->freed, &ca);
    pthread_condattr_destroy(&ca);
    g->limit = g->allowed = limit ? limit : 1;
    *out = g;
    return MSE_OK;
}

void ews_gate_free(struct ews_gate *g)
{
    if (!g)
        return;
    pthread_cond_destroy(&g->freed);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static bool told_to_stop(const atomic_bool *stop, const atomic_bool *cancel)
{
    return (stop && atomic_load(stop)) || (cancel && atomic_load(cancel));
}

/* Waits on the condition for at most ms (under the lock). */
static void wait_for(struct ews_gate *g, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + ms * 1000000;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&g->freed, &g->lock, &ts);
}

bool ews_gate_enter(struct ews_gate *g, const atomic_bool *stop, const atomic_bool *cancel)
{
    pthread_mutex_lock(&g->lock);
    bool waited = false;
    for (;;) {
        if (told_to_stop(stop, cancel)) {
            pthread_mutex_unlock(&g->lock);
            return false;
        }
        int64_t closed = g->closed_until_ms - mse_time_mono_ms();
        if (closed <= 0 && g->in_flight < g->allowed)
            break;
        waited = true;
        wait_for(g, closed > 0 && closed < GATE_SLICE_MS ? closed : GATE_SLICE_MS);
    }
    g->in_flight++;
    if (g->in_flight > g->peak)
        g->peak = g->in_flight;
    if (waited)
        g->waits++;
    pthread_mutex_unlock(&g->lock);
    return true;
}

void ews_gate_leave(struct ews_gate *g)
{
    pthread_mutex_lock(&g->lock);
    if (g->in_flight)
        g->in_flight--;
    if (g->allowed < g->limit && ++g->successes >= GATE_PROBE_AFTER) {
        g->allowed++; /* probe: Exchange's limit may be higher than what we learnt */
        g->successes = 0;
    }
    pthread_cond_broadcast(&g->freed);
    pthread_mutex_unlock(&g->lock);
}

void ews_gate_throttled(struct ews_gate *g, int64_t delay_ms)
{
    pthread_mutex_lock(&g->lock);
    int64_t now = mse_time_mono_ms(), until = now + (delay_ms > 0 ? delay_ms : 0);
    /*
     * One burst over the limit brings several refusals at once: halve once per back-off, not
     * once per refusal, or a burst of eight would leave one place where two were allowed.
     */
    if (g->closed_until_ms <= now && g->allowed > 1)
        g->allowed = (g->allowed + 1) / 2;
    g->successes = 0;
    if (until > g->closed_until_ms) {
        int64_t from = g->closed_until_ms > now ? g->closed_until_ms : now;
        g->backoff_ms += until - from;
        g->closed_until_ms = until;
    }
    pthread_mutex_unlock(&g->lock);
}

void ews_gate_stats(struct ews_gate *g, struct ews_gate_stats *out)
{
    pthread_mutex_lock(&g->lock);
    *out = (struct ews_gate_stats){ g->limit, g->allowed, g->in_flight,
                                    g->peak,  g->waits,   g->backoff_ms };
    pthread_mutex_unlock(&g->lock);
}

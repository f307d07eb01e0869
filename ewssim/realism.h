/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exchange as a WAN sees it: latency per request (fixed, jitter, per KiB of response), one
 * shared link of limited bandwidth, and a per-account concurrency limit answered with
 * ErrorServerBusy as Exchange's throttling policy (EWSMaxConcurrency) does. All off by default.
 *
 * Delays never hold a server thread: the HTTP layer suspends the connection and the pacer's
 * thread resumes it when its reply is due, so a hundred requests waiting out 50 ms cost
 * nothing but their timers.
 */
#ifndef EWSSIM_REALISM_H
#define EWSSIM_REALISM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

#define REALISM_MAX_ACCOUNTS 256

struct realism_settings {
    unsigned latency_ms;      /* added to every EWS reply */
    unsigned jitter_ms;       /* plus a uniform 0..jitter_ms */
    unsigned us_per_kib;      /* plus this per KiB of the reply */
    unsigned bandwidth_kibps; /* one link shared by all replies; 0 = unlimited */
    unsigned max_concurrency; /* EWS requests in flight per account; 0 = unlimited */
    unsigned busy_backoff_ms; /* BackOffMilliseconds of the ErrorServerBusy answers */
};

/* What one account (the authenticated caller, as Exchange counts it) went through. */
struct realism_account {
    char name[320];
    unsigned in_flight;
    unsigned peak;      /* most requests in flight at once since the last reset */
    uint64_t admitted;  /* requests let through */
    uint64_t throttled; /* requests answered ErrorServerBusy */
};

/* Called on the pacer's thread when a delayed reply is due (or at once on stop). */
typedef void (*realism_resume_fn)(void *conn);

struct realism_timer {
    int64_t due_us;
    void *conn;
};

struct realism {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool started;
    bool stopping;
    struct realism_settings s;
    int64_t link_free_us; /* when the shared link has sent everything scheduled on it */
    uint64_t rng;
    struct realism_account accounts[REALISM_MAX_ACCOUNTS];
    unsigned naccounts;
    uint64_t untracked_throttled; /* accounts beyond REALISM_MAX_ACCOUNTS are not limited */
    struct realism_timer *heap;   /* min-heap on due_us */
    size_t nheap, capheap;
    realism_resume_fn resume;
};

/* EWS_SIM_LATENCY_MS, EWS_SIM_JITTER_MS, … (docs/ews-sim.md). MSE_ERR_INVALID naming one. */
enum mse_rc realism_settings_load(struct realism_settings *s, struct mse_err *err) MSE_WUR;
/* Ranges a setting may take, for the control API's checks: NULL when fine, else its name. */
const char *realism_settings_check(const struct realism_settings *s);

void realism_init(struct realism *r, const struct realism_settings *s, uint64_t seed);
/* Starts the pacer's thread. MSE_ERR_NOMEM when it cannot be created. */
enum mse_rc realism_start(struct realism *r, realism_resume_fn resume) MSE_WUR;
/* Resumes every waiting reply at once and stops the thread; later delays are 0. */
void realism_stop(struct realism *r);
void realism_cleanup(struct realism *r);

/* Replaces the settings and zeroes the accounts' counters (in-flight counts are kept). */
void realism_configure(struct realism *r, const struct realism_settings *s);
void realism_settings_get(struct realism *r, struct realism_settings *out);
/* Copies the accounts out (at most max); returns how many. */
unsigned realism_accounts(struct realism *r, struct realism_account *out, unsigned max);

/*
 * A request of account is about to be processed. Returns false when the account already has
 * max_concurrency requests in flight (answer ErrorServerBusy with *backoff_ms). Either way
 * *slot names what realism_leave must be given when the request ends (0 = nothing).
 */
bool realism_enter(struct realism *r, const char *account, unsigned *slot, unsigned *backoff_ms);
void realism_leave(struct realism *r, unsigned slot);

/*
 * How long a reply of len bytes waits before it is sent, reserving its share of the link.
 * 0 when nothing is configured or the pacer is stopping.
 */
int64_t realism_delay_us(struct realism *r, size_t len);
/* Schedules resume(conn) after delay_us. false when stopping: the caller sends at once. */
bool realism_schedule(struct realism *r, void *conn, int64_t delay_us);

#endif

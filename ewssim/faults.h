/* SPDX-License-Identifier: Apache-2.0 */
/* Fault injection: rules matched by operation and mailbox, fired by count or probability. */
#ifndef EWSSIM_FAULTS_H
#define EWSSIM_FAULTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim_limits.h"
#include "mse/rc.h"

enum fault_kind {
    FAULT_SERVER_BUSY,        /* SOAP fault ErrorServerBusy with BackOffMilliseconds */
    FAULT_HTTP_503,           /* 503 Service Unavailable with Retry-After */
    FAULT_HTTP_401,           /* 401 although the credentials are right */
    FAULT_DELAY,              /* answer normally after delay_ms */
    FAULT_CUTOFF,             /* the response is cut off half-way (connection closed) */
    FAULT_INVALID_SYNC_STATE, /* SyncFolder*: ErrorInvalidSyncStateData */
    FAULT_MAILBOX_MOVE,       /* SOAP fault ErrorMailboxMoveInProgress */
    FAULT_NO_MAILBOX,         /* SOAP fault ErrorNonExistentMailbox */
    FAULT_INTERNAL,           /* SOAP fault ErrorInternalServerError */
    FAULT_BUSY_MESSAGE,       /* HTTP 200: ErrorInternalServerError with inner ErrorServerBusy */
    FAULT_KIND_COUNT
};

extern const char *const fault_kind_names[FAULT_KIND_COUNT];
/* Kind for a name ("server_busy"); -1 when unknown. */
int fault_kind_lookup(const char *name);

struct fault_rule {
    unsigned id;
    char operation[48]; /* "" = any */
    char mailbox[320];  /* "" = any */
    enum fault_kind kind;
    int64_t remaining;  /* fires this many more times; -1 = no limit */
    double probability; /* 0 < p <= 1 */
    unsigned backoff_ms;
    unsigned delay_ms;
    uint64_t fired;
};

struct faults {
    pthread_mutex_t lock;
    struct fault_rule rules[SIM_FAULT_MAX_RULES];
    unsigned nrules;
    unsigned next_id;
    uint64_t rng;
};

void faults_init(struct faults *f, uint64_t seed);
void faults_cleanup(struct faults *f);
/* Adds a rule (id assigned). MSE_ERR_TOO_LARGE when SIM_FAULT_MAX_RULES are in place. */
enum mse_rc faults_add(struct faults *f, struct fault_rule *rule) MSE_WUR;
/* Removes rule id (0 = all). MSE_ERR_NOT_FOUND when absent. */
enum mse_rc faults_remove(struct faults *f, unsigned id) MSE_WUR;
/* Copies the rules out (at most max); returns how many. */
unsigned faults_list(struct faults *f, struct fault_rule *out, unsigned max);
/*
 * The first rule that matches (operation, mailbox) and fires now; copied to out. Counting
 * rules fire until exhausted; probability rules fire when a deterministic roll says so.
 */
bool faults_match(struct faults *f, const char *operation, const char *mailbox,
                  struct fault_rule *out);

#endif

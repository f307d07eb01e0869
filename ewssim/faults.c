/* SPDX-License-Identifier: Apache-2.0 */
/* Fault injection: rules matched by operation and mailbox, fired by count or probability. */
#include "faults.h"

#include <string.h>
#include <strings.h>

#include "gen.h"

const char *const fault_kind_names[FAULT_KIND_COUNT] = {
    "server_busy",        "http_503",     "http_401",   "delay",    "cutoff",
    "invalid_sync_state", "mailbox_move", "no_mailbox", "internal", "busy_message",
};

int fault_kind_lookup(const char *name)
{
    for (int i = 0; i < FAULT_KIND_COUNT; i++) {
        if (strcmp(fault_kind_names[i], name) == 0)
            return i;
    }
    return -1;
}

void faults_init(struct faults *f, uint64_t seed)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->next_id = 1;
    f->rng = seed ? seed : 0x5EED;
}

void faults_cleanup(struct faults *f)
{
    pthread_mutex_destroy(&f->lock);
}

enum mse_rc faults_add(struct faults *f, struct fault_rule *rule)
{
    pthread_mutex_lock(&f->lock);
    enum mse_rc rc = MSE_ERR_TOO_LARGE;
    if (f->nrules < SIM_FAULT_MAX_RULES) {
        rule->id = f->next_id++;
        rule->fired = 0;
        f->rules[f->nrules++] = *rule;
        rc = MSE_OK;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

enum mse_rc faults_remove(struct faults *f, unsigned id)
{
    pthread_mutex_lock(&f->lock);
    enum mse_rc rc = MSE_ERR_NOT_FOUND;
    if (id == 0) {
        f->nrules = 0;
        rc = MSE_OK;
    }
    for (unsigned i = 0; i < f->nrules; i++) {
        if (f->rules[i].id == id) {
            memmove(&f->rules[i], &f->rules[i + 1], (f->nrules - i - 1) * sizeof(f->rules[0]));
            f->nrules--;
            rc = MSE_OK;
            break;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

unsigned faults_list(struct faults *f, struct fault_rule *out, unsigned max)
{
    pthread_mutex_lock(&f->lock);
    unsigned n = f->nrules < max ? f->nrules : max;
    memcpy(out, f->rules, n * sizeof(*out));
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* Operation and mailbox filters; an exhausted counting rule never applies. */
static bool rule_applies(const struct fault_rule *r, const char *operation, const char *mailbox)
{
    if (r->remaining == 0)
        return false;
    if (r->operation[0] && strcmp(r->operation, operation) != 0)
        return false;
    return !r->mailbox[0] || (mailbox && strcasecmp(r->mailbox, mailbox) == 0);
}

bool faults_match(struct faults *f, const char *operation, const char *mailbox,
                  struct fault_rule *out)
{
    bool hit = false;
    pthread_mutex_lock(&f->lock);
    for (unsigned i = 0; i < f->nrules && !hit; i++) {
        struct fault_rule *r = &f->rules[i];
        if (!rule_applies(r, operation, mailbox))
            continue;
        if (r->probability < 1.0) {
            double roll = (double)(gen_next(&f->rng) >> 11) / (double)(1ull << 53);
            if (roll >= r->probability)
                continue;
        }
        if (r->remaining > 0)
            r->remaining--;
        r->fired++;
        *out = *r;
        hit = true;
    }
    pthread_mutex_unlock(&f->lock);
    return hit;
}

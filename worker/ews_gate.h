/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one worker process sends one Exchange at once. Exchange throttles each account's
 * concurrent requests (EWSMaxConcurrency of its throttling policy, 27 by default) and answers
 * the excess with ErrorServerBusy: every session of the process (slots × parallel calls) goes
 * through one gate, so the worker stays under the limit instead of learning it from faults.
 * A back-off Exchange asks for applies to the account, not to the request that got it: the
 * gate holds every session's next request until it has passed. And a limit Exchange enforces
 * below the configured one is learnt: each throttling halves the places (once per back-off),
 * and every GATE_PROBE_AFTER answers without one give a place back, up to the configured limit.
 */
#ifndef MSE_EWS_GATE_H
#define MSE_EWS_GATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mse/rc.h"

struct ews_gate;

/* limit ≥ 1 requests in flight at once. MSE_ERR_NOMEM. */
enum mse_rc ews_gate_new(unsigned limit, struct ews_gate **out) MSE_WUR;
void ews_gate_free(struct ews_gate *g);

/*
 * Waits for a place and for any back-off to pass. false (no place taken) once *stop or
 * *cancel is set; either may be NULL.
 */
bool ews_gate_enter(struct ews_gate *g, const atomic_bool *stop, const atomic_bool *cancel);
void ews_gate_leave(struct ews_gate *g);
/* Exchange refused a request as over its limit: no request enters before delay_ms from now
 * (a later deadline wins), and fewer enter at once afterwards. */
void ews_gate_throttled(struct ews_gate *g, int64_t delay_ms);

struct ews_gate_stats {
    unsigned limit;
    unsigned allowed; /* what the gate learnt Exchange allows */
    unsigned in_flight;
    unsigned peak;      /* most requests in flight at once */
    uint64_t waits;     /* entries that found the gate full or backing off */
    int64_t backoff_ms; /* time the gate was closed by back-offs */
};
void ews_gate_stats(struct ews_gate *g, struct ews_gate_stats *out);

#endif

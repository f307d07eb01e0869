/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One change = one transaction: Idempotency-Key handling on the way in, the audit event and the
 * stored response inside, the reply only after COMMIT. Every mutating handler goes through it.
 */
#ifndef MSE_TX_H
#define MSE_TX_H

#include <stdbool.h>
#include <stdint.h>

#include "mse/limits.h"
#include "mse/rc.h"
#include "verr.h"

struct request;
struct db;

struct tx {
    struct request *req;
    struct db *db;
    bool open;
    bool idem; /* a POST with an Idempotency-Key: the response is stored before COMMIT */
    char key[MSE_MAX_IDEMPOTENCY_KEY + 1];
    char hash[65]; /* SHA-256 of method, path and body */
};

/*
 * Begins the transaction. For a POST carrying Idempotency-Key it first answers, and returns
 * false: 400 for a malformed key, 409 while a request with the key is in flight, 422 when
 * the key was used with another request, or the stored response replayed (with
 * Idempotent-Replayed: true). Also false after answering 503/500 on database trouble.
 */
bool tx_begin(struct request *req, struct tx *tx);

/* Writes the audit event of the change; false after rolling back and answering 500. */
bool tx_audit(struct tx *tx, const char *action, const char *resource_type, const char *resource_id,
              const char *before, const char *after);

/*
 * Stores the response for the Idempotency-Key (if any), commits, then replies with status and
 * body (taken; NULL = no body) plus Location and ETag (version < 0 = no ETag) headers.
 */
void tx_commit_reply(struct tx *tx, unsigned status, char *body, const char *location,
                     int64_t version);

/* Rolls back and answers: a problem with detail, one mapped from rc, or field errors. */
void tx_fail(struct tx *tx, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void tx_fail_rc(struct tx *tx, enum mse_rc rc, const char *detail);
void tx_fail_fields(struct tx *tx, unsigned status, const char *detail, const struct verr *v);

/*
 * Checks If-Match against the version of the row the transaction locked. Answers 412 (or 400
 * for a malformed header), rolls back and returns false on failure.
 */
bool tx_if_match(struct tx *tx, int64_t version);

#endif

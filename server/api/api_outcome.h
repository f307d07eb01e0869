/* SPDX-License-Identifier: Apache-2.0 */
/* The one table from a lifecycle operation's outcome to its HTTP status and problem type. */
#ifndef MSE_API_OUTCOME_H
#define MSE_API_OUTCOME_H

#include "exec_state.h"

struct request;
struct tx;

struct api_outcome {
    unsigned status;
    const char *type;   /* problem type URI; NULL = about:blank */
    const char *detail; /* when the handler has nothing more precise to say */
};

/* The row of o; never NULL (an outcome outside the table reads as 500). */
const struct api_outcome *api_outcome_of(enum exec_outcome o);
/* Answers o as a problem; detail NULL = the table's. */
void api_outcome_send(struct request *req, enum exec_outcome o, const char *detail);
/* The same inside a transaction: rolls it back first. */
void api_outcome_fail(struct tx *tx, enum exec_outcome o, const char *detail);

#endif

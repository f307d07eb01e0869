/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker protocol's wire constants, shared by mse-server and mse-worker
 * (docs/worker-protocol.md): route paths, the problem types a worker must tell apart, and the
 * caps on the strings a worker reports.
 */
#ifndef MSE_PROTOCOL_H
#define MSE_PROTOCOL_H

/* Routes under the worker prefix; {id} is an execution, {address} a mailbox. */
#define MSE_WORKER_PREFIX      "/api/v1/worker"
#define MSE_WORKER_HEARTBEAT   MSE_WORKER_PREFIX "/heartbeat"
#define MSE_WORKER_CLAIMS      MSE_WORKER_PREFIX "/claims"
#define MSE_WORKER_EXECUTIONS  MSE_WORKER_PREFIX "/executions"
#define MSE_WORKER_ATTACHMENTS MSE_WORKER_PREFIX "/attachments"
/* After …/executions/{id}/mailboxes/{address}: the archive's confirmation of candidates. */
#define MSE_WORKER_CONFIRMATIONS "/confirmations"
/* After …/executions/{id}/mailboxes/{address}: the mailbox's storage management report. */
#define MSE_WORKER_STORAGE_REPORT "/storage-report"

/* RFC 9457 problem types of the answers a worker acts on (each a 409). */
#define MSE_PROBLEM_LEASE_LOST          "urn:mse:problem:lease-lost"
#define MSE_PROBLEM_MAILBOX_LOCKED      "urn:mse:problem:mailbox-locked"
#define MSE_PROBLEM_CHECKPOINT_CONFLICT "urn:mse:problem:checkpoint-conflict"
#define MSE_PROBLEM_NOT_LOCKED          "urn:mse:problem:mailbox-not-locked"

/* Caps in characters on what a worker reports (longer → 422 naming the field). */
#define MSE_PROTO_MAX_WORKER_ID     200  /* heartbeat, claim: worker_id */
#define MSE_PROTO_MAX_VERSION       64   /* heartbeat: version */
#define MSE_PROTO_MAX_HOST          255  /* heartbeat: host */
#define MSE_PROTO_MAX_HB_EXECUTIONS 64   /* heartbeat: entries of executions[] */
#define MSE_PROTO_MAX_REASON_CODE   64   /* membership error, mailbox finish: reason_code */
#define MSE_PROTO_MAX_REASON_TEXT   1000 /* membership error, mailbox finish: reason_text */
#define MSE_PROTO_MAX_COMMAND       500  /* progress: command */
#define MSE_PROTO_MAX_DETAIL        1000 /* progress: latest_detail */
#define MSE_PROTO_MAX_CLAIM_WAIT    300  /* claim: wait_seconds (the server may wait less) */
#define MSE_PROTO_MAX_CONFIRMATIONS 1000 /* confirmations: entries of items[] */
#define MSE_PROTO_MAX_MESSAGE_ID    998  /* confirmations: internet_message_id (RFC 5322 line) */

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Request counters per EWS operation, kept per mailbox and for the whole simulator. */
#ifndef EWSSIM_STATS_H
#define EWSSIM_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Every EWS operation the simulator answers, in the order of ews_op_names. */
enum ews_op {
    OP_CONVERT_ID,
    OP_CREATE_ATTACHMENT,
    OP_CREATE_FOLDER,
    OP_CREATE_ITEM,
    OP_DELETE_ATTACHMENT,
    OP_DELETE_ITEM,
    OP_EXPAND_DL,
    OP_FIND_FOLDER,
    OP_FIND_ITEM,
    OP_GET_ATTACHMENT,
    OP_GET_FOLDER,
    OP_GET_ITEM,
    OP_RESOLVE_NAMES,
    OP_SYNC_FOLDER_HIERARCHY,
    OP_SYNC_FOLDER_ITEMS,
    OP_UPDATE_ITEM,
    OP_COUNT,
    OP_UNKNOWN = OP_COUNT
};

extern const char *const ews_op_names[OP_COUNT];
/* Operation for an element local name, or OP_UNKNOWN. */
enum ews_op ews_op_lookup(const char *name);

struct stats_counters {
    atomic_uint_fast64_t requests[OP_COUNT];
    atomic_uint_fast64_t items_returned;  /* items in GetItem answers */
    atomic_uint_fast64_t sync_changes;    /* changes in SyncFolderItems answers */
    atomic_uint_fast64_t faults_injected; /* answers replaced by fault injection */
};

/* Simulator-wide counters (survive resets). */
struct stats {
    struct stats_counters all;
    atomic_uint_fast64_t http_requests;
    atomic_uint_fast64_t soap_faults;
    atomic_uint_fast64_t auth_failures;
    atomic_uint_fast64_t schema_violations; /* responses that failed validation */
    atomic_uint_fast64_t request_schema_errors;
};

void stats_counters_reset(struct stats_counters *c);

#endif

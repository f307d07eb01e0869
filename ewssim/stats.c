/* SPDX-License-Identifier: Apache-2.0 */
/* Request counters per EWS operation, kept per mailbox and for the whole simulator. */
#include "stats.h"

#include <string.h>

const char *const ews_op_names[OP_COUNT] = {
    "ConvertId",        "CreateAttachment",    "CreateFolder",    "CreateItem",
    "DeleteAttachment", "DeleteItem",          "ExpandDL",        "FindFolder",
    "FindItem",         "GetAttachment",       "GetFolder",       "GetItem",
    "ResolveNames",     "SyncFolderHierarchy", "SyncFolderItems", "UpdateItem",
};

enum ews_op ews_op_lookup(const char *name)
{
    for (int i = 0; i < OP_COUNT; i++) {
        if (strcmp(ews_op_names[i], name) == 0)
            return (enum ews_op)i;
    }
    return OP_UNKNOWN;
}

void stats_counters_reset(struct stats_counters *c)
{
    for (int i = 0; i < OP_COUNT; i++)
        atomic_store(&c->requests[i], 0);
    atomic_store(&c->items_returned, 0);
    atomic_store(&c->sync_changes, 0);
    atomic_store(&c->faults_injected, 0);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The replication engine's interface: one mailbox pass, checkpoints in, batches out to a sink. */
#ifndef MSE_SYNC_H
#define MSE_SYNC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews.h"
#include "log.h"
#include "mse/rc.h"

struct cJSON;
struct sync_source;

enum sync_type {
    SYNC_MFR,      /* mailbox_folder_replication: folders + message metadata */
    SYNC_CALENDAR, /* calendar_replication: calendars + appointments + attachments */
    SYNC_RECOVER,  /* sync_recover: messages (and the calendar) with their MIME content */
    SYNC_STORAGE,  /* mailbox_storage_management: delete or stub what the archive confirms */
};

/* "mailbox_folder_replication" / "calendar_replication" / "sync_recover". */
const char *sync_type_name(enum sync_type t);
enum mse_rc sync_type_parse(const char *s, enum sync_type *out) MSE_WUR;

/* A definition's settings, as the server's definitions resource holds them. */
struct sync_definition {
    enum sync_type type;
    char **exclude_folders; /* MFR: paths from the top of the mailbox, "/Inbox/Newsletters" */
    size_t n_exclude;
    bool include_deleted_items; /* MFR: replicate the Deleted Items folder (and below) */
    bool include_private_items; /* MFR: replicate Personal/Private/Confidential items */
    bool all_calendars;         /* calendar: include_calendars "all" rather than "default" */
    /* sync_recover (a sync task's settings) */
    bool mail;              /* the mail folders' messages */
    bool calendars;         /* the default calendar's appointments */
    char **message_classes; /* selected ItemClass values and their "." sub-classes */
    size_t n_classes;
    bool all_classes;       /* no list was given: every class */
    bool include_sensitive; /* also Private and Confidential items */
    /* mailbox_storage_management (docs/storage-management.md); exclude_folders as MFR's */
    char action[32];         /* message_delete, full_message_stub, attachment_stub, … */
    int64_t older_than_days; /* candidates were received before now minus this */
    int64_t min_size_kb;     /* and are at least this large (0: any size) */
    char **folders;          /* paths whose subtrees are managed; NULL: every mail folder */
    size_t n_folders;
    bool hard_delete; /* message_delete: gone for good rather than to Deleted Items */
};

/*
 * Whether this worker version carries the definition out (in report-only mode or not); when
 * not, why holds the sentence each mailbox reports ("<action> is not available on this worker
 * version (<version>); …").
 */
bool sync_definition_runnable(const struct sync_definition *d, bool report_only, char *why,
                              size_t size);
/* Storage management: the action needs messages with attachments (the attachment stubs). */
bool sync_definition_needs_attachments(const struct sync_definition *d);

/*
 * sync_recover's selection: the class equals a listed class or starts with one followed by
 * "." (IPM.Note selects IPM.Note.SMIME), case-insensitively.
 */
bool sync_definition_class_selected(const struct sync_definition *d, const char *item_class);

/*
 * Reads a definition's settings object ({"exclude_folders": [...], "include_deleted_items":
 * false, ...} or {"include_calendars": "default"}); settings may be NULL (all defaults).
 * Unknown keys are ignored (the server validated them). MSE_ERR_INVALID with err naming the
 * field when a value has the wrong type.
 */
enum mse_rc sync_definition_from_json(enum sync_type type, const struct cJSON *settings,
                                      struct sync_definition *out, struct mse_err *err) MSE_WUR;
void sync_definition_cleanup(struct sync_definition *d);

/*
 * The stored checkpoints of one (site, task, mailbox): the hierarchy's and one per folder.
 * They are opaque strings to everyone but the engine; the server stores and compares them.
 */
struct sync_checkpoint {
    char *folder_id;
    char *value;
};

struct sync_checkpoints {
    char *hierarchy; /* NULL before the first pass */
    struct sync_checkpoint *v;
    size_t n;
    size_t cap;
};

void sync_checkpoints_cleanup(struct sync_checkpoints *c);
/* The folder's checkpoint or NULL. */
const char *sync_checkpoints_get(const struct sync_checkpoints *c, const char *folder_id);
/* Sets (value non-NULL) or removes (NULL) a folder's checkpoint; folder_id NULL = hierarchy. */
enum mse_rc sync_checkpoints_set(struct sync_checkpoints *c, const char *folder_id,
                                 const char *value) MSE_WUR;
/* {"hierarchy": str|null, "folders": {"<folder id>": str, ...}} */
enum mse_rc sync_checkpoints_from_json(const struct cJSON *j, struct sync_checkpoints *out,
                                       struct mse_err *err) MSE_WUR;
struct cJSON *sync_checkpoints_to_json(const struct sync_checkpoints *c);

/*
 * Where replicated data goes: the server protocol (issue #5) or, in the CLI, stdout and a
 * state file. Every callback may be NULL except submit.
 */
struct sync_sink {
    void *ctx;
    /*
     * Stores one batch (format in docs/worker.md) together with its new checkpoint, atomically,
     * if and only if the stored checkpoint equals the batch's base_checkpoint. The batch stays
     * the engine's. MSE_ERR_CONFLICT when the stored checkpoint differs (the engine stops the
     * mailbox); any other error also stops the mailbox. A replayed batch_id that was already
     * applied must be acknowledged with MSE_OK.
     */
    enum mse_rc (*submit)(void *ctx, const struct cJSON *batch, struct mse_err *err);
    /*
     * Stores attachment content addressed by its SHA-256 (64 lowercase hex digits), before the
     * batch that references it. Storing content already present is a success.
     */
    enum mse_rc (*put_content)(void *ctx, const char *sha256, const char *content_type,
                               const uint8_t *data, size_t len, struct mse_err *err);
    /*
     * Like put_content for content too large for memory (a message's MIME): its len bytes are
     * in the file fd at offset (read them with pread; the file stays the engine's). Content
     * already present is a success and is not sent again. MSE_ERR_TOO_LARGE when the store
     * refuses content of that size (the item is then left out, with a warning).
     */
    enum mse_rc (*put_content_file)(void *ctx, const char *sha256, const char *content_type, int fd,
                                    int64_t offset, uint64_t len, struct mse_err *err);
    /* What the engine does now: command ("Replicating messages") and detail ("Inbox: 1,536 of
     * 10,000 items"). Called at most once per page. */
    void (*progress)(void *ctx, const char *command, const char *detail);
    /*
     * Storage management: asks the archive about a batch of candidates of the job's mailbox
     * (request {"items": [...]}, docs/storage-management.md); *answers (the caller's) is the
     * reply's {"items": [...]}, one per candidate in order. NULL when no archive can be asked
     * (--sync-once): the pass then fails without changing anything.
     */
    enum mse_rc (*confirm)(void *ctx, const struct cJSON *request, struct cJSON **answers,
                           struct mse_err *err);
    /* Storage management: the mailbox's report, stored with the execution before it ends. */
    enum mse_rc (*report)(void *ctx, const struct cJSON *report, struct mse_err *err);
};

/* One mailbox pass. */
struct sync_job {
    const char *mailbox; /* SMTP address */
    const struct sync_definition *def;
    struct sync_checkpoints *checkpoints; /* stored ones in; kept equal to what the sink
                                             accepted as the pass goes on */
    const struct sync_sink *sink;
    struct ews_session *ews; /* the pass sets its mailbox */
    unsigned getitem_batch;  /* ids per GetItem (0 = MSE_EWS_GETITEM_BATCH) */
    unsigned max_changes;    /* SyncFolderItems page size (0 = 512) */
    unsigned parallel;       /* GetItem requests of a page in flight at once, and with more than
                                one the next SyncFolderItems page read ahead (0 =
                                MSE_EWS_PARALLEL; 1 = every request in turn) */
    struct mse_log_ctx log;  /* context for log lines (site, task, …); mailbox is added */
    const atomic_bool *stop; /* when it turns true the pass ends at the next batch boundary */

    /* Storage management: find and confirm candidates, report, and change nothing. */
    bool report_only;

    /* Another backend to read the mailbox through instead of ews (sync_source.h), or NULL. */
    const struct sync_source *source;
};

enum sync_health { SYNC_HEALTHY, SYNC_WARNING, SYNC_ERROR };

const char *sync_health_name(enum sync_health h);

/* How a pass went: what the server shows per mailbox. */
struct sync_outcome {
    enum sync_health health;
    char reason[48];          /* stable code: "" when healthy; see docs/worker.md */
    char text[512];           /* a sentence for administrators */
    bool retry_later;         /* the mailbox could not be served now (ErrorMailboxMoveInProgress) */
    bool full;                /* no hierarchy checkpoint was stored: a first full pass */
    uint64_t batches;         /* accepted by the sink */
    uint64_t folders;         /* folder records sent */
    uint64_t items;           /* message upserts sent */
    uint64_t appointments;    /* appointment upserts sent */
    uint64_t deletes;         /* item/appointment deletions and removals sent */
    uint64_t skipped_private; /* private items not replicated */
    uint64_t attachments;     /* attachment contents handed to the sink */
    uint64_t attachment_bytes;
    uint64_t contents; /* sync_recover: MIME contents hashed (stored or already present) */
    uint64_t content_bytes;
    uint64_t unselected; /* sync_recover: items whose class or sensitivity is not selected */
    uint64_t resyncs;    /* folders started over after ErrorInvalidSyncStateData */
    /* storage management: candidates found, confirmed by the archive, acted on, failed */
    uint64_t candidates, confirmed, acted, failed_items;
    uint64_t reclaimed_bytes;
    struct ews_stats ews; /* requests, retries, waits of this pass */
    int64_t duration_ms;
};

/* The outcome as a JSON object (mailbox, type, health, reason, text, counters); NULL: no memory. */
struct cJSON *sync_outcome_to_json(const struct sync_outcome *o, const char *mailbox,
                                   enum sync_type type);

/*
 * Replicates one mailbox: SyncFolderHierarchy, then SyncFolderItems page by page for each
 * folder the definition selects, GetItem (and GetAttachment) for what the sync does not
 * return, each page handed to the sink as one batch with its base and new checkpoint.
 * Always fills out. MSE_OK when the mailbox finished (healthy or warning); otherwise the
 * pass stopped cleanly at a batch boundary and out says why (MSE_ERR_CONFLICT: the sink
 * refused a base checkpoint; MSE_ERR_UNAVAILABLE: EWS; MSE_ERR_NOMEM; …).
 */
enum mse_rc sync_mailbox(struct sync_job *job, struct sync_outcome *out) MSE_WUR;

#endif

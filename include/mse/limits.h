/* SPDX-License-Identifier: Apache-2.0 */
/* Every cap on a growable buffer or list, in one place (see STYLE.md). */
#ifndef MSE_LIMITS_H
#define MSE_LIMITS_H

/* HTTP requests the server accepts. */
#define MSE_MAX_REQUEST_BODY    (1024u * 1024u)       /* larger → 413 */
#define MSE_MAX_DISCARD_BODY    (64u * 1024u * 1024u) /* beyond this the connection is dropped */
#define MSE_MAX_REQUEST_HEADERS (16u * 1024u)         /* sum of header lines; larger → 431 */
#define MSE_MAX_PATH_SEGMENTS   16
/*
 * libmicrohttpd's per-connection pool: it must hold MSE_MAX_REQUEST_HEADERS and more, so that
 * larger headers get our 431; libmicrohttpd zeroes all of it after every request (64 KiB took
 * 2% of the CPU of a GET load).
 */
#define MSE_MHD_CONNECTION_MEMORY (32u * 1024u)
#define MSE_MAX_REQUEST_ID        64

/* Pagination. */
#define MSE_PAGE_DEFAULT 50
#define MSE_PAGE_MAX     500

/* JSON documents built for responses. */
#define MSE_MAX_RESPONSE_BODY (64u * 1024u * 1024u)

/* A task's mailboxes processed at once (max_parallel_mailboxes; schema 042's CHECK). */
#define MSE_MAX_PARALLEL_MAILBOXES 16

/* Admin API input (longer strings and larger arrays get 422; lengths count characters). */
#define MSE_MAX_NAME            200  /* names of sites, schedules, tasks, API clients */
#define MSE_MAX_DESCRIPTION     2000 /* free-text descriptions */
#define MSE_MAX_JSON_MEMBERS    64   /* members of one request object */
#define MSE_MAX_FIELD_ERRORS    100  /* entries in one 422's errors[] */
#define MSE_MAX_FOLDER_PATH     1024 /* a folder path such as "/Inbox/Projects" */
#define MSE_MAX_FOLDER_LIST     200  /* entries of exclude_folders / folders */
#define MSE_MAX_POLICIES        50   /* managed_folders policies */
#define MSE_MAX_DN              1024 /* an AD group's distinguished name */
#define MSE_MAX_ADDRESS         254  /* an e-mail address (RFC 5321 path limit) */
#define MSE_MAX_MAILBOX_LIST    1000 /* addresses in a mailbox_list group */
#define MSE_MAX_LIST_VALUE      (MSE_MAX_MAILBOX_LIST * (MSE_MAX_ADDRESS + 2))
#define MSE_MAX_TIMEZONE        64  /* an IANA time zone name */
#define MSE_MAX_NEXT_RUNS       100 /* next_runs a schedule shows on request (default 5) */
#define MSE_MAX_IDEMPOTENCY_KEY 255 /* Idempotency-Key header */
#define MSE_MAX_CLIENT_ID       64  /* OAuth client ids */
#define MSE_MAX_CLIENT_SECRET   256 /* OAuth client secrets */
#define MSE_MIN_CLIENT_SECRET   16  /* a bootstrap secret chosen by a person */
#define MSE_MAX_FILTER          256 /* a list filter's query value */

/* Execution lifecycle (worker protocol). */
#define MSE_MAX_MEMBERS         100000              /* mailboxes one execution processes */
#define MSE_MAX_BATCH_RECORDS   5000                /* records of one kind in one batch */
#define MSE_MAX_CHECKPOINT      (16u * 1024 * 1024) /* an EWS sync state, as stored */
#define MSE_MAX_SUBMISSION_BODY (40u * 1024 * 1024) /* a batch request (checkpoints included) */
/* One blob uploaded by a worker (an attachment, a message's MIME): spooled to disk as it
 * arrives, never held in memory. The default of MSE_MAX_CONTENT_BYTES. */
#define MSE_MAX_CONTENT_BODY    ((size_t)2 * 1024 * 1024 * 1024)
#define MSE_MAX_MEMBERSHIP_BODY (32u * 1024 * 1024) /* a resolved group of MSE_MAX_MEMBERS */

/* Journal ingest: one RFC 5322 message and what the archive reads from it (mime.h). */
#define MSE_MAX_JOURNAL_BODY       (32u * 1024 * 1024) /* one journaled message; larger → 413 */
#define MSE_MAX_JOURNAL_RECIPIENTS 1000                /* envelope recipients of one message */
#define MSE_MAX_MIME_TEXT          (256u * 1024)       /* body text indexed for search */
#define MSE_MAX_MIME_HTML          (8u * 1024 * 1024)  /* an HTML part rendered to text */
#define MSE_MAX_MIME_ADDRESSES     1000                /* mailboxes of one address header */
#define MSE_MAX_MIME_ATTACHMENTS   1000                /* attachments listed (more: counted) */
#define MSE_MAX_MIME_REFERENCES    100                 /* message ids kept from References */
#define MSE_MAX_MIME_DEPTH         64                  /* MIME nesting walked */

/* In-process caches. */
#define MSE_TOKEN_CACHE_SLOTS 4096 /* validated bearer tokens (direct-mapped) */
#define MSE_RATELIMIT_KEYS    4096 /* addresses and (client id, address) pairs failing lately */
#define MSE_RATELIMIT_MAX     1000 /* largest number of free failures a key may be given */

/* mse-worker: what it accepts from Exchange and keeps per mailbox. */
#define MSE_EWS_MAX_RESPONSE_DEFAULT (64u * 1024u * 1024u) /* larger EWS responses abort */
#define MSE_EWS_MAX_CHANGES          512   /* SyncFolderItems page (the schema's maximum) */
#define MSE_EWS_GETITEM_BATCH        100   /* item ids per GetItem request, by default */
#define MSE_EWS_PARALLEL             4     /* GetItem requests of a page in flight at once */
#define MSE_EWS_PARALLEL_MAX         16    /* the most ews_parallel may ask for */
#define MSE_EWS_MAX_FOLDERS          20000 /* folders of one mailbox hierarchy */
#define MSE_EWS_MAX_ATTACHMENTS      256   /* attachments read per appointment */
#define MSE_CHECKPOINT_MAX           (16u * 1024u * 1024u) /* one stored checkpoint */
#define MSE_GROUP_MAX_MEMBERS        100000                /* mailboxes one group resolves to */
#define MSE_GROUP_MAX_DEPTH          32                    /* nesting of distribution groups */
#define MSE_GROUP_MAX_GROUPS         4096          /* groups expanded while resolving one group */
#define MSE_CONFIG_FILE_MAX          (64u * 1024u) /* worker configuration file */
#define MSE_SECRET_FILE_MAX          (16u * 1024u) /* password / bearer token files */

#endif

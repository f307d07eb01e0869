/* SPDX-License-Identifier: Apache-2.0 */
/* Every cap on a growable buffer or list, in one place (see STYLE.md). */
#ifndef MSE_LIMITS_H
#define MSE_LIMITS_H

/* HTTP requests the server accepts. */
#define MSE_MAX_REQUEST_BODY      (1024u * 1024u)       /* larger → 413 */
#define MSE_MAX_DISCARD_BODY      (64u * 1024u * 1024u) /* beyond this the connection is dropped */
#define MSE_MAX_REQUEST_HEADERS   (16u * 1024u)         /* sum of header lines; larger → 431 */
#define MSE_MHD_CONNECTION_MEMORY (64u * 1024u)         /* libmicrohttpd's per-connection pool */
#define MSE_MAX_PATH_SEGMENTS     16
#define MSE_MAX_REQUEST_ID        64

/* Pagination. */
#define MSE_PAGE_DEFAULT 50
#define MSE_PAGE_MAX     500

/* JSON documents built for responses. */
#define MSE_MAX_RESPONSE_BODY (64u * 1024u * 1024u)

/* mse-worker: what it accepts from Exchange and keeps per mailbox. */
#define MSE_EWS_MAX_RESPONSE_DEFAULT (64u * 1024u * 1024u) /* larger EWS responses abort */
#define MSE_EWS_MAX_CHANGES          512   /* SyncFolderItems page (the schema's maximum) */
#define MSE_EWS_GETITEM_BATCH        50    /* item ids per GetItem request, by default */
#define MSE_EWS_MAX_FOLDERS          20000 /* folders of one mailbox hierarchy */
#define MSE_EWS_MAX_ATTACHMENTS      256   /* attachments read per appointment */
#define MSE_CHECKPOINT_MAX           (16u * 1024u * 1024u) /* one stored checkpoint */
#define MSE_GROUP_MAX_MEMBERS        100000                /* mailboxes one group resolves to */
#define MSE_GROUP_MAX_DEPTH          32                    /* nesting of distribution groups */
#define MSE_GROUP_MAX_GROUPS         4096          /* groups expanded while resolving one group */
#define MSE_CONFIG_FILE_MAX          (64u * 1024u) /* worker configuration file */
#define MSE_SECRET_FILE_MAX          (16u * 1024u) /* password / bearer token files */

#endif

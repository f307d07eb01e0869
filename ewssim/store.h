/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory organisation: accounts, mailboxes, folders, items, attachments, groups. */
#ifndef EWSSIM_STORE_H
#define EWSSIM_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hmap.h"
#include "mse/rc.h"
#include "stats.h"

/*
 * Change tracking. Every mailbox has a change sequence number (CSN) that grows by one with
 * every change to one of its folders or items. A folder keeps an append-only log of
 * (csn, item) entries ordered by csn: an entry is live while the item is still in that folder
 * with that csn; a moved or deleted item leaves a tombstone. A SyncState holds the csn up to
 * which the client has seen a folder (its watermark), so a page is a binary search plus a scan.
 */

enum item_kind { ITEM_MESSAGE, ITEM_CALENDAR };
enum sensitivity { SENS_NORMAL, SENS_PERSONAL, SENS_PRIVATE, SENS_CONFIDENTIAL };
enum cal_type { CAL_SINGLE, CAL_OCCURRENCE, CAL_EXCEPTION, CAL_RECURRING_MASTER };
enum response_type {
    RESP_UNKNOWN,
    RESP_ORGANIZER,
    RESP_TENTATIVE,
    RESP_ACCEPT,
    RESP_DECLINE,
    RESP_NO_RESPONSE
};
enum pattern_type {
    PAT_NONE,
    PAT_DAILY,
    PAT_WEEKLY,
    PAT_ABS_MONTHLY,
    PAT_REL_MONTHLY,
    PAT_ABS_YEARLY,
    PAT_REL_YEARLY
};
enum range_type { RANGE_NO_END, RANGE_END_DATE, RANGE_NUMBERED };

/* A person as an address book shows them; interned and owned by the organisation. */
struct sim_person {
    char *name;
    char *email;
};

struct sim_attendee {
    const struct sim_person *who;
    enum response_type response;
};

struct sim_attachment {
    uint64_t num; /* organisation-wide, part of the AttachmentId */
    char *name;
    char *content_type;
    char *content_id; /* NULL when not inline */
    uint8_t *content; /* NULL: generated on demand from gen_seed (see gen.h) */
    size_t size;
    uint64_t gen_seed;
    bool is_inline;
    time_t modified;
};

/* Recurrence exactly as EWS models it: one pattern and one range. */
struct sim_recurrence {
    enum pattern_type pattern;
    int interval;          /* daily, weekly, monthly */
    uint8_t days;          /* bit 0 = Sunday … bit 6 = Saturday; bit 7 = Day, see recur.c */
    int day_of_week_index; /* 1..4 = First..Fourth, 5 = Last */
    int day_of_month;      /* 1..31 */
    int month;             /* 1..12 */
    int first_day_of_week; /* 0..6, or -1 when absent */
    enum range_type range;
    time_t start_date; /* midnight UTC */
    time_t end_date;   /* RANGE_END_DATE */
    int count;         /* RANGE_NUMBERED */
};

/* A modified occurrence of a recurring master; NULL fields mean "as the master". */
struct sim_exception {
    time_t original_start;
    time_t start, end;
    char *subject;
    char *location;
};

struct sim_calendar {
    time_t start, end;
    bool all_day;
    char *location;
    char *uid;
    const struct sim_person *organizer;
    struct sim_attendee *required, *optional;
    unsigned nrequired, noptional;
    enum cal_type type; /* CAL_SINGLE or CAL_RECURRING_MASTER for stored items */
    struct sim_recurrence rec;
    struct sim_exception *exceptions;
    unsigned nexceptions;
    time_t *deleted; /* original starts of deleted occurrences */
    unsigned ndeleted;
};

/* An extended (MAPI) property set through UpdateItem: its path attributes and value. */
struct sim_extprop {
    char *attrs; /* canonical "Name=Value\n…" of the ExtendedFieldURI attributes */
    char *value;
};

struct sim_folder;
struct sim_mailbox;

struct sim_item {
    uint64_t num; /* organisation-wide, part of the ItemId */
    struct sim_mailbox *mbx;
    struct sim_folder *folder;
    enum item_kind kind;
    uint32_t change_no;   /* part of the ChangeKey; bumped by every change */
    uint64_t csn;         /* last change of any kind */
    uint64_t content_csn; /* last change other than the read flag */
    uint64_t created_csn; /* when it entered its current folder */
    char *item_class;
    char *subject;
    char *imid; /* InternetMessageId */
    char *body; /* NULL: generated on demand from body_seed */
    bool body_html;
    uint64_t body_seed;
    char *mime; /* raw MIME from the fixture; NULL: synthesised */
    const struct sim_person *sender, *from;
    const struct sim_person **to, **cc;
    unsigned nto, ncc;
    time_t sent, received, created, modified;
    int64_t size;
    bool is_read;
    enum sensitivity sensitivity;
    struct sim_attachment *atts;
    unsigned natts;
    struct sim_extprop *props;
    unsigned nprops;
    struct sim_calendar *cal; /* ITEM_CALENDAR only */
};

enum log_kind { LOG_LIVE, LOG_TOMB };

struct log_entry {
    uint64_t csn;
    uint64_t num;       /* item number */
    uint64_t since_csn; /* tombstones: when the item had entered the folder */
    uint32_t change_no; /* tombstones: the item's last ChangeKey */
    uint32_t kind;
};

struct sim_folder {
    uint64_t num; /* organisation-wide, part of the FolderId */
    struct sim_mailbox *mbx;
    struct sim_folder *parent;
    char *name;
    char *folder_class; /* NULL for the root */
    int distinguished;  /* index into store_distinguished_names, or -1 */
    uint32_t change_no;
    uint64_t csn, created_csn;
    bool deleted;
    bool in_ipm; /* below msgfolderroot (for tombstones: when it was deleted) */
    struct sim_folder **children;
    unsigned nchildren, capchildren;
    struct log_entry *log;
    size_t nlog, caplog, stale;
    unsigned item_count, unread_count;
};

struct sim_mailbox {
    uint32_t idx; /* position in org->mailboxes, part of every id */
    char *address;
    char *display_name;
    uint64_t csn;
    uint32_t epoch; /* bumped to invalidate every SyncState of this mailbox */
    struct sim_folder *root, *msgroot;
    struct sim_folder **folders; /* every folder ever created, deleted ones included */
    unsigned nfolders, capfolders;
    struct stats_counters counters;
};

struct sim_account {
    char *address;
    uint8_t password_sha[32];
    bool has_password;
    bool impersonate_all;
    char **impersonate; /* addresses this account may impersonate */
    unsigned nimpersonate;
    char **full_access; /* mailboxes it may open as a delegate */
    unsigned nfull_access;
    struct sim_mailbox *mbx; /* its own mailbox, or NULL */
};

struct sim_group {
    char *address;
    char *name;
    char **members; /* addresses: mailboxes, other groups or external */
    unsigned nmembers;
};

struct org {
    struct sim_account **accounts;
    unsigned naccounts;
    struct sim_mailbox **mailboxes;
    unsigned nmailboxes;
    struct sim_group **groups;
    unsigned ngroups;
    struct hmap account_by_addr, mailbox_by_addr, group_by_addr, account_by_token, persons;
    struct sim_person **person_list;
    size_t npersons, cappersons;
    struct sim_item **items; /* by num; NULL once deleted */
    size_t nitems, capitems;
    struct sim_folder **folder_by_num;
    size_t nfolder_nums, capfolder_nums;
    uint64_t next_att_num;
    uint64_t gen_seed; /* generator seed (0 for fixtures) */
};

/* Distinguished folder ids the simulator knows, index = sim_folder.distinguished. */
extern const char *const store_distinguished_names[];
int store_distinguished_lookup(const char *id);

/* Lifecycle. org_new returns an empty organisation or NULL. */
struct org *org_new(void);
void org_free(struct org *o);

/* Builders used by fixture.c and gen.c. All strings are copied. */
struct sim_person *org_person(struct org *o, const char *name, const char *email);
enum mse_rc org_account_add(struct org *o, const char *address, const char *password,
                            struct sim_account **out) MSE_WUR;
enum mse_rc org_token_add(struct org *o, const char *token, struct sim_account *acct) MSE_WUR;
enum mse_rc org_mailbox_add(struct org *o, const char *address, const char *display_name,
                            struct sim_mailbox **out) MSE_WUR;
enum mse_rc org_group_add(struct org *o, const char *address, const char *name,
                          struct sim_group **out) MSE_WUR;
enum mse_rc org_group_set_members(struct sim_group *g, const char *const *members,
                                  unsigned n) MSE_WUR;
/* Completes a mailbox: the standard folders that are missing are created. */
enum mse_rc org_mailbox_finish(struct org *o, struct sim_mailbox *m) MSE_WUR;

/* Lookups (NULL when absent). */
struct sim_account *org_account(const struct org *o, const char *address);
struct sim_account *org_account_by_token(const struct org *o, const char *token);
struct sim_mailbox *org_mailbox(const struct org *o, const char *address);
struct sim_group *org_group(const struct org *o, const char *address);
struct sim_item *org_item(const struct org *o, uint64_t num);
struct sim_folder *org_folder(const struct org *o, uint64_t num);
/* Folder of m whose distinguished id is name ("inbox"), or NULL. */
struct sim_folder *mailbox_distinguished(const struct sim_mailbox *m, const char *name);
/* Folder at a path below msgfolderroot ("/Inbox/Projects"; "/" = msgfolderroot). */
struct sim_folder *mailbox_folder_by_path(const struct sim_mailbox *m, const char *path);
/* Writes the folder's path below msgfolderroot ("/Inbox/Projects"); "" outside it. */
void folder_path(const struct sim_folder *f, char *out, size_t size);
/* True when account may act on mailbox m (own mailbox, delegate, or impersonating it). */
bool account_may_open(const struct sim_account *a, const struct sim_mailbox *m);
bool account_may_impersonate(const struct sim_account *a, const char *address);
/* Constant-time password check. */
bool account_password_ok(const struct sim_account *a, const char *password);

/*
 * Mutations. Each takes the next CSN of the item's or folder's mailbox, bumps the ChangeKey
 * and records the change in the folder logs. Callers hold the store's write lock.
 */
enum mse_rc folder_create(struct org *o, struct sim_folder *parent, const char *name,
                          const char *folder_class, int distinguished,
                          struct sim_folder **out) MSE_WUR;
/* Renames (name non-NULL) and/or moves (parent non-NULL) a folder. */
enum mse_rc folder_update(struct sim_folder *f, const char *name,
                          struct sim_folder *parent) MSE_WUR;
/* Deletes a folder, its sub-folders and their items. Distinguished folders are refused. */
enum mse_rc folder_delete(struct org *o, struct sim_folder *f) MSE_WUR;
/* Allocates an item in folder f (fields zeroed but ids); the caller fills it in. */
enum mse_rc item_new(struct org *o, struct sim_folder *f, enum item_kind kind,
                     struct sim_item **out) MSE_WUR;
/* Records a change of the item's contents (content=true) or only of its read flag. */
enum mse_rc item_touch(struct sim_item *it, bool content) MSE_WUR;
/* Moves an item: a tombstone in the old folder, a creation in the new one. */
enum mse_rc item_move(struct sim_item *it, struct sim_folder *to) MSE_WUR;
/* Deletes an item for good (tombstone in its folder). */
enum mse_rc item_delete(struct org *o, struct sim_item *it) MSE_WUR;
/* Sets the read flag, keeping the folder's unread count right (no change recorded). */
void item_set_read(struct sim_item *it, bool is_read);
/* Recomputes the item's size from its headers, body and attachments. */
void item_size_update(struct sim_item *it);
/* Size of the item's body text in bytes (generating it when needed is not required). */
size_t item_body_len(const struct sim_item *it);
void item_free(struct sim_item *it);
/* Next organisation-wide attachment number. */
uint64_t org_next_attachment(struct org *o);

/* Iteration over a folder's log: first entry index with csn > watermark. */
size_t folder_log_seek(const struct sim_folder *f, uint64_t watermark);
/* The live item an entry stands for, or NULL when the entry is stale or a tombstone. */
struct sim_item *folder_log_item(const struct org *o, const struct sim_folder *f,
                                 const struct log_entry *e);

/*
 * The store: the organisation behind a read-write lock, and how to rebuild it (reset).
 * generation grows with every reset so that SyncStates from before it are refused.
 */
struct store {
    pthread_rwlock_t lock;
    struct org *org;
    atomic_uint generation;
};

void store_init(struct store *s, struct org *o);
void store_cleanup(struct store *s);
/* Replaces the organisation (reset); frees the old one. */
void store_swap(struct store *s, struct org *o);
void store_read_lock(struct store *s);
void store_write_lock(struct store *s);
void store_unlock(struct store *s);

/* Length of the UTF-8 sequence at p (1-4) and its code point; 0 when invalid or overlong. */
size_t store_utf8_next(const unsigned char *p, uint32_t *cp);
/* String checks for data that will be written into XML: valid UTF-8, XML 1.0 characters. */
bool store_text_ok(const char *s);

#endif

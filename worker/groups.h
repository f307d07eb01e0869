/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving a task's group to mailbox addresses, with a per-group membership cache. */
#ifndef MSE_GROUPS_H
#define MSE_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews_item.h"
#include "mse/rc.h"

struct ews_session;

enum group_kind {
    GROUP_MAILBOX,      /* one address */
    GROUP_MAILBOX_LIST, /* addresses separated by ';' (validated by the server) */
    GROUP_EMAIL,        /* a distribution group, expanded through ExpandDL */
    GROUP_AD,           /* an Active Directory DN: needs a directory (a later issue) */
};

/* "mailbox", "mailbox_list", "group_email", "ad_group". MSE_ERR_INVALID otherwise. */
enum mse_rc group_kind_parse(const char *s, enum group_kind *out) MSE_WUR;

/* How many skipped members a resolution lists by address (all are counted). */
#define GROUP_MAX_SKIPPED_LISTED 100

/*
 * A member that is not a mailbox of this Exchange, so nothing to synchronise: an outside
 * address (OneOff), a contact, a public folder or a private list. Administrators are told,
 * rather than finding a recipient silently missing from the archive.
 */
struct group_skipped {
    char *address;
    const char *reason; /* static: "external", "contact", "public_folder", "private_dl", … */
};

/* The mailboxes a group resolved to, de-duplicated (case-insensitively), in discovery order. */
struct group_members {
    char **v;
    size_t n;
    struct group_skipped *skipped; /* the first GROUP_MAX_SKIPPED_LISTED, de-duplicated */
    size_t nskipped;
    size_t skipped_total; /* distinct skipped members, listed or not */
};

void group_members_cleanup(struct group_members *m);

/*
 * Lists the direct members of one distribution group. Production uses ExpandDL
 * (group_expander_ews); tests may list members from a table. On failure it sets *reason to a
 * stable code ("group_not_found", "ews_unavailable" …) and err to a sentence.
 */
struct group_expander {
    enum mse_rc (*expand)(void *ctx, const char *address, struct ews_people *members,
                          const char **reason, struct mse_err *err);
    void *ctx;
    /*
     * Resolves an ad_group DN through the site's directory to mailbox addresses (maybe
     * repeated); NULL when the site has no directory. Errors as groups_resolve's.
     */
    enum mse_rc (*directory)(void *dctx, const char *dn, char ***addresses, size_t *n,
                             const char **reason, struct mse_err *err);
    void *dctx;
};

/* An expander over an EWS session (ExpandDL, a protocol-level call). */
struct group_expander group_expander_ews(struct ews_session *s);

/* Thread-safe cache of resolved group_email memberships, each kept for ttl_ms. */
struct group_cache;

/* NULL on allocation failure. ttl_ms 0 disables caching. */
struct group_cache *group_cache_new(int64_t ttl_ms);
void group_cache_free(struct group_cache *c);
/* Drops every entry (e.g. when the site's configuration changes). */
void group_cache_clear(struct group_cache *c);
/* Drops the entry of one group ("group_email" or "ad_group" and its value): a refresh. */
void group_cache_drop(struct group_cache *c, enum group_kind kind, const char *value);

/*
 * Resolves a group. group_email is expanded recursively: nested groups (MailboxType
 * PublicDL) are expanded in turn, each at most once, so cycles end; contacts, public folders
 * and private lists are skipped (listed in out->skipped); duplicates are removed. Its result is
 * served from cache (may be NULL) while younger than the TTL. ad_group goes through x->directory,
 * cached the same way; without one it fails with reason "no_directory" and the text "no directory
 * configured for this site". Errors: MSE_ERR_INVALID (malformed value, "invalid_group"),
 * MSE_ERR_TOO_LARGE (caps in mse/limits.h, "group_too_large"), MSE_ERR_UNAVAILABLE (expansion
 * failed or no directory), MSE_ERR_NOMEM. *cached tells whether the cache answered (may be NULL).
 * out is empty on failure.
 */
enum mse_rc groups_resolve(struct group_cache *cache, enum group_kind kind, const char *value,
                           const struct group_expander *x, struct group_members *out, bool *cached,
                           const char **reason, struct mse_err *err) MSE_WUR;

#endif

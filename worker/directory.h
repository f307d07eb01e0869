/* SPDX-License-Identifier: Apache-2.0 */
/* Active Directory over LDAP: groups and OUs resolved to mailbox addresses, and the catalogue. */
#ifndef MSE_DIRECTORY_H
#define MSE_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "mse/rc.h"

/* How to reach a site's directory (from the server's GET /api/v1/worker/directory). */
struct directory_config {
    char urls[1024]; /* space-separated ldap:// (StartTLS) or ldaps:// URLs, tried in order */
    char bind_dn[1024];
    char password[512];
    char base_dn[1024];
    bool tls_verify;
    unsigned page_size; /* paged results (RFC 2696) page size */
};

/* A growable list of strings (addresses, DNs); owns its strings. */
struct directory_list {
    char **v;
    size_t n, cap;
};

void directory_list_cleanup(struct directory_list *l);

/* What one group or OU resolved to. */
struct directory_members {
    struct directory_list addresses;   /* mailbox addresses, in discovery order, maybe repeated */
    struct directory_list excluded;    /* "DN (disabled)", "DN (no mailbox)": left out, listed */
    struct directory_list excluded_dn; /* the same entries' DNs, in the same order */
    struct directory_list excluded_reason; /* and why: "disabled", "no_mailbox" */
};

void directory_members_cleanup(struct directory_members *m);

/*
 * Resolves a group DN (security or distribution; nested groups expanded, each once, so cycles
 * end) or an OU DN (the mail-enabled users below it) to addresses. A user's address is `mail`,
 * else the primary "SMTP:" entry of proxyAddresses; disabled users (userAccountControl bit 2)
 * and users without either go to out->excluded. Errors set *reason and name the group in err:
 * "directory_unavailable" (MSE_ERR_UNAVAILABLE: unreachable, TLS), "directory_bind_failed"
 * (MSE_ERR_IO), "group_not_found" (MSE_ERR_NOT_FOUND: the DN or one of its members does not
 * exist), "invalid_group" (MSE_ERR_INVALID: not an RFC 4514 DN, or neither group nor OU),
 * "group_too_large" (MSE_ERR_TOO_LARGE). out is empty on failure.
 */
enum mse_rc directory_resolve(const struct directory_config *cfg, const char *dn,
                              struct directory_members *out, const char **reason,
                              struct mse_err *err) MSE_WUR;

/* One group or OU the directory holds, for the server's look-up. */
struct directory_group {
    char *dn, *name, *mail;
    const char *kind; /* "security_group", "distribution_group", "ou" */
    long member_count;
};

struct directory_groups {
    struct directory_group *v;
    size_t n, cap;
};

void directory_groups_cleanup(struct directory_groups *g);

/* Lists the groups and OUs under the base DN (paged), at most max of them. Errors as above. */
enum mse_rc directory_catalogue(const struct directory_config *cfg, size_t max,
                                struct directory_groups *out, const char **reason,
                                struct mse_err *err) MSE_WUR;

/* Binds and reads the base DN: the site's "test the directory". err holds the exact error. */
enum mse_rc directory_check(const struct directory_config *cfg, const char **reason,
                            struct mse_err *err) MSE_WUR;

/* Pure helpers, exported for the unit tests. */

/*
 * Parses an attribute description returned for attribute base: "member" (whole, *ranged =
 * false) or "member;range=0-1499" (*ranged, *low, *high; *high = -1 for "*"). False when name
 * is another attribute or a malformed range.
 */
bool directory_range_parse(const char *name, const char *base, bool *ranged, long *low, long *high);

/* The primary SMTP address among proxyAddresses values ("SMTP:a@b"; "smtp:" are secondary). */
const char *directory_proxy_primary(const char *const *values, size_t n);

/* True when userAccountControl (decimal text) has ACCOUNTDISABLE (bit 2). */
bool directory_uac_disabled(const char *uac);

#endif

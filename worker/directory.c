/* SPDX-License-Identifier: Apache-2.0 */
/* Active Directory over LDAP: groups and OUs resolved to mailbox addresses, and the catalogue. */
#include "directory.h"

#include <ctype.h>
#include <errno.h>
#include <ldap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mse/limits.h"

/* Seconds an LDAP connect or operation may take before the directory counts as unreachable. */
#define DIR_TIMEOUT_S 15
/* Base-scope look-ups of group members kept in flight on the one connection. */
#define DIR_WINDOW 64
/* Entries one catalogue may hold (the server caps what it stores too). */
#define DIR_DEFAULT_PAGE 500

/* ---- small containers ---- */

void directory_list_cleanup(struct directory_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static enum mse_rc list_add(struct directory_list *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return MSE_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strndup(s, n);
    if (!l->v[l->n])
        return MSE_ERR_NOMEM;
    l->n++;
    return MSE_OK;
}

void directory_members_cleanup(struct directory_members *m)
{
    if (!m)
        return;
    directory_list_cleanup(&m->addresses);
    directory_list_cleanup(&m->excluded);
    directory_list_cleanup(&m->excluded_dn);
    directory_list_cleanup(&m->excluded_reason);
}

void directory_groups_cleanup(struct directory_groups *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].dn);
        free(g->v[i].name);
        free(g->v[i].mail);
    }
    free(g->v);
    memset(g, 0, sizeof(*g));
}

/* A set of normalised DNs (open addressing): the groups expanded, for cycle detection. */
struct dnset {
    char **slot;
    size_t cap, n;
};

static uint64_t dn_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static char **dnset_find(struct dnset *s, const char *key)
{
    size_t i = (size_t)dn_hash(key) & (s->cap - 1);
    while (s->slot[i] && strcmp(s->slot[i], key) != 0)
        i = (i + 1) & (s->cap - 1);
    return &s->slot[i];
}

static void dnset_cleanup(struct dnset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    memset(s, 0, sizeof(*s));
}

/* Adds a copy of key (taken as is); *added false when present. */
static enum mse_rc dnset_add(struct dnset *s, const char *key, bool *added)
{
    *added = false;
    if ((s->n + 1) * 2 > s->cap) {
        struct dnset big = { calloc(s->cap ? s->cap * 2 : 64, sizeof(char *)),
                             s->cap ? s->cap * 2 : 64, s->n };
        if (!big.slot)
            return MSE_ERR_NOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i])
                *dnset_find(&big, s->slot[i]) = s->slot[i];
        free(s->slot);
        *s = big;
    }
    char **slot = dnset_find(s, key);
    if (*slot)
        return MSE_OK;
    if (!(*slot = strdup(key)))
        return MSE_ERR_NOMEM;
    s->n++;
    *added = true;
    return MSE_OK;
}

/* ---- pure helpers ---- */

bool directory_range_parse(const char *name, const char *base, bool *ranged, long *low, long *high)
{
    size_t n = strlen(base);
    *ranged = false;
    if (strncasecmp(name, base, n) != 0)
        return false;
    if (name[n] == '\0')
        return true;
    if (strncasecmp(name + n, ";range=", 7) != 0)
        return false;
    const char *p = name + n + 7;
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*p))
        return false;
    *low = strtol(p, &end, 10);
    if (errno || *end != '-')
        return false;
    p = end + 1;
    if (strcmp(p, "*") == 0) {
        *high = -1;
    } else {
        if (!isdigit((unsigned char)*p))
            return false;
        *high = strtol(p, &end, 10);
        if (errno || *end || *high < *low)
            return false;
    }
    *ranged = true;
    return true;
}

const char *directory_proxy_primary(const char *const *values, size_t n)
{
    /* Case matters: "SMTP:" marks the primary address, "smtp:" the secondary ones. */
    for (size_t i = 0; i < n; i++)
        if (values[i] && strncmp(values[i], "SMTP:", 5) == 0 && values[i][5])
            return values[i] + 5;
    return NULL;
}

bool directory_uac_disabled(const char *uac)
{
    char *end;
    if (!uac)
        return false;
    errno = 0;
    long long v = strtoll(uac, &end, 10);
    return !errno && end != uac && (v & 2) != 0;
}

/* ---- connection ---- */

struct conn {
    LDAP *ld;
    const struct directory_config *cfg;
    const char **reason;
    struct mse_err *err;
    const char *group; /* the DN being resolved, for messages */
};

/* Sets the error from an LDAP result code (with the server's diagnostic message, if any). */
static enum mse_rc conn_fail(struct conn *c, int lrc, const char *what)
{
    char *diag = NULL;
    if (c->ld)
        (void)ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    const char *pre = c->group ? "group " : "";
    /* libldap fills in a placeholder when the server said nothing: not worth showing. */
    bool show = diag && *diag && strcmp(diag, "(unknown error code)") != 0;
    snprintf(c->err->msg, sizeof(c->err->msg), "%s%.200s%s%s: %s%s%.200s", pre,
             c->group ? c->group : "", c->group ? ": " : "", what, ldap_err2string(lrc),
             show ? " — " : "", show ? diag : "");
    ldap_memfree(diag);
    switch (lrc) {
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_CONFIDENTIALITY_REQUIRED:
        *c->reason = "directory_bind_failed";
        return MSE_ERR_IO;
    case LDAP_NO_SUCH_OBJECT:
        *c->reason = "group_not_found";
        return MSE_ERR_NOT_FOUND;
    case LDAP_INVALID_DN_SYNTAX:
        *c->reason = "invalid_group";
        return MSE_ERR_INVALID;
    case LDAP_NO_MEMORY:
        *c->reason = "internal";
        return MSE_ERR_NOMEM;
    default:
        *c->reason = "directory_unavailable";
        return MSE_ERR_UNAVAILABLE;
    }
}

static void conn_close(struct conn *c)
{
    if (c->ld)
        ldap_unbind_ext_s(c->ld, NULL, NULL);
    c->ld = NULL;
}

/* Connects (StartTLS on ldap://), and binds simply with the configured DN and password. */
static enum mse_rc conn_open(struct conn *c)
{
    const struct directory_config *cfg = c->cfg;
    int version = LDAP_VERSION3,
        require = cfg->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
    int newctx = 0;
    struct timeval tv = { DIR_TIMEOUT_S, 0 };
    int lrc = ldap_initialize(&c->ld, cfg->urls);
    if (lrc != LDAP_SUCCESS)
        return conn_fail(c, lrc, "bad directory URL");
    (void)ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    (void)ldap_set_option(c->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    (void)ldap_set_option(c->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    (void)ldap_set_option(c->ld, LDAP_OPT_TIMEOUT, &tv);
    (void)ldap_set_option(c->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require);
    /* The TLS options above apply to a context made after them. */
    (void)ldap_set_option(c->ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
    lrc = ldap_connect(c->ld);
    if (lrc != LDAP_SUCCESS)
        return conn_fail(c, lrc, "cannot connect");
    /* ldaps:// has TLS from the start; ldap:// must upgrade before the password is sent. */
    if (!ldap_tls_inplace(c->ld) && (lrc = ldap_start_tls_s(c->ld, NULL, NULL)) != LDAP_SUCCESS)
        return conn_fail(c, lrc, "StartTLS failed");
    struct berval cred = { strlen(cfg->password), (char *)cfg->password };
    lrc = ldap_sasl_bind_s(c->ld, cfg->bind_dn[0] ? cfg->bind_dn : NULL, LDAP_SASL_SIMPLE, &cred,
                           NULL, NULL, NULL);
    if (lrc != LDAP_SUCCESS)
        return conn_fail(c, lrc, "bind failed");
    return MSE_OK;
}

/* ---- entries ---- */

enum entry_kind { ENTRY_OTHER, ENTRY_USER, ENTRY_GROUP, ENTRY_OU };

/* What resolution needs of one entry. */
struct entry {
    enum entry_kind kind;
    bool disabled;
    bool security; /* groupType has the security bit */
    char *address; /* mail, else the primary proxyAddresses entry */
    char *name;    /* cn or ou */
    char *mail;
    struct directory_list members;
    long next_low; /* ranged member answer: the next range starts here; -1 = complete */
};

static void entry_cleanup(struct entry *e)
{
    free(e->address);
    free(e->name);
    free(e->mail);
    directory_list_cleanup(&e->members);
    memset(e, 0, sizeof(*e));
}

static char *attrs_entry[] = {
    "objectClass", "mail", "proxyAddresses", "userAccountControl", "groupType", "cn", "ou",
    "member",      NULL
};

static enum entry_kind kind_of(struct berval **oc)
{
    enum entry_kind k = ENTRY_OTHER;
    for (size_t i = 0; oc && oc[i]; i++) {
        const char *v = oc[i]->bv_val;
        /* Contacts and computers are persons/users in AD's schema, yet have no mailbox here. */
        if (!strcasecmp(v, "contact") || !strcasecmp(v, "computer"))
            return ENTRY_OTHER;
        if (!strcasecmp(v, "group"))
            k = ENTRY_GROUP;
        else if (!strcasecmp(v, "organizationalUnit") && k == ENTRY_OTHER)
            k = ENTRY_OU;
        else if ((!strcasecmp(v, "user") || !strcasecmp(v, "inetOrgPerson")) && k != ENTRY_GROUP)
            k = ENTRY_USER;
    }
    return k;
}

static char *first_value(struct berval **v)
{
    return v && v[0] ? strndup(v[0]->bv_val, v[0]->bv_len) : NULL;
}

/* Reads the attributes of one search entry into e. */
static enum mse_rc entry_parse(LDAP *ld, LDAPMessage *msg, struct entry *e)
{
    BerElement *ber = NULL;
    enum mse_rc rc = MSE_OK;
    const char *proxies[64];
    size_t nproxies = 0;
    struct berval **proxy_vals = NULL;
    memset(e, 0, sizeof(*e));
    e->next_low = -1;
    for (char *a = ldap_first_attribute(ld, msg, &ber); a && rc == MSE_OK;
         a = ldap_next_attribute(ld, msg, ber)) {
        struct berval **v = ldap_get_values_len(ld, msg, a);
        bool ranged;
        long low, high;
        if (!strcasecmp(a, "objectClass")) {
            e->kind = kind_of(v);
        } else if (!strcasecmp(a, "mail")) {
            e->mail = first_value(v);
        } else if (!strcasecmp(a, "proxyAddresses")) {
            proxy_vals = v;
            v = NULL;
        } else if (!strcasecmp(a, "userAccountControl") && v && v[0]) {
            e->disabled = directory_uac_disabled(v[0]->bv_val);
        } else if (!strcasecmp(a, "groupType") && v && v[0]) {
            e->security = (strtoll(v[0]->bv_val, NULL, 10) & 0x80000000LL) != 0;
        } else if ((!strcasecmp(a, "cn") || !strcasecmp(a, "ou")) && !e->name) {
            e->name = first_value(v);
        } else if (directory_range_parse(a, "member", &ranged, &low, &high)) {
            for (size_t i = 0; v && v[i] && rc == MSE_OK; i++)
                rc = list_add(&e->members, v[i]->bv_val, v[i]->bv_len);
            /* Active Directory answers big groups in ranges: ask for the rest after high. */
            if (ranged && high >= 0)
                e->next_low = high + 1;
        }
        ldap_value_free_len(v);
        ldap_memfree(a);
    }
    ber_free(ber, 0);
    for (size_t i = 0; proxy_vals && proxy_vals[i] && nproxies < 64; i++)
        proxies[nproxies++] = proxy_vals[i]->bv_val;
    const char *primary = directory_proxy_primary(proxies, nproxies);
    if (e->mail && *e->mail)
        e->address = strdup(e->mail);
    else if (primary)
        e->address = strdup(primary);
    ldap_value_free_len(proxy_vals);
    return rc;
}

/* Fetches the rest of a ranged member attribute ("member;range=N-*") until it is complete. */
static enum mse_rc members_rest(struct conn *c, const char *dn, struct entry *e)
{
    struct timeval tv = { DIR_TIMEOUT_S, 0 };
    while (e->next_low >= 0) {
        char attr[64];
        snprintf(attr, sizeof(attr), "member;range=%ld-*", e->next_low);
        char *attrs[] = { attr, NULL };
        LDAPMessage *res = NULL;
        int lrc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
                                    NULL, &tv, 0, &res);
        LDAPMessage *m = lrc == LDAP_SUCCESS ? ldap_first_entry(c->ld, res) : NULL;
        if (!m) {
            ldap_msgfree(res);
            return conn_fail(c, lrc == LDAP_SUCCESS ? LDAP_NO_SUCH_OBJECT : lrc,
                             "reading the member ranges");
        }
        struct entry more;
        enum mse_rc rc = entry_parse(c->ld, m, &more);
        ldap_msgfree(res);
        for (size_t i = 0; rc == MSE_OK && i < more.members.n; i++)
            rc = list_add(&e->members, more.members.v[i], strlen(more.members.v[i]));
        /* A range that brings nothing new would loop forever: treat it as the end. */
        e->next_low = more.members.n ? more.next_low : -1;
        entry_cleanup(&more);
        if (rc != MSE_OK)
            return rc;
        if (e->members.n > MSE_GROUP_MAX_MEMBERS) {
            *c->reason = "group_too_large";
            snprintf(c->err->msg, sizeof(c->err->msg), "group %.300s has more than %u members", dn,
                     MSE_GROUP_MAX_MEMBERS);
            return MSE_ERR_TOO_LARGE;
        }
    }
    return MSE_OK;
}

/* Reads one entry by DN (base scope) with every attribute resolution needs. */
static enum mse_rc entry_read(struct conn *c, const char *dn, struct entry *e)
{
    struct timeval tv = { DIR_TIMEOUT_S, 0 };
    LDAPMessage *res = NULL;
    memset(e, 0, sizeof(*e));
    int lrc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs_entry, 0, NULL,
                                NULL, &tv, 0, &res);
    LDAPMessage *m = lrc == LDAP_SUCCESS ? ldap_first_entry(c->ld, res) : NULL;
    enum mse_rc rc;
    if (!m) {
        rc = conn_fail(c, lrc == LDAP_SUCCESS ? LDAP_NO_SUCH_OBJECT : lrc, "the DN cannot be read");
        if (rc == MSE_ERR_NOT_FOUND)
            snprintf(c->err->msg, sizeof(c->err->msg),
                     "group %.300s does not exist in the "
                     "directory",
                     dn);
    } else {
        rc = entry_parse(c->ld, m, e);
    }
    ldap_msgfree(res);
    if (rc == MSE_OK)
        rc = members_rest(c, dn, e);
    return rc;
}

/* ---- resolution ---- */

struct resolve {
    struct conn *c;
    struct dnset groups;           /* normalised DNs of the groups expanded */
    struct dnset users;            /* normalised DNs of the users taken (diamonds read each once) */
    struct directory_list pending; /* member DNs still to read */
    struct directory_members *out;
};

/* A DN in one canonical form for comparison; falls back to the text lower-cased. */
static char *dn_key(const char *dn)
{
    char *norm = NULL;
    if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
        norm = NULL;
    char *key = strdup(norm ? norm : dn);
    ldap_memfree(norm);
    for (char *p = key; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return key;
}

static enum mse_rc excluded_add(struct resolve *r, const char *dn, const char *why)
{
    char line[1200];
    int n = snprintf(line, sizeof(line), "%.1100s (%s)", dn, why);
    const char *code = strcmp(why, "disabled") == 0 ? "disabled" : "no_mailbox";
    enum mse_rc rc = list_add(&r->out->excluded, line, (size_t)n);
    if (rc == MSE_OK)
        rc = list_add(&r->out->excluded_dn, dn, strnlen(dn, 1100));
    if (rc == MSE_OK)
        rc = list_add(&r->out->excluded_reason, code, strlen(code));
    return rc;
}

/* Takes a user: its address, or a line in excluded saying why not. */
static enum mse_rc user_take(struct resolve *r, const char *dn, const struct entry *e)
{
    if (e->disabled)
        return excluded_add(r, dn, "disabled");
    if (!e->address)
        return excluded_add(r, dn, "no mailbox");
    if (r->out->addresses.n >= MSE_GROUP_MAX_MEMBERS) {
        *r->c->reason = "group_too_large";
        snprintf(r->c->err->msg, sizeof(r->c->err->msg), "group %.300s has more than %u mailboxes",
                 r->c->group, MSE_GROUP_MAX_MEMBERS);
        return MSE_ERR_TOO_LARGE;
    }
    return list_add(&r->out->addresses, e->address, strlen(e->address));
}

/* Queues a group's members, once per group. */
static enum mse_rc group_take(struct resolve *r, const char *dn, struct entry *e)
{
    char *key = dn_key(dn);
    bool added = false;
    enum mse_rc rc = key ? dnset_add(&r->groups, key, &added) : MSE_ERR_NOMEM;
    free(key);
    if (rc != MSE_OK || !added)
        return rc; /* expanded already: a cycle or a diamond */
    if (r->groups.n > MSE_GROUP_MAX_GROUPS) {
        *r->c->reason = "group_too_large";
        snprintf(r->c->err->msg, sizeof(r->c->err->msg), "group %.300s nests more than %u groups",
                 r->c->group, MSE_GROUP_MAX_GROUPS);
        return MSE_ERR_TOO_LARGE;
    }
    rc = members_rest(r->c, dn, e);
    for (size_t i = 0; rc == MSE_OK && i < e->members.n; i++)
        rc = list_add(&r->pending, e->members.v[i], strlen(e->members.v[i]));
    return rc;
}

static enum mse_rc ou_take(struct resolve *r, const char *dn);

/* Applies one member's entry: a user, a nested group, or something without a mailbox. */
static enum mse_rc member_apply(struct resolve *r, const char *dn, struct entry *e)
{
    switch (e->kind) {
    case ENTRY_USER: {
        char *key = dn_key(dn);
        bool added = false;
        enum mse_rc rc = key ? dnset_add(&r->users, key, &added) : MSE_ERR_NOMEM;
        free(key);
        return rc != MSE_OK || !added ? rc : user_take(r, dn, e);
    }
    case ENTRY_GROUP:
        return group_take(r, dn, e);
    case ENTRY_OU:
        return ou_take(r, dn);
    case ENTRY_OTHER:
        break;
    }
    return excluded_add(r, dn, "no mailbox");
}

/* Reads the pending member DNs, DIR_WINDOW searches in flight, until none is left. */
static enum mse_rc pending_drain(struct resolve *r)
{
    struct conn *c = r->c;
    struct timeval tv = { DIR_TIMEOUT_S, 0 };
    size_t next = 0;
    int inflight = 0, ids[DIR_WINDOW];
    char *dns[DIR_WINDOW];
    enum mse_rc rc = MSE_OK;
    memset(dns, 0, sizeof(dns));
    while (rc == MSE_OK && (next < r->pending.n || inflight > 0)) {
        while (rc == MSE_OK && inflight < DIR_WINDOW && next < r->pending.n) {
            int slot = 0;
            while (dns[slot])
                slot++;
            int lrc = ldap_search_ext(c->ld, r->pending.v[next], LDAP_SCOPE_BASE, "(objectClass=*)",
                                      attrs_entry, 0, NULL, NULL, &tv, 0, &ids[slot]);
            if (lrc != LDAP_SUCCESS)
                return conn_fail(c, lrc, "member look-up failed");
            dns[slot] = r->pending.v[next++];
            inflight++;
        }
        LDAPMessage *res = NULL;
        int t = ldap_result(c->ld, LDAP_RES_ANY, LDAP_MSG_ALL, &tv, &res);
        if (t <= 0) {
            ldap_msgfree(res);
            return conn_fail(c, t == 0 ? LDAP_TIMEOUT : LDAP_SERVER_DOWN, "member look-up failed");
        }
        int id = ldap_msgid(res), slot = 0;
        while (slot < DIR_WINDOW && !(dns[slot] && ids[slot] == id))
            slot++;
        if (slot == DIR_WINDOW) {
            ldap_msgfree(res);
            continue; /* not one of ours (cannot happen on a private connection) */
        }
        const char *dn = dns[slot];
        dns[slot] = NULL;
        inflight--;
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        if (!m) {
            int err = LDAP_OTHER;
            (void)ldap_parse_result(c->ld, res, &err, NULL, NULL, NULL, NULL, 0);
            rc = conn_fail(c, err == LDAP_SUCCESS ? LDAP_NO_SUCH_OBJECT : err,
                           "member look-up failed");
            /* Dropping a member silently would replicate too few mailboxes: fail the group. */
            if (rc == MSE_ERR_NOT_FOUND)
                snprintf(c->err->msg, sizeof(c->err->msg),
                         "group %.200s: member %.200s does not exist in the directory", c->group,
                         dn);
        } else {
            struct entry e;
            rc = entry_parse(c->ld, m, &e);
            if (rc == MSE_OK)
                rc = member_apply(r, dn, &e);
            entry_cleanup(&e);
        }
        ldap_msgfree(res);
    }
    return rc;
}

/* One page-by-page subtree search; cb sees each entry. */
typedef enum mse_rc (*entry_cb)(void *ctx, LDAP *ld, LDAPMessage *m);

static enum mse_rc paged_search(struct conn *c, const char *base, const char *filter, char **attrs,
                                entry_cb cb, void *ctx)
{
    struct timeval tv = { DIR_TIMEOUT_S, 0 };
    struct berval *cookie = NULL;
    enum mse_rc rc = MSE_OK;
    int page = c->cfg->page_size ? (int)c->cfg->page_size : DIR_DEFAULT_PAGE;
    do {
        LDAPControl *pc = NULL, *sctrl[2] = { NULL, NULL }, **rctrls = NULL;
        LDAPMessage *res = NULL;
        int lrc = ldap_create_page_control(c->ld, page, cookie, 1, &pc);
        ber_bvfree(cookie);
        cookie = NULL;
        if (lrc != LDAP_SUCCESS)
            return conn_fail(c, lrc, "paged search");
        sctrl[0] = pc;
        lrc = ldap_search_ext_s(c->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, sctrl, NULL, &tv,
                                0, &res);
        ldap_control_free(pc);
        for (LDAPMessage *m = res ? ldap_first_entry(c->ld, res) : NULL; m && rc == MSE_OK;
             m = ldap_next_entry(c->ld, m))
            rc = cb(ctx, c->ld, m);
        int err = lrc;
        if (res &&
            ldap_parse_result(c->ld, res, &err, NULL, NULL, NULL, &rctrls, 0) != LDAP_SUCCESS)
            err = lrc;
        if (rc == MSE_OK && err != LDAP_SUCCESS)
            rc = conn_fail(c, err, "searching the directory");
        LDAPControl *pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
        if (rc == MSE_OK && pr) {
            ber_int_t estimate;
            struct berval ck = { 0, NULL };
            if (ldap_parse_pageresponse_control(c->ld, pr, &estimate, &ck) == LDAP_SUCCESS &&
                ck.bv_len > 0)
                cookie = ber_bvdup(&ck);
            ber_memfree(ck.bv_val);
        }
        ldap_controls_free(rctrls);
        ldap_msgfree(res);
    } while (rc == MSE_OK && cookie);
    ber_bvfree(cookie);
    return rc;
}

static enum mse_rc ou_user(void *ctx, LDAP *ld, LDAPMessage *m)
{
    struct resolve *r = ctx;
    struct entry e;
    char *dn = ldap_get_dn(ld, m);
    enum mse_rc rc = dn ? entry_parse(ld, m, &e) : MSE_ERR_NOMEM;
    if (rc == MSE_OK && e.kind == ENTRY_USER)
        rc = member_apply(r, dn, &e);
    if (dn)
        entry_cleanup(&e);
    ldap_memfree(dn);
    return rc;
}

/* An OU: every user below it (paged), mail-enabled ones taken, the others listed. */
static enum mse_rc ou_take(struct resolve *r, const char *dn)
{
    static char *attrs[] = { "objectClass", "mail", "proxyAddresses", "userAccountControl", NULL };
    return paged_search(r->c, dn, "(|(objectClass=user)(objectClass=inetOrgPerson))", attrs,
                        ou_user, r);
}

static bool dn_valid(const char *dn)
{
    LDAPDN parsed = NULL;
    int rc = ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3);
    ldap_dnfree(parsed);
    return rc == LDAP_SUCCESS && *dn;
}

enum mse_rc directory_resolve(const struct directory_config *cfg, const char *dn,
                              struct directory_members *out, const char **reason,
                              struct mse_err *err)
{
    struct conn c = { .cfg = cfg, .reason = reason, .err = err, .group = dn };
    struct resolve r = { .c = &c, .out = out };
    struct entry root = { 0 };
    enum mse_rc rc;
    memset(out, 0, sizeof(*out));
    if (!dn_valid(dn)) {
        *reason = "invalid_group";
        snprintf(err->msg, sizeof(err->msg), "\"%.300s\" is not a distinguished name (RFC 4514)",
                 dn);
        return MSE_ERR_INVALID;
    }
    rc = conn_open(&c);
    if (rc == MSE_OK)
        rc = entry_read(&c, dn, &root);
    if (rc == MSE_OK) {
        switch (root.kind) {
        case ENTRY_GROUP:
            rc = group_take(&r, dn, &root);
            if (rc == MSE_OK)
                rc = pending_drain(&r);
            break;
        case ENTRY_OU:
            rc = ou_take(&r, dn);
            break;
        default:
            *reason = "invalid_group";
            snprintf(err->msg, sizeof(err->msg), "%.300s is neither a group nor an OU", dn);
            rc = MSE_ERR_INVALID;
        }
    }
    if (rc == MSE_ERR_NOMEM) {
        *reason = "internal";
        snprintf(err->msg, sizeof(err->msg), "out of memory resolving group %.300s", dn);
    }
    entry_cleanup(&root);
    dnset_cleanup(&r.groups);
    dnset_cleanup(&r.users);
    directory_list_cleanup(&r.pending);
    conn_close(&c);
    if (rc != MSE_OK)
        directory_members_cleanup(out);
    return rc;
}

/* ---- catalogue and check ---- */

struct catalogue {
    struct conn *c;
    struct directory_groups *out;
    size_t max;
};

static enum mse_rc catalogue_entry(void *ctx, LDAP *ld, LDAPMessage *m)
{
    struct catalogue *k = ctx;
    if (k->out->n >= k->max)
        return MSE_OK; /* the server keeps at most max; the rest are still typed by DN */
    if (k->out->n == k->out->cap) {
        size_t cap = k->out->cap ? k->out->cap * 2 : 64;
        struct directory_group *v = realloc(k->out->v, cap * sizeof(*v));
        if (!v)
            return MSE_ERR_NOMEM;
        k->out->v = v;
        k->out->cap = cap;
    }
    struct entry e;
    char *dn = ldap_get_dn(ld, m);
    if (!dn)
        return MSE_ERR_NOMEM;
    enum mse_rc rc = entry_parse(ld, m, &e);
    if (rc == MSE_OK && e.kind == ENTRY_GROUP)
        rc = members_rest(k->c, dn, &e);
    if (rc == MSE_OK && (e.kind == ENTRY_GROUP || e.kind == ENTRY_OU)) {
        struct directory_group *g = &k->out->v[k->out->n];
        g->dn = strdup(dn);
        g->name = e.name;
        g->mail = e.mail;
        e.name = e.mail = NULL;
        g->kind = e.kind == ENTRY_OU ? "ou" : e.security ? "security_group" : "distribution_group";
        g->member_count = e.kind == ENTRY_GROUP ? (long)e.members.n : -1;
        k->out->n++;
        rc = g->dn ? MSE_OK : MSE_ERR_NOMEM;
    }
    entry_cleanup(&e);
    ldap_memfree(dn);
    return rc;
}

enum mse_rc directory_catalogue(const struct directory_config *cfg, size_t max,
                                struct directory_groups *out, const char **reason,
                                struct mse_err *err)
{
    struct conn c = { .cfg = cfg, .reason = reason, .err = err };
    struct catalogue k = { &c, out, max };
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = conn_open(&c);
    if (rc == MSE_OK)
        rc = paged_search(&c, cfg->base_dn,
                          "(|(objectClass=group)(objectClass=organizationalUnit))", attrs_entry,
                          catalogue_entry, &k);
    conn_close(&c);
    if (rc != MSE_OK)
        directory_groups_cleanup(out);
    return rc;
}

enum mse_rc directory_check(const struct directory_config *cfg, const char **reason,
                            struct mse_err *err)
{
    struct conn c = { .cfg = cfg, .reason = reason, .err = err };
    struct timeval tv = { DIR_TIMEOUT_S, 0 };
    char *attrs[] = { "1.1", NULL };
    enum mse_rc rc = conn_open(&c);
    if (rc == MSE_OK) {
        LDAPMessage *res = NULL;
        int lrc = ldap_search_ext_s(c.ld, cfg->base_dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs,
                                    0, NULL, NULL, &tv, 0, &res);
        ldap_msgfree(res);
        if (lrc != LDAP_SUCCESS) {
            rc = conn_fail(&c, lrc, "reading the base DN");
            if (lrc == LDAP_NO_SUCH_OBJECT)
                snprintf(err->msg, sizeof(err->msg), "the base DN %.300s does not exist",
                         cfg->base_dn);
        }
    }
    conn_close(&c);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving a task's group to mailbox addresses, with a per-group membership cache. */
#include "groups.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ews_dl.h"
#include "log.h"
#include "mse/limits.h"
#include "timefmt.h"

/* Longest address accepted in a group value or from ExpandDL. */
#define GROUP_MAX_ADDRESS 320
/* Cached groups per process; the oldest entry makes room. */
#define GROUP_CACHE_ENTRIES 1024

enum mse_rc group_kind_parse(const char *s, enum group_kind *out)
{
    static const struct {
        const char *name;
        enum group_kind kind;
    } kinds[] = { { "mailbox", GROUP_MAILBOX },
                  { "mailbox_list", GROUP_MAILBOX_LIST },
                  { "group_email", GROUP_EMAIL },
                  { "ad_group", GROUP_AD } };
    for (size_t i = 0; s && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return MSE_OK;
        }
    }
    return MSE_ERR_INVALID;
}

void group_members_cleanup(struct group_members *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i]);
    free(m->v);
    m->v = NULL;
    m->n = 0;
    for (size_t i = 0; i < m->nskipped; i++)
        free(m->skipped[i].address);
    free(m->skipped);
    m->skipped = NULL;
    m->nskipped = 0;
    m->skipped_total = 0;
}

/* A set of lower-cased strings (open addressing), for de-duplication and cycle checks. */
struct strset {
    char **slot;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the lower-cased bytes */
    for (; *s; s++) {
        h ^= (unsigned char)tolower((unsigned char)*s);
        h *= 1099511628211ULL;
    }
    return h;
}

static void strset_cleanup(struct strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    memset(s, 0, sizeof(*s));
}

static char **strset_find(struct strset *s, const char *key)
{
    size_t i = (size_t)str_hash(key) & (s->cap - 1);
    while (s->slot[i] && strcasecmp(s->slot[i], key) != 0)
        i = (i + 1) & (s->cap - 1);
    return &s->slot[i];
}

static enum mse_rc strset_grow(struct strset *s)
{
    struct strset bigger = { calloc(s->cap ? s->cap * 2 : 64, sizeof(char *)),
                             s->cap ? s->cap * 2 : 64, s->n };
    if (!bigger.slot)
        return MSE_ERR_NOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slot[i])
            *strset_find(&bigger, s->slot[i]) = s->slot[i];
    }
    free(s->slot);
    *s = bigger;
    return MSE_OK;
}

/* Adds key; *added is false when it was there already. */
static enum mse_rc strset_add(struct strset *s, const char *key, bool *added)
{
    *added = false;
    if ((s->n + 1) * 2 > s->cap && strset_grow(s) != MSE_OK)
        return MSE_ERR_NOMEM;
    char **slot = strset_find(s, key);
    if (*slot)
        return MSE_OK;
    *slot = strdup(key);
    if (!*slot)
        return MSE_ERR_NOMEM;
    s->n++;
    *added = true;
    return MSE_OK;
}

/* Plausible mailbox address: no blanks or controls, one '@' with text on both sides. */
static bool address_ok(const char *a, size_t n)
{
    if (n == 0 || n > GROUP_MAX_ADDRESS)
        return false;
    const char *at = memchr(a, '@', n);
    if (!at || at == a || at == a + n - 1 || memchr(at + 1, '@', (size_t)(a + n - at - 1)))
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)a[i] <= 0x20 || a[i] == 0x7f || a[i] == ';')
            return false;
    }
    return true;
}

/* State of one resolution. */
struct resolve {
    const struct group_expander *x;
    struct strset seen_members;
    struct strset seen_groups;
    struct strset seen_skipped;
    struct group_members *out;
    size_t cap;
    const char **reason;
    struct mse_err *err;
};

static enum mse_rc member_add(struct resolve *r, const char *a, size_t n)
{
    char addr[GROUP_MAX_ADDRESS + 1];
    if (!address_ok(a, n)) {
        snprintf(r->err->msg, sizeof(r->err->msg), "\"%.*s\" is not a mailbox address",
                 (int)(n > 80 ? 80 : n), a);
        *r->reason = "invalid_group";
        return MSE_ERR_INVALID;
    }
    memcpy(addr, a, n);
    addr[n] = '\0';
    bool added;
    if (strset_add(&r->seen_members, addr, &added) != MSE_OK)
        return MSE_ERR_NOMEM;
    if (!added)
        return MSE_OK;
    if (r->out->n >= MSE_GROUP_MAX_MEMBERS) {
        snprintf(r->err->msg, sizeof(r->err->msg), "the group has more than %u mailboxes",
                 MSE_GROUP_MAX_MEMBERS);
        *r->reason = "group_too_large";
        return MSE_ERR_TOO_LARGE;
    }
    if (r->out->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        char **v = realloc(r->out->v, cap * sizeof(*v));
        if (!v)
            return MSE_ERR_NOMEM;
        r->out->v = v;
        r->cap = cap;
    }
    r->out->v[r->out->n] = strdup(addr);
    if (!r->out->v[r->out->n])
        return MSE_ERR_NOMEM;
    r->out->n++;
    return MSE_OK;
}

/* Splits "a; b ;c" and adds each trimmed, non-empty part. */
static enum mse_rc list_add(struct resolve *r, const char *value)
{
    const char *p = value;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            enum mse_rc rc = member_add(r, a, (size_t)(b - a));
            if (rc != MSE_OK)
                return rc;
        }
        p = *end ? end + 1 : end;
    }
    return MSE_OK;
}

static bool is_group_type(const char *t)
{
    return t && (strcmp(t, "PublicDL") == 0 || strcmp(t, "PrivateDL") == 0);
}

/* A member that is a mailbox: MailboxType Mailbox, or none said (plain SMTP entries). */
static bool is_mailbox_type(const char *t)
{
    return !t || !*t || strcmp(t, "Mailbox") == 0;
}

/* Why a member with an address is not synchronised, from its EWS MailboxType. */
static const char *skip_reason(const char *t)
{
    static const struct {
        const char *type, *reason;
    } reasons[] = { { "OneOff", "external" },
                    { "Contact", "contact" },
                    { "PublicFolder", "public_folder" },
                    { "PrivateDL", "private_dl" },
                    { "GroupMailbox", "group_mailbox" } };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (strcmp(t, reasons[i].type) == 0)
            return reasons[i].reason;
    return "not_a_mailbox";
}

static enum mse_rc skipped_add(struct resolve *r, const char *address, const char *type)
{
    bool added;
    if (strset_add(&r->seen_skipped, address, &added) != MSE_OK)
        return MSE_ERR_NOMEM;
    if (!added)
        return MSE_OK;
    struct group_members *m = r->out;
    m->skipped_total++;
    /* Listed only when it reads as an address: the list is shown to administrators. */
    if (m->nskipped >= GROUP_MAX_SKIPPED_LISTED || strlen(address) > MSE_MAX_ADDRESS ||
        !address_ok(address, strlen(address)))
        return MSE_OK;
    if (!m->skipped) {
        m->skipped = calloc(GROUP_MAX_SKIPPED_LISTED, sizeof(*m->skipped));
        if (!m->skipped)
            return MSE_ERR_NOMEM;
    }
    size_t n = strnlen(address, GROUP_MAX_ADDRESS);
    char *copy = malloc(n + 1);
    if (!copy)
        return MSE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        copy[i] = (char)tolower((unsigned char)address[i]);
    copy[n] = '\0';
    m->skipped[m->nskipped++] = (struct group_skipped){ copy, skip_reason(type) };
    return MSE_OK;
}

static enum mse_rc group_expand(struct resolve *r, const char *address, unsigned depth);

static enum mse_rc members_walk(struct resolve *r, const struct ews_people *pp, unsigned depth)
{
    for (size_t i = 0; i < pp->n; i++) {
        const struct ews_person *p = &pp->v[i];
        enum mse_rc rc = MSE_OK;
        if (!p->email || !*p->email)
            continue; /* private lists and contacts without an address */
        if (is_group_type(p->mailbox_type) && strcmp(p->mailbox_type, "PublicDL") == 0)
            rc = group_expand(r, p->email, depth + 1);
        else if (is_mailbox_type(p->mailbox_type))
            rc = member_add(r, p->email, strlen(p->email));
        else
            rc = skipped_add(r, p->email, p->mailbox_type);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

static enum mse_rc group_expand(struct resolve *r, const char *address, unsigned depth)
{
    bool added;
    if (strset_add(&r->seen_groups, address, &added) != MSE_OK)
        return MSE_ERR_NOMEM;
    if (!added)
        return MSE_OK; /* expanded already: a cycle or a diamond */
    if (depth > MSE_GROUP_MAX_DEPTH || r->seen_groups.n > MSE_GROUP_MAX_GROUPS) {
        snprintf(r->err->msg, sizeof(r->err->msg), "group nesting exceeds %u levels or %u groups",
                 MSE_GROUP_MAX_DEPTH, MSE_GROUP_MAX_GROUPS);
        *r->reason = "group_too_large";
        return MSE_ERR_TOO_LARGE;
    }
    struct ews_people members = { 0 };
    enum mse_rc rc = r->x->expand(r->x->ctx, address, &members, r->reason, r->err);
    if (rc == MSE_OK)
        rc = members_walk(r, &members, depth);
    ews_people_cleanup(&members);
    return rc;
}

/* The cache ----------------------------------------------------------------------------- */

struct cache_entry {
    char *key; /* lower-cased group address */
    struct group_members members;
    int64_t expires_ms; /* monotonic */
};

struct group_cache {
    pthread_mutex_t lock;
    int64_t ttl_ms;
    struct cache_entry e[GROUP_CACHE_ENTRIES];
};

struct group_cache *group_cache_new(int64_t ttl_ms)
{
    struct group_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->ttl_ms = ttl_ms;
    return c;
}

static void entry_clear(struct cache_entry *e)
{
    free(e->key);
    group_members_cleanup(&e->members);
    memset(e, 0, sizeof(*e));
}

void group_cache_clear(struct group_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < GROUP_CACHE_ENTRIES; i++)
        entry_clear(&c->e[i]);
    pthread_mutex_unlock(&c->lock);
}

void group_cache_free(struct group_cache *c)
{
    if (!c)
        return;
    group_cache_clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static enum mse_rc members_copy(const struct group_members *src, struct group_members *dst)
{
    *dst = (struct group_members){ 0 };
    dst->v = src->n ? calloc(src->n, sizeof(char *)) : NULL;
    if (src->n && !dst->v)
        return MSE_ERR_NOMEM;
    for (size_t i = 0; i < src->n; i++) {
        dst->v[i] = strdup(src->v[i]);
        if (!dst->v[i]) {
            group_members_cleanup(dst);
            return MSE_ERR_NOMEM;
        }
        dst->n++;
    }
    dst->skipped_total = src->skipped_total;
    if (src->nskipped) {
        dst->skipped = calloc(src->nskipped, sizeof(*dst->skipped));
        if (!dst->skipped) {
            group_members_cleanup(dst);
            return MSE_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < src->nskipped; i++) {
        dst->skipped[i].reason = src->skipped[i].reason;
        dst->skipped[i].address = strdup(src->skipped[i].address);
        if (!dst->skipped[i].address) {
            group_members_cleanup(dst);
            return MSE_ERR_NOMEM;
        }
        dst->nskipped++;
    }
    return MSE_OK;
}

/* Copies a fresh entry for key into out; false when there is none. */
static bool cache_get(struct group_cache *c, const char *key, struct group_members *out)
{
    bool hit = false;
    if (!c || c->ttl_ms <= 0)
        return false;
    int64_t now = mse_time_mono_ms();
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < GROUP_CACHE_ENTRIES; i++) {
        struct cache_entry *e = &c->e[i];
        if (e->key && strcasecmp(e->key, key) == 0) {
            if (e->expires_ms > now)
                hit = members_copy(&e->members, out) == MSE_OK;
            else
                entry_clear(e);
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

/* Stores a copy of members for key, replacing the entry for key or the one expiring first. */
static void cache_put(struct group_cache *c, const char *key, const struct group_members *m)
{
    if (!c || c->ttl_ms <= 0)
        return;
    struct cache_entry fresh = { strdup(key), { 0 }, mse_time_mono_ms() + c->ttl_ms };
    if (!fresh.key || members_copy(m, &fresh.members) != MSE_OK) {
        entry_clear(&fresh);
        return; /* caching is an optimisation: no memory, no cache */
    }
    pthread_mutex_lock(&c->lock);
    size_t victim = 0;
    for (size_t i = 0; i < GROUP_CACHE_ENTRIES; i++) {
        struct cache_entry *e = &c->e[i];
        if (!e->key || strcasecmp(e->key, key) == 0) {
            victim = i;
            break;
        }
        if (e->expires_ms < c->e[victim].expires_ms)
            victim = i;
    }
    entry_clear(&c->e[victim]);
    c->e[victim] = fresh;
    pthread_mutex_unlock(&c->lock);
}

/* ad_group entries are keyed apart from addresses: a DN and an address never collide. */
static void cache_key(enum group_kind kind, const char *value, char *key, size_t size)
{
    snprintf(key, size, "%s%s", kind == GROUP_AD ? "ad:" : "", value);
}

void group_cache_drop(struct group_cache *c, enum group_kind kind, const char *value)
{
    char key[2048];
    if (!c)
        return;
    cache_key(kind, value, key, sizeof(key));
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < GROUP_CACHE_ENTRIES; i++) {
        if (c->e[i].key && strcasecmp(c->e[i].key, key) == 0)
            entry_clear(&c->e[i]);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Resolution ----------------------------------------------------------------------------- */

static enum mse_rc resolve_email(struct group_cache *cache, struct resolve *r, const char *value,
                                 bool *cached)
{
    size_t n = strlen(value);
    if (!address_ok(value, n)) {
        snprintf(r->err->msg, sizeof(r->err->msg), "\"%.80s\" is not a group address", value);
        *r->reason = "invalid_group";
        return MSE_ERR_INVALID;
    }
    if (cache_get(cache, value, r->out)) {
        *cached = true;
        return MSE_OK;
    }
    if (!r->x || !r->x->expand) {
        snprintf(r->err->msg, sizeof(r->err->msg), "no way to expand groups");
        *r->reason = "internal";
        return MSE_ERR_INTERNAL;
    }
    enum mse_rc rc = group_expand(r, value, 0);
    if (rc == MSE_OK)
        cache_put(cache, value, r->out);
    return rc;
}

static enum mse_rc resolve_ad(struct group_cache *cache, struct resolve *r, const char *value,
                              bool *cached)
{
    char key[2048];
    if (!r->x || !r->x->directory) {
        snprintf(r->err->msg, sizeof(r->err->msg), "no directory configured for this site");
        *r->reason = "no_directory";
        return MSE_ERR_UNAVAILABLE;
    }
    cache_key(GROUP_AD, value, key, sizeof(key));
    if (cache_get(cache, key, r->out)) {
        *cached = true;
        return MSE_OK;
    }
    char **v = NULL;
    size_t n = 0;
    enum mse_rc rc = r->x->directory(r->x->dctx, value, &v, &n, r->reason, r->err);
    for (size_t i = 0; rc == MSE_OK && i < n; i++)
        rc = member_add(r, v[i], strlen(v[i]));
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    if (rc == MSE_OK)
        cache_put(cache, key, r->out);
    return rc;
}

enum mse_rc groups_resolve(struct group_cache *cache, enum group_kind kind, const char *value,
                           const struct group_expander *x, struct group_members *out, bool *cached,
                           const char **reason, struct mse_err *err)
{
    bool hit = false;
    struct resolve r = { .x = x, .out = out, .reason = reason, .err = err };
    enum mse_rc rc = MSE_ERR_INVALID;
    *out = (struct group_members){ 0 };
    *reason = "";
    err->msg[0] = '\0';
    switch (kind) {
    case GROUP_MAILBOX:
        rc = member_add(&r, value, strlen(value));
        break;
    case GROUP_MAILBOX_LIST:
        rc = list_add(&r, value);
        if (rc == MSE_OK && out->n == 0) {
            snprintf(err->msg, sizeof(err->msg), "the mailbox list is empty");
            *reason = "invalid_group";
            rc = MSE_ERR_INVALID;
        }
        break;
    case GROUP_EMAIL:
        rc = resolve_email(cache, &r, value, &hit);
        break;
    case GROUP_AD:
        rc = resolve_ad(cache, &r, value, &hit);
        break;
    }
    strset_cleanup(&r.seen_members);
    strset_cleanup(&r.seen_groups);
    strset_cleanup(&r.seen_skipped);
    if (rc == MSE_ERR_NOMEM) {
        snprintf(err->msg, sizeof(err->msg), "out of memory resolving the group");
        *reason = "internal";
    }
    if (rc != MSE_OK)
        group_members_cleanup(out);
    if (cached)
        *cached = hit;
    return rc;
}

/* ExpandDL through EWS ------------------------------------------------------------------- */

static enum mse_rc ews_expand(void *ctx, const char *address, struct ews_people *members,
                              const char **reason, struct mse_err *err)
{
    struct ews_dl_members m = { 0 };
    struct ews_reply reply;
    struct ews_expand_dl_args a = { address };
    enum mse_rc rc = ews_expand_dl(ctx, &a, &m, &reply, err);
    if (rc != MSE_OK) {
        *reason = reply.policy.reason[0] ? reply.policy.reason : "group_unavailable";
        ews_dl_members_cleanup(&m);
        return rc == MSE_ERR_NOMEM ? rc : MSE_ERR_UNAVAILABLE;
    }
    if (!m.includes_last) /* ExpandDL cannot page: say so rather than hide it */
        LOG_WARN(NULL, "ExpandDL %s: the server truncated the member list at %zu entries", address,
                 m.members.n);
    *members = m.members; /* ownership moves to the caller */
    return MSE_OK;
}

struct group_expander group_expander_ews(struct ews_session *s)
{
    return (struct group_expander){ .expand = ews_expand, .ctx = s };
}

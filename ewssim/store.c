/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory organisation: accounts, mailboxes, folders, items, attachments, groups. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"

const char *const store_distinguished_names[] = {
    "root",
    "msgfolderroot",
    "inbox",
    "drafts",
    "sentitems",
    "deleteditems",
    "outbox",
    "junkemail",
    "calendar",
    "contacts",
    "tasks",
    "notes",
    "journal",
    "recoverableitemsroot",
    "recoverableitemsdeletions",
    "recoverableitemsversions",
    "recoverableitemspurges",
    NULL,
};

/* The standard folders below msgfolderroot every mailbox has (index 2 onwards above). */
static const struct {
    const char *name;
    const char *folder_class;
} standard_folders[] = {
    { "Inbox", "IPF.Note" },           { "Drafts", "IPF.Note" },      { "Sent Items", "IPF.Note" },
    { "Deleted Items", "IPF.Note" },   { "Outbox", "IPF.Note" },      { "Junk Email", "IPF.Note" },
    { "Calendar", "IPF.Appointment" }, { "Contacts", "IPF.Contact" }, { "Tasks", "IPF.Task" },
    { "Notes", "IPF.StickyNote" },     { "Journal", "IPF.Journal" },
};

/* The dumpster below the root (outside the user-visible tree), where SoftDelete moves items. */
#define RECOVERABLE_ROOT 13
static const char *const recoverable_folders[] = { "Recoverable Items", "Deletions", "Versions",
                                                   "Purges" };

int store_distinguished_lookup(const char *id)
{
    for (int i = 0; store_distinguished_names[i]; i++) {
        if (strcmp(store_distinguished_names[i], id) == 0)
            return i;
    }
    return -1;
}

/* Appends p to a growable pointer array. */
static enum mse_rc ptr_push(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void **grown = realloc(*arr, ncap * sizeof(**arr));
        if (!grown)
            return MSE_ERR_NOMEM;
        *arr = grown;
        *cap = ncap;
    }
    (*arr)[(*n)++] = p;
    return MSE_OK;
}

struct org *org_new(void)
{
    struct org *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    hmap_init(&o->account_by_addr);
    hmap_init(&o->mailbox_by_addr);
    hmap_init(&o->group_by_addr);
    hmap_init(&o->account_by_token);
    hmap_init(&o->persons);
    o->next_att_num = 1;
    /* Number 0 is never used so that a zero in an id is always invalid. */
    o->nitems = 1;
    o->nfolder_nums = 1;
    if (ptr_push((void ***)&o->items, &(size_t){ 0 }, &o->capitems, NULL) != MSE_OK ||
        ptr_push((void ***)&o->folder_by_num, &(size_t){ 0 }, &o->capfolder_nums, NULL) != MSE_OK) {
        org_free(o);
        return NULL;
    }
    return o;
}

/* Frees a vector of n strings. */
static void strv_free(char **v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Frees an item's calendar part. */
static void calendar_free(struct sim_calendar *c)
{
    if (!c)
        return;
    free(c->location);
    free(c->uid);
    free(c->required);
    free(c->optional);
    for (unsigned i = 0; i < c->nexceptions; i++) {
        free(c->exceptions[i].subject);
        free(c->exceptions[i].location);
    }
    free(c->exceptions);
    free(c->deleted);
    free(c);
}

void item_free(struct sim_item *it)
{
    if (!it)
        return;
    free(it->item_class);
    free(it->subject);
    free(it->imid);
    free(it->body);
    free(it->mime);
    free(it->to);
    free(it->cc);
    for (unsigned i = 0; i < it->natts; i++) {
        free(it->atts[i].name);
        free(it->atts[i].content_type);
        free(it->atts[i].content_id);
        free(it->atts[i].content);
    }
    free(it->atts);
    for (unsigned i = 0; i < it->nprops; i++) {
        free(it->props[i].attrs);
        free(it->props[i].value);
    }
    free(it->props);
    calendar_free(it->cal);
    free(it);
}

/* Frees a folder (its items are freed with the organisation). */
static void folder_free(struct sim_folder *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->folder_class);
    free(f->children);
    free(f->log);
    free(f);
}

/* Frees a mailbox and every folder it ever had. */
static void mailbox_free(struct sim_mailbox *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->nfolders; i++)
        folder_free(m->folders[i]);
    free(m->folders);
    free(m->address);
    free(m->display_name);
    free(m);
}

void org_free(struct org *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nitems; i++)
        item_free(o->items[i]);
    free(o->items);
    free(o->folder_by_num);
    for (unsigned i = 0; i < o->nmailboxes; i++)
        mailbox_free(o->mailboxes[i]);
    free(o->mailboxes);
    for (unsigned i = 0; i < o->naccounts; i++) {
        struct sim_account *a = o->accounts[i];
        free(a->address);
        strv_free(a->impersonate, a->nimpersonate);
        strv_free(a->full_access, a->nfull_access);
        free(a);
    }
    free(o->accounts);
    for (unsigned i = 0; i < o->ngroups; i++) {
        free(o->groups[i]->address);
        free(o->groups[i]->name);
        strv_free(o->groups[i]->members, o->groups[i]->nmembers);
        free(o->groups[i]);
    }
    free(o->groups);
    for (size_t i = 0; i < o->npersons; i++) {
        free(o->person_list[i]->name);
        free(o->person_list[i]->email);
        free(o->person_list[i]);
    }
    free(o->person_list);
    hmap_cleanup(&o->account_by_addr);
    hmap_cleanup(&o->mailbox_by_addr);
    hmap_cleanup(&o->group_by_addr);
    hmap_cleanup(&o->account_by_token);
    hmap_cleanup(&o->persons);
    free(o);
}

struct sim_person *org_person(struct org *o, const char *name, const char *email)
{
    char key[1024];
    snprintf(key, sizeof(key), "%s\n%s", email ? email : "", name ? name : "");
    struct sim_person *p = hmap_get(&o->persons, key);
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->name = strdup(name ? name : "");
    p->email = strdup(email ? email : "");
    if (!p->name || !p->email ||
        ptr_push((void ***)&o->person_list, &o->npersons, &o->cappersons, p) != MSE_OK) {
        free(p->name);
        free(p->email);
        free(p);
        return NULL;
    }
    if (hmap_put(&o->persons, key, p) != MSE_OK)
        return NULL; /* still owned by person_list */
    return p;
}

enum mse_rc org_account_add(struct org *o, const char *address, const char *password,
                            struct sim_account **out)
{
    if (hmap_get(&o->account_by_addr, address))
        return MSE_ERR_CONFLICT;
    struct sim_account *a = calloc(1, sizeof(*a));
    if (!a || !(a->address = strdup(address))) {
        free(a);
        return MSE_ERR_NOMEM;
    }
    if (password) {
        mse_crypto_sha256(password, strlen(password), a->password_sha);
        a->has_password = true;
    }
    size_t n = o->naccounts, cap = n;
    /* Arrays here grow one by one through ptr_push with an exact capacity of n. */
    if (ptr_push((void ***)&o->accounts, &n, &cap, a) != MSE_OK ||
        hmap_put(&o->account_by_addr, address, a) != MSE_OK) {
        if (n > o->naccounts)
            o->naccounts = (unsigned)n;
        return MSE_ERR_NOMEM;
    }
    o->naccounts = (unsigned)n;
    a->mbx = hmap_get(&o->mailbox_by_addr, address);
    *out = a;
    return MSE_OK;
}

enum mse_rc org_token_add(struct org *o, const char *token, struct sim_account *acct)
{
    char hex[MSE_SHA256_HEX_LEN + 1];
    mse_crypto_sha256_hex(token, strlen(token), hex);
    return hmap_put(&o->account_by_token, hex, acct);
}

/* A zeroed folder registered in the mailbox and under a new number. */
static enum mse_rc folder_alloc(struct org *o, struct sim_mailbox *m, struct sim_folder **out)
{
    struct sim_folder *f = calloc(1, sizeof(*f));
    if (!f)
        return MSE_ERR_NOMEM;
    size_t n = m->nfolders, cap = m->capfolders;
    if (ptr_push((void ***)&m->folders, &n, &cap, f) != MSE_OK) {
        free(f);
        return MSE_ERR_NOMEM;
    }
    m->nfolders = (unsigned)n;
    m->capfolders = (unsigned)cap;
    if (ptr_push((void ***)&o->folder_by_num, &o->nfolder_nums, &o->capfolder_nums, f) != MSE_OK)
        return MSE_ERR_NOMEM; /* owned by the mailbox; freed with it */
    f->num = o->nfolder_nums - 1;
    f->mbx = m;
    f->distinguished = -1;
    *out = f;
    return MSE_OK;
}

enum mse_rc org_mailbox_add(struct org *o, const char *address, const char *display_name,
                            struct sim_mailbox **out)
{
    if (hmap_get(&o->mailbox_by_addr, address))
        return MSE_ERR_CONFLICT;
    struct sim_mailbox *m = calloc(1, sizeof(*m));
    if (!m)
        return MSE_ERR_NOMEM;
    m->address = strdup(address);
    m->display_name = strdup(display_name ? display_name : address);
    size_t n = o->nmailboxes, cap = n;
    if (!m->address || !m->display_name ||
        ptr_push((void ***)&o->mailboxes, &n, &cap, m) != MSE_OK) {
        mailbox_free(m);
        return MSE_ERR_NOMEM;
    }
    o->nmailboxes = (unsigned)n;
    m->idx = (uint32_t)(n - 1);
    if (hmap_put(&o->mailbox_by_addr, address, m) != MSE_OK)
        return MSE_ERR_NOMEM;
    struct sim_account *a = hmap_get(&o->account_by_addr, address);
    if (a)
        a->mbx = m;
    enum mse_rc rc = folder_create(o, NULL, "root", NULL, 0, &m->root);
    if (rc == MSE_OK)
        rc = folder_create(o, m->root, "Top of Information Store", "IPF.Note", 1, &m->msgroot);
    if (rc == MSE_OK)
        *out = m;
    return rc;
}

/* Recoverable Items and its sub-folders, below the root like Exchange's dumpster. */
static enum mse_rc recoverable_add(struct org *o, struct sim_mailbox *m)
{
    if (mailbox_distinguished(m, "recoverableitemsroot"))
        return MSE_OK;
    struct sim_folder *top, *f;
    enum mse_rc rc =
            folder_create(o, m->root, recoverable_folders[0], "IPF.Note", RECOVERABLE_ROOT, &top);
    for (int i = 1; i < 4 && rc == MSE_OK; i++)
        rc = folder_create(o, top, recoverable_folders[i], "IPF.Note", RECOVERABLE_ROOT + i, &f);
    return rc;
}

enum mse_rc org_mailbox_finish(struct org *o, struct sim_mailbox *m)
{
    size_t n = sizeof(standard_folders) / sizeof(standard_folders[0]);
    for (size_t i = 0; i < n; i++) {
        int d = (int)i + 2;
        if (mailbox_distinguished(m, store_distinguished_names[d]))
            continue;
        struct sim_folder *f = NULL;
        /* A top-level folder with the standard name becomes the distinguished one. */
        for (unsigned c = 0; c < m->msgroot->nchildren; c++) {
            struct sim_folder *ch = m->msgroot->children[c];
            if (ch->distinguished < 0 && strcasecmp(ch->name, standard_folders[i].name) == 0)
                f = ch;
        }
        if (f) {
            f->distinguished = d;
            continue;
        }
        enum mse_rc rc = folder_create(o, m->msgroot, standard_folders[i].name,
                                       standard_folders[i].folder_class, d, &f);
        if (rc != MSE_OK)
            return rc;
    }
    return recoverable_add(o, m);
}

enum mse_rc org_group_add(struct org *o, const char *address, const char *name,
                          struct sim_group **out)
{
    if (hmap_get(&o->group_by_addr, address))
        return MSE_ERR_CONFLICT;
    struct sim_group *g = calloc(1, sizeof(*g));
    if (!g)
        return MSE_ERR_NOMEM;
    g->address = strdup(address);
    g->name = strdup(name ? name : address);
    size_t n = o->ngroups, cap = n;
    if (!g->address || !g->name || ptr_push((void ***)&o->groups, &n, &cap, g) != MSE_OK) {
        free(g->address);
        free(g->name);
        free(g);
        return MSE_ERR_NOMEM;
    }
    o->ngroups = (unsigned)n;
    if (hmap_put(&o->group_by_addr, address, g) != MSE_OK)
        return MSE_ERR_NOMEM;
    *out = g;
    return MSE_OK;
}

enum mse_rc org_group_set_members(struct sim_group *g, const char *const *members, unsigned n)
{
    char **v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return MSE_ERR_NOMEM;
    for (unsigned i = 0; i < n; i++) {
        if (!(v[i] = strdup(members[i]))) {
            strv_free(v, i);
            return MSE_ERR_NOMEM;
        }
    }
    strv_free(g->members, g->nmembers);
    g->members = v;
    g->nmembers = n;
    return MSE_OK;
}

struct sim_account *org_account(const struct org *o, const char *address)
{
    return hmap_get(&o->account_by_addr, address);
}

struct sim_account *org_account_by_token(const struct org *o, const char *token)
{
    char hex[MSE_SHA256_HEX_LEN + 1];
    mse_crypto_sha256_hex(token, strlen(token), hex);
    return hmap_get(&o->account_by_token, hex);
}

struct sim_mailbox *org_mailbox(const struct org *o, const char *address)
{
    return hmap_get(&o->mailbox_by_addr, address);
}

struct sim_group *org_group(const struct org *o, const char *address)
{
    return hmap_get(&o->group_by_addr, address);
}

struct sim_item *org_item(const struct org *o, uint64_t num)
{
    return num < o->nitems ? o->items[num] : NULL;
}

struct sim_folder *org_folder(const struct org *o, uint64_t num)
{
    return num < o->nfolder_nums ? o->folder_by_num[num] : NULL;
}

struct sim_folder *mailbox_distinguished(const struct sim_mailbox *m, const char *name)
{
    int d = store_distinguished_lookup(name);
    if (d < 0)
        return NULL;
    for (unsigned i = 0; i < m->nfolders; i++) {
        if (m->folders[i]->distinguished == d && !m->folders[i]->deleted)
            return m->folders[i];
    }
    return NULL;
}

/* The child called name (n bytes), or NULL. */
static struct sim_folder *child_named(const struct sim_folder *f, const char *name, size_t n)
{
    for (unsigned i = 0; i < f->nchildren; i++) {
        const char *cn = f->children[i]->name;
        if (strlen(cn) == n && strncmp(cn, name, n) == 0)
            return f->children[i];
    }
    return NULL;
}

struct sim_folder *mailbox_folder_by_path(const struct sim_mailbox *m, const char *path)
{
    if (!path || path[0] != '/')
        return NULL;
    struct sim_folder *f = m->msgroot;
    const char *p = path + 1;
    while (f && *p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        f = n ? child_named(f, p, n) : NULL;
        p += n + (slash ? 1 : 0);
    }
    return f;
}

void folder_path(const struct sim_folder *f, char *out, size_t size)
{
    const struct sim_folder *chain[64];
    unsigned n = 0;
    out[0] = '\0';
    for (; f && f != f->mbx->msgroot && n < 64; f = f->parent)
        chain[n++] = f;
    if (!f) {
        return; /* not below msgfolderroot */
    }
    if (n == 0) {
        snprintf(out, size, "/");
        return;
    }
    size_t used = 0;
    while (n-- > 0 && used < size) {
        int w = snprintf(out + used, size - used, "/%s", chain[n]->name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Case-insensitive membership in a vector of addresses. */
static bool strv_has(char *const *v, unsigned n, const char *s)
{
    for (unsigned i = 0; i < n; i++) {
        if (strcasecmp(v[i], s) == 0)
            return true;
    }
    return false;
}

bool account_may_impersonate(const struct sim_account *a, const char *address)
{
    return a->impersonate_all || strv_has(a->impersonate, a->nimpersonate, address);
}

bool account_may_open(const struct sim_account *a, const struct sim_mailbox *m)
{
    return a->mbx == m || strv_has(a->full_access, a->nfull_access, m->address);
}

bool account_password_ok(const struct sim_account *a, const char *password)
{
    uint8_t sha[32];
    mse_crypto_sha256(password, strlen(password), sha);
    return a->has_password && mse_crypto_equal(sha, a->password_sha, sizeof(sha));
}

/* ---- change log ---- */

/* Appends a change; entries arrive in CSN order, which keeps the log sorted. */
static enum mse_rc log_append(struct sim_folder *f, const struct log_entry *e)
{
    if (f->nlog == f->caplog) {
        size_t ncap = f->caplog ? f->caplog * 2 : 8;
        struct log_entry *grown = realloc(f->log, ncap * sizeof(*grown));
        if (!grown)
            return MSE_ERR_NOMEM;
        f->log = grown;
        f->caplog = ncap;
    }
    f->log[f->nlog++] = *e;
    return MSE_OK;
}

size_t folder_log_seek(const struct sim_folder *f, uint64_t watermark)
{
    size_t lo = 0, hi = f->nlog;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->log[mid].csn <= watermark)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct sim_item *folder_log_item(const struct org *o, const struct sim_folder *f,
                                 const struct log_entry *e)
{
    if (e->kind != LOG_LIVE)
        return NULL;
    struct sim_item *it = org_item(o, e->num);
    if (!it || it->folder != f || it->csn != e->csn)
        return NULL;
    return it;
}

/* Drops stale entries once they outnumber the useful ones (keeps scans short). */
static void log_compact(const struct org *o, struct sim_folder *f)
{
    if (f->stale < 1024 || f->stale < f->nlog / 2)
        return;
    size_t w = 0;
    for (size_t r = 0; r < f->nlog; r++) {
        if (f->log[r].kind == LOG_TOMB || folder_log_item(o, f, &f->log[r]))
            f->log[w++] = f->log[r];
    }
    f->nlog = w;
    f->stale = 0;
}

/* The mailbox's next change sequence number. */
static uint64_t next_csn(struct sim_mailbox *m)
{
    return ++m->csn;
}

/* True when f is anc or lies below it. */
static bool folder_below(const struct sim_folder *f, const struct sim_folder *anc)
{
    for (; f; f = f->parent) {
        if (f == anc)
            return true;
    }
    return false;
}

/* Adds f to parent's children. */
static enum mse_rc child_add(struct sim_folder *parent, struct sim_folder *f)
{
    size_t n = parent->nchildren, cap = parent->capchildren;
    enum mse_rc rc = ptr_push((void ***)&parent->children, &n, &cap, f);
    parent->nchildren = (unsigned)n;
    parent->capchildren = (unsigned)cap;
    return rc;
}

/* Removes f from parent's children, keeping their order. */
static void child_remove(struct sim_folder *parent, const struct sim_folder *f)
{
    for (unsigned i = 0; i < parent->nchildren; i++) {
        if (parent->children[i] == f) {
            memmove(&parent->children[i], &parent->children[i + 1],
                    (parent->nchildren - i - 1) * sizeof(*parent->children));
            parent->nchildren--;
            return;
        }
    }
}

enum mse_rc folder_create(struct org *o, struct sim_folder *parent, const char *name,
                          const char *folder_class, int distinguished, struct sim_folder **out)
{
    struct sim_mailbox *m = parent ? parent->mbx : o->mailboxes[o->nmailboxes - 1];
    struct sim_folder *f;
    enum mse_rc rc = folder_alloc(o, m, &f);
    if (rc != MSE_OK)
        return rc;
    f->name = strdup(name);
    f->folder_class = folder_class ? strdup(folder_class) : NULL;
    if (!f->name || (folder_class && !f->folder_class))
        return MSE_ERR_NOMEM;
    if (parent && (rc = child_add(parent, f)) != MSE_OK)
        return rc;
    f->parent = parent;
    f->distinguished = distinguished;
    f->csn = f->created_csn = next_csn(m);
    f->change_no = 1;
    f->in_ipm = m->msgroot && folder_below(f, m->msgroot) && f != m->msgroot;
    *out = f;
    return MSE_OK;
}

/* Recomputes in_ipm for a moved subtree. */
static void folder_ipm_refresh(struct sim_folder *f)
{
    f->in_ipm = f != f->mbx->msgroot && folder_below(f, f->mbx->msgroot);
    for (unsigned i = 0; i < f->nchildren; i++)
        folder_ipm_refresh(f->children[i]);
}

enum mse_rc folder_update(struct sim_folder *f, const char *name, struct sim_folder *parent)
{
    if (parent && (folder_below(parent, f) || parent->mbx != f->mbx))
        return MSE_ERR_INVALID;
    if (!f->parent)
        return MSE_ERR_INVALID;
    if (name) {
        char *copy = strdup(name);
        if (!copy)
            return MSE_ERR_NOMEM;
        free(f->name);
        f->name = copy;
    }
    if (parent && parent != f->parent) {
        enum mse_rc rc = child_add(parent, f);
        if (rc != MSE_OK)
            return rc;
        child_remove(f->parent, f);
        f->parent = parent;
        folder_ipm_refresh(f);
    }
    f->csn = next_csn(f->mbx);
    f->change_no++;
    return MSE_OK;
}

enum mse_rc folder_delete(struct org *o, struct sim_folder *f)
{
    if (f->distinguished >= 0 || !f->parent)
        return MSE_ERR_CONFLICT;
    while (f->nchildren) {
        struct sim_folder *c = f->children[f->nchildren - 1];
        c->distinguished = -1; /* a distinguished folder below a deleted one goes too */
        enum mse_rc rc = folder_delete(o, c);
        if (rc != MSE_OK)
            return rc;
    }
    for (size_t i = 0; i < f->nlog; i++) {
        struct sim_item *it = folder_log_item(o, f, &f->log[i]);
        if (it) {
            o->items[it->num] = NULL;
            item_free(it);
        }
    }
    free(f->log);
    f->log = NULL;
    f->nlog = f->caplog = f->stale = 0;
    f->item_count = f->unread_count = 0;
    child_remove(f->parent, f);
    f->deleted = true;
    f->csn = next_csn(f->mbx);
    f->change_no++;
    return MSE_OK;
}

enum mse_rc item_new(struct org *o, struct sim_folder *f, enum item_kind kind,
                     struct sim_item **out)
{
    struct sim_item *it = calloc(1, sizeof(*it));
    if (!it)
        return MSE_ERR_NOMEM;
    if (kind == ITEM_CALENDAR && !(it->cal = calloc(1, sizeof(*it->cal)))) {
        free(it);
        return MSE_ERR_NOMEM;
    }
    if (ptr_push((void ***)&o->items, &o->nitems, &o->capitems, it) != MSE_OK) {
        item_free(it);
        return MSE_ERR_NOMEM;
    }
    it->num = o->nitems - 1;
    it->mbx = f->mbx;
    it->folder = f;
    it->kind = kind;
    it->change_no = 1;
    it->csn = it->content_csn = it->created_csn = next_csn(f->mbx);
    it->is_read = true;
    struct log_entry e = { .csn = it->csn, .num = it->num, .kind = LOG_LIVE };
    if (log_append(f, &e) != MSE_OK) {
        o->items[it->num] = NULL;
        item_free(it);
        return MSE_ERR_NOMEM;
    }
    f->item_count++;
    *out = it;
    return MSE_OK;
}

void item_set_read(struct sim_item *it, bool is_read)
{
    if (it->is_read == is_read)
        return;
    if (is_read && it->folder->unread_count)
        it->folder->unread_count--;
    else if (!is_read)
        it->folder->unread_count++;
    it->is_read = is_read;
}

enum mse_rc item_touch(struct sim_item *it, bool content)
{
    uint64_t csn = next_csn(it->mbx);
    struct log_entry e = { .csn = csn, .num = it->num, .kind = LOG_LIVE };
    enum mse_rc rc = log_append(it->folder, &e);
    if (rc != MSE_OK)
        return rc;
    it->folder->stale++;
    it->csn = csn;
    if (content)
        it->content_csn = csn;
    it->change_no++;
    it->modified = time(NULL);
    return MSE_OK;
}

/* A tombstone: the item left this folder (moved or deleted) at csn. */
static enum mse_rc tomb_append(struct sim_item *it, uint64_t csn)
{
    struct log_entry e = { .csn = csn,
                           .num = it->num,
                           .since_csn = it->created_csn,
                           .change_no = it->change_no,
                           .kind = LOG_TOMB };
    enum mse_rc rc = log_append(it->folder, &e);
    if (rc == MSE_OK) {
        it->folder->stale++;
        it->folder->item_count--;
        if (!it->is_read && it->folder->unread_count)
            it->folder->unread_count--;
    }
    return rc;
}

enum mse_rc item_move(struct sim_item *it, struct sim_folder *to)
{
    if (to == it->folder)
        return MSE_OK;
    uint64_t csn = next_csn(it->mbx);
    enum mse_rc rc = tomb_append(it, csn);
    if (rc != MSE_OK)
        return rc;
    it->change_no++;
    it->folder = to;
    it->csn = it->content_csn = it->created_csn = next_csn(it->mbx);
    struct log_entry e = { .csn = it->csn, .num = it->num, .kind = LOG_LIVE };
    if ((rc = log_append(to, &e)) != MSE_OK)
        return rc;
    to->item_count++;
    if (!it->is_read)
        to->unread_count++;
    return MSE_OK;
}

enum mse_rc item_delete(struct org *o, struct sim_item *it)
{
    enum mse_rc rc = tomb_append(it, next_csn(it->mbx));
    if (rc != MSE_OK)
        return rc;
    struct sim_folder *f = it->folder;
    o->items[it->num] = NULL;
    item_free(it);
    log_compact(o, f);
    return MSE_OK;
}

uint64_t org_next_attachment(struct org *o)
{
    return o->next_att_num++;
}

size_t item_body_len(const struct sim_item *it)
{
    if (it->body)
        return strlen(it->body);
    return it->body_seed ? 600 + (size_t)(it->body_seed % 1400) : 0;
}

void item_size_update(struct sim_item *it)
{
    int64_t size = 512 + (int64_t)strlen(it->subject ? it->subject : "") * 2;
    size += it->mime ? (int64_t)strlen(it->mime) : (int64_t)item_body_len(it);
    for (unsigned i = 0; i < it->natts; i++)
        size += (int64_t)it->atts[i].size + (int64_t)it->atts[i].size / 3;
    it->size = size;
}

/* ---- the store ---- */

void store_init(struct store *s, struct org *o)
{
    pthread_rwlock_init(&s->lock, NULL);
    s->org = o;
    atomic_init(&s->generation, 1);
}

void store_cleanup(struct store *s)
{
    org_free(s->org);
    s->org = NULL;
    pthread_rwlock_destroy(&s->lock);
}

void store_swap(struct store *s, struct org *o)
{
    pthread_rwlock_wrlock(&s->lock);
    struct org *old = s->org;
    s->org = o;
    atomic_fetch_add(&s->generation, 1);
    pthread_rwlock_unlock(&s->lock);
    org_free(old);
}

void store_read_lock(struct store *s)
{
    pthread_rwlock_rdlock(&s->lock);
}

void store_write_lock(struct store *s)
{
    pthread_rwlock_wrlock(&s->lock);
}

void store_unlock(struct store *s)
{
    pthread_rwlock_unlock(&s->lock);
}

size_t store_utf8_next(const unsigned char *p, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t n = (p[0] & 0xE0) == 0xC0   ? 2
               : (p[0] & 0xF0) == 0xE0 ? 3
               : (p[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (!n)
        return 0;
    uint32_t v = p[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

bool store_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = 0;
        size_t n = store_utf8_next(p, &cp);
        if (!n)
            return false;
        /* XML 1.0 Char: no C0 controls but tab, newline, carriage return; no FFFE/FFFF. */
        if ((cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD) || cp == 0xFFFE || cp == 0xFFFF)
            return false;
        p += n;
    }
    return true;
}

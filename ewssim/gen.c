/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic generated organisations and lazily generated bodies and attachment bytes. */
#include "gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Items are dated back from this instant (2026-01-05T09:00:00Z), so runs are reproducible. */
#define GEN_EPOCH 1767603600

static const char *const first_names[] = { "Alice",   "Bob",   "Carol",  "David",  "Erin",
                                           "Frank",   "Grace", "Heidi",  "Ivan",   "Judy",
                                           "Mallory", "Niaj",  "Olivia", "Peggy",  "Rupert",
                                           "Sybil",   "Trent", "Victor", "Walter", "Yvonne" };
static const char *const last_names[] = { "Anders",  "Brown",  "Clarke", "Dubois", "Evans",
                                          "Fischer", "Garcia", "Hansen", "Ito",    "Jensen",
                                          "Keller",  "Larsen", "Moreau", "Novak",  "Olsen" };
static const char *const words[] = {
    "quarterly", "report", "budget", "review",   "meeting", "project", "update",    "status",
    "invoice",   "draft",  "plan",   "customer", "release", "agenda",  "summary",   "proposal",
    "contract",  "travel", "launch", "roadmap",  "team",    "notes",   "follow-up", "schedule",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

uint64_t gen_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One key=value of EWS_SIM_GENERATE, range-checked. */
static enum mse_rc param_set(struct gen_params *p, const char *key, int64_t v)
{
    static const struct {
        const char *key;
        size_t off;
        int64_t max;
    } keys[] = {
        { "mailboxes", offsetof(struct gen_params, mailboxes), 100000 },
        { "folders", offsetof(struct gen_params, folders), 1000 },
        { "items", offsetof(struct gen_params, items), 1000000 },
        { "appointments", offsetof(struct gen_params, appointments), 1000000 },
        { "attachment_bytes", offsetof(struct gen_params, attachment_bytes), 10 * 1024 * 1024 },
        { "groups", offsetof(struct gen_params, groups), 10000 },
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].key, key) == 0) {
            if (v < (strcmp(key, "mailboxes") == 0 ? 1 : 0) || v > keys[i].max)
                return MSE_ERR_INVALID;
            *(unsigned *)((char *)p + keys[i].off) = (unsigned)v;
            return MSE_OK;
        }
    }
    return MSE_ERR_INVALID;
}

enum mse_rc gen_params_parse(const char *spec, uint64_t seed, struct gen_params *out,
                             struct mse_err *err)
{
    *out = (struct gen_params){ .mailboxes = 10,
                                .folders = 3,
                                .items = 20,
                                .appointments = 10,
                                .attachment_bytes = 2048,
                                .groups = 3,
                                .seed = seed ? seed : 42 };
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", spec ? spec : "");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        int64_t v = 0;
        if (eq)
            *eq = '\0';
        if (!eq || mse_parse_int(eq + 1, 0, INT32_MAX, &v) != MSE_OK ||
            param_set(out, tok, v) != MSE_OK) {
            snprintf(err->msg, sizeof(err->msg),
                     "EWS_SIM_GENERATE: bad setting '%.100s' (keys: mailboxes=1..100000, "
                     "folders, items, appointments, attachment_bytes, groups)",
                     tok);
            return MSE_ERR_INVALID;
        }
    }
    return MSE_OK;
}

enum mse_rc gen_body(uint64_t seed, size_t len, char **out)
{
    char *b = malloc(len + 1);
    if (!b)
        return MSE_ERR_NOMEM;
    size_t used = 0;
    uint64_t s = seed;
    while (used < len) {
        const char *w = words[gen_next(&s) % NWORDS];
        size_t n = strlen(w);
        if (used + n + 1 > len)
            n = len - used - (len - used > 1 ? 1 : 0);
        memcpy(b + used, w, n);
        used += n;
        if (used < len)
            b[used++] = (gen_next(&s) % 12 == 0) ? '\n' : ' ';
    }
    b[len] = '\0';
    *out = b;
    return MSE_OK;
}

enum mse_rc gen_attachment_content(const struct sim_attachment *a, uint8_t **out)
{
    uint8_t *b = malloc(a->size ? a->size : 1);
    if (!b)
        return MSE_ERR_NOMEM;
    if (a->content) {
        memcpy(b, a->content, a->size);
    } else {
        uint64_t s = a->gen_seed;
        for (size_t i = 0; i < a->size; i++)
            b[i] = (uint8_t)(' ' + gen_next(&s) % 95); /* printable: easy to eyeball */
    }
    *out = b;
    return MSE_OK;
}

/* ---- building ---- */

struct gen {
    const struct gen_params *p;
    struct org *o;
    uint64_t rng;
    const struct sim_person **people; /* one per mailbox */
};

/* Three words and a number: realistic enough, and searchable in tests. */
static enum mse_rc gen_subject(struct gen *g, char **out)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "%s %s %s #%" PRIu64, words[gen_next(&g->rng) % NWORDS],
             words[gen_next(&g->rng) % NWORDS], words[gen_next(&g->rng) % NWORDS],
             gen_next(&g->rng) % 10000);
    buf[0] = (char)(buf[0] - 'a' + 'A');
    *out = strdup(buf);
    return *out ? MSE_OK : MSE_ERR_NOMEM;
}

/* An attachment whose bytes are generated when read (memory stays small). */
static enum mse_rc gen_attachment(struct gen *g, struct sim_item *it)
{
    it->atts = calloc(1, sizeof(*it->atts));
    if (!it->atts)
        return MSE_ERR_NOMEM;
    struct sim_attachment *a = &it->atts[0];
    it->natts = 1;
    a->num = org_next_attachment(g->o);
    char name[64];
    snprintf(name, sizeof(name), "document-%" PRIu64 ".txt", it->num);
    a->name = strdup(name);
    a->content_type = strdup("text/plain");
    a->size = g->p->attachment_bytes;
    a->gen_seed = gen_next(&g->rng) | 1;
    a->modified = it->received;
    return a->name && a->content_type ? MSE_OK : MSE_ERR_NOMEM;
}

/* The k-th message of a mailbox: received an hour apart going back in time. */
static enum mse_rc gen_message(struct gen *g, struct sim_folder *f, unsigned owner, unsigned k)
{
    struct sim_item *it;
    enum mse_rc rc = item_new(g->o, f, ITEM_MESSAGE, &it);
    if (rc != MSE_OK)
        return rc;
    char imid[96];
    snprintf(imid, sizeof(imid), "<gen.%" PRIu64 ".%" PRIu64 "@example.com>", g->p->seed, it->num);
    it->imid = strdup(imid);
    it->item_class = strdup("IPM.Note");
    unsigned from = (unsigned)(gen_next(&g->rng) % g->p->mailboxes);
    it->from = it->sender = g->people[from];
    it->to = malloc(sizeof(*it->to));
    if (!it->imid || !it->item_class || !it->to || gen_subject(g, &it->subject) != MSE_OK)
        return MSE_ERR_NOMEM;
    it->to[0] = g->people[owner];
    it->nto = 1;
    it->received = (time_t)GEN_EPOCH - (time_t)k * 3600 - (time_t)(gen_next(&g->rng) % 3600);
    it->sent = it->received - 30;
    it->created = it->modified = it->received;
    item_set_read(it, gen_next(&g->rng) % 10 < 7);
    it->sensitivity = k % 20 == 7 ? SENS_PRIVATE : SENS_NORMAL;
    it->body_seed = gen_next(&g->rng) | 1;
    if (g->p->attachment_bytes && k % 10 == 3 && (rc = gen_attachment(g, it)) != MSE_OK)
        return rc;
    item_size_update(it);
    return MSE_OK;
}

/* The k-th appointment: every tenth is a weekly series of ten. */
static enum mse_rc gen_appointment(struct gen *g, struct sim_folder *f, unsigned owner, unsigned k)
{
    struct sim_item *it;
    enum mse_rc rc = item_new(g->o, f, ITEM_CALENDAR, &it);
    if (rc != MSE_OK)
        return rc;
    struct sim_calendar *c = it->cal;
    char uid[64];
    snprintf(uid, sizeof(uid), "gen-%" PRIu64 "-%" PRIu64, g->p->seed, it->num);
    c->uid = strdup(uid);
    it->item_class = strdup("IPM.Appointment");
    c->location = strdup(k % 2 ? "Room 1" : "Online");
    if (!c->uid || !it->item_class || !c->location || gen_subject(g, &it->subject) != MSE_OK)
        return MSE_ERR_NOMEM;
    c->organizer = g->people[owner];
    c->start = (time_t)GEN_EPOCH + (time_t)(k % 90) * 86400 + (time_t)(k % 8) * 3600;
    c->end = c->start + 1800 + (time_t)(k % 3) * 1800;
    it->received = it->sent = it->created = it->modified = (time_t)GEN_EPOCH - 86400;
    it->sensitivity = k % 15 == 4 ? SENS_PRIVATE : SENS_NORMAL;
    it->body_seed = gen_next(&g->rng) | 1;
    unsigned other = (owner + 1 + k) % g->p->mailboxes;
    if (other != owner) {
        c->required = calloc(1, sizeof(*c->required));
        if (!c->required)
            return MSE_ERR_NOMEM;
        c->required[0] = (struct sim_attendee){ g->people[other], RESP_ACCEPT };
        c->nrequired = 1;
    }
    if (k % 10 == 0) { /* a weekly series, ten weeks long */
        c->type = CAL_RECURRING_MASTER;
        c->rec = (struct sim_recurrence){ .pattern = PAT_WEEKLY,
                                          .interval = 1,
                                          .days = (uint8_t)(1u << ((c->start / 86400 + 4) % 7)),
                                          .first_day_of_week = -1,
                                          .range = RANGE_NUMBERED,
                                          .start_date = c->start - c->start % 86400,
                                          .count = 10 };
    }
    if (g->p->attachment_bytes && k % 5 == 1 && (rc = gen_attachment(g, it)) != MSE_OK)
        return rc;
    item_size_update(it);
    return MSE_OK;
}

/* Standard folders, Inbox messages, extra folders (some nested) and the calendar. */
static enum mse_rc gen_mailbox(struct gen *g, unsigned i)
{
    struct sim_mailbox *m = g->o->mailboxes[i];
    enum mse_rc rc = org_mailbox_finish(g->o, m);
    if (rc != MSE_OK)
        return rc;
    struct sim_folder *inbox = mailbox_distinguished(m, "inbox");
    struct sim_folder *cal = mailbox_distinguished(m, "calendar");
    unsigned k = 0;
    for (unsigned j = 0; j < g->p->items && rc == MSE_OK; j++)
        rc = gen_message(g, inbox, i, k++);
    struct sim_folder *prev = inbox;
    for (unsigned fi = 0; fi < g->p->folders && rc == MSE_OK; fi++) {
        char name[32];
        snprintf(name, sizeof(name), "Folder %02u", fi + 1);
        struct sim_folder *f;
        /* Every third folder nests in the previous one: paths two or three levels deep. */
        rc = folder_create(g->o, fi % 3 == 2 ? prev : inbox, name, "IPF.Note", -1, &f);
        for (unsigned j = 0; j < g->p->items && rc == MSE_OK; j++)
            rc = gen_message(g, f, i, k++);
        prev = rc == MSE_OK ? f : prev;
    }
    for (unsigned j = 0; j < g->p->appointments && rc == MSE_OK; j++)
        rc = gen_appointment(g, cal, i, j);
    return rc;
}

/* Mailboxes and accounts user0001… with their address book entries. */
static enum mse_rc gen_people(struct gen *g)
{
    g->people = calloc(g->p->mailboxes, sizeof(*g->people));
    if (!g->people)
        return MSE_ERR_NOMEM;
    for (unsigned i = 0; i < g->p->mailboxes; i++) {
        char addr[64], name[96];
        snprintf(addr, sizeof(addr), "user%04u@example.com", i + 1);
        snprintf(name, sizeof(name), "%s %s", first_names[i % 20], last_names[(i / 20) % 15]);
        struct sim_mailbox *m;
        struct sim_account *a;
        enum mse_rc rc = org_mailbox_add(g->o, addr, name, &m);
        if (rc == MSE_OK)
            rc = org_account_add(g->o, addr, "password", &a);
        if (rc != MSE_OK)
            return rc;
        if (!(g->people[i] = org_person(g->o, name, addr)))
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/* Groups of ten consecutive users; group 1 also contains group 2 (a nested group). */
static enum mse_rc gen_groups(struct gen *g)
{
    for (unsigned i = 0; i < g->p->groups; i++) {
        char addr[64], name[64];
        const char *members[11];
        char store[11][64];
        unsigned n = 0;
        snprintf(addr, sizeof(addr), "group%03u@example.com", i + 1);
        snprintf(name, sizeof(name), "Group %u", i + 1);
        for (unsigned j = 0; j < 10 && j < g->p->mailboxes; j++, n++) {
            snprintf(store[n], sizeof(store[n]), "user%04u@example.com",
                     (i * 10 + j) % g->p->mailboxes + 1);
            members[n] = store[n];
        }
        if (i == 0 && g->p->groups > 1) {
            snprintf(store[n], sizeof(store[n]), "group002@example.com");
            members[n] = store[n];
            n++;
        }
        struct sim_group *grp;
        enum mse_rc rc = org_group_add(g->o, addr, name, &grp);
        if (rc == MSE_OK)
            rc = org_group_set_members(grp, members, n);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

enum mse_rc gen_build(const struct gen_params *p, struct org **out, struct mse_err *err)
{
    struct gen g = { .p = p, .o = org_new(), .rng = p->seed };
    enum mse_rc rc = g.o ? gen_people(&g) : MSE_ERR_NOMEM;
    for (unsigned i = 0; i < p->mailboxes && rc == MSE_OK; i++)
        rc = gen_mailbox(&g, i);
    if (rc == MSE_OK)
        rc = gen_groups(&g);
    free(g.people);
    if (rc != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "generating the organisation failed: %s",
                 mse_rc_str(rc));
        org_free(g.o);
        return rc;
    }
    g.o->gen_seed = p->seed;
    *out = g.o;
    return MSE_OK;
}

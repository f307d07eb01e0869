/* SPDX-License-Identifier: Apache-2.0 */
/* The records of a replication batch: folders, message metadata, appointments, as cJSON. */
#include "sync_json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include <stdio.h>

/*
 * cJSON_Add* return NULL on allocation failure; one flag collects them all. Keys are string
 * literals and are not copied (a third of the allocations of a message record), unless
 * copy_keys says they are built on the fly.
 */
struct jb {
    cJSON *obj;
    bool failed;
    bool copy_keys;
};

/* Adds v (taken) under key; NULL counts as failure. */
static void jb_add(struct jb *b, const char *key, cJSON *v)
{
    bool ok = v && (b->copy_keys ? cJSON_AddItemToObject(b->obj, key, v)
                                 : cJSON_AddItemToObjectCS(b->obj, key, v));
    if (!ok) {
        cJSON_Delete(v);
        b->failed = true;
    }
}

static void jb_str(struct jb *b, const char *key, const char *v)
{
    jb_add(b, key, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

static void jb_int(struct jb *b, const char *key, int64_t v)
{
    jb_add(b, key, v >= 0 ? cJSON_CreateNumber((double)v) : cJSON_CreateNull());
}

static void jb_tri(struct jb *b, const char *key, enum ews_tri v)
{
    jb_add(b, key, v == EWS_UNSET ? cJSON_CreateNull() : cJSON_CreateBool(v == EWS_TRUE));
}

static cJSON *jb_done(struct jb *b)
{
    if (b->failed) {
        cJSON_Delete(b->obj);
        return NULL;
    }
    return b->obj;
}

static struct jb jb_new(void)
{
    struct jb b = { cJSON_CreateObject(), false, false };
    b.failed = b.obj == NULL;
    return b;
}

cJSON *sync_json_person(const struct ews_person *p)
{
    if (!p)
        return cJSON_CreateNull();
    struct jb b = jb_new();
    if (b.failed)
        return NULL;
    jb_str(&b, "name", p->name ? p->name : ""); /* no display name: "", as the sim exports */
    jb_str(&b, "email", p->email);
    return jb_done(&b);
}

static cJSON *people(const struct ews_people *pp)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < pp->n; i++) {
        cJSON *p = sync_json_person(&pp->v[i]);
        if (!p || !cJSON_AddItemToArray(a, p)) {
            cJSON_Delete(p);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

cJSON *sync_json_folder(const char *id, const char *parent_id, const char *name,
                        const char *folder_class, const char *path)
{
    struct jb b = jb_new();
    if (b.failed)
        return NULL;
    jb_str(&b, "folder_id", id);
    jb_str(&b, "parent_folder_id", parent_id);
    jb_str(&b, "display_name", name);
    jb_str(&b, "folder_class", folder_class);
    jb_str(&b, "path", path);
    jb_str(&b, "change", "upsert");
    return jb_done(&b);
}

cJSON *sync_json_tombstone(const char *key, const char *id, const char *change)
{
    struct jb b = jb_new();
    if (b.failed)
        return NULL;
    jb_str(&b, key, id);
    jb_str(&b, "change", change);
    return jb_done(&b);
}

cJSON *sync_json_message(const struct ews_item *it, const char *folder_id)
{
    struct jb b = jb_new();
    if (b.failed)
        return NULL;
    jb_str(&b, "item_id", it->id);
    jb_str(&b, "change_key", it->change_key);
    jb_str(&b, "folder_id", folder_id);
    jb_str(&b, "change", "upsert");
    jb_str(&b, "item_class", it->item_class);
    jb_str(&b, "internet_message_id", it->internet_message_id);
    jb_str(&b, "subject", it->subject);
    jb_add(&b, "sender", sync_json_person(it->sender));
    jb_add(&b, "from", sync_json_person(it->from));
    jb_add(&b, "to", people(&it->to));
    jb_add(&b, "cc", people(&it->cc));
    jb_str(&b, "sent", it->sent);
    jb_str(&b, "received", it->received);
    jb_int(&b, "size", it->size);
    jb_tri(&b, "is_read", it->is_read);
    jb_str(&b, "sensitivity", it->sensitivity);
    jb_tri(&b, "has_attachments", it->has_attachments);
    return jb_done(&b);
}

/* "DaysOfWeek" → "days_of_week" (out holds at least 2·strlen + 1 bytes). */
static void snake_case(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 2 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        if (isupper(c) && i > 0)
            out[o++] = '_';
        out[o++] = (char)tolower(c);
    }
    out[o] = '\0';
}

/* ["Monday", "Wednesday"] from a blank-separated list. */
static cJSON *word_list(const char *text)
{
    cJSON *a = cJSON_CreateArray();
    const char *p = text;
    while (a && *p) {
        while (isspace((unsigned char)*p))
            p++;
        const char *start = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (p == start)
            break;
        char word[64];
        snprintf(word, sizeof(word), "%.*s", (int)(p - start), start);
        cJSON *w = cJSON_CreateString(word);
        if (!w || !cJSON_AddItemToArray(a, w)) {
            cJSON_Delete(w);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* {"type": element, snake_case(child): value…}; integers become numbers, day lists arrays. */
static cJSON *fields_object(const char *type, const struct ews_fields *f)
{
    struct jb b = jb_new();
    if (b.failed)
        return NULL;
    b.copy_keys = true; /* keys made from element names */
    jb_str(&b, "type", type);
    for (size_t i = 0; i < f->n; i++) {
        char key[96];
        int64_t n;
        snake_case(f->v[i].name, key, sizeof(key));
        if (strcmp(key, "type") == 0)
            continue;
        size_t kl = strlen(key);
        const char *v = f->v[i].value;
        if (strcmp(key, "days_of_week") == 0) { /* an xs:list: "Monday Wednesday" */
            jb_add(&b, key, word_list(v));
        } else if (kl > 5 && strcmp(key + kl - 5, "_date") == 0 && strlen(v) > 10 &&
                   (v[10] == 'Z' || v[10] == '+' || v[10] == '-')) {
            /* xs:date may carry a zone ("2024-07-01Z"): the calendar date is what counts. */
            char date[11];
            snprintf(date, sizeof(date), "%.10s", v);
            jb_str(&b, key, date);
        } else if (mse_parse_int(v, 0, INT32_MAX, &n) == MSE_OK) {
            jb_int(&b, key, n);
        } else {
            jb_str(&b, key, v);
        }
    }
    return jb_done(&b);
}

cJSON *sync_json_recurrence(const struct ews_recurrence *r)
{
    if (!r)
        return cJSON_CreateNull();
    struct jb b = jb_new();
    if (b.failed)
        return NULL;
    jb_add(&b, "pattern", fields_object(r->pattern, &r->pattern_fields));
    jb_add(&b, "range", r->range ? fields_object(r->range, &r->range_fields) : cJSON_CreateNull());
    return jb_done(&b);
}

/* Modified occurrences as objects, deleted ones as their start times. */
static cJSON *occurrences(const struct ews_occurrences *o, bool modified)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < o->n; i++) {
        cJSON *x;
        if (modified) {
            struct jb b = jb_new();
            if (!b.failed) {
                jb_str(&b, "item_id", o->v[i].item_id);
                jb_str(&b, "start", o->v[i].start);
                jb_str(&b, "end", o->v[i].end);
                jb_str(&b, "original_start", o->v[i].original_start);
            }
            x = jb_done(&b);
        } else {
            x = o->v[i].start ? cJSON_CreateString(o->v[i].start) : cJSON_CreateNull();
        }
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static cJSON *attachments(const struct ews_item *it, const char *const *sha256)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < it->n_attachments; i++) {
        const struct ews_attachment *at = &it->attachments[i];
        if (sha256 && !sha256[i])
            continue;
        struct jb b = jb_new();
        if (!b.failed) {
            jb_str(&b, "attachment_id", at->id);
            jb_str(&b, "name", at->name);
            jb_str(&b, "content_type", at->content_type);
            jb_int(&b, "size", at->size);
            jb_str(&b, "sha256", sha256 ? sha256[i] : NULL);
        }
        cJSON *x = jb_done(&b);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

cJSON *sync_json_appointment(const struct ews_item *it, const char *folder_id,
                             const char *const *sha256)
{
    struct jb b = jb_new();
    if (b.failed)
        return NULL;
    jb_str(&b, "item_id", it->id);
    jb_str(&b, "change_key", it->change_key);
    jb_str(&b, "folder_id", folder_id);
    jb_str(&b, "change", "upsert");
    jb_str(&b, "item_class", it->item_class);
    jb_str(&b, "uid", it->uid);
    jb_str(&b, "subject", it->subject);
    jb_str(&b, "start", it->start);
    jb_str(&b, "end", it->end);
    jb_tri(&b, "is_all_day", it->is_all_day);
    jb_str(&b, "location", it->location);
    jb_add(&b, "organizer", sync_json_person(it->organizer));
    jb_add(&b, "required_attendees", people(&it->required));
    jb_add(&b, "optional_attendees", people(&it->optional));
    jb_str(&b, "calendar_item_type", it->calendar_item_type);
    jb_tri(&b, "is_recurring", it->is_recurring);
    jb_add(&b, "recurrence", sync_json_recurrence(it->recurrence));
    jb_add(&b, "modified_occurrences", occurrences(&it->modified, true));
    jb_add(&b, "deleted_occurrences", occurrences(&it->deleted, false));
    jb_str(&b, "sensitivity", it->sensitivity);
    jb_tri(&b, "has_attachments", it->has_attachments);
    jb_add(&b, "attachments", attachments(it, sha256));
    return jb_done(&b);
}

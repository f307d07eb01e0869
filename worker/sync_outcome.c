/* SPDX-License-Identifier: Apache-2.0 */
/* How a pass went: the outcome, its failures and warnings, and the progress shown meanwhile. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "sync_ctx.h"

cJSON *sync_outcome_to_json(const struct sync_outcome *o, const char *mailbox, enum sync_type type)
{
    const struct {
        const char *key;
        double value;
    } counters[] = {
        { "batches", (double)o->batches },
        { "folders", (double)o->folders },
        { "items", (double)o->items },
        { "appointments", (double)o->appointments },
        { "items_replicated", (double)(o->items + o->appointments) },
        { "deletes", (double)o->deletes },
        { "skipped_private", (double)o->skipped_private },
        { "attachments", (double)o->attachments },
        { "attachment_bytes", (double)o->attachment_bytes },
        { "contents", (double)o->contents },
        { "content_bytes", (double)o->content_bytes },
        { "unselected", (double)o->unselected },
        { "resyncs", (double)o->resyncs },
        { "candidates", (double)o->candidates },
        { "confirmed", (double)o->confirmed },
        { "acted", (double)o->acted },
        { "failed_items", (double)o->failed_items },
        { "reclaimed_bytes", (double)o->reclaimed_bytes },
        { "ews_requests", (double)o->ews.requests },
        { "ews_retries", (double)o->ews.retries },
        { "ews_throttled", (double)o->ews.throttled },
        { "ews_waited_ms", (double)o->ews.waited_ms },
        { "ews_bytes", (double)o->ews.bytes_in },
        { "duration_ms", (double)o->duration_ms },
    };
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddStringToObject(j, "mailbox", mailbox) &&
              cJSON_AddStringToObject(j, "type", sync_type_name(type)) &&
              cJSON_AddStringToObject(j, "health", sync_health_name(o->health)) &&
              (o->reason[0] ? cJSON_AddStringToObject(j, "reason", o->reason)
                            : cJSON_AddNullToObject(j, "reason")) &&
              (o->text[0] ? cJSON_AddStringToObject(j, "text", o->text)
                          : cJSON_AddNullToObject(j, "text")) &&
              cJSON_AddBoolToObject(j, "retry_later", o->retry_later) &&
              cJSON_AddBoolToObject(j, "full", o->full);
    for (size_t i = 0; ok && i < sizeof(counters) / sizeof(counters[0]); i++)
        ok = cJSON_AddNumberToObject(j, counters[i].key, counters[i].value) != NULL;
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static void outcome_set(struct sync_outcome *o, enum sync_health h, const char *reason,
                        const char *fmt, va_list ap) MSE_PRINTF(4, 0);

static void outcome_set(struct sync_outcome *o, enum sync_health h, const char *reason,
                        const char *fmt, va_list ap)
{
    o->health = h;
    snprintf(o->reason, sizeof(o->reason), "%s", reason);
    vsnprintf(o->text, sizeof(o->text), fmt, ap);
    mse_log_redact(o->text);
}

enum mse_rc sync_fail(struct sync_ctx *c, enum mse_rc rc, const char *reason, const char *fmt, ...)
{
    if (c->out->health != SYNC_ERROR) {
        va_list ap;
        va_start(ap, fmt);
        outcome_set(c->out, SYNC_ERROR, reason, fmt, ap);
        va_end(ap);
        LOG_WARN(&c->log, "mailbox failed: %s (%s)", c->out->text, reason);
    }
    return rc == MSE_OK ? MSE_ERR_INTERNAL : rc;
}

enum mse_rc sync_fail_ews(struct sync_ctx *c, enum mse_rc rc, const struct ews_reply *reply,
                          const struct mse_err *err)
{
    if (rc == MSE_ERR_NOMEM)
        return sync_fail(c, rc, "internal", "out of memory");
    /* Only the first failure speaks: a mailbox that already failed is not retried later. */
    if (reply->policy.action == EWS_ACT_RETRY_LATER && c->out->health != SYNC_ERROR)
        c->out->retry_later = true;
    const char *reason =
            reply->policy.reason && reply->policy.reason[0] ? reply->policy.reason : "ews_error";
    return sync_fail(c, rc, reason, "%s", err->msg[0] ? err->msg : reply->status.code);
}

void sync_warn(struct sync_ctx *c, const char *reason, const char *fmt, ...)
{
    va_list ap;
    char text[512];
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    LOG_WARN(&c->log, "%s (%s)", text, reason);
    if (c->out->health != SYNC_HEALTHY)
        return;
    c->out->health = SYNC_WARNING;
    snprintf(c->out->reason, sizeof(c->out->reason), "%s", reason);
    snprintf(c->out->text, sizeof(c->out->text), "%s", text);
}

void sync_format_count(uint64_t n, char *out, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len && o + 1 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 2 < size)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void sync_progress(struct sync_ctx *c, const char *command, const char *fmt, ...)
{
    const struct sync_sink *s = c->job->sink;
    if (!s->progress || c->sub.active) /* advisory: the sink is busy with a batch */
        return;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    s->progress(s->ctx, command, detail);
}

bool sync_stopped(const struct sync_ctx *c)
{
    return c->job->stop && atomic_load(c->job->stop);
}

/* Progress of the folder pass -------------------------------------------------------------- */

/* "Folder 3 of 12, Inbox/Projects" (without the count outside a pass over folders). */
void sync_folder_label(const struct sync_ctx *c, const struct hfolder *f, char *out, size_t size)
{
    const char *name = f->path[0] == '/' ? f->path + 1 : f->path;
    if (c->folder_count)
        snprintf(out, size, "Folder %u of %u, %s", c->folder_no, c->folder_count, name);
    else
        snprintf(out, size, "%s", name);
}

/* Progress after a page: "Folder 3 of 12, Inbox: 1,536 of 10,000 items" on a full read. */
void sync_folder_progress(struct sync_ctx *c, const struct hfolder *f, uint64_t done, bool full)
{
    char a[32], b[32], label[200];
    sync_folder_label(c, f, label, sizeof(label));
    sync_format_count(done, a, sizeof(a));
    if (full && f->total >= 0) {
        sync_format_count((uint64_t)f->total, b, sizeof(b));
        sync_progress(c, c->feature->command, "%s: %s of %s %s", label, a, b, c->feature->unit);
    } else {
        sync_progress(c, c->feature->command, "%s: %s %s", label, a,
                      full ? c->feature->unit : "changes");
    }
}

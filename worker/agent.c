/* SPDX-License-Identifier: Apache-2.0 */
/* The worker's service mode: heartbeats, claims, and executions run in parallel slots. */
#include "agent.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_worker.h"
#include "conn_test.h"
#include "directory_sync.h"
#include "ews.h"
#include "ews_gate.h"
#include "groups.h"
#include "log.h"
#include "mse/limits.h"
#include "mse/protocol.h"
#include "server_client.h"
#include "sync.h"
#include "sync_graph.h"
#include "timefmt.h"

/*
 * How often an idle slot asks for work when the server answers at once (a claim that does not
 * wait, or a server that does not wait): a run-now must start within 5 s (issue #5).
 */
#define AGENT_CLAIM_POLL_MS 1000
/* How often a slot retries a mailbox lock held by another task. */
#define AGENT_LOCK_RETRY_MS 2000
/* Progress posts per execution, at most one per interval. */
#define AGENT_PROGRESS_MS 1000
/* A mailbox being moved (ErrorMailboxMoveInProgress) is tried this many times per execution. */
#define AGENT_RETRY_LATER_ATTEMPTS 3
/* The most mailboxes of one execution processed at once (the server caps it the same). */
#define AGENT_MAX_LANES MSE_MAX_PARALLEL_MAILBOXES
/* The reason a mailbox shows when this worker cannot run its task's type (docs/worker.md). */
#define AGENT_REASON_UNSUPPORTED "unsupported_task_type"

struct agent;

/* One execution slot: a thread, its own server client, the execution it holds. */
struct slot {
    struct agent *agent;
    unsigned index;
    pthread_t thread;
    bool started;
    struct srv_client *srv;
    /* Read by the heartbeat loop under agent->lock. */
    char execution_id[40];
    int64_t fencing_token;
    /* Turned on by the heartbeat loop (stop, lease lost) or by a 409 lease-lost answer. */
    atomic_bool halt;
    atomic_bool lease_lost;
    atomic_bool cancel_requested;
};

struct agent {
    const struct worker_config *cfg;
    struct srv_config srv_cfg;
    struct ews_config ews_cfg;
    /* backend = graph: Exchange tasks read mailboxes through Graph (sync tasks: their
       server connection's EWS). NULL for EWS. */
    const struct graph_client_config *graph_cfg;
    struct graph_client_config graph_cfg_store;
    const atomic_bool *stop;
    char worker_id[192];
    char host[128];
    struct group_cache *groups;
    struct directory_sync *dir;
    pthread_mutex_t lock;
    struct slot *slots;
    unsigned nslots;
    atomic_int heartbeat_s;
};

/* What one claimed execution is about, from the claim's JSON. */
struct execution {
    char id[40];
    int64_t fencing_token;
    char task_name[256];
    char type[64];
    char group_kind[32];
    const char *group_value; /* borrowed from doc */
    const cJSON *settings;   /* borrowed from doc */
    const cJSON *mailboxes;  /* [{address, state}], borrowed; NULL until membership known */
    const cJSON *connection; /* sync tasks: the server connection to use, borrowed; else NULL */
    unsigned lanes;          /* mailboxes processed at once (max_parallel_mailboxes) */
    cJSON *doc;              /* owned: the claim, or the membership answer replacing it */
    struct mse_log_ctx log;
};

/* Per-mailbox context the sink callbacks receive. */
struct mailbox_ctx {
    struct slot *slot;
    struct execution *x;
    const char *address;
    unsigned position, total;
    int64_t last_progress_ms;
    char command[384];
};

/* What the worker reports fits the server's caps (mse/protocol.h): never a 422 for length. */
#define FITS(type, member, cap) _Static_assert(sizeof(((type *)0)->member) <= (cap) + 1, #member)
FITS(struct agent, worker_id, MSE_PROTO_MAX_WORKER_ID);
FITS(struct agent, host, MSE_PROTO_MAX_HOST);
FITS(struct mailbox_ctx, command, MSE_PROTO_MAX_COMMAND);
FITS(struct sync_outcome, reason, MSE_PROTO_MAX_REASON_CODE);
FITS(struct sync_outcome, text, MSE_PROTO_MAX_REASON_TEXT);
#undef FITS

/*
 * What one lane reads its mailboxes through: its own EWS session (connections are not
 * shared), or its own Graph client when the execution goes through Graph.
 */
struct reader {
    struct ews_session *ews;
    struct sync_graph *graph;
    struct sync_source src; /* set when graph is */
};

static enum mse_rc reader_open(struct reader *r, const struct ews_config *ews_cfg,
                               const struct graph_client_config *graph_cfg, const atomic_bool *halt,
                               struct mse_err *err)
{
    memset(r, 0, sizeof(*r));
    enum mse_rc rc;
    if (graph_cfg) {
        rc = sync_graph_new(graph_cfg, &r->graph, err);
        if (rc == MSE_OK) {
            sync_graph_set_stop(r->graph, halt);
            r->src = sync_graph_source(r->graph);
        }
        return rc;
    }
    rc = ews_session_new(ews_cfg, &r->ews, err);
    if (r->ews) /* a stop or a lost lease also ends a long throttling wait */
        ews_session_set_stop(r->ews, halt);
    return rc;
}

static void reader_close(struct reader *r)
{
    sync_graph_free(r->graph);
    ews_session_free(r->ews);
    memset(r, 0, sizeof(*r));
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool slot_halted(struct slot *s)
{
    return atomic_load(&s->halt) || atomic_load(s->agent->stop);
}

/* Sleeps in short steps; false when the slot was halted meanwhile. */
static bool slot_sleep(struct slot *s, int64_t ms)
{
    int64_t end = mse_time_mono_ms() + ms;
    while (mse_time_mono_ms() < end) {
        if (slot_halted(s))
            return false;
        usleep(50 * 1000);
    }
    return !slot_halted(s);
}

/*
 * Judges a reply to an execution-scoped write. A lost lease halts the slot: another worker
 * owns the execution now and every further write would be refused.
 */
static enum mse_rc reply_judge(struct slot *s, enum mse_rc rc, const struct srv_reply *r,
                               const char *what, struct mse_err *err)
{
    if (rc != MSE_OK)
        return rc;
    if (r->status >= 200 && r->status < 300)
        return MSE_OK;
    if (srv_reply_is(r, 409, MSE_PROBLEM_LEASE_LOST)) {
        atomic_store(&s->lease_lost, true);
        atomic_store(&s->halt, true);
        snprintf(err->msg, sizeof(err->msg), "%s: the lease on this execution was lost", what);
        return MSE_ERR_CONFLICT;
    }
    snprintf(err->msg, sizeof(err->msg), "%s: HTTP %ld %s", what, r->status, r->detail);
    return r->status == 409 ? MSE_ERR_CONFLICT : MSE_ERR_IO;
}

/* "/api/v1/worker/executions/<id><suffix>" with the mailbox address escaped when given. */
static void exec_path(struct slot *s, const struct execution *x, const char *mailbox,
                      const char *suffix, char *out, size_t size)
{
    (void)s;
    if (!mailbox) {
        snprintf(out, size, MSE_WORKER_EXECUTIONS "/%s%s", x->id, suffix);
        return;
    }
    char *esc = curl_escape(mailbox, 0);
    snprintf(out, size, MSE_WORKER_EXECUTIONS "/%s/mailboxes/%s%s", x->id, esc ? esc : "", suffix);
    curl_free(esc);
}

/* POSTs body to an execution-scoped path; the reply body is handed back when wanted. */
static enum mse_rc exec_post(struct slot *s, struct execution *x, const char *mailbox,
                             const char *suffix, const cJSON *body, cJSON **reply_body,
                             struct srv_reply *keep, struct mse_err *err)
{
    char path[1024];
    struct srv_reply r;
    exec_path(s, x, mailbox, suffix, path, sizeof(path));
    enum mse_rc rc = srv_call(s->srv, "POST", path, body, &r, err);
    rc = reply_judge(s, rc, &r, suffix, err);
    if (keep) {
        *keep = r;
        return rc;
    }
    if (rc == MSE_OK && reply_body) {
        *reply_body = r.body;
        r.body = NULL;
    }
    srv_reply_cleanup(&r);
    return rc;
}

/* ---- sink: how the replication engine's batches reach the server ---- */

static enum mse_rc sink_submit(void *ctx, const cJSON *batch, struct mse_err *err)
{
    struct mailbox_ctx *m = ctx;
    struct srv_reply r;
    enum mse_rc rc = exec_post(m->slot, m->x, NULL, "/submissions", batch, NULL, &r, err);
    if (rc == MSE_ERR_CONFLICT && srv_reply_is(&r, 409, MSE_PROBLEM_CHECKPOINT_CONFLICT))
        snprintf(err->msg, sizeof(err->msg), "the server holds another checkpoint: %s", r.detail);
    srv_reply_cleanup(&r);
    return rc;
}

static enum mse_rc sink_put_content(void *ctx, const char *sha256, const char *content_type,
                                    const uint8_t *data, size_t len, struct mse_err *err)
{
    (void)content_type; /* content is stored by hash; the type travels with the record */
    struct mailbox_ctx *m = ctx;
    char path[160];
    struct srv_reply r;
    snprintf(path, sizeof(path), MSE_WORKER_ATTACHMENTS "/%s", sha256);
    /* HEAD first: most attachments of an incremental pass are already stored. */
    enum mse_rc rc = srv_call(m->slot->srv, "HEAD", path, NULL, &r, err);
    bool present = rc == MSE_OK && r.status == 200;
    srv_reply_cleanup(&r);
    if (rc != MSE_OK || present)
        return rc;
    rc = srv_call_bytes(m->slot->srv, "PUT", path, data, len, &r, err);
    rc = reply_judge(m->slot, rc, &r, "attachment upload", err);
    srv_reply_cleanup(&r);
    return rc;
}

/* A message's MIME content from the engine's spool: asked about first, sent only when absent. */
static enum mse_rc sink_put_content_file(void *ctx, const char *sha256, const char *content_type,
                                         int fd, int64_t offset, uint64_t len, struct mse_err *err)
{
    (void)content_type;
    struct mailbox_ctx *m = ctx;
    char path[160];
    struct srv_reply r;
    snprintf(path, sizeof(path), MSE_WORKER_ATTACHMENTS "/%s", sha256);
    enum mse_rc rc = srv_call(m->slot->srv, "GET", path, NULL, &r, err);
    bool present = rc == MSE_OK && r.status == 200;
    srv_reply_cleanup(&r);
    if (rc != MSE_OK || present)
        return rc;
    rc = srv_call_file(m->slot->srv, "PUT", path, fd, offset, len, &r, err);
    if (rc == MSE_OK && r.status == 413) {
        /* Larger than the server takes: that message waits, the others go on. */
        snprintf(err->msg, sizeof(err->msg), "%llu bytes is more than the server accepts",
                 (unsigned long long)len);
        rc = MSE_ERR_TOO_LARGE;
    } else {
        rc = reply_judge(m->slot, rc, &r, "content upload", err);
    }
    srv_reply_cleanup(&r);
    return rc;
}

static void progress_post(struct mailbox_ctx *m, const char *detail)
{
    int64_t now = mse_time_mono_ms();
    if (m->last_progress_ms && now - m->last_progress_ms < AGENT_PROGRESS_MS)
        return;
    m->last_progress_ms = now;
    cJSON *body = cJSON_CreateObject();
    cJSON *reply = NULL;
    struct mse_err err = { { 0 } };
    if (!body || !cJSON_AddStringToObject(body, "command", m->command) ||
        !cJSON_AddStringToObject(body, "latest_detail", detail ? detail : "")) {
        cJSON_Delete(body);
        return;
    }
    /* Progress is advisory: a failure is logged, the replication goes on. */
    if (exec_post(m->slot, m->x, NULL, "/progress", body, &reply, NULL, &err) != MSE_OK)
        LOG_WARN(&m->x->log, "progress not posted: %s", err.msg);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "cancel_requested")))
        atomic_store(&m->slot->cancel_requested, true);
    cJSON_Delete(reply);
    cJSON_Delete(body);
}

static void sink_progress(void *ctx, const char *command, const char *detail)
{
    (void)command; /* the slot's command names the mailbox; the engine's detail says where */
    progress_post(ctx, detail);
}

/* ---- mailboxes ---- */

/*
 * Takes the mailbox lock, waiting while another task holds it. *checkpoints on success;
 * *stopped instead when a stop of the execution was asked for while it waited.
 */
static enum mse_rc mailbox_lock(struct mailbox_ctx *m, cJSON **checkpoints, bool *stopped,
                                struct mse_err *err)
{
    bool announced = false;
    *stopped = false;
    for (;;) {
        struct srv_reply r;
        enum mse_rc rc = exec_post(m->slot, m->x, m->address, "/lock", NULL, NULL, &r, err);
        if (rc == MSE_OK) {
            *checkpoints = cJSON_DetachItemFromObjectCaseSensitive(r.body, "checkpoints");
            srv_reply_cleanup(&r);
            return MSE_OK;
        }
        bool locked = srv_reply_is(&r, 409, MSE_PROBLEM_MAILBOX_LOCKED);
        srv_reply_cleanup(&r);
        if (!locked)
            return rc;
        /* The server shows the execution as waiting and names the holder; log it once. */
        if (!announced)
            LOG_INFO(&m->x->log, "waiting for the lock on %s: %s", m->address, err->msg);
        announced = true;
        if (!slot_sleep(m->slot, AGENT_LOCK_RETRY_MS))
            return MSE_ERR_UNAVAILABLE;
        /* A stop ends the execution after its current mailbox; this one has not begun. */
        *stopped = atomic_load(&m->slot->cancel_requested);
        if (*stopped)
            return MSE_OK;
    }
}

static enum mse_rc mailbox_finish(struct mailbox_ctx *m, const struct sync_outcome *o,
                                  struct mse_err *err)
{
    cJSON *body = cJSON_CreateObject();
    if (!body)
        return MSE_ERR_NOMEM;
    cJSON_AddStringToObject(body, "state", sync_health_name(o->health));
    if (o->reason[0]) {
        cJSON_AddStringToObject(body, "reason_code", o->reason);
        cJSON_AddStringToObject(body, "reason_text", o->text);
    }
    cJSON_AddNumberToObject(body, "items", (double)(o->items + o->appointments));
    cJSON_AddBoolToObject(body, "full_sync", o->full);
    cJSON_AddNumberToObject(body, "duration_ms", (double)o->duration_ms);
    enum mse_rc rc = exec_post(m->slot, m->x, m->address, "/finish", body, NULL, NULL, err);
    cJSON_Delete(body);
    return rc;
}

/*
 * Replicates one mailbox under its lock. *retry_later is set when Exchange asked to come back
 * (a mailbox move), in which case nothing was reported yet.
 */
static enum mse_rc mailbox_process(struct slot *s, struct execution *x, const struct reader *rd,
                                   const struct sync_definition *def, const char *address,
                                   unsigned position, unsigned total, bool last_try,
                                   bool *retry_later, struct mse_err *err)
{
    struct mailbox_ctx m = {
        .slot = s, .x = x, .address = address, .position = position, .total = total
    };
    snprintf(m.command, sizeof(m.command), "Processing mailbox %u of %u: %s", position, total,
             address);
    *retry_later = false;
    cJSON *cp_json = NULL;
    bool stopped;
    enum mse_rc rc = mailbox_lock(&m, &cp_json, &stopped, err);
    if (rc != MSE_OK)
        return rc;
    if (stopped) {
        LOG_INFO(&x->log, "stop requested while waiting for the lock on %s", address);
        return MSE_OK;
    }
    /*
     * The lock grant set the command and "Starting" on the server: no request for that, and
     * the engine's first report goes out at once, however soon it comes.
     */

    struct sync_checkpoints cps = { 0 };
    rc = sync_checkpoints_from_json(cp_json, &cps, err);
    cJSON_Delete(cp_json);
    if (rc != MSE_OK)
        return rc;
    struct sync_sink sink = {
        .ctx = &m,
        .submit = sink_submit,
        .put_content = sink_put_content,
        .put_content_file = sink_put_content_file,
        .progress = sink_progress,
    };
    struct sync_job job = { .mailbox = address,
                            .def = def,
                            .checkpoints = &cps,
                            .sink = &sink,
                            .ews = rd->ews,
                            .source = rd->graph ? &rd->src : NULL,
                            .log = x->log,
                            .stop = &s->halt,
                            .getitem_batch = (unsigned)s->agent->cfg->ews_getitem_batch,
                            .parallel = (unsigned)s->agent->cfg->ews_parallel };
    struct sync_outcome out;
    enum mse_rc sync_rc = sync_mailbox(&job, &out);
    sync_checkpoints_cleanup(&cps);
    if (slot_halted(s)) {
        snprintf(err->msg, sizeof(err->msg), "stopped while replicating %s", address);
        return MSE_ERR_UNAVAILABLE;
    }
    if (sync_rc != MSE_OK && out.retry_later && !last_try) {
        *retry_later = true;
        /* Unlock by finishing as skipped-for-now would show a false final state; the lock
           stays until the retry or the execution's end, which frees it. */
        LOG_INFO(&x->log, "%s: %s; trying again later in this execution", address, out.text);
        return MSE_OK;
    }
    LOG_INFO(&x->log, "%s: %s (%s) in %lld ms, %llu records", address, sync_health_name(out.health),
             out.reason[0] ? out.reason : "ok", (long long)out.duration_ms,
             (unsigned long long)(out.items + out.appointments + out.folders + out.deletes));
    return mailbox_finish(&m, &out, err);
}

/* ---- executions ---- */

static enum mse_rc execution_parse(cJSON *doc, struct execution *x, struct mse_err *err)
{
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(doc, "task");
    const cJSON *group = cJSON_GetObjectItemCaseSensitive(doc, "group");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(doc, "definition");
    const cJSON *fence = cJSON_GetObjectItemCaseSensitive(doc, "fencing_token");
    const char *id = json_str(doc, "id"), *type = json_str(task, "type");
    const char *name = json_str(task, "name"), *kind = json_str(group, "kind");
    x->doc = doc;
    x->group_value = json_str(group, "value");
    x->settings = cJSON_GetObjectItemCaseSensitive(def, "settings");
    x->connection = cJSON_GetObjectItemCaseSensitive(doc, "connection");
    if (!cJSON_IsObject(x->connection))
        x->connection = NULL;
    if (!id || !type || !kind || !x->group_value || !cJSON_IsNumber(fence)) {
        snprintf(err->msg, sizeof(err->msg),
                 "the claimed execution lacks id, task, group or "
                 "fencing token");
        return MSE_ERR_INVALID;
    }
    snprintf(x->id, sizeof(x->id), "%s", id);
    snprintf(x->type, sizeof(x->type), "%s", type);
    snprintf(x->task_name, sizeof(x->task_name), "%s", name ? name : "");
    snprintf(x->group_kind, sizeof(x->group_kind), "%s", kind);
    x->fencing_token = (int64_t)fence->valuedouble;
    /* Absent from executions first claimed before it existed: one by one. */
    const cJSON *lanes = cJSON_GetObjectItemCaseSensitive(task, "max_parallel_mailboxes");
    x->lanes = cJSON_IsNumber(lanes) && lanes->valueint >= 1 && lanes->valueint <= AGENT_MAX_LANES
                       ? (unsigned)lanes->valueint
                       : 1;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "membership_known")))
        x->mailboxes = cJSON_GetObjectItemCaseSensitive(doc, "mailboxes");
    mse_log_ctx_add(&x->log, "execution", x->id);
    mse_log_ctx_add(&x->log, "task", x->task_name);
    return MSE_OK;
}

/*
 * Resolves the group and reports the membership (or why it could not be resolved). With
 * `unsupported` (the execution's type cannot run here), an empty group is reported as that
 * error: no mailbox could carry it, and an empty execution would end as ok.
 */
/* A worker that reads mailboxes through Graph has no EWS session to call ExpandDL on. */
static enum mse_rc expand_without_ews(void *ctx, const char *address, struct ews_people *members,
                                      const char **reason, struct mse_err *err)
{
    (void)ctx;
    (void)members;
    *reason = "group_unavailable";
    snprintf(err->msg, sizeof(err->msg),
             "distribution group %s: this worker reads mailboxes through Microsoft Graph "
             "(backend = graph), which does not expand distribution groups yet; use a mailbox "
             "list or an Active Directory group",
             address);
    return MSE_ERR_UNAVAILABLE;
}

static enum mse_rc execution_membership(struct slot *s, struct execution *x,
                                        struct ews_session *ews, const char *unsupported,
                                        struct mse_err *err)
{
    enum group_kind kind;
    struct group_members members = { 0 };
    bool cached = false;
    const char *reason = "invalid_group";
    struct mse_err why = { { 0 } };
    struct group_expander ex =
            ews ? group_expander_ews(ews) : (struct group_expander){ .expand = expand_without_ews };
    directory_sync_expander(s->agent->dir, &ex);
    enum mse_rc rc = group_kind_parse(x->group_kind, &kind);
    if (rc == MSE_OK)
        rc = groups_resolve(s->agent->groups, kind, x->group_value, &ex, &members, &cached, &reason,
                            &why);
    cJSON *body = cJSON_CreateObject();
    if (!body) {
        group_members_cleanup(&members);
        return MSE_ERR_NOMEM;
    }
    if (rc == MSE_OK && unsupported && members.n == 0) {
        cJSON *e = cJSON_AddObjectToObject(body, "error");
        cJSON_AddStringToObject(e, "reason_code", AGENT_REASON_UNSUPPORTED);
        cJSON_AddStringToObject(e, "reason_text", unsupported);
    } else if (rc == MSE_OK) {
        cJSON *list = cJSON_AddArrayToObject(body, "mailboxes");
        for (size_t i = 0; list && i < members.n; i++)
            cJSON_AddItemToArray(list, cJSON_CreateString(members.v[i]));
        char when[32];
        mse_time_format(members.resolved_at, when, sizeof(when));
        cJSON_AddStringToObject(body, "resolved_at", when);
        cJSON_AddBoolToObject(body, "from_cache", cached);
        if (members.skipped_total) {
            cJSON *sk = cJSON_AddArrayToObject(body, "skipped");
            for (size_t i = 0; sk && i < members.nskipped; i++) {
                cJSON *e = cJSON_CreateObject();
                if (members.skipped[i].address)
                    cJSON_AddStringToObject(e, "address", members.skipped[i].address);
                if (members.skipped[i].dn)
                    cJSON_AddStringToObject(e, "dn", members.skipped[i].dn);
                cJSON_AddStringToObject(e, "reason", members.skipped[i].reason);
                cJSON_AddItemToArray(sk, e);
            }
            cJSON_AddNumberToObject(body, "skipped_total", (double)members.skipped_total);
        }
    } else {
        cJSON *e = cJSON_AddObjectToObject(body, "error");
        cJSON_AddStringToObject(e, "reason_code", reason);
        cJSON_AddStringToObject(e, "reason_text", why.msg[0] ? why.msg : mse_rc_str(rc));
        LOG_WARN(&x->log, "group %s %s not resolved: %s", x->group_kind, x->group_value, why.msg);
    }
    group_members_cleanup(&members);
    cJSON *reply = NULL;
    rc = exec_post(s, x, NULL, "/membership", body, &reply, NULL, err);
    cJSON_Delete(body);
    if (rc != MSE_OK)
        return rc;
    /* The answer lists the mailboxes with their states; it replaces the claim's view. */
    cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(reply, "mailboxes");
    cJSON_Delete(reply);
    if (!list)
        return MSE_ERR_NOMEM;
    cJSON_AddItemToObject(x->doc, "membership", list);
    x->mailboxes = list;
    return MSE_OK;
}

static bool mailbox_done(const char *state)
{
    return state && (!strcmp(state, "healthy") || !strcmp(state, "warning") ||
                     !strcmp(state, "error") || !strcmp(state, "skipped"));
}

/* A mailbox Exchange asked us to come back to (ErrorMailboxMoveInProgress). */
struct retry_entry {
    const char *address;
    unsigned position;
    unsigned attempts;
};

/*
 * The mailboxes of one execution handed out to its lanes (max_parallel_mailboxes): each lane
 * takes the next one in group order and processes it under its own lock, so no two lanes
 * ever hold one mailbox. The first failure stops every lane from taking another.
 */
struct lanes {
    struct slot *s;
    struct execution *x;
    const struct sync_definition *def;
    const struct ews_config *ews_cfg;
    const struct graph_client_config *graph_cfg; /* the execution reads through Graph */
    pthread_mutex_t lock;
    const cJSON *next; /* the next entry to look at */
    unsigned position, total;
    struct retry_entry *queue;
    size_t tail;
    enum mse_rc rc;
    struct mse_err err;
};

/* The next mailbox still to do, or NULL when none is or the execution must stop. */
static const char *lanes_take(struct lanes *l, unsigned *position)
{
    const char *address = NULL;
    pthread_mutex_lock(&l->lock);
    while (!address && l->next && l->rc == MSE_OK && !atomic_load(&l->s->cancel_requested) &&
           !slot_halted(l->s)) {
        const cJSON *mb = l->next;
        l->next = mb->next;
        l->position++;
        const char *a = json_str(mb, "address");
        if (a && !mailbox_done(json_str(mb, "state"))) {
            address = a;
            *position = l->position;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return address;
}

static void lanes_run(struct lanes *l, const struct reader *rd)
{
    unsigned position;
    const char *address;
    while ((address = lanes_take(l, &position))) {
        bool again;
        struct mse_err err = { { 0 } };
        enum mse_rc rc = mailbox_process(l->s, l->x, rd, l->def, address, position, l->total, false,
                                         &again, &err);
        pthread_mutex_lock(&l->lock);
        if (rc != MSE_OK && l->rc == MSE_OK) {
            l->rc = rc;
            l->err = err;
        } else if (rc == MSE_OK && again) {
            l->queue[l->tail++] = (struct retry_entry){ address, position, 1 };
        }
        pthread_mutex_unlock(&l->lock);
    }
}

/* A lane of its own thread, with a reader of its own. */
static void *lane_main(void *arg)
{
    struct lanes *l = arg;
    struct reader rd;
    struct mse_err err = { { 0 } };
    enum mse_rc rc = reader_open(&rd, l->ews_cfg, l->graph_cfg, &l->s->halt, &err);
    if (rc == MSE_OK) {
        lanes_run(l, &rd);
    } else {
        pthread_mutex_lock(&l->lock);
        if (l->rc == MSE_OK) {
            l->rc = rc;
            l->err = err;
        }
        pthread_mutex_unlock(&l->lock);
    }
    reader_close(&rd);
    return NULL;
}

/* Runs x->lanes lanes over the mailboxes, this thread one of them with `rd`. */
static enum mse_rc lanes_all(struct lanes *l, const struct reader *rd, struct mse_err *err)
{
    pthread_t threads[AGENT_MAX_LANES];
    unsigned started = 0;
    for (unsigned i = 1; i < l->x->lanes; i++) {
        if (pthread_create(&threads[started], NULL, lane_main, l) != 0)
            break; /* fewer lanes, same outcome */
        started++;
    }
    LOG_INFO(&l->x->log, "processing up to %u mailboxes at once", started + 1);
    lanes_run(l, rd);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (l->rc != MSE_OK)
        *err = l->err;
    return l->rc;
}

/* Replicates every mailbox the execution still has to do, in group order. */
static enum mse_rc execution_mailboxes(struct slot *s, struct execution *x, const struct reader *rd,
                                       const struct ews_config *ews_cfg,
                                       const struct graph_client_config *graph_cfg,
                                       const struct sync_definition *def, struct mse_err *err)
{
    unsigned total = (unsigned)cJSON_GetArraySize(x->mailboxes);
    struct retry_entry *queue = calloc(total ? total : 1, sizeof(*queue));
    size_t head = 0, tail = 0;
    enum mse_rc rc = queue ? MSE_OK : MSE_ERR_NOMEM;
    struct lanes l = { .s = s,
                       .x = x,
                       .def = def,
                       .ews_cfg = ews_cfg,
                       .graph_cfg = graph_cfg,
                       .next = x->mailboxes ? x->mailboxes->child : NULL,
                       .total = total,
                       .queue = queue };
    pthread_mutex_init(&l.lock, NULL);
    if (rc == MSE_OK && x->lanes > 1) {
        rc = lanes_all(&l, rd, err);
    } else if (rc == MSE_OK) {
        lanes_run(&l, rd); /* one by one, in this thread: seed 004's order */
        rc = l.rc;
        if (rc != MSE_OK)
            *err = l.err;
    }
    pthread_mutex_destroy(&l.lock);
    tail = l.tail;
    /* Mailboxes being moved get a few more tries after the others, a little later each. */
    while (rc == MSE_OK && head < tail && !atomic_load(&s->cancel_requested) &&
           slot_sleep(s, 5000)) {
        struct retry_entry e = queue[head++ % (total ? total : 1)];
        bool last = ++e.attempts >= AGENT_RETRY_LATER_ATTEMPTS, again;
        rc = mailbox_process(s, x, rd, def, e.address, e.position, total, last, &again, err);
        if (rc == MSE_OK && again)
            queue[tail++ % (total ? total : 1)] = e;
    }
    free(queue);
    return rc;
}

/*
 * Ends every mailbox still to do as an error saying why: the administrator looks at the task's
 * mailboxes and health, not at the worker's log, and a task that did nothing must not read ok.
 */
static enum mse_rc execution_unsupported(struct slot *s, struct execution *x, const char *why,
                                         struct mse_err *err)
{
    unsigned total = (unsigned)cJSON_GetArraySize(x->mailboxes), position = 0;
    struct sync_outcome o = { .health = SYNC_ERROR };
    snprintf(o.reason, sizeof(o.reason), "%s", AGENT_REASON_UNSUPPORTED);
    snprintf(o.text, sizeof(o.text), "%s", why);
    LOG_WARN(&x->log, "%s", why);
    enum mse_rc rc = MSE_OK;
    const cJSON *mb;
    cJSON_ArrayForEach(mb, x->mailboxes)
    {
        position++;
        struct mailbox_ctx m = { .slot = s,
                                 .x = x,
                                 .address = json_str(mb, "address"),
                                 .position = position,
                                 .total = total };
        if (rc == MSE_OK && m.address && !mailbox_done(json_str(mb, "state")))
            rc = mailbox_finish(&m, &o, err);
    }
    return rc;
}

/* Ends the execution on the server; with `release` it goes back to the queue instead. */
static void execution_end(struct slot *s, struct execution *x, bool release)
{
    struct mse_err err = { { 0 } };
    if (atomic_load(&s->lease_lost))
        return; /* not ours any more: the new holder ends it */
    enum mse_rc rc =
            exec_post(s, x, NULL, release ? "/release" : "/complete", NULL, NULL, NULL, &err);
    if (rc != MSE_OK)
        LOG_WARN(&x->log, "%s failed: %s", release ? "release" : "complete", err.msg);
    else
        LOG_INFO(&x->log, "execution %s", release ? "handed back" : "completed");
}

static void slot_publish(struct slot *s, const struct execution *x)
{
    pthread_mutex_lock(&s->agent->lock);
    snprintf(s->execution_id, sizeof(s->execution_id), "%s", x ? x->id : "");
    s->fencing_token = x ? x->fencing_token : 0;
    pthread_mutex_unlock(&s->agent->lock);
}

static void slot_run(struct slot *s, cJSON *doc)
{
    struct execution x = { 0 };
    struct mse_err err = { { 0 } };
    struct sync_definition def = { 0 };
    enum sync_type type;
    bool have_def = false;
    atomic_store(&s->lease_lost, false);
    atomic_store(&s->cancel_requested, false);
    atomic_store(&s->halt, false);
    enum mse_rc rc = execution_parse(doc, &x, &err);
    if (rc != MSE_OK) {
        LOG_ERROR(NULL, "cannot run a claimed execution: %s", err.msg);
        cJSON_Delete(doc);
        return;
    }
    slot_publish(s, &x);
    srv_client_set_fencing(s->srv, x.fencing_token);
    LOG_INFO(&x.log, "claimed (%s, fencing token %lld)", x.type, (long long)x.fencing_token);

    /* A bearer token file is read for each execution: tokens expire, the file is refreshed. */
    struct ews_config ews_cfg = s->agent->ews_cfg;
    char *token = NULL;
    rc = worker_config_read_token(s->agent->cfg, &token, &err);
    if (token)
        ews_cfg.bearer_token = token;
    if (rc == MSE_OK && x.connection) {
        /* A sync task reaches the Exchange its server connection names, not the site's. */
        struct ews_config site = ews_cfg;
        if (!conn_test_config(x.connection, &site, &ews_cfg)) {
            snprintf(err.msg, sizeof(err.msg), "the claim's server connection is incomplete");
            rc = MSE_ERR_INVALID;
        }
    }
    /* On a graph worker Exchange tasks read through Graph; a sync task, its connection's EWS. */
    const struct graph_client_config *graph_cfg = x.connection ? NULL : s->agent->graph_cfg;
    struct reader rd = { 0 };
    if (rc == MSE_OK)
        rc = reader_open(&rd, &ews_cfg, graph_cfg, &s->halt, &err);
    bool supported = sync_type_parse(x.type, &type) == MSE_OK && (!graph_cfg || type == SYNC_MFR);
    char unsupported[200];
    if (graph_cfg)
        snprintf(unsupported, sizeof(unsupported),
                 "%s is not available through Microsoft Graph on this worker version (%s): "
                 "run it on a site whose workers use backend = ews",
                 x.type, MSE_VERSION);
    else
        snprintf(unsupported, sizeof(unsupported),
                 "%s is not available on this worker version (%s)", x.type, MSE_VERSION);
    if (rc == MSE_OK && supported) {
        rc = sync_definition_from_json(type, x.settings, &def, &err);
        have_def = rc == MSE_OK;
    }
    if (rc == MSE_OK && !x.mailboxes)
        rc = execution_membership(s, &x, rd.ews, supported ? NULL : unsupported, &err);
    if (rc == MSE_OK && have_def)
        rc = execution_mailboxes(s, &x, &rd, &ews_cfg, graph_cfg, &def, &err);
    if (rc == MSE_OK && !supported)
        rc = execution_unsupported(s, &x, unsupported, &err);
    if (rc != MSE_OK && !slot_halted(s))
        LOG_ERROR(&x.log, "execution stopped: %s", err.msg);
    /* Stopped by the operator (SIGTERM): hand the execution back so another worker resumes. */
    execution_end(s, &x, slot_halted(s));
    if (have_def)
        sync_definition_cleanup(&def);
    reader_close(&rd);
    if (token)
        memset(token, 0, strlen(token));
    free(token);
    srv_client_set_fencing(s->srv, 0);
    slot_publish(s, NULL);
    cJSON_Delete(x.doc);
}

/* The claim's body; wait_s < 0 leaves wait_seconds out. NULL when out of memory. */
static cJSON *claim_body(const struct agent *a, int64_t wait_s)
{
    cJSON *body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "worker_id", a->worker_id) ||
        (wait_s >= 0 && !cJSON_AddNumberToObject(body, "wait_seconds", (double)wait_s))) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

/*
 * An idle slot claims with wait_seconds: the server answers as soon as an execution of the site
 * is queued, or 204 when the wait is over. The claim runs on the slot's own connection and
 * thread, so heartbeats (the main thread's) stay on time while it waits.
 */
static void *slot_main(void *arg)
{
    struct slot *s = arg;
    struct agent *a = s->agent;
    int64_t wait_s = a->cfg->claim_wait_s;
    cJSON *body = claim_body(a, wait_s > 0 ? wait_s : -1);
    if (!body)
        return NULL;
    while (!atomic_load(a->stop)) {
        struct srv_reply r;
        struct mse_err err = { { 0 } };
        int64_t sent = mse_time_mono_ms();
        srv_client_set_interruptible(s->srv, true);
        enum mse_rc rc = srv_call(s->srv, "POST", MSE_WORKER_CLAIMS, body, &r, &err);
        srv_client_set_interruptible(s->srv, false);
        if (rc == MSE_OK && r.status == 200 && r.body) {
            cJSON *doc = r.body;
            r.body = NULL;
            srv_reply_cleanup(&r);
            slot_run(s, doc);
            continue;
        }
        if (rc == MSE_OK && r.status == 422 && wait_s > 0) {
            /* A server older than wait_seconds refuses the member: poll as before. */
            LOG_INFO(NULL, "the server does not take wait_seconds (%s); polling instead", r.detail);
            wait_s = 0;
            cJSON_DeleteItemFromObjectCaseSensitive(body, "wait_seconds");
        } else if ((rc != MSE_OK && !atomic_load(a->stop)) || (rc == MSE_OK && r.status != 204)) {
            LOG_WARN(NULL, "claim failed: %s", rc != MSE_OK ? err.msg : r.detail);
        }
        srv_reply_cleanup(&r);
        /* A wait the server kept is the pause; an answer at once gets the poll interval. */
        int64_t end = sent + AGENT_CLAIM_POLL_MS;
        while (!atomic_load(a->stop) && mse_time_mono_ms() < end)
            usleep(50 * 1000);
    }
    cJSON_Delete(body);
    return NULL;
}

/* ---- heartbeat ---- */

static cJSON *heartbeat_body(struct agent *a)
{
    cJSON *b = cJSON_CreateObject();
    if (!b)
        return NULL;
    cJSON_AddStringToObject(b, "worker_id", a->worker_id);
    cJSON_AddStringToObject(b, "version", MSE_VERSION);
    cJSON_AddStringToObject(b, "host", a->host);
    cJSON_AddNumberToObject(b, "slots", a->nslots);
    cJSON *list = cJSON_AddArrayToObject(b, "executions");
    pthread_mutex_lock(&a->lock);
    for (unsigned i = 0; list && i < a->nslots; i++) {
        if (!a->slots[i].execution_id[0])
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", a->slots[i].execution_id);
        cJSON_AddNumberToObject(e, "fencing_token", (double)a->slots[i].fencing_token);
        cJSON_AddItemToArray(list, e);
    }
    pthread_mutex_unlock(&a->lock);
    return b;
}

/*
 * Applies what the server said about our executions: lost leases halt, cancellations stop.
 * An answer is about one claim, (execution, fencing token): after a lease lapsed, one slot may
 * still run the old claim while another slot of this process holds the new one, and only the
 * old one must stop.
 */
static void heartbeat_apply(struct agent *a, const cJSON *reply)
{
    const cJSON *hb = cJSON_GetObjectItemCaseSensitive(reply, "heartbeat_seconds");
    if (cJSON_IsNumber(hb) && hb->valuedouble >= 1 && hb->valuedouble <= 300)
        atomic_store(&a->heartbeat_s, (int)hb->valuedouble);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(reply, "executions"))
    {
        const char *id = json_str(e, "id"), *lease = json_str(e, "lease");
        const cJSON *token = cJSON_GetObjectItemCaseSensitive(e, "fencing_token");
        if (!id || !cJSON_IsNumber(token))
            continue; /* an answer that names no claim cannot be applied to one */
        pthread_mutex_lock(&a->lock);
        for (unsigned i = 0; i < a->nslots; i++) {
            struct slot *s = &a->slots[i];
            if (strcmp(s->execution_id, id) != 0 || s->fencing_token != (int64_t)token->valuedouble)
                continue;
            if (lease && strcmp(lease, "renewed") != 0 && !atomic_load(&s->lease_lost)) {
                LOG_WARN(NULL, "the lease of execution %s (fencing token %lld) was lost", id,
                         (long long)s->fencing_token);
                atomic_store(&s->lease_lost, true);
                atomic_store(&s->halt, true);
            }
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "cancel_requested")))
                atomic_store(&s->cancel_requested, true);
        }
        pthread_mutex_unlock(&a->lock);
    }
}

/* The site's directory after each heartbeat: its failures are logged, never fatal. */
static void directory_poll(struct agent *a, struct srv_client *srv)
{
    struct mse_err err = { { 0 } };
    if (directory_sync_poll(a->dir, srv, &err) != MSE_OK)
        LOG_WARN(NULL, "directory: %s", err.msg);
    if (conn_test_poll(srv, &a->ews_cfg, a->worker_id, a->stop, &err) != MSE_OK)
        LOG_WARN(NULL, "server connection test: %s", err.msg);
}

/* One heartbeat; MSE_ERR_IO when the credentials are refused. */
static enum mse_rc heartbeat_once(struct agent *a, struct srv_client *srv, struct mse_err *err)
{
    cJSON *body = heartbeat_body(a);
    if (!body)
        return MSE_ERR_NOMEM;
    struct srv_reply r;
    enum mse_rc rc = srv_call(srv, "POST", MSE_WORKER_HEARTBEAT, body, &r, err);
    cJSON_Delete(body);
    if (rc == MSE_OK && r.status == 200) {
        heartbeat_apply(a, r.body);
        directory_poll(a, srv);
    } else if (rc == MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "heartbeat: HTTP %ld %s", r.status, r.detail);
        rc = r.status == 401 || r.status == 403 ? MSE_ERR_IO : MSE_ERR_UNAVAILABLE;
    }
    srv_reply_cleanup(&r);
    return rc;
}

static enum mse_rc agent_init(struct agent *a, const struct worker_config *cfg,
                              const atomic_bool *stop)
{
    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    a->stop = stop;
    a->srv_cfg = (struct srv_config){ .url = cfg->server_url,
                                      .client_id = cfg->site_client_id,
                                      .client_secret = cfg->site_client_secret,
                                      .tls_verify = cfg->tls_verify,
                                      .ca_file = cfg->tls_ca_file,
                                      .timeout_ms = 60000,
                                      .retry_budget_ms = 120000 };
    worker_config_ews(cfg, &a->ews_cfg);
    if (strcmp(cfg->backend, "graph") == 0) {
        worker_config_graph(cfg, &a->graph_cfg_store);
        a->graph_cfg = &a->graph_cfg_store;
    }
    if (ews_gate_new((unsigned)cfg->ews_max_concurrency, &a->ews_cfg.gate) != MSE_OK)
        return MSE_ERR_NOMEM;
    if (gethostname(a->host, sizeof(a->host)) != 0)
        snprintf(a->host, sizeof(a->host), "unknown");
    a->host[sizeof(a->host) - 1] = '\0';
    snprintf(a->worker_id, sizeof(a->worker_id), "%s:%ld", a->host, (long)getpid());
    atomic_store(&a->heartbeat_s, 10);
    pthread_mutex_init(&a->lock, NULL);
    a->nslots = cfg->slots > 0 ? (unsigned)cfg->slots : 1;
    a->groups = group_cache_new(cfg->group_cache_ttl_s * 1000);
    a->dir = directory_sync_new(a->groups, cfg->group_cache_ttl_s * 1000, &a->srv_cfg, stop);
    a->slots = calloc(a->nslots, sizeof(*a->slots));
    return a->groups && a->dir && a->slots ? MSE_OK : MSE_ERR_NOMEM;
}

static void agent_cleanup(struct agent *a)
{
    for (unsigned i = 0; a->slots && i < a->nslots; i++) {
        if (a->slots[i].started)
            pthread_join(a->slots[i].thread, NULL);
        srv_client_free(a->slots[i].srv);
    }
    free(a->slots);
    directory_sync_free(a->dir);
    group_cache_free(a->groups);
    ews_gate_free(a->ews_cfg.gate);
    pthread_mutex_destroy(&a->lock);
}

static enum mse_rc slots_start(struct agent *a, struct mse_err *err)
{
    for (unsigned i = 0; i < a->nslots; i++) {
        struct slot *s = &a->slots[i];
        s->agent = a;
        s->index = i;
        enum mse_rc rc = srv_client_new(&a->srv_cfg, &s->srv, err);
        if (rc != MSE_OK)
            return rc;
        srv_client_set_stop(s->srv, a->stop);
        if (pthread_create(&s->thread, NULL, slot_main, s) != 0) {
            snprintf(err->msg, sizeof(err->msg), "cannot start slot thread %u", i);
            return MSE_ERR_NOMEM;
        }
        s->started = true;
    }
    return MSE_OK;
}

enum mse_rc agent_run(const struct worker_config *cfg, const atomic_bool *stop, struct mse_err *err)
{
    struct agent a;
    struct srv_client *hb = NULL;
    enum mse_rc rc = agent_init(&a, cfg, stop);
    if (rc == MSE_OK)
        rc = srv_client_new(&a.srv_cfg, &hb, err);
    if (rc == MSE_OK) {
        srv_client_set_stop(hb, stop);
        /* The first heartbeat proves the credentials before any slot starts claiming. */
        while ((rc = heartbeat_once(&a, hb, err)) == MSE_ERR_UNAVAILABLE && !atomic_load(stop)) {
            LOG_WARN(NULL, "mse-server not reachable yet: %s", err->msg);
            sleep(2);
        }
    }
    if (rc == MSE_OK) {
        LOG_INFO(NULL, "worker %s serving its site with %u slot(s) at %s", a.worker_id, a.nslots,
                 cfg->server_url);
        rc = slots_start(&a, err);
    }
    /*
     * Fixed rate, from each beat's start: timed from the end of the previous one, a slow
     * server stretched every period by its latency and leases expired on a loaded machine.
     */
    int64_t next = mse_time_mono_ms();
    while (rc == MSE_OK && !atomic_load(stop)) {
        int64_t now = mse_time_mono_ms();
        next += (int64_t)atomic_load(&a.heartbeat_s) * 1000;
        if (next < now) /* a beat longer than the period: the next one goes at once */
            next = now;
        while (!atomic_load(stop) && mse_time_mono_ms() < next)
            usleep(100 * 1000);
        if (atomic_load(stop))
            break;
        struct mse_err hb_err = { { 0 } };
        if (heartbeat_once(&a, hb, &hb_err) != MSE_OK)
            LOG_WARN(NULL, "heartbeat failed: %s", hb_err.msg);
    }
    for (unsigned i = 0; a.slots && i < a.nslots; i++)
        atomic_store(&a.slots[i].halt, true);
    agent_cleanup(&a);
    srv_client_free(hb);
    return atomic_load(stop) && rc == MSE_ERR_UNAVAILABLE ? MSE_OK : rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Requests parked on libmicrohttpd's suspend/resume until a PostgreSQL notification names them. */
#include "park.h"

#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "db.h"
#include "db_listen.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "timefmt.h"

/* How soon the thread tries again after losing (or failing to open) its connection. */
#define PARK_RECONNECT_MS 1000

struct park {
    pthread_mutex_t mu;
    struct park_entry *head; /* armed and suspended entries */
    bool stopping;           /* no more parking; the thread ends */
    bool listening;          /* a notification can reach a parked request now */
    unsigned nsuspended;     /* entries whose connection is suspended */
    int wake_fd;             /* eventfd: a new deadline to watch, or the stop */
    pthread_t thread;
    bool started;
    char *conninfo;
    char channel[64];
    struct db_listen *listen; /* the thread's own */
};

static void entry_link(struct park *p, struct park_entry *e)
{
    e->prev = NULL;
    e->next = p->head;
    if (p->head)
        p->head->prev = e;
    p->head = e;
    e->linked = true;
}

static void entry_unlink(struct park *p, struct park_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        p->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    e->prev = e->next = NULL;
    e->linked = false;
}

/*
 * Under the lock: takes a suspended entry out of the list onto *wake (resumed later, outside
 * the lock); an entry its handler has armed but not yet suspended is marked notified instead.
 */
static void entry_wake(struct park *p, struct park_entry *e, struct park_entry **wake)
{
    if (!e->suspended) {
        e->notified = true;
        return;
    }
    entry_unlink(p, e);
    e->suspended = false;
    p->nsuspended--;
    e->wake_next = *wake;
    *wake = e;
}

/*
 * Outside the lock. Once resumed, the entry belongs to its handler again (which may park it
 * anew at once), so its successor is read first and the entry is not touched after.
 */
static void wake_list_resume(struct park_entry *e)
{
    while (e) {
        struct park_entry *next = e->wake_next;
        MHD_resume_connection(e->conn);
        e = next;
    }
}

/* Under the lock: every entry, or those of key (NULL: all), or those past now_ms (when >= 0). */
static struct park_entry *collect(struct park *p, const char *key, int64_t now_ms)
{
    struct park_entry *wake = NULL;
    for (struct park_entry *e = p->head, *next; e; e = next) {
        next = e->next;
        if (key && strcmp(e->key, key) != 0)
            continue;
        if (now_ms >= 0 && (!e->suspended || e->deadline_ms > now_ms))
            continue;
        entry_wake(p, e, &wake);
    }
    return wake;
}

static void wake_all(struct park *p)
{
    pthread_mutex_lock(&p->mu);
    struct park_entry *wake = collect(p, NULL, -1);
    pthread_mutex_unlock(&p->mu);
    wake_list_resume(wake);
}

static void on_notify(const char *payload, void *arg)
{
    struct park *p = arg;
    pthread_mutex_lock(&p->mu);
    struct park_entry *wake = collect(p, payload, -1);
    pthread_mutex_unlock(&p->mu);
    wake_list_resume(wake);
}

/* Milliseconds until the nearest deadline of a suspended entry, -1 when there is none. */
static int next_timeout_ms(struct park *p, int64_t now)
{
    int64_t best = -1;
    for (struct park_entry *e = p->head; e; e = e->next) {
        if (!e->suspended)
            continue;
        int64_t left = e->deadline_ms > now ? e->deadline_ms - now : 0;
        if (best < 0 || left < best)
            best = left;
    }
    return best > 3600 * 1000 ? 3600 * 1000 : (int)best;
}

/* Opens the listening connection; a request parked while there was none looks again. */
static void listen_open(struct park *p)
{
    struct db_error dberr;
    if (db_listen_open(p->conninfo, p->channel, &p->listen, &dberr) != MSE_OK) {
        LOG_WARN(NULL, "cannot LISTEN for %s (parked requests answer at once): %s", p->channel,
                 dberr.message);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->listening = true;
    pthread_mutex_unlock(&p->mu);
}

/* The connection broke: nothing would wake the parked requests, so they answer now. */
static void listen_lost(struct park *p, const char *why)
{
    LOG_WARN(NULL, "lost the LISTEN connection for %s: %s", p->channel, why);
    db_listen_close(p->listen);
    p->listen = NULL;
    pthread_mutex_lock(&p->mu);
    p->listening = false;
    pthread_mutex_unlock(&p->mu);
    wake_all(p);
}

static void *park_main(void *arg)
{
    struct park *p = arg;
    int64_t retry_at = 0;
    for (;;) {
        int64_t now = mse_time_mono_ms();
        if (!p->listen && now >= retry_at) {
            listen_open(p);
            retry_at = now + PARK_RECONNECT_MS;
        }
        pthread_mutex_lock(&p->mu);
        bool stop = p->stopping;
        int timeout = next_timeout_ms(p, now);
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        if (!p->listen && (timeout < 0 || timeout > PARK_RECONNECT_MS))
            timeout = PARK_RECONNECT_MS;
        struct pollfd fds[2] = { { .fd = p->wake_fd, .events = POLLIN },
                                 { .fd = db_listen_socket(p->listen), .events = POLLIN } };
        int n = poll(fds, p->listen ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR) {
            LOG_ERROR(NULL, "poll: %s", strerror(errno));
            usleep(100 * 1000);
        }
        uint64_t count;
        if (n > 0 && (fds[0].revents & POLLIN) && read(p->wake_fd, &count, sizeof(count)) < 0)
            count = 0; /* another read finds it; nothing is lost */
        if (n > 0 && p->listen && fds[1].revents) {
            struct db_error dberr;
            if (db_listen_read(p->listen, on_notify, p, &dberr) != MSE_OK)
                listen_lost(p, dberr.message);
        }
        pthread_mutex_lock(&p->mu);
        struct park_entry *wake = collect(p, NULL, mse_time_mono_ms());
        pthread_mutex_unlock(&p->mu);
        wake_list_resume(wake);
    }
    db_listen_close(p->listen);
    p->listen = NULL;
    return NULL;
}

static void park_kick(struct park *p)
{
    uint64_t one = 1;
    if (write(p->wake_fd, &one, sizeof(one)) < 0)
        LOG_DEBUG(NULL, "eventfd write: %s", strerror(errno)); /* full: a wake is pending */
}

enum mse_rc park_start(const char *conninfo, const char *channel, struct park **out,
                       struct mse_err *err)
{
    *out = NULL;
    struct park *p = calloc(1, sizeof(*p));
    if (!p || !(p->conninfo = strdup(conninfo))) {
        free(p);
        snprintf(err->msg, sizeof(err->msg), "out of memory starting the claim listener");
        return MSE_ERR_NOMEM;
    }
    snprintf(p->channel, sizeof(p->channel), "%s", channel);
    pthread_mutex_init(&p->mu, NULL);
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wake_fd < 0) {
        snprintf(err->msg, sizeof(err->msg), "eventfd: %s", strerror(errno));
        park_free(p);
        return MSE_ERR_IO;
    }
    /* Tried here so that a server that just started can park its first requests. */
    listen_open(p);
    if (pthread_create(&p->thread, NULL, park_main, p) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot start the claim listener thread");
        park_free(p);
        return MSE_ERR_NOMEM;
    }
    p->started = true;
    *out = p;
    return MSE_OK;
}

void park_shutdown(struct park *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    struct park_entry *wake = collect(p, NULL, -1);
    pthread_mutex_unlock(&p->mu);
    wake_list_resume(wake);
    if (p->started) {
        park_kick(p);
        pthread_join(p->thread, NULL);
        p->started = false;
    }
}

void park_free(struct park *p)
{
    if (!p)
        return;
    park_shutdown(p);
    db_listen_close(p->listen);
    if (p->wake_fd >= 0)
        close(p->wake_fd);
    pthread_mutex_destroy(&p->mu);
    free(p->conninfo);
    free(p);
}

int64_t park_deadline(struct request *req, int64_t wait_ms)
{
    struct park_entry *e = &req->park;
    if (!e->deadline_ms)
        e->deadline_ms = mse_time_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    return e->deadline_ms;
}

bool park_arm(struct request *req, const char *key)
{
    struct park *p = req->srv->park;
    struct park_entry *e = &req->park;
    if (!p || !e->deadline_ms || e->deadline_ms <= mse_time_mono_ms())
        return false;
    pthread_mutex_lock(&p->mu);
    bool ok = !p->stopping && p->listening;
    if (ok && !e->linked) {
        e->conn = req->conn;
        snprintf(e->key, sizeof(e->key), "%s", key);
        e->notified = false;
        e->suspended = false;
        e->used = true;
        entry_link(p, e);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

enum park_result park_suspend(struct request *req)
{
    struct park *p = req->srv->park;
    struct park_entry *e = &req->park;
    if (!p || !e->used)
        return PARK_OVER;
    pthread_mutex_lock(&p->mu);
    enum park_result r = PARK_SUSPENDED;
    if (!e->linked)
        r = PARK_OVER; /* taken out by a lost connection or the stop */
    else if (e->notified)
        r = PARK_RETRY;
    else if (p->stopping || !p->listening || e->deadline_ms <= mse_time_mono_ms())
        r = PARK_OVER;
    if (r == PARK_SUSPENDED) {
        /* Under the lock: nothing can resume the connection before it is suspended. */
        MHD_suspend_connection(e->conn);
        e->suspended = true;
        p->nsuspended++;
    } else if (e->linked) {
        entry_unlink(p, e);
    }
    pthread_mutex_unlock(&p->mu);
    if (r == PARK_SUSPENDED) {
        /* The handler runs again in this thread only after it returns: req is still ours. */
        req->parked = true;
        db_pool_release(req->srv->pool, req->db);
        req->db = NULL;
        park_kick(p);
    }
    return r;
}

void park_disarm(struct request *req)
{
    struct park *p = req->srv->park;
    struct park_entry *e = &req->park;
    if (!p || !e->used)
        return;
    pthread_mutex_lock(&p->mu);
    if (e->linked)
        entry_unlink(p, e);
    pthread_mutex_unlock(&p->mu);
}

unsigned park_waiting(struct park *p)
{
    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    unsigned n = p->nsuspended;
    pthread_mutex_unlock(&p->mu);
    return n;
}

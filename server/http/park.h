/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parked requests: a handler that has nothing to answer yet suspends its connection
 * (libmicrohttpd's suspend/resume, so no HTTP thread is held) until a PostgreSQL notification
 * names its key, its deadline passes or the server stops; then its handler runs again.
 * One thread per server process LISTENs on its own connection and polls that connection's
 * socket together with an eventfd, which wakes it for a new deadline or for the stop.
 */
#ifndef MSE_PARK_H
#define MSE_PARK_H

#include <stdbool.h>
#include <stdint.h>

#include "mse/rc.h"

struct park;
struct request;
struct MHD_Connection;

/* A request's place among the parked ones; lives in struct request, zeroed with it. */
struct park_entry {
    struct park_entry *prev, *next; /* the park's list, under its lock */
    struct park_entry *wake_next;   /* a list of entries being resumed, outside the lock */
    struct MHD_Connection *conn;
    char key[64];
    int64_t deadline_ms; /* monotonic; set by the first park_deadline() */
    bool used;           /* park_arm was called once: park_disarm at the end takes the lock */
    bool linked;         /* in the park's list (under the lock) */
    bool suspended;      /* its connection is suspended (under the lock) */
    bool notified;       /* its key was notified while it was linked, not yet suspended */
};

/* What park_suspend did. */
enum park_result {
    PARK_SUSPENDED, /* the connection sleeps: return from the handler without a response */
    PARK_RETRY,     /* the key was notified meanwhile: look again (and arm again) */
    PARK_OVER,      /* the deadline passed or the server stops: answer now */
};

/*
 * Starts the listening thread on channel (an SQL identifier) of conninfo's database; the first
 * connection is tried before returning, later ones by the thread. *out is owned by the caller.
 */
enum mse_rc park_start(const char *conninfo, const char *channel, struct park **out,
                       struct mse_err *err) MSE_WUR;
/*
 * Stops parking: every parked request is resumed now, later ones are refused (park_arm is
 * false) and the thread ends. Afterwards no connection is suspended by this module, so
 * libmicrohttpd may be stopped. Accepts NULL; safe to call twice.
 */
void park_shutdown(struct park *p);
/* Frees the park after park_shutdown and after libmicrohttpd stopped. Accepts NULL. */
void park_free(struct park *p);

/* The request's deadline: now + wait_ms at the first call, the same instant afterwards. */
int64_t park_deadline(struct request *req, int64_t wait_ms);
/*
 * Declares, before the handler looks for what it waits for, that it will wait for key until
 * its deadline: a notification arriving from now on is not missed. False when waiting is not
 * possible (no deadline left, the server stops, notifications cannot be received now): the
 * handler then answers at once.
 */
bool park_arm(struct request *req, const char *key);
/*
 * After the handler found nothing: suspends the request (its database connection is given back
 * first) unless the key was notified since park_arm or waiting is over.
 */
enum park_result park_suspend(struct request *req);
/* How many requests are parked now (for /metrics). Accepts NULL. */
unsigned park_waiting(struct park *p);
/* Leaves the park (the handler found what it waited for, or the request ends). */
void park_disarm(struct request *req);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A PostgreSQL connection of its own that LISTENs on one channel: its socket goes into the
 * caller's poll loop, and what arrived is read without blocking.
 */
#ifndef MSE_DB_LISTEN_H
#define MSE_DB_LISTEN_H

#include "db.h"
#include "mse/rc.h"

struct db_listen;

/* Called once per notification with its payload (valid during the call only). */
typedef void (*db_listen_fn)(const char *payload, void *arg);

/*
 * Connects to conninfo and runs LISTEN channel (an identifier, not quoted). *out is owned by
 * the caller (db_listen_close). MSE_ERR_UNAVAILABLE when the database cannot be reached.
 */
enum mse_rc db_listen_open(const char *conninfo, const char *channel, struct db_listen **out,
                           struct db_error *err) MSE_WUR;
/* The socket to poll for reading; -1 when the connection is gone. */
int db_listen_socket(const struct db_listen *l);
/*
 * Reads what the socket holds without blocking and calls fn for each notification.
 * MSE_ERR_UNAVAILABLE when the connection was lost (close it and open a new one).
 */
enum mse_rc db_listen_read(struct db_listen *l, db_listen_fn fn, void *arg,
                           struct db_error *err) MSE_WUR;
/* Closes the connection; accepts NULL. */
void db_listen_close(struct db_listen *l);

#endif

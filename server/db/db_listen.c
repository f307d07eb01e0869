/* SPDX-License-Identifier: Apache-2.0 */
/* A LISTENing PostgreSQL connection whose notifications are read from a poll loop. */
#include "db_listen.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_listen {
    PGconn *conn;
};

static void listen_err(struct db_error *err, PGconn *conn)
{
    memset(err, 0, sizeof(*err));
    snprintf(err->message, sizeof(err->message), "%s",
             conn ? PQerrorMessage(conn) : "out of memory");
    char *nl = strchr(err->message, '\n');
    if (nl)
        *nl = '\0';
}

enum mse_rc db_listen_open(const char *conninfo, const char *channel, struct db_listen **out,
                           struct db_error *err)
{
    *out = NULL;
    struct db_listen *l = calloc(1, sizeof(*l));
    if (!l)
        return MSE_ERR_NOMEM;
    /* The same defaults as the pool's connections; the caller's conninfo overrides them. */
    const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *vals[] = { "5", "mse-server-listen", conninfo, NULL };
    l->conn = PQconnectdbParams(keys, vals, 1);
    enum mse_rc rc = MSE_ERR_UNAVAILABLE;
    if (l->conn && PQstatus(l->conn) == CONNECTION_OK) {
        char sql[96];
        snprintf(sql, sizeof(sql), "LISTEN %s", channel);
        PGresult *r = PQexec(l->conn, sql);
        if (PQresultStatus(r) == PGRES_COMMAND_OK && PQsetnonblocking(l->conn, 1) == 0)
            rc = MSE_OK;
        PQclear(r);
    }
    if (rc != MSE_OK) {
        listen_err(err, l->conn);
        db_listen_close(l);
        return rc;
    }
    *out = l;
    return MSE_OK;
}

int db_listen_socket(const struct db_listen *l)
{
    return l && l->conn ? PQsocket(l->conn) : -1;
}

enum mse_rc db_listen_read(struct db_listen *l, db_listen_fn fn, void *arg, struct db_error *err)
{
    if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
        listen_err(err, l->conn);
        return MSE_ERR_UNAVAILABLE;
    }
    PGnotify *n;
    while ((n = PQnotifies(l->conn)) != NULL) {
        fn(n->extra ? n->extra : "", arg);
        PQfreemem(n);
    }
    return MSE_OK;
}

void db_listen_close(struct db_listen *l)
{
    if (!l)
        return;
    if (l->conn)
        PQfinish(l->conn);
    free(l);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mse-journal's parts: its settings, the post of one message to mse-server's journal, and
 * the sendmail exit code (sysexits.h) an MTA's pipe transport acts on.
 */
#ifndef MSE_JOURNAL_H
#define MSE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "mse/rc.h"

/* sysexits.h codes, spelled out because the MTA's reading of them is the contract. */
enum journal_exit {
    JOURNAL_EX_OK = 0,
    JOURNAL_EX_USAGE = 64,    /* bad command line (permanent: the transport is misconfigured) */
    JOURNAL_EX_DATAERR = 65,  /* the server refused the message as malformed or too large */
    JOURNAL_EX_TEMPFAIL = 75, /* anything else: the MTA keeps the message and retries */
    JOURNAL_EX_CONFIG = 78,   /* mse-journal's own settings are wrong (Postfix defers: 4.3.5) */
};

struct journal_config {
    char url[1024];     /* mse-server's base URL, e.g. https://mse.example:8080 */
    char client_id[65]; /* an API client of role journal (or admin) */
    char client_secret[257];
    char ca_file[1024];    /* "" = the system's trust store */
    char token_file[1024]; /* "" = no token cache: a token per message */
    long timeout_s;        /* per request */
};

/*
 * Reads the settings: the file path (KEY=VALUE lines, '#' comments) when not NULL, then the
 * environment (MSE_JOURNAL_URL, _CLIENT_ID, _CLIENT_SECRET, _CLIENT_SECRET_FILE, _CA_FILE,
 * _TOKEN_FILE, _TIMEOUT), which overrides the file. MSE_ERR_INVALID with err naming what is missing
 * or wrong; the secret never appears in err.
 */
enum mse_rc journal_config_load(const char *path, struct journal_config *cfg,
                                struct mse_err *err) MSE_WUR;

/* What the server (or the way to it) said about one message. */
struct journal_result {
    long status;      /* HTTP status of the journal post; 0 when it was not reached */
    bool token_ok;    /* the credentials were accepted */
    char detail[512]; /* the problem's detail, or the transport error, for the MTA's log */
};

/*
 * Posts message[0..len) with its envelope (sender may be NULL or "", recipients may be
 * empty) with the cached token, or a new one (kept in the cache when there is one); a cached
 * token the server refuses is replaced once. Fills *res whatever happens.
 */
void journal_post(const struct journal_config *cfg, const char *sender,
                  const char *const *recipients, size_t nrecipients, const char *message,
                  size_t len, struct journal_result *res);

/* The exit code an MTA must see for a result: 0, permanent (65) or temporary (75). */
enum journal_exit journal_exit_code(const struct journal_result *res);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mse-journal: an MTA's pipe transport hands it one message on standard input; it posts the
 * message to mse-server's journal and exits with the sendmail code the MTA acts on.
 *
 *   mse-journal [--config FILE] [-f SENDER] [--] RECIPIENT...
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "journal.h"
#include "mse/limits.h"

static void usage(void)
{
    fprintf(stderr, "usage: mse-journal [--config FILE] [-f SENDER] [--] RECIPIENT...\n"
                    "Posts the message on standard input to mse-server's journal.\n");
}

/* Standard input into buf; a message above the journal's cap is a permanent refusal. */
static enum journal_exit read_message(struct mse_buf *buf)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
        if (n == 0)
            return JOURNAL_EX_OK;
        if (n < 0) {
            perror("mse-journal: reading the message");
            return JOURNAL_EX_TEMPFAIL;
        }
        enum mse_rc rc = mse_buf_append(buf, chunk, (size_t)n);
        if (rc == MSE_ERR_TOO_LARGE) {
            fprintf(stderr,
                    "mse-journal: the message is larger than the journal accepts (%u bytes)\n",
                    MSE_MAX_JOURNAL_BODY);
            return JOURNAL_EX_DATAERR;
        }
        if (rc != MSE_OK) {
            fprintf(stderr, "mse-journal: out of memory reading the message\n");
            return JOURNAL_EX_TEMPFAIL;
        }
    }
}

int main(int argc, char **argv)
{
    const char *config = getenv("MSE_JOURNAL_CONFIG");
    const char *sender = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            sender = argv[++i];
        } else if (argv[i][0] == '-') {
            usage();
            return JOURNAL_EX_USAGE;
        } else {
            break;
        }
    }
    size_t nrecipients = (size_t)(argc - i);
    if (nrecipients > MSE_MAX_JOURNAL_RECIPIENTS) {
        fprintf(stderr,
                "mse-journal: more than %u recipients: set the transport's "
                "destination_recipient_limit to at most that\n",
                MSE_MAX_JOURNAL_RECIPIENTS);
        return JOURNAL_EX_USAGE;
    }
    struct journal_config cfg;
    struct mse_err err = { "" };
    if (journal_config_load(config, &cfg, &err) != MSE_OK) {
        /*
         * EX_CONFIG names the cause in the MTA's log; Postfix's pipe(8) reads it as a soft
         * error (4.3.5), so the message stays queued until the settings are fixed.
         */
        fprintf(stderr, "mse-journal: %s\n", err.msg);
        return JOURNAL_EX_CONFIG;
    }
    struct mse_buf msg;
    mse_buf_init(&msg, MSE_MAX_JOURNAL_BODY);
    enum journal_exit code = read_message(&msg);
    if (code == JOURNAL_EX_OK) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        struct journal_result res;
        journal_post(&cfg, sender, (const char *const *)argv + i, nrecipients,
                     msg.data ? msg.data : "", msg.len, &res);
        code = journal_exit_code(&res);
        if (code != JOURNAL_EX_OK)
            fprintf(stderr, "mse-journal: %s%s (HTTP %ld)\n",
                    code == JOURNAL_EX_DATAERR ? "refused: " : "deferred: ",
                    res.detail[0] ? res.detail : "no detail", res.status);
        curl_global_cleanup();
    }
    mse_buf_cleanup(&msg);
    return (int)code;
}

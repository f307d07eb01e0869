/* SPDX-License-Identifier: Apache-2.0 */
/* ews-sim start-up: configuration, schemas, the organisation, HTTP, and shutdown on signals. */
#include <libxml/parser.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "sim.h"

/* Command-line help; configuration is all in the environment. */
static void usage(FILE *out)
{
    fprintf(out, "usage: ews-sim [--version] [--help]\n"
                 "Configuration comes from EWS_SIM_* environment variables (docs/ews-sim.md).\n");
}

/* Swallows libxml2's generic error output (errors reach clients as faults instead). */
static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* Blocks until SIGTERM or SIGINT (blocked in every thread, so only this sees them). */
static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

/* One start-up line with the organisation's size. */
static void org_summary(struct sim *s)
{
    const struct org *o = s->store.org;
    size_t items = 0;
    for (size_t i = 1; i < o->nitems; i++)
        items += o->items[i] != NULL;
    LOG_INFO(NULL, "organisation: %u mailboxes, %u accounts, %u groups, %zu items (%s)",
             o->nmailboxes, o->naccounts, o->ngroups, items,
             s->cfg.fixture[0] ? s->cfg.fixture : "generated");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--version")) {
            printf("ews-sim %s\n", MSE_VERSION);
            return 0;
        }
        usage(strcmp(argv[i], "--help") ? stderr : stdout);
        return strcmp(argv[i], "--help") ? 2 : 0;
    }
    static struct sim sim; /* large (fault table): not on the stack */
    struct mse_err err = { { 0 } };
    if (sim_config_load(&sim.cfg, &err) != MSE_OK) {
        fprintf(stderr, "ews-sim: %s\n", err.msg);
        return 2;
    }
    mse_log_setup("ews-sim", sim.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    xmlInitParser();
    /* libxml2 reports some input problems (bad encodings) on stderr; they reach clients as faults.
     */
    xmlThrDefSetGenericErrorFunc(NULL, quiet);
    xmlSetGenericErrorFunc(NULL, quiet);

    int code = 1;
    if (sim_init(&sim, &err) != MSE_OK) {
        LOG_ERROR(NULL, "%s", err.msg);
        goto out;
    }
    org_summary(&sim);
    if (http_start(&sim, &err) != MSE_OK) {
        LOG_ERROR(NULL, "%s", err.msg);
        goto out;
    }
    LOG_INFO(NULL, "ews-sim listening on http://%s:%u (EWS at /EWS/Exchange.asmx, %u threads%s)",
             sim.cfg.listen_host, sim.port, sim.cfg.threads,
             sim.cfg.validate_responses ? ", validating responses" : "");
    int sig = wait_for_signal(&stop);
    LOG_INFO(NULL, "received %s; stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&sim.stopping, true);
    http_stop(&sim);
    code = 0;
    LOG_INFO(NULL, "stopped");
out:
    sim_cleanup(&sim);
    xmlCleanupParser();
    return code;
}

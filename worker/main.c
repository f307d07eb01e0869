/* SPDX-License-Identifier: Apache-2.0 */
/* mse-worker entry point: configuration, signals, and the command-line modes. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cli_sink.h"
#include "config_worker.h"
#include "ews.h"
#include "ews_gate.h"
#include "groups.h"
#include "log.h"
#include "mse/limits.h"
#include "sync.h"
#include "sync_graph.h"

/* Exit codes: 0 done (healthy or warning), 1 the mailbox or group failed, 2 usage/config. */
enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static atomic_bool stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void usage(FILE *f)
{
    fputs("usage: mse-worker [--config FILE] [MODE]\n"
          "without a mode: serve the site — heartbeats, claims, executions (server_url,\n"
          "site_client_id and site_client_secret must be set)\n"
          "modes:\n"
          "  --sync-once MAILBOX --type TYPE [--definition JSON|@FILE] [--state FILE]\n"
          "              [--content-dir DIR]\n"
          "      replicate one mailbox now; batches are printed as JSON lines, checkpoints\n"
          "      kept in the state file (TYPE: mailbox_folder_replication, calendar_replication)\n"
          "  --resolve-group KIND VALUE\n"
          "      print the mailboxes of a group (KIND: mailbox, mailbox_list, group_email,\n"
          "      ad_group)\n"
          "  --check-config   validate the configuration and print it without secrets\n"
          "  --version\n"
          "Settings: the --config file or MSE_WORKER_CONFIG, and MSE_WORKER_* variables\n"
          "(see docs/worker.md).\n",
          f);
}

struct cli {
    const char *config;
    const char *mailbox;
    const char *type;
    const char *definition;
    const char *state;
    const char *content_dir;
    const char *group_kind;
    const char *group_value;
    bool check_config;
};

/* Parses argv; returns -1 to go on, or an exit code. */
static int args_parse(int argc, char **argv, struct cli *cli)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "sync-once", required_argument, NULL, 's' },
        { "type", required_argument, NULL, 't' },
        { "definition", required_argument, NULL, 'd' },
        { "state", required_argument, NULL, 'S' },
        { "content-dir", required_argument, NULL, 'C' },
        { "resolve-group", required_argument, NULL, 'g' },
        { "check-config", no_argument, NULL, 'k' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cli->config = optarg;
            break;
        case 's':
            cli->mailbox = optarg;
            break;
        case 't':
            cli->type = optarg;
            break;
        case 'd':
            cli->definition = optarg;
            break;
        case 'S':
            cli->state = optarg;
            break;
        case 'C':
            cli->content_dir = optarg;
            break;
        case 'g':
            cli->group_kind = optarg;
            break;
        case 'k':
            cli->check_config = true;
            break;
        case 'V':
            printf("mse-worker %s\n", MSE_VERSION);
            return EXIT_DONE;
        case 'h':
            usage(stdout);
            return EXIT_DONE;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli->group_kind && optind < argc)
        cli->group_value = argv[optind++];
    if (optind != argc || (cli->group_kind && !cli->group_value)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

static void fail_line(const char *what, const char *reason, const char *text)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *e = j ? cJSON_AddObjectToObject(j, what) : NULL;
    if (e && cJSON_AddStringToObject(e, "reason", reason) &&
        cJSON_AddStringToObject(e, "text", text)) {
        char *s = cJSON_PrintUnformatted(j);
        if (s)
            printf("%s\n", s);
        free(s);
    }
    cJSON_Delete(j);
}

/* --definition: inline JSON or @file. */
static cJSON *definition_read(const char *arg, struct mse_err *err)
{
    if (!arg)
        return cJSON_CreateObject();
    if (arg[0] != '@') {
        cJSON *j = cJSON_Parse(arg);
        if (!j)
            snprintf(err->msg, sizeof(err->msg), "--definition is not JSON");
        return j;
    }
    FILE *f = fopen(arg + 1, "rb");
    char buf[MSE_CONFIG_FILE_MAX + 1];
    size_t n = f ? fread(buf, 1, MSE_CONFIG_FILE_MAX + 1, f) : 0;
    if (f)
        fclose(f);
    if (!f || n > MSE_CONFIG_FILE_MAX) {
        snprintf(err->msg, sizeof(err->msg), "cannot read %.200s (or it exceeds %u bytes)", arg + 1,
                 MSE_CONFIG_FILE_MAX);
        return NULL;
    }
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    if (!j)
        snprintf(err->msg, sizeof(err->msg), "%.200s is not JSON", arg + 1);
    return j;
}

/* The EWS session of a --sync-once run, behind the process's gate (ec: the caller's storage,
 * which the session borrows). */
static enum mse_rc sync_once_ews(const struct worker_config *cfg, struct ews_config *ec,
                                 struct ews_gate **gate, struct ews_session **ews,
                                 struct mse_err *err)
{
    worker_config_ews(cfg, ec);
    if (ews_gate_new((unsigned)cfg->ews_max_concurrency, gate) != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return MSE_ERR_NOMEM;
    }
    ec->gate = *gate;
    enum mse_rc rc = ews_session_new(ec, ews, err);
    if (rc == MSE_OK)
        ews_session_set_stop(*ews, &stop_requested);
    return rc;
}

static int run_sync_once(const struct cli *cli, struct worker_config *cfg)
{
    int code = EXIT_USAGE;
    struct mse_err err = { { 0 } };
    struct sync_definition def = { 0 };
    struct sync_checkpoints cps = { 0 };
    struct cli_sink sink = { 0 };
    struct ews_session *ews = NULL;
    struct ews_gate *gate = NULL;
    struct sync_graph *graph = NULL;
    struct graph_client_config gc;
    struct ews_config ec;
    struct sync_source src;
    bool use_graph = strcmp(cfg->backend, "graph") == 0;
    enum sync_type type;
    cJSON *dj = definition_read(cli->definition, &err);
    if (!cli->type || sync_type_parse(cli->type, &type) != MSE_OK) {
        fprintf(stderr, "mse-worker: --type must be mailbox_folder_replication, "
                        "calendar_replication or sync_recover\n");
        goto out;
    }
    if (!dj || sync_definition_from_json(type, dj, &def, &err) != MSE_OK ||
        cli_sink_open(&sink, cli->state, cli->content_dir, stdout, &cps, &err) != MSE_OK) {
        fprintf(stderr, "mse-worker: %s\n", err.msg);
        goto out;
    }
    if (use_graph && type != SYNC_MFR) {
        fprintf(stderr, "mse-worker: backend graph replicates mailbox_folder_replication only "
                        "so far; calendar_replication needs backend ews\n");
        goto out;
    }
    if (use_graph) {
        worker_config_graph(cfg, &gc);
        if (sync_graph_new(&gc, &graph, &err) != MSE_OK) {
            fprintf(stderr, "mse-worker: %s\n", err.msg);
            goto out;
        }
        sync_graph_set_stop(graph, &stop_requested);
        src = sync_graph_source(graph);
    } else if (sync_once_ews(cfg, &ec, &gate, &ews, &err) != MSE_OK) {
        fprintf(stderr, "mse-worker: %s\n", err.msg);
        goto out;
    }
    struct sync_sink iface = cli_sink_interface(&sink);
    struct sync_job job = { .mailbox = cli->mailbox,
                            .def = &def,
                            .checkpoints = &cps,
                            .sink = &iface,
                            .ews = ews,
                            .source = use_graph ? &src : NULL,
                            .getitem_batch = (unsigned)cfg->ews_getitem_batch,
                            .parallel = (unsigned)cfg->ews_parallel,
                            .stop = &stop_requested };
    struct sync_outcome out;
    enum mse_rc rc = sync_mailbox(&job, &out);
    cJSON *oj = sync_outcome_to_json(&out, cli->mailbox, type);
    cJSON *line = cJSON_CreateObject();
    if (oj && line && cJSON_AddItemToObject(line, "outcome", oj)) {
        char *s = cJSON_PrintUnformatted(line);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        cJSON_Delete(oj);
    }
    cJSON_Delete(line);
    code = rc == MSE_OK ? EXIT_DONE : EXIT_FAILED;
out:
    sync_graph_free(graph);
    ews_session_free(ews);
    ews_gate_free(gate);
    cli_sink_close(&sink);
    sync_checkpoints_cleanup(&cps);
    sync_definition_cleanup(&def);
    cJSON_Delete(dj);
    return code;
}

static int run_resolve_group(const struct cli *cli, struct worker_config *cfg)
{
    enum group_kind kind;
    struct mse_err err = { { 0 } };
    if (group_kind_parse(cli->group_kind, &kind) != MSE_OK) {
        fprintf(stderr, "mse-worker: KIND must be mailbox, mailbox_list, group_email or "
                        "ad_group\n");
        return EXIT_USAGE;
    }
    struct ews_config ec;
    struct ews_session *ews = NULL;
    worker_config_ews(cfg, &ec);
    if (kind == GROUP_EMAIL && (worker_config_require(cfg, true, false, &err) != MSE_OK ||
                                ews_session_new(&ec, &ews, &err) != MSE_OK)) {
        fprintf(stderr, "mse-worker: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (ews)
        ews_session_set_stop(ews, &stop_requested);
    struct group_expander x = group_expander_ews(ews);
    struct group_members m;
    const char *reason;
    bool cached;
    enum mse_rc rc = groups_resolve(NULL, kind, cli->group_value, &x, &m, &cached, &reason, &err);
    ews_session_free(ews);
    if (rc != MSE_OK) {
        fail_line("error", reason, err.msg);
        return EXIT_FAILED;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *a = j ? cJSON_AddArrayToObject(j, "members") : NULL;
    for (size_t i = 0; a && i < m.n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(m.v[i]));
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
    group_members_cleanup(&m);
    return EXIT_DONE;
}

/* The service mode: serve the site until SIGTERM/SIGINT (docs/worker-protocol.md). */
static int run_service(struct worker_config *cfg)
{
    struct mse_err err = { { 0 } };
    if (worker_config_require(cfg, true, true, &err) != MSE_OK) {
        fprintf(stderr, "mse-worker: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (worker_config_reload_token(cfg, &err) != MSE_OK) {
        fprintf(stderr, "mse-worker: %s\n", err.msg);
        return EXIT_USAGE;
    }
    worker_config_log(cfg);
    enum mse_rc rc = agent_run(cfg, &stop_requested, &err);
    if (rc != MSE_OK) {
        LOG_ERROR(NULL, "worker stopped: %s", err.msg);
        return rc == MSE_ERR_IO ? EXIT_USAGE : EXIT_FAILED;
    }
    LOG_INFO(NULL, "worker stopped");
    return EXIT_DONE;
}

static void signals_setup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    int code = args_parse(argc, argv, &cli);
    if (code >= 0)
        return code;
    struct worker_config cfg;
    struct mse_err err = { { 0 } };
    if (worker_config_load(cli.config, &cfg, &err) != MSE_OK) {
        fprintf(stderr, "mse-worker: %s\n", err.msg);
        return EXIT_USAGE;
    }
    mse_log_setup("worker", cfg.log_level);
    signals_setup();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
    code = EXIT_USAGE;
    if (cli.check_config) {
        worker_config_log(&cfg);
        code = EXIT_DONE;
    } else if (cli.group_kind) {
        code = run_resolve_group(&cli, &cfg);
    } else if (cli.mailbox) {
        if (worker_config_require(&cfg, true, false, &err) != MSE_OK)
            fprintf(stderr, "mse-worker: %s\n", err.msg);
        else
            code = run_sync_once(&cli, &cfg);
    } else {
        code = run_service(&cfg);
    }
    worker_config_cleanup(&cfg);
    xmlCleanupParser();
    curl_global_cleanup();
    return code;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes through the whole EWS request path, responses validated. */
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ews.h"
#include "log.h"
#include "sim.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sim sim;
static char auth_service[256], auth_alice[256];

static void basic_header(char *out, size_t size, const char *user_pass)
{
    unsigned char b64[200];
    EVP_EncodeBlock(b64, (const unsigned char *)user_pass, (int)strlen(user_pass));
    snprintf(out, size, "Basic %s", (const char *)b64);
}

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/*
 * A small generated organisation (or EWS_SIM_FIXTURE) with a service account; schemas from
 * EWS_SIM_SCHEMA_DIR. Every response is validated: an invalid one aborts (a finding).
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct mse_err err = { { 0 } };
    setenv("EWS_SIM_SERVICE_ACCOUNT", "svc@example.com:secret", 0);
    setenv("EWS_SIM_GENERATE", "mailboxes=3,folders=2,items=5,appointments=4,attachment_bytes=64",
           0);
    if (sim_config_load(&sim.cfg, &err) != MSE_OK || sim_init(&sim, &err) != MSE_OK) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    sim.cfg.validate_responses = true;
    xmlThrDefSetGenericErrorFunc(NULL, quiet);
    xmlSetGenericErrorFunc(NULL, quiet);
    mse_log_setup("ews-sim", MSE_LOG_ERROR);
    basic_header(auth_service, sizeof(auth_service), "svc@example.com:secret");
    basic_header(auth_alice, sizeof(auth_alice), "user0001@example.com:password");
    return 0;
}

/* The first byte picks the credentials (so both delegate and impersonation paths run). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *auth = data[0] % 3 == 0 ? auth_service : data[0] % 3 == 1 ? auth_alice : NULL;
    struct ews_reply r;
    if (ews_process(&sim, auth, NULL, (const char *)data + 1, size - 1, NULL, &r) == MSE_OK &&
        r.status != 401 && (!r.body || r.len == 0))
        abort(); /* every non-401 answer has a body */
    /* Every XML answer must be well-formed as sent (the serialiser must not have failed). */
    if (r.body && r.content_type && strncmp(r.content_type, "text/xml", 8) == 0) {
        xmlDocPtr doc = xmlReadMemory(r.body, (int)r.len, "reply.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc) {
            fprintf(stderr, "fuzz: the simulator sent XML that is not well-formed\n");
            abort();
        }
        xmlFreeDoc(doc);
    }
    ews_reply_cleanup(&r);
    if (atomic_load(&sim.stats.schema_violations) != 0) {
        fprintf(stderr, "fuzz: the simulator produced a schema-invalid response\n");
        abort();
    }
    return 0;
}

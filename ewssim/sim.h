/* SPDX-License-Identifier: Apache-2.0 */
/* The simulator's context: configuration, store, schemas, faults and counters. */
#ifndef EWSSIM_SIM_H
#define EWSSIM_SIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"
#include "graph.h"
#include "log.h"
#include "mse/rc.h"
#include "realism.h"
#include "schema.h"
#include "stats.h"
#include "store.h"

struct sim_config {
    char listen_host[256];
    uint16_t listen_port;
    char fixture[1024];     /* EWS_SIM_FIXTURE, "" when generating */
    char generate[512];     /* EWS_SIM_GENERATE */
    uint64_t seed;          /* EWS_SIM_SEED */
    char service_user[320]; /* EWS_SIM_SERVICE_ACCOUNT address, "" when none */
    char service_pass[256];
    char schema_dir[1024];           /* EWS_SIM_SCHEMA_DIR */
    bool validate_responses;         /* EWS_SIM_VALIDATE_RESPONSES */
    char control_token[256];         /* EWS_SIM_CONTROL_TOKEN, "" = loopback only */
    char data_dir[1024];             /* EWS_SIM_DATA_DIR, "" = nothing kept across restarts */
    unsigned threads;                /* EWS_SIM_THREADS */
    size_t max_body;                 /* EWS_SIM_MAX_BODY_BYTES */
    struct realism_settings realism; /* EWS_SIM_LATENCY_MS, … (realism.h) */
    struct graph_settings graph;     /* EWS_SIM_GRAPH_APPS, … (graph.h) */
    enum mse_log_level log_level;
};

struct sim {
    struct sim_config cfg;
    struct store store;
    struct schema *schema;
    struct faults faults;
    struct realism realism;
    struct graph graph; /* Graph tokens issued */
    struct stats stats;
    struct MHD_Daemon *mhd;
    uint16_t port;
    atomic_bool stopping;
    atomic_int in_flight;
};

/* Reads EWS_SIM_* variables. MSE_ERR_INVALID with err naming the variable. */
enum mse_rc sim_config_load(struct sim_config *cfg, struct mse_err *err) MSE_WUR;
/* Builds the organisation the configuration asks for (fixture or generator + service account). */
enum mse_rc sim_org_build(const struct sim_config *cfg, struct org **out,
                          struct mse_err *err) MSE_WUR;
/* Loads schemas and the organisation; everything but the HTTP daemon. */
enum mse_rc sim_init(struct sim *s, struct mse_err *err) MSE_WUR;
void sim_cleanup(struct sim *s);

#endif

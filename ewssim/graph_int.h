/* SPDX-License-Identifier: Apache-2.0 */
/* What the Graph modules share: one call being answered (alone or inside a $batch). */
#ifndef EWSSIM_GRAPH_INT_H
#define EWSSIM_GRAPH_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "graph.h"
#include "sim.h"

#define GRAPH_MAX_SEGMENTS 10
#define GRAPH_MAX_PARAMS   12

/* One Graph request and its answer. Strings point into buf or the caller's request. */
struct graph_call {
    struct sim *sim;
    struct org *org;     /* read-locked for the call */
    uint32_t generation; /* store generation, for delta tokens */
    const struct graph_app *app;
    const char *method;
    char *seg[GRAPH_MAX_SEGMENTS]; /* path segments after /v1.0 */
    unsigned nseg;
    char *pname[GRAPH_MAX_PARAMS], *pvalue[GRAPH_MAX_PARAMS]; /* decoded query parameters */
    unsigned nparams;
    const char *prefer;
    const char *base; /* "http://host:port" */
    char buf[4096];   /* the path and query, split and decoded in place */
    /* The answer: a JSON document, or raw bytes (message $value). */
    unsigned status;
    cJSON *json;
    char *raw;
    size_t raw_len;
    const char *content_type;
};

/* Sets a Graph error document ({"error": {"code", "message", "innerError"}}); returns MSE_OK. */
enum mse_rc graph_error(struct graph_call *c, unsigned status, const char *code, const char *fmt,
                        ...) MSE_PRINTF(4, 5);
/* Sets doc (taken) as a 200 answer; MSE_ERR_NOMEM when doc is NULL. */
enum mse_rc graph_json(struct graph_call *c, cJSON *doc);
/* A query parameter's decoded value, or NULL. */
const char *graph_param(const struct graph_call *c, const char *name);
/* True when the app holds the application role. */
bool graph_role(const struct graph_call *c, const char *role);

/* Users, mail folders, messages and their delta queries (graph_mail.c). */
enum mse_rc graph_mail_route(struct graph_call *c);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces the worker-protocol handlers share (api_worker.c, api_submit.c). */
#ifndef MSE_API_WORKER_H
#define MSE_API_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "mse/limits.h"

struct request;
struct fence;
struct db;

/*
 * The fence of an execution-scoped write: the path's execution id (placeholder 0), the
 * caller's site and the MSE-Fencing-Token header. False after answering 400/404.
 */
bool api_worker_fence(struct request *req, struct fence *f, char id[37], char token[24]);
/* Opens a transaction on the request's connection; false after answering. */
bool api_worker_begin(struct request *req, struct db **db);
/* The {address} placeholder (parameter 1) as a stored address; false after answering 404. */
bool api_worker_path_address(struct request *req, char out[MSE_MAX_ADDRESS + 1]);
/* An address as the lifecycle stores it: trimmed, lower-case, plausible. False if not. */
bool api_worker_address(const char *in, char *out, size_t size);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Establishes who is calling and whether the route's role admits them. */
#ifndef MSE_AUTH_H
#define MSE_AUTH_H

#include <stdbool.h>

struct request;

/*
 * Authenticates the request against req->route's role and fills req->principal.
 * Returns false after answering 401 (no or bad credentials), 403 (wrong role) or 429.
 */
bool auth_check(struct request *req);

#endif

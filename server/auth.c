/* SPDX-License-Identifier: Apache-2.0 */
/* Establishes who is calling and whether the route's role admits them. */
#include "auth.h"

#include "http.h"
#include "problem.h"
#include "routes.h"

bool auth_check(struct request *req)
{
    if (req->route->role == ROLE_PUBLIC)
        return true;
    /* Token authentication arrives with the admin API; until then nothing else is open. */
    http_add_header(req, "WWW-Authenticate", "Bearer realm=\"mse\"");
    problem_send(req, 401, "a bearer token is required");
    return false;
}

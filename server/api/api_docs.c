/* SPDX-License-Identifier: Apache-2.0 */
/* Serves the compiled-in OpenAPI spec and the Swagger UI documentation pages. */
#include <string.h>

#include "api.h"
#include "assets.h"
#include "http.h"
#include "problem.h"

const struct asset *asset_find(const char *url)
{
    for (unsigned i = 0; i < assets_count; i++) {
        if (strcmp(assets[i].url, url) == 0)
            return &assets[i];
    }
    return NULL;
}

/* Answers with the asset, or 304 when the client already holds this version. */
static void asset_send(struct request *req, const struct asset *a)
{
    const char *inm = http_header(req, "If-None-Match");
    http_add_header(req, "ETag", a->etag);
    http_add_header(req, "Cache-Control", "no-cache");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    if (strncmp(a->url, "/docs", 5) == 0)
        http_add_header(req, "Content-Security-Policy",
                        "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                        "img-src 'self' data:; frame-ancestors 'none'");
    if (inm && strstr(inm, a->etag)) {
        (void)http_reply_not_modified(req);
        return;
    }
    (void)http_reply_static(req, 200, a->content_type, a->data, a->len);
}

void api_docs_spec(struct request *req)
{
    const struct asset *a = asset_find(req->url);
    if (!a) {
        problem_send(req, 404, "no resource at %s", req->url);
        return;
    }
    asset_send(req, a);
}

void api_docs_page(struct request *req)
{
    api_docs_spec(req);
}

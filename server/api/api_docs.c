/* SPDX-License-Identifier: Apache-2.0 */
/* Serves the compiled-in OpenAPI spec, the Swagger UI documentation pages and the console. */
#include <stdbool.h>
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

/* True when the client takes gzip. A "gzip;q=0" refusal is not parsed: no browser sends it. */
static bool accepts_gzip(struct request *req)
{
    const char *ae = http_header(req, "Accept-Encoding");
    return ae && strstr(ae, "gzip") != NULL;
}

/*
 * Answers with the asset, or 304 when the client already holds this version. The compressed
 * copy is another representation, so it has its own ETag; every file is revalidated
 * (no-cache), which is what keeps a browser from running an old script after an upgrade.
 */
static void asset_send(struct request *req, const struct asset *a)
{
    const char *inm = http_header(req, "If-None-Match");
    bool gz = a->gz && accepts_gzip(req);
    const char *etag = gz ? a->gz_etag : a->etag;
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Cache-Control", "no-cache");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    if (a->gz)
        http_add_header(req, "Vary", "Accept-Encoding");
    if (strncmp(a->url, "/docs", 5) == 0)
        http_add_header(req, "Content-Security-Policy",
                        "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                        "img-src 'self' data:; frame-ancestors 'none'");
    /* The console's own code needs nothing inline and nothing from elsewhere. */
    if (strncmp(a->url, "/console", 8) == 0)
        http_add_header(req, "Content-Security-Policy",
                        "default-src 'self'; base-uri 'none'; form-action 'self'; "
                        "frame-ancestors 'none'");
    if (inm && strstr(inm, etag)) {
        (void)http_reply_not_modified(req);
        return;
    }
    if (gz) {
        http_add_header(req, "Content-Encoding", "gzip");
        (void)http_reply_static(req, 200, a->content_type, a->gz, a->gz_len);
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

void api_console_page(struct request *req)
{
    api_docs_spec(req);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Static files compiled into mse-server: the OpenAPI spec, the API docs and the console. */
#ifndef MSE_ASSETS_H
#define MSE_ASSETS_H

#include <stddef.h>

struct asset {
    const char *url; /* "/api/v1/openapi.yaml", "/docs/swagger-ui.css" */
    const char *content_type;
    const char *data; /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
    const char *etag; /* strong ETag: the quoted SHA-256 of the content */
    const char *gz;   /* the same content gzip-compressed at build time, or NULL */
    size_t gz_len;
    const char *gz_etag; /* the quoted SHA-256 of the compressed bytes (another representation) */
};

extern const struct asset assets[];
extern const unsigned assets_count;

/* The asset served at url, or NULL. */
const struct asset *asset_find(const char *url);

#endif

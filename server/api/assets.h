/* SPDX-License-Identifier: Apache-2.0 */
/* Static files compiled into mse-server: the OpenAPI spec and the bundled API docs. */
#ifndef MSE_ASSETS_H
#define MSE_ASSETS_H

#include <stddef.h>

struct asset {
    const char *url; /* "/api/v1/openapi.yaml", "/docs/swagger-ui.css" */
    const char *content_type;
    const char *data; /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
    const char *etag; /* strong ETag: the quoted SHA-256 of the content */
};

extern const struct asset assets[];
extern const unsigned assets_count;

/* The asset served at url, or NULL. */
const struct asset *asset_find(const char *url);

#endif

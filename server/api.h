/* SPDX-License-Identifier: Apache-2.0 */
/* Every route handler, grouped by resource; the route table in routes.c refers to these. */
#ifndef MSE_API_H
#define MSE_API_H

struct request;

/* api_health.c */
void api_health_live(struct request *req);
void api_health_ready(struct request *req);

/* api_docs.c: the OpenAPI spec and the bundled Swagger UI (static, compiled in). */
void api_docs_spec(struct request *req);
void api_docs_page(struct request *req);

#endif

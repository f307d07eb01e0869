/* SPDX-License-Identifier: Apache-2.0 */
/* The one place that writes RFC 9457 problem documents, logs them and counts them. */
#include "problem.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void problem_emit_typed(struct request *req, unsigned status, const char *type,
                               const char *detail, const struct verr *v);

static void problem_emit(struct request *req, unsigned status, const char *detail,
                         const struct verr *v)
{
    problem_emit_typed(req, status, "about:blank", detail, v);
}

static void problem_emit_typed(struct request *req, unsigned status, const char *type,
                               const char *detail, const struct verr *v)
{
    cJSON *doc = cJSON_CreateObject();
    char *text = NULL;
    if (!doc)
        goto fallback;
    cJSON_AddStringToObject(doc, "type", type);
    cJSON_AddStringToObject(doc, "title", http_status_text(status));
    cJSON_AddNumberToObject(doc, "status", status);
    cJSON_AddStringToObject(doc, "detail", detail);
    cJSON_AddStringToObject(doc, "instance", req->url);
    cJSON_AddStringToObject(doc, "request_id", req->request_id);
    if (v && v->kept) {
        cJSON *list = cJSON_AddArrayToObject(doc, "errors");
        for (unsigned i = 0; list && i < v->kept; i++) {
            cJSON *e = cJSON_CreateObject();
            if (!e)
                break;
            cJSON_AddItemToArray(list, e);
            cJSON_AddStringToObject(e, "field", v->list[i].field);
            cJSON_AddStringToObject(e, "message", v->list[i].message);
        }
    }
    text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        goto fallback;
    /* The access-log line says it: one line per request (issue: 503s in an outage). */
    snprintf(req->detail, sizeof(req->detail), "%s", detail);
    (void)http_reply_take(req, status, "application/problem+json", text, strlen(text));
    return;
fallback:
    /* Out of memory: a fixed document still tells the client what happened. */
    static const char oom[] =
            "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\",\"status\":500}";
    (void)http_reply(req, 500, "application/problem+json", oom, sizeof(oom) - 1);
}

void problem_send(struct request *req, unsigned status, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    problem_emit(req, status, detail, NULL);
}

void problem_send_typed(struct request *req, unsigned status, const char *type, const char *fmt,
                        ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    problem_emit_typed(req, status, type, detail, NULL);
}

void problem_send_fields(struct request *req, unsigned status, const char *detail,
                         const struct verr *v)
{
    if (v->nomem) {
        problem_emit(req, 500, "out of memory while reporting validation errors", NULL);
        return;
    }
    if (v->count > v->kept) {
        char more[1024];
        snprintf(more, sizeof(more), "%s (%u more errors not listed)", detail, v->count - v->kept);
        problem_emit(req, status ? status : 422, more, v);
        return;
    }
    problem_emit(req, status ? status : 422, detail, v);
}

void problem_send_rc(struct request *req, enum mse_rc rc, const char *detail)
{
    switch (rc) {
    case MSE_ERR_NOT_FOUND:
        problem_send(req, 404, "%s", detail ? detail : "not found");
        break;
    case MSE_ERR_CONFLICT:
        problem_send(req, 409, "%s", detail ? detail : "conflict");
        break;
    case MSE_ERR_INVALID:
        problem_send(req, 422, "%s", detail ? detail : "invalid");
        break;
    case MSE_ERR_TOO_LARGE:
        problem_send(req, 413, "%s", detail ? detail : "too large");
        break;
    case MSE_ERR_UNAVAILABLE:
        http_add_header(req, "Retry-After", "5");
        problem_send(req, 503, "the database is unavailable; retry shortly");
        break;
    case MSE_ERR_NOMEM:
        problem_send(req, 500, "out of memory");
        break;
    default:
        problem_send(req, 500, "internal error (request id %s)", req->request_id);
        break;
    }
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs the worker's directory module once and prints the outcome as one JSON line, for the
 * directory tests and the resolution figure in docs/directory.md:
 *   directory_probe URLS BIND_DN PASSWORD BASE_DN TLS_VERIFY PAGE_SIZE resolve DN
 *   directory_probe … catalogue | check
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "timefmt.h"

static cJSON *list_json(const struct directory_list *l)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < l->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
    return a;
}

static void groups_json(cJSON *out, const struct directory_groups *g)
{
    cJSON *a = cJSON_AddArrayToObject(out, "groups");
    for (size_t i = 0; a && i < g->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dn", g->v[i].dn);
        cJSON_AddStringToObject(o, "name", g->v[i].name ? g->v[i].name : "");
        cJSON_AddStringToObject(o, "mail", g->v[i].mail ? g->v[i].mail : "");
        cJSON_AddStringToObject(o, "kind", g->v[i].kind);
        cJSON_AddNumberToObject(o, "member_count", (double)g->v[i].member_count);
        cJSON_AddItemToArray(a, o);
    }
}

int main(int argc, char **argv)
{
    if (argc < 8 || (strcmp(argv[7], "resolve") == 0 && argc < 9)) {
        fprintf(stderr,
                "usage: %s URLS BIND_DN PASSWORD BASE_DN TLS_VERIFY PAGE_SIZE "
                "resolve DN | catalogue | check\n",
                argv[0]);
        return 2;
    }
    struct directory_config cfg = { .tls_verify = strcmp(argv[5], "1") == 0,
                                    .page_size = (unsigned)strtoul(argv[6], NULL, 10) };
    snprintf(cfg.urls, sizeof(cfg.urls), "%s", argv[1]);
    snprintf(cfg.bind_dn, sizeof(cfg.bind_dn), "%s", argv[2]);
    snprintf(cfg.password, sizeof(cfg.password), "%s", argv[3]);
    snprintf(cfg.base_dn, sizeof(cfg.base_dn), "%s", argv[4]);
    const char *reason = "";
    struct mse_err err = { { 0 } };
    cJSON *out = cJSON_CreateObject();
    int64_t t0 = mse_time_mono_ms();
    enum mse_rc rc;
    if (strcmp(argv[7], "resolve") == 0) {
        struct directory_members m;
        rc = directory_resolve(&cfg, argv[8], &m, &reason, &err);
        if (rc == MSE_OK) {
            cJSON_AddItemToObject(out, "addresses", list_json(&m.addresses));
            cJSON_AddItemToObject(out, "excluded", list_json(&m.excluded));
        }
        directory_members_cleanup(&m);
    } else if (strcmp(argv[7], "catalogue") == 0) {
        struct directory_groups g;
        rc = directory_catalogue(&cfg, 100000, &g, &reason, &err);
        if (rc == MSE_OK)
            groups_json(out, &g);
        directory_groups_cleanup(&g);
    } else {
        rc = directory_check(&cfg, &reason, &err);
    }
    cJSON_AddNumberToObject(out, "ms", (double)(mse_time_mono_ms() - t0));
    if (rc != MSE_OK) {
        cJSON_AddStringToObject(out, "reason", reason);
        cJSON_AddStringToObject(out, "error", err.msg);
    }
    char *text = cJSON_PrintUnformatted(out);
    puts(text ? text : "{}");
    free(text);
    cJSON_Delete(out);
    return rc == MSE_OK ? 0 : 1;
}

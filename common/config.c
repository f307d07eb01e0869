/* SPDX-License-Identifier: Apache-2.0 */
/* Reading settings from the environment with range checks and precise errors. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *mse_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

enum mse_rc mse_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return MSE_ERR_INVALID;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return MSE_ERR_INVALID;
    *out = v;
    return MSE_OK;
}

enum mse_rc mse_env_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                        struct mse_err *err)
{
    const char *v = mse_env_str(name, NULL);
    if (!v) {
        *out = def;
        return MSE_OK;
    }
    if (mse_parse_int(v, min, max, out) != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "%s must be an integer from %lld to %lld, got \"%s\"",
                 name, (long long)min, (long long)max, v);
        return MSE_ERR_INVALID;
    }
    return MSE_OK;
}

enum mse_rc mse_env_bool(const char *name, bool def, bool *out, struct mse_err *err)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    const char *v = mse_env_str(name, NULL);
    *out = def;
    if (!v)
        return MSE_OK;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return MSE_OK;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return MSE_OK;
        }
    }
    snprintf(err->msg, sizeof(err->msg), "%s must be true or false, got \"%s\"", name, v);
    return MSE_ERR_INVALID;
}

enum mse_rc mse_parse_hostport(const char *s, char *host, size_t host_size, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return MSE_ERR_INVALID;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return MSE_ERR_INVALID;
        hlen = (size_t)(colon - s);
    }
    int64_t p;
    if (hlen == 0 || hlen >= host_size || mse_parse_int(colon + 1, 0, 65535, &p) != MSE_OK)
        return MSE_ERR_INVALID;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return MSE_OK;
}

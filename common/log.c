/* SPDX-License-Identifier: Apache-2.0 */
/* Structured logging: one JSON object per line on stderr, secrets redacted here. */
#include "log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "timefmt.h"

static const char *log_component = "mse";
static enum mse_log_level log_min = MSE_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void mse_log_setup(const char *component, enum mse_log_level min_level)
{
    log_component = component;
    log_min = min_level;
}

enum mse_rc mse_log_level_parse(const char *s, enum mse_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum mse_log_level)i;
            return MSE_OK;
        }
    }
    return MSE_ERR_INVALID;
}

bool mse_log_enabled(enum mse_log_level level)
{
    return level >= log_min;
}

/* Names whose values are secrets wherever they appear. */
static bool key_is_secret(const char *key, size_t n)
{
    static const char *const secret_words[] = { "password", "secret",  "token",     "authorization",
                                                "passwd",   "api_key", "master_key" };
    char lower[64];
    if (n >= sizeof(lower))
        n = sizeof(lower) - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)key[i]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++) {
        if (strstr(lower, secret_words[i]))
            return true;
    }
    return false;
}

void mse_log_ctx_add(struct mse_log_ctx *ctx, const char *key, const char *value)
{
    struct mse_buf b;
    mse_buf_init(&b, sizeof(ctx->fields) - 1);
    size_t used = strlen(ctx->fields);
    bool ok = mse_buf_puts(&b, ctx->fields) == MSE_OK &&
              mse_buf_printf(&b, "%s\"", used ? "," : "") == MSE_OK &&
              mse_buf_json_escape(&b, key) == MSE_OK && mse_buf_puts(&b, "\":\"") == MSE_OK &&
              mse_buf_json_escape(&b, key_is_secret(key, strlen(key)) ? "[redacted]" : value) ==
                      MSE_OK &&
              mse_buf_puts(&b, "\"") == MSE_OK;
    if (ok)
        memcpy(ctx->fields, b.data, b.len + 1);
    mse_buf_cleanup(&b);
}

/* Overwrites the token that starts at p with '*' up to a delimiter; returns its end. */
static char *mask_value(char *p)
{
    while (*p == ' ' || *p == '"' || *p == '\'')
        p++;
    char *start = p;
    while (*p && !strchr(" \t\r\n\"'&,;}", *p))
        p++;
    if (p > start) {
        memset(start, '*', (size_t)(p - start));
    }
    return p;
}

char *mse_log_redact(char *text)
{
    for (char *p = text; *p; p++) {
        if (strncasecmp(p, "Bearer ", 7) == 0 || strncasecmp(p, "Basic ", 6) == 0) {
            p = mask_value(strchr(p, ' ')) - 1;
            continue;
        }
        if (*p != '=' && *p != ':')
            continue;
        /* Find the key before the separator, skipping a closing quote. */
        char *end = p;
        if (end > text && end[-1] == '"')
            end--;
        char *k = end;
        while (k > text && (isalnum((unsigned char)k[-1]) || k[-1] == '_' || k[-1] == '-'))
            k--;
        if (end > k && key_is_secret(k, (size_t)(end - k))) {
            char *v = p + 1;
            while (*v == ' ')
                v++;
            /* "Authorization: Bearer x": the scheme is harmless, the credential is not. */
            if (strncasecmp(v, "Bearer ", 7) == 0 || strncasecmp(v, "Basic ", 6) == 0)
                v = strchr(v, ' ');
            p = mask_value(v) - 1;
        }
    }
    return text;
}

static void log_emit(enum mse_log_level level, const struct mse_log_ctx *ctx, const char *msg,
                     const char *fields)
{
    char ts[40];
    mse_time_format_now(ts, sizeof(ts));
    struct mse_buf b;
    mse_buf_init(&b, 64 * 1024);
    enum mse_rc rc = mse_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"%s\"", ts,
                                    level_names[level], log_component);
    if (rc == MSE_OK && ctx && ctx->fields[0])
        rc = mse_buf_printf(&b, ",%s", ctx->fields);
    if (rc == MSE_OK && msg) {
        rc = mse_buf_puts(&b, ",\"msg\":\"");
        if (rc == MSE_OK)
            rc = mse_buf_json_escape(&b, msg);
        if (rc == MSE_OK)
            rc = mse_buf_puts(&b, "\"");
    }
    if (rc == MSE_OK && fields && fields[0])
        rc = mse_buf_printf(&b, ",%s", fields);
    if (rc == MSE_OK)
        rc = mse_buf_puts(&b, "}\n");
    if (rc == MSE_OK) {
        /* One write per line so lines from several threads never interleave. */
        ssize_t w = write(STDERR_FILENO, b.data, b.len);
        (void)w;
    }
    mse_buf_cleanup(&b);
}

bool mse_log_repeat_admit(struct mse_log_repeat *r, int64_t now_ms, unsigned window_ms,
                          unsigned *repeated)
{
    *repeated = 0;
    if (r->last_ms && now_ms - r->last_ms < (int64_t)window_ms) {
        r->suppressed++;
        return false;
    }
    *repeated = r->suppressed;
    r->suppressed = 0;
    r->last_ms = now_ms ? now_ms : 1;
    return true;
}

/*
 * Call sites are told apart by their format string (a constant per call site). The table is
 * small and fixed: a site that finds it full is simply not limited.
 */
#define LOG_REPEAT_SLOTS 128
static struct mse_log_repeat repeat_slots[LOG_REPEAT_SLOTS];
static unsigned repeat_window_ms;
static pthread_mutex_t repeat_lock = PTHREAD_MUTEX_INITIALIZER;

void mse_log_repeat_window(unsigned window_ms)
{
    repeat_window_ms = window_ms;
}

/* Whether a warning or error from fmt is written now; *repeated as mse_log_repeat_admit. */
static bool repeat_admit(const void *fmt, unsigned *repeated)
{
    *repeated = 0;
    if (!repeat_window_ms)
        return true;
    bool admit = true;
    size_t h = ((uintptr_t)fmt >> 3) % LOG_REPEAT_SLOTS;
    pthread_mutex_lock(&repeat_lock);
    for (size_t i = 0; i < LOG_REPEAT_SLOTS; i++) {
        struct mse_log_repeat *r = &repeat_slots[(h + i) % LOG_REPEAT_SLOTS];
        if (r->key && r->key != fmt)
            continue;
        r->key = fmt;
        admit = mse_log_repeat_admit(r, mse_time_mono_ms(), repeat_window_ms, repeated);
        break;
    }
    pthread_mutex_unlock(&repeat_lock);
    return admit;
}

/* Writes msg (vsnprintf'd from fmt) unless the repeat limit for key holds it back. */
static void log_write_va(enum mse_log_level level, const struct mse_log_ctx *ctx, const void *key,
                         const char *fmt, va_list ap)
{
    if (level < log_min)
        return;
    unsigned repeated = 0;
    if (level >= MSE_LOG_WARN && !repeat_admit(key, &repeated))
        return;
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (repeated) {
        size_t n = strlen(msg);
        snprintf(msg + n, sizeof(msg) - n, " (repeated %u times)", repeated);
    }
    log_emit(level, ctx, mse_log_redact(msg), NULL);
}

void mse_log_write(enum mse_log_level level, const struct mse_log_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_write_va(level, ctx, fmt, fmt, ap);
    va_end(ap);
}

void mse_log_write_keyed(enum mse_log_level level, const struct mse_log_ctx *ctx, const void *key,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_write_va(level, ctx, key, fmt, ap);
    va_end(ap);
}

void mse_log_fields(enum mse_log_level level, const char *fields)
{
    if (level < log_min)
        return;
    log_emit(level, NULL, NULL, fields);
}

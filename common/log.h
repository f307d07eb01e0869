/* SPDX-License-Identifier: Apache-2.0 */
/* Structured logging: one JSON object per line on stderr, secrets redacted here. */
#ifndef MSE_LOG_H
#define MSE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "mse/rc.h"

enum mse_log_level { MSE_LOG_DEBUG, MSE_LOG_INFO, MSE_LOG_WARN, MSE_LOG_ERROR };

/*
 * Context every line of a unit of work carries: a pre-rendered JSON fragment such as
 * `"request_id":"…"` or `"site":"…","task":"…"`. Empty fragment = no context.
 */
struct mse_log_ctx {
    char fields[384];
};

/* Sets the component name ("server", "worker", "ews-sim") and minimum level. */
void mse_log_setup(const char *component, enum mse_log_level min_level);
/*
 * Repeated warnings and errors: a line whose format string was written less than window_ms
 * ago is counted instead of written; the next one after the window says "(repeated N
 * times)", N being the lines left out since. 0 (the default) writes every line.
 */
void mse_log_repeat_window(unsigned window_ms);

/* One call site's state for the repeat limit. */
struct mse_log_repeat {
    const void *key;     /* the format string */
    int64_t last_ms;     /* when a line of it was last written */
    unsigned suppressed; /* lines left out since */
};

/*
 * The repeat rule on its own (no clock, no lock): true when a line is to be written at now_ms,
 * with *repeated set to the lines it stands for that were left out; false when it is counted.
 */
bool mse_log_repeat_admit(struct mse_log_repeat *r, int64_t now_ms, unsigned window_ms,
                          unsigned *repeated);

/* Parses "debug|info|warn|error"; MSE_ERR_INVALID for anything else. */
enum mse_rc mse_log_level_parse(const char *s, enum mse_log_level *out) MSE_WUR;
bool mse_log_enabled(enum mse_log_level level);

/* Adds `"key":"value"` (escaped, redacted if key names a secret) to a context. */
void mse_log_ctx_add(struct mse_log_ctx *ctx, const char *key, const char *value);

/* Writes one line. ctx may be NULL. The formatted message passes through redaction. */
void mse_log_write(enum mse_log_level level, const struct mse_log_ctx *ctx, const char *fmt, ...)
        MSE_PRINTF(3, 4);
/*
 * Same, with the repeat limit keyed by key rather than fmt: for messages passed through from a
 * library ("%s" of its text), key being the library's own format string.
 */
void mse_log_write_keyed(enum mse_log_level level, const struct mse_log_ctx *ctx, const void *key,
                         const char *fmt, ...) MSE_PRINTF(4, 5);
/* Writes one line made of the given JSON fields fragment (no message); used for access logs. */
void mse_log_fields(enum mse_log_level level, const char *fields);

/*
 * Replaces secret values inside text in place: "Bearer <x>", "Basic <x>", and the values
 * after password / secret / token / key names (`key=v`, `"key":"v"`). Returns text.
 */
char *mse_log_redact(char *text);

#define LOG_DEBUG(ctx, ...)                                                                        \
    do {                                                                                           \
        if (mse_log_enabled(MSE_LOG_DEBUG))                                                        \
            mse_log_write(MSE_LOG_DEBUG, (ctx), __VA_ARGS__);                                      \
    } while (0)
#define LOG_INFO(ctx, ...)  mse_log_write(MSE_LOG_INFO, (ctx), __VA_ARGS__)
#define LOG_WARN(ctx, ...)  mse_log_write(MSE_LOG_WARN, (ctx), __VA_ARGS__)
#define LOG_ERROR(ctx, ...) mse_log_write(MSE_LOG_ERROR, (ctx), __VA_ARGS__)

#endif

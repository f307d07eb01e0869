/* SPDX-License-Identifier: Apache-2.0 */
/* Names of the project-wide result codes. */
#include "mse/rc.h"

const char *mse_rc_str(enum mse_rc rc)
{
    switch (rc) {
    case MSE_OK:
        return "ok";
    case MSE_ERR_NOMEM:
        return "out of memory";
    case MSE_ERR_INVALID:
        return "invalid";
    case MSE_ERR_NOT_FOUND:
        return "not found";
    case MSE_ERR_CONFLICT:
        return "conflict";
    case MSE_ERR_TOO_LARGE:
        return "too large";
    case MSE_ERR_IO:
        return "i/o error";
    case MSE_ERR_DB:
        return "database error";
    case MSE_ERR_UNAVAILABLE:
        return "unavailable";
    case MSE_ERR_CRYPTO:
        return "crypto error";
    case MSE_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown";
}

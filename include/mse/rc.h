/* SPDX-License-Identifier: Apache-2.0 */
/* The one result code every fallible MSE function returns. */
#ifndef MSE_RC_H
#define MSE_RC_H

/* Marks functions whose result must not be dropped. */
#define MSE_WUR               __attribute__((warn_unused_result))
#define MSE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

enum mse_rc {
    MSE_OK = 0,
    MSE_ERR_NOMEM,       /* allocation failed */
    MSE_ERR_INVALID,     /* input does not satisfy the contract */
    MSE_ERR_NOT_FOUND,   /* the thing asked for does not exist */
    MSE_ERR_CONFLICT,    /* state forbids it (unique key, reference, fencing) */
    MSE_ERR_TOO_LARGE,   /* a named cap was exceeded */
    MSE_ERR_IO,          /* system call or socket failure */
    MSE_ERR_DB,          /* database failure that is not the caller's fault */
    MSE_ERR_UNAVAILABLE, /* a dependency is down; retrying later may work */
    MSE_ERR_CRYPTO,      /* OpenSSL failure or authentication tag mismatch */
    MSE_ERR_INTERNAL,    /* a bug: an invariant did not hold */
};

/* Short stable name of a result code, for logs. Never NULL. */
const char *mse_rc_str(enum mse_rc rc);

/* Human detail a caller can pass down to collect why something failed. */
struct mse_err {
    char msg[512];
};

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Opaque pagination cursors: which list they belong to and the last key a page showed. */
#ifndef MSE_CURSOR_H
#define MSE_CURSOR_H

#include <stdint.h>

#include "mse/rc.h"

#define CURSOR_MAX 48

/*
 * Encodes (kind, key) as base64url text. kind names the list ('s' sites, 't' tasks, …) so a
 * cursor from one list is refused by another.
 */
void cursor_encode(char kind, int64_t key, char out[CURSOR_MAX]);
/* Decodes a cursor made by cursor_encode for this kind. MSE_ERR_INVALID otherwise. */
enum mse_rc cursor_decode(const char *text, char kind, int64_t *key) MSE_WUR;

#endif

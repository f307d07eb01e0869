/* SPDX-License-Identifier: Apache-2.0 */
/* Mailbox folder references in definitions: paths such as "/Inbox/Projects", well-known names. */
#ifndef MSE_FOLDER_H
#define MSE_FOLDER_H

#include <stdbool.h>

/*
 * A folder path: "/" followed by one or more display names separated by "/", each 1–255
 * characters without control characters, no empty segment, no trailing "/". The whole path is
 * at most MSE_MAX_FOLDER_PATH characters. why (≥ 96 bytes) says what is wrong.
 */
bool folder_path_valid(const char *path, char *why, unsigned why_size);

/* True for an EWS distinguished folder name a policy may use ("inbox", "sentitems", …). */
bool folder_well_known(const char *name);

/* The accepted well-known names, NULL-terminated (for messages and documentation). */
extern const char *const folder_well_known_names[];

/*
 * True when two folder paths name the same folder: segment by segment, ignoring case (Exchange
 * folder names are case-insensitive). Used to refuse duplicates in lists.
 */
bool folder_path_same(const char *a, const char *b);

#endif

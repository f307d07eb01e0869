/* SPDX-License-Identifier: Apache-2.0 */
/* Evaluation of EWS Restriction filters (FindItem, FindFolder) over items and folders. */
#ifndef EWSSIM_RESTRICT_H
#define EWSSIM_RESTRICT_H

#include <libxml/tree.h>
#include <stddef.h>

#include "store.h"

/*
 * Value of a FieldURI for obj as text, or NULL when the simulator does not know the path. An
 * ExtendedFieldURI is asked for as RESTRICT_EXTENDED followed by its render_extprop_key; NULL
 * then means obj does not have the property.
 */
#define RESTRICT_EXTENDED "extended:"
typedef const char *(*restrict_field_fn)(const void *obj, const char *uri, char *buf, size_t size);

/*
 * Evaluates one restriction element (t:And, t:IsEqualTo, t:Contains …): 1 = matches,
 * 0 = does not, -1 = a filter or path the simulator does not support.
 */
int restrict_eval(xmlNodePtr r, restrict_field_fn get, const void *obj);
/* Field getters for items and folders. */
const char *restrict_item_field(const void *item, const char *uri, char *buf, size_t size);
const char *restrict_folder_field(const void *folder, const char *uri, char *buf, size_t size);

#endif

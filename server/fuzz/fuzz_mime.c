/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes as a journaled message through mime_parse. */
#include <stdint.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mime_message m;
    enum mime_outcome outcome;
    if (mime_parse(data, size, &m, &outcome) == MSE_OK && outcome == MIME_PARSED) {
        /* What the archive stores must be NUL-free text of the length reported. */
        if (m.text && strlen(m.text) != m.text_len)
            __builtin_trap();
    }
    mime_message_cleanup(&m);
    return 0;
}

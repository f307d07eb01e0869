/* SPDX-License-Identifier: Apache-2.0 */
/* ews-sim entry point: placeholder until the simulator lands (issue #4). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("ews-sim %s\n", MSE_VERSION);
        return 0;
    }
    fprintf(stderr, "ews-sim: not implemented yet\n");
    return 2;
}

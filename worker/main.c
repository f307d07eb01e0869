/* SPDX-License-Identifier: Apache-2.0 */
/* mse-worker entry point: placeholder until the worker lands (issue #6). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("mse-worker %s\n", MSE_VERSION);
        return 0;
    }
    fprintf(stderr, "mse-worker: not implemented yet\n");
    return 2;
}

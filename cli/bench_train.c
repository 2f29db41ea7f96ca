/* bench_train.c - constsim bench train (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int bench_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim bench train: not available in this version yet\n");
    return 1;
}

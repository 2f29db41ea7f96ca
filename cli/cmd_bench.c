/* cmd_bench.c - constsim bench (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim bench: not available in this version yet\n");
    return 1;
}

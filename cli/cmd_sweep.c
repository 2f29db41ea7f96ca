/* cmd_sweep.c - constsim sweep (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_sweep(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim sweep: not available in this version yet\n");
    return 1;
}

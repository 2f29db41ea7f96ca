/* cmd_run.c - constsim run (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim run: not available in this version yet\n");
    return 1;
}

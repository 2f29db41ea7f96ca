/* cmd_viz.c - constsim viz (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_viz(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim viz: not available in this version yet\n");
    return 1;
}

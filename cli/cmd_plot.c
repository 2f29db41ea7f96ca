/* cmd_plot.c - constsim plot (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_plot(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim plot: not available in this version yet\n");
    return 1;
}

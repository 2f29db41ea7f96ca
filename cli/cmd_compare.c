/* cmd_compare.c - constsim compare (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim compare: not available in this version yet\n");
    return 1;
}

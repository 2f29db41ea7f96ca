/* cmd_quantize.c - constsim quantize (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_quantize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim quantize: not available in this version yet\n");
    return 1;
}

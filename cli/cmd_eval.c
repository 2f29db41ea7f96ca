/* cmd_eval.c - constsim eval (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim eval: not available in this version yet\n");
    return 1;
}

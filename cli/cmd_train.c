/* cmd_train.c - constsim train (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim train: not available in this version yet\n");
    return 1;
}

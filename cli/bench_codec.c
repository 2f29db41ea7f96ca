/* bench_codec.c - constsim bench codec (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int bench_codec(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim bench codec: not available in this version yet\n");
    return 1;
}

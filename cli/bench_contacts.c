/* bench_contacts.c - constsim bench contacts (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int bench_contacts(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim bench contacts: not available in this version yet\n");
    return 1;
}

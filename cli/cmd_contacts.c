/* cmd_contacts.c - constsim contacts (not yet built: reports so and fails). */
#include "cli.h"

#include <stdio.h>

int cmd_contacts(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim contacts: not available in this version yet\n");
    return 1;
}

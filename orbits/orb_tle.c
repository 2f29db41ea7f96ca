/* orb_tle.c - TLE parsing and loading (see orb_tle.h). */
#include "orb_tle.h"

#include <stdlib.h>
#include <string.h>

int orb_tle_parse(const char *name, const char *line1, const char *line2, const char *path,
                  long line, orb_tle *out, cs_err *err)
{
    (void)name;
    (void)line1;
    (void)line2;
    memset(out, 0, sizeof *out);
    return cs_err_set(err, CS_EFAIL, path, line, 0, "tle: not implemented yet");
}

int orb_tle_load(const char *path, orb_tle **out, size_t *n, cs_err *err)
{
    *out = NULL;
    *n = 0;
    return cs_err_set(err, CS_EFAIL, path, 0, 0, "tle: not implemented yet");
}

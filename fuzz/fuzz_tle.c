/* fuzz_tle.c - the TLE parser (orbits/orb_tle.h) and the propagators over what it accepts.
 *
 * The input is loaded as a TLE file (orb_tle_parse_text: checksums verified); its first two or
 * three lines are also parsed as one set without checksums (orb_tle_parse_flags with
 * ORB_TLE_NO_CHECKSUM), so that mutated values reach the range checks instead of stopping at a
 * checksum. Every accepted set (at most MAX_SETS of a file) is propagated with SGP4, J2 and
 * Kepler at a few times from -1 day to +3 days: a state returned without an error code must be
 * finite.
 */
#include "fuzz.h"
#include "orb_tle.h"
#include "orbits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 4

/* What orb_tle.h promises about an accepted set. */
static void check_set(const orb_tle *t)
{
    const double pi = 3.14159265358979323846;
    const orb_elements *e = &t->el;
    CS_ASSERT(memchr(t->name, '\0', sizeof t->name) &&
              memchr(t->intl_desig, '\0', sizeof t->intl_desig));
    CS_ASSERT(e->satnum >= 0 && isfinite(e->jd_epoch) && isfinite(e->bstar));
    CS_ASSERT(isfinite(e->ndot) && isfinite(e->nddot));
    CS_ASSERT(e->ecc >= 0 && e->ecc < 1);
    CS_ASSERT(e->incl_rad >= 0 && e->incl_rad <= pi + 1e-12);
    CS_ASSERT(e->raan_rad >= 0 && e->raan_rad <= 2 * pi + 1e-12);
    CS_ASSERT(e->argp_rad >= 0 && e->argp_rad <= 2 * pi + 1e-12);
    CS_ASSERT(e->mean_anom_rad >= 0 && e->mean_anom_rad <= 2 * pi + 1e-12);
    CS_ASSERT(isfinite(e->n_radmin) && e->n_radmin > 0);
    /* epochs 1957..2056 */
    CS_ASSERT(e->jd_epoch >= 2435839.5 && e->jd_epoch < 2472368.5);
}

static void propagate(const orb_tle *t)
{
    check_set(t);
    static const double times_s[] = {0.0, 60.0, 5400.0, 86400.0, -86400.0, 3 * 86400.0};
    for (int k = 0; k < ORB_PROP_KINDS; k++) {
        orb_sat s;
        cs_err err;
        if (orb_sat_init(&s, "fuzz", (orb_prop_kind)k, &t->el, &err) != 0)
            continue;
        for (size_t i = 0; i < sizeof times_s / sizeof times_s[0]; i++) {
            double r[3], v[3], re[3], ve[3];
            if (orb_sat_state_at(&s, t->el.jd_epoch, times_s[i], r, v) == 0)
                for (int d = 0; d < 3; d++)
                    CS_ASSERT(isfinite(r[d]) && isfinite(v[d]));
            if (orb_sat_ecef_at(&s, t->el.jd_epoch, times_s[i], re, ve) == 0)
                for (int d = 0; d < 3; d++)
                    CS_ASSERT(isfinite(re[d]) && isfinite(ve[d]));
        }
    }
}

/* The next line of [*p, end) as a NUL-terminated copy in line[cap] (cut at cap - 1 bytes and at
 * a NUL byte); NULL at the end. */
static const char *next_line(const char **p, const char *end, char *line, size_t cap)
{
    if (*p >= end)
        return NULL;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *e = nl ? nl : end;
    size_t n = (size_t)(e - *p) < cap - 1 ? (size_t)(e - *p) : cap - 1;
    memcpy(line, *p, n);
    line[n] = '\0';
    if (n && line[n - 1] == '\r')
        line[n - 1] = '\0';
    *p = nl ? nl + 1 : end;
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    orb_tle *sets = NULL;
    size_t n = 0;
    cs_err err;
    if (orb_tle_parse_text("fuzz.tle", text, size, &sets, &n, &err) == 0) {
        CS_ASSERT((n == 0) == (sets == NULL));
        for (size_t i = 0; i < n && i < MAX_SETS; i++) {
            char name[sizeof sets[i].name];
            orb_tle_name(&sets[i], name, sizeof name);
            CS_ASSERT(orb_tle_find(sets, n, name) >= 0);
            propagate(&sets[i]);
        }
    } else {
        CS_ASSERT(sets == NULL && n == 0 && err.msg[0] != '\0');
    }
    free(sets);

    char a[256], b[256], c[256];
    const char *p = text, *end = text + size;
    const char *l1 = next_line(&p, end, a, sizeof a), *l2 = next_line(&p, end, b, sizeof b);
    const char *title = NULL;
    if (l1 && !(l1[0] == '1' && l1[1] == ' ')) {
        title = l1, l1 = l2;
        l2 = next_line(&p, end, c, sizeof c);
    }
    if (!l1)
        return 0;
    orb_tle t;
    if (orb_tle_parse_flags(title, l1, l2, "fuzz.tle", 1, ORB_TLE_NO_CHECKSUM, &t, &err) == 0)
        propagate(&t);
    return 0;
}

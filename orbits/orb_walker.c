/* orb_walker.c - Walker-delta shells and satellites from TLEs. */
#include "orb_internal.h"
#include "orbits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double wrap_2pi(double x)
{
    x = fmod(x, 2.0 * ORB_PI);
    return x < 0.0 ? x + 2.0 * ORB_PI : x;
}

int orb_walker_build(const orb_walker *w, double jd_epoch, orb_prop_kind prop, orb_sat **sats,
                     size_t *n, cs_err *err)
{
    *sats = NULL;
    *n = 0;
    if (w->satellites < 1)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "walker: satellites (T) must be >= 1, got %d",
                          w->satellites);
    if (w->planes < 1)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "walker: planes (P) must be >= 1, got %d",
                          w->planes);
    if (w->satellites % w->planes != 0)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "walker: satellites (T = %d) must be divisible by planes (P = %d)",
                          w->satellites, w->planes);
    if (w->phasing < 0 || w->phasing >= w->planes)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "walker: phasing (F) must be in 0..P-1 = 0..%d, got %d", w->planes - 1,
                          w->phasing);
    if (!(w->altitude_km > 0.0 && w->altitude_km < 1e6))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "walker: altitude_km must be > 0 (and < 1e6), got %g", w->altitude_km);
    if (!(w->inclination_deg >= 0.0 && w->inclination_deg <= 180.0))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "walker: inclination_deg must be in [0, 180], got %g",
                          w->inclination_deg);
    if (!isfinite(w->raan0_deg))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "walker: raan0_deg is not a number");
    if (!isfinite(jd_epoch))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "walker: epoch is not a number");

    size_t t = (size_t)w->satellites, bytes;
    if (cs_size_mul(t, sizeof(orb_sat), &bytes) != 0)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "walker: %zu satellites are too many", t);
    orb_sat *out = malloc(bytes);
    if (!out)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "walker: out of memory for %zu satellites",
                          t);

    int per_plane = w->satellites / w->planes;
    double a_km = ORB_WGS84_A_KM + w->altitude_km;
    double incl = w->inclination_deg * ORB_DEG2RAD;
    double n_kozai = orb__kozai_from_a(a_km, 0.0, incl);
    for (int p = 0; p < w->planes; p++) {
        for (int s = 0; s < per_plane; s++) {
            size_t idx = (size_t)p * (size_t)per_plane + (size_t)s;
            orb_elements el;
            memset(&el, 0, sizeof el);
            el.satnum = (int)idx + 1;
            el.jd_epoch = jd_epoch;
            el.incl_rad = incl;
            el.raan_rad = wrap_2pi((w->raan0_deg + 360.0 * p / w->planes) * ORB_DEG2RAD);
            el.ecc = 0.0;
            el.argp_rad = 0.0;
            el.mean_anom_rad =
                wrap_2pi((360.0 * s / per_plane + 360.0 * (double)w->phasing * p / w->satellites) *
                         ORB_DEG2RAD);
            el.n_radmin = n_kozai;
            char name[32];
            snprintf(name, sizeof name, "W-p%d-s%d", p + 1, s + 1);
            int rc = orb_sat_init(&out[idx], name, prop, &el, err);
            if (rc != 0) {
                free(out);
                return rc;
            }
        }
    }
    *sats = out;
    *n = t;
    return 0;
}

/* Fills err with "unknown satellite "X"; available: A, B, ..." (list cut to fit). */
static int unknown_name(const orb_tle *tles, size_t n_tles, const char *what, const char *name,
                        cs_err *err)
{
    char list[600];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n_tles; i++) {
        char nm[32];
        orb_tle_name(&tles[i], nm, sizeof nm);
        size_t need = strlen(nm) + 2;
        if (len + need + 8 >= sizeof list) {
            snprintf(list + len, sizeof list - len, ", ...");
            break;
        }
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", nm);
    }
    return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "%s satellite \"%s\"; available: %s", what, name,
                      n_tles ? list : "(none)");
}

int orb_sats_from_tle(const orb_tle *tles, size_t n_tles, const char *const *select,
                      size_t n_select, orb_prop_kind prop, orb_sat **sats, size_t *n, cs_err *err)
{
    *sats = NULL;
    *n = 0;
    size_t count = n_select ? n_select : n_tles;
    if (count == 0)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "no satellites: the TLE set is empty");
    size_t bytes;
    if (cs_size_mul(count, sizeof(orb_sat), &bytes) != 0)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "%zu satellites are too many", count);
    orb_sat *out = malloc(bytes);
    if (!out)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory for %zu satellites", count);
    for (size_t k = 0; k < count; k++) {
        const orb_tle *t = NULL;
        if (n_select) {
            const char *want = select[k] ? select[k] : "";
            for (size_t j = 0; j < k; j++) {
                if (strcmp(select[j] ? select[j] : "", want) == 0) {
                    free(out);
                    return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                                      "satellite \"%s\" is selected twice", want);
                }
            }
            long i = orb_tle_find(tles, n_tles, want);
            if (i < 0) {
                free(out);
                return unknown_name(tles, n_tles, "unknown", want, err);
            }
            t = &tles[i];
        } else {
            t = &tles[k];
        }
        char nm[32];
        orb_tle_name(t, nm, sizeof nm);
        int rc = orb_sat_init(&out[k], nm, prop, &t->el, err);
        if (rc != 0) {
            free(out);
            return rc;
        }
    }
    *sats = out;
    *n = count;
    return 0;
}

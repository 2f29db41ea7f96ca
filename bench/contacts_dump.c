/* contacts_dump.c - every window of a contact plan at full precision, for comparing two builds of
 * the search (bench/compare_contacts.py compiles this file against each build's libraries).
 *
 *   contacts_dump scenario FILE.yaml [KEY=VALUE ...]
 *       the plan of a scenario, as `constsim contacts` computes it (--set values as KEY=VALUE)
 *   contacts_dump walker PLANES PER_PLANE ALT_KM INC_DEG PROP HOURS STATIONS MASK_DEG
 *       a Walker-delta shell (phasing 1) against stations on the Fibonacci lattice between 70 S
 *       and 70 N, as `constsim bench contacts` places them
 *
 * Output (stdout), one window a line, in the plan's order:
 *   sat station t_start_s t_end_s t_max_s max_elev_deg flags mask_deg
 * times and elevations with 17 significant digits (mask_deg: the station's); a last line "# "
 * followed by the work counters and the search's wall-clock seconds. Exit 0, or 1 with the error on
 * stderr. */
#include "orbits.h"
#include "scn.h"
#include "sim_plan.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fibonacci_station(int k, int n, double mask_deg, orb_station *st)
{
    const double golden_deg = 180.0 * (3.0 - sqrt(5.0));
    double zmax = sin(70.0 * ORB_DEG2RAD);
    double z = zmax * (1.0 - 2.0 * (k + 0.5) / n);
    double lon = fmod(k * golden_deg, 360.0);
    if (lon > 180.0)
        lon -= 360.0;
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "GS-%03d", k + 1);
    st->lat_deg = asin(z) * ORB_RAD2DEG;
    st->lon_deg = lon;
    st->min_elevation_deg = mask_deg;
}

static int fail(const cs_err *e)
{
    fprintf(stderr, "contacts_dump: %s\n", e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    cs_err err;
    cs_err_clear(&err);
    orb_sat *sats = NULL;
    orb_station *st = NULL;
    size_t ns = 0, nst = 0;
    double jd = 0.0, dur = 0.0;
    scn_config *cfg = NULL;
    if (argc >= 3 && strcmp(argv[1], "scenario") == 0) {
        if (scn_load(argv[2], (const char *const *)argv + 3, (size_t)(argc - 3), &cfg, &err) != 0)
            return fail(&err);
        if (sim_sats_build(cfg, &sats, &ns, &err) != 0 ||
            sim_stations_build(cfg, &st, &nst, &err) != 0)
            return fail(&err);
        jd = cfg->epoch_jd;
        dur = cfg->duration_s;
    } else if (argc == 10 && strcmp(argv[1], "walker") == 0) {
        int planes = atoi(argv[2]), per = atoi(argv[3]), n_st = atoi(argv[8]);
        orb_prop_kind prop;
        if (orb_prop_parse(argv[6], &prop, &err) != 0 ||
            orb_time_parse_iso("2026-01-01T00:00:00Z", &jd, &err) != 0)
            return fail(&err);
        orb_walker w = {atof(argv[4]), atof(argv[5]), planes * per, planes, 1, 0.0};
        if (orb_walker_build(&w, jd, prop, &sats, &ns, &err) != 0)
            return fail(&err);
        if (n_st < 1 || !(st = calloc((size_t)n_st, sizeof *st)))
            return 1;
        for (int k = 0; k < n_st; k++)
            fibonacci_station(k, n_st, atof(argv[9]), &st[k]);
        nst = (size_t)n_st;
        dur = atof(argv[7]) * 3600.0;
    } else {
        fprintf(stderr, "usage: contacts_dump scenario FILE.yaml [KEY=VALUE ...]\n"
                        "       contacts_dump walker PLANES PER_PLANE ALT_KM INC_DEG PROP HOURS "
                        "STATIONS MASK_DEG\n");
        return 2;
    }
    orb_windows plan = {0};
    orb_contact_stats cst;
    double t0 = cs_wall_s();
    if (orb_contacts_compute_stats(sats, ns, st, nst, jd, dur, 1, &plan, &cst, &err) != 0)
        return fail(&err);
    double wall = cs_wall_s() - t0;
    for (size_t k = 0; k < plan.n; k++) {
        const orb_window *w = &plan.w[k];
        printf("%u %u %.17g %.17g %.17g %.17g %u %.17g\n", w->sat, w->station, w->t_start_s,
               w->t_end_s, w->t_max_s, w->max_elev_deg, w->flags, st[w->station].min_elevation_deg);
    }
    printf("# satellites %zu stations %zu windows %zu track_evals %lld exact_evals %lld "
           "interp_evals %lld fallbacks %lld wall_s %.3f\n",
           ns, nst, plan.n, cst.track_evals, cst.exact_evals, cst.interp_evals, cst.fallbacks,
           wall);
    orb_windows_free(&plan);
    free(sats);
    free(st);
    scn_free(cfg);
    return 0;
}

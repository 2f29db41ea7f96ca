/* bench_contacts.c - constsim bench contacts: contact-window search for a large Walker shell
 * against stations spread over the globe; prints one JSON object. */
#include "cli.h"
#include "orbits.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f, "usage: constsim bench contacts [OPTIONS]\n\n"
           "Computes the contact plan of a Walker-delta shell against N ground stations and\n"
           "prints one JSON object (satellites, stations, windows, total_contact_s, wall_s,\n"
           "windows_per_s, work counters). wall_s covers propagation and search.\n\n"
           "options:\n"
           "  --satellites N    a shell of about N satellites instead of P x S: 72 planes of\n"
           "                    round(N/72) (N < 72: N planes of 1); \"satellites\" in the\n"
           "                    output is the count built (6000 -> 72 x 83 = 5976)\n"
           "  --sats-planes P   orbital planes (default 72)\n"
           "  --per-plane S     satellites per plane (default 22)\n"
           "  --phasing F       Walker phasing, 0..P-1 (default 1)\n"
           "  --alt-km A        altitude (default 550)\n"
           "  --inc-deg I       inclination (default 53)\n"
           "  --stations N      stations on a Fibonacci lattice between 70S and 70N (default 100)\n"
           "  --mask-deg M      station elevation mask (default 10)\n"
           "  --hours H         horizon from 2026-01-01T00:00:00Z (default 24)\n"
           "  --prop KIND       sgp4 (default), j2 or kepler\n"
           "  --threads T       worker threads (default 1)\n");
}

/* Station k of n: equal-area Fibonacci lattice, latitudes in [-70, 70] deg. */
static void fibonacci_station(int k, int n, double mask_deg, orb_station *st)
{
    const double golden_deg = 180.0 * (3.0 - sqrt(5.0)); /* 137.507... */
    double zmax = sin(70.0 * ORB_DEG2RAD);
    double z = zmax * (1.0 - 2.0 * (k + 0.5) / n);
    double lon = fmod(k * golden_deg, 360.0);
    if (lon > 180.0)
        lon -= 360.0;
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "GS-%03d", k + 1);
    st->lat_deg = asin(z) * ORB_RAD2DEG;
    st->lon_deg = lon;
    st->alt_m = 0.0;
    st->min_elevation_deg = mask_deg;
}

int bench_contacts(int argc, char **argv)
{
    const char *cmd = "bench contacts";
    long planes = 72, per_plane = 22, phasing = 1, n_st = 100, threads = 1, n_sats = 0;
    double alt = 550.0, inc = 53.0, hours = 24.0, mask = 10.0;
    orb_prop_kind prop = ORB_PROP_SGP4;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        int rc = 0;
        if (strcmp(a, "--satellites") == 0)
            rc = cli_parse_int(cmd, a, v, 1, 1000000, &n_sats);
        else if (strcmp(a, "--sats-planes") == 0)
            rc = cli_parse_int(cmd, a, v, 1, 10000, &planes);
        else if (strcmp(a, "--per-plane") == 0)
            rc = cli_parse_int(cmd, a, v, 1, 10000, &per_plane);
        else if (strcmp(a, "--phasing") == 0)
            rc = cli_parse_int(cmd, a, v, 0, 9999, &phasing);
        else if (strcmp(a, "--stations") == 0)
            rc = cli_parse_int(cmd, a, v, 1, 100000, &n_st);
        else if (strcmp(a, "--threads") == 0)
            rc = cli_parse_int(cmd, a, v, 1, 256, &threads);
        else if (strcmp(a, "--alt-km") == 0)
            rc = cli_parse_double(cmd, a, v, 100.0, 100000.0, &alt);
        else if (strcmp(a, "--inc-deg") == 0)
            rc = cli_parse_double(cmd, a, v, 0.0, 180.0, &inc);
        else if (strcmp(a, "--hours") == 0)
            rc = cli_parse_double(cmd, a, v, 0.01, 24.0 * 366.0, &hours);
        else if (strcmp(a, "--mask-deg") == 0)
            rc = cli_parse_double(cmd, a, v, -10.0, 89.0, &mask);
        else if (strcmp(a, "--prop") == 0) {
            cs_err e;
            cs_err_clear(&e);
            if (!v || orb_prop_parse(v, &prop, &e) != 0)
                return cli_usage_error(cmd, "--prop: expected sgp4, j2 or kepler, got \"%s\"",
                                       v ? v : "");
        } else
            return cli_usage_error(cmd, "unknown option \"%s\"", a);
        if (rc != 0)
            return 2;
    }
    if (n_sats > 0) { /* Starlink-like: 72 planes, as many per plane as make about N */
        planes = n_sats < 72 ? n_sats : 72;
        per_plane = (n_sats + planes / 2) / planes;
        if (planes == 1)
            phasing = 0;
    }
    if (phasing >= planes)
        return cli_usage_error(cmd, "--phasing must be in 0..%ld (planes - 1)", planes - 1);
    if (planes * per_plane > 1000000)
        return cli_usage_error(cmd, "at most 1000000 satellites");

    gsl_set_error_handler_off();
    cs_err err;
    cs_err_clear(&err);
    double jd0;
    if (orb_time_parse_iso("2026-01-01T00:00:00Z", &jd0, &err) != 0) {
        cs_err_print(&err, stderr);
        return 1;
    }
    orb_walker w = {alt, inc, (int)(planes * per_plane), (int)planes, (int)phasing, 0.0};
    double t0 = cs_wall_s();
    orb_sat *sats = NULL;
    size_t ns = 0;
    if (orb_walker_build(&w, jd0, prop, &sats, &ns, &err) != 0) {
        fprintf(stderr, "constsim bench contacts: ");
        cs_err_print(&err, stderr);
        return cs_err_exit_code(&err);
    }
    double setup_s = cs_wall_s() - t0;
    orb_station *st = calloc((size_t)n_st, sizeof *st);
    if (!st) {
        free(sats);
        fprintf(stderr, "constsim bench contacts: out of memory\n");
        return 1;
    }
    for (int k = 0; k < n_st; k++)
        fibonacci_station(k, (int)n_st, mask, &st[k]);

    orb_windows plan = {0};
    orb_contact_stats cst;
    double t1 = cs_wall_s();
    int rc = orb_contacts_compute_stats(sats, ns, st, (size_t)n_st, jd0, hours * 3600.0,
                                        (int)threads, &plan, &cst, &err);
    double wall = cs_wall_s() - t1;
    if (rc != 0) {
        fprintf(stderr, "constsim bench contacts: ");
        cs_err_print(&err, stderr);
        free(st);
        free(sats);
        return cs_err_exit_code(&err);
    }
    double contact_s = 0.0;
    for (size_t k = 0; k < plan.n; k++)
        contact_s += plan.w[k].t_end_s - plan.w[k].t_start_s;
    printf("{\"satellites\": %zu, \"stations\": %ld, \"hours\": %g, \"propagator\": \"%s\", "
           "\"threads\": %ld, \"windows\": %zu, \"total_contact_s\": %.3f, \"wall_s\": %.3f, "
           "\"windows_per_s\": %.1f, \"setup_s\": %.3f, \"track_evals\": %lld, "
           "\"exact_evals\": %lld, \"interp_evals\": %lld, \"pairs_culled\": %lld, "
           "\"runs\": %lld, \"refined\": %lld, \"fallbacks\": %lld}\n",
           ns, n_st, hours, orb_prop_name(prop), threads, plan.n, contact_s, wall,
           wall > 0.0 ? (double)plan.n / wall : 0.0, setup_s, cst.track_evals, cst.exact_evals,
           cst.interp_evals, cst.pairs_culled, cst.runs, cst.refined, cst.fallbacks);
    orb_windows_free(&plan);
    free(st);
    free(sats);
    return 0;
}

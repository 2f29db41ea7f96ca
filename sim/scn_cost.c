/* scn_cost.c - the contact plan a scenario asks for, against its limits: the loader estimates
 * what the window search would cost (orbits' orb_contacts_cost: the satellites, the stations'
 * masks and the duration, no propagation) and refuses, before any work, a plan that would run
 * for hours or not fit in memory, at the scenario value that made it so (docs/scenario.md,
 * "Limits"). */
#include "scn_internal.h"

#include "orbits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "8.9e11" for large counts (no '+', no leading zeros in the exponent; digits significant ones,
 * more than 2 keeping trailing zeros: "1.00e10"), "772" below a million. */
static void fmt_count_digits(char *out, size_t cap, double x, int digits)
{
    if (x < 1e6) {
        snprintf(out, cap, "%.0f", x);
        return;
    }
    char b[40];
    if (digits > 2) /* an exact-looking total: keep its zeros */
        snprintf(b, sizeof b, "%#.*g", digits, x);
    else
        snprintf(b, sizeof b, "%.*g", digits, x);
    char *e = strchr(b, 'e');
    if (!e) {
        snprintf(out, cap, "%s", b);
        return;
    }
    const char *d = e + 1;
    if (*d == '+')
        d++;
    while (*d == '0' && d[1])
        d++;
    snprintf(out, cap, "%.*se%s", (int)(e - b), b, d);
}

static void fmt_count(char *out, size_t cap, double x)
{
    fmt_count_digits(out, cap, x, 2);
}

/* Seconds for people: s, min, h, days, years. */
static void fmt_time(char *out, size_t cap, double s)
{
    if (s < 120)
        snprintf(out, cap, "%.0f s", s);
    else if (s < 2 * 3600)
        snprintf(out, cap, "%.0f min", s / 60);
    else if (s < 2 * 86400)
        snprintf(out, cap, "%.1f h", s / 3600);
    else if (s < 2 * 365.25 * 86400)
        snprintf(out, cap, "%.0f days", s / 86400);
    else
        snprintf(out, cap, "%.0f years", s / (365.25 * 86400));
}

/* Bytes in MiB or GiB. */
static void fmt_bytes(char *out, size_t cap, double b)
{
    if (b < 1024.0 * 1024 * 1024)
        snprintf(out, cap, "%.0f MiB", b / (1024.0 * 1024));
    else
        snprintf(out, cap, "%.1f GiB", b / (1024.0 * 1024 * 1024));
}

/* The later of two values: a --set comes after the file, a later --set after an earlier one. */
static scn_loc later(scn_loc a, scn_loc b)
{
    if (a.set != b.set)
        return a.set > b.set ? a : b;
    return a.line > b.line || (a.line == b.line && a.col > b.col) ? a : b;
}

/* The satellites' cost: a Walker shell is one satellite standing for all (they share the orbit's
 * size and shape), TLE sets one by one, each built with the scenario's propagator. */
static int add_satellites(const scn__cv *v, orb_contacts_cost *cost)
{
    const scn_config *c = v->c;
    const scn_constellation *k = &c->constellation;
    cs_err e;
    cs_err_clear(&e);
    if (k->has_walker) {
        const scn_walker *wk = &k->walker;
        orb_walker one = {wk->altitude_km, wk->inclination_deg, 1, 1, 0, wk->raan0_deg};
        orb_sat *s = NULL;
        size_t n = 0;
        if (orb_walker_build(&one, c->epoch_jd, k->propagator, &s, &n, &e) != 0) {
            free(s);
            return e.code == CS_ENOMEM
                       ? scn__oom(v)
                       : scn__fail(v, wk->at.self, "constellation.walker", "%s", e.msg);
        }
        orb_contacts_cost_add(cost, &s[0], (size_t)wk->satellites);
        free(s);
        return 0;
    }
    for (size_t i = 0; i < k->n_tles; i++) {
        orb_sat s;
        /* The loader checked that every kept set initialises (tle_check_elements). */
        int rc = orb_sat_init(&s, "", k->propagator, &k->tles[i].el, &e);
        CS_ASSERT(rc == 0);
        orb_contacts_cost_add(cost, &s, 1);
    }
    return 0;
}

int scn__check_plan_cost(const scn__cv *v)
{
    const scn_config *c = v->c;
    const scn_constellation *k = &c->constellation;
    double *masks = malloc(c->n_stations * sizeof *masks);
    if (!masks)
        return scn__oom(v);
    for (size_t j = 0; j < c->n_stations; j++)
        masks[j] = c->stations[j].min_elevation_deg;
    orb_contacts_cost cost;
    orb_contacts_cost_init(&cost, masks, c->n_stations, c->duration_s);
    free(masks);
    int rc = add_satellites(v, &cost);
    if (rc)
        return rc;

    /* What the plan depends on, for the message and its location. */
    const char *sat_key = k->has_walker ? "constellation.walker.satellites" : "constellation.tle";
    scn_loc sat_at = k->has_walker ? k->walker.at.satellites : k->at.tle;
    if (!k->has_walker && k->n_select)
        sat_at = later(sat_at, k->at.select);
    char sats[48], dur[48], what[400];
    fmt_count(sats, sizeof sats, (double)k->n_satellites);
    fmt_count(dur, sizeof dur, c->duration_s);
    snprintf(what, sizeof what, "%s satellite%s (%s) x %zu station%s (ground_stations) over %s s",
             sats, k->n_satellites == 1 ? "" : "s", sat_key, c->n_stations,
             c->n_stations == 1 ? "" : "s", dur);
    scn_loc at = later(later(sat_at, c->at.ground_stations), c->at.duration);

    if (cost.work > SCN__MAX_PLAN_WORK) {
        char steps[32], props[32], work[32], lim[32], t[32], tl[32];
        fmt_count(steps, sizeof steps, cost.pair_steps);
        fmt_count(props, sizeof props, cost.sat_steps);
        fmt_count_digits(work, sizeof work, cost.work, 3);
        fmt_count(lim, sizeof lim, SCN__MAX_PLAN_WORK);
        fmt_time(t, sizeof t, cost.work * ORB_CONTACTS_WORK_S);
        fmt_time(tl, sizeof tl, SCN__MAX_PLAN_WORK * ORB_CONTACTS_WORK_S);
        return scn__fail(v, at, "",
                         "the contact plan is too much work: %s (duration), sampled every %.0f s, "
                         "is %s satellite-station steps and %s propagations, %s steps in all (a "
                         "propagation counting %d), about %s of one core, more than the limit of "
                         "%s steps (about %s): use fewer satellites or stations, or a shorter "
                         "duration",
                         what, cost.step_s, steps, props, work, ORB_CONTACTS_PROP_WORK, t, lim, tl);
    }
    if (cost.window_bytes > SCN__MAX_PLAN_WINDOW_BYTES) {
        char wins[32], b[32], lim[32];
        fmt_count(wins, sizeof wins, cost.windows);
        fmt_bytes(b, sizeof b, cost.window_bytes);
        fmt_bytes(lim, sizeof lim, SCN__MAX_PLAN_WINDOW_BYTES);
        return scn__fail(v, at, "",
                         "the contact plan would not fit in memory: %s (duration) make about %s "
                         "contact windows, %s while they are found; the limit is %s: use fewer "
                         "satellites or stations, or a shorter duration",
                         what, wins, b, lim);
    }
    if (cost.track_bytes > SCN__MAX_PLAN_TRACK_BYTES) {
        /* The track of one satellite over the whole duration: the duration alone decides. */
        char b[32], lim[32], most[32];
        fmt_bytes(b, sizeof b, cost.track_bytes);
        fmt_bytes(lim, sizeof lim, SCN__MAX_PLAN_TRACK_BYTES);
        fmt_time(most, sizeof most, c->duration_s * SCN__MAX_PLAN_TRACK_BYTES / cost.track_bytes);
        return scn__fail(v, c->at.duration, "duration",
                         "the contact search holds a satellite's whole track in memory, in every "
                         "thread: over %s s in steps of %.0f s that is %s, more than the limit "
                         "of %s; for these orbits the duration can be at most about %s",
                         dur, cost.step_s, b, lim, most);
    }
    return 0;
}

/* test_orb_contacts.c - contact windows: an analytic equatorial case, agreement with brute-force
 * 1-s sampling, every crossing and maximum against the exact propagation (bisection, golden
 * section) for LEO, eccentric and deep-space orbits, thread independence, ordering, culling and
 * errors. */
#include "orbits.h"
#include "t.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define JD0 2461041.5 /* 2026-01-01T00:00:00Z */

/* Equatorial circular orbit (i = 0 prograde or 180 retrograde) over a station on the equator at
 * longitude 0. In the equatorial plane the geometry is exact on the ellipsoid too: the vertical is
 * radial there. The station sees the satellite above eps while the angle phi between them at the
 * Earth's centre satisfies |phi| <= lambda = acos(R cos(eps) / r) - eps. With a linear sidereal
 * time g(t) = g0 + wg t, phi(t) = M0 + s n t - g0 - wg t (s = +1 prograde, -1 retrograde). */
static void test_equatorial(int retro)
{
    const double alt = 800.0, r = ORB_WGS84_A_KM + alt, mask = 10.0;
    const double wg = 1.002737909350795 * 2.0 * ORB_PI / 86400.0;
    const double g0 = orb_gmst_rad(JD0);
    orb_walker w = {alt, retro ? 180.0 : 0.0, 1, 1, 0, 0.0};
    orb_sat *sat = NULL;
    size_t n = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(orb_walker_build(&w, JD0, ORB_PROP_KEPLER, &sat, &n, &e), 0);
    if (n != 1)
        return;
    /* Put the satellite 3 deg east of the station at t = 0: the first window is open at 0. */
    sat[0].el.mean_anom_rad = retro ? -(g0 + 3.0 * ORB_DEG2RAD) : g0 + 3.0 * ORB_DEG2RAD;
    double nn = sat[0].n_rads;
    double rate = (retro ? -nn : nn) - wg;
    double phi0 = 3.0 * ORB_DEG2RAD;
    double lam = acos(ORB_WGS84_A_KM * cos(mask * ORB_DEG2RAD) / r) - mask * ORB_DEG2RAD;
    /* End the horizon in the middle of the 9th pass: the last window is open at the end. */
    double syn = 2.0 * ORB_PI / fabs(rate);
    double dur = (-phi0 + (rate > 0 ? 1 : -1) * 2.0 * ORB_PI * 8) / rate;
    T_TRUE(dur > 7.0 * syn);
    orb_station st = {"Equator", 0.0, 0.0, 0.0, mask};
    orb_windows plan = {0};
    T_EQ(orb_contacts_compute(sat, 1, &st, 1, JD0, dur, 1, &plan, &e), 0);
    T_EQ(plan.n, 9);
    double worst = 0.0, worst_el = 0.0;
    for (size_t k = 0; k < plan.n; k++) {
        const orb_window *wi = &plan.w[k];
        /* pass k: phi goes through -+lambda around phi = 2 pi k (sign by direction) */
        double sgn = rate > 0 ? 1.0 : -1.0;
        double t_mid = (sgn * 2.0 * ORB_PI * k - phi0) / rate;
        double half = lam / fabs(rate);
        double t_rise = t_mid - half, t_set = t_mid + half;
        if (k == 0) {
            T_EQ(wi->flags, ORB_WIN_OPEN_START);
            T_NEAR(wi->t_start_s, 0.0, 0.0);
            T_NEAR(wi->t_end_s, t_set, 1e-3);
        } else if (k + 1 == plan.n) {
            T_EQ(wi->flags, ORB_WIN_OPEN_END);
            T_NEAR(wi->t_end_s, dur, 0.0);
            T_NEAR(wi->t_start_s, t_rise, 1e-3);
        } else {
            T_EQ(wi->flags, 0);
            if (fabs(wi->t_start_s - t_rise) > worst)
                worst = fabs(wi->t_start_s - t_rise);
            if (fabs(wi->t_end_s - t_set) > worst)
                worst = fabs(wi->t_end_s - t_set);
            T_NEAR(wi->t_max_s, t_mid, 0.01);
            if (fabs(wi->max_elev_deg - 90.0) > worst_el)
                worst_el = fabs(wi->max_elev_deg - 90.0);
        }
    }
    fprintf(stderr,
            "equatorial %s: %zu windows, worst rise/set error %.3g s, max-el error %.3g deg\n",
            retro ? "retrograde" : "prograde", plan.n, worst, worst_el);
    T_TRUE(worst < 1e-3);
    T_TRUE(worst_el < 0.01);
    /* The first window is open at 0. Prograde, the satellite moves away (maximum at t = 0);
     * retrograde, it passes overhead at phi = 0. */
    T_NEAR(plan.w[0].t_max_s, retro ? phi0 / fabs(rate) : 0.0, retro ? 0.01 : 1e-9);
    orb_windows_free(&plan);
    T_TRUE(plan.w == NULL && plan.n == 0);

    /* A station at 80N never sees an equatorial satellite at 800 km: culled, no windows. */
    orb_station polar = {"North", 80.0, 0.0, 0.0, 0.0};
    orb_contact_stats cst;
    T_EQ(orb_contacts_compute_stats(sat, 1, &polar, 1, JD0, 86400.0, 1, &plan, &cst, &e), 0);
    T_EQ(plan.n, 0);
    T_EQ(cst.pairs_culled, 1);
    T_EQ(cst.exact_evals, 0);
    orb_windows_free(&plan);
    free(sat);
}

typedef struct bf_win {
    double t0, t1, max_el;
} bf_win;

/* Brute force: exact elevation every second (public look-angle path), crossings by linear
 * interpolation between samples. */
static size_t brute_force(const orb_sat *s, const orb_station *st, double dur, bf_win *out,
                          size_t cap)
{
    size_t n = 0;
    double prev_t = 0.0, prev_f = 0.0;
    int inside = 0;
    for (long k = 0; k <= (long)dur; k++) {
        double t = (double)k, r[3], el;
        orb_sat_ecef_at(s, JD0, t, r, NULL);
        orb_look_angles(st, r, NULL, &el, NULL);
        double f = el - st->min_elevation_deg;
        if (k == 0 && f >= 0.0) {
            inside = 1;
            out[n].t0 = 0.0;
            out[n].max_el = el;
        } else if (k > 0 && !inside && f >= 0.0) {
            inside = 1;
            out[n].t0 = prev_t + (t - prev_t) * (-prev_f) / (f - prev_f);
            out[n].max_el = el;
        } else if (k > 0 && inside && f < 0.0) {
            inside = 0;
            out[n].t1 = prev_t + (t - prev_t) * (-prev_f) / (f - prev_f);
            if (n + 1 < cap)
                n++;
        }
        if (inside && el > out[n].max_el)
            out[n].max_el = el;
        prev_t = t;
        prev_f = f;
    }
    if (inside) {
        out[n].t1 = dur;
        if (n + 1 < cap)
            n++;
    }
    return n;
}

static void test_brute_force(orb_prop_kind prop)
{
    orb_walker w = {550.0, 53.0, 4, 2, 1, 20.0};
    orb_sat *sats = NULL;
    size_t ns = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(orb_walker_build(&w, JD0, prop, &sats, &ns, &e), 0);
    /* The last two stations sit near the edge of the shell's coverage (53 deg + ~15 deg), where
     * passes graze the mask and many last less than the 20-s bracketing step. */
    enum { NST = 5 };
    orb_station st[NST] = {
        {"Svalbard", 78.23, 15.41, 450.0, 5.0},
        {"Madrid", 40.43, -4.25, 800.0, 10.0},
        {"Hartebeesthoek", -25.89, 27.69, 1500.0, 20.0},
        {"Edge-N", 67.3, 100.0, 0.0, 10.0},
        {"Edge-S", -67.6, -40.0, 0.0, 10.0},
    };
    const double dur = 86400.0;
    orb_windows plan = {0};
    orb_contact_stats cst;
    T_EQ(orb_contacts_compute_stats(sats, ns, st, NST, JD0, dur, 1, &plan, &cst, &e), 0);
    bf_win *bf = malloc(200 * sizeof *bf);
    double worst_t = 0.0, worst_el = 0.0;
    size_t total_bf = 0, matched = 0;
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < NST; j++) {
            size_t nb = brute_force(&sats[i], &st[j], dur, bf, 200);
            total_bf += nb;
            size_t np = 0;
            for (size_t k = 0; k < plan.n; k++) {
                const orb_window *wi = &plan.w[k];
                if (wi->sat != i || wi->station != j)
                    continue;
                if (np < nb) {
                    double d0 = fabs(wi->t_start_s - bf[np].t0), d1 = fabs(wi->t_end_s - bf[np].t1);
                    if (d0 > worst_t)
                        worst_t = d0;
                    if (d1 > worst_t)
                        worst_t = d1;
                    /* sampled maximum <= true maximum, by at most the 1-s sampling loss */
                    double de = wi->max_elev_deg - bf[np].max_el;
                    if (de < -1e-6 || de > 0.5)
                        worst_el = 1e9;
                    if (fabs(de) > worst_el)
                        worst_el = fabs(de);
                    T_TRUE(wi->t_max_s >= wi->t_start_s && wi->t_max_s <= wi->t_end_s);
                    matched++;
                }
                np++;
            }
            if (np != nb)
                fprintf(stderr, "pair %zu/%zu: %zu windows vs %zu by 1-s sampling\n", i, j, np, nb);
            T_EQ(np, nb);
        }
    }
    double shortest = 1e30;
    size_t n_short = 0;
    for (size_t k = 0; k < plan.n; k++) {
        double d = plan.w[k].t_end_s - plan.w[k].t_start_s;
        if (d < shortest)
            shortest = d;
        n_short += d < 20.0;
    }
    fprintf(stderr, "%zu windows shorter than 20 s, shortest %.3f s\n", n_short, shortest);
    fprintf(stderr,
            "%s brute force: %zu windows (%zu sampled), worst start/end difference %.3g s, "
            "worst max-elevation gain %.3g deg; %lld exact + %lld track evaluations\n",
            orb_prop_name(prop), plan.n, total_bf, worst_t, worst_el, cst.exact_evals,
            cst.track_evals);
    T_TRUE(total_bf > 20);
    T_EQ(matched, total_bf);
    /* linear interpolation of 1-s samples is good to a few ms */
    T_TRUE(worst_t < 0.02);
    T_TRUE(worst_el < 0.5);
    T_EQ(cst.fallbacks, 0);

    /* Sorted by (start, sat, station); same result with 3 threads. */
    int sorted = 1;
    for (size_t k = 1; k < plan.n; k++) {
        const orb_window *a = &plan.w[k - 1], *b = &plan.w[k];
        if (a->t_start_s > b->t_start_s ||
            (a->t_start_s == b->t_start_s &&
             (a->sat > b->sat || (a->sat == b->sat && a->station >= b->station))))
            sorted = 0;
    }
    T_TRUE(sorted);
    orb_windows p3 = {0};
    T_EQ(orb_contacts_compute(sats, ns, st, NST, JD0, dur, 3, &p3, &e), 0);
    T_EQ(p3.n, plan.n);
    int same = p3.n == plan.n;
    for (size_t k = 0; same && k < plan.n; k++) {
        const orb_window *a = &plan.w[k], *b = &p3.w[k];
        same = a->sat == b->sat && a->station == b->station && a->t_start_s == b->t_start_s &&
               a->t_end_s == b->t_end_s && a->t_max_s == b->t_max_s &&
               a->max_elev_deg == b->max_elev_deg && a->flags == b->flags;
    }
    T_TRUE(same);
    orb_windows_free(&p3);
    orb_windows_free(&plan);
    free(bf);
    free(sats);
}

/* Grazing passes: an equatorial orbit seen from a station at the latitude where every pass
 * culminates just delta above the mask, so all passes are shorter than the 20-s bracketing
 * step and are found through the maximum test. Compared with a fine brute force (1 s, then
 * 5 ms around every approach). */
static void test_grazing(double delta_deg)
{
    const double alt = 800.0, r = ORB_WGS84_A_KM + alt, mask = 10.0;
    orb_walker w = {alt, 0.0, 1, 1, 0, 0.0};
    orb_sat *sat = NULL;
    size_t n = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(orb_walker_build(&w, JD0, ORB_PROP_KEPLER, &sat, &n, &e), 0);
    if (n != 1)
        return;
    /* latitude whose culmination elevation (satellite on the station's meridian) is mask+delta */
    double lo = 0.0, hi = 40.0;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi), el;
        orb_station probe = {"p", mid, 0.0, 0.0, mask};
        double rs[3] = {r, 0.0, 0.0};
        orb_look_angles(&probe, rs, NULL, &el, NULL);
        if (el > mask + delta_deg)
            lo = mid;
        else
            hi = mid;
    }
    orb_station st = {"Graze", 0.5 * (lo + hi), 0.0, 0.0, mask};
    const double dur = 86400.0;
    orb_windows plan = {0};
    orb_contact_stats cst;
    T_EQ(orb_contacts_compute_stats(sat, 1, &st, 1, JD0, dur, 1, &plan, &cst, &e), 0);
    T_EQ(cst.fallbacks, 0);
    /* brute force */
    bf_win bf[64];
    size_t nb = 0;
    for (long k = 1; k < (long)dur; k++) {
        double rr[3], el0, el1, el2;
        orb_sat_ecef_at(sat, JD0, k - 1.0, rr, NULL);
        orb_look_angles(&st, rr, NULL, &el0, NULL);
        orb_sat_ecef_at(sat, JD0, (double)k, rr, NULL);
        orb_look_angles(&st, rr, NULL, &el1, NULL);
        orb_sat_ecef_at(sat, JD0, k + 1.0, rr, NULL);
        orb_look_angles(&st, rr, NULL, &el2, NULL);
        if (!(el1 >= el0 && el1 >= el2 && el1 > mask - 0.5))
            continue;
        /* fine sampling of [k-15, k+15] */
        double prev_t = k - 15.0, prev_f;
        orb_sat_ecef_at(sat, JD0, prev_t, rr, NULL);
        orb_look_angles(&st, rr, NULL, &prev_f, NULL);
        prev_f -= mask;
        int inside = prev_f >= 0.0;
        T_TRUE(!inside);
        for (int q = 1; q <= 6000; q++) {
            double t = k - 15.0 + q * 0.005, f;
            orb_sat_ecef_at(sat, JD0, t, rr, NULL);
            orb_look_angles(&st, rr, NULL, &f, NULL);
            f -= mask;
            if (!inside && f >= 0.0 && nb < 64) {
                bf[nb].t0 = prev_t + 0.005 * (-prev_f) / (f - prev_f);
                inside = 1;
            } else if (inside && f < 0.0) {
                bf[nb].t1 = prev_t + 0.005 * (-prev_f) / (f - prev_f);
                inside = 0;
                nb++;
            }
            prev_t = t;
            prev_f = f;
        }
        T_TRUE(!inside);
    }
    T_EQ(plan.n, nb);
    double worst = 0.0, dmin = 1e30, dmax = 0.0;
    for (size_t k = 0; k < plan.n && k < nb; k++) {
        double d0 = fabs(plan.w[k].t_start_s - bf[k].t0), d1 = fabs(plan.w[k].t_end_s - bf[k].t1);
        worst = fmax(worst, fmax(d0, d1));
        double d = plan.w[k].t_end_s - plan.w[k].t_start_s;
        dmin = fmin(dmin, d);
        dmax = fmax(dmax, d);
        T_TRUE(plan.w[k].max_elev_deg >= mask && plan.w[k].max_elev_deg <= mask + delta_deg + 1e-3);
    }
    fprintf(stderr,
            "grazing (culmination %.4f deg above the mask): %zu windows of %.2f..%.2f s, worst "
            "difference to a 5-ms brute force %.2g s; %lld points refined on the exact track\n",
            delta_deg, plan.n, dmin, dmax, worst, cst.refined);
    T_TRUE(plan.n >= 10);
    T_TRUE(worst < 1e-3);
    T_TRUE(dmax < 20.0);
    orb_windows_free(&plan);
    free(sat);
}

/* ---- every window against the exact propagation ---------------------------------------- */

/* Exact elevation (deg) through the public look-angle path. */
static double el_exact(const orb_sat *s, const orb_station *st, double t)
{
    double r[3], el;
    orb_sat_ecef_at(s, JD0, t, r, NULL);
    orb_look_angles(st, r, NULL, &el, NULL);
    return el;
}

/* The crossing of the mask between a and b (elevation - mask of opposite signs there) by
 * bisection to 1e-9 s; NAN when the signs do not differ. */
static double bisect_crossing(const orb_sat *s, const orb_station *st, double a, double b)
{
    double fa = el_exact(s, st, a) - st->min_elevation_deg;
    double fb = el_exact(s, st, b) - st->min_elevation_deg;
    if ((fa < 0.0) == (fb < 0.0))
        return NAN;
    for (int it = 0; it < 200 && b - a > 1e-9; it++) {
        double m = 0.5 * (a + b), fm = el_exact(s, st, m) - st->min_elevation_deg;
        if ((fm < 0.0) == (fa < 0.0)) {
            a = m;
            fa = fm;
        } else {
            b = m;
        }
    }
    return 0.5 * (a + b);
}

/* The largest exact elevation on [a, b] (unimodal there) by golden section to 1e-7 s. */
static double golden_max(const orb_sat *s, const orb_station *st, double a, double b)
{
    const double g = 0.5 * (sqrt(5.0) - 1.0);
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = el_exact(s, st, x1), f2 = el_exact(s, st, x2);
    while (b - a > 1e-7) {
        if (f1 < f2) {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = el_exact(s, st, x2);
        } else {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = el_exact(s, st, x1);
        }
    }
    return fmax(fmax(f1, f2), fmax(el_exact(s, st, a), el_exact(s, st, b)));
}

typedef struct oracle_worst {
    double cross_s;   /* largest |rise/set - bisection| */
    double el_deg;    /* largest |max elevation - golden section| */
    double above_deg; /* largest amount a 1-s sample of a window exceeds its maximum by */
    size_t windows, crossings;
} oracle_worst;

/* Every window of the plan against the exact propagation: rises and sets by bisection, the
 * maximum by golden section around its time (and no 1-s sample of the window above it), the
 * flags against the horizon. */
static void check_plan_exact(const orb_sat *sats, const orb_station *st, double dur,
                             const orb_windows *plan, oracle_worst *w)
{
    memset(w, 0, sizeof *w);
    for (size_t k = 0; k < plan->n; k++) {
        const orb_window *wi = &plan->w[k];
        const orb_sat *s = &sats[wi->sat];
        const orb_station *g = &st[wi->station];
        w->windows++;
        T_TRUE(wi->t_start_s < wi->t_end_s && wi->t_max_s >= wi->t_start_s &&
               wi->t_max_s <= wi->t_end_s);
        T_EQ(!!(wi->flags & ORB_WIN_OPEN_START), wi->t_start_s == 0.0);
        T_EQ(!!(wi->flags & ORB_WIN_OPEN_END), wi->t_end_s == dur);
        const double d = 0.05;
        if (!(wi->flags & ORB_WIN_OPEN_START)) {
            double hi = fmin(wi->t_start_s + d, wi->t_max_s);
            double r = bisect_crossing(s, g, fmax(0.0, wi->t_start_s - d), hi);
            T_TRUE(isfinite(r));
            w->cross_s = fmax(w->cross_s, isfinite(r) ? fabs(r - wi->t_start_s) : INFINITY);
            w->crossings++;
        }
        if (!(wi->flags & ORB_WIN_OPEN_END)) {
            double lo = fmax(wi->t_end_s - d, wi->t_max_s);
            double r = bisect_crossing(s, g, lo, fmin(dur, wi->t_end_s + d));
            T_TRUE(isfinite(r));
            w->cross_s = fmax(w->cross_s, isfinite(r) ? fabs(r - wi->t_end_s) : INFINITY);
            w->crossings++;
        }
        double eg = golden_max(s, g, fmax(wi->t_start_s, wi->t_max_s - 2.0),
                               fmin(wi->t_end_s, wi->t_max_s + 2.0));
        w->el_deg = fmax(w->el_deg, fabs(eg - wi->max_elev_deg));
        for (double t = wi->t_start_s; t <= wi->t_end_s; t += 1.0)
            w->above_deg = fmax(w->above_deg, el_exact(s, g, t) - wi->max_elev_deg);
    }
}

/* Sampling every step_s finds no window the plan lacks: every sampled window overlaps one of
 * the plan's for its pair. */
static void check_plan_sampled(const orb_sat *sats, size_t ns, const orb_station *st, size_t nst,
                               double dur, const orb_windows *plan, double step_s)
{
    size_t unmatched = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < nst; j++) {
            int inside = 0;
            double t0 = 0.0;
            for (long q = 0;; q++) {
                double t = fmin((double)q * step_s, dur);
                int in = el_exact(&sats[i], &st[j], t) >= st[j].min_elevation_deg;
                if (in && !inside)
                    t0 = t;
                if (inside && (!in || t >= dur)) { /* a sampled window from t0 to t */
                    int found = 0;
                    for (size_t k = 0; k < plan->n && !found; k++) {
                        const orb_window *wi = &plan->w[k];
                        found = wi->sat == i && wi->station == j && wi->t_end_s >= t0 &&
                                wi->t_start_s <= t;
                    }
                    unmatched += !found;
                }
                inside = in;
                if (t >= dur)
                    break;
            }
        }
    T_EQ(unmatched, 0);
}

/* The deep-space, eccentric and drag cases of bench/compare_contacts.py (elements at
 * 2025-12-31T12:00Z, as its TLE file has them). */
static size_t tle_like_sats(orb_sat *out)
{
    static const struct {
        const char *name;
        double inc, raan, ecc, argp, ma, revs_day, bstar;
    } set[] = {{"MOLNIYA-LIKE", 63.40, 120.0, 0.7200, 270.0, 10.0, 2.00600, 0.0},
               {"GTO-LIKE", 27.00, 45.0, 0.7300, 178.0, 20.0, 2.25600, 0.0},
               {"GPS-LIKE", 55.00, 200.0, 0.0100, 30.0, 300.0, 2.00561, 0.0},
               {"GEO-LIKE", 0.05, 75.0, 0.0002, 90.0, 250.0, 1.00273, 0.0},
               {"ECC-LEO", 63.00, 10.0, 0.0900, 45.0, 100.0, 12.80000, 1.2e-4},
               {"ISS-LIKE", 51.64, 300.0, 0.0005, 60.0, 150.0, 15.50000, 3.0e-4}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        orb_elements el;
        memset(&el, 0, sizeof el);
        el.satnum = 90001 + (int)i;
        el.jd_epoch = JD0 - 0.5;
        el.bstar = set[i].bstar;
        el.incl_rad = set[i].inc * ORB_DEG2RAD;
        el.raan_rad = set[i].raan * ORB_DEG2RAD;
        el.ecc = set[i].ecc;
        el.argp_rad = set[i].argp * ORB_DEG2RAD;
        el.mean_anom_rad = set[i].ma * ORB_DEG2RAD;
        el.n_radmin = set[i].revs_day * 2.0 * ORB_PI / 1440.0;
        cs_err e;
        cs_err_clear(&e);
        T_EQ(orb_sat_init(&out[n], set[i].name, ORB_PROP_SGP4, &el, &e), 0);
        n++;
    }
    return n;
}

static const orb_station ORACLE_ST[8] = {
    {"Svalbard", 78.23, 15.41, 450, 5},          {"Matera", 40.65, 16.70, 540, 10},
    {"Hartebeesthoek", -25.89, 27.69, 1415, 10}, {"Quito", -0.18, -78.47, 2850, 0},
    {"McMurdo", -77.85, 166.67, 10, 5},          {"Tokyo", 35.68, 139.69, 40, 20},
    {"Hawaii", 19.82, -155.47, 4200, 15},        {"Punta-Arenas", -53.16, -70.91, 30, 5}};

static void test_exact_oracle(void)
{
    cs_err e;
    cs_err_clear(&e);
    /* LEO shells under the three propagators over a day, and SGP4 tracks of 5 and 15 minutes
     * (fewer samples than the interpolant's nodes: every point is refined on the exact track),
     * seen from three stations and from points near the satellites at t = 0 (open windows). */
    const double durs[3] = {86400.0, 300.0, 900.0};
    for (int prop = 0; prop < ORB_PROP_KINDS; prop++)
        for (int di = 0; di < 3; di++) {
            if (di > 0 && prop != ORB_PROP_SGP4)
                continue;
            orb_walker w = {550.0, 53.0, 4, 2, 1, 20.0};
            orb_sat *sats = NULL;
            size_t ns = 0;
            T_EQ(orb_walker_build(&w, JD0, (orb_prop_kind)prop, &sats, &ns, &e), 0);
            if (ns != 4)
                return;
            orb_station st[7];
            memcpy(st, ORACLE_ST, 3 * sizeof st[0]);
            for (size_t i = 0; i < 4; i++) {
                double r[3], lat, lon;
                orb_sat_ecef_at(&sats[i], JD0, 0.0, r, NULL);
                orb_ecef_to_geodetic(r, &lat, &lon, NULL);
                orb_station x = {"Under", lat + 3.0, lon - 2.0, 0.0, 10.0};
                st[3 + i] = x;
            }
            orb_windows plan = {0};
            orb_contact_stats cst;
            T_EQ(orb_contacts_compute_stats(sats, ns, st, 7, JD0, durs[di], 1, &plan, &cst, &e), 0);
            oracle_worst ow;
            check_plan_exact(sats, st, durs[di], &plan, &ow);
            fprintf(stderr,
                    "exact oracle, %s over %.0f s: %zu windows, %zu crossings within %.2g s of "
                    "bisection, maxima within %.2g deg of golden section (1-s samples at most "
                    "%.2g deg above); %lld points refined on the exact track\n",
                    orb_prop_name((orb_prop_kind)prop), durs[di], ow.windows, ow.crossings,
                    ow.cross_s, ow.el_deg, ow.above_deg, cst.refined);
            T_TRUE(ow.windows >= (di == 0 ? 40u : 4u));
            T_TRUE(ow.cross_s <= 1e-5);
            T_TRUE(ow.el_deg <= 1e-6);
            T_TRUE(ow.above_deg <= 1e-9);
            T_EQ(cst.fallbacks, 0);
            if (di > 0) {
                T_TRUE(cst.refined > 0);
                check_plan_sampled(sats, ns, st, 7, durs[di], &plan, 0.05);
            }
            orb_windows_free(&plan);
            free(sats);
        }

    /* Eccentric, deep-space (12-h and 24-h resonances, Molniya, GTO) and drag orbits over 3
     * days: among them a GTO near apogee whose elevation stays within 0.001 deg of its maximum
     * for minutes, where SGP4's velocity, not quite the derivative of its position, would place
     * the maximum 10 s off and 1.3e-5 deg low. */
    orb_sat sats[6];
    size_t ns = tle_like_sats(sats);
    const double dur = 3.0 * 86400.0;
    orb_windows plan = {0};
    orb_contact_stats cst;
    T_EQ(orb_contacts_compute_stats(sats, ns, ORACLE_ST, 8, JD0, dur, 1, &plan, &cst, &e), 0);
    oracle_worst ow;
    check_plan_exact(sats, ORACLE_ST, dur, &plan, &ow);
    fprintf(stderr,
            "exact oracle, eccentric and deep-space SGP4 over 3 days: %zu windows, %zu crossings "
            "within %.2g s of bisection, maxima within %.2g deg of golden section (1-s samples "
            "at most %.2g deg above); %lld points refined\n",
            ow.windows, ow.crossings, ow.cross_s, ow.el_deg, ow.above_deg, cst.refined);
    T_TRUE(ow.windows > 200);
    T_TRUE(ow.cross_s <= 1e-5);
    T_TRUE(ow.el_deg <= 1e-6);
    T_TRUE(ow.above_deg <= 1e-9);
    T_EQ(cst.fallbacks, 0);
    check_plan_sampled(sats, ns, ORACLE_ST, 8, dur, &plan, 5.0);
    /* the same plan on 2 threads, to the bit */
    orb_windows p2 = {0};
    T_EQ(orb_contacts_compute(sats, ns, ORACLE_ST, 8, JD0, dur, 2, &p2, &e), 0);
    T_TRUE(p2.n == plan.n && memcmp(p2.w, plan.w, plan.n * sizeof *plan.w) == 0);
    orb_windows_free(&p2);
    orb_windows_free(&plan);
}

/* A pass of 1.3 s whose peak clears the mask by 8e-5 deg, which the earlier search (a cubic
 * interpolant scanned every 20 s) missed: satellite index 587 of the J2 72 x 22 shell of
 * `constsim bench contacts` and its station index 56 (the Fibonacci lattice). Found, where a
 * 1-ms brute force puts it. */
static void test_short_pass(void)
{
    orb_walker w = {550.0, 53.0, 72 * 22, 72, 1, 0.0};
    orb_sat *sats = NULL;
    size_t ns = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(orb_walker_build(&w, JD0, ORB_PROP_J2, &sats, &ns, &e), 0);
    if (ns != 72 * 22)
        return;
    const int k = 56, n = 100;
    double zmax = sin(70.0 * ORB_DEG2RAD), z = zmax * (1.0 - 2.0 * (k + 0.5) / n);
    double lon = fmod(k * 180.0 * (3.0 - sqrt(5.0)), 360.0);
    orb_station st = {"GS-057", asin(z) * ORB_RAD2DEG, lon > 180.0 ? lon - 360.0 : lon, 0.0, 10.0};
    orb_windows plan = {0};
    T_EQ(orb_contacts_compute(&sats[587], 1, &st, 1, JD0, 86400.0, 1, &plan, &e), 0);
    const orb_window *hit = NULL;
    for (size_t i = 0; i < plan.n; i++)
        if (fabs(plan.w[i].t_start_s - 22126.59) < 1.0)
            hit = &plan.w[i];
    T_TRUE(hit != NULL);
    if (hit) {
        double t0 = NAN, t1 = NAN, best = -90.0;
        int inside = 0;
        for (long q = 0; q < 15000; q++) {
            double t = 22120.0 + 1e-3 * (double)q, el = el_exact(&sats[587], &st, t);
            best = fmax(best, el);
            if (!inside && el >= 10.0) {
                t0 = t;
                inside = 1;
            } else if (inside && el < 10.0) {
                t1 = t;
                inside = 0;
            }
        }
        /* the crossings between the samples by bisection */
        t0 = bisect_crossing(&sats[587], &st, t0 - 1e-3, t0);
        t1 = bisect_crossing(&sats[587], &st, t1 - 1e-3, t1);
        fprintf(stderr,
                "short pass: %.6f..%.6f s (%.3f s), peak %.6f deg; 1-ms brute force and "
                "bisection %.6f..%.6f s, peak %.6f deg\n",
                hit->t_start_s, hit->t_end_s, hit->t_end_s - hit->t_start_s, hit->max_elev_deg, t0,
                t1, best);
        T_NEAR(hit->t_start_s, t0, 1e-5);
        T_NEAR(hit->t_end_s, t1, 1e-5);
        T_NEAR(hit->max_elev_deg, best, 1e-6);
        T_TRUE(hit->max_elev_deg - 10.0 < 1e-4);
    }
    orb_windows_free(&plan);
    free(sats);
}

static void test_errors(void)
{
    orb_walker w = {550.0, 53.0, 2, 1, 0, 0.0};
    orb_sat *sats = NULL;
    size_t ns = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(orb_walker_build(&w, JD0, ORB_PROP_J2, &sats, &ns, &e), 0);
    orb_station st = {"Bad", 95.0, 0.0, 0.0, 10.0};
    orb_windows plan = {0};
    T_EQ(orb_contacts_compute(sats, ns, &st, 1, JD0, 3600.0, 1, &plan, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "station \"Bad\"");
    st.lat_deg = 10.0;
    T_EQ(orb_contacts_compute(sats, ns, &st, 1, JD0, 0.0, 1, &plan, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "duration");
    T_EQ(orb_contacts_compute(sats, 0, &st, 1, JD0, 3600.0, 1, &plan, &e), 0);
    T_EQ(plan.n, 0);
    free(sats);

    /* A satellite that decays (SGP4, 200 km, heavy drag) is reported by name. */
    orb_elements el;
    memset(&el, 0, sizeof el);
    el.satnum = 99999;
    el.jd_epoch = JD0;
    el.bstar = 0.05;
    el.incl_rad = 51.6 * ORB_DEG2RAD;
    el.ecc = 0.0005;
    el.n_radmin = 16.3 * 2.0 * ORB_PI / 1440.0;
    orb_sat s;
    T_EQ(orb_sat_init(&s, "FALLING", ORB_PROP_SGP4, &el, &e), 0);
    T_EQ(orb_contacts_compute(&s, 1, &st, 1, JD0, 30.0 * 86400.0, 1, &plan, &e), CS_ERANGE);
    T_CONTAINS(e.msg, "FALLING");
    T_TRUE(plan.w == NULL);

    /* Its index comes back too (for callers that know where the satellite came from), on any
     * thread count: here the second of three, between two that stay up. */
    orb_walker w3 = {550.0, 53.0, 2, 2, 0, 0.0};
    T_EQ(orb_walker_build(&w3, JD0, ORB_PROP_SGP4, &sats, &ns, &e), 0);
    if (ns == 2) {
        orb_sat three[3] = {sats[0], s, sats[1]};
        for (int threads = 1; threads <= 3; threads += 2) {
            long failed = -7;
            orb_contacts_opts o = {.threads = threads, .failed_sat = &failed};
            T_EQ(orb_contacts_compute_opts(three, 3, &st, 1, JD0, 30.0 * 86400.0, &o, &plan, &e),
                 CS_ERANGE);
            T_EQ(failed, 1);
            T_CONTAINS(e.msg, "satellite FALLING cannot be propagated");
            o.threads = 1;
            T_EQ(orb_contacts_compute_opts(three, 1, &st, 1, JD0, 86400.0, &o, &plan, &e), 0);
            T_EQ(failed, -1);
            orb_windows_free(&plan);
        }
    }
    free(sats);
}

/* The progress hook: called on the calling thread only, pairs done never decreasing, the last
 * call with every pair done; the plan is the same with and without it, for any thread count. */
typedef struct prog_log {
    pthread_t caller;
    int calls, off_thread, backwards;
    uint64_t last, total;
} prog_log;

static void on_progress(void *user, uint64_t done, uint64_t total)
{
    prog_log *l = user;
    l->calls++;
    l->off_thread += !pthread_equal(pthread_self(), l->caller);
    l->backwards += done < l->last;
    l->last = done;
    l->total = total;
}

static void test_progress(void)
{
    orb_walker w = {550.0, 53.0, 12, 3, 1, 0.0};
    orb_sat *sats = NULL;
    size_t ns = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(orb_walker_build(&w, JD0, ORB_PROP_J2, &sats, &ns, &e), 0);
    orb_station st[3] = {
        {"A", 40.0, 16.0, 0.0, 10.0}, {"B", -30.0, 120.0, 0.0, 5.0}, {"C", 65.0, -20.0, 0.0, 10.0}};
    orb_windows ref = {0};
    T_EQ(orb_contacts_compute(sats, ns, st, 3, JD0, 86400.0, 1, &ref, &e), 0);
    for (int threads = 1; threads <= 3; threads++) {
        prog_log l = {.caller = pthread_self()};
        orb_contacts_opts o = {.threads = threads, .progress = on_progress, .progress_user = &l};
        orb_windows p = {0};
        T_EQ(orb_contacts_compute_opts(sats, ns, st, 3, JD0, 86400.0, &o, &p, &e), 0);
        if (threads == 1) /* after every pair, then once at the end */
            T_EQ(l.calls, ns * 3 + 1);
        else /* the other threads may have searched every pair */
            T_TRUE(l.calls >= 1);
        T_EQ(l.off_thread, 0);
        T_EQ(l.backwards, 0);
        T_EQ_U64(l.total, ns * 3);
        T_EQ_U64(l.last, ns * 3);
        T_EQ(p.n, ref.n);
        T_TRUE(p.n == ref.n && memcmp(p.w, ref.w, p.n * sizeof *p.w) == 0);
        orb_windows_free(&p);
    }
    orb_windows_free(&ref);
    free(sats);
}

/* The cost estimate before a search: its propagations are exactly the search's track samples
 * (same step rule), for any propagator and an eccentric orbit too; its expected windows are
 * those found within a factor of 1.5 for a shell over stations spread over the globe (the
 * estimate is an average over station placements); more stations, satellites or time cost
 * proportionally more. */
static void test_cost(void)
{
    const orb_station st[6] = {{"A", 40.0, 16.0, 0.0, 10.0},  {"B", -30.0, 120.0, 0.0, 5.0},
                               {"C", 65.0, -20.0, 0.0, 10.0}, {"D", 5.0, -75.0, 0.0, 10.0},
                               {"E", -60.0, 60.0, 0.0, 0.0},  {"F", 25.0, 90.0, 0.0, 15.0}};
    double masks[6];
    for (int j = 0; j < 6; j++)
        masks[j] = st[j].min_elevation_deg;
    const double dur = 86400.0;
    for (int prop = 0; prop < ORB_PROP_KINDS; prop++) {
        orb_walker w = {550.0, 53.0, 24, 6, 1, 0.0};
        orb_sat *sats = NULL;
        size_t ns = 0;
        cs_err e;
        cs_err_clear(&e);
        T_EQ(orb_walker_build(&w, JD0, (orb_prop_kind)prop, &sats, &ns, &e), 0);
        if (ns != 24)
            return;
        orb_contact_stats cst;
        orb_windows plan = {0};
        T_EQ(orb_contacts_compute_stats(sats, ns, st, 6, JD0, dur, 1, &plan, &cst, &e), 0);
        orb_contacts_cost one, each;
        orb_contacts_cost_init(&one, masks, 6, dur);
        orb_contacts_cost_add(&one, &sats[0], ns); /* a shell: one satellite for all */
        orb_contacts_cost_init(&each, masks, 6, dur);
        for (size_t i = 0; i < ns; i++)
            orb_contacts_cost_add(&each, &sats[i], 1);
        T_NEAR(one.sat_steps, (double)cst.track_evals, 0);
        T_NEAR(each.sat_steps, (double)cst.track_evals, 0);
        T_NEAR(each.pair_steps, 6.0 * (double)cst.track_evals, 0);
        T_NEAR(each.work, each.pair_steps + ORB_CONTACTS_PROP_WORK * each.sat_steps, 0);
        fprintf(stderr, "%s: %zu windows found, %.0f expected; %.0f track samples, step %.1f s\n",
                orb_prop_name((orb_prop_kind)prop), plan.n, each.windows, each.sat_steps,
                each.step_s);
        T_TRUE(each.windows > plan.n / 1.5 && each.windows < plan.n * 1.5);
        T_NEAR(each.window_bytes, each.windows * 3 * sizeof(orb_window), 1e-6 * each.window_bytes);
        /* one satellite's track: 81 bytes a sample */
        T_NEAR(each.track_bytes, 81.0 * each.sat_steps / (double)ns, 0);
        orb_windows_free(&plan);
        free(sats);
    }

    /* An eccentric orbit (Molniya-like, e = 0.7): the step is set at perigee; the estimate's
     * samples are the search's. A geostationary one (300-s steps): its track's bytes. */
    orb_elements el;
    memset(&el, 0, sizeof el);
    el.jd_epoch = JD0;
    el.incl_rad = 63.4 * ORB_DEG2RAD;
    el.ecc = 0.7;
    el.argp_rad = 270.0 * ORB_DEG2RAD;
    el.n_radmin = 2.006 * 2.0 * ORB_PI / 1440.0;
    orb_sat s[2];
    cs_err e;
    T_EQ(orb_sat_init(&s[0], "MOLNIYA", ORB_PROP_KEPLER, &el, &e), 0);
    el.ecc = 0.0;
    el.incl_rad = 0.0;
    el.n_radmin = 1.0027 * 2.0 * ORB_PI / 1440.0;
    T_EQ(orb_sat_init(&s[1], "GEO", ORB_PROP_KEPLER, &el, &e), 0);
    for (int i = 0; i < 2; i++) {
        orb_contact_stats cst;
        orb_windows plan = {0};
        T_EQ(orb_contacts_compute_stats(&s[i], 1, st, 6, JD0, dur, 1, &plan, &cst, &e), 0);
        orb_contacts_cost c;
        orb_contacts_cost_init(&c, masks, 6, dur);
        orb_contacts_cost_add(&c, &s[i], 1);
        T_NEAR(c.sat_steps, (double)cst.track_evals, 0);
        T_NEAR(c.track_bytes, 81.0 * c.sat_steps, 0);
        orb_windows_free(&plan);
        if (i == 1)
            T_NEAR(c.sat_steps, 86400.0 / 300.0 + 1.0, 0);
    }

    /* Twice the time, stations or satellites: twice the work and windows. */
    orb_contacts_cost a, b;
    orb_contacts_cost_init(&a, masks, 6, dur);
    orb_contacts_cost_add(&a, &s[0], 10);
    orb_contacts_cost_init(&b, masks, 6, dur);
    orb_contacts_cost_add(&b, &s[0], 20);
    T_NEAR(b.work, 2 * a.work, 1e-9 * b.work);
    T_NEAR(b.windows, 2 * a.windows, 1e-9 * b.windows);
}

int main(void)
{
    gsl_set_error_handler_off();
    test_equatorial(0);
    test_equatorial(1);
    test_brute_force(ORB_PROP_SGP4);
    test_brute_force(ORB_PROP_J2);
    test_grazing(0.0005);
    test_grazing(0.002);
    test_grazing(0.006);
    test_exact_oracle();
    test_short_pass();
    test_errors();
    test_progress();
    test_cost();
    return t_done();
}

/* orb_contacts.c - contact windows of every satellite-station pair.
 *
 * Per satellite (independently, so threads split the satellites and the result does not depend
 * on the thread count):
 *  1. Track: the satellite is propagated once per step h into ECEF and cached. h is chosen from
 *     the orbit so that the fastest angular motion of the satellite as seen from the Earth's
 *     centre (mean motion at perigee plus the Earth's rotation) covers at most 1/48 of a turn
 *     per step (112 s at 550 km).
 *  2. Interpolant: between samples k and k+1 the position is the polynomial through the NODES
 *     (10) samples k-4..k+5 (shifted inwards at the ends of the track), in Newton's backward
 *     form; one sweep over the track builds them all from backward differences, into a cache
 *     (a lookup that misses rebuilds one the same way, to the bit). Positions only: SGP4's
 *     velocity is not the derivative of its position (by 2 cm/s in LEO, metres per second for
 *     SDP4's eccentric orbits), so the samples' velocities are replaced by the interpolant's.
 *     Measured against the propagation: 10 um for SGP4 at 550 km, 0.4 mm in the first and last
 *     four intervals, 5 mm for Molniya and GTO orbits near perigee. The error at a point is
 *     estimated by the interpolant's last two terms (its difference to the polynomial through
 *     the first NODES - 2 of those samples): 3 to 90 times the error for near-Earth orbits,
 *     measured; for SDP4 orbits not a bound (their error is below 5 mm anyway).
 *  3. Culling: for each station, the cosine of the central angle between station and satellite
 *     at every sample. The station can see the satellite above the mask only within the
 *     horizon-cone half-angle lambda (for the track's highest radius, the mask lowered by 0.5 deg
 *     for the ellipsoid's vertical), and the angle changes by at most w h over a step (w: bound
 *     on the angular rate of the satellite's direction), so an interval both of whose ends lie
 *     beyond lambda + w h / 2 (+0.2 deg) holds no visible point and is skipped. Pairs with no
 *     sample inside cost one dot product per sample.
 *  4. Scan: inside each run of candidate intervals, g = sin(elevation) - sin(mask) and its rate
 *     g' are taken at the samples (exact positions, the interpolant's velocities). A sign change
 *     of g brackets a crossing; a sign change of g' from + to - brackets a maximum (- to +, a
 *     minimum), which is located on the interpolant: a maximum between two samples below the
 *     mask is a pass if it clears the mask (a minimum between two samples above it, a gap if it
 *     goes below). This finds every pass whose peak clears the mask by more than the
 *     interpolant's error, however short, as long as g has at most one extremum per step (a LEO
 *     pass has one maximum; the minima between passes are half an orbit away).
 *  5. Crossings and maxima: safeguarded Newton iterations on the interpolant (g and g' for a
 *     crossing, g' and g'' for a maximum), from the cubic through the bracketing samples' values
 *     and rates. When the estimated error of the interpolant, turned into time (its angular error
 *     over |g'|) or elevation, is above CROSS_TOL_S or PEAK_EST_RAD (passes that graze the mask,
 *     tracks too short for the interpolant), or a pass's existence is within it, the point is
 *     found the same way on the exactly propagated elevation instead (counted in `refined`).
 */
#include "orbits.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NODES 10       /* samples the interpolant of an interval passes through */
#define SEG_CACHE 1024 /* interpolants cached per thread, direct-mapped by interval (2^n) */
/* The last Newton step of a crossing (on the interpolant or the exact track): the time is then
 * within K (1e-5 s)^2 of the root, K = |g''/2g'|; or, predicted from the last two steps, within
 * PRED_TOL_S. */
#define SOLVE_TOL_S 1e-5
#define PRED_TOL_S 1e-8
/* The largest estimated error of a crossing taken from the interpolant. */
#define CROSS_TOL_S 1e-5
/* The last Newton step of a maximum: its time is then within ~1e-8 s, and its value, from the
 * quadratic through the last point evaluated, within g''' dt^3 / 6 ~ 4e-15 of sin(elevation)
 * (1e-7 rad of elevation at the zenith, where the elevation has a cusp). */
#define PEAK_TOL_S 2e-3
/* The largest estimated elevation error (rad) of a maximum taken from the interpolant. */
#define PEAK_EST_RAD 1e-7
/* The half-step of the exact g' at a maximum refined on the exact track (error g''' dt^2 / 6). */
#define PEAK_DIFF_S 1e-2
#define CULL_MARGIN_RAD (0.2 * ORB_DEG2RAD)
#define MASK_MARGIN_RAD (0.5 * ORB_DEG2RAD) /* ellipsoid: geodetic vs geocentric vertical */
/* Bytes per track sample one search thread holds, as orb_contacts_cost counts them: the buffers
 * take 73 (ECEF position and velocity, unit vector, the near flag of the station being scanned)
 * and a thread's cache of interpolants 0.4 MiB whatever the track; 81, what the buffers took
 * before the interpolant replaced the fine samples, covers both once a track has 53,000 samples
 * (69 days in LEO), and below that a track is far from the loader's limit (256 MiB) anyway. */
#define TRACK_SAMPLE_BYTES 81

typedef struct station_geo {
    double r[3];  /* ECEF, km */
    double up[3]; /* geodetic vertical */
    double u[3];  /* geocentric unit vector */
    double radius_km;
    double mask_deg;
    double sin_mask; /* the scan works on sin(elevation) - sin(mask) */
} station_geo;

typedef struct wvec {
    orb_window *w; /* owned */
    size_t n, cap;
} wvec;

typedef struct shared {
    const orb_sat *sats;
    size_t n_sats;
    const station_geo *st;
    size_t n_st;
    double jd_epoch, duration_s;
    wvec *per_sat;      /* n_sats, owned by orb_contacts_compute */
    int *sat_rc;        /* n_sats: 0 or an error code */
    double *sat_fail_t; /* time of a propagation failure */
    atomic_size_t next;
    atomic_uint_fast64_t pairs_done; /* satellite-station pairs searched, by all workers */
    uint64_t pairs_total;
    orb_contacts_progress_fn progress; /* called by the calling thread's worker only */
    void *progress_user;
} shared;

/* The interpolant of one interval [t_k, t_k+1]: the polynomial through the samples j, j-1, ...,
 * j-n+1 (j = k+5 inside the track: samples k-4..k+5; shifted inwards at its ends), in Newton's
 * backward form p(s) = sum_l c_l prod_{m<l} (s - z_m) in the local time s = (t - t_k) / h, with
 * nodes z_m = j - m - k and c_l = (l-th backward difference at sample j) / l!. Coordinates are
 * padded to 4 so that the loops over them vectorise. */
typedef struct seg {
    size_t tag;         /* k + 1 of the interval it holds; 0: empty */
    int n;              /* nodes: NODES, fewer only on tracks of fewer samples */
    double z[NODES];    /* node offsets, steps (integers) */
    double c[NODES][4]; /* Newton coefficients of the ECEF position, km (4th: 0) */
} seg;

/* Backward differences of the positions at one sample: b[l] = l-th difference. */
typedef struct bdiff {
    long j; /* the sample (-1: none) */
    double b[NODES][4];
} bdiff;

typedef struct worker {
    shared *sh;
    int reports; /* 1 for the calling thread's worker: it calls sh->progress */
    /* current satellite / station */
    const orb_sat *sat;
    const station_geo *stn;
    double h_s;   /* track step */
    size_t n_int; /* intervals; samples 0..n_int */
    /* scratch (owned) */
    double *trk;          /* (n_int + 1) x 6: ECEF r, v */
    double *ux, *uy, *uz; /* n_int + 1 each: unit vectors of r (one allocation, at ux) */
    unsigned char *near;  /* n_int + 1: sample within the culling threshold of the station */
    size_t cap_trk;
    seg *segs;   /* SEG_CACHE interpolants */
    bdiff sweep; /* the differences of the sweep that builds them */
    int prop_rc; /* first propagation failure while refining */
    double prop_fail_t;
    orb_contact_stats stats;
} worker;

/* ---- elevation and its rates ------------------------------------------------------------- */

/* What the scan needs of a point seen from a station. */
typedef struct look {
    double g;      /* sin(elevation) - sin(mask) */
    double dg;     /* its time derivative, 1/s */
    double d2g;    /* second derivative, 1/s^2 (only when an acceleration was given) */
    double sin_el; /* sin(elevation) */
    double rho;    /* range, km */
} look;

/* g = d.up / |d| - sin(mask) for d = r - r_station, with
 *   g'  = v.up / rho - A B / rho^3                       (A = d.up, B = d.v)
 *   g'' = a.up / rho - (2 (v.up) B + A (v.v + d.a)) / rho^3 + 3 A B^2 / rho^5. */
static void look_at(const station_geo *st, const double r[3], const double v[3], const double *a,
                    look *o)
{
    double d0 = r[0] - st->r[0], d1 = r[1] - st->r[1], d2 = r[2] - st->r[2];
    double rho = sqrt(d0 * d0 + d1 * d1 + d2 * d2);
    double ir = 1.0 / rho;
    double A = d0 * st->up[0] + d1 * st->up[1] + d2 * st->up[2];
    double B = d0 * v[0] + d1 * v[1] + d2 * v[2];
    double vu = v[0] * st->up[0] + v[1] * st->up[1] + v[2] * st->up[2];
    double s = A * ir;
    o->sin_el = s;
    o->g = s - st->sin_mask;
    o->dg = (vu - s * B * ir) * ir;
    o->rho = rho;
    o->d2g = 0.0;
    if (a) {
        double au = a[0] * st->up[0] + a[1] * st->up[1] + a[2] * st->up[2];
        double vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
        double da = d0 * a[0] + d1 * a[1] + d2 * a[2];
        double ir2 = ir * ir;
        o->d2g = (au - (2.0 * vu * B + A * (vv + da)) * ir2 + 3.0 * A * B * B * ir2 * ir2) * ir;
    }
}

static double elev_deg(double sin_el)
{
    return asin(sin_el > 1.0 ? 1.0 : sin_el < -1.0 ? -1.0 : sin_el) * ORB_RAD2DEG;
}

/* Time of sample k (the last one is exactly the horizon). */
static double sample_t(const worker *wk, size_t k)
{
    return k == wk->n_int ? wk->sh->duration_s : (double)k * wk->h_s;
}

/* At sample k: exact propagation (cached). */
static void sample_look(const worker *wk, size_t k, look *o)
{
    const double *rv = wk->trk + 6 * k;
    look_at(wk->stn, rv, rv + 3, NULL, o);
}

/* Exact: propagate and rotate. On a propagation failure the first one is kept for the report
 * and -1 returned. */
static int exact_look(worker *wk, double t, look *o)
{
    double r[3], v[3];
    wk->stats.exact_evals++;
    int rc = orb_sat_ecef_at(wk->sat, wk->sh->jd_epoch, t, r, v);
    if (rc != 0) {
        if (!wk->prop_rc) {
            wk->prop_rc = rc;
            wk->prop_fail_t = t;
        }
        return -1;
    }
    look_at(wk->stn, r, v, NULL, o);
    return 0;
}

/* ---- the interpolant ---------------------------------------------------------------------- */

/* The last sample of interval k's stencil (NODES samples, or all of a shorter track). */
static long stencil_end(const worker *wk, size_t k)
{
    long n_int = (long)wk->n_int;
    if (n_int + 1 <= NODES)
        return n_int;
    long lo = (long)k - (NODES / 2 - 1);
    if (lo < 0)
        lo = 0;
    if (lo > n_int + 1 - NODES)
        lo = n_int + 1 - NODES;
    return lo + NODES - 1;
}

/* One sample more: the differences at sample j + 1 from those at j (j = -1: none yet), each
 * l-th difference being the (l-1)-th at j+1 minus the (l-1)-th at j. The same operations however
 * far back the sweep began, so an interpolant comes out the same to the bit whether the sweep
 * over the track or a lookup in the scan built it. */
static void bdiff_push(const worker *wk, bdiff *bd, int levels)
{
    long j = bd->j + 1;
    const double *r = wk->trk + 6 * (size_t)j;
    double prev[4];
    for (int d = 0; d < 4; d++) {
        prev[d] = bd->b[0][d];
        bd->b[0][d] = d < 3 ? r[d] : 0.0;
    }
    for (int l = 1; l < levels; l++)
        for (int d = 0; d < 4; d++) {
            double cur = bd->b[l][d];
            bd->b[l][d] = bd->b[l - 1][d] - prev[d];
            prev[d] = cur;
        }
    bd->j = j;
}

/* Interval k's interpolant from the differences at its stencil's last sample. */
static void seg_fill(seg *sg, const bdiff *bd, size_t k, int n)
{
    static const double inv_fact[NODES] = {1.0,           1.0,           1.0 / 2.0,   1.0 / 6.0,
                                           1.0 / 24.0,    1.0 / 120.0,   1.0 / 720.0, 1.0 / 5040.0,
                                           1.0 / 40320.0, 1.0 / 362880.0};
    for (int l = 0; l < n; l++) {
        sg->z[l] = (double)(bd->j - l - (long)k);
        for (int d = 0; d < 4; d++)
            sg->c[l][d] = bd->b[l][d] * inv_fact[l];
    }
    sg->n = n;
    sg->tag = k + 1;
}

static int seg_nodes(const worker *wk)
{
    return wk->n_int + 1 < NODES ? (int)wk->n_int + 1 : NODES;
}

/* The interpolant of interval k (0 <= k < n_int), from the cache or built. */
static const seg *seg_at(worker *wk, size_t k)
{
    seg *sg = &wk->segs[k & (SEG_CACHE - 1)];
    if (sg->tag == k + 1)
        return sg;
    const int n = seg_nodes(wk);
    bdiff bd = {.j = stencil_end(wk, k) - n};
    for (int l = 0; l < n; l++) /* the l-th difference is complete after l + 1 samples */
        bdiff_push(wk, &bd, l + 1);
    seg_fill(sg, &bd, k, n);
    return sg;
}

/* Position and velocity of the interpolant of interval k at time t. */
static void seg_eval(worker *wk, const seg *sg, size_t k, double t, double r[3], double v[3])
{
    wk->stats.interp_evals++;
    const double h = wk->h_s, s = (t - (double)k * h) / h;
    const int n = sg->n;
    double p[4], dp[4] = {0, 0, 0, 0};
    for (int d = 0; d < 4; d++)
        p[d] = sg->c[n - 1][d];
    for (int i = n - 2; i >= 0; i--) {
        double x = s - sg->z[i];
        for (int d = 0; d < 4; d++) {
            dp[d] = dp[d] * x + p[d];
            p[d] = p[d] * x + sg->c[i][d];
        }
    }
    for (int d = 0; d < 3; d++) {
        r[d] = p[d];
        v[d] = dp[d] / h;
    }
}

/* The same with the acceleration. */
static void seg_eval2(worker *wk, const seg *sg, size_t k, double t, double r[3], double v[3],
                      double a[3])
{
    wk->stats.interp_evals++;
    const double h = wk->h_s, s = (t - (double)k * h) / h;
    const int n = sg->n;
    double p[4], dp[4] = {0, 0, 0, 0}, d2p[4] = {0, 0, 0, 0};
    for (int d = 0; d < 4; d++)
        p[d] = sg->c[n - 1][d];
    for (int i = n - 2; i >= 0; i--) {
        double x = s - sg->z[i];
        for (int d = 0; d < 4; d++) {
            d2p[d] = d2p[d] * x + 2.0 * dp[d];
            dp[d] = dp[d] * x + p[d];
            p[d] = p[d] * x + sg->c[i][d];
        }
    }
    for (int d = 0; d < 3; d++) {
        r[d] = p[d];
        v[d] = dp[d] / h;
        a[d] = d2p[d] / (h * h);
    }
}

/* The estimated error (km) of the interpolant of interval k at time t: its last two terms, the
 * difference to the polynomial through the first n - 2 nodes (infinite with too few nodes). */
static double seg_err_km(const worker *wk, const seg *sg, size_t k, double t)
{
    const int n = sg->n;
    if (n < 4)
        return INFINITY;
    const double s = (t - (double)k * wk->h_s) / wk->h_s;
    double w = 1.0;
    for (int i = 0; i < n - 2; i++)
        w *= s - sg->z[i];
    double x = s - sg->z[n - 2], e2 = 0.0;
    for (int d = 0; d < 3; d++) {
        double e = w * (sg->c[n - 2][d] + sg->c[n - 1][d] * x);
        e2 += e * e;
    }
    return sqrt(e2);
}

/* ---- safeguarded Newton ------------------------------------------------------------------- */

enum { F_CROSS, F_PEAK, F_CROSS_EXACT, F_PEAK_EXACT };

typedef struct solver {
    worker *wk;
    const seg *sg;
    size_t k;     /* interval of sg */
    int kind;     /* F_*: the function whose root is sought */
    double slope; /* F_PEAK_EXACT: g'' (from the interpolant) */
    /* the last point evaluated */
    double t;
    look at;
} solver;

/* f (and its derivative) of the solver's kind at t: g for crossings, g' for extrema. */
static int solver_eval(solver *so, double t, double *f, double *df)
{
    so->t = t;
    if (so->kind == F_CROSS_EXACT) {
        if (exact_look(so->wk, t, &so->at) != 0)
            return -1;
        *f = so->at.g;
        *df = so->at.dg;
        return 0;
    }
    if (so->kind == F_PEAK_EXACT) {
        /* g' from the exact positions (SGP4's velocity is not their derivative, which moves a
         * flat maximum by seconds): a central difference over +-PEAK_DIFF_S */
        look m, p;
        if (exact_look(so->wk, t - PEAK_DIFF_S, &m) != 0 ||
            exact_look(so->wk, t + PEAK_DIFF_S, &p) != 0)
            return -1;
        double dv = 0.5 * so->slope * PEAK_DIFF_S * PEAK_DIFF_S;
        so->at = p;
        so->at.g = 0.5 * (m.g + p.g) - dv;
        so->at.sin_el = 0.5 * (m.sin_el + p.sin_el) - dv;
        so->at.dg = (p.g - m.g) / (2.0 * PEAK_DIFF_S);
        so->at.d2g = so->slope;
        *f = so->at.dg;
        *df = so->slope;
        return 0;
    }
    double r[3], v[3], a[3];
    if (so->kind == F_PEAK) {
        seg_eval2(so->wk, so->sg, so->k, t, r, v, a);
        look_at(so->wk->stn, r, v, a, &so->at);
    } else {
        seg_eval(so->wk, so->sg, so->k, t, r, v);
        look_at(so->wk->stn, r, v, NULL, &so->at);
    }
    *f = so->kind == F_CROSS ? so->at.g : so->at.dg;
    *df = so->kind == F_CROSS ? so->at.dg : so->at.d2g;
    return 0;
}

/* The root of f in [lo, hi], where f(lo) > 0 (lo_pos) or f(lo) < 0 and f(hi) is of the other
 * sign or 0, from x: Newton steps while they stay inside the bracket (which every evaluation
 * narrows), else bisection. Converged when a Newton step d is at most tol (the result, after that
 * step, is then within ~K tol^2 of the root, K = |f''/2f'|), when two Newton steps in a row show
 * quadratic convergence (|d| <= |d_prev| / 10) and put the root within K d^2 ~ |d|^3 / d_prev^2
 * <= pred_tol of the result (pred_tol 0: not used), or when the bracket is at most 2 tol; *ok = 0
 * when not within max_it evaluations or when a propagation failed. The result is not evaluated:
 * so->t and so->at are the last point that was. */
static double solve(solver *so, double lo, double hi, int lo_pos, double x, double tol,
                    double pred_tol, int max_it, int *ok)
{
    *ok = 0;
    if (!(x > lo && x < hi))
        x = 0.5 * (lo + hi);
    double prev = 0.0; /* the previous Newton step, 0 after a bisection */
    for (int it = 0; it < max_it; it++) {
        double f, df;
        if (solver_eval(so, x, &f, &df) != 0)
            return x;
        if (f == 0.0) {
            *ok = 1;
            return x;
        }
        if (lo_pos ? f > 0.0 : f < 0.0)
            lo = x;
        else
            hi = x;
        double xn = x - f / df, d = fabs(xn - x);
        /* (a step below the time's resolution leaves xn == x, now an end of the bracket) */
        if (xn >= lo && xn <= hi &&
            (d <= tol || (d <= 0.1 * prev && d * d * d <= pred_tol * prev * prev))) {
            *ok = 1;
            return xn;
        }
        if (!(xn > lo && xn < hi)) {
            xn = 0.5 * (lo + hi);
            d = 0.0;
            if (hi - lo <= 2.0 * tol) {
                *ok = 1;
                return xn;
            }
        }
        prev = d;
        x = xn;
    }
    return x;
}

/* Starting points from the cubic through the values and rates of g at the interval's ends
 * (ga, gb; rates da, db in units of the step): its root, or the root of its derivative. */
static double cubic_root_s(double ga, double da, double gb, double db)
{
    /* q(s) = ga + da s + c2 s^2 + c3 s^3 */
    double c2 = 3.0 * (gb - ga) - 2.0 * da - db, c3 = 2.0 * (ga - gb) + da + db;
    double s = ga / (ga - gb);
    for (int it = 0; it < 2; it++) {
        double q = ga + s * (da + s * (c2 + s * c3)), dq = da + s * (2.0 * c2 + 3.0 * s * c3);
        double sn = s - q / dq;
        if (!(sn > 0.0 && sn < 1.0))
            break;
        s = sn;
    }
    return s;
}

static double cubic_ext_s(double ga, double da, double gb, double db)
{
    /* q'(s) = da + 2 c2 s + 3 c3 s^2 changes sign on [0, 1]: Newton steps on it from the root
     * of its chord */
    double c2 = 3.0 * (gb - ga) - 2.0 * da - db, c3 = 2.0 * (ga - gb) + da + db;
    double s = da / (da - db);
    for (int it = 0; it < 2; it++) {
        double dq = da + s * (2.0 * c2 + 3.0 * s * c3), d2q = 2.0 * c2 + 6.0 * s * c3;
        double sn = s - dq / d2q;
        if (!(sn > 0.0 && sn < 1.0))
            break;
        s = sn;
    }
    return s;
}

/* ---- crossings and extrema ---------------------------------------------------------------- */

/* The crossing of the mask in [lo, hi] inside interval k (rise: g < 0 at lo and >= 0 at hi;
 * set: the reverse), from the guess x. */
static double crossing(worker *wk, size_t k, double lo, double hi, int rise, double x)
{
    solver so = {.wk = wk, .sg = seg_at(wk, k), .k = k, .kind = F_CROSS};
    int ok;
    double t = solve(&so, lo, hi, !rise, x, SOLVE_TOL_S, PRED_TOL_S, 60, &ok);
    /* accepted when the estimated angular error, over the rate, is within CROSS_TOL_S */
    if (ok && seg_err_km(wk, so.sg, k, t) <= CROSS_TOL_S * fabs(so.at.dg) * so.at.rho)
        return t;
    wk->stats.refined++;
    so.kind = F_CROSS_EXACT;
    double te = solve(&so, lo, hi, !rise, t, SOLVE_TOL_S, PRED_TOL_S, 40, &ok);
    if (ok)
        return te;
    if (!wk->prop_rc)
        wk->stats.fallbacks++;
    return t;
}

typedef struct extremum {
    double t, g, sin_el, d2g;
    double err_rad; /* estimated angular error of the point (0 when exact) */
} extremum;

/* The extremum at t, within PEAK_TOL_S of the last point evaluated: its value from the
 * quadratic through that point (g'' from the interpolant for the exact track too). */
static void extremum_at(const solver *so, double t, extremum *e)
{
    double d = t - so->t, d2g = so->kind == F_PEAK ? so->at.d2g : so->slope;
    double dv = so->at.dg * d + 0.5 * d2g * d * d;
    e->t = t;
    e->g = so->at.g + dv;
    e->sin_el = so->at.sin_el + dv;
    e->d2g = d2g;
}

/* The maximum (peak) or minimum of g in interval k, whose rate changes sign between lo and hi,
 * on the interpolant. */
static void find_extremum(worker *wk, size_t k, double lo, double hi, int peak, double x,
                          extremum *e)
{
    solver so = {.wk = wk, .sg = seg_at(wk, k), .k = k, .kind = F_PEAK};
    int ok;
    double t = solve(&so, lo, hi, peak, x, PEAK_TOL_S, 0.0, 60, &ok);
    extremum_at(&so, t, e);
    e->err_rad = ok ? seg_err_km(wk, so.sg, k, t) / so.at.rho : INFINITY;
}

/* The same extremum on the exact track: Newton on the exact g' (differences of exact
 * positions) with the interpolant's g''. */
static void exact_extremum(worker *wk, size_t k, double lo, double hi, int peak, extremum *e)
{
    if (e->err_rad == 0.0)
        return;
    wk->stats.refined++;
    solver so = {.wk = wk, .sg = seg_at(wk, k), .k = k, .kind = F_PEAK_EXACT, .slope = e->d2g};
    int ok;
    double t = solve(&so, lo, hi, peak, e->t, PEAK_TOL_S, 0.0, 40, &ok);
    if (!ok) {
        if (!wk->prop_rc)
            wk->stats.fallbacks++;
        return;
    }
    extremum_at(&so, t, e);
    e->err_rad = 0.0;
}

/* ---- windows ------------------------------------------------------------------------------ */

static int wvec_push(wvec *v, const orb_window *w)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16, bytes;
        if (cs_size_mul(cap, sizeof *v->w, &bytes) != 0)
            return CS_ENOMEM;
        orb_window *nw = realloc(v->w, bytes);
        if (!nw)
            return CS_ENOMEM;
        v->w = nw;
        v->cap = cap;
    }
    v->w[v->n++] = *w;
    return 0;
}

/* The window being assembled while a run is scanned in time order. */
typedef struct wopen {
    int inside;
    double t0;
    unsigned flags;
    double best_t, best_s; /* its highest point so far: time, sin(elevation) */
    uint32_t sat, station;
    wvec *out;
} wopen;

static void w_rise(wopen *o, double t, double sin_mask)
{
    if (o->inside)
        return;
    o->inside = 1;
    o->t0 = t;
    o->flags = 0;
    o->best_t = t;
    o->best_s = sin_mask;
}

static void w_point(wopen *o, double t, double sin_el)
{
    if (o->inside && sin_el > o->best_s) {
        o->best_t = t;
        o->best_s = sin_el;
    }
}

static int w_set(wopen *o, double t, unsigned end_flags)
{
    if (!o->inside)
        return 0;
    o->inside = 0;
    if (!(t > o->t0))
        return 0; /* a crossing pair that collapsed */
    orb_window w;
    memset(&w, 0, sizeof w); /* padding too: plans compare bytewise across thread counts */
    w.sat = o->sat;
    w.station = o->station;
    w.t_start_s = o->t0;
    w.t_end_s = t;
    w.t_max_s = o->best_t < o->t0 ? o->t0 : o->best_t > t ? t : o->best_t;
    w.max_elev_deg = elev_deg(o->best_s);
    w.flags = o->flags | end_flags;
    return wvec_push(o->out, &w);
}

/* A maximum inside a window: its elevation from the exact track when the interpolant's is not
 * known to PEAK_EST_RAD. */
static void w_peak(worker *wk, wopen *o, size_t k, double lo, double hi, extremum *e)
{
    if (!o->inside)
        return;
    if (e->err_rad > PEAK_EST_RAD)
        exact_extremum(wk, k, lo, hi, 1, e);
    w_point(o, e->t, e->sin_el);
}

/* Events of interval k, whose ends' looks are A and B, in time order. */
static int scan_interval(worker *wk, size_t k, const look *A, const look *B, wopen *o)
{
    const double a = sample_t(wk, k), b = sample_t(wk, k + 1), h = wk->h_s;
    const double sm = wk->stn->sin_mask;
    const int neg_a = A->g < 0.0, neg_b = B->g < 0.0;
    /* rates in units of the step, for the starting points */
    const double da = A->dg * h, db = B->dg * h;
    if (A->dg > 0.0 && B->dg <= 0.0) { /* a maximum in (a, b] */
        extremum e;
        find_extremum(wk, k, a, b, 1, a + h * cubic_ext_s(A->g, da, B->g, db), &e);
        if (neg_a && neg_b) { /* a pass between two samples below the mask? */
            if (fabs(e.g) <= e.err_rad)
                exact_extremum(wk, k, a, b, 1, &e);
            if (e.g < 0.0 || wk->prop_rc)
                return 0;
            /* starting points from the parabola through the peak */
            double half = e.d2g < 0.0 ? sqrt(-2.0 * e.g / e.d2g) : 0.0;
            double t1 = crossing(wk, k, a, e.t, 1, e.t - half);
            double t2 = crossing(wk, k, e.t, b, 0, e.t + half);
            w_rise(o, t1, sm);
            w_peak(wk, o, k, a, b, &e);
            return w_set(o, t2, 0);
        }
        if (neg_a)
            w_rise(o, crossing(wk, k, a, b, 1, a + h * cubic_root_s(A->g, da, B->g, db)), sm);
        w_peak(wk, o, k, a, b, &e);
        if (neg_b)
            return w_set(o, crossing(wk, k, a, b, 0, a + h * cubic_root_s(A->g, da, B->g, db)), 0);
        return 0;
    }
    if (A->dg < 0.0 && B->dg >= 0.0 && !neg_a && !neg_b) { /* a gap between two samples above? */
        extremum e;
        find_extremum(wk, k, a, b, 0, a + h * cubic_ext_s(A->g, da, B->g, db), &e);
        if (fabs(e.g) <= e.err_rad)
            exact_extremum(wk, k, a, b, 0, &e);
        if (e.g >= 0.0 || wk->prop_rc)
            return 0;
        double half = e.d2g > 0.0 ? sqrt(-2.0 * e.g / e.d2g) : 0.0;
        double t1 = crossing(wk, k, a, e.t, 0, e.t - half);
        double t2 = crossing(wk, k, e.t, b, 1, e.t + half);
        int rc = w_set(o, t1, 0);
        w_rise(o, t2, sm);
        return rc;
    }
    /* at most one crossing */
    if (neg_a && !neg_b)
        w_rise(o, crossing(wk, k, a, b, 1, a + h * cubic_root_s(A->g, da, B->g, db)), sm);
    else if (!neg_a && neg_b)
        return w_set(o, crossing(wk, k, a, b, 0, a + h * cubic_root_s(A->g, da, B->g, db)), 0);
    return 0;
}

/* Windows of the current pair in the intervals k0 .. k1-1. */
static int scan_run(worker *wk, size_t k0, size_t k1, uint32_t sat, uint32_t st, wvec *out)
{
    wopen o = {.sat = sat, .station = st, .out = out};
    look A, B;
    sample_look(wk, k0, &A);
    if (A.g >= 0.0) { /* in view at the start: the horizon's start (else culling is violated) */
        w_rise(&o, sample_t(wk, k0), wk->stn->sin_mask);
        o.flags = k0 == 0 ? ORB_WIN_OPEN_START : 0u;
        w_point(&o, o.t0, A.sin_el);
    }
    for (size_t k = k0; k < k1; k++) {
        sample_look(wk, k + 1, &B);
        int rc = scan_interval(wk, k, &A, &B, &o);
        if (rc != 0 || wk->prop_rc)
            return rc;
        w_point(&o, sample_t(wk, k + 1), B.sin_el); /* a sample inside a window */
        A = B;
    }
    return w_set(&o, sample_t(wk, k1), k1 == wk->n_int ? ORB_WIN_OPEN_END : 0u);
}

/* ---- per satellite ------------------------------------------------------------------------ */

static int ensure_track(worker *wk, size_t n)
{
    if (n <= wk->cap_trk)
        return 0;
    size_t b6, b3;
    if (cs_size_mul(n, 6 * sizeof(double), &b6) || cs_size_mul(n, 3 * sizeof(double), &b3))
        return CS_ENOMEM;
    double *t = realloc(wk->trk, b6);
    if (!t)
        return CS_ENOMEM;
    wk->trk = t;
    double *u = realloc(wk->ux, b3);
    if (!u)
        return CS_ENOMEM;
    wk->ux = u;
    unsigned char *nr = realloc(wk->near, n);
    if (!nr)
        return CS_ENOMEM;
    wk->near = nr;
    wk->cap_trk = n;
    return 0;
}

/* The coarse step (s) of sat's track, from the fastest angular motion seen from the Earth's
 * centre (*w_max, rad/s: the mean motion at perigee plus the Earth's rotation): 1/48 of a turn,
 * within [1, 300] s. */
static double coarse_step_s(const orb_sat *sat, double *w_max)
{
    double e = sat->el.ecc;
    double n_peri = sat->n_rads * (1.0 + e) * (1.0 + e) / pow(1.0 - e * e, 1.5);
    *w_max = n_peri + ORB_EARTH_ROT_RADS;
    double h = (2.0 * ORB_PI / 48.0) / *w_max;
    if (h > 300.0)
        h = 300.0;
    if (h < 1.0)
        h = 1.0;
    return h;
}

/* One more satellite-station pair searched by wk. */
static void pair_done(worker *wk)
{
    shared *sh = wk->sh;
    uint64_t done = atomic_fetch_add(&sh->pairs_done, 1) + 1;
    if (wk->reports && sh->progress)
        sh->progress(sh->progress_user, done, sh->pairs_total);
}

/* The first sample at or after k within the culling threshold (n_int + 1 if none). */
static size_t next_near(const worker *wk, size_t k)
{
    const size_t n = wk->n_int + 1;
    while (k + 8 <= n) {
        uint64_t w8;
        memcpy(&w8, wk->near + k, 8);
        if (w8)
            break;
        k += 8;
    }
    while (k < n && !wk->near[k])
        k++;
    return k;
}

static int process_sat(worker *wk, size_t si)
{
    shared *sh = wk->sh;
    const orb_sat *sat = &sh->sats[si];
    wk->sat = sat;
    wk->prop_rc = 0;

    double w_max, h = coarse_step_s(sat, &w_max);
    double n_int_d = ceil(sh->duration_s / h);
    if (n_int_d > 1e8) {
        sh->sat_rc[si] = CS_ENOMEM;
        return CS_ENOMEM;
    }
    size_t n_int = (size_t)n_int_d;
    if (n_int < 1)
        n_int = 1;
    wk->n_int = n_int;
    wk->h_s = sh->duration_s / (double)n_int;
    if (ensure_track(wk, n_int + 1) != 0) {
        sh->sat_rc[si] = CS_ENOMEM;
        return CS_ENOMEM;
    }
    wk->uy = wk->ux + (n_int + 1);
    wk->uz = wk->uy + (n_int + 1);
    for (size_t i = 0; i < SEG_CACHE; i++)
        wk->segs[i].tag = 0;
    double r_max = 0.0, rate_max = 0.0;
    for (size_t k = 0; k <= n_int; k++) {
        double t = sample_t(wk, k);
        double *rv = wk->trk + 6 * k;
        int rc = orb_sat_ecef_at(sat, sh->jd_epoch, t, rv, rv + 3);
        wk->stats.track_evals++;
        if (rc != 0) {
            sh->sat_rc[si] = rc;
            sh->sat_fail_t[si] = t;
            return CS_ERANGE;
        }
        double r = sqrt(rv[0] * rv[0] + rv[1] * rv[1] + rv[2] * rv[2]);
        double v = sqrt(rv[3] * rv[3] + rv[4] * rv[4] + rv[5] * rv[5]);
        wk->ux[k] = rv[0] / r;
        wk->uy[k] = rv[1] / r;
        wk->uz[k] = rv[2] / r;
        if (r > r_max)
            r_max = r;
        if (v / r > rate_max)
            rate_max = v / r;
    }
    /* Bound on the direction's angular rate between samples too. */
    double w_dir = 1.1 * (rate_max > w_max ? rate_max : w_max);
    /* The samples' velocities from the interpolant (its derivative there), so that the rates the
     * scan brackets extrema with are those of the positions it interpolates: SGP4's own velocity
     * differs from the derivative of its position by centimetres per second, which moves the
     * sign change of g' of a flat maximum (a satellite near apogee) by seconds. Kept on tracks
     * too short for a full interpolant. */
    if (n_int + 1 >= NODES) {
        /* one sweep over the track builds every interval's interpolant (into the cache) */
        const int n = seg_nodes(wk);
        bdiff *bd = &wk->sweep;
        bd->j = -1;
        for (size_t k = 0; k < n_int; k++) {
            long j = stencil_end(wk, k);
            while (bd->j < j) /* the l-th difference is complete after l + 1 samples */
                bdiff_push(wk, bd, bd->j + 2 < n ? (int)bd->j + 2 : n);
            seg *sg = &wk->segs[k & (SEG_CACHE - 1)];
            seg_fill(sg, bd, k, n);
            double r[3];
            seg_eval(wk, sg, k, sample_t(wk, k), r, wk->trk + 6 * k + 3);
        }
        double r[3];
        seg_eval(wk, seg_at(wk, n_int - 1), n_int - 1, wk->sh->duration_s, r,
                 wk->trk + 6 * n_int + 3);
        wk->stats.interp_evals -= (long long)n_int + 1; /* not evaluations of the scan */
    }

    wvec *out = &sh->per_sat[si];
    for (size_t j = 0; j < sh->n_st; j++) {
        if (j > 0)
            pair_done(wk);
        const station_geo *g = &sh->st[j];
        wk->stn = g;
        double eps = g->mask_deg * ORB_DEG2RAD - MASK_MARGIN_RAD;
        double arg = g->radius_km * cos(eps) / r_max;
        if (arg > 1.0)
            arg = 1.0;
        double lam = acos(arg) - eps;
        /* An interval both of whose ends are at least thr from the station stays beyond
         * thr - w_dir h / 2 = lam + margin throughout: not visible. */
        double thr = lam + w_dir * wk->h_s * 0.5 + CULL_MARGIN_RAD;
        if (thr <= 0.0) {
            wk->stats.pairs_culled++;
            continue;
        }
        const double cos_thr = thr >= ORB_PI ? -2.0 : cos(thr);
        const double gx = g->u[0], gy = g->u[1], gz = g->u[2];
        const double *ux = wk->ux, *uy = wk->uy, *uz = wk->uz;
        unsigned char *near = wk->near;
        size_t n_near = 0;
        for (size_t k = 0; k <= n_int; k++) {
            unsigned char c = ux[k] * gx + uy[k] * gy + uz[k] * gz > cos_thr;
            near[k] = c;
            n_near += c;
        }
        if (n_near == 0) {
            wk->stats.pairs_culled++;
            continue;
        }
        /* Runs of candidate intervals: those with a near end. */
        size_t k = next_near(wk, 0);
        while (k <= n_int) {
            size_t k0 = k > 0 ? k - 1 : 0, k1 = k;
            while (k1 < n_int && (near[k1] | near[k1 + 1]))
                k1++;
            if (k1 == k0) /* only the sample k = 0 is near */
                k1 = 1;
            wk->stats.runs++;
            int rc = scan_run(wk, k0, k1, (uint32_t)si, (uint32_t)j, out);
            if (rc != 0) {
                sh->sat_rc[si] = rc;
                return rc;
            }
            if (wk->prop_rc) {
                sh->sat_rc[si] = wk->prop_rc;
                sh->sat_fail_t[si] = wk->prop_fail_t;
                return CS_ERANGE;
            }
            k = next_near(wk, k1 + 1);
        }
    }
    /* the list's spare capacity back, before the next satellite grows its own */
    if (out->n && out->n < out->cap) {
        orb_window *w = realloc(out->w, out->n * sizeof *out->w);
        if (w) {
            out->w = w;
            out->cap = out->n;
        }
    }
    pair_done(wk);
    return 0;
}

static void *worker_main(void *p)
{
    worker *wk = p;
    shared *sh = wk->sh;
    for (;;) {
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->n_sats)
            break;
        process_sat(wk, i);
    }
    return NULL;
}

static void worker_free(worker *wk)
{
    free(wk->trk);
    free(wk->ux);
    free(wk->near);
    free(wk->segs);
}

/* ---- the merged plan ---------------------------------------------------------------------- */

/* The windows of all satellites in one array sorted by (t_start_s, sat, station): a stable
 * radix sort (three passes) of keys holding the start time quantised to 32 bits of the duration,
 * made in (sat, station, time) order (each satellite's windows come station by station), then
 * the rare runs of equal quantised starts (within duration / 2^32: 20 us for a day) put in order
 * of the exact start by insertion, stably, and the windows gathered from the lists. At the peak:
 * the lists, 24 bytes of keys and the sorted copy, 120 bytes a window. */
static int merge_plan(const wvec *per_sat, size_t n_sats, size_t total, double duration_s,
                      orb_window **out)
{
    typedef struct skey {
        uint32_t q, sat, i; /* quantised start; satellite, index in its list */
    } skey;
    size_t bytes;
    skey *a = NULL, *b = NULL;
    orb_window *w = NULL;
    if (cs_size_mul(total, sizeof(skey), &bytes) || !(a = malloc(bytes)) || !(b = malloc(bytes)) ||
        cs_size_mul(total, sizeof(orb_window), &bytes) || !(w = malloc(bytes))) {
        free(a);
        free(b);
        free(w);
        return CS_ENOMEM;
    }
    const double scale = 4294967295.0 / duration_s;
    size_t m = 0;
    for (size_t s = 0; s < n_sats; s++) {
        CS_ASSERT(per_sat[s].n <= UINT32_MAX);
        for (size_t i = 0; i < per_sat[s].n; i++) {
            double x = per_sat[s].w[i].t_start_s * scale;
            CS_ASSERT(x >= 0.0);
            a[m].q = x >= 4294967295.0 ? UINT32_MAX : (uint32_t)x;
            a[m].sat = (uint32_t)s;
            a[m].i = (uint32_t)i;
            m++;
        }
    }
    enum { BITS = 11, BUCKETS = 1 << BITS };
    size_t cnt[BUCKETS];
    for (int shift = 0; shift < 32; shift += BITS) {
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < total; i++)
            cnt[(a[i].q >> shift) & (BUCKETS - 1)]++;
        if (cnt[(a[0].q >> shift) & (BUCKETS - 1)] == total)
            continue; /* one digit for all */
        size_t sum = 0;
        for (size_t d = 0; d < BUCKETS; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < total; i++)
            b[cnt[(a[i].q >> shift) & (BUCKETS - 1)]++] = a[i];
        skey *tmp = a;
        a = b;
        b = tmp;
    }
    free(b);
    for (size_t i = 1; i < total; i++) { /* equal quantised starts: by the exact start */
        if (a[i].q != a[i - 1].q)
            continue;
        skey x = a[i];
        const orb_window *wx = &per_sat[x.sat].w[x.i];
        size_t j = i;
        while (j > 0 && a[j - 1].q == x.q) {
            const orb_window *wp = &per_sat[a[j - 1].sat].w[a[j - 1].i];
            if (!(wp->t_start_s > wx->t_start_s ||
                  (wp->t_start_s == wx->t_start_s &&
                   (wp->sat > wx->sat || (wp->sat == wx->sat && wp->station > wx->station)))))
                break;
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
    for (size_t i = 0; i < total; i++)
        w[i] = per_sat[a[i].sat].w[a[i].i];
    free(a);
    *out = w;
    return 0;
}

int orb_contacts_compute_opts(const orb_sat *sats, size_t n_sats, const orb_station *st,
                              size_t n_st, double jd_epoch, double duration_s,
                              const orb_contacts_opts *o, orb_windows *plan, cs_err *err)
{
    static const orb_contacts_opts defaults = {0};
    if (!o)
        o = &defaults;
    int threads = o->threads;
    orb_contact_stats *stats = o->stats;
    plan->w = NULL;
    plan->n = 0;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (o->failed_sat)
        *o->failed_sat = -1;
    if (!(duration_s > 0.0 && duration_s <= ORB_CONTACTS_MAX_DURATION_S))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "contacts: duration must be > 0 s (and at most %g s), got %g",
                          ORB_CONTACTS_MAX_DURATION_S, duration_s);
    if (!isfinite(jd_epoch))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "contacts: epoch is not a number");
    if (n_sats > UINT32_MAX || n_st > UINT32_MAX)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "contacts: too many satellites/stations");
    if (n_sats == 0 || n_st == 0)
        return 0;
    for (size_t j = 0; j < n_st; j++) {
        const orb_station *s = &st[j];
        if (!(s->lat_deg >= -90.0 && s->lat_deg <= 90.0) || !isfinite(s->lon_deg) ||
            !isfinite(s->alt_m) || !(s->min_elevation_deg > -90.0 && s->min_elevation_deg < 90.0))
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                              "contacts: station \"%s\": latitude must be in [-90, 90], "
                              "min_elevation_deg in (-90, 90), longitude and altitude finite",
                              s->name);
    }

    size_t bytes;
    int rc = 0;
    station_geo *geo = NULL;
    shared sh;
    memset(&sh, 0, sizeof sh);
    worker *wks = NULL;
    int nt = threads < 1 ? 1 : threads;
    if ((size_t)nt > n_sats)
        nt = (int)n_sats;
    if (nt > 256)
        nt = 256;

    if (cs_size_mul(n_st, sizeof *geo, &bytes) || !(geo = calloc(n_st, sizeof *geo)) ||
        !(sh.per_sat = calloc(n_sats, sizeof *sh.per_sat)) ||
        !(sh.sat_rc = calloc(n_sats, sizeof *sh.sat_rc)) ||
        !(sh.sat_fail_t = calloc(n_sats, sizeof *sh.sat_fail_t)) ||
        !(wks = calloc((size_t)nt, sizeof *wks))) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "contacts: out of memory");
        goto out;
    }
    for (size_t j = 0; j < n_st; j++) {
        station_geo *g = &geo[j];
        orb_geodetic_to_ecef(st[j].lat_deg, st[j].lon_deg, st[j].alt_m, g->r);
        double la = st[j].lat_deg * ORB_DEG2RAD, lo = st[j].lon_deg * ORB_DEG2RAD;
        g->up[0] = cos(la) * cos(lo);
        g->up[1] = cos(la) * sin(lo);
        g->up[2] = sin(la);
        g->radius_km = sqrt(g->r[0] * g->r[0] + g->r[1] * g->r[1] + g->r[2] * g->r[2]);
        for (int i = 0; i < 3; i++)
            g->u[i] = g->r[i] / g->radius_km;
        g->mask_deg = st[j].min_elevation_deg;
        g->sin_mask = sin(g->mask_deg * ORB_DEG2RAD);
    }
    sh.sats = sats;
    sh.n_sats = n_sats;
    sh.st = geo;
    sh.n_st = n_st;
    sh.jd_epoch = jd_epoch;
    sh.duration_s = duration_s;
    atomic_init(&sh.next, 0);
    atomic_init(&sh.pairs_done, 0);
    sh.pairs_total = (uint64_t)n_sats * (uint64_t)n_st;
    sh.progress = o->progress;
    sh.progress_user = o->progress_user;
    wks[0].reports = 1;
    for (int i = 0; i < nt; i++) {
        wks[i].sh = &sh;
        if (!(wks[i].segs = calloc(SEG_CACHE, sizeof *wks[i].segs))) {
            rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "contacts: out of memory");
            goto out;
        }
    }
    if (nt == 1) {
        worker_main(&wks[0]);
    } else {
        pthread_t tid[256];
        int started = 0;
        for (int i = 1; i < nt; i++) {
            if (pthread_create(&tid[i], NULL, worker_main, &wks[i]) != 0)
                break;
            started = i;
        }
        worker_main(&wks[0]);
        for (int i = 1; i <= started; i++)
            pthread_join(tid[i], NULL);
    }
    if (sh.progress)
        sh.progress(sh.progress_user, atomic_load(&sh.pairs_done), sh.pairs_total);
    for (size_t i = 0; i < n_sats; i++) {
        if (sh.sat_rc[i] == CS_ENOMEM) {
            rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "contacts: out of memory");
            goto out;
        }
        if (sh.sat_rc[i] != 0) {
            if (o->failed_sat)
                *o->failed_sat = (long)i;
            char when[40];
            orb_time_format_iso_offset(jd_epoch, sh.sat_fail_t[i], when, sizeof when);
            rc = cs_err_set(err, CS_ERANGE, NULL, 0, 0,
                            "contacts: satellite %s cannot be propagated at t = %.3f s (%s): %s",
                            sats[i].name, sh.sat_fail_t[i], when,
                            sats[i].prop == ORB_PROP_SGP4 ? orb_sgp4_strerror(sh.sat_rc[i])
                                                          : "propagation failed");
            goto out;
        }
    }
    size_t total = 0;
    for (size_t i = 0; i < n_sats; i++)
        total += sh.per_sat[i].n;
    if (total > 0) {
        if (merge_plan(sh.per_sat, n_sats, total, duration_s, &plan->w) != 0) {
            rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "contacts: out of memory for %zu windows",
                            total);
            goto out;
        }
        plan->n = total;
    }
    if (stats) {
        for (int i = 0; i < nt; i++) {
            stats->track_evals += wks[i].stats.track_evals;
            stats->exact_evals += wks[i].stats.exact_evals;
            stats->interp_evals += wks[i].stats.interp_evals;
            stats->pairs_culled += wks[i].stats.pairs_culled;
            stats->runs += wks[i].stats.runs;
            stats->fallbacks += wks[i].stats.fallbacks;
            stats->refined += wks[i].stats.refined;
        }
    }
out:
    if (wks) {
        for (int i = 0; i < nt; i++)
            worker_free(&wks[i]);
        free(wks);
    }
    if (sh.per_sat) {
        for (size_t i = 0; i < n_sats; i++)
            free(sh.per_sat[i].w);
        free(sh.per_sat);
    }
    free(sh.sat_rc);
    free(sh.sat_fail_t);
    free(geo);
    return rc;
}

int orb_contacts_compute_stats(const orb_sat *sats, size_t n_sats, const orb_station *st,
                               size_t n_st, double jd_epoch, double duration_s, int threads,
                               orb_windows *plan, orb_contact_stats *stats, cs_err *err)
{
    orb_contacts_opts o = {.threads = threads, .stats = stats};
    return orb_contacts_compute_opts(sats, n_sats, st, n_st, jd_epoch, duration_s, &o, plan, err);
}

/* ---- the cost, before the search ---------------------------------------------------------- */

/* Mask bins of orb_contacts_cost: 0.5 deg over (-90, 90). */
#define MASK_BIN_DEG 0.5
#define MASK_BINS 360

void orb_contacts_cost_init(orb_contacts_cost *c, const double *mask_deg, size_t n_st,
                            double duration_s)
{
    CS_ASSERT(c && (mask_deg || n_st == 0));
    memset(c, 0, sizeof *c);
    c->n_st = n_st;
    c->duration_s = duration_s;
    c->step_s = INFINITY;
    for (size_t j = 0; j < n_st; j++) {
        double b = floor((mask_deg[j] + 90.0) / MASK_BIN_DEG);
        c->mask_count[b < 0 ? 0 : b >= MASK_BINS ? MASK_BINS - 1 : (size_t)b]++;
    }
}

/* Costs of one satellite (copies alike) over the duration, mirroring process_sat and scan_run:
 *  - its track has n_int + 1 samples (propagations); every station is then scanned over them;
 *  - windows: the sub-satellite point sweeps a band of half-width lambda (the Earth-central
 *    half-angle of a station's view cone at the apogee radius) around the ground track; the
 *    band covers the fraction sin(lambda) of the sphere, so over a revolution a station
 *    anywhere sees on average sin(lambda) passes; one revolution more counts those cut by the
 *    ends. (Against
 *    walker-1584's 100 stations: 2.34e6 expected for 6,000 satellites over a day, 2.41e6
 *    found. Placements that favour one orbit, a polar station under polar orbits, see up to
 *    1/sin(lambda) times as many: 3.9x at 550 km and 10 deg.)
 *  - one thread's buffers: TRACK_SAMPLE_BYTES (81) per track sample: the ECEF track, its unit
 *    vectors and the near flags take 73, the rest stands for the cache of interpolants. */
void orb_contacts_cost_add(orb_contacts_cost *c, const orb_sat *s, size_t copies)
{
    CS_ASSERT(c && s);
    double w_max, h = coarse_step_s(s, &w_max);
    double n_int = ceil(c->duration_s / h);
    if (n_int < 1)
        n_int = 1;
    double k = (double)copies, samples = n_int + 1;
    c->sat_steps += k * samples;
    c->pair_steps += k * samples * (double)c->n_st;
    c->work = c->pair_steps + ORB_CONTACTS_PROP_WORK * c->sat_steps;
    if (h < c->step_s)
        c->step_s = h;
    double r_max = s->a_km * (1.0 + s->el.ecc);
    double revs = c->duration_s * s->n_rads / (2.0 * ORB_PI), per_sat = 0;
    for (size_t b = 0; b < MASK_BINS; b++) {
        if (!c->mask_count[b])
            continue;
        double eps = (double)b * MASK_BIN_DEG * ORB_DEG2RAD - 0.5 * ORB_PI; /* its lower edge */
        double arg = ORB_WGS84_A_KM * cos(eps) / r_max;
        double lam = arg < 1.0 ? acos(arg) - eps : 0.0;
        if (lam <= 0.0)
            continue;
        per_sat += c->mask_count[b] * (revs + 1.0) * sin(lam);
    }
    c->windows += k * per_sat;
    /* at the peak: each satellite's list (grown by doubling, shrunk when it is done), the sort
     * keys and the sorted copy (merge_plan): 120 bytes a window, within 3 x 48 */
    c->window_bytes = c->windows * (double)sizeof(orb_window) * 3.0;
    double bytes = (double)TRACK_SAMPLE_BYTES * samples;
    if (bytes > c->track_bytes)
        c->track_bytes = bytes;
}

int orb_contacts_compute(const orb_sat *sats, size_t n_sats, const orb_station *st, size_t n_st,
                         double jd_epoch, double duration_s, int threads, orb_windows *plan,
                         cs_err *err)
{
    orb_contacts_opts o = {.threads = threads};
    return orb_contacts_compute_opts(sats, n_sats, st, n_st, jd_epoch, duration_s, &o, plan, err);
}

void orb_windows_free(orb_windows *p)
{
    if (!p)
        return;
    free(p->w);
    p->w = NULL;
    p->n = 0;
}

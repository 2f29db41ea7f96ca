/* orb_contacts.c - contact windows of every satellite-station pair.
 *
 * Per satellite (independently, so threads split the satellites and the result does not depend
 * on the thread count):
 *  1. Coarse track: the satellite is propagated once per coarse step h into ECEF (position and
 *     velocity) and cached. h is chosen from the orbit so that the fastest angular motion of the
 *     satellite as seen from the Earth's centre (mean motion at perigee plus the Earth's rotation)
 *     covers at most 1/48 of a turn per step (112 s at 550 km); a cubic Hermite interpolant
 *     through the cached positions and velocities is then accurate to about
 *     r (2pi/48)^4 / 384 ~ 8e-7 r (measured: 3.6 m for SGP4 at 550 km), i.e. ~0.001 deg of
 *     elevation at the horizon.
 *  2. Culling: for each station the central angle between station and satellite is taken at
 *     every coarse sample (exactly out to a threshold, else as a lower bound). The station can
 *     see the satellite above the mask only within the horizon-cone half-angle lambda (for the
 *     track's highest radius, the mask lowered by 0.5 deg for the ellipsoid's vertical), and the
 *     angle changes by at most w h over a step (w: bound on the angular rate of the satellite's
 *     direction), so over [t_k, t_k+1] it is at least (ang_k + ang_k+1 - w h) / 2. Intervals
 *     where that bound exceeds lambda (+0.2 deg) are skipped; pairs with none left cost one dot
 *     product per coarse sample.
 *  3. Bracketing: inside each run of candidate intervals, sin(elevation) - sin(mask) is
 *     evaluated on the interpolant every h_f <= 20 s (finer in the first and last step of the
 *     horizon). A sign change brackets a crossing; a sample maximum below the mask (or minimum
 *     above it) is checked by maximising (minimising) the interpolant between its neighbours,
 *     which finds single-peaked passes of any length unless their peak is within the
 *     interpolation error of the mask (in LEO: passes of a few seconds). A pass longer than h_f
 *     contains a sample, and in LEO its peak clears the mask by more than 0.01 deg, ten times the
 *     interpolation error, so no pass longer than 20 s is missed (see docs/orbits.md).
 *  4. Refinement on the exactly propagated elevation: each crossing is located on the
 *     interpolant, moved by one Newton step (exact value, interpolated slope), bracketed by
 *     +-0.6 ROOT_TOL_S around that (widened tenfold until it holds a sign change) and solved
 *     with gsl_root_fsolver_brent to a bracket of ROOT_TOL_S. The maximum elevation of each
 *     window is found with gsl_min_fminimizer_brent on -elevation, started at the interpolant's
 *     peak, to MAX_TOL_S in time.
 */
#include "orbits.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_TOL_S 1e-4  /* crossing times: width of the final Brent bracket */
#define MAX_TOL_S 1e-2   /* time of the maximum elevation: width of the final bracket */
#define FINE_STEP_S 20.0 /* bracketing step on the interpolant */
#define CULL_MARGIN_RAD (0.2 * ORB_DEG2RAD)
#define MASK_MARGIN_RAD (0.5 * ORB_DEG2RAD) /* ellipsoid: geodetic vs geocentric vertical */

typedef struct station_geo {
    double r[3];  /* ECEF, km */
    double up[3]; /* geodetic vertical */
    double u[3];  /* geocentric unit vector */
    double radius_km;
    double mask_deg;
    double sin_mask; /* sin(mask): the interpolated track is scanned on sin(elevation) */
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

typedef struct worker {
    shared *sh;
    int reports; /* 1 for the calling thread's worker: it calls sh->progress */
    /* current satellite / station */
    size_t sat_idx;
    const orb_sat *sat;
    const station_geo *stn;
    double h_s;   /* coarse step */
    size_t n_int; /* coarse intervals; samples 0..n_int */
    /* scratch (owned) */
    double *trk;         /* (n_int + 1) x 6: ECEF r, v */
    double *unit;        /* (n_int + 1) x 3: unit vectors of r */
    double *ang;         /* n_int + 1: central angle to the station (lower bound when far) */
    unsigned char *cand; /* n_int: interval may hold a visible point */
    size_t cap_trk;
    double *ft, *fv; /* fine samples */
    size_t cap_fine;
    gsl_root_fsolver *root;
    gsl_min_fminimizer *min;
    /* memo of the last exact evaluations (GSL re-evaluates the bracket ends it is given) */
    double memo_t[4], memo_f[4];
    int memo_next;
    int prop_rc; /* first propagation failure while refining */
    double prop_fail_t;
    orb_contact_stats stats;
} worker;

/* ---- elevation functions ------------------------------------------------------------------ */

static double elev_deg_of(const station_geo *g, const double r[3])
{
    double d0 = r[0] - g->r[0], d1 = r[1] - g->r[1], d2 = r[2] - g->r[2];
    double rho = sqrt(d0 * d0 + d1 * d1 + d2 * d2);
    double s = (d0 * g->up[0] + d1 * g->up[1] + d2 * g->up[2]) / rho;
    if (s > 1.0)
        s = 1.0;
    if (s < -1.0)
        s = -1.0;
    return asin(s) * ORB_RAD2DEG;
}

/* Exact: propagate, rotate, elevation minus mask. */
static double f_exact(double t, void *p)
{
    worker *wk = p;
    for (int i = 0; i < 4; i++)
        if (wk->memo_t[i] == t)
            return wk->memo_f[i];
    double r[3];
    wk->stats.exact_evals++;
    int rc = orb_sat_ecef_at(wk->sat, wk->sh->jd_epoch, t, r, NULL);
    double f;
    if (rc != 0) {
        if (!wk->prop_rc) {
            wk->prop_rc = rc;
            wk->prop_fail_t = t;
        }
        f = -180.0; /* finite, so GSL carries on; the satellite is then reported as failed */
    } else {
        f = elev_deg_of(wk->stn, r) - wk->stn->mask_deg;
    }
    wk->memo_t[wk->memo_next] = t;
    wk->memo_f[wk->memo_next] = f;
    wk->memo_next = (wk->memo_next + 1) & 3;
    return f;
}

static double f_exact_neg(double t, void *p)
{
    return -f_exact(t, p);
}

/* Cubic Hermite interpolation of the cached ECEF track. */
static void track_interp(const worker *wk, double t, double r[3])
{
    double x = t / wk->h_s;
    size_t k = x <= 0.0 ? 0 : (size_t)x;
    if (k >= wk->n_int)
        k = wk->n_int - 1;
    double s = x - (double)k;
    double s2 = s * s, s3 = s2 * s;
    double h00 = 2.0 * s3 - 3.0 * s2 + 1.0, h10 = (s3 - 2.0 * s2 + s) * wk->h_s;
    double h01 = -2.0 * s3 + 3.0 * s2, h11 = (s3 - s2) * wk->h_s;
    const double *a = wk->trk + 6 * k, *b = wk->trk + 6 * (k + 1);
    for (int i = 0; i < 3; i++)
        r[i] = h00 * a[i] + h10 * a[3 + i] + h01 * b[i] + h11 * b[3 + i];
}

/* On the interpolated track: sin(elevation) - sin(mask). It has the sign of elevation - mask and
 * the same ordering (sin is increasing on [-90, 90] deg), which is all the scan needs, and it
 * saves an arcsine. */
static double f_interp(double t, void *p)
{
    worker *wk = p;
    double r[3];
    wk->stats.interp_evals++;
    track_interp(wk, t, r);
    const station_geo *g = wk->stn;
    double d0 = r[0] - g->r[0], d1 = r[1] - g->r[1], d2 = r[2] - g->r[2];
    double rho = sqrt(d0 * d0 + d1 * d1 + d2 * d2);
    return (d0 * g->up[0] + d1 * g->up[1] + d2 * g->up[2]) / rho - g->sin_mask;
}

static double f_interp_neg(double t, void *p)
{
    return -f_interp(t, p);
}

/* ---- GSL helpers -------------------------------------------------------------------------- */

/* GSL works on a local time tau = t - t0 (t0 = the bracket's lower end): its minimiser's step
 * floor is sqrt(DBL_EPSILON) |tau|, which would be milliseconds at t ~ 1 day. */
typedef struct local_fn {
    worker *wk;
    double (*fn)(double, void *);
    double t0;
} local_fn;

static double local_eval(double tau, void *p)
{
    const local_fn *l = p;
    return l->fn(l->t0 + tau, l->wk);
}

/* Root of fn in [lo, hi] (signs of fn(lo), fn(hi) differ; checked by the caller). */
static double brent_root(worker *wk, double (*fn)(double, void *), double lo, double hi, double tol)
{
    local_fn l = {wk, fn, lo};
    gsl_function F = {local_eval, &l};
    if (gsl_root_fsolver_set(wk->root, &F, 0.0, hi - lo) != GSL_SUCCESS)
        return 0.5 * (lo + hi);
    double x = 0.5 * (hi - lo);
    for (int it = 0; it < 100; it++) {
        if (gsl_root_fsolver_iterate(wk->root) != GSL_SUCCESS)
            break;
        x = gsl_root_fsolver_root(wk->root);
        double a = gsl_root_fsolver_x_lower(wk->root), b = gsl_root_fsolver_x_upper(wk->root);
        if (gsl_root_test_interval(a, b, tol, 0.0) == GSL_SUCCESS)
            break;
    }
    return lo + x;
}

/* Minimum of fn with a < x < b and fn(x) < fn(a), fn(b) (values given). */
static double brent_min(worker *wk, double (*fn)(double, void *), double a, double x, double b,
                        double fa, double fx, double fb, double tol, double *fmin)
{
    local_fn l = {wk, fn, a};
    gsl_function F = {local_eval, &l};
    if (gsl_min_fminimizer_set_with_values(wk->min, &F, x - a, fx, 0.0, fa, b - a, fb) !=
        GSL_SUCCESS) {
        *fmin = fx;
        return x;
    }
    for (int it = 0; it < 100; it++) {
        if (gsl_min_fminimizer_iterate(wk->min) != GSL_SUCCESS)
            break;
        double lo = gsl_min_fminimizer_x_lower(wk->min), hi = gsl_min_fminimizer_x_upper(wk->min);
        if (gsl_min_test_interval(lo, hi, tol, 0.0) == GSL_SUCCESS)
            break;
    }
    *fmin = gsl_min_fminimizer_f_minimum(wk->min);
    return a + gsl_min_fminimizer_x_minimum(wk->min);
}

/* ---- refinement --------------------------------------------------------------------------- */

/* The exact crossing near the interpolated crossing in [lo, hi] (rise: f goes - to +).
 * The interpolated root ti is typically within a few ms of the exact one; one Newton step from
 * it (exact value, interpolated slope) lands within microseconds, so a bracket of +-ROOT_TOL_S
 * around that usually holds the root and Brent finishes in one or two iterations. If it does
 * not, the bracket widens tenfold until it does. */
static double refine_crossing(worker *wk, double lo, double hi, int rise)
{
    double fl = f_interp(lo, wk), fh = f_interp(hi, wk);
    double ti;
    if ((fl < 0.0) == (fh < 0.0))
        ti = 0.5 * (lo + hi); /* cannot happen for brackets made by the scan */
    else
        ti = brent_root(wk, f_interp, lo, hi, 1e-5);
    double dur = wk->sh->duration_s;
    double tc = ti;
    if (ti > 0.0 && ti < dur) {
        /* slope of the elevation (deg/s) from the interpolant: d(sin el)/dt / cos el */
        double dt = 1e-2;
        double g1 = f_interp(ti + dt, wk) + wk->stn->sin_mask;
        double g0 = f_interp(ti - dt, wk) + wk->stn->sin_mask;
        double ce = cos(wk->stn->mask_deg * ORB_DEG2RAD);
        double slope = (g1 - g0) / (2.0 * dt) / ce * ORB_RAD2DEG;
        double fe = f_exact(ti, wk);
        if (slope != 0.0 && fabs(fe / slope) < 1.0)
            tc = ti - fe / slope;
    }
    for (double d = 0.6 * ROOT_TOL_S; d < 500.0; d *= 10.0) {
        double a = tc - d, b = tc + d;
        if (a < 0.0)
            a = 0.0;
        if (b > dur)
            b = dur;
        double fa = f_exact(a, wk), fb = f_exact(b, wk);
        int ok = rise ? (fa < 0.0 && fb >= 0.0) : (fa >= 0.0 && fb < 0.0);
        if (ok)
            return b - a <= ROOT_TOL_S ? 0.5 * (a + b) : brent_root(wk, f_exact, a, b, ROOT_TOL_S);
    }
    wk->stats.fallbacks++;
    return ti;
}

/* Maximum exact elevation in [a, b] starting from the hint x (interpolant's maximum). */
static void refine_max(worker *wk, double a, double b, double x, double *t_max, double *el_max)
{
    double mask = wk->stn->mask_deg;
    if (b - a < 1e-6) {
        *t_max = a;
        *el_max = f_exact(a, wk) + mask;
        return;
    }
    double d = 0.02;
    if (x < a)
        x = a;
    if (x > b)
        x = b;
    double fx = -f_exact(x, wk);
    /* Walk downhill (in -f) until a bracket lo < x < hi with fx below both ends, or the window
     * edge is the maximum. */
    for (int it = 0; it < 60; it++) {
        double lo = x - d < a ? a : x - d, hi = x + d > b ? b : x + d;
        double flo = lo < x ? -f_exact(lo, wk) : fx, fhi = hi > x ? -f_exact(hi, wk) : fx;
        if (lo < x && hi > x && fx < flo && fx < fhi) {
            double fm;
            double tm = brent_min(wk, f_exact_neg, lo, x, hi, flo, fx, fhi, MAX_TOL_S, &fm);
            *t_max = tm;
            *el_max = -fm + mask;
            return;
        }
        if (flo < fx && flo <= fhi) {
            x = lo;
            fx = flo;
        } else if (fhi < fx) {
            x = hi;
            fx = fhi;
        } else {
            /* x is at a window edge and is the best point, or the function is flat: done. */
            break;
        }
        d *= 1.6;
    }
    *t_max = x;
    *el_max = -fx + mask;
}

/* ---- scanning ----------------------------------------------------------------------------- */

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

typedef struct crossing {
    double lo, hi;
    int rise;
} crossing;

typedef struct xvec {
    crossing *c;
    size_t n, cap;
} xvec;

static int xvec_push(xvec *v, double lo, double hi, int rise)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        crossing *nc = realloc(v->c, cap * sizeof *nc);
        if (!nc)
            return CS_ENOMEM;
        v->c = nc;
        v->cap = cap;
    }
    v->c[v->n].lo = lo;
    v->c[v->n].hi = hi;
    v->c[v->n].rise = rise;
    v->n++;
    return 0;
}

static int ensure_fine(worker *wk, size_t n)
{
    if (n <= wk->cap_fine)
        return 0;
    size_t bytes;
    if (cs_size_mul(n, sizeof(double), &bytes) != 0)
        return CS_ENOMEM;
    double *a = realloc(wk->ft, bytes);
    if (!a)
        return CS_ENOMEM;
    wk->ft = a;
    double *b = realloc(wk->fv, bytes);
    if (!b)
        return CS_ENOMEM;
    wk->fv = b;
    wk->cap_fine = n;
    return 0;
}

/* Interpolated extremum of f between samples i-1 and i+1 (sample i is the extreme one). */
static double interp_extremum(worker *wk, size_t i, int maximum, double *fext)
{
    double a = wk->ft[i - 1], x = wk->ft[i], b = wk->ft[i + 1];
    double sg = maximum ? -1.0 : 1.0;
    double fa = sg * wk->fv[i - 1], fx = sg * wk->fv[i], fb = sg * wk->fv[i + 1];
    if (!(fx < fa && fx < fb)) {
        *fext = wk->fv[i];
        return x;
    }
    double fm;
    double tm = brent_min(wk, maximum ? f_interp_neg : f_interp, a, x, b, fa, fx, fb, 1e-3, &fm);
    *fext = sg * fm;
    return tm;
}

/* Windows of the current pair in the coarse intervals k0 .. k1-1. */
static int scan_run(worker *wk, size_t k0, size_t k1, uint32_t sat, uint32_t st, wvec *out,
                    xvec *xs)
{
    const double dur = wk->sh->duration_s;
    size_t m = (size_t)ceil(wk->h_s / FINE_STEP_S - 1e-9);
    if (m < 1)
        m = 1;
    const size_t edge_sub = 20; /* finer sampling in the first and last fine step */
    size_t n_pts = (k1 - k0) * m + 1 + 2 * edge_sub;
    if (ensure_fine(wk, n_pts) != 0)
        return CS_ENOMEM;
    size_t np = 0;
    for (size_t k = k0; k < k1; k++) {
        for (size_t j = 0; j < m; j++) {
            double t0 = ((double)k + (double)j / (double)m) * wk->h_s;
            int first = k == 0 && j == 0, last = k + 1 == wk->n_int && j + 1 == m;
            size_t sub = first || last ? edge_sub : 1;
            for (size_t q = 0; q < sub; q++)
                wk->ft[np++] = t0 + wk->h_s / (double)m * (double)q / (double)sub;
        }
    }
    wk->ft[np++] = k1 == wk->n_int ? dur : (double)k1 * wk->h_s;
    CS_ASSERT(np <= n_pts);
    for (size_t i = 0; i < np; i++)
        wk->fv[i] = f_interp(wk->ft[i], wk);

    /* Crossings, in time order. */
    xs->n = 0;
    for (size_t i = 0; i + 1 < np; i++) {
        double fa = wk->fv[i], fb = wk->fv[i + 1];
        if (i > 0) {
            double fp = wk->fv[i - 1];
            if (fa < 0.0 && fp < fa && fa > fb) { /* hidden pass? */
                double fe, te = interp_extremum(wk, i, 1, &fe);
                if (fe >= 0.0) {
                    if (xvec_push(xs, wk->ft[i - 1], te, 1) || xvec_push(xs, te, wk->ft[i + 1], 0))
                        return CS_ENOMEM;
                }
            } else if (fa >= 0.0 && fp > fa && fa < fb) { /* hidden gap? */
                double fe, te = interp_extremum(wk, i, 0, &fe);
                if (fe < 0.0) {
                    if (xvec_push(xs, wk->ft[i - 1], te, 0) || xvec_push(xs, te, wk->ft[i + 1], 1))
                        return CS_ENOMEM;
                }
            }
        }
        if (fa < 0.0 && fb >= 0.0) {
            if (xvec_push(xs, wk->ft[i], wk->ft[i + 1], 1))
                return CS_ENOMEM;
        } else if (fa >= 0.0 && fb < 0.0) {
            if (xvec_push(xs, wk->ft[i], wk->ft[i + 1], 0))
                return CS_ENOMEM;
        }
    }

    /* Windows. */
    int inside = wk->fv[0] >= 0.0;
    double t_start = wk->ft[0];
    unsigned flags = inside && wk->ft[0] == 0.0 ? ORB_WIN_OPEN_START : 0u;
    double hint_lo = wk->ft[0];
    for (size_t c = 0; c <= xs->n; c++) {
        double t_end;
        unsigned end_flags = 0;
        if (c < xs->n) {
            const crossing *x = &xs->c[c];
            if (x->rise) {
                if (!inside) {
                    t_start = refine_crossing(wk, x->lo, x->hi, 1);
                    hint_lo = x->lo;
                    flags = 0;
                    inside = 1;
                }
                continue;
            }
            if (!inside)
                continue;
            t_end = refine_crossing(wk, x->lo, x->hi, 0);
            inside = 0;
            /* the sample maximum between hint_lo and x->hi gives the interpolated peak */
        } else {
            if (!inside)
                break;
            t_end = wk->ft[np - 1];
            if (t_end >= dur)
                end_flags = ORB_WIN_OPEN_END;
            inside = 0;
        }
        double hint_hi = c < xs->n ? xs->c[c].hi : wk->ft[np - 1];
        if (t_end <= t_start)
            continue; /* a crossing pair that collapsed under refinement */
        /* Interpolated peak: the largest sample in the window, refined between its neighbours. */
        size_t best = 0;
        double fbest = -1e300;
        for (size_t i = 0; i < np; i++) {
            if (wk->ft[i] < hint_lo || wk->ft[i] > hint_hi)
                continue;
            if (wk->fv[i] > fbest) {
                fbest = wk->fv[i];
                best = i;
            }
        }
        double t_hint = wk->ft[best];
        if (best > 0 && best + 1 < np) {
            double fe;
            t_hint = interp_extremum(wk, best, 1, &fe);
        }
        orb_window w;
        memset(&w, 0, sizeof w); /* padding too: plans compare bytewise across thread counts */
        w.sat = sat;
        w.station = st;
        w.t_start_s = t_start;
        w.t_end_s = t_end;
        w.flags = flags | end_flags;
        refine_max(wk, t_start, t_end, t_hint, &w.t_max_s, &w.max_elev_deg);
        flags = 0;
        /* A pass the interpolant grazed but the exact track does not reach (its crossings could
         * not be bracketed): not a window. */
        if (w.max_elev_deg < wk->stn->mask_deg &&
            !(w.flags & (ORB_WIN_OPEN_START | ORB_WIN_OPEN_END)))
            continue;
        if (wvec_push(out, &w) != 0)
            return CS_ENOMEM;
    }
    return 0;
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
    double *u = realloc(wk->unit, b3);
    if (!u)
        return CS_ENOMEM;
    wk->unit = u;
    double *an = realloc(wk->ang, b3 / 3);
    if (!an)
        return CS_ENOMEM;
    wk->ang = an;
    unsigned char *cd = realloc(wk->cand, n);
    if (!cd)
        return CS_ENOMEM;
    wk->cand = cd;
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

static int process_sat(worker *wk, size_t si)
{
    shared *sh = wk->sh;
    const orb_sat *sat = &sh->sats[si];
    wk->sat_idx = si;
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
    double r_max = 0.0, rate_max = 0.0;
    for (size_t k = 0; k <= n_int; k++) {
        double t = k == n_int ? sh->duration_s : (double)k * wk->h_s;
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
        double *u = wk->unit + 3 * k;
        u[0] = rv[0] / r;
        u[1] = rv[1] / r;
        u[2] = rv[2] / r;
        if (r > r_max)
            r_max = r;
        if (v / r > rate_max)
            rate_max = v / r;
    }
    /* Bound on the direction's angular rate between samples too. */
    double w_dir = 1.1 * (rate_max > w_max ? rate_max : w_max);

    xvec xs = {0};
    for (size_t j = 0; j < sh->n_st; j++) {
        if (j > 0)
            pair_done(wk);
        const station_geo *g = &sh->st[j];
        wk->stn = g;
        for (int q = 0; q < 4; q++)
            wk->memo_t[q] = NAN;
        double eps = g->mask_deg * ORB_DEG2RAD - MASK_MARGIN_RAD;
        double arg = g->radius_km * cos(eps) / r_max;
        if (arg > 1.0)
            arg = 1.0;
        double lam = acos(arg) - eps;
        double thr = lam + w_dir * wk->h_s * 0.5 + CULL_MARGIN_RAD;
        if (thr <= 0.0) {
            wk->stats.pairs_culled++;
            continue;
        }
        /* Angles are computed exactly out to thr + w_dir h (beyond, that is a lower bound). */
        double wide = thr + w_dir * wk->h_s;
        double cos_wide = wide >= ORB_PI ? -2.0 : cos(wide);
        size_t n_near = 0;
        for (size_t k = 0; k <= n_int; k++) {
            const double *u = wk->unit + 3 * k;
            double c = u[0] * g->u[0] + u[1] * g->u[1] + u[2] * g->u[2];
            if (c >= cos_wide) {
                wk->ang[k] = acos(c > 1.0 ? 1.0 : c);
                n_near++;
            } else {
                wk->ang[k] = wide;
            }
        }
        if (n_near == 0) {
            wk->stats.pairs_culled++;
            continue;
        }
        /* Over an interval the central angle is at least (ang[k] + ang[k+1] - w_dir h) / 2, so
         * an interval can only hold a point in view when that bound is within the cone (plus
         * margin): ang[k] + ang[k+1] < 2 thr. */
        double lim = 2.0 * thr;
        size_t n_cand = 0;
        for (size_t k = 0; k < n_int; k++) {
            wk->cand[k] = (unsigned char)(wk->ang[k] + wk->ang[k + 1] < lim);
            n_cand += wk->cand[k];
        }
        if (n_cand == 0) {
            wk->stats.pairs_culled++;
            continue;
        }
        /* Runs of candidate intervals. */
        size_t k = 0;
        while (k < n_int) {
            if (!wk->cand[k]) {
                k++;
                continue;
            }
            size_t k0 = k;
            while (k < n_int && wk->cand[k])
                k++;
            wk->stats.runs++;
            int rc = scan_run(wk, k0, k, (uint32_t)si, (uint32_t)j, &sh->per_sat[si], &xs);
            if (rc != 0) {
                free(xs.c);
                sh->sat_rc[si] = rc;
                return rc;
            }
            if (wk->prop_rc) {
                free(xs.c);
                sh->sat_rc[si] = wk->prop_rc;
                sh->sat_fail_t[si] = wk->prop_fail_t;
                return CS_ERANGE;
            }
        }
    }
    free(xs.c);
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
    free(wk->unit);
    free(wk->ang);
    free(wk->cand);
    free(wk->ft);
    free(wk->fv);
    if (wk->root)
        gsl_root_fsolver_free(wk->root);
    if (wk->min)
        gsl_min_fminimizer_free(wk->min);
}

static int cmp_window(const void *pa, const void *pb)
{
    const orb_window *a = pa, *b = pb;
    if (a->t_start_s != b->t_start_s)
        return a->t_start_s < b->t_start_s ? -1 : 1;
    if (a->sat != b->sat)
        return a->sat < b->sat ? -1 : 1;
    if (a->station != b->station)
        return a->station < b->station ? -1 : 1;
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
        wks[i].root = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
        wks[i].min = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
        if (!wks[i].root || !wks[i].min) {
            rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "contacts: out of memory (GSL solvers)");
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
        if (cs_size_mul(total, sizeof(orb_window), &bytes) || !(plan->w = malloc(bytes))) {
            rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "contacts: out of memory for %zu windows",
                            total);
            goto out;
        }
        size_t k = 0;
        for (size_t i = 0; i < n_sats; i++) {
            if (sh.per_sat[i].n)
                memcpy(plan->w + k, sh.per_sat[i].w, sh.per_sat[i].n * sizeof(orb_window));
            k += sh.per_sat[i].n;
        }
        qsort(plan->w, total, sizeof(orb_window), cmp_window);
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
 *  - one thread's buffers: 81 bytes per coarse sample (the ECEF track, its unit vectors, the
 *    angles and candidate flags) and 16 bytes per fine sample of the longest run of candidate
 *    intervals, at most a pass (the whole duration for orbits of 12 h or more, which a station
 *    can follow for hours). */
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
    double revs = c->duration_s * s->n_rads / (2.0 * ORB_PI), per_sat = 0, lam_max = 0;
    for (size_t b = 0; b < MASK_BINS; b++) {
        if (!c->mask_count[b])
            continue;
        double eps = (double)b * MASK_BIN_DEG * ORB_DEG2RAD - 0.5 * ORB_PI; /* its lower edge */
        double arg = ORB_WGS84_A_KM * cos(eps) / r_max;
        double lam = arg < 1.0 ? acos(arg) - eps : 0.0;
        if (lam <= 0.0)
            continue;
        per_sat += c->mask_count[b] * (revs + 1.0) * sin(lam);
        if (lam > lam_max)
            lam_max = lam;
    }
    c->windows += k * per_sat;
    c->window_bytes = c->windows * (double)sizeof(orb_window) * 3.0; /* lists grown by doubling,
                                                                        then the sorted copy */
    double rel = s->n_rads - ORB_EARTH_ROT_RADS, run_s = c->duration_s;
    if (s->n_rads > 2.0 * ORB_EARTH_ROT_RADS) {
        /* the longest run: the cone plus the culling margins, crossed at the slowest relative
         * rate (a prograde equatorial orbit) */
        double pass_s = 2.0 * (lam_max + 1.1 * w_max * h + CULL_MARGIN_RAD) / rel + 2.0 * h;
        if (pass_s < run_s)
            run_s = pass_s;
    }
    double fine = ceil(run_s / h) * ceil(h / FINE_STEP_S - 1e-9) + 41.0;
    double bytes = 81.0 * samples + 16.0 * fine;
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

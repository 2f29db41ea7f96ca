/* test_orb_prop.c - Kepler and J2 propagators, Walker shells, satellites from TLEs. */
#include "orb_internal.h"
#include "orbits.h"
#include "t.h"

#include <stdlib.h>

static double norm3(const double a[3])
{
    return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
}

static void cross3(const double a[3], const double b[3], double c[3])
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static double wrap180(double d)
{
    d = fmod(d, 360.0);
    if (d > 180.0)
        d -= 360.0;
    if (d <= -180.0)
        d += 360.0;
    return d;
}

/* RAAN (deg) and argument of latitude (deg) of a TEME state (two-body states only). */
static void node_and_u(const double r[3], const double v[3], double *raan_deg, double *u_deg)
{
    double h[3];
    cross3(r, v, h);
    double raan = atan2(h[0], -h[1]);
    double nx = cos(raan), ny = sin(raan); /* node direction */
    double hn = norm3(h);
    double hx[3] = {h[0] / hn, h[1] / hn, h[2] / hn};
    double m[3]; /* in-plane unit vector 90 deg ahead of the node: h x n */
    double nvec[3] = {nx, ny, 0.0};
    cross3(hx, nvec, m);
    double u = atan2(r[0] * m[0] + r[1] * m[1] + r[2] * m[2], r[0] * nx + r[1] * ny);
    *raan_deg = raan * ORB_RAD2DEG;
    *u_deg = u * ORB_RAD2DEG;
}

static orb_elements elements(double a_km, double e, double i_deg, double raan_deg, double argp_deg,
                             double m_deg)
{
    orb_elements el;
    memset(&el, 0, sizeof el);
    el.satnum = 1;
    el.jd_epoch = 2461041.5;
    el.incl_rad = i_deg * ORB_DEG2RAD;
    el.raan_rad = raan_deg * ORB_DEG2RAD;
    el.ecc = e;
    el.argp_rad = argp_deg * ORB_DEG2RAD;
    el.mean_anom_rad = m_deg * ORB_DEG2RAD;
    el.n_radmin = orb__kozai_from_a(a_km, e, el.incl_rad);
    return el;
}

static void test_kepler(void)
{
    orb_sat s;
    cs_err e;
    cs_err_clear(&e);
    orb_elements el = elements(9000.0, 0.2, 40.0, 30.0, 60.0, 10.0);
    T_EQ(orb_sat_init(&s, "k", ORB_PROP_KEPLER, &el, &e), 0);
    T_NEAR(s.a_km, 9000.0, 1e-8);
    double period = 2.0 * ORB_PI * sqrt(9000.0 * 9000.0 * 9000.0 / ORB_MU_KM3S2);
    T_NEAR(2.0 * ORB_PI / s.n_rads, period, 1e-6);
    double r0[3], v0[3], r[3], v[3];
    T_EQ(orb_sat_state_at(&s, 2461041.5, 0.0, r0, v0), 0);
    double energy0 =
        0.5 * (v0[0] * v0[0] + v0[1] * v0[1] + v0[2] * v0[2]) - ORB_MU_KM3S2 / norm3(r0);
    T_NEAR(energy0, -ORB_MU_KM3S2 / (2.0 * 9000.0), 1e-9);
    double h0[3], h[3];
    cross3(r0, v0, h0);
    double worst_e = 0.0, worst_h = 0.0;
    for (int k = 1; k <= 500; k++) {
        double t = k * period / 137.0;
        orb_sat_state_at(&s, 2461041.5, t, r, v);
        double en = 0.5 * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) - ORB_MU_KM3S2 / norm3(r);
        if (fabs(en - energy0) > worst_e)
            worst_e = fabs(en - energy0);
        cross3(r, v, h);
        double dh = sqrt((h[0] - h0[0]) * (h[0] - h0[0]) + (h[1] - h0[1]) * (h[1] - h0[1]) +
                         (h[2] - h0[2]) * (h[2] - h0[2]));
        if (dh > worst_h)
            worst_h = dh;
    }
    T_TRUE(worst_e < 1e-9);
    T_TRUE(worst_h < 1e-7);
    /* perigee radius a(1-e) at M = 0, and the state returns after one period */
    orb_sat_state_at(&s, 2461041.5, period, r, v);
    double dr[3] = {r[0] - r0[0], r[1] - r0[1], r[2] - r0[2]};
    T_NEAR(norm3(dr), 0.0, 1e-6);
    T_NEAR(v[0], v0[0], 1e-9);
    T_NEAR(v[2], v0[2], 1e-9);
    orb_sat_state_at(&s, 2461041.5, -10.0 / 360.0 * period, r, v); /* M = 0: perigee */
    T_NEAR(norm3(r), 9000.0 * 0.8, 1e-6);
    /* orb_sat_state takes a Julian date */
    double r2[3], v2[3];
    orb_sat_state(&s, 2461041.5 + 0.25, r2, v2);
    orb_sat_state_at(&s, 2461041.5, 21600.0, r, v);
    T_NEAR(r2[0], r[0], 1e-6);
}

static double rz_at(const orb_sat *s, double t, double r[3])
{
    double v[3];
    orb_sat_state_at(s, s->el.jd_epoch, t, r, v);
    return r[2];
}

/* First ascending node crossing (z: - to +) after t0; returns its time, r at it. */
static double node_crossing(const orb_sat *s, double t0, double r[3])
{
    double a = t0, fa = rz_at(s, a, r);
    for (int k = 0; k < 100000; k++) {
        double b = a + 30.0, fb = rz_at(s, b, r);
        if (fa < 0.0 && fb >= 0.0) {
            for (int it = 0; it < 80; it++) {
                double m = 0.5 * (a + b);
                if (rz_at(s, m, r) < 0.0)
                    a = m;
                else
                    b = m;
            }
            rz_at(s, b, r);
            return b;
        }
        a = b;
        fa = fb;
    }
    return NAN;
}

/* First perigee passage (minimum radius) after t0. */
static double perigee_time(const orb_sat *s, double t0)
{
    double r[3];
    double prev2 = 1e30, prev = 1e30;
    for (int k = 0; k < 100000; k++) {
        double t = t0 + 20.0 * k;
        rz_at(s, t, r);
        double cur = norm3(r);
        if (k >= 2 && prev < prev2 && prev <= cur) {
            double a = t - 40.0, b = t; /* golden section on |r| */
            const double g = 0.5 * (sqrt(5.0) - 1.0);
            for (int it = 0; it < 200 && b - a > 1e-6; it++) {
                double x1 = b - g * (b - a), x2 = a + g * (b - a), r1[3], r2[3];
                rz_at(s, x1, r1);
                rz_at(s, x2, r2);
                if (norm3(r1) < norm3(r2))
                    b = x2;
                else
                    a = x1;
            }
            return 0.5 * (a + b);
        }
        prev2 = prev;
        prev = cur;
    }
    return NAN;
}

static void test_j2(void)
{
    cs_err e;
    cs_err_clear(&e);
    /* Sun-synchronous at 800 km needs i = 98.6 deg (published SSO tables, e.g. Wertz, Orbit &
     * Constellation Design): the node then advances 360 deg per tropical year. The node is
     * measured where the track crosses the equator northbound. */
    orb_sat s;
    double a = ORB_WGS84_A_KM + 800.0;
    orb_elements el = elements(a, 0.0, 98.6, 10.0, 0.0, 0.0);
    T_EQ(orb_sat_init(&s, "sso", ORB_PROP_J2, &el, &e), 0);
    double r[3], v[3];
    double t0 = node_crossing(&s, -100.0, r);
    T_NEAR(t0, 0.0, 1e-6);
    double raan0 = atan2(r[1], r[0]) * ORB_RAD2DEG;
    T_NEAR(raan0, 10.0, 1e-9);
    double t1 = node_crossing(&s, 10.0 * 86400.0, r);
    double raan1 = atan2(r[1], r[0]) * ORB_RAD2DEG;
    double rate = wrap180(raan1 - raan0) / ((t1 - t0) / 86400.0);
    T_NEAR(rate, 360.0 / 365.2422, 0.01);
    /* closed form -1.5 n J2 (Re/a)^2 cos i */
    double n = sqrt(ORB_MU_KM3S2 / (a * a * a));
    double k = 1.5 * n * ORB_J2 * (ORB_WGS84_A_KM / a) * (ORB_WGS84_A_KM / a);
    double si2 = pow(sin(98.6 * ORB_DEG2RAD), 2);
    T_NEAR(rate, -k * cos(98.6 * ORB_DEG2RAD) * 86400.0 * ORB_RAD2DEG, 1e-9);
    /* nodal period 2 pi / (dargp/dt + dM/dt) */
    double udot = k * (2.0 - 2.5 * si2) + n + k * (1.0 - 1.5 * si2);
    double t2 = node_crossing(&s, t0 + 60.0, r);
    T_NEAR(t2 - t0, 2.0 * ORB_PI / udot, 1e-6);

    /* Velocity is the derivative of the position model (node/perigee rates included). */
    orb_elements el2 = elements(8000.0, 0.1, 50.0, 20.0, 30.0, 40.0);
    T_EQ(orb_sat_init(&s, "ecc", ORB_PROP_J2, &el2, &e), 0);
    double rp[3], rm[3], vv[3];
    orb_sat_state_at(&s, el2.jd_epoch, 1e6, r, vv);
    orb_sat_state_at(&s, el2.jd_epoch, 1e6 + 0.01, rp, v);
    orb_sat_state_at(&s, el2.jd_epoch, 1e6 - 0.01, rm, v);
    for (int i = 0; i < 3; i++)
        T_NEAR(vv[i], (rp[i] - rm[i]) / 0.02, 1e-7);

    /* Anomalistic period 2 pi / (dM/dt) and nodal period of an eccentric orbit; at the critical
     * inclination (sin^2 i = 4/5) the perigee stands still, so both periods are equal. */
    for (int pass = 0; pass < 2; pass++) {
        double inc = pass == 0 ? asin(sqrt(0.8)) * ORB_RAD2DEG : 30.0;
        double ecc = 0.05, a3 = 8000.0;
        orb_elements el3 = elements(a3, ecc, inc, 0.0, 90.0, 0.0);
        T_EQ(orb_sat_init(&s, "ecc", ORB_PROP_J2, &el3, &e), 0);
        double n3 = sqrt(ORB_MU_KM3S2 / (a3 * a3 * a3));
        double p3 = a3 * (1.0 - ecc * ecc);
        double k3 = 1.5 * n3 * ORB_J2 * pow(ORB_WGS84_A_KM / p3, 2);
        double s2 = pow(sin(inc * ORB_DEG2RAD), 2);
        double mdot = n3 + k3 * sqrt(1.0 - ecc * ecc) * (1.0 - 1.5 * s2);
        double wdot = k3 * (2.0 - 2.5 * s2);
        double tp0 = perigee_time(&s, -1000.0), tp1 = perigee_time(&s, tp0 + 100.0);
        T_NEAR(tp0, 0.0, 1e-3);
        T_NEAR(tp1 - tp0, 2.0 * ORB_PI / mdot, 1e-3);
        if (pass == 0) {
            /* (with a moving perigee the nodal period of an eccentric orbit also depends on
             * where the node lies, so it is only checked here) */
            double tn0 = node_crossing(&s, 0.0, r), tn1 = node_crossing(&s, tn0 + 100.0, r);
            T_NEAR(wdot, 0.0, 1e-15);
            T_NEAR(tn1 - tn0, 2.0 * ORB_PI / mdot, 1e-6);
            T_NEAR(tn1 - tn0, tp1 - tp0, 1e-3);
        }
    }
}

static void test_walker(void)
{
    cs_err e;
    cs_err_clear(&e);
    orb_walker w = {550.0, 53.0, 24, 3, 1, 10.0};
    orb_sat *sats = NULL;
    size_t n = 0;
    T_EQ(orb_walker_build(&w, 2461041.5, ORB_PROP_KEPLER, &sats, &n, &e), 0);
    T_EQ(n, 24);
    T_STREQ(sats[0].name, "W-p1-s1");
    T_STREQ(sats[8 + 2].name, "W-p2-s3");
    T_STREQ(sats[23].name, "W-p3-s8");
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double r[3], v[3], raan, u;
        orb_sat_state_at(&sats[i], 2461041.5, 0.0, r, v);
        node_and_u(r, v, &raan, &u);
        int p = (int)i / 8, s = (int)i % 8;
        /* RAAN spacing 360/P, in-plane spacing 360/S, phase offset F*360/T per plane */
        if (fabs(wrap180(raan - (10.0 + 120.0 * p))) > 1e-9)
            bad++;
        if (fabs(wrap180(u - (45.0 * s + 15.0 * p))) > 1e-9)
            bad++;
        if (fabs(norm3(r) - (ORB_WGS84_A_KM + 550.0)) > 1e-6)
            bad++;
        double h[3];
        cross3(r, v, h);
        if (fabs(acos(h[2] / norm3(h)) * ORB_RAD2DEG - 53.0) > 1e-9)
            bad++;
    }
    T_EQ(bad, 0);
    free(sats);

    /* SGP4: the Brouwer mean semi-major axis is the nominal radius; the orbit-averaged radius of
     * a circular SGP4 orbit is within a few km of it. */
    orb_walker w2 = {550.0, 53.0, 4, 2, 1, 0.0};
    int rc = orb_walker_build(&w2, 2461041.5, ORB_PROP_SGP4, &sats, &n, &e);
    T_EQ(rc, 0);
    if (rc == 0) {
        T_NEAR(sats[0].a_km, ORB_WGS84_A_KM + 550.0, 1e-6);
        T_NEAR(sats[0].el.bstar, 0.0, 0.0);
        double sum = 0.0, r[3], v[3];
        int nok = 0;
        for (int k = 0; k < 600; k++) {
            if (orb_sat_state_at(&sats[1], 2461041.5, k * 5760.0 / 600.0, r, v) == 0) {
                sum += norm3(r);
                nok++;
            }
        }
        T_EQ(nok, 600);
        T_NEAR(sum / 600.0, ORB_WGS84_A_KM + 550.0, 10.0);
        free(sats);
    }

    /* Invalid shells. */
    orb_walker bad1 = {550.0, 53.0, 10, 3, 1, 0.0};
    T_EQ(orb_walker_build(&bad1, 2461041.5, ORB_PROP_KEPLER, &sats, &n, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "divisible");
    orb_walker bad2 = {550.0, 53.0, 10, 5, 5, 0.0};
    T_EQ(orb_walker_build(&bad2, 2461041.5, ORB_PROP_KEPLER, &sats, &n, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "phasing");
    orb_walker bad3 = {-5.0, 53.0, 10, 5, 1, 0.0};
    T_EQ(orb_walker_build(&bad3, 2461041.5, ORB_PROP_KEPLER, &sats, &n, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "altitude_km");
    T_TRUE(sats == NULL && n == 0);
}

static void test_tle_select(void)
{
    orb_tle t[3];
    memset(t, 0, sizeof t);
    const char *names[3] = {"SAT-A", "SAT-B", ""};
    for (int i = 0; i < 3; i++) {
        snprintf(t[i].name, sizeof t[i].name, "%s", names[i]);
        t[i].el = elements(7100.0 + 10 * i, 0.001, 98.0, 0.0, 0.0, 0.0);
        t[i].el.satnum = 40000 + i;
    }
    cs_err e;
    cs_err_clear(&e);
    orb_sat *s = NULL;
    size_t n = 0;
    T_EQ(orb_sats_from_tle(t, 3, NULL, 0, ORB_PROP_J2, &s, &n, &e), 0);
    T_EQ(n, 3);
    T_STREQ(s[2].name, "40002");
    T_NEAR(s[1].a_km, 7110.0, 1e-6);
    free(s);
    const char *sel[2] = {"SAT-B", "SAT-A"};
    T_EQ(orb_sats_from_tle(t, 3, sel, 2, ORB_PROP_KEPLER, &s, &n, &e), 0);
    T_EQ(n, 2);
    T_STREQ(s[0].name, "SAT-B");
    T_STREQ(s[1].name, "SAT-A");
    T_EQ(s[0].prop, ORB_PROP_KEPLER);
    free(s);
    const char *sel2[2] = {"SAT-A", "SAT-C"};
    T_EQ(orb_sats_from_tle(t, 3, sel2, 2, ORB_PROP_KEPLER, &s, &n, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "unknown satellite \"SAT-C\"; available: SAT-A, SAT-B, 40002");
    T_TRUE(s == NULL && n == 0);
    const char *sel3[2] = {"SAT-A", "SAT-A"};
    T_EQ(orb_sats_from_tle(t, 3, sel3, 2, ORB_PROP_KEPLER, &s, &n, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "selected twice");

    orb_prop_kind k;
    T_EQ(orb_prop_parse("j2", &k, &e), 0);
    T_EQ(k, ORB_PROP_J2);
    T_EQ(orb_prop_parse("sgp4", &k, &e), 0);
    T_EQ(k, ORB_PROP_SGP4);
    T_EQ(orb_prop_parse("kepler", &k, &e), 0);
    T_EQ(k, ORB_PROP_KEPLER);
    T_EQ(orb_prop_parse("sgp8", &k, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "expected sgp4, j2 or kepler");
    T_STREQ(orb_prop_name(ORB_PROP_J2), "j2");
}

int main(void)
{
    test_kepler();
    test_j2();
    test_walker();
    test_tle_select();
    return t_done();
}

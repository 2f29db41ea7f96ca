/* orb_prop.c - satellites and their propagators: SGP4 (orb_sgp4.h), two-body, secular J2.
 *
 * Kepler / J2 use the mean elements of the satellite record as osculating (Kepler) or mean (J2)
 * elements referred to TEME. The semi-major axis is SGP4's Brouwer mean semi-major axis recovered
 * from the Kozai mean motion, so a Walker shell or a TLE has the same size under all three
 * propagators. J2 adds the first-order secular rates (e.g. Vallado, Fundamentals of
 * Astrodynamics, 4th ed., eqs. 9-41):
 *   k = 1.5 n J2 (Re / p)^2,  p = a (1 - e^2),  n = sqrt(mu / a^3)
 *   dRAAN/dt = -k cos i
 *   dargp/dt =  k (2 - 2.5 sin^2 i)
 *   dM/dt    =  n + k sqrt(1 - e^2) (1 - 1.5 sin^2 i)
 * The velocity returned is the exact time derivative of the position model (the rates of the
 * node and perigee included), so interpolating the track with it is consistent.
 */
#include "orb_internal.h"
#include "orbits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *orb_prop_name(orb_prop_kind k)
{
    switch (k) {
    case ORB_PROP_SGP4:
        return "sgp4";
    case ORB_PROP_J2:
        return "j2";
    case ORB_PROP_KEPLER:
        return "kepler";
    }
    return "?";
}

int orb_prop_parse(const char *s, orb_prop_kind *k, cs_err *err)
{
    for (int i = 0; s && i < ORB_PROP_KINDS; i++)
        if (strcmp(s, orb_prop_name((orb_prop_kind)i)) == 0) {
            *k = (orb_prop_kind)i;
            return 0;
        }
    return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                      "unknown propagator \"%s\": expected sgp4, j2 or kepler", s ? s : "");
}

/* xke of SGP4: sqrt(mu) in earth radii^1.5 per minute. */
static double wgs72_xke(void)
{
    return 60.0 /
           sqrt(ORB__WGS72_RE_KM * ORB__WGS72_RE_KM * ORB__WGS72_RE_KM / ORB__WGS72_MU_KM3S2);
}

void orb__unkozai(double n_kozai_radmin, double ecc, double incl_rad, double *n_brouwer_radmin,
                  double *a_km)
{
    double xke = wgs72_xke();
    double ci = cos(incl_rad);
    double omeosq = 1.0 - ecc * ecc;
    double d1 = 0.75 * ORB__WGS72_J2 * (3.0 * ci * ci - 1.0) / (sqrt(omeosq) * omeosq);
    double ak = pow(xke / n_kozai_radmin, 2.0 / 3.0);
    double del = d1 / (ak * ak);
    double adel = ak * (1.0 - del * del - del * (1.0 / 3.0 + 134.0 * del * del / 81.0));
    del = d1 / (adel * adel);
    double nb = n_kozai_radmin / (1.0 + del);
    *n_brouwer_radmin = nb;
    *a_km = pow(xke / nb, 2.0 / 3.0) * ORB__WGS72_RE_KM;
}

double orb__kozai_from_a(double a_km, double ecc, double incl_rad)
{
    double xke = wgs72_xke();
    double n = xke / pow(a_km / ORB__WGS72_RE_KM, 1.5);
    for (int it = 0; it < 50; it++) {
        double nb, a;
        orb__unkozai(n, ecc, incl_rad, &nb, &a);
        double ratio = a / a_km;
        n *= pow(ratio, 1.5);
        if (fabs(ratio - 1.0) < 1e-15)
            break;
    }
    return n;
}

int orb_sat_init(orb_sat *s, const char *name, orb_prop_kind prop, const orb_elements *el,
                 cs_err *err)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
    s->prop = prop;
    s->el = *el;
    if (!(el->n_radmin > 0.0) || !(el->ecc >= 0.0 && el->ecc < 1.0) || !isfinite(el->jd_epoch))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "satellite %s: elements cannot be propagated (mean motion %g rad/min, "
                          "eccentricity %g)",
                          s->name, el->n_radmin, el->ecc);
    double nb, a;
    orb__unkozai(el->n_radmin, el->ecc, el->incl_rad, &nb, &a);
    s->a_km = a;
    double n0 = sqrt(ORB_MU_KM3S2 / (a * a * a));
    if (prop == ORB_PROP_J2) {
        double e2 = el->ecc * el->ecc;
        double p = a * (1.0 - e2);
        double si = sin(el->incl_rad), ci = cos(el->incl_rad);
        double k = 1.5 * n0 * ORB_J2 * (ORB_WGS84_A_KM / p) * (ORB_WGS84_A_KM / p);
        s->raan_dot_rads = -k * ci;
        s->argp_dot_rads = k * (2.0 - 2.5 * si * si);
        s->n_rads = n0 + k * sqrt(1.0 - e2) * (1.0 - 1.5 * si * si);
    } else {
        s->n_rads = n0;
    }
    if (a * (1.0 - el->ecc) < ORB_WGS84_A_KM * 0.9)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "satellite %s: perigee radius %.1f km is inside the Earth", s->name,
                          a * (1.0 - el->ecc));
    if (prop == ORB_PROP_SGP4) {
        cs_err e2;
        cs_err_clear(&e2);
        if (orb_sgp4_init(&s->sgp4, el, &e2) != 0)
            return cs_err_set(err, e2.code ? e2.code : CS_EINVAL, NULL, 0, 0, "satellite %s: %s",
                              s->name, e2.msg);
    }
    return 0;
}

/* Two-body / secular-J2 state at dt_s from the element epoch. */
static void kepler_state(const orb_sat *s, double dt_s, double r[3], double v[3])
{
    const orb_elements *el = &s->el;
    double e = el->ecc;
    double m = fmod(el->mean_anom_rad + s->n_rads * dt_s, 2.0 * ORB_PI);
    double raan = el->raan_rad + s->raan_dot_rads * dt_s;
    double argp = el->argp_rad + s->argp_dot_rads * dt_s;
    /* Kepler's equation by Newton's method. */
    double ea = e < 0.8 ? m : ORB_PI;
    for (int it = 0; it < 50; it++) {
        double f = ea - e * sin(ea) - m;
        double step = f / (1.0 - e * cos(ea));
        ea -= step;
        if (fabs(step) < 1e-15)
            break;
    }
    double ce = cos(ea), se = sin(ea);
    double sq = sqrt(1.0 - e * e);
    double a = s->a_km;
    double xp = a * (ce - e), yp = a * sq * se;
    double rdot = s->n_rads * a / (1.0 - e * ce);
    double vxp = -rdot * se, vyp = rdot * sq * ce;

    double co = cos(raan), so = sin(raan), cw = cos(argp), sw = sin(argp);
    double ci = cos(el->incl_rad), si = sin(el->incl_rad);
    double px = co * cw - so * sw * ci, py = so * cw + co * sw * ci, pz = sw * si;
    double qx = -co * sw - so * cw * ci, qy = -so * sw + co * cw * ci, qz = cw * si;
    r[0] = xp * px + yp * qx;
    r[1] = xp * py + yp * qy;
    r[2] = xp * pz + yp * qz;
    v[0] = vxp * px + vyp * qx;
    v[1] = vxp * py + vyp * qy;
    v[2] = vxp * pz + vyp * qz;
    if (s->raan_dot_rads != 0.0 || s->argp_dot_rads != 0.0) {
        /* Rotation of the perigee within the plane (about the orbit normal h) and of the node
         * about z. */
        double hx = so * si, hy = -co * si, hz = ci;
        double wd = s->argp_dot_rads, od = s->raan_dot_rads;
        v[0] += wd * (hy * r[2] - hz * r[1]) - od * r[1];
        v[1] += wd * (hz * r[0] - hx * r[2]) + od * r[0];
        v[2] += wd * (hx * r[1] - hy * r[0]);
    }
}

int orb_sat_state_at(const orb_sat *s, double jd_epoch, double t_s, double r_km[3], double v_kms[3])
{
    double dt_s = (jd_epoch - s->el.jd_epoch) * 86400.0 + t_s;
    if (s->prop == ORB_PROP_SGP4)
        return orb_sgp4_propagate(&s->sgp4, dt_s / 60.0, r_km, v_kms);
    kepler_state(s, dt_s, r_km, v_kms);
    return 0;
}

int orb_sat_state(const orb_sat *s, double jd_utc, double r_km[3], double v_kms[3])
{
    return orb_sat_state_at(s, jd_utc, 0.0, r_km, v_kms);
}

int orb_sat_ecef_at(const orb_sat *s, double jd_epoch, double t_s, double r_ecef_km[3],
                    double *v_ecef_kms)
{
    double r[3], v[3];
    int rc = orb_sat_state_at(s, jd_epoch, t_s, r, v);
    if (rc != 0)
        return rc;
    orb_teme_to_ecef_gmst(r, v, orb_gmst_rad_offset(jd_epoch, t_s), r_ecef_km, v_ecef_kms);
    return 0;
}

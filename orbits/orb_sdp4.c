/* orb_sdp4.c - the deep-space part of SGP4 (SDP4): lunar-solar secular and long-period
 * perturbations and the 12 h / 24 h geopotential resonances, after Vallado et al. 2006
 * ("Revisiting Spacetrack Report #3", routines dscom, dsinit, dspace and dpper).
 *
 * Units: angles in radians, time in minutes, distances in earth radii, mean motion in rad/min.
 */
#include <math.h>

#include "orb_sgp4_internal.h"

/* Solar and lunar mean motions (rad/min) and eccentricities of their orbits. */
#define ZNS 1.19459e-5
#define ZES 0.01675
#define ZNL 1.5835218e-4
#define ZEL 0.05490
/* Earth rotation rate in rad/min (7.29211514668855e-5 rad/s). */
#define RPTIM 4.37526908801129966e-3

/* Resonance integrator: fixed step (min) and half its square. */
#define STEP_MIN 720.0
#define STEP2 259200.0

/* Lunar-solar quantities at epoch shared by the initialisation steps (the report's dscom
 * outputs): s* and z* for the moon, ss* and sz* for the sun. */
typedef struct ds_common {
    double sinim, cosim, emsq;
    double s1, s2, s3, s4, s5, s6, s7;
    double ss1, ss2, ss3, ss4, ss5, ss6, ss7;
    double z1, z2, z3, z11, z12, z13, z21, z22, z23, z31, z32, z33;
    double sz1, sz2, sz3, sz11, sz12, sz13, sz21, sz22, sz23, sz31, sz32, sz33;
} ds_common;

/* The per-body quantities of dscom for one perturbing body whose orbit has inclination
 * (zcosi, zsini), argument (zcosg, zsing) and node relative to the satellite's (zcosh, zsinh),
 * with coefficient cc. Output in the order s1..s7, z1..z33 of the report. */
typedef struct ds_body {
    double s1, s2, s3, s4, s5, s6, s7;
    double z1, z2, z3, z11, z12, z13, z21, z22, z23, z31, z32, z33;
} ds_body;

static ds_body ds_body_terms(double zcosg, double zsing, double zcosi, double zsini, double zcosh,
                             double zsinh, double cc, double cosim, double sinim, double cosomm,
                             double sinomm, double em, double emsq, double xnoi)
{
    ds_body b;
    const double betasq = 1.0 - emsq;
    const double rtemsq = sqrt(betasq);
    const double a1 = zcosg * zcosh + zsing * zcosi * zsinh;
    const double a3 = -zsing * zcosh + zcosg * zcosi * zsinh;
    const double a7 = -zcosg * zsinh + zsing * zcosi * zcosh;
    const double a8 = zsing * zsini;
    const double a9 = zsing * zsinh + zcosg * zcosi * zcosh;
    const double a10 = zcosg * zsini;
    const double a2 = cosim * a7 + sinim * a8;
    const double a4 = cosim * a9 + sinim * a10;
    const double a5 = -sinim * a7 + cosim * a8;
    const double a6 = -sinim * a9 + cosim * a10;

    const double x1 = a1 * cosomm + a2 * sinomm;
    const double x2 = a3 * cosomm + a4 * sinomm;
    const double x3 = -a1 * sinomm + a2 * cosomm;
    const double x4 = -a3 * sinomm + a4 * cosomm;
    const double x5 = a5 * sinomm;
    const double x6 = a6 * sinomm;
    const double x7 = a5 * cosomm;
    const double x8 = a6 * cosomm;

    b.z31 = 12.0 * x1 * x1 - 3.0 * x3 * x3;
    b.z32 = 24.0 * x1 * x2 - 6.0 * x3 * x4;
    b.z33 = 12.0 * x2 * x2 - 3.0 * x4 * x4;
    b.z1 = 3.0 * (a1 * a1 + a2 * a2) + b.z31 * emsq;
    b.z2 = 6.0 * (a1 * a3 + a2 * a4) + b.z32 * emsq;
    b.z3 = 3.0 * (a3 * a3 + a4 * a4) + b.z33 * emsq;
    b.z11 = -6.0 * a1 * a5 + emsq * (-24.0 * x1 * x7 - 6.0 * x3 * x5);
    b.z12 = -6.0 * (a1 * a6 + a3 * a5) +
            emsq * (-24.0 * (x2 * x7 + x1 * x8) - 6.0 * (x3 * x6 + x4 * x5));
    b.z13 = -6.0 * a3 * a6 + emsq * (-24.0 * x2 * x8 - 6.0 * x4 * x6);
    b.z21 = 6.0 * a2 * a5 + emsq * (24.0 * x1 * x5 - 6.0 * x3 * x7);
    b.z22 =
        6.0 * (a4 * a5 + a2 * a6) + emsq * (24.0 * (x2 * x5 + x1 * x6) - 6.0 * (x4 * x7 + x3 * x8));
    b.z23 = 6.0 * a4 * a6 + emsq * (24.0 * x2 * x6 - 6.0 * x4 * x8);
    b.z1 = b.z1 + b.z1 + betasq * b.z31;
    b.z2 = b.z2 + b.z2 + betasq * b.z32;
    b.z3 = b.z3 + b.z3 + betasq * b.z33;
    b.s3 = cc * xnoi;
    b.s2 = -0.5 * b.s3 / rtemsq;
    b.s4 = b.s3 * rtemsq;
    b.s1 = -15.0 * em * b.s4;
    b.s5 = x1 * x3 + x2 * x4;
    b.s6 = x2 * x3 + x1 * x4;
    b.s7 = x2 * x4 - x1 * x3;
    return b;
}

/* dscom at epoch (tc = 0): fills c and the long-period coefficients of ds. */
static void ds_common_init(double epoch_1950, double ecc, double argp, double incl, double node,
                           double n, ds_common *c, orb_sdp4 *ds)
{
    /* sun: orbit coefficient, inclination and argument of the ecliptic */
    const double c1ss = 2.9864797e-6;
    const double c1l = 4.7968065e-7;
    const double zsinis = 0.39785416, zcosis = 0.91744867;
    const double zcosgs = 0.1945905, zsings = -0.98088458;

    const double snodm = sin(node), cnodm = cos(node);
    const double sinomm = sin(argp), cosomm = cos(argp);
    c->sinim = sin(incl);
    c->cosim = cos(incl);
    c->emsq = ecc * ecc;

    /* moon's node, inclination and argument of perigee at epoch */
    const double day = epoch_1950 + 18261.5;
    const double xnodce = fmod(4.5236020 - 9.2422029e-4 * day, ORB__TWOPI);
    const double stem = sin(xnodce), ctem = cos(xnodce);
    const double zcosil = 0.91375164 - 0.03568096 * ctem;
    const double zsinil = sqrt(1.0 - zcosil * zcosil);
    const double zsinhl = 0.089683511 * stem / zsinil;
    const double zcoshl = sqrt(1.0 - zsinhl * zsinhl);
    const double gam = 5.8351514 + 0.0019443680 * day;
    double zx = 0.39785416 * stem / zsinil;
    const double zy = zcoshl * ctem + 0.91744867 * zsinhl * stem;
    zx = atan2(zx, zy);
    zx = gam + zx - xnodce;
    const double zcosgl = cos(zx), zsingl = sin(zx);
    const double xnoi = 1.0 / n;

    ds_body sun = ds_body_terms(zcosgs, zsings, zcosis, zsinis, cnodm, snodm, c1ss, c->cosim,
                                c->sinim, cosomm, sinomm, ecc, c->emsq, xnoi);
    ds_body moon = ds_body_terms(zcosgl, zsingl, zcosil, zsinil, zcoshl * cnodm + zsinhl * snodm,
                                 snodm * zcoshl - cnodm * zsinhl, c1l, c->cosim, c->sinim, cosomm,
                                 sinomm, ecc, c->emsq, xnoi);

    c->ss1 = sun.s1, c->ss2 = sun.s2, c->ss3 = sun.s3, c->ss4 = sun.s4, c->ss5 = sun.s5;
    c->ss6 = sun.s6, c->ss7 = sun.s7;
    c->sz1 = sun.z1, c->sz2 = sun.z2, c->sz3 = sun.z3;
    c->sz11 = sun.z11, c->sz12 = sun.z12, c->sz13 = sun.z13;
    c->sz21 = sun.z21, c->sz22 = sun.z22, c->sz23 = sun.z23;
    c->sz31 = sun.z31, c->sz32 = sun.z32, c->sz33 = sun.z33;
    c->s1 = moon.s1, c->s2 = moon.s2, c->s3 = moon.s3, c->s4 = moon.s4, c->s5 = moon.s5;
    c->s6 = moon.s6, c->s7 = moon.s7;
    c->z1 = moon.z1, c->z2 = moon.z2, c->z3 = moon.z3;
    c->z11 = moon.z11, c->z12 = moon.z12, c->z13 = moon.z13;
    c->z21 = moon.z21, c->z22 = moon.z22, c->z23 = moon.z23;
    c->z31 = moon.z31, c->z32 = moon.z32, c->z33 = moon.z33;

    ds->zmol = fmod(4.7199672 + 0.22997150 * day - gam, ORB__TWOPI);
    ds->zmos = fmod(6.2565837 + 0.017201977 * day, ORB__TWOPI);

    /* solar long-period coefficients */
    ds->se2 = 2.0 * sun.s1 * sun.s6;
    ds->se3 = 2.0 * sun.s1 * sun.s7;
    ds->si2 = 2.0 * sun.s2 * sun.z12;
    ds->si3 = 2.0 * sun.s2 * (sun.z13 - sun.z11);
    ds->sl2 = -2.0 * sun.s3 * sun.z2;
    ds->sl3 = -2.0 * sun.s3 * (sun.z3 - sun.z1);
    ds->sl4 = -2.0 * sun.s3 * (-21.0 - 9.0 * c->emsq) * ZES;
    ds->sgh2 = 2.0 * sun.s4 * sun.z32;
    ds->sgh3 = 2.0 * sun.s4 * (sun.z33 - sun.z31);
    ds->sgh4 = -18.0 * sun.s4 * ZES;
    ds->sh2 = -2.0 * sun.s2 * sun.z22;
    ds->sh3 = -2.0 * sun.s2 * (sun.z23 - sun.z21);

    /* lunar long-period coefficients */
    ds->ee2 = 2.0 * moon.s1 * moon.s6;
    ds->e3 = 2.0 * moon.s1 * moon.s7;
    ds->xi2 = 2.0 * moon.s2 * moon.z12;
    ds->xi3 = 2.0 * moon.s2 * (moon.z13 - moon.z11);
    ds->xl2 = -2.0 * moon.s3 * moon.z2;
    ds->xl3 = -2.0 * moon.s3 * (moon.z3 - moon.z1);
    ds->xl4 = -2.0 * moon.s3 * (-21.0 - 9.0 * c->emsq) * ZEL;
    ds->xgh2 = 2.0 * moon.s4 * moon.z32;
    ds->xgh3 = 2.0 * moon.s4 * (moon.z33 - moon.z31);
    ds->xgh4 = -18.0 * moon.s4 * ZEL;
    ds->xh2 = -2.0 * moon.s2 * moon.z22;
    ds->xh3 = -2.0 * moon.s2 * (moon.z23 - moon.z21);
}

/* Half-day (12 h) resonance coefficients (the report's irez == 2 branch of dsinit). */
static void ds_init_half_day(orb_sdp4 *ds, double ecc, double cosim, double sinim, double nm,
                             double aonv)
{
    const double root22 = 1.7891679e-6, root32 = 3.7393792e-7, root44 = 7.3636953e-9;
    const double root52 = 1.1428639e-7, root54 = 2.1765803e-9;
    const double em = ecc, emsq = ecc * ecc, eoc = em * emsq;
    const double cosisq = cosim * cosim;
    double g211, g310, g322, g410, g422, g520, g521, g532, g533;
    const double g201 = -0.306 - (em - 0.64) * 0.440;

    if (em <= 0.65) {
        g211 = 3.616 - 13.2470 * em + 16.2900 * emsq;
        g310 = -19.302 + 117.3900 * em - 228.4190 * emsq + 156.5910 * eoc;
        g322 = -18.9068 + 109.7927 * em - 214.6334 * emsq + 146.5816 * eoc;
        g410 = -41.122 + 242.6940 * em - 471.0940 * emsq + 313.9530 * eoc;
        g422 = -146.407 + 841.8800 * em - 1629.014 * emsq + 1083.4350 * eoc;
        g520 = -532.114 + 3017.977 * em - 5740.032 * emsq + 3708.2760 * eoc;
    } else {
        g211 = -72.099 + 331.819 * em - 508.738 * emsq + 266.724 * eoc;
        g310 = -346.844 + 1582.851 * em - 2415.925 * emsq + 1246.113 * eoc;
        g322 = -342.585 + 1554.908 * em - 2366.899 * emsq + 1215.972 * eoc;
        g410 = -1052.797 + 4758.686 * em - 7193.992 * emsq + 3651.957 * eoc;
        g422 = -3581.690 + 16178.110 * em - 24462.770 * emsq + 12422.520 * eoc;
        if (em > 0.715)
            g520 = -5149.66 + 29936.92 * em - 54087.36 * emsq + 31324.56 * eoc;
        else
            g520 = 1464.74 - 4664.75 * em + 3763.64 * emsq;
    }
    if (em < 0.7) {
        g533 = -919.22770 + 4988.6100 * em - 9064.7700 * emsq + 5542.21 * eoc;
        g521 = -822.71072 + 4568.6173 * em - 8491.4146 * emsq + 5337.524 * eoc;
        g532 = -853.66600 + 4690.2500 * em - 8624.7700 * emsq + 5341.4 * eoc;
    } else {
        g533 = -37995.780 + 161616.52 * em - 229838.20 * emsq + 109377.94 * eoc;
        g521 = -51752.104 + 218913.95 * em - 309468.16 * emsq + 146349.42 * eoc;
        g532 = -40023.880 + 170470.89 * em - 242699.48 * emsq + 115605.82 * eoc;
    }

    const double sini2 = sinim * sinim;
    const double f220 = 0.75 * (1.0 + 2.0 * cosim + cosisq);
    const double f221 = 1.5 * sini2;
    const double f321 = 1.875 * sinim * (1.0 - 2.0 * cosim - 3.0 * cosisq);
    const double f322 = -1.875 * sinim * (1.0 + 2.0 * cosim - 3.0 * cosisq);
    const double f441 = 35.0 * sini2 * f220;
    const double f442 = 39.3750 * sini2 * sini2;
    const double f522 = 9.84375 * sinim *
                        (sini2 * (1.0 - 2.0 * cosim - 5.0 * cosisq) +
                         0.33333333 * (-2.0 + 4.0 * cosim + 6.0 * cosisq));
    const double f523 = sinim * (4.92187512 * sini2 * (-2.0 - 4.0 * cosim + 10.0 * cosisq) +
                                 6.56250012 * (1.0 + 2.0 * cosim - 3.0 * cosisq));
    const double f542 =
        29.53125 * sinim * (2.0 - 8.0 * cosim + cosisq * (-12.0 + 8.0 * cosim + 10.0 * cosisq));
    const double f543 =
        29.53125 * sinim * (-2.0 - 8.0 * cosim + cosisq * (12.0 + 8.0 * cosim - 10.0 * cosisq));

    const double xno2 = nm * nm;
    const double ainv2 = aonv * aonv;
    double temp1 = 3.0 * xno2 * ainv2;
    double temp = temp1 * root22;
    ds->d2201 = temp * f220 * g201;
    ds->d2211 = temp * f221 * g211;
    temp1 = temp1 * aonv;
    temp = temp1 * root32;
    ds->d3210 = temp * f321 * g310;
    ds->d3222 = temp * f322 * g322;
    temp1 = temp1 * aonv;
    temp = 2.0 * temp1 * root44;
    ds->d4410 = temp * f441 * g410;
    ds->d4422 = temp * f442 * g422;
    temp1 = temp1 * aonv;
    temp = temp1 * root52;
    ds->d5220 = temp * f522 * g520;
    ds->d5232 = temp * f523 * g532;
    temp = 2.0 * temp1 * root54;
    ds->d5421 = temp * f542 * g521;
    ds->d5433 = temp * f543 * g533;
}

void orb__sdp4_init(orb_sgp4 *s, double epoch_1950)
{
    orb_sdp4 *ds = &s->ds;
    const orb_elements *el = &s->el;
    const double q22 = 1.7891679e-6, q31 = 2.1460748e-6, q33 = 2.2123015e-7;
    ds_common c;

    ds_common_init(epoch_1950, el->ecc, el->argp_rad, el->incl_rad, el->raan_rad, s->no, &c, ds);
    const double nm = s->no, em = el->ecc, inclm = el->incl_rad;
    const double sinim = c.sinim, cosim = c.cosim, emsq = c.emsq;

    ds->irez = 0;
    if (nm < 0.0052359877 && nm > 0.0034906585)
        ds->irez = 1;
    if (nm >= 8.26e-3 && nm <= 9.24e-3 && em >= 0.5)
        ds->irez = 2;

    /* secular rates: solar part */
    const double ses = c.ss1 * ZNS * c.ss5;
    const double sis = c.ss2 * ZNS * (c.sz11 + c.sz13);
    const double sls = -ZNS * c.ss3 * (c.sz1 + c.sz3 - 14.0 - 6.0 * emsq);
    const double sghs = c.ss4 * ZNS * (c.sz31 + c.sz33 - 6.0);
    double shs = -ZNS * c.ss2 * (c.sz21 + c.sz23);
    /* node rate undefined near 0 and 180 deg inclination */
    const int polar_node = inclm < 5.2359877e-2 || inclm > ORB__PI - 5.2359877e-2;
    if (polar_node)
        shs = 0.0;
    if (sinim != 0.0)
        shs = shs / sinim;
    const double sgs = sghs - cosim * shs;

    /* plus the lunar part */
    ds->dedt = ses + c.s1 * ZNL * c.s5;
    ds->didt = sis + c.s2 * ZNL * (c.z11 + c.z13);
    ds->dmdt = sls - ZNL * c.s3 * (c.z1 + c.z3 - 14.0 - 6.0 * emsq);
    const double sghl = c.s4 * ZNL * (c.z31 + c.z33 - 6.0);
    double shll = -ZNL * c.s2 * (c.z21 + c.z23);
    if (polar_node)
        shll = 0.0;
    ds->domdt = sgs + sghl;
    ds->dnodt = shs;
    if (sinim != 0.0) {
        ds->domdt = ds->domdt - cosim / sinim * shll;
        ds->dnodt = ds->dnodt + shll / sinim;
    }

    if (ds->irez == 0)
        return;

    const double theta = fmod(ds->gsto, ORB__TWOPI);
    const double aonv = pow(nm / orb__xke(), 2.0 / 3.0);
    if (ds->irez == 2) {
        ds_init_half_day(ds, el->ecc, cosim, sinim, nm, aonv);
        ds->xlamo =
            fmod(el->mean_anom_rad + el->raan_rad + el->raan_rad - theta - theta, ORB__TWOPI);
        ds->xfact = s->mdot + ds->dmdt + 2.0 * (s->nodedot + ds->dnodt - RPTIM) - s->no;
    } else {
        const double g200 = 1.0 + emsq * (-2.5 + 0.8125 * emsq);
        const double g310 = 1.0 + 2.0 * emsq;
        const double g300 = 1.0 + emsq * (-6.0 + 6.60937 * emsq);
        const double f220 = 0.75 * (1.0 + cosim) * (1.0 + cosim);
        const double f311 = 0.9375 * sinim * sinim * (1.0 + 3.0 * cosim) - 0.75 * (1.0 + cosim);
        double f330 = 1.0 + cosim;
        f330 = 1.875 * f330 * f330 * f330;
        const double del1 = 3.0 * nm * nm * aonv * aonv;
        ds->del2 = 2.0 * del1 * f220 * g200 * q22;
        ds->del3 = 3.0 * del1 * f330 * g300 * q33 * aonv;
        ds->del1 = del1 * f311 * g310 * q31 * aonv;
        ds->xlamo = fmod(el->mean_anom_rad + el->raan_rad + el->argp_rad - theta, ORB__TWOPI);
        ds->xfact =
            s->mdot + (s->argpdot + s->nodedot) - RPTIM + ds->dmdt + ds->domdt + ds->dnodt - s->no;
    }
}

/* Rates of the resonance variables at time atime: d(xni)/dt (xndt), d(xli)/dt (xldot) and
 * d2(xni)/dt2 (xnddt). */
static void ds_resonance_rates(const orb_sgp4 *s, double atime, double xli, double xni,
                               double *xndt, double *xldot, double *xnddt)
{
    const orb_sdp4 *ds = &s->ds;
    *xldot = xni + ds->xfact;
    if (ds->irez != 2) {
        const double fasx2 = 0.13130908, fasx4 = 2.8843198, fasx6 = 0.37448087;
        *xndt = ds->del1 * sin(xli - fasx2) + ds->del2 * sin(2.0 * (xli - fasx4)) +
                ds->del3 * sin(3.0 * (xli - fasx6));
        *xnddt = ds->del1 * cos(xli - fasx2) + 2.0 * ds->del2 * cos(2.0 * (xli - fasx4)) +
                 3.0 * ds->del3 * cos(3.0 * (xli - fasx6));
    } else {
        const double g22 = 5.7686396, g32 = 0.95240898, g44 = 1.8014998, g52 = 1.0508330,
                     g54 = 4.4108898;
        const double xomi = s->el.argp_rad + s->argpdot * atime;
        const double x2omi = xomi + xomi;
        const double x2li = xli + xli;
        *xndt = ds->d2201 * sin(x2omi + xli - g22) + ds->d2211 * sin(xli - g22) +
                ds->d3210 * sin(xomi + xli - g32) + ds->d3222 * sin(-xomi + xli - g32) +
                ds->d4410 * sin(x2omi + x2li - g44) + ds->d4422 * sin(x2li - g44) +
                ds->d5220 * sin(xomi + xli - g52) + ds->d5232 * sin(-xomi + xli - g52) +
                ds->d5421 * sin(xomi + x2li - g54) + ds->d5433 * sin(-xomi + x2li - g54);
        *xnddt = ds->d2201 * cos(x2omi + xli - g22) + ds->d2211 * cos(xli - g22) +
                 ds->d3210 * cos(xomi + xli - g32) + ds->d3222 * cos(-xomi + xli - g32) +
                 ds->d5220 * cos(xomi + xli - g52) + ds->d5232 * cos(-xomi + xli - g52) +
                 2.0 * (ds->d4410 * cos(x2omi + x2li - g44) + ds->d4422 * cos(x2li - g44) +
                        ds->d5421 * cos(xomi + x2li - g54) + ds->d5433 * cos(-xomi + x2li - g54));
    }
    *xnddt = *xnddt * *xldot;
}

void orb__sdp4_secular(const orb_sgp4 *s, double t, double *em, double *argpm, double *inclm,
                       double *mm, double *nodem, double *nm)
{
    const orb_sdp4 *ds = &s->ds;
    *em += ds->dedt * t;
    *inclm += ds->didt * t;
    *argpm += ds->domdt * t;
    *nodem += ds->dnodt * t;
    *mm += ds->dmdt * t;
    if (ds->irez == 0)
        return;

    /* Euler-Maclaurin integration of the resonance variables from the epoch in fixed steps of
     * 720 min towards t, then a Taylor step over the remainder ft. */
    const double theta = fmod(ds->gsto + t * RPTIM, ORB__TWOPI);
    const double delt = t > 0.0 ? STEP_MIN : -STEP_MIN;
    double atime = 0.0, xli = ds->xlamo, xni = s->no;
    double xndt, xldot, xnddt;
    for (;;) {
        ds_resonance_rates(s, atime, xli, xni, &xndt, &xldot, &xnddt);
        if (fabs(t - atime) < STEP_MIN)
            break;
        xli = xli + xldot * delt + xndt * STEP2;
        xni = xni + xndt * delt + xnddt * STEP2;
        atime = atime + delt;
    }
    const double ft = t - atime;
    const double nres = xni + xndt * ft + xnddt * ft * ft * 0.5;
    const double xl = xli + xldot * ft + xndt * ft * ft * 0.5;
    if (ds->irez != 1)
        *mm = xl - 2.0 * *nodem + 2.0 * theta;
    else
        *mm = xl - *nodem - *argpm + theta;
    *nm = s->no + (nres - s->no);
}

void orb__sdp4_periodics(const orb_sgp4 *s, double t, double *ep, double *inclp, double *nodep,
                         double *argpp, double *mp)
{
    const orb_sdp4 *ds = &s->ds;

    /* solar terms */
    double zm = ds->zmos + ZNS * t;
    double zf = zm + 2.0 * ZES * sin(zm);
    double sinzf = sin(zf);
    double f2 = 0.5 * sinzf * sinzf - 0.25;
    double f3 = -0.5 * sinzf * cos(zf);
    const double ses = ds->se2 * f2 + ds->se3 * f3;
    const double sis = ds->si2 * f2 + ds->si3 * f3;
    const double sls = ds->sl2 * f2 + ds->sl3 * f3 + ds->sl4 * sinzf;
    const double sghs = ds->sgh2 * f2 + ds->sgh3 * f3 + ds->sgh4 * sinzf;
    const double shs = ds->sh2 * f2 + ds->sh3 * f3;

    /* lunar terms */
    zm = ds->zmol + ZNL * t;
    zf = zm + 2.0 * ZEL * sin(zm);
    sinzf = sin(zf);
    f2 = 0.5 * sinzf * sinzf - 0.25;
    f3 = -0.5 * sinzf * cos(zf);
    const double sel = ds->ee2 * f2 + ds->e3 * f3;
    const double sil = ds->xi2 * f2 + ds->xi3 * f3;
    const double sll = ds->xl2 * f2 + ds->xl3 * f3 + ds->xl4 * sinzf;
    const double sghl = ds->xgh2 * f2 + ds->xgh3 * f3 + ds->xgh4 * sinzf;
    const double shll = ds->xh2 * f2 + ds->xh3 * f3;

    /* The values at epoch (peo, pinco, ... of the report) are zero in the revised algorithm:
     * the totals are applied as they are. */
    const double pe = ses + sel;
    const double pinc = sis + sil;
    const double pl = sls + sll;
    double pgh = sghs + sghl;
    double ph = shs + shll;

    *inclp += pinc;
    *ep += pe;
    const double sinip = sin(*inclp), cosip = cos(*inclp);

    if (*inclp >= 0.2) {
        /* apply the periodics directly */
        ph = ph / sinip;
        pgh = pgh - cosip * ph;
        *argpp += pgh;
        *nodep += ph;
        *mp += pl;
    } else {
        /* low inclination: Lyddane's modification (perturb the node through the
         * non-singular variables sin(i) sin(node), sin(i) cos(node)) */
        const double sinop = sin(*nodep), cosop = cos(*nodep);
        double alfdp = sinip * sinop;
        double betdp = sinip * cosop;
        const double dalf = ph * cosop + pinc * cosip * sinop;
        const double dbet = -ph * sinop + pinc * cosip * cosop;
        alfdp += dalf;
        betdp += dbet;
        double node = fmod(*nodep, ORB__TWOPI);
        if (node < 0.0 && s->mode == ORB_SGP4_MODE_AFSPC)
            node += ORB__TWOPI;
        double xls = *mp + *argpp + cosip * node;
        const double dls = pl + pgh - pinc * node * sinip;
        xls += dls;
        const double xnoh = node;
        node = atan2(alfdp, betdp);
        if (node < 0.0 && s->mode == ORB_SGP4_MODE_AFSPC)
            node += ORB__TWOPI;
        if (fabs(xnoh - node) > ORB__PI) {
            if (node < xnoh)
                node += ORB__TWOPI;
            else
                node -= ORB__TWOPI;
        }
        *mp += pl;
        *nodep = node;
        *argpp = xls - *mp - cosip * node;
    }
}
